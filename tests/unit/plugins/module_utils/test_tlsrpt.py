"""Tests of the SMTP TLS Reporting engine (RFC 8460)."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import tlsrpt
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


def has(messages, fragment):
    return any(fragment in message for message in messages)


# --- RFC 8460 3.1 examples --------------------------------------------------------------------

def test_rfc8460_mailto_example():
    result = tlsrpt.parse("v=TLSRPTv1;rua=mailto:reports@example.com")
    assert result["valid"] and result["warnings"] == []
    assert result["version"] == "TLSRPTv1"
    assert result["rua"] == [
        {"uri": "mailto:reports@example.com", "scheme": "mailto", "address": "reports@example.com", "domain": "example.com"}
    ]


def test_rfc8460_https_example():
    result = tlsrpt.parse("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt")
    assert result["valid"] and result["warnings"] == []
    assert result["rua"] == [
        {"uri": "https://reporting.example.com/v1/tlsrpt", "scheme": "https", "address": None, "domain": "reporting.example.com"}
    ]


def test_several_uris_white_space_around_commas_and_a_trailing_delimiter():
    result = tlsrpt.parse("v=TLSRPTv1; rua=mailto:a@example.com ,\thttps://r.example.net/x ;")
    assert result["valid"], result["errors"]
    assert [uri["scheme"] for uri in result["rua"]] == ["mailto", "https"]


def test_extension_fields_are_allowed():
    result = tlsrpt.parse("v=TLSRPTv1; rua=mailto:a@example.com; ext.name-1=val:ue")
    assert result["valid"], result["errors"]
    assert result["extensions"] == {"ext.name-1": "val:ue"}


def test_character_strings_are_joined():
    result = tlsrpt.parse(["v=TLSRPTv1; rua=mailto:tls-", "reports@example.com"])
    assert result["valid"] and result["rua"][0]["address"] == "tls-reports@example.com"


def test_white_space_before_the_first_delimiter_warns():
    result = tlsrpt.parse("v=TLSRPTv1 ; rua=mailto:a@example.com")
    assert result["valid"], result["errors"]
    assert has(result["warnings"], "senders that look for 'v=TLSRPTv1;' ignore this record")


def test_unsupported_scheme_next_to_a_good_one_warns():
    result = tlsrpt.parse("v=TLSRPTv1; rua=mailto:a@example.com,ftp://r.example.net/")
    assert result["valid"], result["errors"]
    assert has(result["warnings"], "scheme 'ftp' is not mailto or https; reporters ignore it")
    assert len(result["rua"]) == 1


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=tlsrptv1; rua=mailto:a@example.com", "record must begin with 'v=TLSRPTv1;'"),
        (" v=TLSRPTv1; rua=mailto:a@example.com", "record must begin with 'v=TLSRPTv1;'"),
        ("rua=mailto:a@example.com; v=TLSRPTv1", "record must begin with 'v=TLSRPTv1;'"),
        ("v=TLSRPTv10; rua=mailto:a@example.com", "record must begin with 'v=TLSRPTv1;'"),
        ("v = TLSRPTv1; rua=mailto:a@example.com", "record must begin with 'v=TLSRPTv1;'"),
        ("v=TLSRPTv1", "rua= is required"),
        ("v=TLSRPTv1;", "rua= is required"),
        ("v=TLSRPTv1; RUA=mailto:a@example.com", "field names are case-sensitive and take no spaces: 'RUA' is not 'rua'"),
        ("v=TLSRPTv1; rua = mailto:a@example.com", "field name 'rua ' is not valid"),
        ("v=TLSRPTv1;; rua=mailto:a@example.com", "empty field between two ';'"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "field 'rua' appears more than once"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; flag", "field 'flag' has no '='"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; _x=1", "field name '_x' is not valid"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; %s=1" % ("x" * 33), "is not valid"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; ext=a=b", "field 'ext' has an invalid value 'a=b'"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; ext=a b", "field 'ext' has an invalid value 'a b'"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; ext=", "field 'ext' has an invalid value ''"),
        ("v=TLSRPTv1; rua=", "'' is empty"),
        ("v=TLSRPTv1; rua=reports@example.com", "has no scheme; write mailto:reports@example.com"),
        ("v=TLSRPTv1; rua=mailto:", "mailto: URI without an address"),
        ("v=TLSRPTv1; rua=mailto:a@b@example.com", "exactly one '@'"),
        ("v=TLSRPTv1; rua=mailto:a@example.com!10m", "a '!' must be written %21"),
        ("v=TLSRPTv1; rua=ftp://r.example.net/", "no mailto: or https: URI"),
        ("v=TLSRPTv1; rua=http://r.example.net/", "no mailto: or https: URI"),
        ("v=TLSRPTv1; rua=https:///path", "has no host"),
        ("v=TLSRPTv1; rua=https://user@r.example.net/", "must not carry user information"),
        ("v=TLSRPTv1; rua=https://r.example.net:99999/", "has an invalid port"),
        ("v=TLSRPTv1; rua=https://bad_host.example.net/", "has an invalid host"),
        ("v=TLSRPTv1; rua=mailto:a@example.com,,mailto:b@example.com", "'' is empty"),
    ],
)
def test_faults_make_the_record_invalid(record, fragment):
    result = tlsrpt.parse(record)
    assert result["valid"] is False
    assert has(result["errors"], fragment), result["errors"]


def test_parser_reports_garbage_instead_of_raising():
    for text in ["", ";", "v=TLSRPTv1;=", b"\xff", "v=TLSRPTv1; rua=%"]:
        result = tlsrpt.parse(text)
        assert result["valid"] is False, text
        assert result["errors"], text


# --- select -----------------------------------------------------------------------------------

def test_select_picks_the_tlsrpt_record():
    result = tlsrpt.select(["v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com"])
    assert result["valid"]
    assert result["record"] == "v=TLSRPTv1; rua=mailto:a@example.com"
    assert result["rua"][0]["address"] == "a@example.com"


@pytest.mark.parametrize("values", [[], None, ["v=STSv1; id=1"], ["v=TLSRPTv1x; rua=mailto:a@example.com"]])
def test_select_without_a_record(values):
    result = tlsrpt.select(values)
    assert not result["valid"]
    assert result["errors"] == ["no TLS-RPT record (no TXT value begins with v=TLSRPTv1)"]


def test_select_refuses_two_records_as_senders_ignore_both():
    result = tlsrpt.select(["v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"])
    assert not result["valid"]
    assert has(result["errors"], "2 TLS-RPT records at the name; senders then ignore them all")
    assert result["rua"] == [] and len(result["records"]) == 2


def test_select_gives_a_verdict_for_a_version_without_fields():
    result = tlsrpt.select(["v=TLSRPTv1"])
    assert not result["valid"]
    assert has(result["errors"], "rua= is required")


def test_is_tlsrpt_record():
    assert tlsrpt.is_tlsrpt_record("v=TLSRPTv1;rua=mailto:a@example.com")
    assert not tlsrpt.is_tlsrpt_record("v=TLSRPTv1x;")


# --- normalize_spec and build -----------------------------------------------------------------

@pytest.mark.parametrize("spec", [None, False])
def test_no_spec_means_no_record(spec):
    assert tlsrpt.normalize_spec(spec, "example.com") is None


def test_build_joins_uris_with_commas():
    normalized = tlsrpt.normalize_spec(
        {"rua": ["mailto:tls-reports@example.com", "HTTPS://reporting.example.com/v1/tlsrpt", "mailto:tls-reports@example.com"]},
        "example.com",
    )
    assert normalized == {"rua": ["mailto:tls-reports@example.com", "https://reporting.example.com/v1/tlsrpt"]}
    record = tlsrpt.build(normalized)
    assert record == "v=TLSRPTv1; rua=mailto:tls-reports@example.com,https://reporting.example.com/v1/tlsrpt"
    parsed = tlsrpt.parse(record)
    assert parsed["valid"] and parsed["warnings"] == []


def test_a_single_string_is_accepted():
    assert tlsrpt.build(tlsrpt.normalize_spec({"rua": "mailto:a@example.com"}, "example.com")) == (
        "v=TLSRPTv1; rua=mailto:a@example.com"
    )


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        (True, "tlsrpt.rua", "is required"),
        ({}, "tlsrpt.rua", "needs at least one mailto: or https: URI"),
        ({"rua": []}, "tlsrpt.rua", "needs at least one"),
        ({"ruf": ["mailto:a@example.com"]}, "tlsrpt.ruf", "unknown option"),
        ("mailto:a@example.com", "tlsrpt", "must be a mapping"),
        ({"rua": ["tls@example.com"]}, "tlsrpt.rua[0]", "has no scheme; write mailto:tls@example.com"),
        ({"rua": ["mailto:a@example.com", "http://r.example.net/"]}, "tlsrpt.rua[1]", "scheme must be one of mailto:, https:"),
        ({"rua": ["mailto:a@example.com!10m"]}, "tlsrpt.rua[0]", "percent-encode them"),
        ({"rua": ["mailto:a@example.com;x"]}, "tlsrpt.rua[0]", "percent-encode them"),
        ({"rua": ["mailto:"]}, "tlsrpt.rua[0]", "without an address"),
        ({"rua": [{"uri": "mailto:a@example.com"}]}, "tlsrpt.rua[0]", "must be a URI string"),
    ],
)
def test_bad_specs_name_the_field_and_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        tlsrpt.normalize_spec(spec, "example.com")
    assert info.value.field == field
    assert info.value.domain == "example.com"
    assert fragment in str(info.value), str(info.value)


# --- the same edges as DMARC and MTA-STS (RFC 8460 3) -------------------------------------------

def test_trailing_white_space_without_semicolon_fails_by_the_grammar():
    result = tlsrpt.parse("v=TLSRPTv1; rua=mailto:tls@example.com  ")
    assert not result["valid"]
    assert result["errors"] == ["white space after the last field, without a ';', is outside RFC 8460 3's grammar: a failure, "
                                "because senders that parse the record by the grammar discard it"]
    assert [uri["address"] for uri in result["rua"]] == ["tls@example.com"]  # read all the same
    assert tlsrpt.parse("v=TLSRPTv1; rua=mailto:tls@example.com;  ")["valid"]


def test_white_space_before_the_version_is_named():
    result = tlsrpt.parse(" v=TLSRPTv1; rua=mailto:tls@example.com")
    assert not result["valid"]
    assert "but it starts with white space before 'v=TLSRPTv1': senders discard it" in result["errors"][0]
    selected = tlsrpt.select([" v=TLSRPTv1; rua=mailto:tls@example.com"])
    assert selected["record"] is None
    assert any("starts with white space before v=TLSRPTv1; senders discard it" in warning for warning in selected["warnings"])


def test_a_u_label_report_address_is_published_in_a_labels_like_the_domain():
    normalized = tlsrpt.normalize_spec({"rua": ["mailto:tls@bücher.example"]}, "xn--bcher-kva.example")
    assert tlsrpt.build(normalized) == "v=TLSRPTv1; rua=mailto:tls@xn--bcher-kva.example"
