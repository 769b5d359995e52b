# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: verify_dns + verify_mta_sts + verify_smtp_tls on a mailcow-style fleet, against checkdmarc doing the same work.

    python tests/benchmark/verify.py [--domains 1000] [--no-checkdmarc] [--no-role] [--repeat 3]

The fleet is what one mailcow host serves: every domain's MX is the one mail host, and one
certificate holds the mail host's name and every ``mta-sts.<domain>`` (mailcow's ADDITIONAL_SAN),
1,001 names for 1,000 domains. Starts (with tests/harness) BIND on 127.0.0.1:53 serving one zone
per domain and the mail host's zone, nginx on 127.0.0.1:443 serving every domain's MTA-STS policy,
and an SMTP server with STARTTLS on 127.0.0.1:25, both presenting that one certificate. Then:

1. The three engine calls are timed in a forked child of this process (no Ansible, and no thread
   beside them, as in a module: the SMTP server's thread stays here, and a verifier spreads over
   processes only without other threads), with the default ``processes`` (automatic) and with
   ``processes: 1``; their CPU time includes the worker processes they fork,
   and the servers' CPU time is shown beside it. Then the size of each verifier's result (its
   JSON, what the module hands Ansible) for a quarter, half and all of the domains: it must grow
   linearly with the domains (the certificate is described once, not once per domain).
2. ansible-playbook runs one play with three tasks, ``mailsec.posture.verify_dns``,
   ``mailsec.posture.verify_mta_sts`` and ``mailsec.posture.verify_smtp_tls``, each once for all
   domains, with their default options; their task durations are the collection's time, and no
   check may fail. The same play runs again with the documented options that shrink the result
   (``passing_checks: brief`` and ``omit``, with ``facts: false`` for verify_mta_sts), as more figures.
