# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (not a test): publish N mail domains with mailsec.posture.dns_records in one task, and the
same records with a loop of community.general.nsupdate tasks, on the same BIND; print both times.

    source tools/env.sh && python tests/benchmark/dns_publish.py --domains 1000

Each domain gets the records the mail_records lookup computes for MX, SPF, DKIM (one RSA key of
--key-bits), DMARC, MTA-STS (TXT and the policy host CNAME) and TLS-RPT: 7 RRsets. Layout
``zones`` gives every domain its own zone (the usual case: each mail domain is a registered domain);
``one-zone`` puts all domains below one zone (a hosting provider's customer subdomains), where
dns_records packs many domains into each UPDATE. The two runs use separate zones on one server, and
their results are compared record by record before the times are printed.

Both runs are whole ansible-playbook processes, timed from start to end. The nsupdate loop gets its
RRsets ready-made (TXT already quoted and split, as nsupdate needs), so only publishing is timed there.
With --nsupdate-domains M (< N) the loop runs on the first M domains and its time is scaled by N/M,
which the output says; per-RRset cost is what the loop pays, so the scaling is linear.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPOSITORY, "tests"))
sys.path.insert(0, os.path.join(REPOSITORY, ".build", "collections"))
# ansible-playbook from the same virtualenv as this Python.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

from harness import BindServer, run_playbook  # noqa: E402
from harness.publishing import SERVER_ARGUMENTS, mail_domain, publish_task, rsa_public_key, server_vars  # noqa: E402
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records, presentation_value  # noqa: E402
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model  # noqa: E402

MAIL_ZONE = "bench-mx.test"
MAIL_HOST = "mail." + MAIL_ZONE
TIMEOUT = 6 * 3600


def domains(count, label, layout, key):
    """The inventory of ``count`` domains; ``label`` keeps the two runs' names apart."""
    result = []
    for index in range(count):
        if layout == "zones":
            name = "m%04d-%s.test" % (index, label)
            zone = name
        else:
            name = "d%04d.%s.test" % (index, label)
            zone = "%s.test" % label
        result.append(mail_domain(name, zone, key))
    return result


def zones_of(inventory):
    return sorted({entry["zone"] for entry in inventory})


def rrsets_for_nsupdate(inventory):
    """One item per (name, type): zone, record, type, ttl and values in presentation form."""
    grouped = {}
    for record in desired_records(normalize_model(inventory, mail_host=MAIL_HOST)):
        key = (record["zone"], record["name"], record["type"])
        item = grouped.setdefault(key, {"zone": key[0], "record": key[1], "type": key[2], "ttl": record["ttl"], "value": []})
        item["value"].append(presentation_value(record))
    return list(grouped.values())


def dns_records_play():
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [publish_task("{{ query('mailsec.posture.mail_records') }}", timeout=60)]}]


def nsupdate_play():
    arguments = dict(
        SERVER_ARGUMENTS,
        key_algorithm="hmac-sha256",
        protocol="tcp",
        zone="{{ item.zone }}",
        record="{{ item.record }}",
        type="{{ item.type }}",
        ttl="{{ item.ttl }}",
        value="{{ item.value }}",
    )
    task = {"name": "publish", "community.general.nsupdate": arguments, "loop": "{{ rrsets }}", "loop_control": {"label": "{{ item.record }} {{ item.type }}"}}
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]


def timed(play, workdir, extra):
    start = time.monotonic()
    result = run_playbook(play, workdir=workdir, extra_vars=extra, timeout=TIMEOUT)
    elapsed = time.monotonic() - start
    if result.rc != 0 or result.failed:
        failures = []
        for outcome in result.task_results("publish").values():
            for item in outcome.get("results") or [outcome]:
                if item.get("failed"):
                    failures.append("%s: %s" % (item.get("item", {}).get("record", ""), item.get("msg")))
        raise SystemExit("%s\n%s" % (result.describe(), "\n".join(failures[:10])))
    return elapsed, result


def served(bind, zones, rename=lambda text: text):
    """Every record of ``zones`` but their SOA and NS, as (zone, name, ttl, value) with ``rename`` applied."""
    found = set()
    for zone in zones:
        for name, ttl, rdata in bind.transfer(zone).iterate_rdatas():
            if rdata.rdtype in (2, 6) or name.to_text() == "ns":
                continue
            found.add(tuple(rename(str(part)) for part in (zone, name, ttl, rdata.to_text())))
    return found


