"""mailsec.posture.verify_mta_sts against real servers: BIND for the records, nginx for the policies.

One world serves every case (started once for this module); each case is its own verifier call
that must name the failing check and come back within its timeout.
"""

import contextlib
import re
import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, records, verify_mta_sts
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model
from harness import BindServer, NginxServer, Site

TIMEOUT = 3.0
# What a call may take beyond its timeout: Python start-up of the pool, DNS, scheduling on a busy machine.
SLACK = 1.5
POLICY_PATH = mta_sts.POLICY_PATH
LONG_RUN = 120  # seconds an ansible-playbook run may take


def policy(mx, mode="enforce", max_age=604800):
    lines = ["version: STSv1", "mode: %s" % mode] + ["mx: %s" % pattern for pattern in mx] + ["max_age: %d" % max_age]
    return "\r\n".join(lines) + "\r\n"


# The model of the domains whose records come from the collection's own engine.
MODEL = [
    {"name": "good.test", "mx": ["mail.good.test"], "mta_sts": {"mode": "enforce", "max_age": 604800}},
    {"name": "drift.test", "mx": ["mail.drift.test"], "mta_sts": {"mode": "enforce", "max_age": 604800}},
    {"name": "off.test", "mx": ["mail.off.test"], "mta_sts": False},
]


def model_policy(name):
    model = normalize_model(MODEL)
    spec = next(spec for spec in model["domains"] if spec["name"] == name)
    return records.mta_sts_policy(spec)


GOOD_POLICY = model_policy("good.test")
GOOD_ID = mta_sts.policy_id(GOOD_POLICY)
LARGE_POLICY_OCTETS = len(policy(["mail.large.test"])) + 65 * 1024


def case(site=None, zone=(), txt=True, host=True):
    """A domain of the world: its policy site (None: no site), extra zone lines, whether the
    default ``_mta-sts`` TXT record (True, or an id) and ``mta-sts`` A record exist."""
    return {"site": site, "zone": list(zone), "txt": txt, "host": host}


def served(mx, **options):
    return {"files": {POLICY_PATH: policy(mx, **options)}}


CASES = {
    "good.test": case({"files": {POLICY_PATH: GOOD_POLICY}}, txt=GOOD_ID),
    # Serves an older policy (mode testing) under an older id than the model's.
    "drift.test": case(served(["mail.drift.test"], mode="testing"), txt="old1"),
    "cname.test": case(served(["mail.cname.test"]), zone=["_mta-sts CNAME _mta-sts.good.test."], txt=False),
    "notfound.test": case({"status": 404}),
    "redirect.test": case({"redirect": "https://www.redirect.test/mta-sts.txt"}),
    "wrongname.test": case(dict(served(["mail.wrongname.test"]), certificate="wrong_name")),
    "expired.test": case(dict(served(["mail.expired.test"]), certificate="expired")),
    "untrusted.test": case(dict(served(["mail.untrusted.test"]), certificate="untrusted")),
    "html.test": case(dict(served(["mail.html.test"]), content_type="text/html")),
    "large.test": case({"files": {POLICY_PATH: policy(["mail.large.test"]) + "#" * (LARGE_POLICY_OCTETS - len(policy(["mail.large.test"])))}}),
    # Headers and the start of the body at full speed, then one octet a second: it never finishes.
    "slow.test": case({"files": {POLICY_PATH: policy(["mail.slow.test"]) * 40}, "slow": True, "slow_after": 400}),
    "star.test": case(served(["*"])),
    "uncovered.test": case(served(["mail.uncovered.test"]), zone=["@ MX 20 mail2.elsewhere.test."]),
    "wildcard.test": case(served(["*.wildcard.test"]), zone=["@ MX 20 mx2.wildcard.test.", "mx2 A 127.0.0.1"]),
    "testing.test": case(served(["mail.testing.test"], mode="testing")),
    "shortage.test": case(served(["mail.shortage.test"], max_age=3600)),
    "twotxt.test": case(served(["mail.twotxt.test"]), zone=['_mta-sts TXT "v=STSv1; id=second"']),
    "notxt.test": case(served(["mail.notxt.test"]), txt=False),
    "nohost.test": case(None, host=False),
    "off.test": case(None, txt=False, host=False),
}