3. checkdmarc (PyPI, 6.0.4) checks the same domains through the same nameserver (``-n``; it asks
   port 53 only, which is why BIND listens there), fetches the same policies and, with
   ``--check-mx-tls``, tries STARTTLS on the MX: it resolves ``mta-sts.<domain>`` and the MX host
   with the system resolver and verifies TLS with the requests CA bundle and OpenSSL's default
   paths, so it runs under ``unshare -m`` with a hosts file bind-mounted over /etc/hosts (this
   process's mount namespace only; the machine's /etc/hosts is never touched) and
   ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``. The script checks that it fetched every policy (its
   output holds a valid policy for each domain, nginx's access log one request from it per domain)
   and found STARTTLS on every domain's MX.
   The same play for one domain is Ansible's floor: what three tasks cost before any work.
   Below that floor lies what no verifier run as three tasks can avoid: three ``ansible.builtin.ping``
   tasks (Ansible's cheapest) plus the policy fetches alone (a verified TLS handshake and a GET per
   domain, in forked processes, with no DNS and no checks). checkdmarc's time over that sum is the
   highest ratio any such verifier could reach on this machine.
4. The role ``mailsec.posture.verify`` runs for 10 domains and for all of them: the task lists
   must be the same.

Ends with the headline figure: how many times as long checkdmarc takes as the three tasks (the
goal is at least 10). Needs root (ports 25, 53 and 443, unshare) and the Debian packages the
harness uses. Not a test: the figures depend on the machine.
"""

import argparse
import json
import os
import pickle
import resource
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for the harness
REPOSITORY = os.path.dirname(os.path.dirname(HERE))

from harness import BindServer, NginxServer, Site, SmtpServer, TestCA, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.posture.plugins.module_utils import (  # noqa: E402  pylint: disable=wrong-import-position
    mta_sts, verify_dns, verify_mta_sts, verify_smtp_tls)

POLICY_PATH = mta_sts.POLICY_PATH
SPF_PROVIDER = "spf-provider.test"
MAIL_ZONE = "mailhost.test"
MAIL_HOST = "mail." + MAIL_ZONE  # every domain's MX, as on a mailcow host (its MAILCOW_HOSTNAME)
SMTP_PORT = 25  # checkdmarc tries STARTTLS on port 25 only
TIMEOUT = 5.0
CONCURRENCY = 32
GOAL = 10.0  # checkdmarc should take at least this many times as long as the three tasks


def policy(_domain=None):
    return "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 604800\r\n" % MAIL_HOST


def domain_names(count):
    return ["d%04d.test" % index for index in range(count)]


def certificate_names(names):
    """The names of the mail host's one certificate: its own, then every ``mta-sts.<domain>`` (ADDITIONAL_SAN)."""
    return [MAIL_HOST] + [mta_sts.policy_host(name) for name in names]


def sites(names, certificate):
    """nginx sites: each domain's policy, every site presenting the one shared ``certificate``."""
    return [Site(mta_sts.policy_host(name), files={POLICY_PATH: policy(name)}, certificate=certificate) for name in names]


def zones(names):
    """One zone per domain, every record verify_dns and checkdmarc look at, a shared SPF include and the mail host."""
    found = {SPF_PROVIDER: ['_spf TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"'], MAIL_ZONE: ["mail A 127.0.0.1"]}
    for name in names:
        found[name] = [
            "@ MX 10 %s." % MAIL_HOST, "mta-sts A 127.0.0.1",
            '@ TXT "v=spf1 mx include:_spf.%s -all"' % SPF_PROVIDER,
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@%s"' % name,
            '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(policy(name)),
            '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@%s"' % name,
        ]
    return found


def port_free(port, kind):
    probe = socket.socket(socket.AF_INET, kind)
    if kind == socket.SOCK_STREAM:
        # As the servers do: connections of an earlier run in TIME-WAIT do not keep a listener off the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


# The three verifiers, in the order they run; the label of each task and of its figures.
VERIFIERS = ("verify_dns", "verify_mta_sts", "verify_smtp_tls")
# The documented options that make the results smaller for Ansible to carry, by label (defaults first),
# per verifier (verify_smtp_tls has none: its result is one entry per domain and one per MX host).
RESULT_OPTIONS = {
    "default options": ({}, {}, {}),
    "passing_checks brief, facts false": ({"passing_checks": "brief"}, {"passing_checks": "brief", "facts": False}, {}),
    "passing_checks omit, facts false": ({"passing_checks": "omit"}, {"passing_checks": "omit", "facts": False}, {}),
}


def collection_run(workdir, names, ca_path, result_options="default options"):
    """The three verifiers as three tasks of one play: ``({verifier: task seconds}, wall seconds, {verifier: summary})``."""
    options = {"domains": names, "nameservers": ["127.0.0.1:53"], "timeout": TIMEOUT, "concurrency": CONCURRENCY, "fail_on": "never"}
    dns_extra, sts_extra, smtp_extra = RESULT_OPTIONS[result_options]
    arguments = {
        "verify_dns": dict(options, **dns_extra),
        "verify_mta_sts": dict(options, port=443, ca_path=ca_path, **sts_extra),
        "verify_smtp_tls": dict(options, port=SMTP_PORT, mta_sts_port=443, ca_path=ca_path, **smtp_extra),
    }
    tasks = [{"name": name, "mailsec.posture." + name: arguments[name], "register": name + "_result"} for name in VERIFIERS]
    summaries = "{{ {%s} }}" % ", ".join("'%s': %s_result.summary" % (name, name) for name in VERIFIERS)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks + [{"name": "summaries", "ansible.builtin.debug": {"msg": summaries}}]}]
    began = time.monotonic()
    result = run_playbook(play, workdir=os.path.join(workdir, "collection"), timeout=600)
    wall = time.monotonic() - began
    result.assert_ok()
    return {name: task_seconds(result, name) for name in VERIFIERS}, wall, result.task_result("summaries")["msg"]


def engine_results(names, ca_path, processes=None):
    """The same three calls in this process: ``({verifier: seconds}, {verifier: result})``, what the
    modules spend beyond Ansible's own start-up and what they hand it."""
    base = {"domains": names, "mailsec_domains": None, "mail_host": None, "domain_defaults": {}, "nameservers": ["127.0.0.1:53"],
            "timeout": TIMEOUT, "concurrency": CONCURRENCY, "expected": None, "fail_on": "never", "processes": processes}
    calls = {
        "verify_dns": (verify_dns.run, dict(base, dkim_selectors=[], profile="standard", overall_timeout=None)),
        "verify_mta_sts": (verify_mta_sts.run, dict(base, ca_path=ca_path, expiry_warn_days=14, port=443, expected_mode=None)),
        "verify_smtp_tls": (verify_smtp_tls.run, dict(base, ca_path=ca_path, expiry_warn_days=14, port=SMTP_PORT, mta_sts_port=443,
                                                      mta_sts_mode="auto", require_dane=False, helo_name=None)),
    }
    seconds, results = {}, {}
    for name in VERIFIERS:
        run, params = calls[name]
        began = time.monotonic()
        results[name], _failure = run(params)
        seconds[name] = time.monotonic() - began
    return seconds, results


