# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS blocklists (RFC 5782): are the MX addresses or the domain listed?

Private to the collection: users may rely only on plugins and modules.

Off unless zones are given: each lookup tells the list's operator which addresses and domains
you check. An address list (``dnsbl_zones``, e.g. ``zen.spamhaus.org``) is asked for
``<reversed address>.<zone>`` (octets for IPv4, nibbles for IPv6, RFC 5782 2.1 and 2.4); a
domain list (``dnsbl_domain_zones``, e.g. ``dbl.spamhaus.org``) for ``<domain>.<zone>``
(RFC 5782 2.3). An A record in 127.0.0.0/8 means listed (127.0.0.1 is reserved, RFC 5782 5;
127.255.255.0/24 is what several lists answer when they refuse the query, e.g. through a public
resolver); NXDOMAIN means not listed. The TXT record at the same name, when there is one, says why.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

_LISTED = ipaddress.ip_network("127.0.0.0/8")
_REFUSED = ipaddress.ip_network("127.255.255.0/24")
_RESERVED = ipaddress.ip_address("127.0.0.1")


def normalize_zones(zones, field):
    """The zone names of the ``dnsbl_zones`` / ``dnsbl_domain_zones`` option, normalized."""
    if zones is None:
        return []
    if not isinstance(zones, (list, tuple)):
        raise SpecError(field, "must be a list of DNS zone names, got %r" % (zones,))
    return [normalize_domain(str(zone), "%s[%d]" % (field, index)) for index, zone in enumerate(zones)]


def address_query(address, zone):
    """``<reversed address>.<zone>`` (RFC 5782 2.1, 2.4)."""
    pointer = ipaddress.ip_address(address).reverse_pointer
    return "%s.%s" % (pointer.rsplit(".", 2)[0], zone)


def domain_query(domain, zone):
    return "%s.%s" % (domain, zone)


async def lookup(resolver, addresses, domain, address_zones, domain_zones):
    """``[(what, zone, name, A answer, TXT answer or None)]``: every address in every address zone,
    the domain in every domain zone; the TXT reasons are asked only for listed names."""
    questions = [(address, zone, address_query(address, zone)) for address in addresses for zone in address_zones]
    questions += [(domain, zone, domain_query(domain, zone)) for zone in domain_zones]
    answers = await resolver.agather([(name, "A") for _what, _zone, name in questions])
    listed = [name for (_what, _zone, name), answer in zip(questions, answers) if verdict(answer)[0] == "listed"]
    reasons = dict(zip(listed, await resolver.agather([(name, "TXT") for name in listed]))) if listed else {}
    return [(what, zone, name, answer, reasons.get(name)) for (what, zone, name), answer in zip(questions, answers)]


def verdict(answer):
    """``(kind, codes)``: kind ``listed``, ``clean``, ``refused`` (the list would not answer this
    resolver), ``odd`` (an answer outside 127/8) or ``failed``."""
    if answer.kind == "nxdomain":
        return "clean", []
    if answer.failed:
        return "failed", []
    if not answer.ok:
        return "clean", []
    codes = [str(value) for value in answer.records]
    parsed = []
    for value in codes:
        try:
            parsed.append(ipaddress.ip_address(value))
        except ValueError:
            return "odd", codes
    if any(value in _REFUSED for value in parsed):
        return "refused", codes
    if all(value in _LISTED and value != _RESERVED for value in parsed):
        return "listed", codes
    return "odd", codes


def check(result, found):
    """dnsbl.address and dnsbl.domain: one check per name looked up (subject: the address or domain)."""
    for what, zone, name, answer, reason in found:
        check_name = "dnsbl.domain" if not _is_address(what) else "dnsbl.address"
        kind, codes = verdict(answer)
        if kind == "clean":
            result.passed(check_name, "%s is not listed in %s" % (what, zone), what)
        elif kind == "listed":
            why = ""
            if reason is not None and reason.ok:
                why = ": %s" % " ".join(str(value) for value in reason.records)
            result.failed(check_name, "%s is listed in %s (%s answers %s)%s; receivers that use this list refuse its mail: find out why "
                          "on the list's site and ask for removal" % (what, zone, name, ", ".join(codes), why), what)
        elif kind == "refused":
            result.warned(check_name, "%s refused the query for %s (%s): it does not answer this resolver (a public or shared one); "
                          "ask it through a resolver of your own" % (zone, what, ", ".join(codes)), what)
        elif kind == "odd":
            result.warned(check_name, "%s answers %s for %s, which is not a blocklist answer (127.0.0.2 to 127.255.255.254): is the zone "
                          "name right?" % (zone, ", ".join(codes), what), what)
        else:
            result.warned(check_name, "the lookup of %s failed: %s" % (name, answer.describe()), what)


def _is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
