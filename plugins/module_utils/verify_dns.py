# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the mail records of many domains in live DNS: MX, SPF, DKIM, DMARC, MTA-STS TXT, TLS-RPT.

Private to the collection: users may rely only on plugins and modules.

Every domain is one coroutine on the resolver's event loop: its first lookups go out together,
then what they found (SPF includes and redirects, DMARC report destinations, expected records)
is looked up, again all at once. A thousand domains therefore take about as long as the
slowest few, and a name many domains share (an SPF include) is asked once per run.

The SPF lookup limits (RFC 7208 4.6.4) are counted live: the record is evaluated as a receiver
would for a sender that matches nothing (the worst case), following include and redirect
through DNS, with a guard against loops and a bound on the records walked.

Check names are stable; ``CHECKS`` describes each, and ``docs/checks.md`` explains it and how
to fix it (a unit test keeps the two in step).
"""

from __future__ import annotations

import asyncio
import re

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, dmarc, dns_depth, dnsbl, mta_sts, spf, tlsrpt, verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.checks import DomainChecks
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, normalize_domain
from ansible_collections.mailsec.posture.plugins.module_utils.records import TLSRPT_PREFIX, desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import presentation

PROFILES = ("standard", "strict")
MAX_SPF_LOOKUPS = spf.MAX_DNS_LOOKUPS  # RFC 7208 4.6.4
MAX_SPF_VOID_LOOKUPS = 2  # RFC 7208 4.6.4
SPF_FAMILIES = ("ipv4", "ipv6")  # the sender's address family decides what an a term asks (RFC 7208 5.3)
MAX_SPF_MX_RECORDS = 10  # RFC 7208 4.6.4: an mx mechanism with more MX records is a permerror
MAX_SPF_RECORDS = 50  # records one evaluation may walk; far above what 10 lookups can reach
MAX_SPF_DEPTH = 12
# Lookups of one domain, generously (7 first ones, SPF terms, DKIM selectors), for the worst case of a call without overall_timeout.
_LOOKUPS_BOUND = 30
# Overall bound of one call, in multiples of the per-lookup timeout: the first lookups, then up to
# a few rounds of includes; a lookup still waiting after that answers "timeout".
OVERALL_TIMEOUT_FACTOR = 3

# Every check this verifier makes: name -> what it checks. docs/checks.md explains how to fix each.
CHECKS = {
    "mx.records": "the domain has MX records (and, with the inventory, the expected MX hosts)",
    **dns_depth.CHECKS,
    "spf.enabled": "SPF is off for this domain in the inventory: nothing to check",
    "spf.record": "exactly one TXT record at the domain starts with v=spf1",
    "spf.syntax": "the SPF record follows RFC 7208's grammar",
    "spf.all": "what the record does with senders it does not list (+all fails; ~all warns under profile strict)",
    "spf.lookups": "an evaluation needs at most 10 DNS-querying terms, includes and redirects followed live",
    "spf.void_lookups": "at most 2 of those lookups find nothing (NXDOMAIN or no records), for IPv4 and for IPv6 senders",
    "spf.includes": "every include and redirect target has exactly one valid SPF record, without loops",
    "dkim.selectors": "no DKIM selector is known for the domain (give dkim_selectors or the inventory)",
    "dkim.enabled": "DKIM is off for this domain in the inventory: nothing to check",
    "dkim.record": "exactly one valid key record at <selector>._domainkey.<domain>",
    "dkim.key": "the key is not revoked, RSA keys have at least 2048 bits, and it is the inventory's key",
    "dmarc.enabled": "DMARC is off for this domain in the inventory: nothing to check",
    "dmarc.record": "exactly one valid DMARC record at _dmarc.<domain>",
    "dmarc.policy": "the policy (p=) is the expected one; p=none warns under profile strict",
    "dmarc.external_reports": "report destinations outside the domain's organization authorize its reports (RFC 7489 7.1)",
    "mta_sts.enabled": "MTA-STS is off for this domain in the inventory: nothing to check",
    "mta_sts.txt": "exactly one valid v=STSv1 record at _mta-sts.<domain>, CNAMEs followed",
    "mta_sts.policy_host": "mta-sts.<domain> has an A or AAAA record",
    "tlsrpt.enabled": "TLS-RPT is off for this domain in the inventory: nothing to check",
    "tlsrpt.record": "exactly one valid v=TLSRPTv1 record at _smtp._tls.<domain>",
    "records.expected": "every expected record is published as expected",
    "records.missing": "an expected record is not published",
    "records.extra": "a published record of a standard the domain uses is not expected",
    "records.different": "a published record differs from the expected one",
}

# Parser findings that a check of their own reports instead of the syntax checks.
_SPF_OWN_CHECK = ("(4.6.4)", "'+all'", "'?all'", "record has neither 'all' nor 'redirect'")
_DKIM_OWN_CHECK = ("RSA key of", "p= is empty")
_DMARC_OWN_CHECK = ("p=none:",)

# mta_sts.txt_name() and policy_host() normalize the name again; Target names are normalized already.
_STS_TXT_PREFIX = "_mta-sts."
_STS_HOST_PREFIX = "mta-sts."

_SPF_MACRO = re.compile(r"%\{([A-Za-z])([0-9]*)(r?)([.\-+,/_=]*)\}|%%|%_|%-", re.IGNORECASE)


def _without(messages, markers):
    return [message for message in messages if not any(marker in message for marker in markers)]


def _filtered(verdict, markers):
    """The verdict without the findings that another check reports."""
    result = dict(verdict)
    result["errors"] = _without(verdict.get("errors") or [], markers)
    result["warnings"] = _without(verdict.get("warnings") or [], markers)
    result["valid"] = not result["errors"]
    return result


def _not_found(answer, chosen):
    """Why no record was chosen: the lookup found nothing at all, or nothing of this standard."""
    if not answer.ok:
        return "no TXT record at %s%s (%s)" % (answer.name, _via(answer), answer.kind.upper())
    detail = "; ".join(chosen["errors"])
    if chosen.get("records"):
        detail += ": " + " | ".join(chosen["records"])
    if chosen.get("record") is None and chosen.get("warnings"):
        detail += "; " + "; ".join(chosen["warnings"])  # near misses: a value a person reads as the record
    return detail


def _lookup_failed(answer):
    return "the lookup failed: %s" % answer.describe()


def _via(answer):
    return " (via CNAME %s)" % " -> ".join(answer.chain) if answer.chain else ""


# ---------------------------------------------------------------------------------------------
# SPF, evaluated live


def expand_spf_macros(text, domain, sender_domain=None):
    """``(name, unknown)``: ``text`` with the macros a verifier can know expanded, or
    ``(None, [macros])`` when it uses macros that need a real sender (``%{i}``, ``%{s}``,
    ``%{l}``, ...; RFC 7208 7).

    ``%{d}`` is ``domain``, the domain whose record is evaluated (an include's or redirect's
    target inside it); ``%{o}`` is ``sender_domain``, the sender's domain, which stays the same
    inside includes and redirects (7.3; default: ``domain``). Digit and ``r`` transformers apply.
    """
    unknown = []
    sender_domain = sender_domain or domain

    def replace(match):
        whole = match.group(0)
        if whole == "%%":
            return "%"
        if whole == "%_":
            return " "
        if whole == "%-":
            return "%20"
        letter, digits, reverse, delimiters = match.group(1).lower(), match.group(2), match.group(3), match.group(4)
        if letter not in ("d", "o"):
            unknown.append(whole)
            return whole
        parts = re.split("[%s]" % re.escape(delimiters or "."), domain if letter == "d" else sender_domain)
        if reverse:
            parts.reverse()
        if digits and int(digits) > 0:
            parts = parts[-int(digits):]
        return ".".join(parts)

    expanded = _SPF_MACRO.sub(replace, text)
    if unknown:
        return None, unknown
    # The expansion is octets, its dots separate the labels (7.3); the resolver reads names as RFC 1035
    # text, where a backslash starts an escape: one the expansion holds is escaped to stay an octet.
    return expanded.rstrip(".").lower().replace("\\", "\\\\"), []


class SpfEvaluation:
    """The live evaluation of one domain's SPF record: lookups, void lookups, problems, breakdown."""

    def __init__(self, resolver, domain, parsed=None):
        self.resolver = resolver
        self.domain = domain
        self.parsed = parsed if parsed is not None else {}  # target -> spf.select verdict, shared by a run
        self.lookups = 0
        # Void lookups per sender address family (7208 4.6.4, 5.3): an a term whose host has only
        # AAAA records is void for an IPv4 sender. void_lookups is the worse family's count.
        self.void_by_family = {family: [] for family in SPF_FAMILIES}
        self.permerrors = []
        self.temperrors = []
        self.notes = []  # limits of this evaluation: a warning
        self.unevaluated = []  # terms only a real sender can evaluate: information
        self.targets = []  # include/redirect targets followed, in the order found
        self.records_walked = 0
        self.effective_all = None
        self.breakdown = []  # top-level terms with the lookups each one causes

    async def run(self, verdict):
        self.records_walked = 1
        count, self.effective_all = await self._walk(self.domain, verdict, (self.domain,), 0, top=True)
        return count

    def _query_plan(self, domain, verdict):
        """The terms of one record that query DNS, with what they ask: [(label, kind, target, pairs)]."""
        plan = []
        for term in verdict["terms"]:
            mechanism = term["mechanism"]
            if mechanism == "all":
                break  # later terms are never evaluated (5.1)
            if mechanism not in spf.LOOKUP_MECHANISMS:
                continue
            label = mechanism + (":" + term["value"] if term["value"] else "")
            if mechanism == "ptr":
                plan.append((label, mechanism, None, []))
                continue
            target, _unknown = expand_spf_macros(term["value"], domain, self.domain) if term["value"] else (domain, [])
            if target is None:
                self.unevaluated.append(label)
                plan.append((label, mechanism, None, []))
                continue
            pairs = {"include": [(target, "TXT")], "a": [(target, "A"), (target, "AAAA")], "mx": [(target, "MX")],
                     "exists": [(target, "A")]}[mechanism]
            plan.append((label, mechanism, target, pairs))
        if verdict["all"] is None and verdict["redirect"]:
            label = "redirect=" + verdict["redirect"]
            target, _unknown = expand_spf_macros(verdict["redirect"], domain, self.domain)
            if target is None:
                self.unevaluated.append(label)
                plan.append((label, "redirect", None, []))
            else:
                plan.append((label, "redirect", target, [(target, "TXT")]))
        return plan

    async def _walk(self, domain, verdict, path, depth, top=False):
        """Lookups caused by one record (its own terms and everything below); and its effective ``all``."""
        plan = self._query_plan(domain, verdict)
        self.lookups += len(plan)
        pairs = [pair for _label, _kind, _target, item_pairs in plan for pair in item_pairs]
        answers = iter(await self.resolver.agather(pairs))
        children = []
        counts = []
        for label, kind, target, item_pairs in plan:
            found = [next(answers) for _pair in item_pairs]
            counts.append(1)
            if not found:
                continue
            if kind in ("include", "redirect"):
                child = self._child(label, target, found[0], path, depth)
                if child is not None:
                    children.append((len(counts) - 1, kind, target, child))
                continue
            self._check_simple(label, kind, found)
        effective_all = verdict["all"]
        if children:
            walks = [self._walk(target, child, path + (target,), depth + 1) for _index, _kind, target, child in children]
            below = await asyncio.gather(*walks) if len(walks) > 1 else [await walks[0]]
            for (index, kind, _target, _child), (count, child_all) in zip(children, below):
                counts[index] += count
                if kind == "redirect":
                    effective_all = child_all
        if top:
            self.breakdown = ["%s (%d)" % (label, count) for (label, _kind, _target, _pairs), count in zip(plan, counts)]
        return sum(counts), effective_all

    @property
    def void_lookups(self):
        """Void lookups of the worse address family: what the stricter receiver counts."""
        return max(len(terms) for terms in self.void_by_family.values())

    @property
    def void_terms(self):
        """The void terms of the worse address family (IPv4 when both count the same)."""
        return max(self.void_by_family.values(), key=len)

    def _void(self, label, answer, families=SPF_FAMILIES):
        for family in families:
            self.void_by_family[family].append("%s (%s)" % (label, answer.kind.upper()))

    def _check_simple(self, label, kind, found):
        failed = [answer for answer in found if answer.failed]
        if failed and not any(answer.ok for answer in found):  # nothing found, and a lookup could not tell
            self.temperrors.append("%s: %s (a temperror for receivers)" % (label, _lookup_failed(failed[0])))
            return
        if kind == "a":
            # 5.3: an IPv4 sender is matched against the A records, an IPv6 sender against the AAAA.
            for family, answer in zip(SPF_FAMILIES, found):
                if answer.empty:
                    self._void(label, answer, (family,))
            return
        if not found[0].ok:
            if found[0].empty:  # mx and exists ask the same for every sender (5.4, 5.7)
                self._void(label, found[0])
            return
        if kind == "mx":
            count = len(found[0].records)
            if count > MAX_SPF_MX_RECORDS:
                self.permerrors.append("%s: %d MX records; more than %d make the mx mechanism a permerror (RFC 7208 4.6.4)"
                                       % (label, count, MAX_SPF_MX_RECORDS))

    def _child(self, label, target, answer, path, depth):
        """The parsed record to walk below an include or redirect, or None after noting why not."""
        if answer.failed:
            self.temperrors.append("%s: %s (a temperror for receivers)" % (label, _lookup_failed(answer)))
            return None
        if answer.empty:
            self._void(label, answer)
            self.permerrors.append("%s: %s has no SPF record (%s): a permerror (RFC 7208 5.2, 6.1)" % (label, target, answer.kind.upper()))
            return None
        chosen = self.parsed.get(target)
        if chosen is None:
            chosen = self.parsed[target] = spf.select(answer.records)
        errors = _without(chosen["errors"], ("(4.6.4)",))
        if errors:
            self.permerrors.append("%s: %s: a permerror (RFC 7208 5.2)" % (label, "; ".join(errors)))
            return None
        if target not in self.targets:
            self.targets.append(target)
        if target in path:
            self.permerrors.append("%s: loop %s: a permerror" % (label, " -> ".join(path + (target,))))
            return None
        if depth + 1 > MAX_SPF_DEPTH or self.records_walked >= MAX_SPF_RECORDS:
            self.notes.append("%s: not followed, the evaluation stops after %d records or %d levels" % (label, MAX_SPF_RECORDS, MAX_SPF_DEPTH))
            return None
        self.records_walked += 1
        return chosen


