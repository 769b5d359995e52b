"""The lookup and filters through real ansible-playbook runs: the example inventory, every filter,
bad specs failing cleanly, and mailcow's API (a contract stand-in) as the source of domains and keys."""

from __future__ import annotations

import os

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dkim
from ansible_collections.mailsec.posture.plugins.module_utils.common import join_txt
from harness.mailcow_standin import RO_KEY, MailcowStandin, make_dkim_key

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOKS = os.path.join(os.path.dirname(__file__), "playbooks")


def test_records_playbook_shows_both_seed_domains_and_every_record_parses(run_playbook):
    result = run_playbook(
        os.path.join(ROOT, "playbooks", "records.yml"), inventory=os.path.join(ROOT, "examples", "inventory.yml")
    )
    result.assert_ok(changed=0)
    table = "\n".join(result.task_result("Show the records as a table")["msg"])
    for name in (
        "_mta-sts.example.com.",
        "_mta-sts.mail.example.com.",
        "_mta-sts.example.net.",
        "dkim._domainkey.example.net.",
        "_dmarc.example.com.",
        "_smtp._tls.example.net.",
    ):
        assert name in table
    checks = result.task_result("Check every generated TXT record with its parser")["results"]
    assert len(checks) == 10 and not any(item.get("failed") for item in checks)


def test_every_filter_behaves(run_playbook):
    run_playbook(os.path.join(PLAYBOOKS, "filters.yml")).assert_ok(changed=0)


@pytest.mark.parametrize(
    "domain, field",
    [
        ({"name": "exa_mple..com"}, "name"),
        ({"name": "example.com", "mta_sts": {"mode": "enforced"}}, "mta_sts.mode"),
        ({"name": "example.com", "mta_sts": {"max_age": -1}}, "mta_sts.max_age"),
        ({"name": "example.com", "dmarc": {"rua": ["dmarc@example.com"]}}, "dmarc.rua[0]"),
        ({"name": "example.com", "tlsrpt": {"rua": ["tls@example.com"]}}, "tlsrpt.rua[0]"),
    ],
)
def test_bad_spec_fails_naming_domain_and_field_without_traceback(run_playbook, domain, field):
    result = run_playbook(
        os.path.join(PLAYBOOKS, "bad_spec.yml"),
        extra_vars={"mailsec_domains": [domain], "mailsec_mail_host": "mail.example.com"},
    )
    assert result.rc != 0 and result.failed == 1
    message = " ".join(result.failure_messages())
    assert field in message, message
    assert domain["name"] in message, message
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
def mailcow():
    with MailcowStandin() as standin:
        standin.add_domain("example.com", key=make_dkim_key(2048))
        standin.add_domain("example.org", key=make_dkim_key(4096), selector="s2026")
        yield standin


def mailcow_vars(standin, overrides=None):
    return {
        "mailcow_url": standin.url,
        "mailcow_key": RO_KEY,
        "mailcow_ca": standin.ca_path,
        "mailsec_mail_host": "mail.example.com",
        "inventory_overrides": overrides or [],
    }


def run_mailcow_records(run_playbook, standin, overrides=None):
    result = run_playbook(os.path.join(PLAYBOOKS, "mailcow_records.yml"), extra_vars=mailcow_vars(standin, overrides))
    result.assert_ok(changed=0)
    assert RO_KEY not in result.stdout + result.stderr
    facts = result.task_result("Publish the record list")["ansible_facts"]
    return facts["computed_records"], facts["zone_snippets"]


def test_mailcow_domains_and_dkim_keys_flow_into_records_and_zone(run_playbook, mailcow):
    records, zone = run_mailcow_records(
        run_playbook, mailcow, overrides=[{"name": "example.org", "dmarc": {"policy": "reject"}}]
    )
    dkim_records = {r["name"]: r["value"] for r in records if r["standard"] == "dkim"}
    assert set(dkim_records) == {"dkim._domainkey.example.com.", "s2026._domainkey.example.org."}
    for name, value in dkim_records.items():
        domain = name.split("._domainkey.")[1].rstrip(".")
        assert dkim.parse(value)["public_key"] == mailcow.dkim[domain]["pubkey"]
    assert dkim.parse(dkim_records["s2026._domainkey.example.org."])["key_bits"] == 4096
    dmarc_values = {r["domain"]: r["value"] for r in records if r["standard"] == "dmarc"}
    assert "p=reject" in dmarc_values["example.org"]

    line = [item for item in zone if item.startswith("s2026._domainkey.example.org. ")][0]
    presentation = line.split(" IN TXT ", 1)[1].strip()
    strings = presentation.split('" "')
    assert len(strings) >= 3 and all(len(part.strip('"')) <= 255 for part in strings)
    assert join_txt(presentation) == dkim_records["s2026._domainkey.example.org."]


def test_a_domain_added_in_mailcow_appears_on_the_next_run(run_playbook, mailcow):
    before, _zone = run_mailcow_records(run_playbook, mailcow)
    mailcow.add_domain("new.example", key=make_dkim_key(2048))
    after, _zone = run_mailcow_records(run_playbook, mailcow)
    assert not {r["domain"] for r in before} & {"new.example"}
    new = [r for r in after if r["domain"] == "new.example"]
    assert {r["standard"] for r in new} >= {"mx", "spf", "dkim", "mta_sts"}
    unchanged = [r for r in after if r["domain"] != "new.example"]
    assert sorted(map(repr, unchanged)) == sorted(map(repr, before))
