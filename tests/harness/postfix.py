# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Debian's postfix as an MX on loopback: a private configuration directory, queue and data
directories in a temporary directory, smtpd on a free high port on 127.0.0.1 and ::1, STARTTLS
with a certificate from the test CA, and TLS settings of the test's choosing (weak or strong)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl

from harness._process import PortTaken, ProcessServer, ServerError, free_port, read_from, run_tool, tail, write_text
from harness.ca import TestCA

MASTER = "/usr/lib/postfix/sbin/master"
# The services a running postfix needs besides smtpd (master.cf(5)); nothing is delivered here.
_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
smtp      unix  -       -       n       -       -       smtp
retry     unix  -       -       n       -       -       error
"""
# Settings for a server that offers only what current guidance accepts.
STRONG_TLS = {
    "smtpd_tls_protocols": ">=TLSv1.2",
    "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
    "smtpd_tls_ciphers": "high",
    "tls_high_cipherlist": "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM",
    "smtpd_tls_exclude_ciphers": "aNULL",
}
# Settings for a server that also offers TLS 1.0/1.1 and old cipher suites (OpenSSL 3 allows
# them only at security level 0).
WEAK_TLS = {
    "smtpd_tls_protocols": ">=TLSv1",
    "smtpd_tls_mandatory_protocols": ">=TLSv1",
    "smtpd_tls_ciphers": "medium",
    "tls_medium_cipherlist": "ALL:@SECLEVEL=0",
}


class PostfixServer(ProcessServer):
    """postfix's ``master`` in the foreground (``master -c DIR -d``) for MX ``hostname``.

    ``certificate``: a TestCA kind (``valid``, ``wrong_name``, ...) or an IssuedCert; ``chain``:
    send the chain file (leaf and intermediates) rather than the leaf alone. ``tls``: main.cf
    settings added last (``STRONG_TLS``, ``WEAK_TLS`` or your own). ``ipv6``: listen on ::1 too
    (same port). ``banner``: the greeting's name (default ``hostname``). ``postconf(name)`` reads
    the effective value of a setting; ``check()`` runs ``postfix check``; ``greeting()`` reads the
    220 line. The process stops with the ``with`` block; its children stop with it.
    """

    name = "postfix"

    def __init__(self, hostname, ca=None, *, certificate="valid", tls=None, ipv6=True, banner=None, starttls=True, address="127.0.0.1",
                 directory=None, start_timeout=15.0):
        if not os.path.exists(MASTER) or shutil.which("postconf") is None:
            raise ServerError("postfix is not installed (tools/bootstrap installs it)")
        self.hostname = hostname
        self.ca = ca if ca is not None else TestCA()
        self.certificate = self.ca.certificate(certificate, hostname) if starttls else None
        self.tls = dict(tls or {})
        self.ipv6 = ipv6
        self.banner = banner or hostname
        self.starttls = starttls
        super().__init__("mailsec-postfix-", address, directory, start_timeout)
        os.chmod(self._dir.path, 0o755)  # postfix's daemons run as user postfix and must reach their queue
        self.config_directory = self._dir.join("conf")
        self.log_path = self._dir.join("postfix.log")

    def _free_ports(self):
        for _attempt in range(50):
            port = free_port(self.address)
            if not self.ipv6 or _free_on_ipv6(port):
                return (port,)
        raise ServerError("no port free on both %s and ::1" % self.address)

    def _main_cf(self):
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self._dir.join("queue"),
            "data_directory": self._dir.join("data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "all" if self.ipv6 else "ipv4",
            "myhostname": self.hostname,
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            "smtpd_banner": "%s ESMTP" % self.banner,
            "maillog_file": "/dev/stdout",
            "smtpd_tls_session_cache_database": "",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "notify_classes": "",
        }
        if self.starttls:
            files = self.certificate.write(self._dir.path, "mx")
            settings.update({
                "smtpd_tls_security_level": "may",
                "smtpd_tls_chain_files": "%s, %s" % (files.key, files.chain),
                "smtpd_tls_loglevel": "1",
            })
        else:
            settings["smtpd_tls_security_level"] = "none"
        settings.update(self.tls)
        return "".join("%s = %s\n" % item for item in settings.items())

    def _command(self):
        os.makedirs(self.config_directory, exist_ok=True)
        for sub in ("queue", "data"):
            os.makedirs(self._dir.join(sub), exist_ok=True)
        shutil.chown(self._dir.join("data"), "postfix", "postfix")
        write_text(os.path.join(self.config_directory, "main.cf"), self._main_cf())
        listeners = ["%s:%d inet n - n - - smtpd" % (self.address, self.port)]
        if self.ipv6:
            listeners.append("[::1]:%d inet n - n - - smtpd" % self.port)
        write_text(os.path.join(self.config_directory, "master.cf"), "\n".join(listeners) + "\n" + _SERVICES)
        self.check()  # also makes the queue's subdirectories
        return [MASTER, "-c", self.config_directory, "-d"], self.log_path

    def check(self):
        """``postfix check`` on this configuration (raises ServerError with its complaints)."""
        output = run_tool(["postfix", "-c", self.config_directory, "check"], self._dir.path)
        return output

    def postconf(self, name):
        """The effective value of ``name`` in this configuration (``postconf -h``)."""
        return run_tool(["postconf", "-c", self.config_directory, "-h", name], self._dir.path).strip()

    def _ready(self, log_offset):
        if "Address already in use" in read_from(self.log_path, log_offset):
            raise PortTaken("postfix: a port was taken by another process")
        self._process.require_running(self.log_tail)
        try:
            return self.banner in self.greeting(timeout=0.5)
        except OSError:
            return False

    def greeting(self, address=None, timeout=5.0):
        """The 220 line the server sends first (at ``address``, default its IPv4 address)."""
        with socket.create_connection((address or self.address, self.port), timeout=timeout) as connection:
            data = b""
            while b"\n" not in data:
                chunk = connection.recv(512)
                if not chunk:
                    break
                data += chunk
            connection.sendall(b"QUIT\r\n")
        return data.decode("ascii", "replace").strip()

    def starttls_version(self, context, address=None, timeout=5.0):
        """The TLS version a STARTTLS handshake with ``context`` reaches (raises ssl.SSLError when refused)."""
        with socket.create_connection((address or self.address, self.port), timeout=timeout) as connection:
            reader = connection.makefile("rb")
            reader.readline()
            connection.sendall(b"EHLO client.test\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            connection.sendall(b"STARTTLS\r\n")
            reader.readline()
            with context.wrap_socket(connection, server_hostname=self.hostname) as tls:
                return tls.version()

    def log_tail(self):
        return tail(self.log_path)


def _free_on_ipv6(port):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", port))
        return True
    except OSError:
        return False


def client_context():
    """A client context that verifies nothing (the tests grade offers, not certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