async def _check_spf(resolver, result, domain, txt, profile, facts, parsed):
    if txt.failed:
        return result.failed("spf.record", _lookup_failed(txt))
    chosen = spf.select(txt.records if txt.ok else [])
    facts["spf"] = {"record": chosen.get("record"), "lookups": None, "void_lookups": None, "all": None}
    if chosen["record"] is None:
        return result.failed("spf.record", _not_found(txt, chosen))
    result.passed("spf.record", chosen["record"])
    result.from_verdict("spf.syntax", _filtered(chosen, _SPF_OWN_CHECK), "valid SPF record")

    evaluation = SpfEvaluation(resolver, domain, parsed)
    await evaluation.run(chosen)
    facts["spf"].update(lookups=evaluation.lookups, void_lookups=evaluation.void_lookups, all=evaluation.effective_all,
                        includes=list(evaluation.targets),
                        void_lookups_by_family={family: len(terms) for family, terms in evaluation.void_by_family.items()})
    _check_spf_all(result, domain, evaluation.effective_all, chosen, profile)
    breakdown = ": " + ", ".join(evaluation.breakdown) if evaluation.breakdown else ""
    if evaluation.lookups > MAX_SPF_LOOKUPS:
        result.failed("spf.lookups", "%d DNS lookups, more than %d: receivers stop with a permerror (RFC 7208 4.6.4)%s"
                      % (evaluation.lookups, MAX_SPF_LOOKUPS, breakdown))
    else:
        result.passed("spf.lookups", "%d DNS lookup(s) of at most %d%s" % (evaluation.lookups, MAX_SPF_LOOKUPS, breakdown))
    _check_spf_void_lookups(result, evaluation)
    if evaluation.permerrors or evaluation.temperrors:
        result.failed("spf.includes", "; ".join(evaluation.permerrors + evaluation.temperrors))
    elif evaluation.notes:
        result.warned("spf.includes", "; ".join(evaluation.notes))
    else:
        found = "every include and redirect resolves to one valid SPF record: %s" % ", ".join(evaluation.targets) \
            if evaluation.targets else "no include or redirect"
        if evaluation.unevaluated:
            found += "; %s use macros only a real sender fills in: counted, not followed" % ", ".join(evaluation.unevaluated)
        result.passed("spf.includes", found)
    return None


