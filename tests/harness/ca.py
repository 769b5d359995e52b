# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A test certificate authority (trustme) that issues valid, expired, future and wrong-name certificates."""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from typing import NamedTuple

import trustme

from harness._process import write_text

# Certificate kinds the servers accept by name (see TestCA.certificate).
CERTIFICATE_KINDS = ("valid", "wrong_name", "expired", "not_yet_valid", "untrusted")
# The name a "wrong_name" certificate is issued for: valid in every other way.
WRONG_NAME = "wrong-name.invalid"


class CertFiles(NamedTuple):
    cert: str
    key: str
    chain: str


class IssuedCert(NamedTuple):
    """A leaf certificate: ``cert_pem`` (leaf only), ``key_pem``, ``chain_pem`` (leaf then intermediates)."""

    cert_pem: str
    key_pem: str
    chain_pem: str

    def write(self, directory, stem):
        """Write ``<stem>.crt``, ``<stem>.key`` (mode 0600) and ``<stem>.chain.pem``; return their paths."""
        return CertFiles(
            cert=write_text(os.path.join(directory, stem + ".crt"), self.cert_pem),
            key=write_text(os.path.join(directory, stem + ".key"), self.key_pem, mode=0o600),
            chain=write_text(os.path.join(directory, stem + ".chain.pem"), self.chain_pem),
        )

    def server_context(self):
        """An ``ssl.SSLContext`` for a TLS server presenting this certificate chain."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # The TLS 1.2 suites of Mozilla's intermediate guidance only: a test MX passes tls.ciphers.
        context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20")
        with tempfile.TemporaryDirectory(prefix="mailsec-cert-") as directory:
            files = self.write(directory, "server")
            context.load_cert_chain(files.chain, files.key)
        return context


class TestCA:
    """A certificate authority for tests, plus a second one (``untrusted``) that nobody trusts.

    Holds no processes or files: ``write_ca``/``IssuedCert.write`` put PEM files where the caller says.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, organization="mailsec.posture test CA"):
        self._authority = trustme.CA(organization_name=organization)
        self._untrusted = None

    @property
    def ca_pem(self):
        """The CA certificate (PEM text) that clients must trust."""
        return self._authority.cert_pem.bytes().decode("ascii")

    @property
    def untrusted(self):
        """Another TestCA, made on first use, for certificates that must fail verification."""
        if self._untrusted is None:
            self._untrusted = TestCA(organization="mailsec.posture untrusted CA")
        return self._untrusted

    def issue(self, names, *, not_before=None, not_after=None, expired=False, future=False):
        """Issue a certificate for ``names`` (a name or a list: DNS names, IP addresses).

        ``expired=True`` makes one that ended yesterday, ``future=True`` one that starts tomorrow;
        ``not_before``/``not_after`` (aware datetimes) set the validity exactly.
        """
        if isinstance(names, str):
            names = [names]
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            not_before, not_after = now - datetime.timedelta(days=60), now - datetime.timedelta(days=1)
        elif future:
            not_before, not_after = now + datetime.timedelta(days=1), now + datetime.timedelta(days=60)
        leaf = self._authority.issue_cert(*names, not_before=not_before, not_after=not_after)
        chain = [blob.bytes().decode("ascii") for blob in leaf.cert_chain_pems]
        return IssuedCert(cert_pem=chain[0], key_pem=leaf.private_key_pem.bytes().decode("ascii"), chain_pem="".join(chain))

    def certificate(self, kind, name):
        """A certificate of a named ``kind`` for a server called ``name``; an IssuedCert passes through.

        Kinds: ``valid``; ``wrong_name`` (valid, for WRONG_NAME); ``expired``; ``not_yet_valid``;
        ``untrusted`` (valid for ``name`` but from the untrusted CA).
        """
        if isinstance(kind, IssuedCert):
            return kind
        if kind == "valid":
            return self.issue(name)
        if kind == "wrong_name":
            return self.issue(WRONG_NAME)
        if kind == "expired":
            return self.issue(name, expired=True)
        if kind == "not_yet_valid":
            return self.issue(name, future=True)
        if kind == "untrusted":
            return self.untrusted.issue(name)
        raise ValueError("certificate kind %r: expected an IssuedCert or one of %s" % (kind, ", ".join(CERTIFICATE_KINDS)))

    def write_ca(self, path):
        """Write the CA certificate to ``path`` and return the path."""
        return write_text(str(path), self.ca_pem)

    def client_context(self):
        """An ``ssl.SSLContext`` for clients that trusts this CA only, with name checks on."""
        return ssl.create_default_context(cadata=self.ca_pem)
