# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify MTA-STS (RFC 8461) as senders see it, for many domains at once.

Private to the collection: users may rely only on plugins and modules.

Everything network-bound runs in the resolver's event loop, so that a thousand domains take
about as long as the slowest few: every domain's lookups start at once, and its policy fetch
starts as soon as its policy host's address is known (at most ``concurrency`` fetches at a time).
The checks are then plain computation. Every name, the policy host included, is resolved through
the nameservers given; the HTTPS connection goes to the address they returned.

Check names (see docs/checks-transport.md for what each means and how to fix it):
``mta_sts.txt``, ``mta_sts.txt_expected``, ``mta_sts.policy_host``, ``mta_sts.policy_certificate``,
``mta_sts.policy_fetch``, ``mta_sts.policy_redirect``, ``mta_sts.policy_size``,
``mta_sts.policy_content_type``, ``mta_sts.policy``, ``mta_sts.mode``, ``mta_sts.max_age``,
``mta_sts.mx_coverage``, ``mta_sts.policy_expected``, ``mta_sts.enabled``.
"""

from __future__ import annotations

import asyncio

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, probes, records, verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.checks import DomainChecks
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError

DEFAULT_PORT = 443
# Error kinds of a fetch, by the check that reports them.
_CHECK_OF_ERROR = {
    probes.CONNECT: "mta_sts.policy_fetch",
    probes.TIMEOUT: "mta_sts.policy_fetch",
    probes.HTTP: "mta_sts.policy_fetch",
    probes.HTTP_STATUS: "mta_sts.policy_fetch",
    probes.TLS: "mta_sts.policy_certificate",
    probes.TLS_VERIFY: "mta_sts.policy_certificate",
    probes.REDIRECT: "mta_sts.policy_redirect",
    probes.TOO_LARGE: "mta_sts.policy_size",
}
# TXT, A, AAAA and MX (see ``lookups``).
_LOOKUPS_PER_DOMAIN = 4
# parse_policy's warnings about mode and max_age: reported by their own checks instead.
_OWN_CHECK_WARNINGS = ("mode ", "max_age ")


class LiveMtaSts:
    """What the network said about one domain's MTA-STS: DNS answers, the fetch, the parsed policy."""

    def __init__(self, domain):
        self.domain = domain
        self._selected = None
        self.txt = None  # resolver Answer for _mta-sts.<domain> TXT
        self.host_answers = []  # Answers for mta-sts.<domain> A and AAAA
        self.mx = None  # Answer for <domain> MX, when asked
        self.fetch = None  # probes.PolicyFetch, when an address was found
        self.policy = None  # mta_sts.parse_policy verdict of the body

    @property
    def addresses(self):
        return [address for answer in self.host_answers if answer.ok for address in answer.records]

    @property
    def selected_txt(self):
        """``mta_sts.select_txt`` of the TXT answer (computed once), or None without records."""
        if self.txt is None or not self.txt.ok:
            return None
        if self._selected is None:
            self._selected = mta_sts.select_txt(self.txt.records)
        return self._selected

    @property
    def mode(self):
        """The live policy's mode, or None when no policy was read."""
        if self.policy is None:
            return None
        return self.policy.get("mode")

    def facts(self):
        selected = self.selected_txt
        fetch = self.fetch.as_dict() if self.fetch is not None else None
        return {
            "txt": selected["record"] if selected else None,
            "id": selected["id"] if selected else None,
            "policy_host_addresses": self.addresses,
            "fetch": fetch,
            "mode": self.mode,
            "max_age": self.policy.get("max_age") if self.policy else None,
            "mx": list(self.policy.get("mx") or []) if self.policy else [],
            "policy_id": mta_sts.policy_id(self.fetch.body) if self.fetch is not None and self.fetch.body is not None else None,
        }


def lookups(domain, want_mx=True):
    """The (name, type) pairs one domain needs, in the order ``alive`` reads them."""
    host = mta_sts.policy_host(domain)
    pairs = [(mta_sts.txt_name(domain), "TXT"), (host, "A"), (host, "AAAA")]
    if want_mx:
        pairs.append((domain, "MX"))
    return pairs


async def resolve(domain, resolver, want_mx=True):
    """One domain's LiveMtaSts with its DNS answers (no fetch yet)."""
    live = LiveMtaSts(domain)
    answers = await resolver.agather(lookups(domain, want_mx))
    live.txt = answers[0]
    live.host_answers = answers[1:3]
    live.mx = answers[3] if want_mx else None
    return live


