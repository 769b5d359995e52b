# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""verify_dns beyond the six records: DNSSEC of the domain's own records, null MX (RFC 7505), MX
targets that are aliases or address literals, and (with zones given) DNS blocklists.

Private to the collection: users may rely only on plugins and modules.

DNSSEC is read from the AD bit, which only a validating resolver sets (RFC 4035 3.2.3, RFC 6840
5.7). When a lookup answers SERVFAIL, it is asked again with the CD bit (checking disabled): a
validating resolver then hands out the data it could not validate, so an answer there means the
chain of trust is bogus (expired signatures, a DS that names no published key), while a second
SERVFAIL means the zone itself is broken.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.mailsec.posture.plugins.module_utils import dnsbl

CHECKS = {
    "dnssec.records": "the domain's own records are DNSSEC-validated (AD bit); a bogus chain is named as such",
    "mx.null": "a null MX (RFC 7505) is the only MX record, with preference 0",
    "mx.target": "every MX host is a host name with an address, not an alias (CNAME) or an address literal",
    "dnsbl.address": "the MX addresses are not listed in the dnsbl_zones (off unless zones are given)",
    "dnsbl.domain": "the domain is not listed in the dnsbl_domain_zones (off unless zones are given)",
}


def is_null_mx(answer):
    """True for an MX RRset whose only exchange is the root (``0 .`` or another preference)."""
    return answer is not None and answer.ok and all(str(exchange).rstrip(".") == "" for _preference, exchange in answer.records)


def check_null_mx(result, domain, answer):
    """mx.null for an RRset that holds the root as an exchange; True when the domain has a null MX."""
    if answer is None or not answer.ok:
        return False
    roots = [preference for preference, exchange in answer.records if str(exchange).rstrip(".") == ""]
    if not roots:
        return False
    if len(answer.records) > len(roots):
        result.failed("mx.null", "a null MX (\".\") stands beside other MX records: RFC 7505 3 allows it only alone; senders may "
                      "give up on the domain or try the other hosts. Remove one or the other", domain)
        return False
    if roots != [0]:
        result.warned("mx.null", "null MX with preference %s: RFC 7505 3 asks for exactly one \"0 .\" record" % ", ".join(map(str, roots)), domain)
    else:
        result.passed("mx.null", "null MX (RFC 7505): %s sends mail but accepts none; MTA-STS and DANE have no MX to protect" % domain,
                      domain)
    return True


async def check_dnssec(resolver, result, domain, answers, required):
    """dnssec.records from the answers of the domain's own lookups (MX, TXT, _dmarc, ...).

    ``required``: DANE is on for the domain in the inventory (its MX RRset must be secure, RFC 7672
    2.2.1), so an unvalidated answer fails; otherwise it passes and says so, because an
    authoritative or forwarding nameserver never sets AD, whatever the zone.
    """
    servfail = [answer for answer in answers if answer.kind == "servfail"]
    if servfail:
        retry = await resolver.without_validation().agather([(answer.name, answer.rtype) for answer in servfail])
        bogus = [first for first, second in zip(servfail, retry) if not second.failed]
        if bogus:
            return result.failed("dnssec.records", "bogus DNSSEC: %s answers SERVFAIL, but with checking disabled (CD) the data is there, so "
                                 "its signatures do not validate (expired or missing RRSIGs, or a DS at the parent that names no DNSKEY); "
                                 "validating resolvers, and so most senders, see none of these records: re-sign the zone or fix the DS"
                                 % ", ".join("%s %s" % (answer.rtype, answer.name) for answer in bogus), domain)
    settled = [answer for answer in answers if not answer.failed]
    if not settled:
        return None
    validated = [answer for answer in settled if answer.authenticated]
    if len(validated) == len(settled):
        return result.passed("dnssec.records", "DNSSEC-validated: the resolver set the AD bit on all %d answers" % len(settled), domain)
    unvalidated = ", ".join("%s %s" % (answer.rtype, answer.name) for answer in settled if not answer.authenticated)
    if validated:
        return result.warned("dnssec.records", "only some answers are DNSSEC-validated; without the AD bit: %s (a CNAME into an unsigned "
                             "zone, or a delegation without DS)" % unvalidated, domain)
    detail = ("not DNSSEC-validated (no AD bit on %s): the zone is unsigned, its DS is not at the parent, or the nameservers given do not "
              "validate" % unvalidated)
    if required:
        return result.failed("dnssec.records", detail + "; DANE is on for this domain and needs a signed MX RRset (RFC 7672 2.2.1)", domain)
    return result.passed("dnssec.records", detail + "; nothing here needs it (DANE is not on for this domain)", domain)


def address_literal(host):
    """The address when an MX exchange is an IP address (``192.0.2.1``, ``[192.0.2.1]``), else None."""
    text = str(host).strip().rstrip(".").strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


async def check_mx_targets(resolver, result, domain, answer, facts, address_zones=(), domain_zones=()):
    """mx.target for every MX host; then, with zones given, dnsbl.address and dnsbl.domain.

    One A lookup per MX host says whether it is an alias (the answer's CNAME chain) and whether it
    has an address; AAAA is asked only when there is no A, or when blocklists need every address.
    """
    if answer is None or not answer.ok or is_null_mx(answer):
        if domain_zones:
            dnsbl.check(result, await dnsbl.lookup(resolver, [], domain, (), domain_zones))
        return
    hosts = sorted(set(str(exchange).rstrip(".").lower() for _preference, exchange in answer.records if str(exchange).rstrip(".")))
    names = [host for host in hosts if address_literal(host) is None]
    for host in hosts:
        literal = address_literal(host)
        if literal is not None:
            result.failed("mx.target", "the MX names %s, an address literal: an MX must name a host (RFC 5321 5.1); senders look "
                          "\"%s\" up as a name and find nothing. Publish an A/AAAA record for a host name and point the MX at it"
                          % (host, host), host)
    first = await resolver.agather([(host, "A") for host in names])
    second = await resolver.agather([(host, "AAAA") for host, a in zip(names, first) if address_zones or not a.ok])
    aaaa = iter(second)
    addresses = []
    for host, a in zip(names, first):
        v6 = next(aaaa) if address_zones or not a.ok else None
        found = list(a.records if a.ok else []) + list(v6.records if v6 is not None and v6.ok else [])
        addresses.extend(str(value) for value in found)
        chain = a.chain or (v6.chain if v6 is not None else ())
        if a.failed and (v6 is None or v6.failed):
            result.failed("mx.target", "the address lookup failed: %s" % a.describe(), host)
        elif chain:
            result.warned("mx.target", "%s is an alias (CNAME -> %s): RFC 2181 10.3 forbids an MX that names an alias, and some senders "
                          "refuse it; point the MX at %s itself" % (host, " -> ".join(chain), chain[-1]), host)
        elif not found:
            kind = a.kind.upper()
            result.failed("mx.target", "%s has no A or AAAA record (%s): senders cannot deliver to it" % (host, kind), host)
        else:
            result.passed("mx.target", "%s has address(es) %s" % (host, ", ".join(str(value) for value in found)), host)
    facts["mx_addresses"] = sorted(set(addresses))
    if address_zones or domain_zones:
        dnsbl.check(result, await dnsbl.lookup(resolver, sorted(set(addresses)), domain, address_zones, domain_zones))
