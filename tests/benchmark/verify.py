# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: verify_dns + verify_mta_sts on a generated fleet, against checkdmarc doing the same work.

    python tests/benchmark/verify.py [--domains 1000] [--no-checkdmarc] [--no-role]

Starts (with tests/harness) BIND on 127.0.0.1:53 serving one zone per domain, and nginx on
127.0.0.1:443 serving every domain's MTA-STS policy with a certificate from a test CA. Then:

1. ansible-playbook runs one play with two tasks, ``mailsec.posture.verify_dns`` and
   ``mailsec.posture.verify_mta_sts``, each once for all domains, with their default options; their
   task durations are the collection's time. The same play runs again with the documented options
   that shrink the result (``passing_checks: brief`` and ``omit``, with ``facts: false`` for
   verify_mta_sts), as more figures. The same two engine calls are also timed in this process (no Ansible), with the
   default ``processes`` (automatic) and with ``processes: 1``; their CPU time includes the worker
   processes they fork, and BIND's and nginx's CPU time is shown beside it.
2. checkdmarc (PyPI, 6.0.4) checks the same domains through the same nameserver (``-n``; it asks
   port 53 only, which is why BIND listens there) and fetches the same policies: it resolves
   ``mta-sts.<domain>`` with the system resolver and verifies TLS with the requests CA bundle, so
   it runs under ``unshare -m`` with a hosts file bind-mounted over /etc/hosts (this process's
   mount namespace only; the machine's /etc/hosts is never touched) and ``REQUESTS_CA_BUNDLE``.
   The script checks that it fetched every policy: its output must hold a valid policy for each
   domain and nginx's access log one request from it per domain.
3. The role ``mailsec.posture.verify`` runs for 10 domains and for all of them: the task lists
   must be the same.

Prints both times and the ratio. Needs root (ports 53 and 443, unshare) and the Debian packages
the harness uses. Not a test: the figures depend on the machine.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for the harness
REPOSITORY = os.path.dirname(os.path.dirname(HERE))

from harness import BindServer, NginxServer, Site, TestCA, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, verify_dns, verify_mta_sts  # noqa: E402  pylint: disable=wrong-import-position

POLICY_PATH = mta_sts.POLICY_PATH
SPF_PROVIDER = "spf-provider.test"
TIMEOUT = 5.0
CONCURRENCY = 32


def policy(domain):
    return "version: STSv1\r\nmode: enforce\r\nmx: mail.%s\r\nmax_age: 604800\r\n" % domain


def domain_names(count):
    return ["d%04d.test" % index for index in range(count)]


def zones(names):
    """One zone per domain, every record verify_dns and checkdmarc look at, plus a shared SPF include."""
    found = {SPF_PROVIDER: ['_spf TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"']}
    for name in names:
        found[name] = [
            "@ MX 10 mail", "mail A 127.0.0.1", "mta-sts A 127.0.0.1",
            '@ TXT "v=spf1 mx include:_spf.%s -all"' % SPF_PROVIDER,
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@%s"' % name,
            '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(policy(name)),
            '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@%s"' % name,
        ]
    return found


def port_free(port, kind):
    probe = socket.socket(socket.AF_INET, kind)
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def task_seconds(result, name):
    for play in result.data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                duration = task["task"]["duration"]
                return _seconds(duration["end"]) - _seconds(duration["start"])
    raise KeyError(name)


def _seconds(stamp):
    # ansible.posix.json: "2026-01-01T12:00:00.123456Z"
    import datetime  # pylint: disable=import-outside-toplevel
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


# The documented options that make the results smaller for Ansible to carry, by label (defaults first).
RESULT_OPTIONS = {
    "default options": ({}, {}),
    "passing_checks brief, facts false": ({"passing_checks": "brief"}, {"passing_checks": "brief", "facts": False}),
    "passing_checks omit, facts false": ({"passing_checks": "omit"}, {"passing_checks": "omit", "facts": False}),
}


def collection_run(workdir, names, ca_path, result_options="default options"):
    options = {"domains": names, "nameservers": ["127.0.0.1:53"], "timeout": TIMEOUT, "concurrency": CONCURRENCY, "fail_on": "never"}
    dns_extra, sts_extra = RESULT_OPTIONS[result_options]
    dns_options = dict(options, **dns_extra)
    sts_options = dict(options, port=443, ca_path=ca_path, **sts_extra)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "verify_dns", "mailsec.posture.verify_dns": dns_options, "register": "dns_result"},
        {"name": "verify_mta_sts", "mailsec.posture.verify_mta_sts": sts_options, "register": "sts_result"},
        {"name": "summaries", "ansible.builtin.debug": {"msg": "{{ {'dns': dns_result.summary, 'mta_sts': sts_result.summary} }}"}},
    ]}]
    began = time.monotonic()
    result = run_playbook(play, workdir=os.path.join(workdir, "collection"), timeout=600)
    wall = time.monotonic() - began
    result.assert_ok()
    dns_seconds = task_seconds(result, "verify_dns")
    sts_seconds = task_seconds(result, "verify_mta_sts")
    summaries = result.task_result("summaries")["msg"]
    return dns_seconds, sts_seconds, wall, summaries