async def fetch(live, slots, port=DEFAULT_PORT, timeout=probes.DEFAULT_TIMEOUT, ca_path=None, require_txt=False, certificates=None):
    """Fetch and parse a resolved domain's policy, holding one of ``slots``; no address, no fetch.

    ``require_txt``: fetch only when a valid ``_mta-sts`` record exists, as senders do.
    ``certificates``: the run's probes.CertificateBook (each distinct certificate examined once).
    """
    selected = live.selected_txt
    if live.addresses and (not require_txt or (selected and selected["valid"])):
        async with slots:
            live.fetch = await probes.afetch_policy(mta_sts.policy_host(live.domain), live.addresses, port=port, timeout=timeout, ca_path=ca_path,
                                                    certificates=certificates)
        if live.fetch.body is not None:
            live.policy = mta_sts.parse_policy(live.fetch.body)
    return live


def gather(domains, resolver, port=DEFAULT_PORT, timeout=probes.DEFAULT_TIMEOUT, ca_path=None, concurrency=32, want_mx=True, certificates=None):
    """LiveMtaSts per domain, in order, in the resolver's event loop: every domain's lookups at once,
    then the fetches, at most ``concurrency`` at a time, sharing ``certificates`` (a
    probes.CertificateBook; default: one of this call's own).

    The lookups finish before the first handshake starts: answers that arrive while the loop is
    busy with hundreds of handshakes overflow the UDP receive buffer, and each lost one costs a
    resolver timeout (measured here: 1,000 domains took 15 to 30 s instead of about 2).
    """
    async def every():
        slots = asyncio.Semaphore(concurrency)
        found = await asyncio.gather(*(resolve(domain, resolver, want_mx) for domain in domains))
        return await asyncio.gather(*(fetch(live, slots, port, timeout, ca_path, certificates=book) for live in found))
    book = certificates if certificates is not None else probes.CertificateBook()
    return resolver.run(every()) if domains else []


# ---------------------------------------------------------------------------------------------
# Checks


def _check_txt(result, live):
    name = mta_sts.txt_name(live.domain)
    answer = live.txt
    if answer.failed:
        return result.failed("mta_sts.txt", "the lookup failed: %s" % answer.describe(), name)
    if not answer.ok:
        return result.failed("mta_sts.txt", "no TXT record at %s (%s): senders see no MTA-STS policy (RFC 8461 3.1)"
                             % (name, answer.kind.upper()), name)
    selected = live.selected_txt
    via = " (via CNAME %s)" % " -> ".join(answer.chain) if answer.chain else ""
    return result.from_verdict("mta_sts.txt", selected, "%s%s" % (selected["record"], via), name)


def _check_txt_expected(result, live, expected_id):
    name = mta_sts.txt_name(live.domain)
    selected = live.selected_txt
    live_id = selected["id"] if selected else None
    if live_id == expected_id:
        return result.passed("mta_sts.txt_expected", "id=%s as expected" % expected_id, name)
    if live_id is None:
        return result.failed("mta_sts.txt_expected", "no valid live record; expected 'v=STSv1; id=%s'" % expected_id, name)
    return result.failed(
        "mta_sts.txt_expected",
        "live id=%s, expected id=%s: publish the expected record (senders fetch the policy again only when the id changes)" % (live_id, expected_id),
        name,
    )


def _check_policy_host(result, live):
    host = mta_sts.policy_host(live.domain)
    addresses = live.addresses
    if addresses:
        chain = next((answer.chain for answer in live.host_answers if answer.ok and answer.chain), [])
        via = " (via CNAME %s)" % " -> ".join(chain) if chain else ""
        return result.passed("mta_sts.policy_host", "%s resolves to %s%s" % (host, ", ".join(addresses), via), host)
    failures = [answer for answer in live.host_answers if answer.failed]
    if failures:
        return result.failed("mta_sts.policy_host", "the lookup failed: %s" % "; ".join(answer.describe() for answer in failures), host)
    kinds = "/".join(sorted(set(answer.kind.upper() for answer in live.host_answers)))
    return result.failed("mta_sts.policy_host", "%s has no A or AAAA record (%s): senders cannot fetch the policy" % (host, kinds), host)


