"""The dns role through playbooks/dns.yml: RFC 2136 to a real BIND, zone snippets and a table on disk."""

import os

import dns.message
import dns.query
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records, to_table, to_zone_lines
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

pytestmark = pytest.mark.slow

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "dns.yml")
MAIL_HOST = "mail.example.test"
DOMAINS = [
    {
        "name": "example.test",
        "spf": {"mechanisms": ["mx"], "all": "fail"},
        "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@example.test"]},
        "mta_sts": {"mode": "enforce", "delegate_to": MAIL_HOST},
        "tlsrpt": {"rua": ["mailto:tls@example.test"], "delegate_to": MAIL_HOST},
    },
    {
        "name": "shop.example.test",
        "zone": "example.test",
        "spf": {"mechanisms": ["mx"], "all": "fail"},
        "dmarc": {"policy": "quarantine"},
        "mta_sts": {"mode": "testing"},
    },
    {"name": "example.org", "spf": {"mechanisms": ["mx"], "all": "softfail"}, "dmarc": {"policy": "none"}},
]
ZONES = {
    "example.test": [{"name": "mail", "type": "A", "value": "127.0.0.1"}],
    "example.org": [],
}


def model_vars(**extra):
    values = {"mailsec_domains": DOMAINS, "mailsec_mail_host": MAIL_HOST, "mailsec_zones": ["example.test"]}
    values.update(extra)
    return values


def expected_records():
    return desired_records(normalize_model(DOMAINS, mail_host=MAIL_HOST, zones=["example.test"]))


def served_txt(bind, name):
    response = dns.query.tcp(dns.message.make_query(name, "TXT"), bind.address, port=bind.port, timeout=5)
    return sorted(b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset if rrset.rdtype == 16)


def test_rfc2136_publishes_every_zone_once_then_changes_nothing(bind_server, run_playbook, tmp_path):
    bind = bind_server(ZONES)
    key = bind.tsig_key
    extra = model_vars(dns_server=bind.address, dns_port=bind.port, dns_key_name=key["name"], dns_key_secret=key["secret"])
    records = expected_records()

    first = run_playbook(PLAYBOOK, extra_vars=extra, diff=True).assert_ok(changed=1)
    result = first.task_result("mailsec.posture.dns : Publish the mail records with RFC 2136 dynamic updates")
    pairs = {(item["zone"], item["name"], item["type"]) for item in records}
    assert sum(summary["added"] for summary in result["zones"].values()) == len(pairs)
    assert set(result["zones"]) == {"example.test", "example.org"}
    assert result["messages"] == 2  # one per zone
    assert key["secret"] not in first.stdout
    for item in records:
        if item["type"] == "TXT":
            assert item["value"] in served_txt(bind, item["name"]), item

    run_playbook(PLAYBOOK, extra_vars=extra).assert_ok(changed=0)

    # The role takes records from elsewhere too (a dkim_key or tlsa_record result).
    more = dict(extra, dns_extra_records=[{"name": "_25._tcp.mail.example.test.", "type": "TLSA", "value": "3 1 1 " + "ab" * 32, "zone": "example.test"}])
    run_playbook(PLAYBOOK, extra_vars=more).assert_ok(changed=1)
    response = dns.query.tcp(dns.message.make_query("_25._tcp.mail.example.test.", "TLSA"), bind.address, port=bind.port, timeout=5)
    assert [rdata.to_text() for rrset in response.answer for rdata in rrset] == ["3 1 1 " + "ab" * 32]

    # state absent removes the records of one domain.
    gone = dict(extra, dns_state="absent", dns_records="{{ query('mailsec.posture.mail_records') | selectattr('domain', 'equalto', 'example.org') }}")
    run_playbook(PLAYBOOK, extra_vars=gone).assert_ok(changed=1)
    assert served_txt(bind, "_dmarc.example.org.") == []
    assert served_txt(bind, "_dmarc.example.test.") == ["v=DMARC1; p=reject; rua=mailto:dmarc@example.test"]


def test_rfc2136_without_server_settings_says_what_is_missing(run_playbook):
    result = run_playbook(PLAYBOOK, extra_vars=model_vars())
    assert result.rc != 0
    assert "dns_method rfc2136 needs dns_server, dns_key_name and dns_key_secret" in " ".join(result.failure_messages())


def test_zonefile_and_report_write_the_records(run_playbook, tmp_path):
    output = tmp_path / "out"
    records = expected_records()
    run_playbook(PLAYBOOK, extra_vars=model_vars(dns_method="zonefile", dns_output_dir=str(output))).assert_ok(changed=2)  # the directory, the loop of snippets
    assert sorted(os.listdir(output)) == ["example.org.mail-records.zone", "example.test.mail-records.zone"]
    for zone in ("example.test", "example.org"):
        in_zone = [item for item in records if item["zone"] == zone]
        expected = "\n".join(to_zone_lines(in_zone, origin=zone, header=True)) + "\n"
        assert (output / ("%s.mail-records.zone" % zone)).read_text() == expected
    snippet = (output / "example.test.mail-records.zone").read_text()
    assert snippet.startswith("$ORIGIN example.test.\n")
    assert "_mta-sts.mail" in snippet and "IN CNAME" in snippet
    run_playbook(PLAYBOOK, extra_vars=model_vars(dns_method="zonefile", dns_output_dir=str(output))).assert_ok(changed=0)

    run_playbook(PLAYBOOK, extra_vars=model_vars(dns_method="report", dns_output_dir=str(output))).assert_ok(changed=1)
    table = (output / "mail-records.txt").read_text()
    assert table == "\n".join(to_table(records, max_value=0)) + "\n"
    assert "v=DMARC1; p=reject; rua=mailto:dmarc@example.test" in table
