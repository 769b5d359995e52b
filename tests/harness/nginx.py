# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nginx serving HTTPS sites by SNI with test certificates and configurable faults."""

from __future__ import annotations

import dataclasses
import http.client
import os
import socket
import ssl
import threading
import time
from typing import NamedTuple

from harness._process import PortTaken, ProcessServer, free_port, read_from, tail, write_text
from harness.ca import TestCA

_ID_PATH = "/.mailsec-harness"


@dataclasses.dataclass
class Site:
    """One HTTPS (and HTTP) virtual host.

    ``files``: ``{url path: str or bytes}`` served from the site's document root.
    ``certificate``: ``valid``, ``wrong_name``, ``expired``, ``not_yet_valid``, ``untrusted``
    (see TestCA.certificate) or an IssuedCert. ``status``: answer every request with this
    status (e.g. 404). ``redirect``: answer every request with a 301 to this URL.
    ``content_type``: the Content-Type of every file. ``slow``: ``limit_rate 1`` (one
    octet a second, status line and headers included), so no answer finishes within any
    sensible timeout; ``slow_after``: octets sent at full speed first (``limit_rate_after``),
    e.g. 1024 to let the headers and the start of a larger body through.
    ``aliases``: more server names for the same site (and certificate).
    ``root``: an existing directory to serve as the document root, as it is (for example the
    directory a role wrote), instead of ``files``. ``locations``: nginx directives for the server
    block in place of the plain ``location / { try_files $uri =404; }``, for example an ``include``
    of a role's own location file (see ``NginxServer(http_config=...)`` for http-level ones).
    """

    name: str
    files: dict = dataclasses.field(default_factory=dict)
    certificate: object = "valid"
    status: int = None
    redirect: str = None
    content_type: str = "text/plain"
    slow: bool = False
    slow_after: int = 0
    aliases: tuple = ()
    root: str = None
    locations: str = None


class HttpResponse(NamedTuple):
    status: int
    headers: dict  # lower-case names
    body: bytes


