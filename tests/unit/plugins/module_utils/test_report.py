"""The verification report: merging the verifiers' results, the HTML page, and the filters over them."""

import html.parser
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.filter import verify_report as report_filters
from ansible_collections.mailsec.posture.plugins.module_utils import check_docs, report
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def check(name, status, detail="ok", subject=None):
    entry = {"name": name, "status": status, "detail": detail}
    if subject:
        entry["subject"] = subject
    return entry


def result(*domains):
    entries = [{"domain": domain, "status": "pass", "checks": found} for domain, found in domains]
    return {"changed": False, "domains": entries, "summary": {}}


DNS = result(("a.example", [check("spf.record", "pass"), check("dmarc.record", "warn", "no rua")]),
             ("b.example", [check("spf.record", "fail", "2 SPF records <script>alert(1)</script>")]))
SMTP = result(("b.example", [check("smtp.certificate", "pass", subject="mx1.b.example"),
                             check("smtp.certificate", "fail", "expired", subject="mx2.b.example")]),
              ("c.example", [check("smtp.certificate", "pass", subject="mx.c.example")]))
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


def build(**options):
    return report.build_report({"verify_dns": DNS, "verify_mta_sts": SKIPPED, "verify_smtp_tls": SMTP},
                               generated="2026-01-01T00:00:00+00:00", **options)


def test_results_merge_per_domain_in_the_order_first_seen():
    merged = build()
    assert merged["modules"] == ["verify_dns", "verify_smtp_tls"]  # the skipped one is left out
    assert [entry["domain"] for entry in merged["domains"]] == ["a.example", "b.example", "c.example"]
    assert merged["checks"] == ["spf.record", "dmarc.record", "smtp.certificate"]
    b_checks = merged["domains"][1]["checks"]
    assert [(entry["module"], entry["name"], entry.get("subject")) for entry in b_checks] == [
        ("verify_dns", "spf.record", None), ("verify_smtp_tls", "smtp.certificate", "mx1.b.example"),
        ("verify_smtp_tls", "smtp.certificate", "mx2.b.example")]
    assert [entry["status"] for entry in merged["domains"]] == ["warn", "fail", "pass"]
    assert merged["summary"]["checks_by_status"] == {"pass": 3, "warn": 1, "fail": 2, "off": 0}
    assert merged["summary"]["status"] == "fail" and merged["summary"]["modules"] == ["verify_dns", "verify_smtp_tls"]
    assert merged["summary_line"] == "3 domain(s): 1 pass, 1 warn, 1 fail (6 checks: 3 pass, 1 warn, 2 fail)"


@pytest.mark.parametrize("fail_on, count", [("fail", 2), ("warn", 3), ("never", 0)])
def test_failures_follow_fail_on(fail_on, count):
    merged = build(fail_on=fail_on)
    assert len(merged["failures"]) == count
    assert (merged["failure_message"] is None) == (count == 0)
    if count:
        assert "b.example: smtp.certificate [mx2.b.example]: expired" in merged["failures"]


def test_bad_results_are_reported_not_raised_deep_inside():
    with pytest.raises(MailsecError, match="verify_dns holds no checks: bad input"):
        report.build_report({"verify_dns": {"failed": True, "msg": "bad input"}})
    with pytest.raises(MailsecError, match="no valid status"):
        report.build_report({"verify_dns": result(("a.example", [check("x.y", "maybe")]))})
    with pytest.raises(MailsecError, match="fail_on"):
        report.build_report({}, fail_on="sometimes")
    with pytest.raises(MailsecError, match="mapping"):
        report.build_report("text")


def test_passing_checks_a_verifier_left_out_still_count():
    # verify_mta_sts with passing_checks omit: a.example passed all 11 checks, b.example 10 of 11.
    omitted = {"changed": False, "summary": {"checks_by_status": {"pass": 21, "warn": 0, "fail": 1}},
               "domains": [{"domain": "a.example", "status": "pass", "checks": []},
                           {"domain": "b.example", "status": "fail", "checks": [check("mta_sts.policy_fetch", "fail", "HTTP 404")]}]}
    merged = report.build_report({"verify_dns": DNS, "verify_mta_sts": omitted}, generated="2026-01-01T00:00:00+00:00")
    assert merged["summary"]["checks_by_status"] == {"pass": 1 + 21, "warn": 1, "fail": 2, "off": 0}
    assert [entry["status"] for entry in merged["domains"]] == ["warn", "fail"]
    assert merged["summary_line"] == "2 domain(s): 0 pass, 1 warn, 1 fail (25 checks: 22 pass, 1 warn, 2 fail)"
    assert build()["summary"]["checks_by_status"] == {"pass": 3, "warn": 1, "fail": 2, "off": 0}, "results without counts add nothing"