def zone_for(domain, spec):
    lines = ["@ MX 10 mail", "mail A 127.0.0.1"]
    if spec["host"]:
        lines.append("mta-sts A 127.0.0.1")
    if spec["txt"]:
        identifier = spec["txt"] if isinstance(spec["txt"], str) else "v1" + domain.split(".")[0]
        lines.append('_mta-sts TXT "v=STSv1; id=%s"' % identifier)
    return lines + spec["zone"]


class World:
    def __init__(self, bind, web, ca_path):
        self.bind = bind
        self.web = web
        self.ca_path = ca_path

    def params(self, **options):
        params = {
            "domains": None, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
            "nameservers": ["127.0.0.1:%d" % self.bind.port], "timeout": TIMEOUT, "concurrency": 8,
            "ca_path": self.ca_path, "expected": None, "fail_on": "fail", "expiry_warn_days": 14,
            "port": self.web.https_port, "expected_mode": None,
        }
        params.update(options)
        return params

    def verify(self, **options):
        params = self.params(**options)
        began = time.monotonic()
        result, failure = verify_mta_sts.run(params)
        elapsed = time.monotonic() - began
        assert elapsed < params["timeout"] + SLACK, "the call took %.2f s with a timeout of %.1f s" % (elapsed, params["timeout"])
        return result, failure


@pytest.fixture(scope="module")
def world(test_ca, tmp_path_factory):
    zones = {domain: zone_for(domain, spec) for domain, spec in CASES.items()}
    sites = [Site("mta-sts." + domain, **spec["site"]) for domain, spec in CASES.items() if spec["site"] is not None]
    ca_path = test_ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem")
    with contextlib.ExitStack() as stack:
        bind = stack.enter_context(BindServer(zones))
        web = stack.enter_context(NginxServer(sites, test_ca))
        yield World(bind, web, str(ca_path))


def checks_by_name(domain_result):
    found = {}
    for check in domain_result["checks"]:
        assert check["name"] not in found, "check %s reported twice" % check["name"]
        found[check["name"]] = check
    return found


def only_domain(result):
    assert len(result["domains"]) == 1
    return result["domains"][0]


GOOD_CHECKS = [
    "mta_sts.txt", "mta_sts.policy_host", "mta_sts.policy_certificate", "mta_sts.policy_fetch", "mta_sts.policy_redirect",
    "mta_sts.policy_size", "mta_sts.policy_content_type", "mta_sts.policy", "mta_sts.mode", "mta_sts.max_age", "mta_sts.mx_coverage",
]


def test_good_domain_passes_every_check(world):
    result, failure = world.verify(domains=["Good.Test."])
    entry = only_domain(result)
    assert failure is None
    assert entry["domain"] == "good.test" and entry["status"] == "pass"
    assert [check["name"] for check in entry["checks"]] == GOOD_CHECKS
    assert all(check["status"] == "pass" for check in entry["checks"]), entry["checks"]
    found = checks_by_name(entry)
    assert found["mta_sts.txt"]["detail"] == "v=STSv1; id=%s" % GOOD_ID
    assert found["mta_sts.policy_host"]["detail"] == "mta-sts.good.test resolves to 127.0.0.1"
    assert "valid for mta-sts.good.test" in found["mta_sts.policy_certificate"]["detail"]
    assert found["mta_sts.mx_coverage"]["detail"] == "every MX matches a pattern: mail.good.test (mail.good.test)"
    facts = entry["mta_sts"]
    assert (facts["mode"], facts["max_age"], facts["mx"], facts["id"]) == ("enforce", 604800, ["mail.good.test"], GOOD_ID)
    assert facts["policy_id"] == GOOD_ID  # the id the collection derives matches what is published
    assert facts["fetch"]["status"] == 200 and facts["fetch"]["address"] == "127.0.0.1"
    reference = facts["fetch"]["certificate"]
    assert reference["name_covered"] is True and reference["covered_by"] == "mta-sts.good.test"
    assert result["certificates"][reference["sha256"]]["names_shown"] == ["mta-sts.good.test"]
    assert reference["sha256"][:16] in found["mta_sts.policy_certificate"]["detail"]
    assert result["summary"] == {
        "domains": 1, "domains_by_status": {"pass": 1, "warn": 0, "fail": 0},
        "checks_by_status": {"pass": len(GOOD_CHECKS), "warn": 0, "fail": 0}, "status": "pass",
    }


