"""The reports stage without mailsec_report_sources, through playbooks/dns.yml against a real BIND: a staged
domain publishes the stage that is live (no report, no promotion), never the first stage below it. The
staging may come from the domain or from mailsec_domain_defaults."""

import os
import socket

import dns.message
import dns.query
import pytest

from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model
from harness.playbook import local_inventory

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "dns.yml")
MAIL_HOST = "mail.rollout.test"
LIVE = {"at-reject.test": "reject", "at-quarantine.test": "quarantine"}
FRESH = "fresh.test"  # no DMARC record yet: the first stage
LONG_RUN = 180


def entry(name, staging=True):
    dmarc = {"policy": "reject", "rua": ["mailto:dmarc@%s" % name]}
    if staging:
        dmarc["staging"] = {"enabled": True, "days": 7}
    return {"name": name, "spf": {"mechanisms": ["mx"]}, "dmarc": dmarc, "mta_sts": False, "tlsrpt": False}


def live_zones():
    """Every record the inventory asks for, each DMARC at its live stage; fresh.test without its DMARC."""
    published = [entry(name) for name in list(LIVE) + [FRESH]]
    for item in published:
        item["dmarc"]["staging"]["published"] = LIVE.get(item["name"], "none")
    records = desired_records(normalize_model(published, mail_host=MAIL_HOST))
    zones = {"rollout.test": ["mail A 127.0.0.1"]}
    for name in list(LIVE) + [FRESH]:
        zones[name] = [record for record in records if record["zone"] == name and not (name == FRESH and record["standard"] == "dmarc")]
    return zones


def served_dmarc(bind, name):
    response = dns.query.tcp(dns.message.make_query("_dmarc.%s." % name, "TXT"), bind.address, port=bind.port, timeout=5)
    return [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset if rrset.rdtype == 16]


def site_inventory(bind, domains, defaults=None):
    """The inventory, as users keep it (extra vars would outrank the decided stages the reports stage sets as facts)."""
    key = bind.tsig_key
    values = {"mailsec_domains": domains, "mailsec_mail_host": MAIL_HOST, "mailsec_zones": ["rollout.test"],
              "verify_nameservers": ["127.0.0.1:%d" % bind.port],
              "dns_server": bind.address, "dns_port": bind.port, "dns_key_name": key["name"], "dns_key_secret": key["secret"]}
    if defaults:
        values["mailsec_domain_defaults"] = defaults
    inventory = local_inventory()
    inventory["all"]["vars"] = values
    return inventory


def decisions(result):
    reports = result.task_result("Read, summarise and decide")
    return {item["domain"]: item["decisions"][0] for item in reports["digest"]["domains"] if item["decisions"]}


@pytest.mark.parametrize("from_defaults", [False, True], ids=["staging-on-the-domain", "staging-from-defaults"])
def test_without_report_sources_the_live_stage_holds(bind_server, run_playbook, from_defaults):
    bind = bind_server(live_zones())
    if from_defaults:
        domains = [entry(name, staging=False) for name in list(LIVE) + [FRESH]]
        inventory = site_inventory(bind, domains, defaults={"dmarc": {"staging": {"enabled": True, "days": 7}}})
    else:
        inventory = site_inventory(bind, [entry(name) for name in list(LIVE) + [FRESH]])

    first = run_playbook(PLAYBOOK, inventory=inventory, timeout=LONG_RUN)
    first.assert_ok(changed=1)  # fresh.test's first DMARC record, nothing else
    zones = first.task_result("mailsec.posture.dns : Publish the mail records with RFC 2136 dynamic updates")["zones"]
    assert {zone for zone, summary in zones.items() if summary["added"] or summary["changed"] or summary["removed"]} == {FRESH}, zones
    for name, policy in LIVE.items():
        assert served_dmarc(bind, name) == ["v=DMARC1; p=%s; rua=mailto:dmarc@%s" % (policy, name)]
    assert served_dmarc(bind, FRESH) == ["v=DMARC1; p=none; rua=mailto:dmarc@%s" % FRESH]
    decided = decisions(first)
    assert decided["at-reject.test"]["action"] == "done" and decided["at-reject.test"]["publish"] == "reject"
    held = decided["at-quarantine.test"]
    assert (held["action"], held["publish"]) == ("hold", "quarantine")
    assert "no report sources configured: holding at quarantine" in held["explanation"], held
    assert decided[FRESH]["publish"] == "none"

    # The next run reads fresh.test's p=none as live and holds it there: nothing changes.
    again = run_playbook(PLAYBOOK, inventory=inventory, timeout=LONG_RUN)
    again.assert_ok(changed=0)
    assert decisions(again)[FRESH]["explanation"] == "hold dmarc at none: no report sources configured: holding at none"
    assert served_dmarc(bind, "at-reject.test") == ["v=DMARC1; p=reject; rua=mailto:dmarc@at-reject.test"]