def _check_spf_void_lookups(result, evaluation):
    """The worst case per sender address family: receivers count void lookups for the sender they have."""
    by_family = evaluation.void_by_family
    parts = []
    for family in SPF_FAMILIES:
        terms = by_family[family]
        parts.append("%s senders %d%s" % ("IPv4" if family == "ipv4" else "IPv6", len(terms), " (%s)" % ", ".join(terms) if terms else ""))
    per_family = "; ".join(parts)
    worst = evaluation.void_lookups
    if worst > MAX_SPF_VOID_LOOKUPS:
        over = " and ".join("IPv4" if family == "ipv4" else "IPv6" for family in SPF_FAMILIES if len(by_family[family]) > MAX_SPF_VOID_LOOKUPS)
        result.failed("spf.void_lookups", "%d void lookups, more than %d, for %s senders: receivers may stop with a permerror "
                      "(RFC 7208 4.6.4): %s" % (worst, MAX_SPF_VOID_LOOKUPS, over, per_family))
    else:
        result.passed("spf.void_lookups", "%d void lookup(s) of at most %d for the worse address family: %s"
                      % (worst, MAX_SPF_VOID_LOOKUPS, per_family))


def _check_spf_all(result, domain, qualifier, chosen, profile):
    via = " (from redirect=%s)" % chosen["redirect"] if chosen["all"] is None and chosen["redirect"] else ""
    if qualifier == "+":
        return result.failed("spf.all", "+all%s: every host on the internet may send mail as %s" % (via, domain))
    if qualifier == "?":
        return result.warned("spf.all", "?all%s: unlisted senders get a neutral result, as if there were no SPF" % via)
    if qualifier == "~":
        text = "~all%s: unlisted senders soft-fail; receivers usually accept and mark the mail" % via
        return result.warned("spf.all", text + "; profile strict wants -all") if profile == "strict" else result.passed("spf.all", text)
    if qualifier == "-":
        return result.passed("spf.all", "-all%s: unlisted senders fail" % via)
    return result.warned("spf.all", "no 'all' at the end of the evaluation: unlisted senders get a neutral result (RFC 7208 4.7)")