def test_txt_record_reached_through_a_cname(world):
    entry = only_domain(world.verify(domains=["cname.test"])[0])
    found = checks_by_name(entry)
    assert found["mta_sts.txt"]["status"] == "pass"
    assert found["mta_sts.txt"]["detail"] == "v=STSv1; id=%s (via CNAME _mta-sts.good.test)" % GOOD_ID
    assert entry["status"] == "pass"


def test_wildcard_pattern_covers_one_label(world):
    found = checks_by_name(only_domain(world.verify(domains=["wildcard.test"])[0]))
    assert found["mta_sts.mx_coverage"]["status"] == "pass"
    assert "mail.wildcard.test (*.wildcard.test)" in found["mta_sts.mx_coverage"]["detail"]
    assert "mx2.wildcard.test (*.wildcard.test)" in found["mta_sts.mx_coverage"]["detail"]


FAULTS = [
    ("notfound.test", "mta_sts.policy_fetch", "fail", "HTTP 404 Not Found; senders accept only 200"),
    ("redirect.test", "mta_sts.policy_redirect", "fail", "HTTP 301 redirect to https://www.redirect.test/mta-sts.txt"),
    ("wrongname.test", "mta_sts.policy_certificate", "fail", "the certificate is not valid for mta-sts.wrongname.test"),
    ("expired.test", "mta_sts.policy_certificate", "fail", "the certificate has expired"),
    ("untrusted.test", "mta_sts.policy_certificate", "fail", "the certificate chain does not lead to a trusted CA"),
    ("html.test", "mta_sts.policy_content_type", "warn", "Content-Type is text/html"),
    ("large.test", "mta_sts.policy_size", "fail", "the policy is %d octets; senders may refuse more than 65536" % (LARGE_POLICY_OCTETS,)),
    ("slow.test", "mta_sts.policy_fetch", "fail", "no complete answer within 3 s"),
    ("star.test", "mta_sts.policy", "fail", "'*' alone is not an mx pattern"),
    ("star.test", "mta_sts.mx_coverage", "fail", "MX mail.star.test not covered by the policy's mx patterns (*)"),
    ("uncovered.test", "mta_sts.mx_coverage", "fail", "MX mail2.elsewhere.test not covered by the policy's mx patterns (mail.uncovered.test)"),
    ("testing.test", "mta_sts.mode", "warn", "mode testing: senders report TLS failures"),
    ("shortage.test", "mta_sts.max_age", "warn", "max_age 3600 is under a day"),
    ("twotxt.test", "mta_sts.txt", "fail", "more than one v=STSv1 record"),
    ("notxt.test", "mta_sts.txt", "fail", "no TXT record at _mta-sts.notxt.test (NXDOMAIN)"),
    ("nohost.test", "mta_sts.policy_host", "fail", "mta-sts.nohost.test has no A or AAAA record (NXDOMAIN)"),
    ("nothere.test", "mta_sts.txt", "fail", "no TXT record at _mta-sts.nothere.test (NXDOMAIN)"),
]


