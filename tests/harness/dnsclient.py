# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Asking the test name servers questions with dnspython, with a timeout on every query."""

from __future__ import annotations

from typing import NamedTuple

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

DEFAULT_TIMEOUT = 2.0


class DnsAnswer(NamedTuple):
    """What a server said: ``rcode`` text, AD/AA bits, the answer's records as text, the message."""

    rcode: str
    authenticated: bool
    authoritative: bool
    records: list
    message: object


def ask(address, port, name, rdtype="A", *, tcp=False, dnssec=False, timeout=DEFAULT_TIMEOUT, rdclass="IN"):
    """Send one query with RD set; return a DnsAnswer. Raises ``dns.exception.Timeout`` after ``timeout``."""
    query = dns.message.make_query(name, rdtype, rdclass, use_edns=0, payload=1232, want_dnssec=dnssec)
    if dnssec:
        # Ask for the AD bit explicitly (RFC 6840 5.7); validators then report it.
        query.flags |= dns.flags.AD
    if tcp:
        response = dns.query.tcp(query, address, port=port, timeout=timeout)
    else:
        # A truncated UDP answer is asked again over TCP, as a stub resolver would.
        response, _used_tcp = dns.query.udp_with_fallback(query, address, port=port, timeout=timeout)
    wanted = dns.rdatatype.from_text(rdtype)
    records = []
    for rrset in response.answer:
        if rrset.rdtype == wanted and rrset.rdclass == dns.rdataclass.from_text(rdclass):
            records.extend(rdata.to_text() for rdata in rrset)
    return DnsAnswer(
        rcode=dns.rcode.to_text(response.rcode()),
        authenticated=bool(response.flags & dns.flags.AD),
        authoritative=bool(response.flags & dns.flags.AA),
        records=records,
        message=response,
    )


def txt_values(answer):
    """The TXT values of an answer, each record's character-strings joined (RFC 7208 3.3)."""
    values = []
    for rrset in answer.message.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            values.extend(b"".join(rdata.strings).decode("utf-8", "replace") for rdata in rrset)
    return values


def server_identity(address, port, tcp=False, timeout=0.5):
    """The ``id.server`` CH TXT string a server reports, or None when it does not answer."""
    try:
        answer = ask(address, port, "id.server", "TXT", tcp=tcp, timeout=timeout, rdclass="CH")
    except (dns.exception.DNSException, OSError):
        return None
    if not answer.records:
        return None
    return answer.records[0].strip('"')


class DnsEndpoint:
    """Query helpers for a server that has ``address`` and ``port``."""

    address = "127.0.0.1"
    port = 0

    @property
    def nameserver(self):
        """``(address, port)`` of the server."""
        return (self.address, self.port)

    def lookup(self, name, rdtype="A", **options):
        """The full DnsAnswer (rcode, AD, AA, records); options: tcp, dnssec, timeout."""
        return ask(self.address, self.port, name, rdtype, **options)

    def query(self, name, rdtype="A", **options):
        """The answer's records as presentation text; empty for NXDOMAIN/no data, raises on other errors."""
        answer = self.lookup(name, rdtype, **options)
        if answer.rcode not in ("NOERROR", "NXDOMAIN"):
            raise DnsQueryError("%s/%s at %s#%d: %s" % (name, rdtype, self.address, self.port, answer.rcode), answer)
        return answer.records

    def query_txt(self, name, **options):
        """The TXT values at ``name``, character-strings joined."""
        answer = self.lookup(name, "TXT", **options)
        if answer.rcode not in ("NOERROR", "NXDOMAIN"):
            raise DnsQueryError("%s/TXT at %s#%d: %s" % (name, self.address, self.port, answer.rcode), answer)
        return txt_values(answer)


class DnsQueryError(Exception):
    """A query got an error rcode (SERVFAIL, REFUSED...); ``answer`` is the DnsAnswer."""

    def __init__(self, message, answer):
        super().__init__(message)
        self.answer = answer


def reference_resolver(nameserver, timeout=DEFAULT_TIMEOUT, lifetime=2 * DEFAULT_TIMEOUT):
    """dnspython's asyncio stub resolver asking only ``nameserver`` (``(address, port)``), without a
    cache or resolv.conf: the reference the project's resolver is compared with."""
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [nameserver[0]]
    resolver.port = nameserver[1]
    resolver.timeout = timeout
    resolver.lifetime = lifetime
    resolver.cache = None
    return resolver