# ---------------------------------------------------------------------------------------------
# MX, DKIM, DMARC, MTA-STS, TLS-RPT


def _check_mx(result, domain, answer, spec, facts):
    facts["mx"] = [presentation("MX", value) for value in answer.records]
    if answer.failed:
        return result.failed("mx.records", _lookup_failed(answer))
    if not answer.ok:
        return result.failed("mx.records", "no MX records (%s): senders fall back to the domain's address, or cannot deliver at all"
                             % answer.kind.upper())
    hosts = sorted(exchange for _preference, exchange in answer.records)
    if hosts == [""] and spec is None:
        return result.passed("mx.records", "null MX (RFC 7505): the domain accepts no mail")
    listed = ", ".join("%d %s" % value for value in sorted(answer.records))
    if spec is not None:
        wanted = sorted(item["host"] for item in spec["mx"])
        missing = [host for host in wanted if host not in hosts]
        extra = [host for host in hosts if host not in wanted]
        if missing:
            return result.failed("mx.records", "MX %s; the inventory's %s missing" % (listed, ", ".join(missing)))
        if extra:
            return result.warned("mx.records", "MX %s; %s not in the inventory" % (listed, ", ".join(extra)))
    return result.passed("mx.records", "MX " + listed)


def _check_dkim(result, domain, selector, answer, wanted, facts):
    name = dkim.record_name(selector, domain)
    facts.setdefault("dkim", {})[selector] = None
    if answer.failed:
        return result.failed("dkim.record", _lookup_failed(answer), selector)
    chosen = dkim.select(answer.records if answer.ok else [])
    if chosen["record"] is None:
        return result.failed("dkim.record", _not_found(answer, chosen) if not answer.ok else "%s: %s" % (name, _not_found(answer, chosen)), selector)
    facts["dkim"][selector] = {"key_type": chosen["key_type"], "key_bits": chosen["key_bits"], "revoked": chosen["revoked"]}
    result.from_verdict("dkim.record", _filtered(chosen, _DKIM_OWN_CHECK), "%s%s: valid key record" % (name, _via(answer)), selector)
    if chosen["revoked"]:
        return result.failed("dkim.key", "p= is empty: the key is revoked, every signature made with it fails (RFC 6376 3.6.1)", selector)
    bits = chosen["key_bits"]
    if bits is None:
        return result.failed("dkim.key", "the key cannot be read: %s" % "; ".join(chosen["errors"]), selector)
    if wanted is not None and wanted.get("public_key") and chosen["public_key"] != wanted["public_key"]:
        return result.failed("dkim.key", "the published key is not the inventory's key for selector %s: signatures made with the "
                             "inventory's private key fail" % selector, selector)
    if chosen["key_type"] == "rsa":
        if bits < dkim.MIN_RSA_BITS:
            return result.failed("dkim.key", "RSA key of %d bits: verifiers must reject keys under %d bits (RFC 8301 3.2)"
                                 % (bits, dkim.MIN_RSA_BITS), selector)
        if bits < dkim.RECOMMENDED_RSA_BITS:
            return result.warned("dkim.key", "RSA key of %d bits: use at least %d (RFC 8301 3.2)" % (bits, dkim.RECOMMENDED_RSA_BITS), selector)
    return result.passed("dkim.key", "%s key of %d bits" % (chosen["key_type"].upper() if chosen["key_type"] == "rsa" else chosen["key_type"], bits),
                         selector)