@pytest.mark.parametrize("domain, name, status, detail", FAULTS, ids=["%s-%s" % (case[0].split(".")[0], case[1].split(".")[1]) for case in FAULTS])
def test_fault_is_named_by_its_check(world, domain, name, status, detail):
    result, failure = world.verify(domains=[domain])
    entry = only_domain(result)
    found = checks_by_name(entry)
    assert name in found, "no %s check in %s" % (name, [check["name"] for check in entry["checks"]])
    assert found[name]["status"] == status, found[name]
    assert detail in found[name]["detail"]
    assert entry["status"] == status or entry["status"] == "fail"
    if status == "fail":
        assert "%s: %s" % (domain, name) in failure
    else:
        assert failure is None or name not in failure


@pytest.mark.parametrize("domain", ["wrongname.test", "expired.test", "untrusted.test"])
def test_rejected_certificate_is_described(world, domain):
    result = world.verify(domains=[domain])[0]
    facts = only_domain(result)["mta_sts"]["fetch"]
    assert facts["error"] == "tls-verify"
    assert facts["verify_reason"] == {"wrongname.test": "name-mismatch", "expired.test": "expired", "untrusted.test": "untrusted"}[domain]
    # The probe read the certificate it refused, to say what it was.
    reference = facts["certificate"]
    described = result["certificates"][reference["sha256"]]
    assert described["names_shown"] == (["wrong-name.invalid"] if domain == "wrongname.test" else ["mta-sts." + domain])
    assert reference["name_covered"] is (domain != "wrongname.test")
    assert facts["status"] is None  # no request was sent over a connection that did not verify


def test_without_the_ca_the_good_domain_is_untrusted(world):
    result, _failure = world.verify(domains=["good.test"], ca_path=None)
    found = checks_by_name(only_domain(result))
    assert found["mta_sts.policy_certificate"]["status"] == "fail"
    assert "does not lead to a trusted CA" in found["mta_sts.policy_certificate"]["detail"]


def test_dns_server_down_fails_within_the_timeout(world):
    with BindServer({"down.test": ["@ MX 10 mail"]}) as stopped:
        nameserver = "127.0.0.1:%d" % stopped.port
    result, _failure = world.verify(domains=["good.test"], nameservers=[nameserver], timeout=2.0)
    found = checks_by_name(only_domain(result))
    assert found["mta_sts.txt"]["status"] == "fail" and "the lookup failed" in found["mta_sts.txt"]["detail"]
    assert found["mta_sts.policy_host"]["status"] == "fail"
    assert "mta_sts.policy_fetch" not in found  # never connects anywhere without the nameservers' answer


def test_model_good_and_drifted_and_off(world):
    result, failure = world.verify(mailsec_domains=MODEL)
    entries = {entry["domain"]: entry for entry in result["domains"]}
    assert list(entries) == ["good.test", "drift.test", "off.test"]

    good = checks_by_name(entries["good.test"])
    assert entries["good.test"]["status"] == "pass"
    assert good["mta_sts.txt_expected"]["detail"] == "id=%s as expected" % GOOD_ID
    assert good["mta_sts.policy_expected"]["status"] == "pass"

    drift = checks_by_name(entries["drift.test"])
    assert drift["mta_sts.mode"] == {"name": "mta_sts.mode", "status": "fail", "detail": "mode testing, expected enforce"}
    assert drift["mta_sts.txt_expected"]["status"] == "fail"
    assert "live id=old1, expected id=%s" % mta_sts.policy_id(model_policy("drift.test")) in drift["mta_sts.txt_expected"]["detail"]
    assert drift["mta_sts.policy_expected"]["status"] == "fail"
    assert "mode is testing, expected enforce" in drift["mta_sts.policy_expected"]["detail"]

    off = {"name": "mta_sts.enabled", "status": "pass", "detail": "MTA-STS is off for this domain in the inventory; nothing to check"}
    assert entries["off.test"]["checks"] == [off]
    assert "drift.test: mta_sts.mode: mode testing, expected enforce" in failure
    assert "good.test:" not in failure