def _check_fetch(result, live, expiry_warn_days):
    """The fetch's outcome as checks; True when a body was received."""
    outcome = live.fetch
    url = outcome.url
    if outcome.error is not None:
        name = _CHECK_OF_ERROR.get(outcome.error, "mta_sts.policy_fetch")
        if name != "mta_sts.policy_certificate" and outcome.certificate is not None:
            _pass_certificate(result, outcome, expiry_warn_days)
        result.failed(name, outcome.detail, url)
        return False
    _pass_certificate(result, outcome, expiry_warn_days)
    result.passed("mta_sts.policy_fetch", "HTTP %d from %s in %.3f s" % (outcome.status, outcome.address, outcome.timing.get("total", 0.0)), url)
    result.passed("mta_sts.policy_redirect", "no redirect", url)
    result.passed("mta_sts.policy_size", "%d octets (at most %d allowed)" % (len(outcome.body), probes.MAX_POLICY_BYTES), url)
    content_type = [warning["detail"] for warning in outcome.warnings if warning["kind"] == probes.CONTENT_TYPE]
    if content_type:
        result.warned("mta_sts.policy_content_type", "; ".join(content_type), url)
    else:
        result.passed("mta_sts.policy_content_type", outcome.content_type, url)
    return True


def _pass_certificate(result, outcome, expiry_warn_days):
    facts = outcome.certificate
    detail = "valid for %s, %s" % (outcome.host, probes.certificate_summary(outcome))
    if facts and facts["days_to_expiry"] < expiry_warn_days:
        return result.warned(
            "mta_sts.policy_certificate", "expires in %d day(s), under %d: %s" % (facts["days_to_expiry"], expiry_warn_days, detail), outcome.url
        )
    return result.passed("mta_sts.policy_certificate", detail, outcome.url)


def _check_policy(result, live):
    verdict = dict(live.policy)
    verdict["warnings"] = [warning for warning in verdict["warnings"] if not warning.startswith(_OWN_CHECK_WARNINGS)]
    summary = "version STSv1, mode %s, max_age %s, mx %s" % (verdict["mode"], verdict["max_age"], ", ".join(verdict["mx"]) or "none")
    return result.from_verdict("mta_sts.policy", verdict, summary, live.fetch.url)


def _check_mode(result, live, expected_mode):
    mode = live.mode
    if mode is None:
        return None
    if expected_mode:
        if mode == expected_mode:
            return result.passed("mta_sts.mode", "mode %s as expected" % mode)
        return result.failed("mta_sts.mode", "mode %s, expected %s" % (mode, expected_mode))
    if mode == "enforce":
        return result.passed("mta_sts.mode", "mode enforce: senders refuse to deliver without a valid TLS connection to a listed MX")
    if mode == "testing":
        return result.warned("mta_sts.mode", "mode testing: senders report TLS failures (TLS-RPT) but still deliver; switch to enforce once reports are clean")
    return result.warned("mta_sts.mode", "mode none: senders drop the policy, MTA-STS gives no protection")


def _check_max_age(result, live, expected_max_age):
    max_age = live.policy.get("max_age")
    if max_age is None:
        return None
    if expected_max_age is not None and max_age != expected_max_age:
        return result.failed("mta_sts.max_age", "max_age %d, expected %d" % (max_age, expected_max_age))
    if max_age < mta_sts.SHORT_MAX_AGE and live.mode != "none":
        return result.warned(
            "mta_sts.max_age",
            "max_age %d is under a day (%d s): the policy protects little between fetches; RFC 8461 3.2 suggests weeks" % (max_age, mta_sts.SHORT_MAX_AGE),
        )
    return result.passed("mta_sts.max_age", "max_age %d (%.1f days)" % (max_age, max_age / 86400.0))


def _mx_hosts(answer):
    return sorted(set(exchange for _preference, exchange in answer.records))


