"""The mailsec.posture.verify role through playbooks/verify.yml against real servers: BIND, nginx, SMTP.

It runs the three verifiers once each, writes the JSON and HTML report with every domain and check,
prints the summary and the report's path, and fails at the end when a check fails.
"""

import json
import os

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts
from harness import BindServer, NginxServer, Site, SmtpServer

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "verify.yml")
LONG_RUN = 240
ROLE = "mailsec.posture.verify : "
TASKS = (ROLE + "Verify the DNS records", ROLE + "Verify MTA-STS (the TXT record and the policy over HTTPS)",
         ROLE + "Verify SMTP STARTTLS and DANE of the MX hosts")
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmax_age: 604800\r\n"


def good_zone(domain):
    return ["@ MX 10 mail.good.test.", '@ TXT "v=spf1 mx -all"', '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@%s"' % domain,
            '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(POLICY), "mta-sts A 127.0.0.1",
            '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@%s"' % domain]


@pytest.fixture(scope="module")
def world(test_ca, tmp_path_factory):
    ca_path = str(test_ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem"))
    with SmtpServer("mail.good.test", test_ca) as smtp:
        zones = {"good.test": good_zone("good.test") + ["mail A 127.0.0.1"],
                 "also.test": good_zone("also.test"),
                 "third.test": good_zone("third.test"),
                 "bad.test": ["@ MX 10 mail.good.test.", '@ TXT "v=spf1 +all"']}
        with BindServer(zones) as bind, NginxServer([Site("mta-sts.%s" % name, files={mta_sts.POLICY_PATH: POLICY})
                                                     for name in ("good.test", "also.test", "third.test")], test_ca) as web:
            yield {"verify_nameservers": ["127.0.0.1:%d" % bind.port], "verify_https_port": web.https_port,
                   "verify_smtp_port": smtp.port, "verify_ca_path": ca_path, "verify_timeout": 3, "verify_concurrency": 4}


def run_role(run_playbook, world, tmp_path, domains, **extra):
    extra_vars = dict(world, verify_domains=domains, verify_report_dir=str(tmp_path / "report"))
    extra_vars.update(extra)
    return run_playbook(PLAYBOOK, extra_vars=extra_vars, timeout=LONG_RUN)


def module_checks(result):
    """(domain, check name) pairs each verifier task returned."""
    pairs = set()
    for task in TASKS:
        for entry in result.task_result(task)["domains"]:
            pairs.update((entry["domain"], check["name"]) for check in entry["checks"])
    return pairs


def test_role_writes_the_report_and_fails_at_the_end(world, run_playbook, tmp_path):
    result = run_role(run_playbook, world, tmp_path, ["good.test", "bad.test"])
    assert result.rc != 0
    failed = result.task_result(ROLE + "Fail when checks at or above verify_fail_on failed")
    assert failed["failed"] is True
    assert "bad.test: spf.all: +all: every host on the internet may send mail as bad.test" in failed["msg"]
    assert failed["msg"].endswith("Report: %s" % (tmp_path / "report" / "mailsec-verify.html"))

    report = json.loads((tmp_path / "report" / "mailsec-verify.json").read_text())
    page = (tmp_path / "report" / "mailsec-verify.html").read_text()
    assert [entry["domain"] for entry in report["domains"]] == ["good.test", "bad.test"]
    assert report["modules"] == ["verify_dns", "verify_mta_sts", "verify_smtp_tls"]
    in_report = {(entry["domain"], check["name"]) for entry in report["domains"] for check in entry["checks"]}
    expected = module_checks(result)
    assert expected and in_report == expected
    for domain, name in expected:
        assert ">%s<" % name in page and 'data-domain="%s"' % domain in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "<link" not in page and "src=" not in page  # self-contained
    assert {entry["domain"]: entry["status"] for entry in report["domains"]}["bad.test"] == "fail"

    shown = result.task_result(ROLE + "Show the summary and where the report is")["msg"]
    assert shown[0] == report["summary_line"] and shown[0].startswith("2 domain(s): ")
    assert str(tmp_path / "report" / "mailsec-verify.html") in shown[1]


def test_tasks_do_not_grow_with_the_domains(world, run_playbook, tmp_path):
    one = run_role(run_playbook, world, tmp_path / "one", ["good.test"], verify_fail_on="never")
    three = run_role(run_playbook, world, tmp_path / "three", ["good.test", "also.test", "third.test"], verify_fail_on="never")
    one.assert_ok()
    three.assert_ok()

    def task_names(result):
        return [task["task"]["name"] for play in result.data["plays"] for task in play["tasks"]]
    assert task_names(one) == task_names(three)
    assert one.stats == three.stats
    report = json.loads((tmp_path / "three" / "report" / "mailsec-verify.json").read_text())
    assert report["summary"]["domains"] == 3 and report["summary"]["status"] in ("pass", "warn")


def test_role_with_dns_only_and_the_model(world, run_playbook, tmp_path):
    model = [{"name": "good.test", "mx": ["mail.good.test"], "spf": {"mechanisms": ["mx"], "all": "fail"},
              "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@good.test"]},
              "mta_sts": {"mode": "enforce", "max_age": 604800, "policy_host_addresses": ["127.0.0.1"]},
              "tlsrpt": {"rua": ["mailto:tls@good.test"]}}]
    result = run_role(run_playbook, world, tmp_path, [], verify_checks=["dns"], mailsec_domains=model)
    result.assert_ok()
    report = json.loads((tmp_path / "report" / "mailsec-verify.json").read_text())
    assert report["modules"] == ["verify_dns"]
    statuses = {check["name"]: check["status"] for check in report["domains"][0]["checks"]}
    assert statuses["records.expected"] == "pass" and statuses["dmarc.policy"] == "pass"
    assert statuses["dkim.enabled"] == "off"  # DKIM is off in the model: off, never a pass
