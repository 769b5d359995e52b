# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the transport verifiers (``verify_mta_sts``, ``verify_smtp_tls``) share: their inputs, the
expected state, the resolver and a bounded pool of workers.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import select
import signal
import threading
import time

from ansible_collections.mailsec.posture.plugins.module_utils import checks, dane, mta_sts, probes
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, normalize_domain
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT = 10.0
DEFAULT_EXPIRY_WARN_DAYS = 14
# Automatic processes: one per available CPU, at most this many, and only with this many domains each.
MAX_AUTO_PROCESSES = 4
MIN_DOMAINS_PER_PROCESS = 200
PEM_MARKER = "-----BEGIN"
PEM_FIELDS = ("certificate", "ca_certificate", "public_key", "next_public_key")

# The options every transport verifier takes, as an Ansible argument spec (plain data).
COMMON_ARGUMENT_SPEC = {
    "domains": {"type": "list", "elements": "str"},
    "mailsec_domains": {"type": "list", "elements": "raw"},
    "mail_host": {"type": "str"},
    "domain_defaults": {"type": "dict", "default": {}},
    "nameservers": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    "ca_path": {"type": "path"},
    "expected": {"type": "list", "elements": "dict"},
    "fail_on": {"type": "str", "default": "fail", "choices": list(checks.FAIL_ON)},
    "expiry_warn_days": {"type": "int", "default": DEFAULT_EXPIRY_WARN_DAYS},
}
# The option of the verifiers that spread a run over processes (verify_dns, verify_mta_sts).
PROCESSES_ARGUMENT_SPEC = {"processes": {"type": "int"}}
# Options that make a large result cheaper for Ansible to carry (verify_dns has its own facts option, off by default).
PASSING_CHECKS = ("full", "brief", "omit")
PASSING_CHECKS_ARGUMENT_SPEC = {"passing_checks": {"type": "str", "default": "full", "choices": list(PASSING_CHECKS)}}
COMMON_MUTUALLY_EXCLUSIVE = [("domains", "mailsec_domains")]
COMMON_REQUIRED_ONE_OF = [("domains", "mailsec_domains")]

try:
    from ansible_collections.mailsec.posture.plugins.module_utils import resolver as _resolver

    HAS_RESOLVER = True
    RESOLVER_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - the resolver ships with the collection
    _resolver = None
    HAS_RESOLVER = False
    RESOLVER_IMPORT_ERROR = str(_exc)


class Target:
    """One domain to verify: its normalized name and, when it came from the model, its spec."""

    __slots__ = ("name", "spec")

    def __init__(self, name, spec=None):
        self.name = name
        self.spec = spec

    def __repr__(self):
        return "Target(%r)" % self.name


def _read_pem_files(entries):
    """DANE material may be a path to a PEM file (as the mail_records lookup accepts); read it here."""
    result = []
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get("dane"), dict):
            spec = dict(entry["dane"])
            for field in PEM_FIELDS:
                value = spec.get(field)
                if isinstance(value, str) and value.strip() and PEM_MARKER not in value:
                    try:
                        with open(os.path.expanduser(value), "rb") as handle:
                            spec[field] = handle.read().decode("ascii", "replace")
                    except OSError as exc:
                        raise SpecError("dane.%s" % field, "cannot read %s: %s" % (value, exc.strerror), entry.get("name"))
            entry = dict(entry, dane=spec)
        result.append(entry)
    return result


def collector_paused():
    """The resolver's ``collector_paused`` (garbage collector off for a run), or a no-op without it."""
    if not HAS_RESOLVER:
        return contextlib.nullcontext()
    return _resolver.collector_paused()


def targets(domains=None, mailsec_domains=None, mail_host=None, domain_defaults=None):
    """``(targets, model)`` from either plain names or ``mailsec_domains`` entries.

    Names are normalized (IDNA A-labels, lower case) and deduplicated in order; a bad name or a
    bad model entry raises SpecError naming the field and the domain. ``model`` is the
    normalized model (``spec.normalize_model``) or None for plain names.
    """
    if mailsec_domains is not None:
        model = normalize_model(_read_pem_files(mailsec_domains), mail_host=mail_host, defaults=domain_defaults)
        return [Target(spec["name"], spec) for spec in model["domains"]], model
    found = []
    seen = set()
    for index, name in enumerate(domains or []):
        normalized = normalize_domain(name, "domains[%d]" % index)
        if normalized not in seen:
            seen.add(normalized)
            found.append(Target(normalized))
    return found, None