def to_b(text):
    """A name or value of the dns_records run as the nsupdate run spells it."""
    return text.replace("-a.test", "-b.test").replace(".a.test", ".b.test").replace("@a.test", "@b.test") if text != "a.test" else "b.test"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--domains", type=int, default=1000, help="mail domains to publish (default 1000)")
    parser.add_argument("--nsupdate-domains", type=int, default=None, help="run the nsupdate loop on this many domains and scale (default: all)")
    parser.add_argument("--layout", choices=["zones", "one-zone"], default="zones", help="a zone per domain (default) or one zone for all")
    parser.add_argument("--key-bits", type=int, default=2048, choices=[2048, 3072, 4096], help="DKIM RSA key size (default 2048)")
    parser.add_argument("--rerun", action="store_true", help="also time a second run of each (nothing to change)")
    options = parser.parse_args()
    sample = min(options.nsupdate_domains or options.domains, options.domains)

    key = rsa_public_key(options.key_bits)
    ours = domains(options.domains, "a", options.layout, key)
    theirs = domains(sample, "b", options.layout, key)
    zones = {zone: [] for zone in zones_of(ours) + zones_of(theirs)}
    zones[MAIL_ZONE] = [{"name": "mail", "type": "A", "value": "127.0.0.1"}]
    rrsets = rrsets_for_nsupdate(theirs)

    with tempfile.TemporaryDirectory(prefix="mailsec-bench-") as workdir, BindServer(zones, start_timeout=120) as bind:
        common = server_vars(bind)
        print("BIND %s serving %d zones on 127.0.0.1 port %d" % (bind_version(), len(zones), bind.port), flush=True)

        ours_time, result = timed(dns_records_play(), os.path.join(workdir, "a"), dict(common, mailsec_domains=ours, mailsec_mail_host=MAIL_HOST))
        outcome = result.task_result("publish")
        print("dns_records: %.1f s, %d RRsets in %d UPDATE messages" % (ours_time, len(outcome["changes"]), outcome["messages"]), flush=True)
        theirs_time, result = timed(nsupdate_play(), os.path.join(workdir, "b"), dict(common, rrsets=rrsets))
        print("nsupdate loop: %.1f s, %d tasks" % (theirs_time, len(rrsets)), flush=True)

        rerun = None
        if options.rerun:
            ours_again, result = timed(dns_records_play(), os.path.join(workdir, "a"), dict(common, mailsec_domains=ours, mailsec_mail_host=MAIL_HOST))
            assert result.changed == 0, result.describe()
            theirs_again, result = timed(nsupdate_play(), os.path.join(workdir, "b"), dict(common, rrsets=rrsets))
            assert result.changed == 0, result.describe()
            rerun = (ours_again, theirs_again)

        # Both runs published the same records (names differ only in the label).
        if options.layout == "zones":
            ours_records = served(bind, zones_of(ours[:sample]), to_b)
        else:
            wanted = {"d%04d" % index for index in range(sample)}
            ours_records = {item for item in served(bind, zones_of(ours), to_b) if set(item[1].split(".")) & wanted}
        theirs_records = served(bind, zones_of(theirs))
        assert len(theirs_records) == sum(len(item["value"]) for item in rrsets), "the nsupdate run published %d records" % len(theirs_records)
        assert ours_records == theirs_records, "the two runs published different records"
        print("checked: both runs published the same %d records" % len(theirs_records))

    scale = options.domains / sample
    print()
    print("domains: %d, %d RRsets (%s, DKIM RSA-%d)" % (options.domains, 7 * options.domains, options.layout, options.key_bits))
    print("  mailsec.posture.dns_records, one task:      %8.1f s" % ours_time)
    if sample == options.domains:
        print("  community.general.nsupdate, loop of %5d:  %8.1f s" % (len(rrsets), theirs_time))
    else:
        print("  community.general.nsupdate, loop of %5d:  %8.1f s  (measured on %d domains: %.1f s, scaled by %.1f)"
              % (len(rrsets) * scale, theirs_time * scale, sample, theirs_time, scale))
    print("  ratio (nsupdate / dns_records):             %8.1f x" % (theirs_time * scale / ours_time))
    if rerun:
        print("  second run, nothing to change: dns_records %.1f s, nsupdate %.1f s%s"
              % (rerun[0], rerun[1] * scale, " (scaled)" if scale != 1 else ""))


def bind_version():
    import subprocess

    try:
        return subprocess.run(["named", "-v"], capture_output=True, text=True, timeout=10, check=False).stdout.split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


if __name__ == "__main__":
    main()