def engine_run(names, ca_path, processes=None):
    """The same two calls in this process: what the modules spend beyond Ansible's own start-up."""
    base = {"domains": names, "mailsec_domains": None, "mail_host": None, "domain_defaults": {}, "nameservers": ["127.0.0.1:53"],
            "timeout": TIMEOUT, "concurrency": CONCURRENCY, "expected": None, "fail_on": "never", "processes": processes}
    began = time.monotonic()
    dns_result, _failure = verify_dns.run(dict(base, dkim_selectors=[], profile="standard", overall_timeout=None))
    middle = time.monotonic()
    sts_result, _failure = verify_mta_sts.run(dict(base, ca_path=ca_path, expiry_warn_days=14, port=443, expected_mode=None))
    end = time.monotonic()
    return middle - began, end - middle, dns_result["summary"], sts_result["summary"]


def engine_runs(names, ca_path, repeat, servers, processes=None):
    """``repeat`` runs of engine_run: the best by wall time, every total, the servers' CPU in the best."""
    runs = []
    for _run in range(repeat):
        cpu = time.process_time() + _children_cpu()
        server_cpu = _servers_cpu(servers)
        dns_engine, sts_engine, dns_summary, sts_summary = engine_run(names, ca_path, processes)
        runs.append((dns_engine + sts_engine, dns_engine, sts_engine, time.process_time() + _children_cpu() - cpu,
                     _servers_cpu(servers) - server_cpu, dns_summary, sts_summary))
    return min(runs, key=lambda entry: entry[0]), [entry[0] for entry in runs]


def checkdmarc_run(workdir, names, ca_path, access_log):
    domains_file = os.path.join(workdir, "domains.txt")
    hosts_file = os.path.join(workdir, "hosts")
    output = os.path.join(workdir, "checkdmarc.json")
    with open(domains_file, "w", encoding="utf-8") as handle:
        handle.write("\n".join(names) + "\n")
    with open(hosts_file, "w", encoding="utf-8") as handle:
        handle.write("127.0.0.1 localhost\n")
        for name in names:
            handle.write("127.0.0.1 mta-sts.%s mail.%s\n" % (name, name))
    checkdmarc = shutil.which("checkdmarc")
    if checkdmarc is None:
        raise SystemExit("checkdmarc is not installed (pip install checkdmarc==6.0.4)")
    script = 'mount --bind "$1" /etc/hosts && exec "$2" "$4" -f json -t %s -n 127.0.0.1 -o "$3"' % TIMEOUT
    env = dict(os.environ, REQUESTS_CA_BUNDLE=ca_path, SSL_CERT_FILE=ca_path)
    requests_before = _checkdmarc_requests(access_log)
    began = time.monotonic()
    run = subprocess.run(["unshare", "-m", "sh", "-c", script, "checkdmarc-bench", hosts_file, checkdmarc, output, domains_file],
                         check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=1800)
    seconds = time.monotonic() - began
    if run.returncode != 0:
        raise SystemExit("checkdmarc failed (exit %d):\n%s" % (run.returncode, run.stderr[-3000:]))
    with open(output, encoding="utf-8") as handle:
        results = json.load(handle)
    if isinstance(results, dict):
        results = [results]
    fetched = [entry["domain"] for entry in results if (entry.get("mta_sts") or {}).get("valid") and entry["mta_sts"].get("policy")]
    missing = sorted(set(names) - set(fetched))
    requests = _checkdmarc_requests(access_log) - requests_before
    return seconds, results, missing, requests