def test_expected_records_compare_ids_and_policy_hash(world):
    expected = records.desired_records(normalize_model(MODEL[:2], mail_host="web.test"))
    result, _failure = world.verify(domains=["good.test", "drift.test"], expected=expected)
    good, drift = (checks_by_name(entry) for entry in result["domains"])
    assert good["mta_sts.policy_expected"]["detail"] == "the policy served hashes to the expected id %s" % GOOD_ID
    assert drift["mta_sts.policy_expected"]["status"] == "fail"
    assert "hashes to id %s" % mta_sts.policy_id(policy(["mail.drift.test"], mode="testing")) in drift["mta_sts.policy_expected"]["detail"]
    assert "mta_sts.mode" in drift and drift["mta_sts.mode"]["status"] == "warn"  # no expected mode without a model


def test_expected_mode_option(world):
    found = checks_by_name(only_domain(world.verify(domains=["testing.test"], expected_mode="testing")[0]))
    assert found["mta_sts.mode"] == {"name": "mta_sts.mode", "status": "pass", "detail": "mode testing as expected"}
    found = checks_by_name(only_domain(world.verify(domains=["good.test"], expected_mode="testing")[0]))
    assert found["mta_sts.mode"]["status"] == "fail"


def test_many_domains_in_one_call_come_back_in_order(world):
    domains = [domain for domain in CASES if domain != "slow.test"]
    began = time.monotonic()
    result, failure = world.verify(domains=domains, concurrency=4)
    assert time.monotonic() - began < TIMEOUT
    assert [entry["domain"] for entry in result["domains"]] == domains
    assert result["summary"]["domains"] == len(domains)
    assert result["summary"]["domains_by_status"]["pass"] == 3  # good, cname, wildcard
    assert failure.startswith("%d check(s) at or above 'fail'" % result["summary"]["checks_by_status"]["fail"])


def test_fail_on_warn_and_never(world):
    _result, failure = world.verify(domains=["html.test"], fail_on="warn")
    assert "html.test: mta_sts.policy_content_type" in failure
    _result, failure = world.verify(domains=["notfound.test"], fail_on="never")
    assert failure is None


@pytest.mark.parametrize("options, message", [
    ({"domains": ["bad_name..test"]}, "domains[0]"),
    ({"timeout": 0}, "timeout: must be a positive number"),
    ({"port": 70000}, "port: must be from 1 to 65535"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path /nonexistent/ca.pem does not exist"),
    ({"domains": None, "mailsec_domains": [{"name": "x.test", "mx": ["mail.x.test"], "mta_sts": {"mode": "loud"}}]}, "mta_sts.mode"),
])
def test_bad_options_raise_errors_naming_the_field(world, options, message):
    params = world.params(**dict({"domains": ["good.test"]}, **options))
    with pytest.raises(verify_mta_sts.SpecError) as caught:
        verify_mta_sts.run(params)
    assert message in str(caught.value)


# ----- the module, through ansible-playbook ----------------------------------------------------

def module_play(world, domains, **options):
    task_options = {"domains": domains, "nameservers": ["127.0.0.1:%d" % world.bind.port], "port": world.web.https_port,
                    "ca_path": world.ca_path, "timeout": TIMEOUT}
    task_options.update(options)
    return [{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "verify", "mailsec.posture.verify_mta_sts": task_options, "register": "verified", "ignore_errors": True}],
    }]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_module_reports_and_never_changes(world, run_playbook, check):
    result = run_playbook(module_play(world, ["good.test", "html.test"]), check=check, timeout=LONG_RUN)
    task = result.task_result("verify")
    assert result.rc == 0 and result.changed == 0 and task["changed"] is False
    assert "results" not in task
    assert [entry["domain"] for entry in task["domains"]] == ["good.test", "html.test"]
    assert task["summary"]["domains_by_status"] == {"pass": 1, "warn": 1, "fail": 0}
    assert not task.get("failed")


