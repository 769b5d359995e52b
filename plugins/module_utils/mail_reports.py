# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mail_reports module's work: read the reports, summarise them, decide each staged domain's next stage.

Private to the collection: users may rely only on plugins and modules.

The stage published now is read live (DMARC from DNS; MTA-STS from a verify_mta_sts result), never
from a state file: the DNS is what senders act on, so it is what the next step starts from.
"""

from __future__ import annotations

import copy
import ipaddress
import time

from ansible_collections.mailsec.posture.plugins.module_utils import dmarc, mta_sts, report_digest, report_sources, spec, staging
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.verify_input import make_resolver

DEFAULT_DAYS = 30

SOURCE_OPTIONS = dict(
    type=dict(type="str", required=True, choices=list(report_sources.SOURCE_TYPES)),
    path=dict(type="path"),
    host=dict(type="str"),
    port=dict(type="int", default=report_sources.DEFAULT_IMAP_PORT),
    user=dict(type="str"),
    password=dict(type="str", no_log=True),
    mailbox=dict(type="str", default="INBOX"),
    ca_path=dict(type="path"),
    read_only=dict(type="bool", default=True),
)
ARGUMENT_SPEC = dict(
    sources=dict(type="list", elements="dict", default=[], options=SOURCE_OPTIONS),
    mailsec_domains=dict(type="list", elements="raw", required=True),
    mail_host=dict(type="str"),
    domain_defaults=dict(type="dict", default={}),
    days=dict(type="int", default=DEFAULT_DAYS),
    max_items=dict(type="int", default=report_sources.DEFAULT_MAX_ITEMS),
    nameservers=dict(type="list", elements="str", default=[]),
    timeout=dict(type="float", default=report_sources.DEFAULT_TIMEOUT),
    ptr=dict(type="bool", default=False),
    mta_sts_result=dict(type="dict"),
    smtp_tls_result=dict(type="dict"),
)


def _items(source, limit, timeout):
    kind = source["type"]
    if kind in ("maildir", "directory"):
        if not source.get("path"):
            raise MailsecError("sources: a %s source needs path" % kind)
        reader = report_sources.maildir_items if kind == "maildir" else report_sources.directory_items
        return reader(source["path"], limit)
    for key in ("host", "user", "password"):
        if not source.get(key):
            raise MailsecError("sources: an imap source needs %s" % key)
    return report_sources.imap_items(source["host"], source["user"], source["password"], port=source["port"], mailbox=source["mailbox"],
                                     ca_path=source.get("ca_path"), timeout=timeout, limit=limit, read_only=source["read_only"])


def _by_domain(result):
    """``{domain: entry}`` of a registered verifier result (missing or skipped: empty)."""
    if not isinstance(result, dict) or result.get("skipped"):
        return {}
    return {entry.get("domain"): entry for entry in result.get("domains") or [] if isinstance(entry, dict)}


def _live(domains, resolver):
    """``({domain: live p= or None}, {domain: [MX addresses]})`` through the resolver."""
    names = [domain["name"] for domain in domains]
    answers = resolver.query_many([("_dmarc." + name, "TXT") for name in names])
    policies = {}
    for name, answer in zip(names, answers):
        verdict = dmarc.select(answer.records, domain=name) if answer.ok and answer.records else None
        policies[name] = verdict.get("policy") if verdict and verdict.get("valid") else None
    hosts = sorted({mx["host"] for domain in domains for mx in domain["mx"]})

    async def addresses_of(host):
        try:
            return await resolver.aaddresses(host)
        except MailsecError:
            return []  # no address known: the host's mail counts as no one's (the digest says so)
    return policies, dict(zip(hosts, resolver.map(addresses_of, hosts)))


def _modes_from_txt(domains, resolver):
    """``{domain: mode}`` read from the live ``_mta-sts`` TXT record's id, for ``domains`` whose policy
    could not be fetched: the id is derived from the policy (mta_sts.policy_id), so it names the one
    stage whose policy, rendered from the inventory, it matches. A domain whose id matches no stage is left out."""
    answers = resolver.query_many([(mta_sts.txt_name(domain["name"]), "TXT") for domain in domains])
    modes = {}
    for domain, answer in zip(domains, answers):
        verdict = mta_sts.select_txt(answer.records) if answer.ok and answer.records else None
        if not verdict or not verdict.get("valid"):
            continue
        matching = [stage for stage in staging.STAGES["mta_sts"]
                    if mta_sts.policy_id(mta_sts.build_policy(dict(domain["mta_sts"], mode=stage))) == verdict.get("id")]
        if len(matching) == 1:
            modes[domain["name"]] = matching[0]
    return modes


def _add_ptr(digest, resolver):
    """Each listed source's PTR name (the first, without the dot; empty without one), looked up at once."""
    sources = [source for entry in digest["domains"] for source in entry["dmarc"]["sources"]]
    addresses = sorted({source["source_ip"] for source in sources})
    answers = resolver.query_many([(ipaddress.ip_address(address).reverse_pointer, "PTR") for address in addresses])
    names = {address: (answer.records[0].rstrip(".") if answer.ok and answer.records else "") for address, answer in zip(addresses, answers)}
    for source in sources:
        source["ptr"] = names[source["source_ip"]]


