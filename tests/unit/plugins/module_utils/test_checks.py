"""Tests of the verifiers' result shape and fail_on rule."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import checks


def results():
    good = checks.DomainChecks("good.example")
    good.passed("spf.record", "v=spf1 mx -all")
    weak = checks.DomainChecks("weak.example")
    weak.passed("spf.record", "ok")
    weak.warned("mta_sts.max_age", "max_age 3600 is under a day", subject="https://mta-sts.weak.example/")
    bad = checks.DomainChecks("bad.example")
    bad.failed("dmarc.record", "no DMARC record")
    bad.warned("spf.all", "~all")
    return [good.as_dict(), weak.as_dict(), bad.as_dict()]


def test_domain_status_is_the_worst_check():
    assert [result["status"] for result in results()] == ["pass", "warn", "fail"]
    assert checks.DomainChecks("empty.example").status == "pass"


def test_summary_counts_domains_and_checks():
    summary = checks.summarize(results())
    assert summary["domains"] == 3
    assert summary["domains_by_status"] == {"pass": 1, "warn": 1, "fail": 1}
    assert summary["checks_by_status"] == {"pass": 2, "warn": 2, "fail": 1}
    assert summary["status"] == "fail"


@pytest.mark.parametrize(
    "fail_on, count",
    [("fail", 1), ("warn", 3), ("never", 0)],
)
def test_fail_on_threshold(fail_on, count):
    assert len(checks.failing_checks(results(), fail_on)) == count


def test_failure_message_names_domain_check_subject_and_detail():
    message = checks.failure_message(results(), "warn")
    assert "bad.example: dmarc.record: no DMARC record" in message
    assert "weak.example: mta_sts.max_age [https://mta-sts.weak.example/]: max_age 3600 is under a day" in message
    assert checks.failure_message(results()[:1], "warn") is None


def test_failure_message_is_bounded():
    many = checks.DomainChecks("many.example")
    for index in range(120):
        many.failed("dkim.key", "missing %d" % index)
    message = checks.failure_message([many.as_dict()], "fail", limit=10)
    assert message.count("\n") == 11 and "and 110 more" in message


def test_from_verdict_maps_errors_and_warnings():
    domain = checks.DomainChecks("x.example")
    assert domain.from_verdict("a", {"errors": ["e1", "e2"], "warnings": ["w"]}, "ok")["status"] == "fail"
    assert domain.from_verdict("b", {"errors": [], "warnings": ["w"]}, "ok")["detail"] == "w"
    assert domain.from_verdict("c", {"errors": [], "warnings": []}, "fine")["status"] == "pass"


def test_unknown_status_and_fail_on_are_refused():
    with pytest.raises(ValueError):
        checks.DomainChecks("x.example").add("a", "ok", "detail")
    with pytest.raises(ValueError):
        checks.failing_checks([], "sometimes")