def test_a_list_of_results_is_accepted():
    merged = report.build_report([DNS, SMTP])
    assert merged["modules"] == ["verify_1", "verify_2"]


class _Page(html.parser.HTMLParser):
    """Collects what the tests look at: cells with their class and title, sections, external references."""

    def __init__(self):
        super().__init__()
        self.cells = {}
        self.row = None
        self.column = 0
        self.headers = []
        self.in_header = False
        self.sections = {}
        self.external = []
        self.links = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "src" in attributes:
            self.external.append(attributes["src"])
        if tag == "a" and not attributes.get("href", "#").startswith("#"):
            self.links.append(attributes["href"])
        if tag == "link":
            self.external.append(attributes)
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and "data-domain" in attributes:
            self.row = attributes["data-domain"]
            self.column = 0
        if tag == "th" and attributes.get("class") == "check":
            self.headers.append(attributes["title"])
        if tag == "td" and self.row is not None:
            self.cells[(self.row, self.headers[self.column])] = [attributes.get("class")]
            self.column += 1
        if tag == "a" and self.row is not None and self.column and "title" in attributes:
            self.cells[(self.row, self.headers[self.column - 1])].append(attributes["title"])
        if tag == "details" and "data-domain" in attributes:
            self.sections[attributes["data-domain"]] = "open" in attributes

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None


def parse(page):
    parser = _Page()
    parser.feed(page)
    return parser


def test_page_has_a_cell_per_domain_and_check_coloured_by_the_worst_status():
    page = report.render_html(build())
    parsed = parse(page)
    assert parsed.headers == ["spf.record", "dmarc.record", "smtp.certificate"]
    assert parsed.cells[("a.example", "spf.record")][0] == "s-pass"
    assert parsed.cells[("a.example", "dmarc.record")][0] == "s-warn"
    assert parsed.cells[("a.example", "smtp.certificate")] == ["s-none"]  # not checked
    cell = parsed.cells[("b.example", "smtp.certificate")]
    assert cell[0] == "s-fail"  # one MX passes, the other fails: the cell shows the worse
    assert cell[1] == "smtp.certificate\nPASS [mx1.b.example]: verify_smtp_tls: ok\nFAIL [mx2.b.example]: verify_smtp_tls: expired"
    assert parsed.sections == {"a.example": False, "b.example": True, "c.example": False}  # failing domains open


def test_page_is_self_contained_and_escapes_what_it_shows():
    page = report.render_html(build())
    parsed = parse(page)
    assert parsed.external == [] and parsed.scripts == 1
    # The only links out are to the fixes in the collection's documentation.
    assert parsed.links and all(link.startswith(check_docs.DOCS_URL + "docs/checks") for link in parsed.links)
    assert "<script>alert(1)</script>" not in page
    assert "2 SPF records &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "Generated 2026-01-01T00:00:00+00:00 by verify_dns, verify_smtp_tls." in page


def test_long_details_are_cut_in_the_hover_text_only():
    long_detail = "x" * 1000
    merged = report.build_report({"verify_dns": result(("a.example", [check("spf.lookups", "fail", long_detail)]))})
    page = report.render_html(merged)
    title = parse(page).cells[("a.example", "spf.lookups")][1]
    assert len(title) < report.HOVER_LIMIT + 60 and title.endswith("...")
    assert long_detail in page  # whole in the domain's section


def test_many_failing_domains_start_closed():
    domains = [("d%d.example" % index, [check("spf.record", "fail")]) for index in range(report.OPEN_LIMIT + 1)]
    parsed = parse(report.render_html(report.build_report({"verify_dns": result(*domains)})))
    assert not any(parsed.sections.values())


def test_anchors_are_unique_per_domain():
    page = report.render_html(build())
    anchors = re.findall(r'<details id="([^"]+)"', page)
    assert anchors == ["d-a.example", "d-b.example", "d-c.example"]
    assert 'href="#d-b.example"' in page


def test_filters_wrap_the_engine():
    filters = report_filters.FilterModule().filters()
    merged = filters["verify_report"]({"verify_dns": DNS}, fail_on="warn", title="Fleet")
    assert merged["title"] == "Fleet" and len(merged["failures"]) == 2
    assert "<title>Fleet</title>" in filters["verify_report_html"](merged)
    with pytest.raises(AnsibleFilterError, match="mailsec.posture.verify_report: "):
        filters["verify_report"]({"verify_dns": {"msg": "boom"}})
    with pytest.raises(AnsibleFilterError, match="expects the output of mailsec.posture.verify_report"):
        filters["verify_report_html"]({"domains": []})


# What an admin fixes things from