def _dmarc_expected_policy(spec):
    if spec is None or not spec.get("dmarc"):
        return None
    return spec["dmarc"].get("policy")


async def _check_dmarc(resolver, result, domain, answer, spec, profile, facts):
    name = "_dmarc." + domain
    facts["dmarc"] = {"record": None, "policy": None}
    if answer.failed:
        return result.failed("dmarc.record", _lookup_failed(answer), name)
    chosen = dmarc.select(answer.records if answer.ok else [])
    inherited = None
    if chosen["record"] is None and not chosen["records"]:
        organizational = dmarc.organizational_domain(domain)
        if organizational != domain:
            fallback = await resolver.aquery("_dmarc." + organizational, "TXT")
            if fallback.ok:
                inherited = dmarc.select(fallback.records, organizational)
    if inherited is not None and inherited["record"] is not None:
        policy = inherited["subdomain_policy"] or inherited["policy"]
        facts["dmarc"].update(record=inherited["record"], policy=policy)
        result.warned("dmarc.record", "no record of its own; receivers use the organizational domain's (RFC 7489 6.6.3): %s"
                      % inherited["record"], name)
        return _check_dmarc_policy(result, name, policy, spec, profile)
    if chosen["record"] is None:
        return result.failed("dmarc.record", _not_found(answer, chosen), name)
    facts["dmarc"].update(record=chosen["record"], policy=chosen["policy"])
    result.from_verdict("dmarc.record", _filtered(chosen, _DMARC_OWN_CHECK), "%s%s" % (chosen["record"], _via(answer)), name)
    _check_dmarc_policy(result, name, chosen["policy"], spec, profile)
    destinations = _external_destinations(domain, chosen["rua"] + chosen["ruf"])
    if not destinations:
        return result.passed("dmarc.external_reports", "no report destination outside %s" % dmarc.organizational_domain(domain), name)
    answers = await resolver.agather([(dmarc.authorization_record_name(domain, host), "TXT") for host in destinations])
    for host, found in zip(destinations, answers):
        record_name = dmarc.authorization_record_name(domain, host)
        if found.failed:
            result.failed("dmarc.external_reports", "%s: %s" % (record_name, _lookup_failed(found)), host)
        elif found.ok and any(dmarc.is_dmarc_record(value) for value in found.records):
            result.passed("dmarc.external_reports", "%s authorizes reports about %s (%s)" % (host, domain, record_name), host)
        else:
            result.failed("dmarc.external_reports", "%s does not authorize reports about %s: no v=DMARC1 record at %s (%s), so "
                          "receivers send it no reports (RFC 7489 7.1)" % (host, domain, record_name, found.kind.upper()), host)
    return None


def _external_destinations(domain, uris):
    """``dmarc.external_destinations`` without loading the Public Suffix List for report addresses in
    the domain itself or below it (the usual case): those share its organizational domain anyway."""
    hosts = []
    for uri in uris:
        host = uri.get("domain")
        if host and host not in hosts and host != domain and not host.endswith("." + domain):
            hosts.append(host)
    return dmarc.external_destinations(domain, [{"domain": host} for host in hosts]) if hosts else []


