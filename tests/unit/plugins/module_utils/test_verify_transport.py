"""Unit tests of the transport verifiers' pure parts: inputs, expected records, policy comparison,
the MTA-STS mode that decides certificate severity. The network parts run against real servers in
tests/integration/test_verify_mta_sts.py and test_verify_smtp_tls.py."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, records, verify_input, verify_mta_sts, verify_smtp_tls
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Answer
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model


def test_names_are_normalized_and_deduplicated_in_order():
    targets, model = verify_input.targets(domains=["Example.COM.", "bücher.example", "example.com"])
    assert [target.name for target in targets] == ["example.com", "xn--bcher-kva.example"]
    assert model is None and all(target.spec is None for target in targets)


def test_a_bad_name_names_its_position():
    with pytest.raises(SpecError) as caught:
        verify_input.targets(domains=["example.com", "exa mple.com"])
    assert caught.value.field == "domains[1]"


def test_model_entries_become_targets_with_their_specs():
    targets, model = verify_input.targets(mailsec_domains=[{"name": "example.com", "mta_sts": {"mode": "enforce"}}],
                                          mail_host="mail.example.com")
    (target,) = targets
    assert target.name == "example.com" and target.spec["mta_sts"]["mode"] == "enforce"
    assert target.spec["mx"] == [{"host": "mail.example.com", "priority": 10}]
    assert model["mail_host"] == "mail.example.com"


def test_a_model_entry_with_an_unreadable_pem_path_names_the_field(tmp_path):
    entry = {"name": "example.com", "mx": ["mail.example.com"], "dane": {"certificate": str(tmp_path / "missing.pem")}}
    with pytest.raises(SpecError) as caught:
        verify_input.targets(mailsec_domains=[entry])
    assert caught.value.field == "dane.certificate" and caught.value.domain == "example.com"


def test_expected_records_follow_cnames_to_the_shared_mta_sts_record():
    model = normalize_model(
        [{"name": "a.example", "mx": ["mail.example.net"], "mta_sts": {"mode": "enforce", "delegate_to": "mail.example.net"}},
         {"name": "b.example", "mx": ["mail.example.net"], "mta_sts": {"mode": "enforce", "delegate_to": "mail.example.net"}}],
        mail_host="mail.example.net",
    )
    expected = verify_input.Expected(records.desired_records(model))
    policy = records.mta_sts_policy(model["domains"][0])
    assert expected.follow("_mta-sts.a.example", "TXT") == (["v=STSv1; id=%s" % mta_sts.policy_id(policy)], ["_mta-sts.mail.example.net"])
    assert expected.mta_sts_id("b.example") == mta_sts.policy_id(policy)
    assert expected.mta_sts_id("c.example") is None
    assert not verify_input.Expected([]) and expected


def test_expected_records_must_have_name_type_and_value():
    with pytest.raises(SpecError) as caught:
        verify_input.Expected([{"name": "x.example.", "type": "TXT"}])
    assert caught.value.field == "expected[0]"


@pytest.mark.parametrize("options, field", [
    ({"timeout": 0}, "timeout"),
    ({"concurrency": 0}, "concurrency"),
    ({"expiry_warn_days": -1}, "expiry_warn_days"),
])
def test_common_options_are_checked(options, field):
    values = dict({"timeout": 5.0, "concurrency": 4, "ca_path": None, "expiry_warn_days": 14}, **options)
    with pytest.raises(SpecError) as caught:
        verify_input.check_common_options(**values)
    assert caught.value.field == field


POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"


def test_policies_that_mean_the_same_have_no_differences():
    reordered = "version: STSv1\nmax_age: 604800\nmx: *.EXAMPLE.net\nmode: enforce\nmx: mail.example.com.\n"
    assert verify_mta_sts.policy_differences(mta_sts.parse_policy(reordered), mta_sts.parse_policy(POLICY)) == []


def test_policy_differences_name_each_field():
    live = mta_sts.parse_policy("version: STSv1\nmode: testing\nmx: mail.example.com\nmx: backup.example.org\nmax_age: 86400\n")
    assert verify_mta_sts.policy_differences(live, mta_sts.parse_policy(POLICY)) == [
        "mode is testing, expected enforce",
        "max_age is 86400, expected 604800",
        "mx *.example.net missing",
        "mx backup.example.org not expected",
    ]


def answer(name, rtype, kind, records=(), authenticated=False):
    return Answer(name, rtype, kind, records, authenticated=authenticated, detail="%s from 127.0.0.1:53" % kind.upper())


def test_mx_exchanges_sorted_by_preference_and_null_mx():
    mx = answer("example.com", "MX", "ok", [(20, "b.example.com"), (10, "a.example.com"), (10, "a.example.com")])
    assert verify_smtp_tls._mx_exchanges(mx) == [(10, "a.example.com"), (20, "b.example.com")]  # pylint: disable=protected-access
    null = answer("example.com", "MX", "ok", [(0, "")])
    assert verify_smtp_tls._mx_exchanges(null) == [] and verify_smtp_tls._is_null_mx(null)  # pylint: disable=protected-access
    assert verify_smtp_tls._mx_exchanges(answer("example.com", "MX", "servfail")) == []  # pylint: disable=protected-access


def live_with(mode=None, txt="v=STSv1; id=1"):
    live = verify_mta_sts.LiveMtaSts("example.com")
    live.txt = answer("_mta-sts.example.com", "TXT", "ok", [txt]) if txt else answer("_mta-sts.example.com", "TXT", "nxdomain")
    if mode:
        live.policy = mta_sts.parse_policy(POLICY.replace("enforce", mode))
    return live


def test_the_mode_that_decides_certificate_severity():
    plain = verify_input.Target("example.com")
    modeled = verify_input.Target("example.com", {"mta_sts": {"mode": "enforce"}})
    assert verify_smtp_tls.domain_mode(plain, live_with("testing"), "enforce") == ("enforce", "the mta_sts_mode option")
    assert verify_smtp_tls.domain_mode(modeled, live_with("testing"), "auto") == ("testing", "the live MTA-STS policy")
    assert verify_smtp_tls.domain_mode(modeled, live_with(None), "auto")[0] == "enforce"
    assert verify_smtp_tls.domain_mode(plain, live_with(None), "auto") == (None, "an MTA-STS record whose policy could not be read")
    assert verify_smtp_tls.domain_mode(plain, live_with(None, txt=None), "auto") == (None, "no MTA-STS policy")


def test_expected_tlsa_from_the_model_only_for_its_own_mx_and_port():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    model = normalize_model([{"name": "example.com", "mx": ["mail.example.com"], "dane": {"public_key": pem}}])
    target = verify_input.Target("example.com", model["domains"][0])
    nothing = verify_input.Expected()
    (value,) = verify_smtp_tls.expected_tlsa(target, nothing, verify_smtp_tls.MxHost("mail.example.com", 25))
    assert value.startswith("3 1 1 ")
    assert verify_smtp_tls.expected_tlsa(target, nothing, verify_smtp_tls.MxHost("mail.example.com", 2525)) == []
    assert verify_smtp_tls.expected_tlsa(target, nothing, verify_smtp_tls.MxHost("other.example.com", 25)) == []
    records_given = verify_input.Expected([{"name": "_25._tcp.mail.example.com.", "type": "TLSA", "value": "3 1 1 " + "ab" * 32}])
    assert verify_smtp_tls.expected_tlsa(target, records_given, verify_smtp_tls.MxHost("mail.example.com", 25)) == ["3 1 1 " + "ab" * 32]


def domain_result(domain, *checks):
    status = "fail" if any(check[1] == "fail" for check in checks) else "warn" if any(check[1] == "warn" for check in checks) else "pass"
    return {"domain": domain, "status": status, "checks": [{"name": name, "status": check_status, "detail": detail, "subject": domain}
                                                           for name, check_status, detail in checks]}


@pytest.mark.parametrize("passing_checks", ["full", "brief", "omit"])
def test_passing_checks_shape_the_result_but_not_the_summary_or_the_message(passing_checks):
    results = [domain_result("a.example", ("mta_sts.txt", "pass", "v=STSv1; id=1"), ("mta_sts.mode", "warn", "mode testing")),
               domain_result("b.example", ("mta_sts.txt", "fail", "no TXT record"))]
    full, full_message = verify_input.outcome([dict(entry, checks=[dict(check) for check in entry["checks"]]) for entry in results], "warn")
    result, message = verify_input.outcome(results, "warn", passing_checks)
    assert result["summary"] == full["summary"] and result["summary"]["checks_by_status"] == {"pass": 1, "warn": 1, "fail": 1}
    assert message == full_message and "a.example: mta_sts.mode [a.example]: mode testing" in message
    first = result["domains"][0]["checks"]
    expected = {"full": [{"name": "mta_sts.txt", "status": "pass", "detail": "v=STSv1; id=1", "subject": "a.example"}],
                "brief": [{"name": "mta_sts.txt", "status": "pass", "subject": "a.example"}], "omit": []}[passing_checks]
    assert first[:-1] == expected and first[-1]["detail"] == "mode testing"
    assert result["domains"][1]["checks"] == full["domains"][1]["checks"]


def test_unknown_passing_checks_is_refused():
    with pytest.raises(SpecError) as caught:
        verify_input.check_passing_checks("some")
    assert caught.value.field == "passing_checks"
