"""tools/sandbox.py reads ansible-playbook's text and the verify report right: what ``make site`` decides on."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))), "tools"))
import sandbox  # noqa: E402  pylint: disable=wrong-import-position

OUTPUT = """
PLAY [Keep the DKIM keys and read the MX certificates] *************************

TASK [Keep or create each DKIM key] ********************************************
skipping: [localhost]
changed: [mail.hosting.test] => (item=delegated.test (dkim))
ok: [mx.dane.test] => (item=dane.test (dkim))

TASK [mailsec.posture.mailcow_mta_sts : Add the mta-sts names to mailcow.conf] ***
changed: [mail.hosting.test]

RUNNING HANDLER [mailsec.posture.mailcow_mta_sts : Recreate the mailcow containers] ***
skipping: [mail.hosting.test]

TASK [mailsec.posture.verify : Show the summary and where the report is] *******
ok: [localhost] => {
    "msg": "changed: [not a result line]"
}

PLAY RECAP *********************************************************************
localhost                  : ok=18   changed=0    unreachable=0    failed=1    skipped=9    rescued=0    ignored=0
mail.hosting.test          : ok=14   changed=2    unreachable=0    failed=0    skipped=11   rescued=0    ignored=0
"""


def test_recap_and_changed_tasks_are_read_from_the_default_output():
    recap, changed = sandbox.parse_output(OUTPUT.splitlines(keepends=True))
    assert recap == {
        "localhost": {"ok": 18, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 9, "rescued": 0, "ignored": 0},
        "mail.hosting.test": {"ok": 14, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 11, "rescued": 0, "ignored": 0},
    }
    assert changed == [("Keep or create each DKIM key", "mail.hosting.test"),
                       ("mailsec.posture.mailcow_mta_sts : Add the mta-sts names to mailcow.conf", "mail.hosting.test")]
    run = sandbox.RunResult(rc=2, seconds=1.0, recap=recap, changed_tasks=changed, log_path="/dev/null")
    assert (run.changed, run.failed, run.ok) == (2, 1, False)
    assert run.recap_line() == "ok=32  changed=2  unreachable=0  failed=1  skipped=20"


def test_a_run_without_a_recap_is_not_ok():
    recap, changed = sandbox.parse_output(["ERROR! the playbook could not be found\n"])
    assert (recap, changed) == ({}, [])
    assert not sandbox.RunResult(rc=0, seconds=0.1, recap=recap, changed_tasks=changed, log_path="/dev/null").ok


REPORT = {
    "modules": ["verify_dns", "verify_smtp_tls"],
    "summary_line": "2 domain(s): 1 pass, 0 warn, 1 fail (4 checks: 2 pass, 1 warn, 1 fail)",
    "domains": [
        {"domain": "a.test", "status": "pass", "checks": [{"name": "spf.record", "status": "pass", "detail": "ok"}]},
        {"domain": "long-name.test", "status": "fail", "checks": [
            {"name": "spf.record", "status": "pass", "detail": "ok"},
            {"name": "smtp.certificate_expiry", "status": "warn", "detail": "expires in 3 day(s)", "subject": "mx.long-name.test"},
            {"name": "dane.tlsa_match", "status": "fail", "detail": "no TLSA record matches"},
        ]},
    ],
}


def test_summary_counts_each_domains_checks_and_lists_every_one_that_did_not_pass(monkeypatch):
    monkeypatch.setattr(sandbox, "EXPLAINED_WARNINGS", {"smtp.certificate_expiry": "the test CA's certificates are short-lived"})
    assert sandbox.summary_lines(REPORT) == [
        "domain           pass   warn   fail  status",
        "a.test              1      0      0  pass",
        "long-name.test      1      1      1  fail",
        REPORT["summary_line"],
        "Checks that did not pass:",
        "  WARN long-name.test: smtp.certificate_expiry (mx.long-name.test): expires in 3 day(s)",
        "    why, here: the test CA's certificates are short-lived",
        "  FAIL long-name.test: dane.tlsa_match: no TLSA record matches",
    ]
    assert sandbox.unexplained_problems(REPORT) == [("long-name.test", "dane.tlsa_match")]


@pytest.mark.parametrize("explained, problems", [({}, [("long-name.test", "smtp.certificate_expiry"), ("long-name.test", "dane.tlsa_match")])])
def test_an_unexplained_warning_fails_the_sandbox(monkeypatch, explained, problems):
    monkeypatch.setattr(sandbox, "EXPLAINED_WARNINGS", explained)
    assert sandbox.unexplained_problems(REPORT) == problems
    assert sandbox.summary_lines({"summary_line": "0 domain(s)", "domains": []})[-1] == "Every check passed."


def test_a_domain_kind_must_be_known_and_decides_mx_and_policy_server():
    assert sandbox.MailDomain("x.test", "dane").mx == "mx.x.test"
    assert sandbox.MailDomain("x.test", "container").mx == sandbox.MAIL_HOST
    assert sandbox.MailDomain("x.test", "mailcow").policy_server == sandbox.MAIL_HOST
    assert sandbox.MailDomain("x.test", "dane").policy_server == sandbox.WEB_HOST
    with pytest.raises(ValueError, match="kind of x.test must be one of mailcow, container, dane, got 'postfix'"):
        sandbox.MailDomain("x.test", "postfix")


class CannedSandbox:
    """Stands in for a Sandbox: run_site returns the given RunResults in turn."""

    report_html = "/kept/report/mailsec-verify.html"
    report_json = "/kept/report/mailsec-verify.json"
    inventory_path = "/kept/inventory/hosts.yml"

    def __init__(self, *runs, report=None):
        self.runs = list(runs)
        self.report_data = report

    def run_site(self, log_name, echo=None):  # pylint: disable=unused-argument
        return self.runs.pop(0)

    def report(self):
        return self.report_data


def canned_run(rc=0, changed=0, failed=0, changed_tasks=()):
    recap = {"localhost": {"ok": 5, "changed": changed, "unreachable": 0, "failed": failed, "skipped": 0}}
    return sandbox.RunResult(rc=rc, seconds=1.0, recap=recap, changed_tasks=list(changed_tasks), log_path="/kept/run.log")


PASSING = {"modules": ["verify_dns"], "summary_line": "1 domain(s): 1 pass", "domains": [
    {"domain": "a.test", "status": "pass", "checks": [{"name": "spf.record", "status": "pass", "detail": "ok"}]}]}


def test_converge_passes_when_the_second_run_changes_nothing_and_every_check_passes():
    said = []
    outcome = sandbox.converge(CannedSandbox(canned_run(changed=3), canned_run(), report=PASSING), said.append)
    assert outcome.ok and outcome.report is PASSING
    assert "sandbox: changed=0 on the second run: the site is converged" in said
    assert "Report:    /kept/report/mailsec-verify.html" in said


def test_converge_fails_when_the_second_run_changes_something_and_names_the_task():
    said = []
    second = canned_run(changed=1, changed_tasks=[("mailsec.posture.dns : Publish the mail records", "localhost")])
    outcome = sandbox.converge(CannedSandbox(canned_run(changed=3), second, report=PASSING), said.append)
    assert not outcome.ok and outcome.report is None
    assert said[-2:] == ["sandbox: FAILED: the second run changed 1 thing(s), expected changed=0:",
                         "  localhost: mailsec.posture.dns : Publish the mail records"]


@pytest.mark.parametrize("runs, message", [
    ([canned_run(rc=2, failed=1)], "sandbox: FAILED: the first run failed (exit status 2); its output is in /kept/run.log"),
    ([canned_run(changed=3), canned_run(rc=4, failed=1)], "sandbox: FAILED: the second run failed (exit status 4); its output is in /kept/run.log"),
])
def test_converge_fails_when_a_run_fails(runs, message):
    said = []
    outcome = sandbox.converge(CannedSandbox(*runs, report=PASSING), said.append)
    assert not outcome.ok and said[-1] == message


def test_converge_fails_on_a_check_that_did_not_pass():
    said = []
    outcome = sandbox.converge(CannedSandbox(canned_run(changed=3), canned_run(), report=REPORT), said.append)
    assert not outcome.ok
    assert said[-1] == ("sandbox: FAILED: 2 check(s) did not pass: long-name.test smtp.certificate_expiry, "
                        "long-name.test dane.tlsa_match")
