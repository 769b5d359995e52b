# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An SMTP server (aiosmtpd) with STARTTLS and a test certificate, in a thread of the caller."""

from __future__ import annotations

import collections
import smtplib
import time

from aiosmtpd.controller import Controller

from harness._process import PORT_ATTEMPTS, ServerBase, ServerError, free_port
from harness.ca import TestCA

# Messages larger than this are refused; the server keeps only the envelopes of the last ones.
MAX_MESSAGE_OCTETS = 1024 * 1024
KEPT_ENVELOPES = 100


class _DropHandler:
    """Accepts every message and keeps only its envelope (bounded), never the content."""

    def __init__(self):
        self.envelopes = collections.deque(maxlen=KEPT_ENVELOPES)
        self.errors = collections.deque(maxlen=KEPT_ENVELOPES)
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # pylint: disable=invalid-name,unused-argument
        # Counts the clients' sessions (the start-up check connects without saying EHLO).
        self.sessions += 1
        session.host_name = hostname  # what aiosmtpd does itself without this hook
        return responses

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name,unused-argument
        self.envelopes.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "size": len(envelope.content or b"")})
        return "250 2.0.0 accepted and dropped"

    async def handle_exception(self, error):
        # Kept for tests to read instead of a traceback on stderr: a client that rejects the
        # certificate aborts the TLS handshake, which aiosmtpd reports here.
        cause = error.__cause__ or error
        self.errors.append("%s: %s" % (type(cause).__name__, cause))
        return "451 4.3.0 error: %s" % type(error).__name__


class SmtpServer(ServerBase):
    """An SMTP server for ``hostname`` on ``address`` (127.0.0.x) and a free port.

    ``starttls=False`` leaves STARTTLS out of the EHLO answer. ``certificate``: ``valid``,
    ``wrong_name``, ``expired``, ``not_yet_valid``, ``untrusted`` (see TestCA.certificate)
    or an IssuedCert. Messages are accepted and dropped; ``envelopes`` lists the last ones,
    ``errors`` the last session errors, ``sessions`` counts the EHLOs received (one per client
    session that got past the greeting).
    """

    name = "smtp"

    def __init__(self, hostname, ca=None, *, certificate="valid", starttls=True, address="127.0.0.1", start_timeout=5.0):
        self.hostname = hostname
        self.ca = ca if ca is not None else TestCA()
        self.starttls = starttls
        self.certificate = self.ca.certificate(certificate, hostname) if starttls else None
        self.address = address
        self.port = None
        self.start_timeout = start_timeout
        self.startup_seconds = None
        self._handler = _DropHandler()
        self._controller = None

    @property
    def envelopes(self):
        """``[{mail_from, rcpt_tos, size}]`` of the last messages received."""
        return list(self._handler.envelopes)

    @property
    def sessions(self):
        """How many EHLO commands the server has answered since it was made."""
        return self._handler.sessions

    @property
    def errors(self):
        """Session errors of the last connections, e.g. a TLS handshake the client aborted."""
        return list(self._handler.errors)

    @property
    def running(self):
        return self._controller is not None

    def start(self):
        if self.running:
            return self
        began = time.monotonic()
        last_error = None
        ports = [self.port] if self.port is not None else [None] * PORT_ATTEMPTS
        for wanted in ports:
            port = wanted if wanted is not None else free_port(self.address)
            controller = Controller(
                self._handler,
                hostname=self.address,
                port=port,
                server_hostname=self.hostname,
                ident="mailsec test SMTP",
                tls_context=self.certificate.server_context() if self.starttls else None,
                require_starttls=False,
                data_size_limit=MAX_MESSAGE_OCTETS,
                timeout=30,
                ready_timeout=self.start_timeout,
            )
            try:
                controller.start()
            except OSError as exc:
                # Lost a race for the port; aiosmtpd leaves its loop open after a failed start.
                last_error = exc
                controller.loop.close()
                continue
            self._controller = controller
            self.port = port
            self.startup_seconds = time.monotonic() - began
            return self
        raise ServerError("smtp %s: could not listen on %s: %s" % (self.hostname, self.address, last_error))

    def stop(self):
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def close(self):
        self.stop()

    def ehlo(self, timeout=5.0):
        """The server's EHLO keywords (lower case), from a fresh connection."""
        with smtplib.SMTP(self.address, self.port, local_hostname="client.invalid", timeout=timeout) as client:
            client.ehlo()
            return sorted(client.esmtp_features)

    def starttls_certificate(self, context=None, server_name=None, timeout=5.0):
        """STARTTLS with ``context`` (default: trusts the test CA, checks ``server_name`` or hostname).

        Returns the verified peer certificate (``getpeercert()``); verification failures raise
        ``ssl.SSLCertVerificationError``.
        """
        context = context or self.ca.client_context()
        client = smtplib.SMTP(self.address, self.port, local_hostname="client.invalid", timeout=timeout)
        try:
            client.ehlo()
            code, reply = client.docmd("STARTTLS")
            if code != 220:
                raise smtplib.SMTPResponseException(code, reply)
            # Done by hand: smtplib would use the address it connected to for SNI and the name check.
            client.sock = context.wrap_socket(client.sock, server_hostname=server_name or self.hostname)
            client.file = None
            return client.sock.getpeercert()
        finally:
            client.close()
