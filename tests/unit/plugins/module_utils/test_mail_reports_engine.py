# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC aggregate and TLS reports: parsing the senders' shapes, refusing hostile ones, the digest,
and the staged promotion decisions."""

import gzip
import os
import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import (
    mail_reports,
    report_digest,
    report_files,
    report_sources,
    spec,
    staging,
    tlsrpt_reports,
)
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.report_files import ReportError
from harness import reports as gen

DOMAIN = "example.test"
OWN_V4 = "192.0.2.10"
OWN_V6 = "2001:db8::25"
NOW = 1796200000  # 2026-12-02
OWN = {DOMAIN: [OWN_V4, OWN_V6 + "/128"]}


def read(*mails):
    return report_sources.read_reports(("mail %d" % index, mail, True) for index, mail in enumerate(mails))


@pytest.mark.parametrize("provider", sorted(gen.PROVIDERS))
def test_every_providers_layout_reads_the_same(provider):
    rows = [gen.own_row(OWN_V4, 40, DOMAIN), gen.own_row(OWN_V6, 2, DOMAIN), gen.forwarded_row("198.51.100.7", 3, DOMAIN),
            gen.spoof_row("203.0.113.5", 5, DOMAIN, disposition="quarantine"),
            gen.Row("198.51.100.9", 4, DOMAIN, dkim_aligned="fail", spf_aligned="fail", reasons=(("local_policy", "arc"),))]
    reports, warnings, stats = read(gen.dmarc_mail(DOMAIN, NOW - 86400, rows, provider=provider))
    assert warnings == [] and stats["reports"] == 1
    report = reports[0]
    assert report["domain"] == DOMAIN and report["org_name"] == gen.PROVIDERS[provider]["org"]
    assert report["messages"] == 54
    by_ip = {record["source_ip"]: record for record in report["records"]}
    assert by_ip[OWN_V6]["dmarc_pass"] and by_ip["203.0.113.5"]["dmarc_pass"] is False
    forwarded = by_ip["198.51.100.7"]
    assert forwarded["dmarc_pass"] and forwarded["reasons"][0]["type"] == "forwarded" and len(forwarded["dkim"]) == 2
    overridden = by_ip["198.51.100.9"]
    assert overridden["dmarc_pass"] is False and overridden["disposition"] == "none" and overridden["reasons"][0]["type"] == "local_policy"


def test_duplicate_report_ids_count_once():
    mail = gen.dmarc_mail(DOMAIN, NOW - 86400, [gen.own_row(OWN_V4, 10, DOMAIN)], provider="yahoo")
    reports, warnings, stats = read(mail, mail)
    assert len(reports) == 1 and stats["duplicates"] == 1 and warnings == []


@pytest.mark.parametrize("name,payload,reason", [
    ("xxe", gen.XXE, "DTD"),
    ("laughs", gen.BILLION_LAUGHS, "DTD"),
    ("zipbomb", gen.zip_bomb(), "decompresses to more than"),
    ("gzipbomb", gen.gzip_bomb(), "decompresses to more than"),
    ("count", gen.huge_count(DOMAIN, NOW), "out of range"),
    ("broken", b"<feedback><report_metadata>", "not well-formed"),
    ("json", b'{"organization-name": "x"', "not a JSON"),
])
def test_hostile_reports_are_refused_with_a_warning_naming_them(name, payload, reason):
    good = gen.dmarc_mail(DOMAIN, NOW - 86400, [gen.own_row(OWN_V4, 10, DOMAIN)])
    items = [("hostile-%s.xml" % name, payload, False), ("good mail", good, True)]
    reports, warnings, stats = report_sources.read_reports(items)
    assert len(reports) == 1 and stats["skipped"] == 1
    assert len(warnings) == 1 and "hostile-%s" % name in warnings[0] and reason in warnings[0]


def test_bombs_stop_at_the_limit():
    bomb = gen.gzip_bomb()
    started = time.monotonic()
    with pytest.raises(ReportError, match="more than"):
        report_files.unpack("bomb.gz", bomb, limit=1 << 20)
    assert time.monotonic() - started < 1.0


def test_tls_report_reads_policy_mode_and_failures():
    data = gen.tlsrpt_json(DOMAIN, NOW - 86400, mx=("mail.example.test",), successful=90,
                           failures=(("certificate-host-mismatch", "mail.example.test", 4), ("sts-policy-fetch-error", "", 1)))
    report = tlsrpt_reports.parse(data, "t.json")
    policy = report["policies"][0]
    assert policy["mode"] == "testing" and policy["failed"] == 5 and policy["successful"] == 90
    assert [failure["result_type"] for failure in policy["failures"]] == ["certificate-host-mismatch", "sts-policy-fetch-error"]
    with pytest.raises(ReportError, match="t2.json.*start-datetime"):
        tlsrpt_reports.parse(data.replace(b"T", b" ", 1).replace(b'"start-datetime": "', b'"start-datetime": "x'), "t2.json")


def test_directory_and_maildir_sources(tmp_path):
    (tmp_path / "a.xml.gz").write_bytes(gzip.compress(gen.dmarc_xml(DOMAIN, NOW - 86400, [gen.own_row(OWN_V4, 3, DOMAIN)])))
    (tmp_path / "b.eml").write_bytes(gen.tlsrpt_mail(DOMAIN, NOW - 86400))
    (tmp_path / "c.txt").write_bytes(b"hello")
    reports, warnings, _stats = report_sources.read_reports(report_sources.directory_items(str(tmp_path)))
    assert sorted(report["kind"] for report in reports) == ["dmarc", "tlsrpt"]
    assert len(warnings) == 1 and "c.txt" in warnings[0]
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_bytes(gen.dmarc_mail(DOMAIN, NOW - 86400, [gen.own_row(OWN_V4, 3, DOMAIN)], provider="microsoft"))
    before = sorted(os.listdir(maildir / "new"))
    reports, warnings, _stats = report_sources.read_reports(report_sources.maildir_items(str(maildir)))
    assert [report["org_name"] for report in reports] == ["Enterprise Outlook"] and warnings == []
    assert sorted(os.listdir(maildir / "new")) == before  # read only: nothing moved to cur
    with pytest.raises(report_sources.SourceError, match="not a Maildir"):
        list(report_sources.maildir_items(str(tmp_path)))


def _reports(days, policy="none", own_fail=False, per_day=20, providers=("google", "microsoft")):
    mails = []
    for index, begin in enumerate(gen.days_back(NOW, days)):
        rows = [gen.own_row(OWN_V4, per_day, DOMAIN), gen.spoof_row("203.0.113.5", 2, DOMAIN)]
        if own_fail:
            rows.append(gen.Row(OWN_V6, 1, DOMAIN, dkim_aligned="fail", spf_aligned="fail"))
        mails.append(gen.dmarc_mail(DOMAIN, begin, rows, provider=providers[index % len(providers)], policy=policy))
    return read(*mails)[0]


def _staging(goal="reject", **options):
    return staging.normalize_staging(dict({"enabled": True, "days": 7, "min_messages": 100}, **options), "dmarc", goal, DOMAIN)


def _decide(reports, current, settings=None):
    settings = settings or _staging()
    evidence = report_digest.dmarc_evidence(reports, DOMAIN, current, OWN[DOMAIN], NOW, settings["days"])
    return staging.decide_dmarc(settings, current, evidence, NOW)


def test_dmarc_promotes_when_the_evidence_is_complete_and_the_same_reports_do_not_promote_twice():
    reports = _reports(8)
    decision = _decide(reports, "none")
    assert decision["action"] == "promote" and decision["publish"] == "quarantine", decision
    # Published quarantine now, same reports (all under p=none): nothing more, however often it runs.
    again = _decide(reports, "quarantine")
    assert again["action"] == "hold" and again["publish"] == "quarantine"
    assert any("p=quarantine" in line for line in again["missing"])
    assert _decide(reports + _reports(8, policy="quarantine"), "quarantine")["publish"] == "reject"


@pytest.mark.parametrize("reports,missing", [
    (lambda: [], "no aggregate report"),
    (lambda: _reports(3), "cover 2 of the 7 days"),
    (lambda: _reports(8, per_day=5), "needed"),
])
def test_dmarc_holds_on_missing_evidence_and_says_what_is_missing(reports, missing):
    decision = _decide(reports(), "none")
    assert decision["action"] == "hold" and decision["publish"] == "none"
    assert any(missing in line for line in decision["missing"]), decision["missing"]


def test_dmarc_holds_when_an_own_source_fails_and_when_told_to():
    decision = _decide(_reports(8, own_fail=True), "none")
    assert decision["action"] == "hold" and OWN_V6 in " ".join(decision["problems"])
    held = _decide(_reports(8), "none", _staging(hold=True))
    assert held["action"] == "hold" and "hold is set" in held["explanation"]
    assert _decide(_reports(8), "reject")["action"] == "done"
    assert _decide(_reports(8), None)["publish"] == "none"


def test_mta_sts_enforce_needs_clean_tls_reports_and_a_passing_smtp_check():
    settings = staging.normalize_staging({"days": 3, "min_messages": 50}, "mta_sts", "enforce", DOMAIN)
    clean = [tlsrpt_reports.parse(gen.tlsrpt_json(DOMAIN, begin, mx=("mail.example.test",)), "t%d" % begin) for begin in gen.days_back(NOW, 4)]
    evidence = report_digest.tlsrpt_evidence(clean, DOMAIN, ["mail.example.test"], NOW, 3)
    assert staging.decide_mta_sts(settings, "testing", evidence, True, NOW)["publish"] == "enforce"
    assert staging.decide_mta_sts(settings, "testing", evidence, None, NOW)["action"] == "hold"
    assert staging.decide_mta_sts(settings, "testing", evidence, False, NOW)["action"] == "hold"
    assert staging.decide_mta_sts(settings, None, evidence, True, NOW)["publish"] == "testing"
    expired = gen.tlsrpt_json(DOMAIN, NOW - 86400, org="microsoft.com", failures=(("certificate-expired", "mail.example.test", 2),))
    failing = clean + [tlsrpt_reports.parse(expired, "f")]
    decision = staging.decide_mta_sts(settings, "testing", report_digest.tlsrpt_evidence(failing, DOMAIN, ["mail.example.test"], NOW, 3), True, NOW)
    assert decision["action"] == "hold" and "certificate-expired" in decision["explanation"]


def test_without_report_sources_a_staging_holds_at_the_live_stage():
    for live in ("none", "quarantine"):
        decision = staging.decide_dmarc(_staging(), live, None, NOW)
        assert (decision["action"], decision["publish"]) == ("hold", live)
        assert decision["explanation"] == "hold dmarc at %s: no report sources configured: holding at %s" % (live, live)
    assert staging.decide_dmarc(_staging(), "reject", None, NOW)["publish"] == "reject"
    assert staging.decide_dmarc(_staging(), None, None, NOW)["publish"] == "none"  # no record yet: the first stage
    settings = staging.normalize_staging({"days": 3}, "mta_sts", "enforce", DOMAIN)
    held = staging.decide_mta_sts(settings, "testing", None, True, NOW)
    assert (held["action"], held["publish"]) == ("hold", "testing") and "no report sources configured" in held["explanation"]
    assert staging.decide_mta_sts(settings, "enforce", None, True, NOW)["publish"] == "enforce"


@pytest.mark.parametrize("entry", [{"name": DOMAIN, "mx": ["mail.example.test"], "dmarc": {"policy": "reject"}},
                                   {"name": DOMAIN, "mx": ["mail.example.test"]}], ids=["own-dmarc", "dmarc-from-defaults"])
def test_a_staging_from_the_defaults_publishes_the_decided_stage(entry):
    defaults = {"dmarc": {"policy": "reject", "staging": {"days": 10}}}
    decision = staging.decide_dmarc(spec.normalize_domain_entry(entry, defaults=defaults)["staging"]["dmarc"], "quarantine", None, NOW)
    staged = mail_reports._staged_entry(entry, [decision], defaults)
    assert staged["dmarc"]["staging"] == {"days": 10, "published": "quarantine"}
    assert spec.normalize_domain_entry(staged, defaults=defaults)["dmarc"]["policy"] == "quarantine"
    assert "staging" not in entry.get("dmarc", {})  # the inventory itself is left as it was


def test_summary_counts_sources_alignment_and_tls_sessions_per_organisation():
    reports = _reports(3) + [tlsrpt_reports.parse(gen.tlsrpt_json(DOMAIN, NOW - 86400, failures=(("sts-policy-fetch-error", "", 3),)), "t")]
    digest = report_digest.summarize(reports, [DOMAIN], OWN, NOW, 30)
    entry = digest["domains"][0]
    assert entry["dmarc"]["messages"] == 66 and entry["dmarc"]["passed"] == 60 and entry["dmarc"]["own_messages"] == 60
    assert [(source["source_ip"], source["own"]) for source in entry["dmarc"]["sources"]] == [(OWN_V4, True), ("203.0.113.5", False)]
    assert len(entry["dmarc"]["days"]) == 3 and entry["dmarc"]["organisations"] == ["Enterprise Outlook", "google.com"]
    assert entry["tlsrpt"]["by_result_type"] == {"sts-policy-fetch-error": 3}
    assert entry["tlsrpt"]["organisations"][0]["failed"] == 3
    html = report_digest.render_section(dict(digest, warnings=["skipped <script>x</script>"]))
    assert "<svg" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_inventory_staging_publishes_the_stage_never_above_the_goal():
    def model(dmarc):
        return spec.normalize_domain_entry({"name": DOMAIN, "mx": ["mail.example.test"], "dmarc": dmarc})

    entry = model({"policy": "reject", "staging": {"days": 10}})
    assert entry["dmarc"]["policy"] == "none" and entry["staging"]["dmarc"]["days"] == 10
    assert model({"policy": "reject", "staging": {"published": "quarantine"}})["dmarc"]["policy"] == "quarantine"
    assert model({"policy": "quarantine", "staging": {"published": "reject"}})["dmarc"]["policy"] == "quarantine"
    assert model({"policy": "reject"})["dmarc"]["policy"] == "reject" and model({"policy": "reject"})["staging"]["dmarc"] is None
    with pytest.raises(SpecError, match="example.test.*dmarc.staging.days"):
        model({"policy": "reject", "staging": {"days": 0}})
    with pytest.raises(SpecError, match="dmarc.staging.when"):
        model({"policy": "reject", "staging": {"when": 1}})


def _params(**options):
    params = {"sources": [], "mailsec_domains": [{"name": DOMAIN, "mx": ["mail.example.test"]}], "mail_host": None, "domain_defaults": {},
              "days": 30, "max_items": 10, "nameservers": [], "timeout": 1.0, "ptr": False, "mta_sts_result": None, "smtp_tls_result": None}
    params.update(options)
    return params


@pytest.mark.parametrize("options,message", [
    ({"sources": [{"type": "imap", "host": "imap.example.test", "user": "u", "password": None}]}, "an imap source needs password"),
    ({"sources": [{"type": "maildir", "path": None}]}, "a maildir source needs path"),
    ({"days": 0}, "days must be from 1"),
    ({"mailsec_domains": [{"name": DOMAIN, "mx": ["mail.example.test"], "mta_sts": {"mode": "enforce", "staging": {"hold": "yes"}}}]},
     "example.test.*mta_sts.staging.hold"),
])
def test_bad_module_input_is_a_clear_error(options, message):
    with pytest.raises(MailsecError, match=message):
        mail_reports.run(_params(**options))


def test_a_missing_directory_fails_the_run(tmp_path):
    with pytest.raises(MailsecError, match="does not exist"):
        mail_reports.run(_params(sources=[{"type": "directory", "path": str(tmp_path / "nothing")}]))
