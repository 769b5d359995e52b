"""The reports stage (playbooks/reports.yml) for MTA-STS staging, against real servers: BIND, nginx serving the
policies (mode testing), an SMTP server with STARTTLS, and dovecot holding TLS reports. The domain whose TLS
reports are clean for the days asked and whose MX passes verify_smtp_tls now goes to enforce; the one whose
reports show certificate failures at its MX stays in testing and says why."""

import os
import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts
from harness import BindServer, NginxServer, Site, SmtpServer, TestCA
from harness import reports as gen
from harness.dovecot import DovecotServer
from harness.playbook import local_inventory

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "reports.yml")
CLEAN, FAILING = "sts-clean.test", "sts-failing.test"
MX = "mail.good.test"
POLICY = "version: STSv1\r\nmode: testing\r\nmx: %s\r\nmax_age: 604800\r\n" % MX
LONG_RUN = 180


def zone():
    return ["@ MX 10 %s." % MX, '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(POLICY), "mta-sts A 127.0.0.1"]


def entry(domain):
    return {"name": domain, "mx": [MX], "dmarc": False, "mta_sts": {"mode": "enforce", "staging": {"days": 3, "min_messages": 50}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ca = TestCA()
    ca_path = str(ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem"))
    now = time.time()
    mails = [gen.tlsrpt_mail(domain, begin, mx=(MX,), successful=40) for domain in (CLEAN, FAILING) for begin in gen.days_back(now, 4)]
    mails.append(gen.tlsrpt_mail(FAILING, gen.days_back(now, 1)[0], org="microsoft.com", mx=(MX,), successful=10,
                                 failures=(("certificate-host-mismatch", MX, 3),)))
    zones = {CLEAN: zone(), FAILING: zone(), "good.test": ["mail A 127.0.0.1"]}
    with BindServer(zones) as bind, SmtpServer(MX, ca) as smtp, DovecotServer(ca) as imap, \
            NginxServer([Site("mta-sts.%s" % name, files={mta_sts.POLICY_PATH: POLICY}) for name in (CLEAN, FAILING)], ca) as web:
        imap.append(*mails)
        yield {
            "mailsec_domains": [entry(CLEAN), entry(FAILING)],
            "mailsec_report_sources": [{"type": "imap", "host": "127.0.0.1", "port": imap.port, "user": imap.user,
                                        "password": imap.password, "ca_path": ca_path}],
            "verify_nameservers": ["127.0.0.1:%d" % bind.port], "verify_https_port": web.https_port,
            "verify_smtp_port": smtp.port, "verify_ca_path": ca_path,
        }


@pytest.mark.parametrize("from_defaults", [False, True], ids=["staging-on-the-domain", "staging-from-defaults"])
def test_clean_tls_reports_and_a_passing_mx_promote_to_enforce_failures_hold(world, run_playbook, from_defaults):
    inventory = local_inventory()
    inventory["all"]["vars"] = dict(world)  # not extra vars: those outrank the decided stages, and the stage refuses them
    if from_defaults:
        inventory["all"]["vars"]["mailsec_domains"] = [{"name": name, "mx": [MX], "dmarc": False, "mta_sts": {"mode": "enforce"}}
                                                       for name in (CLEAN, FAILING)]
        inventory["all"]["vars"]["mailsec_domain_defaults"] = {"mta_sts": {"staging": {"days": 3, "min_messages": 50}}}
    result = run_playbook(PLAYBOOK, inventory=inventory, timeout=LONG_RUN)
    result.assert_ok(changed=0)
    reports = result.task_result("Read, summarise and decide")
    assert reports["stages"] == {CLEAN: {"mta_sts": "enforce"}, FAILING: {"mta_sts": "testing"}}
    decisions = {item["domain"]: item["decisions"][0] for item in reports["digest"]["domains"]}
    assert decisions[CLEAN]["current"] == "testing" and decisions[CLEAN]["action"] == "promote"
    assert decisions[FAILING]["action"] == "hold"
    assert "3 failed session(s) of type certificate-host-mismatch at your MX hosts" in decisions[FAILING]["problems"]
    tls = {item["domain"]: item["tlsrpt"] for item in reports["digest"]["domains"]}
    assert tls[FAILING]["by_result_type"] == {"certificate-host-mismatch": 3}
    assert [org["org_name"] for org in tls[FAILING]["organisations"]] == ["google.com", "microsoft.com"]
    staged = {item["name"]: item for item in reports["staged_domains"]}
    assert staged[CLEAN]["mta_sts"]["staging"]["published"] == "enforce"
