# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reverse DNS of the MX addresses: their PTR records, and whether those names resolve back
(forward-confirmed reverse DNS, FCrDNS), for IPv4 (in-addr.arpa) and IPv6 (ip6.arpa).

Private to the collection: users may rely only on plugins and modules.

Receivers such as Gmail refuse mail from an address whose PTR is missing or does not resolve back
to it; an MX host usually sends the domain's mail too. Lookups go through the nameservers the
verifier was given, so a reverse zone can be checked on its own server before it is delegated.
Computed once per distinct address per run (``lookup``), then judged per MX host (``check``).
"""

from __future__ import annotations

import ipaddress


def reverse_name(address):
    """``4.3.2.1.in-addr.arpa`` / nibbles ``.ip6.arpa`` for an address."""
    return ipaddress.ip_address(address).reverse_pointer


class Reverse:
    """One address: its PTR answer and, per PTR name, whether that name's A/AAAA include it."""

    def __init__(self, address):
        self.address = address
        self.ptr = None
        self.names = []
        self.confirmed = []
        self.forward_failures = []

    def facts(self):
        return {"address": self.address, "ptr": list(self.names), "confirmed": list(self.confirmed)}


async def lookup(resolver, addresses):
    """``{address: Reverse}`` for every address: PTR first, then the PTR names' addresses, all at once."""
    found = {address: Reverse(address) for address in dict.fromkeys(addresses)}
    answers = await resolver.agather([(reverse_name(address), "PTR") for address in found])
    forward = []
    for entry, answer in zip(found.values(), answers):
        entry.ptr = answer
        if answer.ok:
            entry.names = sorted(set(str(name).rstrip(".").lower() for name in answer.records))
            rtype = "AAAA" if ipaddress.ip_address(entry.address).version == 6 else "A"
            forward.extend((entry, name, rtype) for name in entry.names)
    back = await resolver.agather([(name, rtype) for _entry, name, rtype in forward])
    wanted = {address: ipaddress.ip_address(address) for address in found}
    for (entry, name, _rtype), answer in zip(forward, back):
        if answer.failed:
            entry.forward_failures.append("%s: %s" % (name, answer.describe()))
        elif answer.ok and any(_same(value, wanted[entry.address]) for value in answer.records):
            entry.confirmed.append(name)
    return found


def _same(text, address):
    try:
        return ipaddress.ip_address(str(text)) == address
    except ValueError:
        return False


def check(result, subject, reverses):
    """smtp.ptr and smtp.fcrdns for the addresses of one MX host (``reverses``: Reverse entries)."""
    for entry in reverses:
        answer = entry.ptr
        name = reverse_name(entry.address)
        if answer.failed:
            result.warned("smtp.ptr", "%s: the PTR lookup at %s failed: %s" % (entry.address, name, answer.describe()), subject)
            continue
        if not entry.names:
            result.warned("smtp.ptr", "%s has no PTR record (%s at %s): receivers such as Gmail refuse mail sent from it; ask the address's "
                          "owner (the hosting provider) to set the PTR to %s" % (entry.address, answer.kind.upper(), name, subject), subject)
            continue
        result.passed("smtp.ptr", "%s: PTR %s" % (entry.address, ", ".join(entry.names)), subject)
        if entry.confirmed:
            result.passed("smtp.fcrdns", "%s: %s resolves back to it" % (entry.address, ", ".join(entry.confirmed)), subject)
        else:
            failures = "; lookup failures: %s" % "; ".join(entry.forward_failures) if entry.forward_failures else ""
            result.warned("smtp.fcrdns", "%s: its PTR name(s) %s do not resolve back to it (no matching %s record)%s: receivers treat the "
                          "sender as unidentified; publish the address at the PTR name" % (
                              entry.address, ", ".join(entry.names), "AAAA" if ":" in entry.address else "A", failures), subject)


def confirmed_names(reverses):
    """The forward-confirmed PTR names of these addresses."""
    return sorted(set(name for entry in reverses for name in entry.confirmed))