def test_mailsec_domains_as_extra_vars_stops_before_the_dns_stage_lowers_a_stage(bind_server, run_playbook):
    bind = bind_server(live_zones())
    inventory = site_inventory(bind, [entry(name) for name in list(LIVE) + [FRESH]])
    result = run_playbook(PLAYBOOK, inventory=inventory, extra_vars={"mailsec_domains": inventory["all"]["vars"]["mailsec_domains"]},
                          timeout=LONG_RUN)
    assert result.rc != 0, result.stdout[-4000:]
    assert any("keep mailsec_domains in the inventory" in message for message in result.failure_messages()), result.failure_messages()
    assert served_dmarc(bind, "at-reject.test") == ["v=DMARC1; p=reject; rua=mailto:dmarc@at-reject.test"]
    assert served_dmarc(bind, FRESH) == []


STS_LIVE = {"sts-enforce.test": "enforce", "sts-testing.test": "testing"}
STS_UNKNOWN = "sts-unknown.test"  # its TXT id matches neither stage's policy


def sts_entry(name):
    return {"name": name, "mx": [MAIL_HOST], "spf": False, "dmarc": False, "tlsrpt": False,
            "mta_sts": {"mode": "enforce", "staging": {"enabled": True, "days": 7}}}


def sts_zones():
    """Each staged domain's records at its live stage (the policy host is a CNAME to the mail host, 127.0.0.1)."""
    zones = {"rollout.test": ["mail A 127.0.0.1"]}
    for name in list(STS_LIVE) + [STS_UNKNOWN]:
        item = sts_entry(name)
        item["mta_sts"]["staging"]["published"] = STS_LIVE.get(name, "testing")
        zones[name] = [record for record in desired_records(normalize_model([item], mail_host=MAIL_HOST)) if record["zone"] == name]
    zones[STS_UNKNOWN] = [record for record in zones[STS_UNKNOWN] if "_mta-sts" not in str(record)]
    zones[STS_UNKNOWN].append('_mta-sts TXT "v=STSv1; id=0123456789abcdef0123"')
    return zones


def served_txt(bind, name):
    response = dns.query.tcp(dns.message.make_query(name, "TXT"), bind.address, port=bind.port, timeout=5)
    return [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset if rrset.rdtype == 16]


def test_an_unfetchable_policy_keeps_the_mode_its_txt_id_names(bind_server, run_playbook, tmp_path):
    """The policy hosts are down (nothing on the HTTPS port): the live mode comes from the _mta-sts TXT id, so
    enforce is never lowered to testing; an id that matches no stage's policy holds at testing and says why."""
    bind = bind_server(sts_zones())
    inventory = site_inventory(bind, [sts_entry(name) for name in list(STS_LIVE) + [STS_UNKNOWN]])
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    inventory["all"]["vars"]["verify_https_port"] = closed.getsockname()[1]  # bound, not listening: refused at once
    before = {name: served_txt(bind, "_mta-sts.%s." % name) for name in STS_LIVE}
    try:
        result = run_playbook(PLAYBOOK, inventory=inventory, timeout=LONG_RUN)
    finally:
        closed.close()
    result.assert_ok()
    decided = decisions(result)
    assert decided["sts-enforce.test"]["publish"] == "enforce", decided["sts-enforce.test"]
    assert decided["sts-enforce.test"]["action"] == "done"
    assert any("the live mode enforce, from the _mta-sts TXT record's id" in seen for seen in decided["sts-enforce.test"]["saw"])
    assert (decided["sts-testing.test"]["action"], decided["sts-testing.test"]["publish"]) == ("hold", "testing")
    unknown = decided[STS_UNKNOWN]
    assert (unknown["action"], unknown["publish"]) == ("hold", "testing")
    assert "no _mta-sts TXT id that matches a stage's policy" in unknown["explanation"], unknown
    for name in STS_LIVE:
        assert served_txt(bind, "_mta-sts.%s." % name) == before[name], name
