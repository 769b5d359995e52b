"""mailsec.posture.mail_reports against a real dovecot (IMAPS, test CA) and BIND: the digest, a domain whose
evidence is complete is promoted, one whose evidence is not is held; the mailbox is left as it was."""

import time

import pytest

from harness import BindServer, TestCA
from harness import reports as gen
from harness.dovecot import DovecotServer

OWN_ADDRESS = "192.0.2.10"
COMPLETE, PARTIAL = "complete.test", "partial.test"
LONG_RUN = 120


def zone(domain, policy="none"):
    return ["@ MX 10 mail", "mail A %s" % OWN_ADDRESS, '@ TXT "v=spf1 mx ip6:2001:db8::/64 -all"',
            '_dmarc TXT "v=DMARC1; p=%s; rua=mailto:dmarc@%s"' % (policy, domain)]


def inventory(domain):
    return {"name": domain, "mx": ["mail.%s" % domain], "spf": {"mechanisms": ["mx"], "ip6": ["2001:db8::/64"]},
            "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@%s" % domain], "staging": {"enabled": True, "days": 7, "min_messages": 50}}}


def mails(now):
    found = []
    for index, begin in enumerate(gen.days_back(now, 8)):
        provider = ("google", "microsoft", "yahoo")[index % 3]
        found.append(gen.dmarc_mail(COMPLETE, begin, [gen.own_row(OWN_ADDRESS, 10, COMPLETE), gen.own_row("2001:db8::7", 2, COMPLETE),
                                                      gen.forwarded_row("198.51.100.7", 1, COMPLETE), gen.spoof_row("203.0.113.5", 3, COMPLETE)],
                                    provider=provider))
    for begin in gen.days_back(now, 2):
        found.append(gen.dmarc_mail(PARTIAL, begin, [gen.own_row(OWN_ADDRESS, 40, PARTIAL)], provider="microsoft"))
    found.append(found[0])  # the same report again
    found.append(gen.report_mail(COMPLETE, "evil.xml", "text/xml", gen.XXE, "evil@attacker.example", subject="evil report"))
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ca = TestCA()
    ca_path = str(ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem"))
    zones = {COMPLETE: zone(COMPLETE), PARTIAL: zone(PARTIAL), "2.0.192.in-addr.arpa": ["10 PTR mail.complete.test."]}
    with BindServer(zones) as bind, DovecotServer(ca) as imap:
        imap.append(*mails(time.time()))
        yield {"bind": bind, "imap": imap, "ca_path": ca_path}


def playbook(tmp_path, world, read_only=True):
    imap = world["imap"]
    path = tmp_path / "reports.yml"
    path.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the reports
      mailsec.posture.mail_reports:
        sources:
          - type: imap
            host: "127.0.0.1"
            port: %d
            user: %s
            password: %s
            ca_path: %s
            read_only: %s
        mailsec_domains: %s
        nameservers: ["127.0.0.1:%d"]
        ptr: true
        timeout: 5
      register: reports
""" % (imap.port, imap.user, imap.password, world["ca_path"], read_only, [inventory(COMPLETE), inventory(PARTIAL)], world["bind"].port))
    return str(path)


def test_reads_imap_promotes_the_complete_domain_holds_the_other(world, run_playbook, tmp_path):
    flags_before = world["imap"].flags()
    result = run_playbook(playbook(tmp_path, world), timeout=LONG_RUN)
    result.assert_ok(changed=0)
    reports = result.task_result("Read the reports")
    assert reports["promotions"] == ["complete.test dmarc -> quarantine"]
    assert reports["stages"] == {COMPLETE: {"dmarc": "quarantine"}, PARTIAL: {"dmarc": "none"}}
    digest = {entry["domain"]: entry for entry in reports["digest"]["domains"]}
    complete = digest[COMPLETE]["dmarc"]
    assert complete["reports"] == 8 and complete["messages"] == 8 * 16 and complete["own_messages"] == 8 * 12
    own = {source["source_ip"]: source["own"] for source in complete["sources"]}
    assert own == {OWN_ADDRESS: True, "2001:db8::7": True, "198.51.100.7": False, "203.0.113.5": False}
    ptr = {source["source_ip"]: source["ptr"] for source in complete["sources"]}
    assert ptr[OWN_ADDRESS] == "mail.complete.test" and ptr["203.0.113.5"] == ""
    assert reports["digest"]["stats"]["duplicates"] == 1 and reports["digest"]["stats"]["skipped"] == 1
    assert any("evil report" in warning and "DTD" in warning for warning in reports["warnings"])
    held = digest[PARTIAL]["decisions"][0]
    assert held["action"] == "hold" and any("cover 1 of the 7 days" in line for line in held["missing"]), held
    staged = {entry["name"]: entry for entry in reports["staged_domains"]}
    assert staged[COMPLETE]["dmarc"]["staging"]["published"] == "quarantine"
    assert world["imap"].flags() == flags_before  # EXAMINE and BODY.PEEK: no \\Seen
    assert world["imap"].password not in result.stdout
    checked = run_playbook(playbook(tmp_path, world), check=True, timeout=LONG_RUN)
    checked.assert_ok(changed=0)
    again = checked.task_result("Read the reports")
    assert (again["stages"], again["promotions"]) == (reports["stages"], reports["promotions"])


def test_same_reports_after_the_step_change_nothing(world, run_playbook, tmp_path):
    bind = world["bind"]
    update = bind.new_update(COMPLETE)
    update.replace("_dmarc", 3600, "TXT", '"v=DMARC1; p=quarantine; rua=mailto:dmarc@complete.test"')
    bind.send(update)
    try:
        reports = run_playbook(playbook(tmp_path, world), timeout=LONG_RUN).task_result("Read the reports")
        decision = [entry for entry in reports["digest"]["domains"] if entry["domain"] == COMPLETE][0]["decisions"][0]
        assert decision["current"] == "quarantine" and decision["publish"] == "quarantine" and decision["action"] == "hold"
        assert reports["promotions"] == []
    finally:
        update = bind.new_update(COMPLETE)
        update.replace("_dmarc", 3600, "TXT", '"v=DMARC1; p=none; rua=mailto:dmarc@complete.test"')
        bind.send(update)


def test_wrong_ca_fails_clearly(world, run_playbook, tmp_path):
    other = tmp_path / "other-ca.pem"
    TestCA().write_ca(other)
    result = run_playbook(playbook(tmp_path, dict(world, ca_path=str(other))), timeout=LONG_RUN)
    assert result.rc != 0
    assert any("certificate does not verify" in message for message in result.failure_messages()), result.failure_messages()
