"""Tests of the engine's shared helpers: TXT joining/splitting, tag-lists, spec coercion."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import common, tlsrpt
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


# ----- select_record --------------------------------------------------------------------------
# With the real TLS-RPT parser and RFC 8460 3's own example record.

RFC8460_EXAMPLE = "v=TLSRPTv1;rua=mailto:reports@example.com"


def pick(values, **options):
    options.setdefault("missing", "no TLS-RPT record")
    options.setdefault("several", "{count} TLS-RPT records (RFC 8460 3)")
    return common.select_record(values, lambda text: text.startswith("v=TLSRPTv1"), tlsrpt.parse, lambda: {"rua": [], "extensions": {}}, **options)


def test_select_record_parses_the_one_record_among_other_txt_values():
    result = pick(["v=spf1 -all", ["v=TLSRPTv1;", "rua=mailto:reports@example.com"], "google-site-verification=x"])
    assert result == dict(tlsrpt.parse(RFC8460_EXAMPLE), record=RFC8460_EXAMPLE, records=[RFC8460_EXAMPLE])
    assert result["valid"] is True and [uri["uri"] for uri in result["rua"]] == ["mailto:reports@example.com"]


def test_select_record_passes_on_the_parser_verdict_of_a_bad_record():
    result = pick(["v=TLSRPTv1; rua=ftp://example.com"])
    assert result["valid"] is False and result["errors"]
    assert result["record"] == "v=TLSRPTv1; rua=ftp://example.com"


@pytest.mark.parametrize("values", [None, [], ["v=spf1 -all", "V=TLSRPTV1;rua=mailto:a@example.com"]])
def test_select_record_without_a_record_is_the_standards_error_with_blank_fields(values):
    assert pick(values) == {"valid": False, "errors": ["no TLS-RPT record"], "warnings": [], "record": None, "records": [],
                            "rua": [], "extensions": {}}


def test_select_record_with_several_counts_them_and_parses_none():
    result = pick([RFC8460_EXAMPLE, "v=TLSRPTv1;rua=mailto:other@example.com", "v=spf1 -all"], listed_as="candidates")
    assert result == {"valid": False, "errors": ["2 TLS-RPT records (RFC 8460 3)"], "warnings": [], "record": None,
                      "candidates": [RFC8460_EXAMPLE, "v=TLSRPTv1;rua=mailto:other@example.com"], "rua": [], "extensions": {}}


def test_select_record_asks_for_near_misses_only_when_no_record_is_found():
    seen = []

    def near_misses(texts):
        seen.append(texts)
        return ["%r is not quite a record" % text for text in texts if "tlsrpt" in text.lower()]

    result = pick(["v=spf1 -all", " v=TLSRPTv1;rua=mailto:a@example.com"], near_misses=near_misses)
    assert result["warnings"] == ["' v=TLSRPTv1;rua=mailto:a@example.com' is not quite a record"]
    assert seen == [["v=spf1 -all", " v=TLSRPTv1;rua=mailto:a@example.com"]]
    assert pick([RFC8460_EXAMPLE], near_misses=near_misses)["warnings"] == []
    assert pick([RFC8460_EXAMPLE, RFC8460_EXAMPLE], near_misses=near_misses)["warnings"] == []
    assert len(seen) == 1


def test_select_record_blank_fields_are_fresh_for_every_verdict():
    first = pick([])
    first["extensions"]["x"] = "y"
    assert pick([])["extensions"] == {}


@pytest.mark.parametrize("spec, expected", [({}, True), ({"enabled": None}, True), ({"enabled": True}, True),
                                            ({"enabled": False}, False)])
def test_as_enabled_defaults_to_true(spec, expected):
    assert common.as_enabled(spec, "dane.enabled", "example.com") is expected


@pytest.mark.parametrize("value", ["no", 0, 1, "false", []])
def test_as_enabled_rejects_anything_but_a_boolean_naming_field_and_domain(value):
    with pytest.raises(SpecError) as caught:
        common.as_enabled({"enabled": value}, "mta_sts.enabled", "example.com")
    assert "mta_sts.enabled" in str(caught.value) and "example.com" in str(caught.value)
    assert "must be true or false" in str(caught.value)


@pytest.mark.parametrize(
    "value, joined",
    [
        ('"a\\065b"', "aAb"),
        ('"caf\\195\\169"', "caf\u00e9"),
        ('"caf\\195" "\\169"', "caf\u00e9"),  # one character split over two character-strings
        ([b"caf\xc3", b"\xa9"], "caf\u00e9"),
        ('"\\\\065"', "\\065"),  # an escaped backslash, then digits: not an octet escape
        ('"\\092065"', "\\065"),
        ('"a\\ b"', "a b"),
        ('"\\255"', "\ufffd"),  # not UTF-8: replaced, so parsers report a non-ASCII record
    ],
)
def test_join_txt_decodes_rfc1035_escapes_as_octets(value, joined):
    assert common.join_txt(value) == joined