def engine_runs(names, ca_path, repeat, servers, processes=None):
    """``repeat`` runs of the three engine calls: the best by wall time, every total.

    Each run is ``(total seconds, {verifier: seconds}, CPU seconds with workers, servers' CPU seconds, {verifier: summary})``.
    """
    runs = []
    for _run in range(repeat):
        cpu = time.process_time() + _children_cpu()
        server_cpu = _servers_cpu(servers)
        seconds, results = engine_results(names, ca_path, processes)
        runs.append((sum(seconds.values()), seconds, time.process_time() + _children_cpu() - cpu, _servers_cpu(servers) - server_cpu,
                     {name: results[name]["summary"] for name in VERIFIERS}, not_passing(results)))
    return min(runs, key=lambda entry: entry[0]), [entry[0] for entry in runs]


def in_fresh_process(function, *args, limit_seconds=900):
    """``function(*args)`` in a forked child, its result pickled back through a pipe.

    This process runs the SMTP server in a thread, and a verifier forks its worker processes only
    when no other thread runs (``verify_input._can_fork``): here the engine calls would never spread,
    as they do in a module. The forked child has only its own thread, so they spread there.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        status = 0
        try:
            payload = pickle.dumps((True, function(*args)))
        except BaseException as error:  # pylint: disable=broad-except
            payload, status = pickle.dumps((False, "%s: %s" % (type(error).__name__, error))), 1
        with os.fdopen(writer, "wb") as sink:
            sink.write(payload)
        os._exit(status)  # pylint: disable=protected-access
    os.close(writer)
    deadline = time.monotonic() + limit_seconds
    chunks = []
    with os.fdopen(reader, "rb") as source:
        while True:
            if not select.select([source], [], [], max(0.0, deadline - time.monotonic()))[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit("%s took more than %d s in its process" % (function.__name__, limit_seconds))
            chunk = source.read1(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    succeeded, value = pickle.loads(b"".join(chunks))
    if not succeeded:
        raise SystemExit("%s failed in its process: %s" % (function.__name__, value))
    return value


def result_sizes(names, ca_path):
    """Each verifier's result size in octets of JSON for a quarter, half and all of ``names``: ``[(count, {verifier: octets})]``."""
    sizes = []
    for count in sorted(set(max(1, len(names) * share // 4) for share in (1, 2, 4))):
        _seconds, results = engine_results(names[:count], ca_path)
        sizes.append((count, {name: len(json.dumps(results[name])) for name in VERIFIERS}))
    return sizes


def not_passing(results):
    """``{"verifier: check status": count}`` of the checks that did not pass."""
    counts = {}
    for name in VERIFIERS:
        for entry in results[name]["domains"]:
            for check in entry["checks"]:
                if check["status"] != "pass":
                    key = "%s: %s %s" % (name, check["name"], check["status"])
                    counts[key] = counts.get(key, 0) + 1
    return counts


def failed_checks(summaries):
    """``{verifier: failed check count}`` for the verifiers with failed checks."""
    return {name: summary["checks_by_status"]["fail"] for name, summary in summaries.items() if summary["checks_by_status"]["fail"]}


def ping_tasks(workdir):
    """Seconds of three ``ansible.builtin.ping`` tasks in one play: the least any three tasks cost."""
    tasks = [{"name": "ping%d" % number, "ansible.builtin.ping": {}} for number in range(3)]
    result = run_playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], workdir=workdir, timeout=300)
    result.assert_ok()
    return sum(task_seconds(result, task["name"]) for task in tasks)


def bare_policy_fetches(names, ca_path, processes):
    """Seconds to fetch every domain's policy and nothing else, spread over ``processes`` forked processes.

    Each fetch is what any verifier (and every sender) must do: a full TLS handshake, verified against
    the CA for ``mta-sts.<domain>``, then one GET. No DNS, no parsing, no result: the TLS work alone.
    Raises if a fetch did not return the policy, so the figure is never one of failed connections.
    """
    context = ssl.create_default_context(cafile=ca_path)
    expected = policy().encode("ascii")
    hosts = [mta_sts.policy_host(name) for name in names]
    children = []
    began = time.monotonic()
    for index in range(processes):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            status = 0
            try:
                for host in hosts[index::processes]:
                    with socket.create_connection(("127.0.0.1", 443), timeout=TIMEOUT) as raw, \
                            context.wrap_socket(raw, server_hostname=host) as connection:
                        connection.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (POLICY_PATH, host)).encode("ascii"))
                        response = b""
                        while len(response) < 65536:
                            chunk = connection.recv(65536)
                            if not chunk:
                                break
                            response += chunk
                    if not response.endswith(expected):
                        status = 1
            except Exception:  # pylint: disable=broad-except
                status = 2
            os._exit(status)  # pylint: disable=protected-access
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    seconds = time.monotonic() - began
    if any(statuses):
        raise SystemExit("the bare policy fetches failed (child exit statuses %s)" % statuses)
    return seconds


