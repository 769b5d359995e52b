"""Tests of the MTA-STS engine (RFC 8461): spec, policy and TXT building, strict parsing, MX matching."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError

# RFC 8461 3.2, the example policy (the RFC shows it with one field per line).
RFC_POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"
# RFC 8461 3.1, the example TXT record value.
RFC_TXT = "v=STSv1; id=20160831085700Z;"
# The seeds: the mailcow guide's policy (invalid: "mx: *") and TXT, the blog's policy and TXT.
SEED_MAILCOW_POLICY = "version: STSv1\nmode: enforce\nmax_age: 172800\nmx: *\n"
SEED_MAILCOW_TXT = "v=STSv1; id=20220324000000Z"
SEED_BLOG_POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"
SEED_BLOG_TXT = "v=STSv1; id=20250526T000000;"


def policy(*lines, ending="\n"):
    return "".join(line + ending for line in lines)


VALID_LINES = ("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 604800")


def errors_contain(result, fragment):
    return any(fragment in error for error in result["errors"])


def warnings_contain(result, fragment):
    return any(fragment in warning for warning in result["warnings"])


# ---------------------------------------------------------------------------------------------
# Names


def test_names_of_the_txt_record_policy_host_and_url():
    assert mta_sts.txt_name("Example.COM.") == "_mta-sts.example.com"
    assert mta_sts.policy_host("example.com") == "mta-sts.example.com"
    assert mta_sts.policy_url("example.com") == "https://mta-sts.example.com/.well-known/mta-sts.txt"
    assert mta_sts.policy_url("b\u00fccher.example") == "https://mta-sts.xn--bcher-kva.example/.well-known/mta-sts.txt"


def test_names_reject_a_bad_domain():
    with pytest.raises(SpecError, match="not fully qualified"):
        mta_sts.txt_name("localhost")


# ---------------------------------------------------------------------------------------------
# Spec normalization


def test_spec_none_and_true_give_defaults_testing_one_week_and_the_mx_hosts():
    for spec in (None, True, {}):
        normalized = mta_sts.normalize_spec(spec, "example.com", ["mail.example.com"])
        assert normalized == {
            "domain": "example.com",
            "mode": "testing",
            "max_age": 604800,
            "mx": ["mail.example.com"],
            "delegate_to": None,
            "policy_host": None,
            "policy_host_addresses": [],
        }
    assert mta_sts.DEFAULT_MODE == "testing"
    assert mta_sts.DEFAULT_MAX_AGE == 604800
    assert mta_sts.MAX_AGE_LIMIT == 31557600
    assert mta_sts.MODES == ("enforce", "testing", "none")


@pytest.mark.parametrize("spec", [False, {"enabled": False}])
def test_spec_false_turns_mta_sts_off(spec):
    assert mta_sts.normalize_spec(spec, "example.com", ["mail.example.com"]) is None


def test_spec_full_mapping_is_normalized():
    normalized = mta_sts.normalize_spec(
        {
            "mode": "enforce",
            "max_age": "86400",
            "mx": ["Mail.Example.COM.", "*.backup.example.net", "mail.example.com"],
            "delegate_to": "MAIL.example.com",
            "policy_host": "web.example.org.",
        },
        "example.com",
        ["mail.example.com"],
    )
    assert normalized["mode"] == "enforce"
    assert normalized["max_age"] == 86400
    assert normalized["mx"] == ["mail.example.com", "*.backup.example.net"]
    assert normalized["delegate_to"] == "mail.example.com"
    assert normalized["policy_host"] == "web.example.org"


def test_spec_policy_host_addresses_are_checked_and_compressed():
    normalized = mta_sts.normalize_spec(
        {"policy_host_addresses": ["192.0.2.10", "2001:db8:0:0::1", "192.0.2.10"]}, "example.com", ["mail.example.com"]
    )
    assert normalized["policy_host_addresses"] == ["192.0.2.10", "2001:db8::1"]


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"mode": "enforced"}, "mta_sts.mode", "must be one of enforce, testing, none, got 'enforced'"),
        ({"mode": "Enforce"}, "mta_sts.mode", "must be one of enforce, testing, none"),
        ({"max_age": -1}, "mta_sts.max_age", "must be at least 0, got -1"),
        ({"max_age": "-1"}, "mta_sts.max_age", "must be an integer"),
        ({"max_age": 31557601}, "mta_sts.max_age", "must be at most 31557600"),
        ({"max_age": "+5"}, "mta_sts.max_age", "must be an integer"),
        ({"max_age": True}, "mta_sts.max_age", "boolean"),
        ({"mx": ["*"]}, "mta_sts.mx[0]", "'*' alone is not an mx pattern"),
        ({"mx": ["mail.example.com", "mail.*.example.com"]}, "mta_sts.mx[1]", "only as the left-most label"),
        ({"mx": ["*.*.example.com"]}, "mta_sts.mx[0]", "only as the left-most label"),
        ({"mx": ["*mail.example.com"]}, "mta_sts.mx[0]", "whole left-most label"),
        ({"mx": ["bad_host.example.com"]}, "mta_sts.mx[0]", "inner hyphens"),
        ({"mx": [42]}, "mta_sts.mx[0]", "must be a host name"),
        ({"mx": []}, "mta_sts.mx", "needs at least one mx pattern"),
        ({"mx": ["other.example.org"]}, "mta_sts.mx", "no pattern covers the domain's MX host mail.example.com"),
        ({"mx": ["*.mail.example.com"]}, "mta_sts.mx", "no pattern covers"),
        ({"enabled": "yes"}, "mta_sts.enabled", "must be true or false"),
        ({"delegate_to": "example.com"}, "mta_sts.delegate_to", "is the domain itself"),
        ({"delegate_to": "not a host"}, "mta_sts.delegate_to", "inner hyphens"),
        ({"policy_host": "mta-sts.example.com"}, "mta_sts.policy_host", "point at its own name"),
        ({"policy_host_addresses": ["192.0.2.300"]}, "mta_sts.policy_host_addresses[0]", "not an IPv4 or IPv6 address"),
        (
            {"policy_host": "web.example.com", "policy_host_addresses": ["192.0.2.1"]},
            "mta_sts.policy_host_addresses",
            "not both",
        ),
        ({"modes": "enforce"}, "mta_sts.modes", "unknown option"),
        ("enforce", "mta_sts", "must be a mapping"),
    ],
)
def test_spec_errors_name_the_field_and_the_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        mta_sts.normalize_spec(spec, "example.com", ["mail.example.com"])
    assert info.value.field == field
    assert info.value.domain == "example.com"
    message = str(info.value)
    assert fragment in message and field in message and "example.com" in message


def test_spec_mode_none_may_have_no_mx():
    normalized = mta_sts.normalize_spec({"mode": "none", "mx": []}, "example.com", ["mail.example.com"])
    assert normalized["mx"] == []
    assert mta_sts.normalize_spec({"mode": "none"}, "example.com", [])["mx"] == []


def test_spec_without_mx_hosts_or_patterns_fails_unless_mode_none():
    with pytest.raises(SpecError, match="needs at least one mx pattern"):
        mta_sts.normalize_spec({"mode": "enforce"}, "example.com", [])


def test_spec_wildcard_covering_the_mx_hosts_is_accepted():
    normalized = mta_sts.normalize_spec({"mode": "enforce", "mx": ["*.example.com"]}, "example.com", ["mx1.example.com", "mx2.example.com"])
    assert normalized["mx"] == ["*.example.com"]


def test_spec_bad_default_mx_host_names_the_domain_mx_field():
    with pytest.raises(SpecError) as info:
        mta_sts.normalize_spec(None, "example.com", ["mail.example.com", "bad host"])
    assert info.value.field == "mx[1]"


# ---------------------------------------------------------------------------------------------
# Building the policy, its id and the TXT record


def test_build_policy_is_canonical_with_crlf_and_a_final_line_end():
    normalized = mta_sts.normalize_spec(
        {"mode": "enforce", "mx": ["mail.example.com", "*.example.net", "backupmx.example.com"]}, "example.com", ["mail.example.com"]
    )
    text = mta_sts.build_policy(normalized)
    assert text == (
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
    )
    parsed = mta_sts.parse_policy(text)
    assert parsed["valid"] and parsed["warnings"] == [] and parsed["line_endings"] == "CRLF"


def test_build_policy_mode_none_without_mx():
    text = mta_sts.build_policy({"mode": "none", "mx": [], "max_age": 86400})
    assert text == "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n"
    assert mta_sts.parse_policy(text)["valid"]


def test_policy_id_is_alphanumeric_stable_and_pinned():
    identifier = mta_sts.policy_id(RFC_POLICY)
    assert re.match(r"^[A-Za-z0-9]{1,32}$", identifier)
    # Pinned: the id of a policy must never change between runs, versions or machines. It is
    # `printf 'version: STSv1\nmode: enforce\nmax_age: 604800\nmx: *.example.net\n
    # mx: backupmx.example.com\nmx: mail.example.com\n' | sha256sum | cut -c1-20` (the meaning,
    # mx sorted), computed outside Python.
    assert identifier == mta_sts.policy_id(RFC_POLICY)
    assert identifier == "ac8f470f8c424bb103a2"


@pytest.mark.parametrize(
    "variant",
    [
        RFC_POLICY.replace("\n", "\r\n"),
        RFC_POLICY.rstrip("\n"),
        RFC_POLICY.encode("utf-8"),
        RFC_POLICY.replace("mode: enforce", "mode:enforce"),
        RFC_POLICY.replace("mx: mail.example.com\n", "").replace("max_age", "mx: mail.example.com\nmax_age"),
        RFC_POLICY.replace("mail.example.com", "MAIL.example.com"),
    ],
    ids=["crlf", "no-final-line-end", "bytes", "no-space-after-colon", "mx-reordered", "mx-case"],
)
def test_policy_id_is_the_same_when_only_the_form_changes(variant):
    assert mta_sts.policy_id(variant) == mta_sts.policy_id(RFC_POLICY)


@pytest.mark.parametrize(
    "variant",
    [
        RFC_POLICY.replace("mx: backupmx.example.com\n", ""),
        RFC_POLICY.replace("backupmx.example.com", "backup2.example.com"),
        RFC_POLICY.replace("mode: enforce", "mode: testing"),
        RFC_POLICY.replace("604800", "604801"),
        RFC_POLICY + "note: extension\n",
    ],
    ids=["mx-removed", "mx-changed", "mode", "max_age", "extension"],
)
def test_policy_id_changes_when_the_meaning_changes(variant):
    assert mta_sts.policy_id(variant) != mta_sts.policy_id(RFC_POLICY)


def test_policy_id_of_invalid_policies_follows_the_text_with_line_ends_normalized():
    crlf = SEED_MAILCOW_POLICY.replace("\n", "\r\n")
    assert mta_sts.policy_id(SEED_MAILCOW_POLICY) == mta_sts.policy_id(crlf)
    assert mta_sts.policy_id(SEED_MAILCOW_POLICY) != mta_sts.policy_id(SEED_MAILCOW_POLICY.replace("172800", "172801"))


def test_build_txt_and_parse_txt_round_trip():
    value = mta_sts.build_txt("abc123")
    assert value == "v=STSv1; id=abc123"
    parsed = mta_sts.parse_txt(value)
    assert parsed["valid"] and parsed["id"] == "abc123" and parsed["warnings"] == []
    value = mta_sts.build_txt("abc123", {"ext.name": "value-1"})
    assert value == "v=STSv1; id=abc123; ext.name=value-1"
    assert mta_sts.parse_txt(value)["extensions"] == {"ext.name": "value-1"}


@pytest.mark.parametrize(
    "identifier, extensions, field",
    [
        ("", None, "mta_sts.id"),
        ("a" * 33, None, "mta_sts.id"),
        ("a-b", None, "mta_sts.id"),
        (None, None, "mta_sts.id"),
        ("abc", {"bad name": "x"}, "mta_sts.extensions.bad name"),
        ("abc", {"id": "x"}, "mta_sts.extensions.id"),
        ("abc", {"ok": "a;b"}, "mta_sts.extensions.ok"),
        ("abc", {"ok": "a b"}, "mta_sts.extensions.ok"),
    ],
)
def test_build_txt_rejects_bad_ids_and_extensions(identifier, extensions, field):
    with pytest.raises(SpecError) as info:
        mta_sts.build_txt(identifier, extensions)
    assert info.value.field == field


def test_built_id_is_a_valid_txt_id():
    text = mta_sts.build_policy(mta_sts.normalize_spec({"mode": "enforce"}, "example.com", ["mail.example.com"]))
    parsed = mta_sts.parse_txt(mta_sts.build_txt(mta_sts.policy_id(text)))
    assert parsed["valid"] and parsed["id"] == mta_sts.policy_id(text)


# ---------------------------------------------------------------------------------------------
# TXT parsing


@pytest.mark.parametrize(
    "text, identifier, extensions",
    [
        (RFC_TXT, "20160831085700Z", {}),
        (SEED_MAILCOW_TXT, "20220324000000Z", {}),
        (SEED_BLOG_TXT, "20250526T000000", {}),
        ("v=STSv1;id=a", "a", {}),
        ("v=STSv1;\tid=a ;", "a", {}),
        ("v=STSv1; id=a; ", "a", {}),
        ("v=STSv1; id=" + "Z" * 32, "Z" * 32, {}),
        ("v=STSv1; ext-1.x_y=a:b/c; id=x1", "x1", {"ext-1.x_y": "a:b/c"}),
        (["v=STSv1; ", "id=split1"], "split1", {}),
        ('"v=STSv1; " "id=quoted1"', "quoted1", {}),
        ([b"v=STSv1; id=bytes1"], "bytes1", {}),
    ],
)
def test_parse_txt_accepts_valid_records(text, identifier, extensions):
    parsed = mta_sts.parse_txt(text)
    assert parsed["valid"], parsed["errors"]
    assert parsed["errors"] == [] and parsed["warnings"] == []
    assert parsed["version"] == "STSv1" and parsed["id"] == identifier and parsed["extensions"] == extensions


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("v=STSv10; id=abc", "must begin with exactly 'v=STSv1'"),
        ("v=stsv1; id=abc", "case-sensitive"),
        ("V=STSv1; id=abc", "case-sensitive"),
        ("v=STSv2; id=abc", "must begin with exactly 'v=STSv1'"),
        (" v=STSv1; id=abc", "starts with white space"),
        ("id=abc; v=STSv1", "must begin with exactly 'v=STSv1'"),
        ("", "must begin with exactly 'v=STSv1'"),
        ("v=STSv1", "has no fields"),
        ("v=STSv1;", "has no fields"),
        ("v=STSv1; ; ", "has no fields"),
        ("v=STSv1; id=" + "a" * 33, "is 33 characters long"),
        ("v=STSv1; id=abc-def", "may hold only letters and digits"),
        ("v=STSv1; id=", "id is empty"),
        ("v=STSv1; id = abc", "contains white space"),
        ("v=STSv1; id=ab c", "contains white space"),
        ("v=STSv1;; id=abc", "empty field"),
        ("v=STSv1; ext=1", "has no id field"),
        ("v=STSv1; ID=abc", "field 'ID' is not 'id'"),
        ("v=STSv1; id=abc; junk", "is not name=value"),
        ("v=STSv1; id=abc; _x=1", "is not a field name"),
        ("v=STSv1; id=abc; x=a=b", "invalid value"),
        ("v=STSv1 id=abc", "must be separated by ';'"),
        ("v=STSv1; id=abc; %s=1" % ("a" * 33), "is not a field name"),
    ],
)
def test_parse_txt_rejects_invalid_records(text, fragment):
    parsed = mta_sts.parse_txt(text)
    assert not parsed["valid"]
    assert errors_contain(parsed, fragment), parsed["errors"]


def test_parse_txt_repeated_id_keeps_the_first_with_a_warning():
    parsed = mta_sts.parse_txt("v=STSv1; id=first; id=second")
    assert parsed["valid"] and parsed["id"] == "first"
    assert warnings_contain(parsed, "id appears more than once; senders use the first")


def test_parse_txt_repeated_extension_keeps_the_first():
    parsed = mta_sts.parse_txt("v=STSv1; id=a; x=1; x=2")
    assert parsed["valid"] and parsed["extensions"] == {"x": "1"}
    assert warnings_contain(parsed, "x appears more than once")


def test_parse_txt_white_space_before_the_first_semicolon_is_valid_but_warned():
    parsed = mta_sts.parse_txt("v=STSv1 ; id=abc")
    assert parsed["valid"] and parsed["id"] == "abc"
    assert warnings_contain(parsed, "literal prefix 'v=STSv1;'")


def test_parse_txt_trailing_white_space_without_semicolon_fails():
    # RFC 8461 3.1: the record ends with a field or with *WSP ";" *WSP; bare trailing white space is outside it.
    parsed = mta_sts.parse_txt("v=STSv1; id=abc  ")
    assert not parsed["valid"]
    assert any("outside RFC 8461 3.1's grammar: a failure" in error for error in parsed["errors"]), parsed["errors"]
    assert mta_sts.parse_txt("v=STSv1; id=abc ;  ")["valid"]  # the grammar's optional delimiter, with its white space


def test_parse_txt_never_raises_on_garbage():
    for text in (None, 42, "\x00\x01", "v=STSv1;\x00", ["v=STSv1;", None]):
        assert mta_sts.parse_txt(text)["valid"] is False


# ---------------------------------------------------------------------------------------------
# Choosing the record among the TXT values at _mta-sts


def test_select_txt_picks_the_one_sts_record_and_ignores_others():
    result = mta_sts.select_txt(["v=spf1 -all", RFC_TXT, "google-site-verification=abc", "v=STSv10; id=x"])
    assert result["valid"] and result["id"] == "20160831085700Z"
    assert result["record"] == RFC_TXT and result["candidates"] == [RFC_TXT]


def test_select_txt_two_records_means_no_policy():
    result = mta_sts.select_txt(["v=STSv1; id=one", "v=STSv1; id=two"])
    assert not result["valid"] and result["id"] is None and result["record"] is None
    assert result["errors"] == ["more than one v=STSv1 record: senders treat the domain as having no policy (RFC 8461 3.1)"]
    assert result["candidates"] == ["v=STSv1; id=one", "v=STSv1; id=two"]


@pytest.mark.parametrize(
    "values, hint",
    [
        ([], None),
        (["v=spf1 -all"], None),
        (["v=STSv10; id=abc"], "version must be exactly 'v=STSv1'"),
        (["v=stsv1; id=abc"], "version must be exactly 'v=STSv1'"),
        ([" v=STSv1; id=abc"], "starts with white space"),
    ],
)
def test_select_txt_without_a_record_is_an_error(values, hint):
    result = mta_sts.select_txt(values)
    assert not result["valid"]
    assert result["errors"] == ["no TXT record begins with v=STSv1 (RFC 8461 3.1)"]
    if hint:
        assert warnings_contain(result, hint)
    else:
        assert result["warnings"] == []


def test_select_txt_reports_the_chosen_record_errors():
    result = mta_sts.select_txt(["v=STSv1; id=bad-id"])
    assert not result["valid"] and result["record"] == "v=STSv1; id=bad-id"
    assert errors_contain(result, "may hold only letters and digits")


def test_select_txt_accepts_character_string_lists():
    result = mta_sts.select_txt([[b"v=STSv1; ", b"id=abc"], "v=spf1 -all"])
    assert result["valid"] and result["id"] == "abc"


# ---------------------------------------------------------------------------------------------
# Policy parsing


def test_parse_policy_rfc_example():
    parsed = mta_sts.parse_policy(RFC_POLICY)
    assert parsed["valid"] and parsed["errors"] == [] and parsed["warnings"] == []
    assert parsed["version"] == "STSv1"
    assert parsed["mode"] == "enforce"
    assert parsed["mx"] == ["mail.example.com", "*.example.net", "backupmx.example.com"]
    assert parsed["max_age"] == 604800
    assert parsed["extensions"] == {}
    assert parsed["line_endings"] == "LF"


def test_parse_policy_seed_blog_is_valid():
    parsed = mta_sts.parse_policy(SEED_BLOG_POLICY)
    assert parsed["valid"] and parsed["mx"] == ["mail.example.com"]


def test_parse_policy_seed_mailcow_mx_star_is_invalid_and_says_why():
    parsed = mta_sts.parse_policy(SEED_MAILCOW_POLICY)
    assert not parsed["valid"]
    assert parsed["errors"] == [
        "line 4: '*' alone is not an mx pattern: RFC 8461 3.2 allows a host name or '*.' followed by a domain "
        "(e.g. '*.example.com'), so senders reject the policy or match no MX at all"
    ]


@pytest.mark.parametrize(
    "text, fragment",
    [
        (policy("version: STSv1", "mode: enforce", "mx: mail.*.example.com", "max_age: 86400"), "only as the left-most label"),
        (policy("version: STSv1", "mode: enforce", "mx: *.*.example.com", "max_age: 86400"), "only as the left-most label"),
        (policy("version: STSv1", "mode: enforce", "mx: m*.example.com", "max_age: 86400"), "whole left-most label"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com.", "max_age: 86400"), "ends in a dot"),
        (policy("version: STSv1", "mode: enforce", "mx: mail", "max_age: 86400"), "not fully qualified"),
        (policy("version: STSv1", "mode: enforce", "mx: m\u00e4il.example.com", "max_age: 86400"), "not ASCII"),
        (policy("version: STSv1", "mode: enforce", "mx: under_score.example.com", "max_age: 86400"), "inner hyphens"),
        (policy("version: STSv1", "mode: enforce", "mx:", "max_age: 86400"), "mx pattern is empty"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 31557601"), "over the limit of 31557600"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: +5"), "1 to 10 digits"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: -1"), "1 to 10 digits"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 12345678901"), "1 to 10 digits"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 1 day"), "1 to 10 digits"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age:"), "1 to 10 digits"),
        (policy("version: STSv1", "mode: enforced", "mx: mail.example.com", "max_age: 86400"), "mode must be one of enforce, testing, none"),
        (policy("version: STSv1", "mode: Enforce", "mx: mail.example.com", "max_age: 86400"), "must be written in lower case"),
        (policy("version: STSv2", "mode: enforce", "mx: mail.example.com", "max_age: 86400"), "version must be 'STSv1'"),
        (policy("version: stsv1", "mode: enforce", "mx: mail.example.com", "max_age: 86400"), "version must be 'STSv1'"),
        (policy("mode: enforce", "mx: mail.example.com", "max_age: 86400"), "version is required"),
        (policy("version: STSv1", "mx: mail.example.com", "max_age: 86400"), "mode is required"),
        (policy("version: STSv1", "mode: enforce", "mx: mail.example.com"), "max_age is required"),
        (policy("version: STSv1", "mode: enforce", "max_age: 86400"), "at least one mx is required unless mode is none"),
        (policy("version: STSv1", "mode: testing", "max_age: 86400"), "at least one mx is required unless mode is none"),
        (policy("Version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 86400"), "version is required"),
        (policy(" version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 86400"), "is not a field name"),
        (policy("version : STSv1", "mode: enforce", "mx: mail.example.com", "max_age: 86400"), "no white space before ':'"),
        (policy("version: STSv1", "mode enforce", "mx: mail.example.com", "max_age: 86400"), "is not 'name: value'"),
        (policy(*VALID_LINES, "note:"), "field note has an empty or invalid value"),
        (policy(*VALID_LINES, "note: a\x01b"), "field note has an empty or invalid value"),
        ("version: STSv1\rmode: enforce\nmx: mail.example.com\nmax_age: 86400\n", "carriage return that is not followed by a line feed"),
        ("\ufeff" + policy(*VALID_LINES), "byte order mark"),
        (b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\nnote: \xff\n", "not valid UTF-8"),
        ("", "version is required"),
    ],
)
def test_parse_policy_rejects_invalid_policies(text, fragment):
    parsed = mta_sts.parse_policy(text)
    assert not parsed["valid"]
    assert errors_contain(parsed, fragment), parsed["errors"]


def test_parse_policy_capitalized_mode_is_an_unknown_field():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "Mode: enforce", "mx: mail.example.com", "max_age: 604800"))
    assert not parsed["valid"] and parsed["mode"] is None
    assert parsed["extensions"] == {"Mode": "enforce"}
    assert errors_contain(parsed, "mode is required")
    assert warnings_contain(parsed, "field 'Mode' is not 'mode': field names are case-sensitive")


def test_parse_policy_duplicate_mode_first_wins():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: testing", "mode: enforce", "mx: mail.example.com", "max_age: 604800"))
    assert parsed["valid"] and parsed["mode"] == "testing"
    assert warnings_contain(parsed, "line 3: mode appears more than once; senders use the first")


def test_parse_policy_duplicate_max_age_first_wins_even_when_the_first_is_invalid():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: enforce", "mx: a.example.com", "max_age: x", "max_age: 604800"))
    assert not parsed["valid"] and parsed["max_age"] is None
    assert errors_contain(parsed, "1 to 10 digits") and warnings_contain(parsed, "max_age appears more than once")


def test_parse_policy_mx_may_repeat():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: enforce", "mx: a.example.com", "mx: b.example.com", "max_age: 604800"))
    assert parsed["valid"] and parsed["mx"] == ["a.example.com", "b.example.com"] and parsed["warnings"] == []


@pytest.mark.parametrize(
    "text, endings",
    [
        (policy(*VALID_LINES), "LF"),
        (policy(*VALID_LINES, ending="\r\n"), "CRLF"),
        ("version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 604800", "mixed"),
        (policy(*VALID_LINES).rstrip("\n"), "LF"),
    ],
)
def test_parse_policy_accepts_lf_crlf_and_mixed_line_ends(text, endings):
    parsed = mta_sts.parse_policy(text)
    assert parsed["valid"] and parsed["warnings"] == []
    assert parsed["line_endings"] == endings
    assert parsed["mx"] == ["mail.example.com"] and parsed["max_age"] == 604800


def test_parse_policy_without_line_end_reports_none():
    assert mta_sts.parse_policy("version: STSv1")["line_endings"] is None


def test_parse_policy_unknown_field_is_reported_not_an_error():
    parsed = mta_sts.parse_policy(policy(*VALID_LINES, "comment: served by m\u00fcller's nginx", "x-1.y: z"))
    assert parsed["valid"] and parsed["warnings"] == []
    assert parsed["extensions"] == {"comment": "served by m\u00fcller's nginx", "x-1.y": "z"}


def test_parse_policy_mode_none_without_mx_is_valid_with_a_warning():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: none", "max_age: 86400"))
    assert parsed["valid"] and parsed["mx"] == [] and parsed["mode"] == "none"
    assert warnings_contain(parsed, "mode none")


def test_parse_policy_mode_testing_is_warned():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: testing", "mx: mail.example.com", "max_age: 604800"))
    assert parsed["valid"] and parsed["warnings"] == [
        "mode testing: senders report TLS failures but still deliver; switch to enforce once reports are clean"
    ]


@pytest.mark.parametrize("max_age, warned", [("0", True), ("86399", True), ("86400", False), ("0031557600", False), ("31557600", False)])
def test_parse_policy_short_max_age_is_warned(max_age, warned):
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: enforce", "mx: mail.example.com", "max_age: " + max_age))
    assert parsed["valid"] and parsed["max_age"] == int(max_age)
    assert warnings_contain(parsed, "less than a day") is warned


@pytest.mark.parametrize(
    "line",
    ["mode:enforce", "mode:   enforce", "mode:\tenforce\t ", "mode: enforce   "],
)
def test_parse_policy_white_space_after_colon_and_at_line_end_is_allowed(line):
    parsed = mta_sts.parse_policy(policy("version: STSv1", line, "mx: mail.example.com", "max_age: 604800"))
    assert parsed["valid"] and parsed["mode"] == "enforce"


def test_parse_policy_blank_lines_fail():
    # RFC 8461 3.2: sts-policy-term (LF / CRLF) separates fields; two in a row are outside the grammar.
    parsed = mta_sts.parse_policy(policy("version: STSv1", "", "mode: enforce", "mx: mail.example.com", "max_age: 604800", ""))
    assert not parsed["valid"]
    assert [error.split(":")[0] for error in parsed["errors"]] == ["line 2 is empty", "line 6 is empty"]
    assert all("a failure: a sender that parses the policy by the grammar treats the domain as having no policy" in error
               for error in parsed["errors"])
    assert parsed["mode"] == "enforce" and parsed["max_age"] == 604800  # the fields are still read


def test_parse_policy_version_not_first_is_a_warning():
    parsed = mta_sts.parse_policy(policy("mode: enforce", "version: STSv1", "mx: mail.example.com", "max_age: 604800"))
    assert parsed["valid"]
    assert any("line 1, the first field, is 'mode', not version: a warning" in warning for warning in parsed["warnings"])
    assert not any("first field" in warning for warning in mta_sts.parse_policy(RFC_POLICY)["warnings"])


def test_parse_policy_accepts_utf8_bytes():
    parsed = mta_sts.parse_policy(RFC_POLICY.encode("utf-8"))
    assert parsed["valid"] and parsed["mx"][1] == "*.example.net"


def test_parse_policy_never_raises_on_garbage():
    for text in (None, b"\x00\xff\xfe", "\x00:\x00", ":", "\r\r\r", "a" * 10000):
        assert mta_sts.parse_policy(text)["valid"] is False


# ---------------------------------------------------------------------------------------------
# MX matching (RFC 8461 4.1)

PATTERNS = ["mail.example.com", "*.example.net", "backupmx.example.com"]


@pytest.mark.parametrize(
    "host, pattern",
    [
        ("mail.example.com", "mail.example.com"),
        ("MAIL.Example.COM", "mail.example.com"),
        ("mail.example.com.", "mail.example.com"),
        ("mx1.example.net", "*.example.net"),
        ("MX1.EXAMPLE.NET.", "*.example.net"),
        ("backupmx.example.com", "backupmx.example.com"),
        ("example.net", None),
        ("a.b.example.net", None),
        ("mail.example.org", None),
        ("other.example.com", None),
        ("xmail.example.com", None),
        ("example.com", None),
        ("", None),
        ("*.example.net", None),
    ],
)
def test_matching_pattern_table(host, pattern):
    assert mta_sts.matching_pattern(host, PATTERNS) == pattern
    assert mta_sts.mx_matches(host, PATTERNS) is (pattern is not None)


def test_invalid_patterns_match_nothing():
    for pattern in ("*", "*.", "mail.*.example.com", "*.*.example.com", ""):
        assert not mta_sts.mx_matches("mail.example.com", [pattern])
        assert not mta_sts.mx_matches("a.mail.example.com", [pattern])


def test_pattern_case_and_trailing_dot_are_ignored():
    assert mta_sts.matching_pattern("mx.example.com", ["*.EXAMPLE.com."]) == "*.EXAMPLE.com."


def test_internationalized_host_matches_its_a_label_pattern():
    assert mta_sts.mx_matches("mail.b\u00fccher.example", ["*.xn--bcher-kva.example"])


def test_mx_pattern_errors_lists_nothing_for_valid_patterns():
    for pattern in ("mail.example.com", "*.example.com", "Mail.Example.COM", "xn--bcher-kva.example"):
        assert mta_sts.mx_pattern_errors(pattern) == []


# ---------------------------------------------------------------------------------------------
# Properties

_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_TLD = st.sampled_from(["com", "net", "org", "example", "xn--p1ai"])
_DOMAIN = st.builds(lambda labels, tld: ".".join(labels + [tld]), st.lists(_LABEL, min_size=1, max_size=3), _TLD)
_PATTERN = st.builds(lambda wildcard, domain: ("*." if wildcard else "") + domain, st.booleans(), _DOMAIN)


@st.composite
def _specs(draw):
    mode = draw(st.sampled_from(mta_sts.MODES))
    patterns = draw(st.lists(_PATTERN, min_size=0 if mode == "none" else 1, max_size=5))
    max_age = draw(st.integers(min_value=0, max_value=mta_sts.MAX_AGE_LIMIT))
    return {"mode": mode, "mx": patterns, "max_age": draw(st.sampled_from([max_age, str(max_age)]))}


@settings(max_examples=200, deadline=None)
@given(_specs())
def test_parse_policy_gives_back_any_built_spec(spec):
    normalized = mta_sts.normalize_spec(spec, "example.com", [])
    text = mta_sts.build_policy(normalized)
    parsed = mta_sts.parse_policy(text)
    assert parsed["valid"], parsed["errors"]
    assert parsed["mode"] == spec["mode"]
    assert parsed["max_age"] == int(spec["max_age"])
    assert parsed["mx"] == list(dict.fromkeys(spec["mx"]))
    assert parsed["line_endings"] == "CRLF"
    lf = text.replace("\r\n", "\n")
    assert mta_sts.parse_policy(lf)["line_endings"] == "LF"
    assert mta_sts.policy_id(lf) == mta_sts.policy_id(text)
    assert mta_sts.parse_txt(mta_sts.build_txt(mta_sts.policy_id(text)))["valid"]


@settings(max_examples=200, deadline=None)
@given(_LABEL, _LABEL, _DOMAIN)
def test_wildcard_matches_exactly_one_label(first, second, domain):
    pattern = "*." + domain
    assert mta_sts.mx_matches("%s.%s" % (first, domain), [pattern])
    assert not mta_sts.mx_matches("%s.%s.%s" % (first, second, domain), [pattern])
    assert not mta_sts.mx_matches(domain, [pattern])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.lists(st.text(max_size=20), max_size=4)))
def test_parsers_never_raise(value):
    for parser in (mta_sts.parse_txt, mta_sts.parse_policy, mta_sts.select_txt):
        result = parser(value)
        assert result["valid"] is (not result["errors"])


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True))
def test_any_valid_id_round_trips_through_the_txt_record(identifier):
    parsed = mta_sts.parse_txt(mta_sts.build_txt(identifier))
    assert parsed["valid"] and parsed["id"] == identifier


def test_mode_none_with_a_short_max_age_is_not_warned_about_the_age():
    parsed = mta_sts.parse_policy(policy("version: STSv1", "mode: none", "max_age: 0"))
    assert parsed["valid"] and not warnings_contain(parsed, "less than a day")