def _check_mx_coverage(result, live):
    patterns = live.policy.get("mx") or []
    answer = live.mx
    if live.mode == "none":
        return result.passed("mta_sts.mx_coverage", "mode none: the policy covers no MX")
    if answer.failed:
        return result.failed("mta_sts.mx_coverage", "the MX lookup failed: %s" % answer.describe())
    if not answer.ok:
        return result.failed("mta_sts.mx_coverage", "%s has no MX records (%s): there is nothing for the policy to cover" % (live.domain, answer.kind.upper()))
    hosts = _mx_hosts(answer)
    if hosts in ([""], ["."]):
        return result.warned("mta_sts.mx_coverage", "%s has a null MX (RFC 7505): it accepts no mail, so the policy protects nothing" % live.domain)
    uncovered = [host for host in hosts if not mta_sts.mx_matches(host, patterns)]
    if uncovered:
        return result.failed(
            "mta_sts.mx_coverage",
            "MX %s not covered by the policy's mx patterns (%s): senders applying the policy refuse to deliver to %s"
            % (", ".join(uncovered), ", ".join(patterns) or "none", "it" if len(uncovered) == 1 else "them"),
        )
    pairs = ["%s (%s)" % (host, mta_sts.matching_pattern(host, patterns)) for host in hosts]
    return result.passed("mta_sts.mx_coverage", "every MX matches a pattern: %s" % ", ".join(pairs))


def _fold_patterns(patterns):
    return sorted(set(pattern.lower().rstrip(".") for pattern in patterns or []))


def policy_differences(live_policy, wanted_policy):
    """What differs between two parsed policies, as phrases; [] when they mean the same."""
    differences = []
    for field in ("mode", "max_age"):
        if live_policy.get(field) != wanted_policy.get(field):
            differences.append("%s is %s, expected %s" % (field, live_policy.get(field), wanted_policy.get(field)))
    live_mx = _fold_patterns(live_policy.get("mx"))
    wanted_mx = _fold_patterns(wanted_policy.get("mx"))
    missing = [pattern for pattern in wanted_mx if pattern not in live_mx]
    extra = [pattern for pattern in live_mx if pattern not in wanted_mx]
    if missing:
        differences.append("mx %s missing" % ", ".join(missing))
    if extra:
        differences.append("mx %s not expected" % ", ".join(extra))
    if (live_policy.get("extensions") or {}) != (wanted_policy.get("extensions") or {}):
        differences.append("extension fields %r, expected %r" % (live_policy.get("extensions"), wanted_policy.get("extensions")))
    return differences


def _check_policy_expected(result, live, wanted_text, expected_id):
    url = live.fetch.url
    if wanted_text is not None:
        differences = policy_differences(live.policy, mta_sts.parse_policy(wanted_text))
        if differences:
            return result.failed("mta_sts.policy_expected", "the policy served differs from the inventory's: %s" % "; ".join(differences), url)
        return result.passed("mta_sts.policy_expected", "the policy served means what the inventory says (id %s)" % mta_sts.policy_id(wanted_text), url)
    served_id = mta_sts.policy_id(live.fetch.body)
    if served_id == expected_id:
        return result.passed("mta_sts.policy_expected", "the policy served hashes to the expected id %s" % expected_id, url)
    return result.failed(
        "mta_sts.policy_expected",
        "the policy served hashes to id %s, but the expected record says id=%s: it is not the expected policy" % (served_id, expected_id),
        url,
    )


def evaluate(target, live, expected, expected_mode=None, expiry_warn_days=14):
    """The checks of one domain from what ``gather`` found; ``{domain, status, checks, mta_sts}``."""
    result = DomainChecks(target.name)
    spec = target.spec
    if spec is not None and not spec.get("mta_sts"):
        result.passed("mta_sts.enabled", "MTA-STS is off for this domain in the inventory; nothing to check")
        entry = result.as_dict()
        entry["mta_sts"] = None
        return entry
    sts = spec["mta_sts"] if spec is not None else None
    wanted_text = records.mta_sts_policy(spec) if sts else None
    expected_id = mta_sts.policy_id(wanted_text) if wanted_text is not None else expected.mta_sts_id(target.name)

    _check_txt(result, live)
    if expected_id is not None:
        _check_txt_expected(result, live, expected_id)
    _check_policy_host(result, live)
    if live.fetch is not None and _check_fetch(result, live, expiry_warn_days):
        _check_policy(result, live)
        _check_mode(result, live, expected_mode or (sts["mode"] if sts else None))
        _check_max_age(result, live, sts["max_age"] if sts else None)
        if live.mx is not None:
            _check_mx_coverage(result, live)
        if wanted_text is not None or expected_id is not None:
            _check_policy_expected(result, live, wanted_text, expected_id)
    entry = result.as_dict()
    entry["mta_sts"] = live.facts()
    return entry