class Expected:
    """The records a verifier compares live DNS with: the ``mail_records`` lookup's output
    (option ``expected``)."""

    def __init__(self, record_list=None):
        self._values = {}
        for index, record in enumerate(record_list or []):
            try:
                name = fqdn(str(record["name"]).lower())
                rtype = str(record["type"]).upper()
                value = str(record["value"])
            except (KeyError, TypeError):
                raise SpecError("expected[%d]" % index, "every expected record needs name, type and value (the mail_records lookup's output)")
            self._values.setdefault((name, rtype), []).append(value)

    def __bool__(self):
        return bool(self._values)

    def values(self, name, rtype):
        return list(self._values.get((fqdn(name.lower()), rtype.upper()), []))

    def follow(self, name, rtype, hops=8):
        """``(values, chain)``: the expected ``rtype`` values at ``name``, through expected CNAMEs."""
        chain = []
        current = name
        for _hop in range(hops):
            values = self.values(current, rtype)
            if values:
                return values, chain
            targets_ = self.values(current, "CNAME")
            if not targets_:
                return [], chain
            current = targets_[0].rstrip(".")
            chain.append(current)
        return [], chain

    def mta_sts_id(self, domain):
        """The policy id the expected ``_mta-sts`` TXT record carries, or None."""
        values, _chain = self.follow(mta_sts.txt_name(domain), "TXT")
        chosen = mta_sts.select_txt(values) if values else None
        return chosen["id"] if chosen and chosen["valid"] else None

    def tlsa(self, mx_host, port):
        return self.values(dane.record_name(mx_host, port), "TLSA")


def expected_state(expected_records=None):
    """The Expected records given as the ``expected`` option (empty when not given).

    Values that come from the model (``mailsec_domains``) are computed by each verifier from the
    domain's spec, never through the full record set: a model may lack what only publishing
    needs (such as the host that serves the policy).
    """
    return Expected(expected_records or [])


def make_resolver(nameservers, timeout, concurrency):
    """The collection's stub resolver over ``nameservers`` (resolv.conf's when empty)."""
    if not HAS_RESOLVER:
        raise MailsecError("the collection's resolver could not be imported: %s" % RESOLVER_IMPORT_ERROR)
    lifetime = max(float(timeout), 1.0)
    return _resolver.Resolver(
        nameservers or None,
        timeout=min(2.0, lifetime),
        lifetime=lifetime,
        concurrency=max(int(concurrency) * 4, 16),
    )


def check_common_options(timeout, concurrency, ca_path, expiry_warn_days):
    """Raise SpecError for option values no verifier can work with."""
    if not timeout or timeout <= 0:
        raise SpecError("timeout", "must be a positive number of seconds, got %r" % (timeout,))
    if not isinstance(concurrency, int) or concurrency < 1:
        raise SpecError("concurrency", "must be a positive integer, got %r" % (concurrency,))
    if expiry_warn_days is not None and expiry_warn_days < 0:
        raise SpecError("expiry_warn_days", "must be 0 or more, got %r" % (expiry_warn_days,))
    problem = probes.check_ca_path(ca_path)
    if problem:
        raise SpecError("ca_path", problem)


def check_passing_checks(passing_checks):
    """Raise SpecError for a ``passing_checks`` option that is none of PASSING_CHECKS."""
    if passing_checks not in PASSING_CHECKS:
        raise SpecError("passing_checks", "must be one of %s, got %r" % (", ".join(PASSING_CHECKS), passing_checks))


def shorten_passing_checks(domain_results, passing_checks):
    """The results with their passing checks as ``passing_checks`` says; warnings and failures stay whole.

    ``full``: unchanged. ``brief``: name, status and subject, without the detail. ``omit``: left
    out (the summary, computed before, still counts them). Ansible spends time on every value a
    module returns, and for a fleet that passes the passing checks are most of them.
    """
    check_passing_checks(passing_checks)
    if passing_checks == "full":
        return domain_results
    for entry in domain_results:
        if passing_checks == "omit":
            entry["checks"] = [check for check in entry["checks"] if check["status"] != checks.PASS]
            continue
        for check in entry["checks"]:
            if check["status"] == checks.PASS:
                check.pop("detail", None)
    return domain_results


def outcome(domain_results, fail_on, passing_checks="full"):
    """``(result, message)``: the module's return values, and the failure message or None.

    The summary counts every check, also those that ``passing_checks`` leaves out of the result.
    """
    summary = checks.summarize(domain_results)
    message = checks.failure_message(domain_results, fail_on)
    result = {"changed": False, "domains": shorten_passing_checks(domain_results, passing_checks), "summary": summary}
    return result, message


# ---------------------------------------------------------------------------------------------
# Spreading a run over processes


class WorkerError(MailsecError):
    """A worker process of a spread run failed or did not finish in time."""


def available_cpus():
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_processes(processes):
    """Raise SpecError for a ``processes`` option no run can use (None and 0 mean automatic)."""
    if processes is not None and (not isinstance(processes, int) or processes < 0):
        raise SpecError("processes", "must be 0 (automatic) or a positive number of processes, got %r" % (processes,))