def _check_dmarc_policy(result, name, policy, spec, profile):
    wanted = _dmarc_expected_policy(spec)
    if policy is None:
        return result.failed("dmarc.policy", "receivers apply no DMARC policy (see dmarc.record)", name)
    if wanted is not None:
        if policy == wanted:
            return result.passed("dmarc.policy", "p=%s as expected" % policy, name)
        return result.failed("dmarc.policy", "p=%s, the inventory says %s" % (policy, wanted), name)
    if policy == "none":
        text = "p=none: monitoring only, receivers do not act on mail that fails DMARC"
        return result.warned("dmarc.policy", text + "; profile strict wants quarantine or reject", name) if profile == "strict" \
            else result.passed("dmarc.policy", text, name)
    return result.passed("dmarc.policy", "p=%s" % policy, name)


def _check_mta_sts(result, domain, txt, host_answers, facts):
    name = _STS_TXT_PREFIX + domain
    facts["mta_sts"] = {"txt": None, "id": None, "policy_host_addresses": []}
    if txt.failed:
        result.failed("mta_sts.txt", _lookup_failed(txt), name)
    elif not txt.ok:
        result.failed("mta_sts.txt", "no TXT record at %s%s (%s): senders see no MTA-STS policy (RFC 8461 3.1)"
                      % (name, _via(txt), txt.kind.upper()), name)
    else:
        chosen = mta_sts.select_txt(txt.records)
        facts["mta_sts"].update(txt=chosen["record"], id=chosen["id"])
        result.from_verdict("mta_sts.txt", chosen, "%s%s" % (chosen["record"], _via(txt)), name)
    host = _STS_HOST_PREFIX + domain
    addresses = [address for answer in host_answers if answer.ok for address in answer.records]
    facts["mta_sts"]["policy_host_addresses"] = addresses
    if addresses:
        chain = next((answer for answer in host_answers if answer.ok), host_answers[0])
        return result.passed("mta_sts.policy_host", "%s resolves to %s%s" % (host, ", ".join(addresses), _via(chain)), host)
    failures = [answer for answer in host_answers if answer.failed]
    if failures:
        return result.failed("mta_sts.policy_host", "; ".join(_lookup_failed(answer) for answer in failures), host)
    kinds = "/".join(sorted(set(answer.kind.upper() for answer in host_answers)))
    return result.failed("mta_sts.policy_host", "%s has no A or AAAA record (%s): senders cannot fetch the policy" % (host, kinds), host)


def _check_tlsrpt(result, domain, answer, facts):
    name = TLSRPT_PREFIX + domain
    facts["tlsrpt"] = None
    if answer.failed:
        return result.failed("tlsrpt.record", _lookup_failed(answer), name)
    chosen = tlsrpt.select(answer.records if answer.ok else [])
    if chosen["record"] is None:
        return result.failed("tlsrpt.record", _not_found(answer, chosen), name)
    facts["tlsrpt"] = chosen["record"]
    return result.from_verdict("tlsrpt.record", chosen, "%s%s" % (chosen["record"], _via(answer)), name)


# ---------------------------------------------------------------------------------------------
# Expected records


class ExpectedRecords:
    """The ``mail_records`` lookup's output, grouped for comparison with live DNS.

    A domain's share is its own records, the records at names its CNAMEs point to (a delegate's
    shared ``_mta-sts`` TXT) and the TLSA records of its MX hosts.
    """

    def __init__(self, record_list):
        self.by_key = {}  # (name without dot, TYPE) -> [record]
        self.by_domain = {}
        for index, record in enumerate(record_list or []):
            if not isinstance(record, dict):
                raise SpecError("expected[%d]" % index, "must be a record mapping (the mail_records lookup's output)")
            try:
                name = str(record["name"]).strip().rstrip(".").lower()
                rtype = str(record["type"]).strip().upper()
                value = str(record["value"])
            except KeyError as exc:
                raise SpecError("expected[%d].%s" % (index, exc.args[0]), "is required (the mail_records lookup's output has it)")
            entry = {"name": name, "type": rtype, "value": value, "standard": str(record.get("standard") or ""),
                     "domain": str(record.get("domain") or name).rstrip(".").lower()}
            self.by_key.setdefault((name, rtype), []).append(entry)
            self.by_domain.setdefault(entry["domain"], []).append(entry)

    def __bool__(self):
        return bool(self.by_key)

    def for_domain(self, domain):
        """The (name, type) keys that belong to ``domain``, in a stable order."""
        keys = []
        pending = list(self.by_domain.get(domain, []))
        for record in list(pending):
            if record["type"] == "MX":
                host = record["value"].split()[-1].rstrip(".").lower()
                pending.extend(entry for entry in self.by_domain.get(host, []) if entry["type"] == "TLSA")
        seen_names = set()
        while pending:
            record = pending.pop(0)
            key = (record["name"], record["type"])
            if key not in keys:
                keys.append(key)
            if record["type"] == "CNAME":
                target = record["value"].rstrip(".").lower()
                if target not in seen_names:
                    seen_names.add(target)
                    pending.extend(entry for (name, _rtype), entries in self.by_key.items() if name == target for entry in entries)
        return keys


def _normalize_value(rtype, value):
    text = " ".join(str(value).split()) if rtype != "TXT" else str(value)
    if rtype in ("MX", "CNAME", "NS", "PTR", "SRV"):
        text = text.lower()
        if not text.endswith("."):
            text += "."
    if rtype == "TLSA":
        text = text.lower()
    if rtype == "AAAA":
        text = text.lower()
    return text


