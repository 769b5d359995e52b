# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the project's resolver against dnspython's on the same lookups of a loopback BIND.

    python tests/benchmark/dns_lookups.py [--lookups 10000] [--repeat 5] [--concurrency 100]

Starts (with tests/harness) BIND on a free loopback port with one zone whose names answer every
type verify_dns asks (MX, TXT, A, AAAA, a CNAME to an SPF include), then looks up ``--lookups``
distinct questions, without caches:

1. ``resolver.Resolver`` (``query_many``; its default transport, one pipelined TCP connection);
2. the same over UDP (``transport="udp"``);
3. ``dns.asyncresolver.Resolver`` with the same concurrency (asyncio.gather behind a semaphore),
   over UDP as dnspython does by default.

Prints wall and CPU seconds of each (best of ``--repeat``), checks that all three found the same
records, and prints the ratio dnspython / project. Not a test: the figures depend on the machine.
"""

import argparse
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for the harness

import dns.rdatatype  # noqa: E402  pylint: disable=wrong-import-position
import dns.resolver  # noqa: E402  pylint: disable=wrong-import-position

from harness import BindServer, reference_resolver  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.posture.plugins.module_utils import resolver as project  # noqa: E402  pylint: disable=wrong-import-position

ORIGIN = "lookups.test"
TYPES = ("MX", "TXT", "A", "AAAA", "CNAME")


def zone(hosts):
    lines = ["spf TXT \"v=spf1 ip4:192.0.2.0/24 -all\""]
    for index in range(hosts):
        name = "h%05d" % index
        lines += ["%s MX 10 mail.%s" % (name, name), "mail.%s A 127.0.0.1" % name, '%s TXT "v=spf1 mx include:spf.%s -all"' % (name, ORIGIN),
                  "%s A 192.0.2.%d" % (name, index % 250 + 1), "%s AAAA 2001:db8::%x" % (name, index + 1), "alias.%s CNAME spf" % name]
    return lines


def questions(count):
    hosts = -(-count // len(TYPES))
    pairs = []
    for index in range(hosts):
        name = "h%05d.%s" % (index, ORIGIN)
        pairs += [(name, "MX"), (name, "TXT"), (name, "A"), (name, "AAAA"), ("alias." + name, "TXT")]
    return hosts, pairs[:count]


def project_run(server, pairs, concurrency, transport):
    resolver = project.Resolver(["%s:%d" % server], timeout=5.0, lifetime=10.0, concurrency=concurrency, cache=False, transport=transport)
    answers = resolver.query_many(pairs)
    return [(answer.kind, sorted(str(value) for value in answer.records)) for answer in answers]


def dnspython_run(server, pairs, concurrency):
    async def every():
        resolver = reference_resolver(server, timeout=5.0, lifetime=10.0)
        slots = asyncio.Semaphore(concurrency)

        async def one(name, rtype):
            async with slots:
                try:
                    answer = await resolver.resolve(name, rtype, raise_on_no_answer=False)
                except dns.resolver.NXDOMAIN:
                    return ("nxdomain", [])
                if answer.rrset is None:
                    return ("nodata", [])
                return ("ok", sorted(_dnspython_value(rtype, rdata) for rdata in answer.rrset))
        return await asyncio.gather(*(one(name, rtype) for name, rtype in pairs))
    return asyncio.run(every())


def _dnspython_value(rtype, rdata):
    if rtype == "MX":
        return str((rdata.preference, rdata.exchange.to_text(omit_final_dot=True)))
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8")
    return rdata.to_text()


def measure(label, call, repeat):
    best = None
    result = None
    for _run in range(repeat):
        wall, cpu = time.monotonic(), time.process_time()
        result = call()
        row = (time.monotonic() - wall, time.process_time() - cpu)
        best = row if best is None or row[0] < best[0] else best
    print("%-34s wall %.3f s, CPU %.3f s (best of %d)" % (label, best[0], best[1], repeat), flush=True)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--lookups", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    hosts, pairs = questions(args.lookups)
    with BindServer({ORIGIN: zone(hosts)}, start_timeout=120) as bind:
        server = bind.nameserver
        print("%d lookups of %d names at %s:%d, concurrency %d" % (len(pairs), hosts, server[0], server[1], args.concurrency), flush=True)
        mine, mine_result = measure("project resolver (TCP, pipelined)", lambda: project_run(server, pairs, args.concurrency, "auto"), args.repeat)
        _udp, udp_result = measure("project resolver (UDP)", lambda: project_run(server, pairs, args.concurrency, "udp"), args.repeat)
        theirs, their_result = measure("dns.asyncresolver (UDP)", lambda: dnspython_run(server, pairs, args.concurrency), args.repeat)
    differing = [index for index, (one, two, three) in enumerate(zip(mine_result, udp_result, their_result)) if not one == two == three]
    for index in differing[:5]:
        print("differs: %s %s: %r / %r / %r" % (pairs[index] + (mine_result[index], udp_result[index], their_result[index])))
    print("answers differing: %d of %d" % (len(differing), len(pairs)))
    print("ratio dnspython / project (wall): %.1f" % (theirs[0] / mine[0]))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
