"""Tests of the engine's shared helpers: TXT joining/splitting, tag-lists, spec coercion."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import common
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


@pytest.mark.parametrize(
    "value, joined",
    [
        ("v=spf1 -all", "v=spf1 -all"),
        (["v=spf1 ", "mx -all"], "v=spf1 mx -all"),
        ([b"v=DKIM1; ", b"p=AB"], "v=DKIM1; p=AB"),
        ('"v=spf1 " "mx -all"', "v=spf1 mx -all"),
        ('"say \\"hi\\"" "\\059"', 'say "hi";'),
        (None, ""),
    ],
)
def test_join_txt_concatenates_without_separator(value, joined):
    assert common.join_txt(value) == joined


def test_join_txt_keeps_text_that_only_looks_quoted():
    assert common.join_txt('"a" b "c"') == '"a" b "c"'


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 600, 1000])
def test_split_txt_round_trips_and_respects_255_octets(length):
    value = ("x" * length)
    parts = common.split_txt(value)
    assert "".join(parts) == value
    assert all(len(part.encode()) <= 255 for part in parts)


def test_split_txt_never_cuts_a_utf8_character():
    value = "a" + "\u00e9" * 300
    parts = common.split_txt(value)
    assert "".join(parts) == value
    assert all(len(part.encode()) <= 255 for part in parts)


def test_parse_tag_list_reads_tags_in_order_with_whitespace():
    tags, errors = common.parse_tag_list(" v = DKIM1 ;k=rsa;\tp=AB CD ; ")
    assert errors == []
    assert tags == [("v", "DKIM1"), ("k", "rsa"), ("p", "AB CD")]


@pytest.mark.parametrize(
    "text, fragment",
    [("v=DKIM1;;p=x", "empty tag"), ("v=DKIM1; junk", "has no '='"), ("1v=x", "invalid tag name")],
)
def test_parse_tag_list_names_syntax_faults(text, fragment):
    _tags, errors = common.parse_tag_list(text)
    assert any(fragment in error for error in errors), errors


def test_duplicate_tags_lists_each_repeated_name_once():
    tags, errors = common.parse_tag_list("a=1; b=2; a=3; a=4; b=5; c=6")
    assert errors == []
    assert common.duplicate_tags(tags) == ["a", "b"]


def test_spec_error_names_domain_and_field():
    error = SpecError("mta_sts.mode", "must be one of enforce, testing, none", "example.com")
    assert str(error) == "domain 'example.com': mta_sts.mode: must be one of enforce, testing, none"
    assert error.field == "mta_sts.mode" and error.domain == "example.com"


@pytest.mark.parametrize("value, expected", [(5, 5), ("86400", 86400), (" 7 ", 7)])
def test_as_int_accepts_integers_and_digit_strings(value, expected):
    assert common.as_int(value, "ttl") == expected


@pytest.mark.parametrize("value", [-1, "-1", "1e3", True, 1.5, None])
def test_as_int_rejects_everything_else(value):
    with pytest.raises(SpecError) as info:
        common.as_int(value, "max_age", "example.com", minimum=0)
    assert "max_age" in str(info.value) and "example.com" in str(info.value)


def test_as_choice_is_case_sensitive():
    with pytest.raises(SpecError, match="enforced"):
        common.as_choice("enforced", ("enforce", "testing", "none"), "mta_sts.mode", "example.com")
    assert common.as_choice("none", ("enforce", "testing", "none"), "mode") == "none"


def test_reject_unknown_keys_names_the_key():
    with pytest.raises(SpecError, match=r"dmarc\.polcy"):
        common.reject_unknown_keys({"polcy": "reject"}, {"policy"}, "dmarc", "example.com")
