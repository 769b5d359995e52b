"""The site playbook on the sandbox with a dovecot holding generated DMARC reports (tools/sandbox.py --reports):
the digest is in the report, the domain whose evidence is complete is promoted to quarantine, the one whose
evidence is not is held at none, and the second run changes nothing (the same reports decide the same)."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import sandbox as sandbox_tool  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

PROMOTED, HELD = (domain.name for domain in sandbox_tool.REPORT_DOMAINS)


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    said = []
    # standalone.test: the container role needs one domain to serve.
    domains = (sandbox_tool.DOMAINS[1],) + sandbox_tool.REPORT_DOMAINS
    with sandbox_tool.Sandbox(str(tmp_path_factory.mktemp("kept")), domains=domains) as box:
        outcome = sandbox_tool.converge(box, said.append)
        live = {name: box.bind.query_txt("_dmarc." + name) for name in (PROMOTED, HELD)}
        with open(box.report_html, encoding="utf-8") as handle:
            page = handle.read()
        yield {"outcome": outcome, "said": said, "live": live, "page": page, "flags": box.imap.flags()}


def decision(report, domain):
    return [entry for entry in report["reports_digest"]["domains"] if entry["domain"] == domain][0]["decisions"][0]


def test_the_complete_domain_is_promoted(converged):
    assert converged["outcome"].ok, "\n".join(converged["said"])
    assert any("p=quarantine" in value for value in converged["live"][PROMOTED])
    promoted = decision(converged["outcome"].report, PROMOTED)
    # The second run read the same reports with p=quarantine live: it holds there (no second step on old evidence).
    assert promoted["current"] == "quarantine" and promoted["action"] == "hold" and promoted["publish"] == "quarantine"
    assert any(line.startswith("  %s: promote dmarc from none to quarantine" % PROMOTED) for line in converged["said"]) or \
        converged["outcome"].first.changed > 0
    assert converged["outcome"].second.changed == 0


def test_the_incomplete_domain_is_held_and_says_what_is_missing(converged):
    assert any("p=none" in value for value in converged["live"][HELD])
    held = decision(converged["outcome"].report, HELD)
    assert held["action"] == "hold" and held["publish"] == "none"
    assert any("cover 1 of the 7 days" in line for line in held["missing"]), held
    assert any(line.startswith("  %s: hold dmarc at none" % HELD) for line in converged["said"])


def test_the_report_shows_the_digest_and_the_mailbox_is_untouched(converged):
    report = converged["outcome"].report
    entry = [item for item in report["reports_digest"]["domains"] if item["domain"] == PROMOTED][0]
    assert entry["dmarc"]["reports"] == 8 and entry["dmarc"]["own_messages"] == 80
    page = converged["page"]
    # A DMARC chart for each staged domain; standalone.test has no reports, so it gets a note instead.
    assert 'id="reports-%s"' % PROMOTED in page and page.count("<svg") == 2 and "no reports in the period" in page
    assert all("Seen" not in flags for flags in converged["flags"])
    json.dumps(report)