def _checkdmarc_requests(access_log):
    """Policy requests in nginx's access log that did not come from the collection's own client."""
    if not os.path.exists(access_log):
        return 0
    with open(access_log, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if POLICY_PATH in line and "mailsec" not in line.lower())


def role_task_lists(workdir, small, large, nameserver_vars):
    lists = {}
    for label, names in (("small", small), ("large", large)):
        extra = dict(nameserver_vars, verify_domains=names, verify_report_dir=os.path.join(workdir, "report-" + label))
        result = run_playbook(os.path.join(REPOSITORY, "playbooks", "verify.yml"), workdir=os.path.join(workdir, "role-" + label),
                              extra_vars=extra, timeout=900)
        result.assert_ok()
        lists[label] = ([task["task"]["name"] for play in result.data["plays"] for task in play["tasks"]], result.stats)
    return lists


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--no-checkdmarc", action="store_true", help="time only the collection")
    parser.add_argument("--no-role", action="store_true", help="skip the role's task-count comparison")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the collection's calls; the best counts")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: BIND must answer on port 53 (checkdmarc asks no other) and nginx on 443")
    for port, kind in ((53, socket.SOCK_DGRAM), (53, socket.SOCK_STREAM), (443, socket.SOCK_STREAM)):
        if not port_free(port, kind):
            raise SystemExit("127.0.0.1:%d is taken; the benchmark needs it" % port)

    names = domain_names(args.domains)
    workdir = tempfile.mkdtemp(prefix="mailsec-bench-")
    ca = TestCA()
    ca_path = str(ca.write_ca(os.path.join(workdir, "ca.pem")))
    print("world: %d domains, one zone each, policies on nginx; work directory %s" % (len(names), workdir), flush=True)
    began = time.monotonic()
    bind = BindServer(zones(names), start_timeout=120)
    bind.port = 53
    web = NginxServer([Site("mta-sts." + name, files={POLICY_PATH: policy(name)}) for name in names], ca, start_timeout=120)
    web.https_port, web.http_port = 443, _free_tcp_port()
    with bind, web:
        print("started BIND and nginx in %.1f s" % (time.monotonic() - began), flush=True)
        access_log = os.path.join(web.directory, "access.log")

        # The machine is shared: every figure is the best of --repeat runs, with the CPU time spent
        # beside the wall time (CPU time suffers less from other processes).
        servers = [bind._process.pid, web._process.pid]  # pylint: disable=protected-access
        print("machine: %d CPUs, load average %s" % (os.cpu_count(), " ".join("%.2f" % value for value in os.getloadavg())), flush=True)
        engines = {}
        for label, processes in (("default processes", None), ("processes 1", 1)):
            engines[label] = engine_runs(names, ca_path, args.repeat, servers, processes)
            best, totals = engines[label]
            ours_engine, dns_engine, sts_engine, engine_cpu, server_cpu, dns_summary, sts_summary = best
            print("engine, in process, %s (best of %d): verify_dns %.2f s + verify_mta_sts %.2f s = %.2f s "
                  "(CPU %.2f s with its worker processes; BIND and nginx %.2f s)"
                  % (label, args.repeat, dns_engine, sts_engine, ours_engine, engine_cpu, server_cpu))
            print("  all runs: %s" % ", ".join("%.2f" % total for total in totals))
            print("  verify_dns checks %s, verify_mta_sts checks %s" % (dns_summary["checks_by_status"], sts_summary["checks_by_status"]))
        ours_engine, _dns, _sts, engine_cpu = engines["default processes"][0][:4]
        tasks = {}
        for number, label in enumerate(RESULT_OPTIONS):
            task_runs = []
            for run in range(args.repeat):
                children = _children_cpu()
                dns_task, sts_task, wall, summaries = collection_run(os.path.join(workdir, "run%d-%d" % (number, run)), names, ca_path, label)
                task_runs.append((dns_task + sts_task, dns_task, sts_task, wall, _children_cpu() - children))
            tasks[label] = min(task_runs)
            ours, dns_task, sts_task, wall, task_cpu = tasks[label]
            print("ansible-playbook tasks, %s (best of %d): verify_dns %.2f s + verify_mta_sts %.2f s = %.2f s "
                  "(whole ansible-playbook run %.1f s, CPU of it and its modules %.2f s)" % (label, args.repeat, dns_task, sts_task, ours, wall, task_cpu))
            print("  all runs: %s" % ", ".join("%.2f" % entry[0] for entry in task_runs))
            print("  %s" % summaries)
        ours, _dns, _sts, _wall, task_cpu = tasks["default options"]
        smallest = min(tasks.values())[0]

        if not args.no_checkdmarc:
            children = _children_cpu()
            seconds, _results, missing, requests = checkdmarc_run(workdir, names, ca_path, access_log)
            checkdmarc_cpu = _children_cpu() - children
            print("checkdmarc %s: %.2f s for %d domains (CPU %.2f s); policies fetched: %d of %d (nginx saw %d requests from it)"
                  % (_checkdmarc_version(), seconds, len(names), checkdmarc_cpu, len(names) - len(missing), len(names), requests))
            if missing:
                print("  WARNING: checkdmarc found no valid policy for %d domains, e.g. %s" % (len(missing), ", ".join(missing[:5])))
            print("ratio, wall time: checkdmarc / the two tasks = %.1fx (%.1fx with the fastest result options); "
                  "checkdmarc / the two engine calls = %.1fx" % (seconds / ours, seconds / smallest, seconds / ours_engine))
            print("ratio, CPU time: checkdmarc / the ansible-playbook run = %.1fx; checkdmarc / the two engine calls = %.1fx"
                  % (checkdmarc_cpu / task_cpu, checkdmarc_cpu / engine_cpu))

        if not args.no_role:
            nameserver_vars = {"verify_nameservers": ["127.0.0.1:53"], "verify_https_port": 443, "verify_ca_path": ca_path,
                               "verify_checks": ["dns", "mta_sts"], "verify_fail_on": "never"}
            lists = role_task_lists(workdir, names[:10], names, nameserver_vars)
            small_tasks, small_stats = lists["small"]
            large_tasks, large_stats = lists["large"]
            print("role mailsec.posture.verify: %d tasks for 10 domains, %d tasks for %d domains (same list: %s)"
                  % (len(small_tasks), len(large_tasks), len(names), small_tasks == large_tasks))
            print("  PLAY RECAP 10 domains %s; %d domains %s" % (small_stats.get("localhost"), len(names), large_stats.get("localhost")))
    shutil.rmtree(workdir, ignore_errors=True)


def _servers_cpu(pids):
    """CPU seconds the processes and their children (nginx's workers) have used so far."""
    total = 0
    pending = list(pids)
    while pending:
        pid = pending.pop()
        try:
            with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, task), encoding="ascii") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _free_tcp_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _checkdmarc_version():
    try:
        return subprocess.run(["checkdmarc", "--version"], capture_output=True, text=True, check=False, timeout=30).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