def comparable(result):
    """What a run found, without the times it took (fetch timings, "in 0.004 s")."""
    entries = []
    for entry in result["domains"]:
        checks = [dict(check, detail=re.sub(r" in [0-9.]+ s$", "", check["detail"])) for check in entry["checks"]]
        entries.append((entry["domain"], entry["status"], checks))
    return entries, result["summary"]


def test_processes_change_nothing_but_the_time(world, counted_forks):
    forks = counted_forks
    domains = sorted(CASES)
    alone = world.verify(domains=domains, processes=1)
    assert forks == []
    spread = world.verify(domains=domains, processes=3)
    assert forks == [domains[1::3], domains[2::3]]
    assert comparable(spread[0]) == comparable(alone[0]) and spread[1] == alone[1]
    # The workers' certificate descriptions come back merged, once each, and leave the domains' entries.
    assert spread[0]["certificates"] == alone[0]["certificates"] and len(alone[0]["certificates"]) >= 4
    assert all(set(entry) == {"domain", "status", "checks", "mta_sts"} for entry in spread[0]["domains"])


def test_compact_results_leave_out_facts_and_passing_details_only(world):
    full, _failure = world.verify(domains=["good.test", "html.test"])
    compact, _failure = world.verify(domains=["good.test", "html.test"], facts=False, passing_checks="brief")
    assert compact["summary"] == full["summary"]
    assert all("mta_sts" not in entry for entry in compact["domains"]) and all("mta_sts" in entry for entry in full["domains"])
    for full_entry, entry in zip(full["domains"], compact["domains"]):
        assert [(check["name"], check["status"], check.get("subject")) for check in entry["checks"]] == \
            [(check["name"], check["status"], check.get("subject")) for check in full_entry["checks"]]
        for full_check, check in zip(full_entry["checks"], entry["checks"]):
            if check["status"] == "pass":
                assert "detail" not in check
            else:
                assert check["detail"] == full_check["detail"]
    warned = [check for check in compact["domains"][1]["checks"] if check["status"] == "warn"]
    assert [check["name"] for check in warned] == ["mta_sts.policy_content_type"] and "text/html" in warned[0]["detail"]
    omitted, _failure = world.verify(domains=["good.test", "html.test"], passing_checks="omit")
    assert omitted["summary"] == full["summary"] and "mta_sts" in omitted["domains"][0]
    assert [entry["checks"] for entry in omitted["domains"]] == [[], [check for check in full["domains"][1]["checks"] if check["status"] != "pass"]]


def test_module_spreads_over_processes_with_the_same_outcome(world, run_playbook):
    domains = ["good.test", "html.test", "redirect.test", "nohost.test"]
    result = run_playbook(module_play(world, domains, processes=2, fail_on="never"), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert result.rc == 0 and not task.get("failed")
    assert [(entry["domain"], entry["status"]) for entry in task["domains"]] == [
        ("good.test", "pass"), ("html.test", "warn"), ("redirect.test", "fail"), ("nohost.test", "fail")]
    bad = run_playbook(module_play(world, domains, processes=-1), timeout=LONG_RUN).task_result("verify")
    assert bad["failed"] is True and bad["msg"].startswith("processes: must be 0 (automatic) or a positive number of processes")


def test_module_fails_with_domain_check_and_detail(world, run_playbook):
    result = run_playbook(module_play(world, ["good.test", "redirect.test"]), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert task["failed"] is True and task["changed"] is False
    assert task["msg"].startswith("1 check(s) at or above 'fail':\nredirect.test: mta_sts.policy_redirect [https://mta-sts.redirect.test:")
    assert [entry["status"] for entry in task["domains"]] == ["pass", "fail"]


def test_module_rejects_bad_input_without_a_traceback(world, run_playbook):
    result = run_playbook(module_play(world, ["not a domain"]), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert task["failed"] is True
    assert "domains[0]" in task["msg"] and "Traceback" not in result.stdout