HOSTILE = '<img src=x onerror="alert(1)">'
NXDOMAIN_DNS = result(
    ("gone.example", [check("mx.records", "fail", "no MX records (NXDOMAIN): senders fall back to the domain's address, or cannot deliver at all"),
                      check("spf.record", "fail", "no TXT record at gone.example (NXDOMAIN)"),
                      check("dmarc.record", "fail", "no TXT record at _dmarc.gone.example (NXDOMAIN) " + HOSTILE),
                      check("spf.enabled", "pass", "SPF is off for this domain in the inventory; nothing to check")]),
    ("xn--bcher-kva.example", [check("mx.records", "pass", "MX 10 mail.example."),
                               check("spf.enabled", "pass", "SPF is off for this domain in the inventory; nothing to check"),
                               check("dmarc.record", "warn", "no rua " + HOSTILE),
                               check("mta_sts.txt", "fail", "no TXT record at _mta-sts.xn--bcher-kva.example (NODATA)")]))
NXDOMAIN_STS = result(
    ("xn--bcher-kva.example", [check("mta_sts.txt", "fail", "no TXT record at _mta-sts.xn--bcher-kva.example (NODATA)"),
                               check("mta_sts.policy_fetch", "fail", "HTTP 404", subject=HOSTILE)]),
    ("gone.example", [check("mta_sts.txt", "fail", "the lookup failed: TXT _mta-sts.gone.example: NXDOMAIN: gone.example does not exist")]))


def admin_report():
    return report.build_report({"verify_dns": NXDOMAIN_DNS, "verify_mta_sts": NXDOMAIN_STS}, generated="2026-01-01T00:00:00+00:00")


def domain_of(merged, name):
    return next(entry for entry in merged["domains"] if entry["domain"] == name)


def test_each_problem_carries_the_fix_and_section_of_the_check_pages():
    merged = admin_report()
    checks_of = {entry["name"]: entry for entry in domain_of(merged, "xn--bcher-kva.example")["checks"]}
    assert checks_of["dmarc.record"]["fix"] == check_docs.CHECKS["dmarc.record"]["fix"]
    assert checks_of["dmarc.record"]["doc"] == check_docs.DOCS_URL + "docs/checks.md#the-checks"
    assert checks_of["mta_sts.policy_fetch"]["doc"] == check_docs.DOCS_URL + "docs/checks-transport.md#fixes"
    assert "fix" not in checks_of["mx.records"] and "doc" not in checks_of["mx.records"]  # passing: nothing to fix
    page = report.render_html(merged)
    # The fix as the page shows it: docs/checks.md's Markdown, its code spans as code, escaped, with the link.
    fix = check_docs.CHECKS["mta_sts.policy_fetch"]["fix"]
    shown = re.sub(r"`([^`]+)`", r"<code>\1</code>", fix.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   .replace('"', "&quot;").replace("'", "&#x27;"))
    assert shown + ' <a class="doc" href="%sdocs/checks-transport.md#fixes">how to fix</a>' % check_docs.DOCS_URL in page


def test_a_standard_switched_off_shows_as_off_never_as_a_pass():
    merged = admin_report()
    entry = domain_of(merged, "xn--bcher-kva.example")
    assert {check["name"]: check["status"] for check in entry["checks"]}["spf.enabled"] == "off"
    assert merged["summary"]["checks_by_status"]["off"] == 2
    assert merged["summary_line"].endswith(", 2 off)")
    cell = parse(report.render_html(merged)).cells[("xn--bcher-kva.example", "spf.enabled")]
    assert cell[0] == "s-off" and cell[0] != "s-pass"
    assert ">off</a>" in report.render_html(merged)
    only_off = report.build_report({"verify_dns": result(("a.example", [check("spf.enabled", "pass", "off")]))})
    assert only_off["domains"][0]["status"] == "pass" and only_off["failures"] == []


def test_a_domain_that_does_not_resolve_is_one_line_with_what_it_blocks_folded_under_it():
    merged = admin_report()
    gone = domain_of(merged, "gone.example")
    cause = gone["root_cause"]
    assert cause["check"] == "mx.records" and cause["summary"] == "gone.example does not resolve"
    assert cause["fix"] == check_docs.LOOKUP_FAILURES[0]["fix"] and cause["doc"].endswith("docs/checks.md#when-a-lookup-itself-fails")
    assert sorted(cause["blocked"]) == ["dmarc.record", "mta_sts.txt", "spf.record"]
    assert all(check.get("blocked_by") == "mx.records" for check in gone["checks"] if check["name"] in cause["blocked"])
    assert "root_cause" not in domain_of(merged, "xn--bcher-kva.example")  # NODATA at one name is no root cause
    page = report.render_html(merged)
    row = re.search(r'<tr data-domain="gone.example"[^>]*>(.*?)</tr>', page).group(1)
    assert row.count("<td") == 1 and "gone.example does not resolve" in row and "3 check(s) blocked" in row
    section = re.search(r'<details id="d-gone.example".*?</table></details>', page, re.DOTALL).group(0)
    assert section.index("root-cause") < section.index('<details class="blocked">')
    blocked = re.search(r'<details class="blocked">(.*?)</details>', section, re.DOTALL).group(1)
    assert "spf.record" in blocked and "dmarc.record" in blocked and "mta_sts.txt" in blocked
    problems = re.search(r'<table class="problems">(.*?)</table>', page, re.DOTALL).group(1)
    assert problems.count("gone.example does not resolve") == 1 and "spf.record" not in problems