def _own_sources(domain, addresses):
    found = [address for mx in domain["mx"] for address in addresses.get(mx["host"]) or []]
    if domain["spf"]:
        found.extend(domain["spf"]["ip4"] + domain["spf"]["ip6"])
    return found


def _staged_entry(entry, decisions, defaults):
    """The inventory entry with each staging's ``published`` set to the decided stage.

    A staging that comes from ``mailsec_domain_defaults`` is copied onto the entry with it: otherwise the
    records would publish the defaults' staging, whose ``published`` is unset (the first stage).
    """
    if not decisions:
        return entry  # as given: the reports stage compares the result with what the later stages see
    staged = copy.deepcopy(entry) if isinstance(entry, dict) else {"name": entry}
    for decision in decisions:
        standard = decision["standard"]
        part = staged.get(standard)
        if part is None:
            part = staged[standard] = {}
        if not isinstance(part, dict):
            continue
        raw = part["staging"] if "staging" in part else (defaults.get(standard) or {}).get("staging")
        part["staging"] = dict(raw if isinstance(raw, dict) else {}, published=decision["publish"])
    return staged


def run(params, resolver=None, now=None):
    """``result``: the digest, the decisions, the staged inventory and the warnings of skipped reports."""
    now = int(time.time() if now is None else now)
    days = params["days"]
    if not 1 <= days <= staging.MAX_DAYS:
        raise MailsecError("days must be from 1 to %d, got %d" % (staging.MAX_DAYS, days))
    model = spec.normalize_model(params["mailsec_domains"], mail_host=params.get("mail_host"), defaults=params.get("domain_defaults"))
    domains = model["domains"]
    reports, warnings, totals = [], [], {"items": 0, "skipped": 0, "duplicates": 0, "reports": 0}
    items = []
    for source in params["sources"]:
        items.append(_items(source, params["max_items"], params["timeout"]))
    if items:
        try:
            def every():
                for source_items in items:
                    yield from source_items
            reports, warnings, totals = report_sources.read_reports(every())
        except report_sources.SourceError as exc:
            raise MailsecError(str(exc)) from None
    resolver = resolver or make_resolver(params["nameservers"], params["timeout"], 8)
    policies, addresses = _live(domains, resolver)
    own = {domain["name"]: _own_sources(domain, addresses) for domain in domains}
    window = max([days] + [settings["days"] for domain in domains for settings in domain["staging"].values() if settings])
    digest = report_digest.summarize(reports, [domain["name"] for domain in domains], own, now, window)
    if params.get("ptr"):
        _add_ptr(digest, resolver)
    mta_sts_live, smtp_tls = _by_domain(params.get("mta_sts_result")), _by_domain(params.get("smtp_tls_result"))
    unfetched = [domain for domain in domains if domain["staging"]["mta_sts"] and domain["mta_sts"]
                 and not ((mta_sts_live.get(domain["name"]) or {}).get("mta_sts") or {}).get("mode")]
    modes_from_txt = _modes_from_txt(unfetched, resolver) if unfetched else {}
    stages, staged_domains = {}, []
    for domain, entry, raw in zip(domains, digest["domains"], params["mailsec_domains"]):
        name = domain["name"]
        decisions = []
        settings = domain["staging"]["dmarc"]
        if settings:
            evidence = report_digest.dmarc_evidence(reports, name, policies[name], own[name], now, settings["days"]) if items else None
            decisions.append(staging.decide_dmarc(settings, policies[name], evidence, now))
        settings = domain["staging"]["mta_sts"]
        if settings:
            live = (mta_sts_live.get(name) or {}).get("mta_sts") or {}
            checked = smtp_tls.get(name)
            evidence = report_digest.tlsrpt_evidence(reports, name, [mx["host"] for mx in domain["mx"]], now, settings["days"]) if items else None
            mode, mode_source = live.get("mode"), None
            if not mode and name in modes_from_txt:
                mode, mode_source = modes_from_txt[name], "the _mta-sts TXT record's id (the policy itself could not be fetched)"
            decisions.append(staging.decide_mta_sts(settings, mode, evidence, None if checked is None else checked.get("status") != "fail", now,
                                                    mode_source=mode_source))
        entry["published"] = {"dmarc": policies[name]}
        entry["decisions"] = decisions
        if decisions:
            stages[name] = {decision["standard"]: decision["publish"] for decision in decisions}
        staged_domains.append(_staged_entry(raw, decisions, params.get("domain_defaults") or {}))
    digest["warnings"] = warnings
    digest["stats"] = totals
    promoted = sorted("%s %s -> %s" % (name, d["standard"], d["publish"]) for entry in digest["domains"] for d in entry["decisions"]
                      for name in [entry["domain"]] if d["action"] == staging.PROMOTE)
    line = "%s for %d domain(s); %s" % (
        "%d report(s) read (%d skipped, %d duplicate(s))" % (totals["reports"], totals["skipped"], totals["duplicates"]) if items
        else "no report sources configured", len(domains), "promote: %s" % ", ".join(promoted) if promoted else "nothing to promote")
    return {"changed": False, "digest": digest, "stages": stages, "staged_domains": staged_domains, "summary_line": line,
            "promotions": promoted, "warnings_list": warnings}