class NginxServer(ProcessServer):
    """nginx (Debian) on ``127.0.0.1``: HTTPS on ``https_port`` with SNI, plain HTTP on ``http_port``.

    Runs from a configuration in a temporary directory (pid, logs, temp paths there too).
    Requests for names that no site has get the default server: a certificate for
    ``default.invalid`` and status 421.
    """

    name = "nginx"

    def __init__(self, sites, ca=None, *, address="127.0.0.1", directory=None, start_timeout=10.0, http_config=""):
        self.ca = ca if ca is not None else TestCA()
        self.sites = {}
        # Directives at the http level, before the servers (e.g. ``include /path/map.conf;``).
        self.http_config = http_config
        for site in sites:
            if site.name in self.sites:
                raise ValueError("two sites named %s" % site.name)
            if sum(option is not None for option in (site.status, site.redirect, site.locations)) > 1:
                raise ValueError("site %s: status, redirect and locations exclude each other" % site.name)
            if site.root is not None and site.files:
                raise ValueError("site %s: root and files exclude each other" % site.name)
            if site.root is not None and not os.path.isdir(site.root):
                raise ValueError("site %s: root %s is not a directory" % (site.name, site.root))
            self.sites[site.name] = site
        super().__init__("mailsec-nginx-", address, directory, start_timeout)
        self.certificates = {}
        try:
            self._prepare_files()
        except BaseException:
            self._dir.cleanup()
            raise

    @property
    def port(self):
        """The HTTPS port."""
        return self.https_port

    def _ports(self):
        return None if self.https_port is None else (self.https_port, self.http_port)

    def _set_ports(self, ports):
        self.https_port, self.http_port = ports or (None, None)

    def _free_ports(self):
        return free_port(self.address), free_port(self.address)

    def _endpoint(self):
        return "%s:%d/%d" % (self.address, self.https_port, self.http_port)

    def _prepare_files(self):
        for sub in ("certs", "sites", "tmp"):
            os.makedirs(self._dir.join(sub), exist_ok=True)
        default = self.ca.issue("default.invalid")
        self.certificates["default.invalid"] = default
        default.write(self._dir.join("certs"), "default.invalid")
        for site in self.sites.values():
            issued = self.ca.certificate(site.certificate, [site.name] + list(site.aliases))
            self.certificates[site.name] = issued
            issued.write(self._dir.join("certs"), site.name)
            if site.root is not None:
                continue
            root = self._dir.join("sites", site.name)
            os.makedirs(root, exist_ok=True)
            for url_path, content in site.files.items():
                self._write_document(root, url_path, content)

    @staticmethod
    def _write_document(root, url_path, content):
        relative = os.path.normpath(url_path.lstrip("/"))
        if not url_path.startswith("/") or relative.startswith("..") or relative in (".", ""):
            raise ValueError("file path %r must be absolute and stay inside the site" % url_path)
        target = os.path.join(root, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        with open(target, "wb") as handle:
            handle.write(data)

    def _config(self):
        directory = self._dir.path
        https = "listen %s:%d ssl" % (self.address, self.https_port)
        plain = "listen %s:%d" % (self.address, self.http_port)
        lines = [
            "daemon off;",
            "master_process on;",
            "worker_processes 1;",
            "pid %s/nginx.pid;" % directory,
            "error_log %s/error.log notice;" % directory,
        ]
        if os.geteuid() == 0:
            # Workers read the temporary directory, which only its owner may enter.
            lines.append("user root root;")
        lines += [
            "events { worker_connections 128; }",
            "http {",
            "  access_log %s/access.log;" % directory,
        ]
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            lines.append("  %s_temp_path %s/tmp/%s;" % (kind, directory, kind))
        lines += [
            "  server_tokens off;",
            self.http_config,
            "  sendfile on;",
            "  keepalive_timeout 5;",
            "  ssl_protocols TLSv1.2 TLSv1.3;",
            "  server {",
            "    %s default_server;" % https,
            "    %s default_server;" % plain,
            "    server_name _;",
            "    ssl_certificate %s/certs/default.invalid.chain.pem;" % directory,
            "    ssl_certificate_key %s/certs/default.invalid.key;" % directory,
            '    location = %s { default_type text/plain; return 200 "%s"; }' % (_ID_PATH, self._token),
            "    location / { return 421; }",
            "  }",
        ]
        for site in self.sites.values():
            lines += [
                "  server {",
                "    %s;" % https,
                "    %s;" % plain,
                "    server_name %s;" % " ".join([site.name] + list(site.aliases)),
                "    ssl_certificate %s/certs/%s.chain.pem;" % (directory, site.name),
                "    ssl_certificate_key %s/certs/%s.key;" % (directory, site.name),
                "    root %s;" % (site.root if site.root is not None else "%s/sites/%s" % (directory, site.name)),
                "    types { }",
                '    default_type "%s";' % site.content_type,
            ]
            if site.slow:
                lines += ["    limit_rate 1;", "    limit_rate_after %d;" % site.slow_after]
            if site.status is not None:
                lines.append("    location / { return %d; }" % site.status)
            elif site.redirect is not None:
                lines.append('    location / { return 301 "%s"; }' % site.redirect)
            elif site.locations is not None:
                lines.append(site.locations)
            else:
                lines.append("    location / { try_files $uri =404; }")
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @property
    def log_path(self):
        return self._dir.join("error.log")

    def log_tail(self, lines=40):
        """The last lines of nginx's error log and of its own output."""
        return "%s\n%s" % (tail(self.log_path, lines), tail(self._dir.join("nginx.out"), 10))

    def _command(self):
        config = write_text(self._dir.join("nginx.conf"), self._config())
        return ["nginx", "-p", self._dir.path, "-e", self.log_path, "-c", config], self._dir.join("nginx.out")

    def _ready(self, log_offset):
        if "Address already in use" in read_from(self.log_path, log_offset):
            raise PortTaken("nginx: a port was taken by another process")
        self._process.require_running(self.log_tail)
        try:
            connection = http.client.HTTPConnection(self.address, self.http_port, timeout=0.5)
            connection.request("GET", _ID_PATH, headers={"Host": "harness.invalid"})
            body = connection.getresponse().read()
            connection.close()
            with socket.create_connection((self.address, self.https_port), timeout=0.5):
                pass
        except OSError:
            return False
        return body.decode("utf-8", "replace") == self._token

    def url(self, name, path="/", scheme="https"):
        """The URL of ``path`` on site ``name`` (the host name resolves only through the test DNS)."""
        port = self.https_port if scheme == "https" else self.http_port
        return "%s://%s:%d%s" % (scheme, name, port, path)

    def get(self, name, path="/", *, scheme="https", timeout=5.0, context=None):
        """GET ``path`` from site ``name`` (SNI and Host ``name``) on this server; verified against the test CA.

        ``context``: an ``ssl.SSLContext`` to use instead (e.g. one that trusts nothing).
        ``timeout`` bounds the whole exchange: a body still arriving then raises TimeoutError.
        Certificate failures raise ``ssl.SSLCertVerificationError``.
        """
        return http_get(self.address, self.https_port if scheme == "https" else self.http_port, name, path,
                        context=(context or self.ca.client_context()) if scheme == "https" else None, timeout=timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed address with the host name used for SNI, certificate check and Host."""

    def __init__(self, address, port, host, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._address = address
        self._tls = context

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def http_get(address, port, host, path="/", *, context=None, timeout=5.0):
    """One GET to ``address:port`` for ``host`` (HTTPS when ``context`` is given); ``timeout`` bounds it all."""
    deadline = time.monotonic() + timeout
    watchdog = None
    if context is None:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    else:
        connection = _PinnedHTTPSConnection(address, port, host, context, timeout)
    try:
        connection.request("GET", path, headers={"Host": host, "Connection": "close"})
        # A server that sends one octet a second never trips a per-read timeout: at the
        # deadline the watchdog shuts the socket down, which ends any read in progress.
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection.sock,))
        watchdog.daemon = True
        watchdog.start()
        response = connection.getresponse()
        body = response.read()
        headers = {key.lower(): value for key, value in response.getheaders()}
        if time.monotonic() >= deadline:
            raise TimeoutError("%s%s: no complete answer within %.1f s" % (host, path, timeout))
        return HttpResponse(status=response.status, headers=headers, body=body)
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise TimeoutError("%s%s: no complete answer within %.1f s" % (host, path, timeout)) from exc
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        connection.close()


def _cut(sock):
    try:
        # The plain socket's shutdown: SSLSocket.shutdown would tear down TLS state under a reader.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def insecure_context():
    """A client SSL context that checks nothing (to look at a bad certificate's server)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