def _belongs(standard, rtype, value):
    """Whether a live value at a name is of the expected record's standard (other TXT records are not ours)."""
    if rtype != "TXT":
        return True
    tests = {"spf": spf.is_spf_record, "dmarc": dmarc.is_dmarc_record, "tlsrpt": tlsrpt.is_tlsrpt_record,
             "mta_sts": lambda text: text.startswith(mta_sts.TXT_VERSION)}
    test = tests.get(standard)
    return test(value) if test else True


async def _check_expected(resolver, result, expected, domain, facts):
    keys = expected.for_domain(domain)
    if not keys:
        return result.warned("records.expected", "expected holds no record of %s" % domain)
    answers = await resolver.agather(keys)
    problems = 0
    for (name, rtype), answer in zip(keys, answers):
        subject = "%s %s" % (fqdn(name), rtype)
        wanted_records = expected.by_key[(name, rtype)]
        if answer.failed:
            problems += 1
            result.failed("records.missing", _lookup_failed(answer), subject)
            continue
        standards = set(record["standard"] for record in wanted_records)
        live_values = [presentation(rtype, value) for value in answer.records] if answer.ok and not answer.chain else []
        live = [_normalize_value(rtype, value) for value in live_values if any(_belongs(standard, rtype, value) for standard in standards)]
        wanted = [_normalize_value(rtype, record["value"]) for record in wanted_records]
        missing = [value for value in wanted if value not in live]
        extra = [value for value in live if value not in wanted]
        if answer.ok and answer.chain:
            problems += 1
            result.failed("records.different", "%s is a CNAME to %s; expected %s records here" % (fqdn(name), answer.chain[0], rtype), subject)
            continue
        if len(missing) == 1 and len(extra) == 1:
            problems += 1
            result.failed("records.different", "live %r, expected %r" % (extra[0], missing[0]), subject)
            continue
        for value in missing:
            problems += 1
            result.failed("records.missing", "not published: %r (%s)" % (value, answer.kind.upper() if not answer.ok else "other values only"), subject)
        for value in extra:
            problems += 1
            # A warning: a check of its own fails where an extra record breaks something (a second SPF record).
            result.warned("records.extra", "published but not expected: %r" % value, subject)
    facts["expected_records"] = len(keys)
    if not problems:
        result.passed("records.expected", "%d expected record set(s) published as expected" % len(keys))
    return None


# ---------------------------------------------------------------------------------------------
# One domain, then all of them


def _enabled(result, spec, standard):
    """True when ``standard`` is to be checked; with the inventory, an off standard gets its ``.enabled`` check."""
    if spec is None or spec.get(standard):
        return True
    result.passed("%s.enabled" % standard, "%s is off for this domain in the inventory; nothing to check" % standard.upper().replace("_", "-"))
    return False


async def verify_domain(resolver, target, profile="standard", dkim_selectors=(), expected=None, shared=None, blocklists=((), ())):
    """The checks of one domain: ``{domain, status, checks, dns}``. ``shared`` holds what the domains
    of one run share (parsed SPF include records); ``blocklists``: ``(address zones, domain zones)``."""
    shared = {} if shared is None else shared
    domain = target.name
    spec = target.spec
    result = DomainChecks(domain)
    facts = {}
    selectors = [entry["selector"] for entry in (spec.get("dkim") or [])] if spec is not None else list(dkim_selectors)
    host = _STS_HOST_PREFIX + domain
    pairs = [(domain, "MX"), (domain, "TXT"), ("_dmarc." + domain, "TXT"), (_STS_TXT_PREFIX + domain, "TXT"), (host, "A"), (host, "AAAA"),
             (TLSRPT_PREFIX + domain, "TXT")] + [(dkim.record_name(selector, domain), "TXT") for selector in selectors]
    answers = await resolver.agather(pairs)
    mx, txt, dmarc_txt, sts_txt, host_a, host_aaaa, tlsrpt_txt = answers[:7]
    dkim_answers = answers[7:]

    _check_mx(result, domain, mx, spec, facts)
    null_mx = dns_depth.check_null_mx(result, domain, mx)
    # The domain's own records; the policy host's addresses (answers 4 and 5) may well live in the web host's zone.
    own = answers[:4] + answers[6:]
    work = [dns_depth.check_dnssec(resolver, result, domain, own, bool(spec is not None and spec.get("dane"))),
            dns_depth.check_mx_targets(resolver, result, domain, mx, facts, *blocklists)]
    if _enabled(result, spec, "spf"):
        work.append(_check_spf(resolver, result, domain, txt, profile, facts, shared))
    if spec is None and not selectors:
        result.warned("dkim.selectors", "no DKIM selector given for %s: its keys were not checked (set dkim_selectors)" % domain)
    elif _enabled(result, spec, "dkim"):
        wanted = {entry["selector"]: entry for entry in (spec.get("dkim") or [])} if spec is not None else {}
        for selector, answer in zip(selectors, dkim_answers):
            _check_dkim(result, domain, selector, answer, wanted.get(selector), facts)
    if _enabled(result, spec, "dmarc"):
        work.append(_check_dmarc(resolver, result, domain, dmarc_txt, spec, profile, facts))
    if null_mx and not sts_txt.ok and not sts_txt.failed:
        result.passed("mta_sts.txt", "no MTA-STS record, and none needed: the null MX says %s accepts no mail" % domain, _STS_TXT_PREFIX + domain)
    elif _enabled(result, spec, "mta_sts"):
        _check_mta_sts(result, domain, sts_txt, [host_a, host_aaaa], facts)
    if _enabled(result, spec, "tlsrpt"):
        _check_tlsrpt(result, domain, tlsrpt_txt, facts)
    if expected:
        work.append(_check_expected(resolver, result, expected, domain, facts))
    # One after the other: the other domains' lookups keep the nameserver busy meanwhile, and a
    # task per part would cost more than the few milliseconds this adds to one domain.
    for part in work:
        await part
    entry = result.as_dict()
    entry["checks"] = _in_check_order(entry["checks"])
    entry["dns"] = facts
    return entry


