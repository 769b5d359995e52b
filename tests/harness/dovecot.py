# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dovecot (Debian dovecot-imapd) as an IMAPS server on loopback: the mailbox DMARC and TLS reports arrive in."""

from __future__ import annotations

import imaplib
import os
import pwd
import secrets
import shutil
import socket
import ssl
import tempfile

from harness._process import PortTaken, ProcessServer, free_port, read_from, tail, write_text

# dovecot refuses root as a mail user; the mail files belong to this account, in a directory of their own
# (the server's directory may sit inside a private one the mail user cannot pass through).
MAIL_USER = "nobody"


class DovecotServer(ProcessServer):
    """``dovecot -F`` with IMAP over TLS only (port 993's protocol) on ``127.0.0.1:<free port>``.

    One user, ``user`` with ``password`` (passwd-file), whose mail is a Maildir in the server's
    directory. The certificate comes from ``ca`` for ``hostname``; clients verify it with
    ``ca.ca_pem``. ``append(message)`` puts a mail in the INBOX over IMAP, as delivery would.
    """

    name = "dovecot"

    def __init__(self, ca, hostname="imap.hosting.test", user="reports", password=None, address="127.0.0.1", directory=None,
                 start_timeout=15.0):
        self.hostname = hostname
        self.user = user
        self.password = password or secrets.token_urlsafe(12)
        self.ca = ca
        self.certificate = ca.issue([hostname, address])
        super().__init__("mailsec-dovecot-", address, directory, start_timeout)
        self.mail_root = tempfile.mkdtemp(prefix="mailsec-dovecot-mail-")
        os.chmod(self.mail_root, 0o711)

    def close(self):
        super().close()
        shutil.rmtree(self.mail_root, ignore_errors=True)

    def _free_ports(self):
        return (free_port(self.address),)

    def _endpoint(self):
        return "%s:%d" % (self.address, self.port)

    @property
    def log_path(self):
        return self._dir.join("dovecot.log")

    def log_tail(self):
        return tail(self.log_path)

    @property
    def maildir(self):
        return os.path.join(self.mail_root, self.user, "Maildir")

    def _config(self):
        owner = pwd.getpwnam(MAIL_USER)
        files = self.certificate.write(self._dir.path, "imap")
        write_text(self._dir.join("users"), "%s:{PLAIN}%s::::::\n" % (self.user, self.password), mode=0o600)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        for top, dirs, _files in os.walk(os.path.join(self.mail_root, self.user)):
            os.chown(top, owner.pw_uid, owner.pw_gid)
            for name in dirs:
                os.chown(os.path.join(top, name), owner.pw_uid, owner.pw_gid)
        return "\n".join([
            "protocols = imap",
            "listen = %s" % self.address,
            "instance_name = %s" % self._token,
            "base_dir = %s" % self._dir.join("run"),
            "state_dir = %s" % self._dir.join("state"),
            "log_path = %s" % self.log_path,
            "info_log_path = %s" % self.log_path,
            "ssl = required",
            "ssl_cert = <%s" % files.chain,
            "ssl_key = <%s" % files.key,
            "ssl_min_protocol = TLSv1.2",
            "disable_plaintext_auth = yes",
            "auth_mechanisms = plain",
            "first_valid_uid = %d" % owner.pw_uid,
            "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%%u %s\n}" % self._dir.join("users"),
            "userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/%%u\n}" % (owner.pw_uid, owner.pw_gid, self.mail_root),
            "mail_location = maildir:~/Maildir",
            "service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}" % self.port,
            # Root runs the auth and mail processes, so the server's directory may sit in a private (0700) one.
            "service auth {\n  user = root\n}",
            "service auth-worker {\n  user = root\n}",
            "service stats {\n  unix_listener stats-reader {\n    mode = 0600\n  }\n  unix_listener stats-writer {\n    mode = 0600\n  }\n}",
            "",
        ])

    def _command(self):
        config = write_text(self._dir.join("dovecot.conf"), self._config())
        return ["dovecot", "-F", "-c", config], self._dir.join("dovecot.out")

    def _ready(self, log_offset):
        self._process.require_running(self.log_tail)
        text = read_from(self.log_path, log_offset)
        if "Address already in use" in text:
            raise PortTaken(text)
        try:
            with socket.create_connection((self.address, self.port), timeout=1.0) as raw:
                with self.client_context().wrap_socket(raw, server_hostname=self.hostname) as tls:
                    tls.settimeout(2.0)
                    return tls.recv(256).startswith(b"* OK")
        except (OSError, ssl.SSLError):
            return False

    def client_context(self):
        return ssl.create_default_context(cadata=self.ca.ca_pem)

    def connect(self):
        """A logged-in imaplib client (the caller logs out)."""
        client = imaplib.IMAP4_SSL(self.address, self.port, ssl_context=self.client_context(), timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, *messages, mailbox="INBOX"):
        """Put mails (bytes) into ``mailbox`` over IMAP; returns how many the mailbox holds then."""
        client = imaplib.IMAP4_SSL(self.address, self.port, ssl_context=self.client_context(), timeout=10)
        try:
            client.login(self.user, self.password)
            for message in messages:
                status, data = client.append(mailbox, None, None, message)
                if status != "OK":
                    raise RuntimeError("APPEND refused: %r" % (data,))
            status, data = client.select(mailbox, readonly=True)
            return int(data[0])
        finally:
            client.logout()

    def flags(self, mailbox="INBOX"):
        """``{uid: flags text}`` of every mail (to prove a reader set none)."""
        client = self.connect()
        try:
            client.select(mailbox, readonly=True)
            status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [item.decode() for item in data if isinstance(item, bytes)] if status == "OK" else []
        finally:
            client.logout()
