# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Profile the verify engines on the benchmark's world, without Ansible or checkdmarc.

    python tests/benchmark/profile_verify.py serve [--domains 1000] [--state FILE]
    python tests/benchmark/profile_verify.py time [--state FILE] [--repeat 5] [--params '{"processes": N}']
    python tests/benchmark/profile_verify.py profile [--state FILE] [--which dns|mta_sts|both] [--sort tottime]

``serve`` starts BIND and nginx with the same zones and policies as tests/benchmark/verify.py, but
on free ports (no root port needed, no clash with a benchmark running beside it), writes their
ports and the CA path to ``--state`` and waits until interrupted. ``time`` and ``profile`` run the
two engine calls of the benchmark in a fresh process against that world, so a code change is
measured without restarting the servers. Not a test.
"""

import argparse
import cProfile
import json
import os
import pstats
import resource
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for the harness
sys.path.insert(0, HERE)

DEFAULT_STATE = os.path.join(tempfile.gettempdir(), "mailsec-profile-world.json")


def serve(args):
    from harness import BindServer, NginxServer, TestCA  # pylint: disable=import-outside-toplevel
    import verify as bench  # pylint: disable=import-outside-toplevel,import-error

    names = bench.domain_names(args.domains)
    workdir = tempfile.mkdtemp(prefix="mailsec-profile-")
    ca = TestCA()
    ca_path = str(ca.write_ca(os.path.join(workdir, "ca.pem")))
    began = time.monotonic()
    bind = BindServer(bench.zones(names), start_timeout=120)
    web = NginxServer(bench.sites(names, ca.issue(bench.certificate_names(names))), ca, start_timeout=120)
    with bind, web:
        state = {"domains": len(names), "dns_port": bind.port, "https_port": web.https_port, "ca_path": ca_path, "pid": os.getpid(),
                 "server_pids": [bind._process.pid, web._process.pid]}  # pylint: disable=protected-access
        with open(args.state, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        print("serving %d domains in %.1f s: %s" % (len(names), time.monotonic() - began, state), flush=True)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    os.unlink(args.state)


def _load(args):
    with open(args.state, encoding="utf-8") as handle:
        return json.load(handle)


def _calls(state, extra=None):
    from ansible_collections.mailsec.posture.plugins.module_utils import verify_dns, verify_mta_sts  # pylint: disable=import-outside-toplevel
    import verify as bench  # pylint: disable=import-outside-toplevel,import-error

    names = bench.domain_names(state["domains"])
    base = {"domains": names, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
            "nameservers": ["127.0.0.1:%d" % state["dns_port"]], "timeout": bench.TIMEOUT, "concurrency": bench.CONCURRENCY,
            "expected": None, "fail_on": "never"}
    base.update(extra or {})
    dns_params = dict(base, dkim_selectors=[], profile="standard", overall_timeout=None)
    sts_params = dict(base, ca_path=state["ca_path"], expiry_warn_days=14, port=state["https_port"], expected_mode=None)
    return (("dns", lambda: verify_dns.run(dns_params)), ("mta_sts", lambda: verify_mta_sts.run(sts_params)))


def servers_cpu(state):
    """CPU seconds BIND and nginx (every worker) have used so far."""
    import verify as bench  # pylint: disable=import-outside-toplevel,import-error
    return bench._servers_cpu(state.get("server_pids") or [])  # pylint: disable=protected-access


def _cpu():
    """CPU seconds of this process and of the worker processes it has forked and reaped."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _summary(result):
    return result["summary"]["checks_by_status"]


def time_runs(args):
    state = _load(args)
    extra = json.loads(args.params) if args.params else {}
    calls = _calls(state, extra)
    rows = []
    for _run in range(args.repeat):
        row = {}
        cpu = _cpu()
        for label, call in calls:
            began = time.monotonic()
            server_cpu = servers_cpu(state)
            result, _failure = call()
            row[label] = time.monotonic() - began
            row[label + "_servers"] = servers_cpu(state) - server_cpu
            row[label + "_checks"] = _summary(result)
            row[label + "_bytes"] = len(json.dumps(result))
        row["cpu"] = _cpu() - cpu
        row["total"] = row["dns"] + row["mta_sts"]
        rows.append(row)
        print("dns %.3f s + mta_sts %.3f s = %.3f s (CPU of this process and its workers %.2f s, of BIND+nginx %.2f + %.2f s); "
              "checks %s %s; JSON %d + %d octets"
              % (row["dns"], row["mta_sts"], row["total"], row["cpu"], row["dns_servers"], row["mta_sts_servers"], row["dns_checks"],
                 row["mta_sts_checks"], row["dns_bytes"], row["mta_sts_bytes"]), flush=True)
    best = min(rows, key=lambda row: row["total"])
    print("best of %d: dns %.3f s + mta_sts %.3f s = %.3f s" % (args.repeat, best["dns"], best["mta_sts"], best["total"]))


def profile(args):
    state = _load(args)
    extra = json.loads(args.params) if args.params else {}
    for label, call in _calls(state, extra):
        if args.which not in (label, "both"):
            continue
        call()  # warm: imports, the system CA store
        profiler = cProfile.Profile()
        began = time.monotonic()
        profiler.enable()
        call()
        profiler.disable()
        print("=== %s: %.3f s under the profiler" % (label, time.monotonic() - began))
        stats = pstats.Stats(profiler)
        if args.output:
            stats.dump_stats("%s.%s" % (args.output, label))
        stats.sort_stats(args.sort).print_stats(args.limit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("command", choices=("serve", "time", "profile"))
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--state", default=DEFAULT_STATE)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--which", default="both", choices=("dns", "mta_sts", "both"))
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--output", help="also dump the stats to OUTPUT.dns / OUTPUT.mta_sts")
    parser.add_argument("--params", help="JSON object of extra module parameters for both calls")
    args = parser.parse_args()
    {"serve": serve, "time": time_runs, "profile": profile}[args.command](args)


if __name__ == "__main__":
    main()