def process_count(requested, items, concurrency):
    """How many processes share a run of ``items`` domains.

    ``requested`` None or 0: automatic, one per available CPU (at most MAX_AUTO_PROCESSES) and
    only as many as give each at least MIN_DOMAINS_PER_PROCESS domains; below that a process of
    its own costs more than it saves. Never more processes than domains, nor than ``concurrency``
    (each process gets an equal share of it, at least one).
    """
    if not requested:
        requested = min(available_cpus(), MAX_AUTO_PROCESSES, items // MIN_DOMAINS_PER_PROCESS)
    return max(1, min(requested, items, concurrency))


def worst_case_seconds(domains, network_seconds):
    """A bound on a spread run that only a defect exceeds: twice the network's worst case, plus
    a minute, plus 10 ms of computation per domain (about twenty times what one costs here)."""
    return 2 * network_seconds + 60 + 0.01 * domains


def _can_fork():
    # A fork copies only the calling thread: with other threads about, a lock one of them held
    # would stay locked in the child for good. Ansible runs a module in a process of its own.
    return hasattr(os, "fork") and threading.active_count() == 1


def spread(work, items, processes, limit_seconds):
    """``work(items, processes)`` spread over ``processes`` processes; the results in the order of ``items``.

    ``work(share, count)`` returns one result per item of ``share``, in order, knowing that
    ``count`` processes run at once (to divide its concurrency). Item ``i`` goes to share
    ``i % processes``, so names that fail slowly, often neighbours, do not all land in one share.
    Share 0 runs in this process; each other share runs in a forked child, which hands its
    results back pickled through a pipe and leaves with ``os._exit`` (no cleanup handlers, no
    buffered output written twice). Without ``os.fork``, or with other threads running, all runs
    here. A child that dies without results has its share run here instead; an error a child
    raised is raised here (MailsecError with its message; anything else as WorkerError). A child
    still working ``limit_seconds`` after the start is killed and WorkerError raised: the
    caller's worst case for the whole run, so only a defect can reach it.
    """
    items = list(items)
    if processes <= 1 or len(items) < 2 or not _can_fork():
        return list(work(items, 1))
    shares = [items[index::processes] for index in range(processes)]
    deadline = time.monotonic() + limit_seconds
    children = []
    try:
        for share in shares[1:]:
            children.append(_fork_worker(work, share, processes))
        results = [list(work(shares[0], processes))]
        for child in children:
            results.append(_collect(child, work, processes, deadline, limit_seconds))
    finally:
        for child in children:
            _reap(child)
    merged = [None] * len(items)
    for index, share_results in enumerate(results):
        if len(share_results) != len(shares[index]):
            raise WorkerError("a worker process returned %d results for %d domains" % (len(share_results), len(shares[index])))
        merged[index::processes] = share_results
    return merged


class _Child:
    """A forked worker: its process id, the read end of its pipe, its share."""

    __slots__ = ("pid", "reader", "share", "finished")

    def __init__(self, pid, reader, share):
        self.pid = pid
        self.reader = reader
        self.share = share
        self.finished = False  # its pipe reached its end: it is exiting


def _fork_worker(work, share, processes):
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its results are asserted in the parent
        try:
            os.close(reader)
            random.seed()  # DNS query IDs must not repeat the parent's sequence
            try:
                payload = ("ok", list(work(share, processes)))
            except BaseException as exc:  # pylint: disable=broad-exception-caught  # raised again in the parent
                payload = ("error", "%s" % exc if isinstance(exc, MailsecError) else "%s: %s" % (type(exc).__name__, exc), isinstance(exc, MailsecError))
            try:
                data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # results that do not pickle: a defect
                data = pickle.dumps(("error", "%s: %s" % (type(exc).__name__, exc), False))
            view = memoryview(data)
            while view:
                view = view[os.write(writer, view):]
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.close(writer)
    return _Child(pid, reader, share)


def _collect(child, work, processes, deadline, limit_seconds):
    """The results of one child; its share again here when it died without any."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerError("a worker process did not finish within %.0f s" % limit_seconds)
        ready, _writable, _failed = select.select([child.reader], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(child.reader, 1 << 20)
        if not chunk:
            child.finished = True
            break
        chunks.append(chunk)
    try:
        payload = pickle.loads(b"".join(chunks))
    except Exception:  # pylint: disable=broad-exception-caught  # a child that died mid-write: nothing usable
        return list(work(child.share, processes))
    if payload[0] == "error":
        raise MailsecError(payload[1]) if payload[2] else WorkerError("a worker process failed: %s" % payload[1])
    return payload[1]


def _reap(child):
    """Close the pipe and reap the child, killing it first unless it is already on its way out."""
    try:
        os.close(child.reader)
    except OSError:
        pass
    try:
        if not child.finished:
            os.kill(child.pid, signal.SIGKILL)
        os.waitpid(child.pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