def test_domains_show_in_u_labels_with_the_a_label_beside():
    merged = admin_report()
    assert domain_of(merged, "xn--bcher-kva.example")["display"] == "bücher.example"
    page = report.render_html(merged)
    assert 'bücher.example<span class="alabel">xn--bcher-kva.example</span>' in page
    assert 'data-display="bücher.example"' in page  # the filter box finds either spelling


def test_a_check_two_verifiers_run_appears_once():
    merged = admin_report()
    entry = domain_of(merged, "xn--bcher-kva.example")
    txt = [check for check in entry["checks"] if check["name"] == "mta_sts.txt"]
    assert len(txt) == 1 and txt[0]["modules"] == ["verify_dns", "verify_mta_sts"]
    assert txt[0]["detail"] == "no TXT record at _mta-sts.xn--bcher-kva.example (NODATA)"  # the same words once
    assert merged["summary"]["checks_by_status"] == {"pass": 1, "warn": 1, "fail": 6, "off": 2}
    assert sum(1 for line in merged["failures"] if "xn--bcher-kva.example: mta_sts.txt" in line) == 1


def test_what_dns_says_is_escaped_everywhere():
    page = report.render_html(admin_report())
    assert HOSTILE not in page and "onerror=" not in page.replace('onerror=&quot;', "")
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 3  # detail, subject, problems list
    assert parse(page).external == []


# --- certificates described once (issue 12) --------------------------------------------------

SHARED = "ab" * 32
SHARED_DESCRIPTION = {"sha256": SHARED, "subject": "CN=mail.host.example", "issuer": "CN=R11,O=Let's Encrypt", "common_names": ["mail.host.example"],
                      "not_before": "2026-09-01T00:00:00Z", "not_after": "2026-11-30T00:00:00Z", "days_to_expiry": 61, "self_signed": False,
                      "serial": "3a1f", "spki_sha256": "cd" * 32, "names_count": 1001,
                      "names_shown": ["mail.host.example", "mta-sts.a.example", "mta-sts.b.example"]}


def with_certificates():
    covered = "valid for mta-sts.a.example, covered by mta-sts.a.example: certificate %s (for ...)" % SHARED[:16]
    sts = result(("a.example", [check("mta_sts.policy_certificate", "pass", covered, subject="https://mta-sts.a.example/")]))
    sts["certificates"] = {SHARED: SHARED_DESCRIPTION}
    smtp = result(("a.example", [check("smtp.certificate", "pass", subject="mail.host.example")]))
    smtp["certificates"] = {SHARED: SHARED_DESCRIPTION, "ef" * 32: dict(SHARED_DESCRIPTION, sha256="ef" * 32, names_count=1, names_shown=["mx.other"])}
    return report.build_report({"verify_dns": DNS, "verify_mta_sts": sts, "verify_smtp_tls": smtp}, generated="2026-01-01T00:00:00+00:00")


def test_certificates_are_merged_once_with_the_modules_that_saw_them():
    merged = with_certificates()
    assert list(merged["certificates"]) == [SHARED, "ef" * 32]
    assert merged["certificates"][SHARED]["modules"] == ["verify_mta_sts", "verify_smtp_tls"]
    assert merged["certificates"]["ef" * 32]["modules"] == ["verify_smtp_tls"]
    assert merged["certificates"][SHARED]["names_count"] == 1001
    assert SHARED_DESCRIPTION.get("modules") is None  # the verifiers' results are not changed
    assert build()["certificates"] == {}  # results from before certificates were described


def test_page_describes_each_certificate_and_each_domain_its_coverage():
    page = report.render_html(with_certificates())
    assert page.count("<h2>Certificates</h2>") == 1 and page.count("<code>%s</code>" % SHARED) == 1
    assert "1001: mail.host.example, mta-sts.a.example, mta-sts.b.example and 998 more" in page
    assert "CN=R11,O=Let&#x27;s Encrypt" in page and "2026-09-01T00:00:00Z to 2026-11-30T00:00:00Z (61 day(s) left)" in page
    assert "covered by mta-sts.a.example: certificate %s" % SHARED[:16] in page  # the domain's own line
    assert "<h2>Certificates</h2>" not in report.render_html(build())
