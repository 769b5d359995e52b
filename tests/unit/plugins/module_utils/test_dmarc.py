"""Tests of the DMARC engine (RFC 7489 with the RFC 9989 tags np, psd and t)."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dmarc
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


def has(messages, fragment):
    return any(fragment in message for message in messages)


# --- RFC 7489 appendix B ----------------------------------------------------------------------

def test_b_2_1_entry_level_monitoring():
    result = dmarc.parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", "example.com")
    assert result["valid"], result["errors"]
    assert result["version"] == "DMARC1"
    assert result["policy"] == "none"
    assert result["rua"] == [
        {"uri": "mailto:dmarc-feedback@example.com", "scheme": "mailto", "address": "dmarc-feedback@example.com",
         "domain": "example.com", "size": None}
    ]
    assert result["external_destinations"] == []
    assert result["warnings"] == ["p=none: monitoring only, receivers do not act on mail that fails DMARC"]


def test_b_2_2_and_b_2_3_failure_reports_to_a_third_party_need_authorization():
    record = "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net"
    result = dmarc.parse(record, "example.com")
    assert result["valid"], result["errors"]
    assert result["ruf"][0]["address"] == "auth-reports@thirdparty.example.net"
    assert result["external_destinations"] == ["thirdparty.example.net"]
    assert dmarc.authorization_record_name("example.com", "thirdparty.example.net") == (
        "example.com._report._dmarc.thirdparty.example.net"
    )


def test_b_2_4_subdomain_sampling_and_two_aggregate_uris():
    # Published as several character-strings; the reporter joins them without separator.
    result = dmarc.parse(
        ["v=DMARC1; p=quarantine; ", "rua=mailto:dmarc-feedback@example.com,",
         "mailto:tld-test@thirdparty.example.net!10m; ", "pct=25"],
        "test.example.com",
    )
    assert result["valid"], result["errors"]
    assert result["policy"] == "quarantine"
    assert result["pct"] == 25
    assert [(uri["uri"], uri["size"]) for uri in result["rua"]] == [
        ("mailto:dmarc-feedback@example.com", None),
        ("mailto:tld-test@thirdparty.example.net", 10 * 1024 * 1024),
    ]
    assert result["external_destinations"] == ["thirdparty.example.net"]
    assert has(result["warnings"], "pct=25: the policy applies to only 25% of failing mail")


def test_b_2_4_written_over_lines_with_white_space_around_the_comma():
    record = """v=DMARC1; p=quarantine;
                       rua=mailto:dmarc-feedback@example.com,
                       mailto:tld-test@thirdparty.example.net!10m;
                       pct=25"""
    result = dmarc.parse(record)
    assert result["valid"], result["errors"]
    assert [uri["address"] for uri in result["rua"]] == ["dmarc-feedback@example.com", "tld-test@thirdparty.example.net"]


def test_b_3_1_smtp_time_processing_record():
    result = dmarc.parse("v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com", "example.com")
    assert result["valid"] and result["warnings"] == []
    assert (result["policy"], result["aspf"], result["adkim"]) == ("reject", "r", None)


def test_strict_record_of_the_seed_is_clean():
    result = dmarc.parse("v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com; adkim=s; aspf=s", "example.com")
    assert result["valid"] and result["warnings"] == []
    assert (result["policy"], result["adkim"], result["aspf"]) == ("reject", "s", "s")


def test_authorization_record_of_b_2_3_is_not_a_policy_record():
    # example.com._report._dmarc.thirdparty.example.net publishes just "v=DMARC1".
    result = dmarc.parse("v=DMARC1")
    assert not result["valid"]
    assert has(result["errors"], "no p= tag and no valid rua: receivers apply no DMARC policy")


# --- fields -----------------------------------------------------------------------------------

def test_every_tag_is_read():
    record = (
        "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:a@example.com; ruf=mailto:f@example.com; "
        "adkim=r; aspf=s; pct=100; fo=0:1:d:s; rf=afrf; ri=3600; psd=n; t=n"
    )
    result = dmarc.parse(record, "example.com")
    assert result["valid"] and result["warnings"] == []
    expected = {"policy": "reject", "subdomain_policy": "quarantine", "np": "reject", "adkim": "r", "aspf": "s",
                "pct": 100, "fo": "0:1:d:s", "rf": ["afrf"], "ri": 3600, "psd": "n", "t": "n"}
    assert {key: result[key] for key in expected} == expected
    assert result["ruf"][0]["address"] == "f@example.com"


def test_tag_names_and_keywords_are_case_insensitive_but_the_version_is_not():
    result = dmarc.parse("V = DMARC1 ; P = Reject ;\tSP=None; ADKIM=S; rua=mailto:a@example.com")
    assert result["valid"], result["errors"]
    assert (result["policy"], result["subdomain_policy"], result["adkim"]) == ("reject", "none", "s")


@pytest.mark.parametrize(
    "size_text, octets",
    [("500", 500), ("20k", 20 * 1024), ("51m", 51 * 1024 ** 2), ("1g", 1024 ** 3), ("2t", 2 * 1024 ** 4), ("5M", 5 * 1024 ** 2)],
)
def test_size_limits_use_powers_of_two(size_text, octets):
    result = dmarc.parse("v=DMARC1; p=reject; rua=mailto:a@example.com!%s" % size_text)
    assert result["valid"], result["errors"]
    assert result["rua"][0]["size"] == octets


def test_percent_encoded_addresses_are_decoded():
    result = dmarc.parse("v=DMARC1; p=reject; rua=mailto:dmarc%2Breports@example.com")
    assert result["valid"], result["errors"]
    assert result["rua"][0]["address"] == "dmarc+reports@example.com"


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "record, fragment",
    [
        ("p=reject; v=DMARC1", "record must start with v=DMARC1"),
        ("", "record must start with v=DMARC1"),
        ("v=dmarc1; p=reject", "v=dmarc1: the version must be exactly DMARC1"),
        ("v=DMARC2; p=reject", "v=DMARC2: the version must be exactly DMARC1"),
        ("v=DMARC1 p=reject", "the version must be exactly DMARC1"),
        ("v=DMARC1; p=reject; p=none", "tag 'p' appears more than once"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; RUA=mailto:b@example.com", "tag 'rua' appears more than once"),
        ("v=DMARC1; p=block", "p=block: must be one of none, quarantine, reject"),
        ("v=DMARC1; p=reject; sp=deny", "sp=deny: must be one of"),
        ("v=DMARC1; p=reject; np=drop", "np=drop: must be one of"),
        ("v=DMARC1; p=reject; adkim=x", "adkim=x: must be one of r, s"),
        ("v=DMARC1; p=reject; aspf=relaxed", "aspf=relaxed: must be one of r, s"),
        ("v=DMARC1; p=reject; pct=101", "pct=101: must be an integer from 0 to 100"),
        ("v=DMARC1; p=reject; pct=-1", "pct=-1: must be an integer"),
        ("v=DMARC1; p=reject; pct=0100", "pct=0100: must be an integer"),
        ("v=DMARC1; p=reject; pct=50%", "pct=50%: must be an integer"),
        ("v=DMARC1; p=reject; ri=daily", "ri=daily: must be a 32-bit unsigned integer"),
        ("v=DMARC1; p=reject; ri=4294967296", "ri=4294967296: must be a 32-bit"),
        ("v=DMARC1; p=reject; fo=2", "fo=2: options must be 0, 1, d or s"),
        ("v=DMARC1; p=reject; fo=1,d", "fo=1,d: options must be"),
        ("v=DMARC1; p=reject; rf=a f", "rf=a f: must be report format names"),
        ("v=DMARC1; p=reject; psd=maybe", "psd=maybe: must be one of y, n, u"),
        ("v=DMARC1; p=reject; t=1", "t=1: must be one of y, n"),
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "has no scheme; write mailto:dmarc@example.com"),
        ("v=DMARC1; p=reject; rua=mailto:", "is a mailto: URI without an address"),
        ("v=DMARC1; p=reject; rua=mailto:dmarc.example.com", "must have exactly one '@'"),
        ("v=DMARC1; p=reject; rua=mailto:a@localhost", "has an invalid domain"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com!10x", "has an invalid size after '!'"),
        ("v=DMARC1; p=reject; rua=mailto:a!b@example.com", "a '!' inside a URI must be written %21"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com mailto:b@example.com", "must be percent-encoded"),
        ("v=DMARC1; p=reject; rua=ftp://reports.example.com/", "scheme 'ftp' is not a reporting scheme"),
        ("v=DMARC1; p=reject; rua=https://", "has no host"),
        ("v=DMARC1; p=reject; rua=mailto:a%zz@example.com", "does not start a %XX escape"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com,,mailto:b@example.com", "is empty"),
        ("v=DMARC1;; p=reject", "empty tag"),
    ],
)
def test_faults_make_the_record_invalid(record, fragment):
    result = dmarc.parse(record, "example.com")
    assert result["valid"] is False
    assert has(result["errors"], fragment), result["errors"]


# --- policy fallback (RFC 7489 6.6.3, kept by RFC 9989) ----------------------------------------

def test_missing_p_with_a_valid_rua_acts_as_none():
    result = dmarc.parse("v=DMARC1; rua=mailto:dmarc@example.com")
    assert result["valid"], result["errors"]
    assert result["policy"] == "none"
    assert has(result["warnings"], "no p= tag: receivers act as if p=none were published")


def test_missing_p_without_rua_means_no_dmarc():
    result = dmarc.parse("v=DMARC1; adkim=s")
    assert not result["valid"]
    assert result["policy"] is None
    assert has(result["errors"], "no p= tag and no valid rua: receivers apply no DMARC policy")


def test_missing_p_with_only_a_broken_rua_means_no_dmarc():
    result = dmarc.parse("v=DMARC1; rua=dmarc@example.com")
    assert not result["valid"]
    assert result["policy"] is None
    assert has(result["errors"], "no p= tag and no valid rua")


@pytest.mark.parametrize(
    "record, policy, fragment",
    [
        ("v=DMARC1; p=rejected; rua=mailto:a@example.com", "none", "because p= is invalid, receivers act as if p=none"),
        ("v=DMARC1; p=rejected", None, "because p= is invalid, receivers apply no DMARC policy"),
        ("v=DMARC1; p=reject; sp=x; rua=mailto:a@example.com", "none", "because sp= is invalid, receivers act as if p=none"),
        ("v=DMARC1; p=reject; np=x", None, "because np= is invalid, receivers apply no DMARC policy"),
    ],
)
def test_invalid_policy_tags_fall_back_like_receivers_do(record, policy, fragment):
    result = dmarc.parse(record)
    assert not result["valid"]
    assert result["policy"] == policy
    assert has(result["errors"], fragment), result["errors"]


# --- warnings ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=DMARC1; rua=mailto:a@example.com; p=reject", "p= should directly follow v="),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; foo=bar", "unknown tag 'foo' is ignored"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; pct=0", "pct=0: the policy applies to only 0%"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; t=y", "t=y: testing mode"),
        ("v=DMARC1; p=reject", "no rua: nobody will send aggregate reports"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; fo=1", "fo= has no effect without ruf"),
        ("v=DMARC1; p=reject; sp=none; rua=mailto:a@example.com", "sp=none: subdomains of an enforcing domain"),
        ("v=DMARC1; p=reject; rua=https://reports.example.com/dmarc", "receivers need only support mailto: URIs"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com; rf=iodef", "afrf is the only defined failure report format"),
        ("v=DMARC1; p=none; rua=mailto:a@example.com", "p=none: monitoring only"),
    ],
)
def test_valid_records_with_warnings(record, fragment):
    result = dmarc.parse(record)
    assert result["valid"], result["errors"]
    assert has(result["warnings"], fragment), result["warnings"]


def test_rfc9989_tags_are_accepted():
    result = dmarc.parse("v=DMARC1; p=reject; np=reject; psd=y; t=n; rua=mailto:a@example.com")
    assert result["valid"] and result["warnings"] == []
    assert (result["np"], result["psd"], result["t"]) == ("reject", "y", "n")


def test_parser_reports_garbage_instead_of_raising():
    for text in ["v", "=", ";;", "v=DMARC1; p=\u00e9", b"\xff", "v=DMARC1; rua=mailto:%"]:
        result = dmarc.parse(text, "example.com")
        assert result["valid"] is False, text
        assert result["errors"], text


# --- organizational domains and third-party reports --------------------------------------------

@pytest.mark.parametrize(
    "name, organizational",
    [
        ("example.com", "example.com"),
        ("mail.example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("Example.COM.", "example.com"),
        ("co.uk", "co.uk"),
        ("com", "com"),
    ],
)
def test_organizational_domain_uses_the_public_suffix_list(name, organizational):
    assert dmarc.organizational_domain(name) == organizational


@pytest.mark.parametrize(
    "domain, rua, external",
    [
        ("example.com", "mailto:dmarc@example.com", []),
        ("example.com", "mailto:dmarc@reports.example.com", []),
        ("shop.example.com", "mailto:dmarc@example.com", []),
        ("_dmarc.example.com", "mailto:dmarc@thirdparty.example.net", ["thirdparty.example.net"]),
        ("example.co.uk", "mailto:dmarc@other.co.uk", ["other.co.uk"]),
        ("shop.example.co.uk", "mailto:dmarc@mail.example.co.uk", []),
        ("example.com", "https://dmarc.vendor.example/ingest", ["dmarc.vendor.example"]),
    ],
)
def test_external_destinations_need_authorization(domain, rua, external):
    result = dmarc.parse("v=DMARC1; p=reject; rua=%s" % rua, domain)
    assert result["errors"] == []
    assert result["external_destinations"] == external


def test_external_destinations_are_listed_once():
    record = "v=DMARC1; p=reject; rua=mailto:a@vendor.example.net; ruf=mailto:b@vendor.example.net"
    assert dmarc.parse(record, "example.com")["external_destinations"] == ["vendor.example.net"]


def test_external_destinations_without_domain_are_not_computed():
    record = "v=DMARC1; p=reject; rua=mailto:a@vendor.example.net"
    assert dmarc.parse(record)["external_destinations"] == []


def test_a_bad_domain_argument_is_reported():
    result = dmarc.parse("v=DMARC1; p=reject; rua=mailto:a@example.com", "not a domain")
    assert not result["valid"]
    assert has(result["errors"], "domain 'not a domain'")


# --- select -----------------------------------------------------------------------------------

def test_select_picks_the_dmarc_record():
    result = dmarc.select(["some-verification=1", ["v=DMARC1; p=reject; ", "rua=mailto:a@example.com"]], "example.com")
    assert result["valid"]
    assert result["record"] == "v=DMARC1; p=reject; rua=mailto:a@example.com"
    assert result["policy"] == "reject"


@pytest.mark.parametrize("values", [[], ["v=DMARC10; p=reject"], ["v=dmarc1; p=reject"], ["p=reject; v=DMARC1"]])
def test_select_without_a_record(values):
    result = dmarc.select(values)
    assert not result["valid"]
    assert result["errors"] == ["no DMARC record (no TXT value starts with v=DMARC1)"]
    assert result["policy"] is None


def test_select_refuses_two_records():
    result = dmarc.select(["v=DMARC1; p=reject", "v=DMARC1; p=none"])
    assert not result["valid"]
    assert has(result["errors"], "2 DMARC records at the name; receivers then apply no policy")
    assert result["policy"] is None and len(result["records"]) == 2


def test_is_dmarc_record():
    assert dmarc.is_dmarc_record("v = DMARC1;p=none")
    assert not dmarc.is_dmarc_record("v=DMARC1x; p=none")


# --- normalize_spec and build -----------------------------------------------------------------

@pytest.mark.parametrize("spec", [None, True, {}])
def test_default_policy_is_none(spec):
    normalized = dmarc.normalize_spec(spec, "example.com")
    assert normalized["policy"] == "none"
    assert dmarc.build(normalized) == "v=DMARC1; p=none"


def test_false_turns_dmarc_off():
    assert dmarc.normalize_spec(False, "example.com") is None


def test_build_of_the_seed_record():
    normalized = dmarc.normalize_spec(
        {"policy": "reject", "rua": ["mailto:dmarc@example.com"], "adkim": "s", "aspf": "s"}, "example.com"
    )
    assert dmarc.build(normalized) == "v=DMARC1; p=reject; rua=mailto:dmarc@example.com; adkim=s; aspf=s"


def test_build_orders_every_tag():
    normalized = dmarc.normalize_spec(
        {
            "t": True, "psd": "n", "ri": 3600, "fo": ["1", "d"], "pct": 100, "aspf": "r", "adkim": "s",
            "ruf": "mailto:forensic@example.com", "rua": ["mailto:dmarc@example.com!10m", "https://r.example.net/d"],
            "np": "reject", "subdomain_policy": "quarantine", "policy": "reject",
        },
        "example.com",
    )
    record = dmarc.build(normalized)
    assert record == (
        "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:dmarc@example.com!10m,https://r.example.net/d; "
        "ruf=mailto:forensic@example.com; adkim=s; aspf=r; pct=100; fo=1:d; ri=3600; psd=n; t=y"
    )
    parsed = dmarc.parse(record, "example.com")
    assert parsed["valid"], parsed["errors"]
    assert parsed["rua"][0]["size"] == 10 * 1024 * 1024


def test_spec_deduplicates_uris_and_lowers_the_scheme():
    normalized = dmarc.normalize_spec({"rua": ["MAILTO:d@example.com", "mailto:d@example.com"]}, "example.com")
    assert normalized["rua"] == ["mailto:d@example.com"]


@pytest.mark.parametrize("fo, expected", [("1", "1"), (1, "1"), ("0:d", "0:d"), (["s", "s"], "s")])
def test_spec_failure_options(fo, expected):
    assert dmarc.normalize_spec({"fo": fo}, "example.com")["fo"] == expected


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"polcy": "reject"}, "dmarc.polcy", "unknown option"),
        ({"p": "reject"}, "dmarc.p", "unknown option"),
        ("reject", "dmarc", "must be a mapping"),
        ({"policy": "Reject"}, "dmarc.policy", "must be one of none, quarantine, reject"),
        ({"subdomain_policy": "block"}, "dmarc.subdomain_policy", "must be one of none, quarantine, reject"),
        ({"np": "x"}, "dmarc.np", "must be one of"),
        ({"rua": ["dmarc@example.com"]}, "dmarc.rua[0]", "has no scheme; write mailto:dmarc@example.com"),
        ({"rua": ["mailto:a@example.com", "ftp://x.example.com/"]}, "dmarc.rua[1]", "scheme must be one of mailto:, https:"),
        ({"rua": ["mailto:a@example.com,mailto:b@example.com"]}, "dmarc.rua[0]", "percent-encode them"),
        ({"rua": ["mailto:a@example.com!10x"]}, "dmarc.rua[0]", "size limit '10x'"),
        ({"rua": ["mailto:a@localhost"]}, "dmarc.rua[0]", "invalid domain"),
        ({"rua": [5]}, "dmarc.rua[0]", "must be a URI string"),
        ({"ruf": ["mailto:f@example.com", "f@example.com"]}, "dmarc.ruf[1]", "has no scheme"),
        ({"adkim": "strict"}, "dmarc.adkim", "must be one of r, s"),
        ({"aspf": "R"}, "dmarc.aspf", "must be one of r, s"),
        ({"pct": 101}, "dmarc.pct", "must be at most 100"),
        ({"pct": -5}, "dmarc.pct", "must be at least 0"),
        ({"pct": "half"}, "dmarc.pct", "must be an integer"),
        ({"ri": 0}, "dmarc.ri", "must be at least 1"),
        ({"fo": "2"}, "dmarc.fo[0]", "must be one of 0, 1, d, s"),
        ({"fo": ["1", "x"]}, "dmarc.fo[1]", "must be one of 0, 1, d, s"),
        ({"fo": {}}, "dmarc.fo", "must be a list of 0, 1, d, s"),
        ({"psd": "yes"}, "dmarc.psd", "must be one of y, n, u"),
        ({"t": "testing"}, "dmarc.t", "must be one of y, n"),
    ],
)
def test_bad_specs_name_the_field_and_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        dmarc.normalize_spec(spec, "example.com")
    assert info.value.field == field
    assert info.value.domain == "example.com"
    assert fragment in str(info.value), str(info.value)


def test_yaml_booleans_for_t_and_psd_become_y_and_n():
    normalized = dmarc.normalize_spec({"t": False, "psd": True}, "example.com")
    assert (normalized["t"], normalized["psd"]) == ("n", "y")


# --- what receivers do with what is outside the grammar (RFC 7489 6.3, 6.6.3; RFC 9989) ------------

@pytest.mark.parametrize("record", [" v=DMARC1; p=reject", "\tv=DMARC1; p=reject", '" v=DMARC1; p=reject"'])
def test_a_record_with_white_space_before_v_is_discarded(record):
    result = dmarc.parse(record)
    assert not result["valid"]
    assert has(result["errors"], "receivers discard records that do not start with 'v=' (RFC 7489 6.6.3)"), result["errors"]
    assert result["policy"] is None
    assert not dmarc.is_dmarc_record(record)


def test_select_names_a_record_that_starts_with_white_space():
    result = dmarc.select([" v=DMARC1; p=reject", "unrelated"])
    assert not result["valid"] and result["record"] is None
    assert has(result["errors"], "no DMARC record")
    assert has(result["warnings"], "starts with white space before v=DMARC1; receivers discard it")


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=DMARC1; p=reject; pct=101", "pct=101: must be an integer from 0 to 100; receivers ignore the tag and apply "
                                        "the policy on all failing mail, the default pct=100"),
        ("v=DMARC1; p=reject; ri=abc", "ri=abc: must be a 32-bit unsigned integer of seconds; receivers ignore the tag "
                                       "and apply the default interval of 86400 s"),
        ("v=DMARC1; p=reject; adkim=x", "receivers ignore the tag and apply relaxed alignment, the default adkim=r"),
        ("v=DMARC1; p=reject; aspf=strict", "receivers ignore the tag and apply relaxed alignment, the default aspf=r"),
        ("v=DMARC1; p=reject; fo=2", "receivers ignore the tag and apply the default fo=0"),
        ("v=DMARC1; p=reject; rf=a f", "receivers ignore the tag and apply the default rf=afrf"),
        ("v=DMARC1; p=reject; t=1", "receivers ignore the tag and apply the default t=n"),
        ("v=DMARC1; p=reject; psd=maybe", "receivers ignore the tag and apply the default psd=u"),
    ],
)
def test_values_outside_the_grammar_say_what_receivers_use_instead(record, fragment):
    result = dmarc.parse(record)
    assert not result["valid"]
    assert has(result["errors"], fragment), result["errors"]
    assert result["policy"] == "reject"  # the rest of the record still applies


def test_missing_p_says_what_both_rfcs_make_receivers_do():
    without_rua = dmarc.parse("v=DMARC1; adkim=s")
    assert has(without_rua["errors"], "those following RFC 9989 act as if p=none were published"), without_rua["errors"]
    with_rua = dmarc.parse("v=DMARC1; rua=mailto:dmarc@example.com")
    assert has(with_rua["warnings"], "RFC 9989 reads a missing p as none"), with_rua["warnings"]


@pytest.mark.parametrize("key", ["rua", "ruf"])
def test_a_u_label_report_address_is_published_in_a_labels_like_the_domain(key):
    normalized = dmarc.normalize_spec({"policy": "reject", key: ["mailto:dmarc@Bücher.example!10m", "https://bücher.example/r"]},
                                      "bücher.example")
    assert normalized[key] == ["mailto:dmarc@xn--bcher-kva.example!10m", "https://xn--bcher-kva.example/r"]
    record = dmarc.build(normalized)
    assert "%s=mailto:dmarc@xn--bcher-kva.example!10m,https://xn--bcher-kva.example/r" % key in record
    assert dmarc.parse(record, "xn--bcher-kva.example")["valid"]


def test_a_report_address_whose_u_label_domain_idna_refuses_names_the_field():
    with pytest.raises(SpecError) as caught:
        dmarc.normalize_spec({"rua": ["mailto:dmarc@b\u00fccher\u2024example"]}, "example.com")
    assert caught.value.field == "dmarc.rua[0]" and caught.value.domain == "example.com"