_ORDER = {name: index for index, name in enumerate(CHECKS)}


def _in_check_order(check_list):
    """Checks grouped by standard in CHECKS order (concurrent parts finish in any order); stable within a name."""
    return sorted(check_list, key=lambda check: _ORDER.get(check["name"], len(_ORDER)))


def verify(targets, resolver, profile="standard", dkim_selectors=(), expected_records=None, overall_timeout=None, processes=1,
           blocklists=((), ())):
    """Verify every target concurrently; the per-domain results in the order given.

    ``processes`` > 1 spreads the domains over that many processes (``verify_input.spread``),
    each with its own event loop, an equal share of the resolver's concurrency and its own cache
    (a name the shares have in common, such as an SPF include, is asked once per process).
    """
    if profile not in PROFILES:
        raise SpecError("profile", "must be one of %s, got %r" % (", ".join(PROFILES), profile))
    selectors = []
    for index, selector in enumerate(dkim_selectors or []):
        value = str(selector).strip().lower()
        try:
            normalize_domain(value + ".example", "dkim_selectors[%d]" % index, allow_underscore=True)
        except SpecError:
            raise SpecError("dkim_selectors[%d]" % index, "%r is not a DNS label sequence" % (selector,))
        selectors.append(value)
    expected = expected_records if isinstance(expected_records, ExpectedRecords) else ExpectedRecords(expected_records)

    def share(chunk, count):
        share_resolver = resolver.divided(count)
        shared = {}

        async def every():
            return await asyncio.gather(*(verify_domain(share_resolver, target, profile, selectors, expected, shared, blocklists)
                                          for target in chunk))

        return share_resolver.run(every(), overall_timeout)

    processes = max(1, min(processes, resolver.concurrency))
    if overall_timeout:
        network = overall_timeout
    else:  # every lookup waits for a slot, then at most its lifetime; SPF includes add rounds
        per_process = -(-len(targets) // processes)
        network = (-(-_LOOKUPS_BOUND * per_process // max(1, resolver.concurrency // processes)) + MAX_SPF_DEPTH) * resolver.lifetime
    return verify_input.spread(share, targets, processes, verify_input.worst_case_seconds(len(targets), network))


def run(params):
    """The module's work from its parameters: ``(result, failure message or None)``.

    Raises MailsecError (SpecError included) for unusable options or inventory.
    """
    timeout = params.get("timeout")
    verify_input.check_common_options(timeout, params.get("concurrency"), None, None)
    verify_input.check_processes(params.get("processes"))
    verify_input.check_passing_checks(params.get("passing_checks") or "full")
    overall = params.get("overall_timeout")
    if overall is None:
        overall = OVERALL_TIMEOUT_FACTOR * float(timeout)
    elif overall <= 0:
        raise SpecError("overall_timeout", "must be a positive number of seconds, got %r" % (overall,))
    targets, model = verify_input.targets(params.get("domains"), params.get("mailsec_domains"), params.get("mail_host"),
                                          params.get("domain_defaults"))
    expected_records = params.get("expected")
    if expected_records is None and model is not None:
        try:
            expected_records = desired_records(model)
        except MailsecError:
            expected_records = None  # the model lacks what only publishing needs; checks from the spec still run
    blocklists = (dnsbl.normalize_zones(params.get("dnsbl_zones"), "dnsbl_zones"),
                  dnsbl.normalize_zones(params.get("dnsbl_domain_zones"), "dnsbl_domain_zones"))
    resolver = verify_input.make_resolver(params.get("nameservers"), timeout, params.get("concurrency"))
    processes = verify_input.process_count(params.get("processes"), len(targets), params.get("concurrency"))
    domain_results = verify(targets, resolver, params.get("profile") or "standard", params.get("dkim_selectors") or (),
                            expected_records, overall, processes, blocklists)
    if not params.get("facts"):
        # Opt-in: for a thousand domains these small mappings cost Ansible about half a second to
        # carry back, and the checks' details already say what was found.
        for entry in domain_results:
            entry.pop("dns", None)
    return verify_input.outcome(domain_results, params.get("fail_on") or "fail", params.get("passing_checks") or "full")