def checkdmarc_run(workdir, names, ca_path, access_log):
    domains_file = os.path.join(workdir, "domains.txt")
    hosts_file = os.path.join(workdir, "hosts")
    output = os.path.join(workdir, "checkdmarc.json")
    with open(domains_file, "w", encoding="utf-8") as handle:
        handle.write("\n".join(names) + "\n")
    with open(hosts_file, "w", encoding="utf-8") as handle:
        handle.write("127.0.0.1 localhost\n")
        handle.write("127.0.0.1 %s\n" % MAIL_HOST)
        for name in names:
            handle.write("127.0.0.1 %s\n" % mta_sts.policy_host(name))
    checkdmarc = shutil.which("checkdmarc")
    if checkdmarc is None:
        raise SystemExit("checkdmarc is not installed (pip install checkdmarc==6.0.4)")
    script = 'mount --bind "$1" /etc/hosts && exec "$2" "$4" --check-mx-tls -f json -t %s -n 127.0.0.1 -o "$3"' % TIMEOUT
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
    starttls = [entry["domain"] for entry in results
                if [host.get("starttls") for host in (entry.get("mx") or {}).get("hosts") or []] == [True]]
    return seconds, results, missing, requests, len(starttls)


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
        raise SystemExit("run as root: BIND must answer on port 53 (checkdmarc asks no other), nginx on 443 and SMTP on 25")
    for port, kind in ((53, socket.SOCK_DGRAM), (53, socket.SOCK_STREAM), (443, socket.SOCK_STREAM), (SMTP_PORT, socket.SOCK_STREAM)):
        if not port_free(port, kind):
            raise SystemExit("127.0.0.1:%d is taken; the benchmark needs it" % port)

    names = domain_names(args.domains)
    workdir = tempfile.mkdtemp(prefix="mailsec-bench-")
    ca = TestCA()
    ca_path = str(ca.write_ca(os.path.join(workdir, "ca.pem")))
    began = time.monotonic()
    certificate = ca.issue(certificate_names(names))
    print("world: %d domains, one zone each, MX %s for all; one certificate with %d names for the policies and the MX; "
          "work directory %s" % (len(names), MAIL_HOST, len(certificate_names(names)), workdir), flush=True)
    bind = BindServer(zones(names), start_timeout=120)
    bind.port = 53
    web = NginxServer(sites(names, certificate), ca, start_timeout=120)
    web.https_port, web.http_port = 443, _free_tcp_port()
    smtp = SmtpServer(MAIL_HOST, ca, certificate=certificate, address="127.0.0.1")
    smtp.port = SMTP_PORT
    with bind, web, smtp:
        print("started BIND, nginx and SMTP in %.1f s" % (time.monotonic() - began), flush=True)
        access_log = os.path.join(web.directory, "access.log")

        # The machine is shared: every figure is the best of --repeat runs, with the CPU time spent
        # beside the wall time (CPU time suffers less from other processes).
        servers = [bind._process.pid, web._process.pid]  # pylint: disable=protected-access
        print("machine: %d CPUs, load average %s" % (os.cpu_count(), " ".join("%.2f" % value for value in os.getloadavg())), flush=True)
        engines = {}
        for label, processes in (("default processes", None), ("processes 1", 1)):
            engines[label] = in_fresh_process(engine_runs, names, ca_path, args.repeat, servers, processes)
            best, totals = engines[label]
            total, seconds, engine_cpu, server_cpu, summaries, problems = best
            print("engine, without Ansible, %s (best of %d): %s = %.2f s (CPU %.2f s with its worker processes; BIND and nginx %.2f s)"
                  % (label, args.repeat, " + ".join("%s %.2f s" % (name, seconds[name]) for name in VERIFIERS), total, engine_cpu, server_cpu))
            print("  all runs: %s" % ", ".join("%.2f" % value for value in totals))
            print("  checks: %s" % ", ".join("%s %s" % (name, summaries[name]["checks_by_status"]) for name in VERIFIERS))
            print("  not passing: %s" % (", ".join("%s (%d)" % item for item in sorted(problems.items())) or "none"))
        ours_engine, _seconds, engine_cpu = engines["default processes"][0][:3]

        sizes = in_fresh_process(result_sizes, names, ca_path)
        print("result sizes (JSON octets a module hands Ansible; the certificate is described once per run):")
        print("  %8s  %s  %12s  %16s" % ("domains", "  ".join("%16s" % name for name in VERIFIERS), "all three", "octets/domain"))
        for count, octets in sizes:
            total = sum(octets.values())
            print("  %8d  %s  %12d  %16.0f" % (count, "  ".join("%16d" % octets[name] for name in VERIFIERS), total, total / count))
        smallest, largest = sizes[0], sizes[-1]
        growth = (sum(largest[1].values()) / largest[0]) / (sum(smallest[1].values()) / smallest[0])
        print("  per-domain size at %d domains / at %d domains = %.2f (1.00 is linear in the domains; domains x names would be %.1f)"
              % (largest[0], smallest[0], growth, largest[0] / float(smallest[0])))

        tasks = {}
        for number, label in enumerate(RESULT_OPTIONS):
            task_runs = []
            for run in range(args.repeat):
                children = _children_cpu()
                seconds, wall, summaries = collection_run(os.path.join(workdir, "run%d-%d" % (number, run)), names, ca_path, label)
                task_runs.append((sum(seconds.values()), seconds, wall, _children_cpu() - children, summaries))
            tasks[label] = min(task_runs, key=lambda entry: entry[0])
            total, seconds, wall, task_cpu, summaries = tasks[label]
            print("ansible-playbook tasks, %s (best of %d): %s = %.2f s (whole ansible-playbook run %.1f s, CPU of it and its modules %.2f s)"
                  % (label, args.repeat, " + ".join("%s %.2f s" % (name, seconds[name]) for name in VERIFIERS), total, wall, task_cpu))
            print("  all runs: %s" % ", ".join("%.2f" % entry[0] for entry in task_runs))
            print("  checks: %s" % ", ".join("%s %s" % (name, summaries[name]["checks_by_status"]) for name in VERIFIERS))
            if failed_checks(summaries):
                print("  FAILED CHECKS: %s" % failed_checks(summaries))
        ours, _seconds, _wall, task_cpu, default_summaries = tasks["default options"]
        fastest = min(entry[0] for entry in tasks.values())

        # What Ansible costs before the verifiers do any work: the same three tasks for one domain
        # (each builds its AnsiballZ payload, starts a Python, parses arguments and hands back a result).
        floor_runs = [sum(collection_run(os.path.join(workdir, "floor%d" % run), names[:1], ca_path)[0].values())
                      for run in range(args.repeat)]
        floor = min(floor_runs)
        print("ansible-playbook tasks for 1 domain, default options (best of %d): %.2f s; the three tasks for %d domains "
              "spend %.2f s beyond that" % (args.repeat, floor, len(names), ours - floor))

        # The least any verifier could take as three tasks: Ansible's cheapest task three times, and the
        # TLS work no verifier can skip (every policy fetched over a verified handshake), with nothing else.
        pings = min(ping_tasks(os.path.join(workdir, "ping%d" % run)) for run in range(args.repeat))
        process_counts = sorted(set((os.cpu_count() or 1, 2 * (os.cpu_count() or 1))))
        fetches = {count: min(bare_policy_fetches(names, ca_path, count) for _run in range(args.repeat)) for count in process_counts}
        fetch_processes = min(fetches, key=fetches.get)
        least = pings + fetches[fetch_processes]
        print("the least three tasks could take: three ansible.builtin.ping tasks (best of %d) %.2f s + the %d policy fetches alone "
              "(verified TLS handshake and GET, no DNS, no checks; best of %s) %.2f s = %.2f s"
              % (args.repeat, pings, len(names), ", ".join("%.2f s in %d processes" % (fetches[count], count) for count in process_counts),
                 fetches[fetch_processes], least), flush=True)

        ratio = None
        if not args.no_checkdmarc:
            children = _children_cpu()
            seconds, _results, missing, requests, starttls = checkdmarc_run(workdir, names, ca_path, access_log)
            checkdmarc_cpu = _children_cpu() - children
            print("checkdmarc %s --check-mx-tls: %.2f s for %d domains (CPU %.2f s); policies fetched: %d of %d (nginx saw %d requests from it); "
                  "STARTTLS found on the MX of %d of %d domains"
                  % (_checkdmarc_version(), seconds, len(names), checkdmarc_cpu, len(names) - len(missing), len(names), requests, starttls, len(names)))
            if missing:
                print("  WARNING: checkdmarc found no valid policy for %d domains, e.g. %s" % (len(missing), ", ".join(missing[:5])))
            ratio = seconds / ours
            print("ratio, wall time: checkdmarc / the three tasks = %.1fx (%.1fx with the fastest result options); "
                  "checkdmarc / the three engine calls = %.1fx" % (ratio, seconds / fastest, seconds / ours_engine))
            print("ratio, CPU time: checkdmarc / the ansible-playbook run = %.1fx; checkdmarc / the three engine calls = %.1fx"
                  % (checkdmarc_cpu / task_cpu, checkdmarc_cpu / engine_cpu))
            print("ratio bound: with no work beyond one domain's, the three tasks would still take %.2f s, so checkdmarc / "
                  "(that floor + the three engine calls) = %.1fx is the most this machine and ansible-core allow without "
                  "making the engines faster" % (floor, seconds / (floor + ours_engine)))
            print("ratio ceiling: checkdmarc / the least three tasks could take = %.1fx; the goal of %.0fx leaves %.2f s for the three "
                  "tasks, %.2f s %s what three pings and the bare policy fetches take before any DNS lookup, SMTP probe or check"
                  % (seconds / least, GOAL, seconds / GOAL, abs(seconds / GOAL - least), "more than" if seconds / GOAL >= least else "less than"))

        if not args.no_role:
            nameserver_vars = {"verify_nameservers": ["127.0.0.1:53"], "verify_https_port": 443, "verify_smtp_port": SMTP_PORT,
                               "verify_ca_path": ca_path, "verify_checks": ["dns", "mta_sts", "smtp_tls"], "verify_fail_on": "never"}
            lists = role_task_lists(workdir, names[:10], names, nameserver_vars)
            small_tasks, small_stats = lists["small"]
            large_tasks, large_stats = lists["large"]
            print("role mailsec.posture.verify: %d tasks for 10 domains, %d tasks for %d domains (same list: %s)"
                  % (len(small_tasks), len(large_tasks), len(names), small_tasks == large_tasks))
            print("  PLAY RECAP 10 domains %s; %d domains %s" % (small_stats.get("localhost"), len(names), large_stats.get("localhost")))

        print()
        failures = failed_checks(default_summaries)
        print("no check failed in the three tasks: %s" % ("yes" if not failures else "NO, %s" % failures))
        print("results linear in the domains: %s (per-domain size ratio %.2f)" % ("yes" if growth < 1.15 else "NO", growth))
        if ratio is not None:
            print("HEADLINE: checkdmarc 6.0.4 takes %.1fx as long as verify_dns + verify_mta_sts + verify_smtp_tls as three Ansible tasks "
                  "(%d domains, one %d-name certificate; goal at least %.0fx: %s)"
                  % (ratio, len(names), len(certificate_names(names)), GOAL, "met" if ratio >= GOAL else "NOT met"))
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