def verify(targets, resolver, expected, port=DEFAULT_PORT, timeout=probes.DEFAULT_TIMEOUT, ca_path=None, concurrency=32,
           expected_mode=None, expiry_warn_days=14, processes=1):
    """Verify every target: ``(per-domain results in order (see ``evaluate``), certificates)``.

    ``certificates`` describes each distinct certificate the policy hosts presented once,
    ``{sha256: probes.CertificateBook.describe}``; a domain's ``mta_sts.fetch.certificate`` refers to
    it by ``sha256``. Each process examines a certificate once, whatever number of domains it serves.
    ``processes`` > 1 spreads the domains over that many processes (``verify_input.spread``),
    each with its own event loop and an equal share of ``concurrency`` and of the resolver's.
    """
    def share(chunk, count):
        return _verify_share(chunk, resolver.divided(count), expected, port, timeout, ca_path, max(1, concurrency // count),
                             expected_mode, expiry_warn_days)

    processes = max(1, min(processes, concurrency))
    per_process = -(-len(targets) // processes)
    lookup_waves = -(-_LOOKUPS_PER_DOMAIN * per_process // max(1, resolver.concurrency // processes))
    fetch_waves = -(-per_process // max(1, concurrency // processes))
    limit = verify_input.worst_case_seconds(len(targets), lookup_waves * resolver.lifetime + fetch_waves * timeout)
    domain_results = verify_input.spread(share, targets, processes, limit)
    certificates = {}
    for entry in domain_results:
        description = entry.pop(_CARRIED_DESCRIPTION, None)
        if description is not None:
            certificates.setdefault(description["sha256"], description)
    return domain_results, certificates


# A domain's entry carries its certificate's description from a worker process to ``verify`` under
# this key: results cross the pipe pickled, and pickle writes an object shared by many entries once.
_CARRIED_DESCRIPTION = "_certificate_description"


def _verify_share(targets, resolver, expected, port, timeout, ca_path, concurrency, expected_mode, expiry_warn_days):
    checked = [target for target in targets if target.spec is None or target.spec.get("mta_sts")]
    certificates = probes.CertificateBook()
    with verify_input.collector_paused():
        found = gather([target.name for target in checked], resolver, port, timeout, ca_path, concurrency, certificates=certificates)
        by_name = {live.domain: live for live in found}
        entries = [evaluate(target, by_name.get(target.name), expected, expected_mode, expiry_warn_days) for target in targets]
    descriptions = certificates.descriptions()
    for entry in entries:
        reference = ((entry.get("mta_sts") or {}).get("fetch") or {}).get("certificate")
        if reference is not None:
            entry[_CARRIED_DESCRIPTION] = descriptions[reference["sha256"]]
    return entries


def run(params):
    """The module's work from its parameters: ``(result, failure message or None)``.

    Raises MailsecError (SpecError included) for unusable options or inventory.
    """
    verify_input.check_common_options(params["timeout"], params["concurrency"], params.get("ca_path"), params["expiry_warn_days"])
    verify_input.check_processes(params.get("processes"))
    verify_input.check_passing_checks(params.get("passing_checks") or "full")
    port = params.get("port") or DEFAULT_PORT
    if not 0 < port < 65536:
        raise SpecError("port", "must be from 1 to 65535, got %r" % (port,))
    targets, _model = verify_input.targets(params.get("domains"), params.get("mailsec_domains"), params.get("mail_host"), params.get("domain_defaults"))
    expected = verify_input.expected_state(params.get("expected"))
    resolver = verify_input.make_resolver(params.get("nameservers"), params["timeout"], params["concurrency"])
    domain_results, certificates = verify(
        targets,
        resolver,
        expected,
        port=port,
        timeout=params["timeout"],
        ca_path=params.get("ca_path"),
        concurrency=params["concurrency"],
        expected_mode=params.get("expected_mode"),
        expiry_warn_days=params["expiry_warn_days"],
        processes=verify_input.process_count(params.get("processes"), len(targets), params["concurrency"]),
    )
    if params.get("facts") is False:
        for entry in domain_results:
            entry.pop("mta_sts", None)
    result, failure = verify_input.outcome(domain_results, params["fail_on"], params.get("passing_checks") or "full")
    result["certificates"] = certificates
    return result, failure
