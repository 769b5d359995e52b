"""Tests of the SPF engine (RFC 7208): record parsing, selection, spec normalization, build."""

import importlib
import os

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import spf, verify_dns
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


def has(messages, fragment):
    return any(fragment in message for message in messages)


# --- RFC 7208 appendix A and section 7.4: the RFC's own records are valid ---------------------

@pytest.mark.parametrize(
    "record, lookups, lookup_terms",
    [
        # A.1 simple examples
        ("v=spf1 a -all", 1, []),
        ("v=spf1 a:example.org -all", 1, []),
        ("v=spf1 mx -all", 1, []),
        ("v=spf1 mx:example.org -all", 1, []),
        ("v=spf1 mx mx:example.org -all", 2, []),
        ("v=spf1 mx/30 -all", 1, []),
        ("v=spf1 mx/30 mx:example.org/30 -all", 2, []),
        ("v=spf1 ip4:192.0.2.128/28 -all", 0, []),
        # A.2 multiple domains
        ("v=spf1 include:example.com include:example.net -all", 2, ["example.com", "example.net"]),
        ("v=spf1 redirect=example.org", 1, ["example.org"]),
        # A.3 DNSBL style
        ("v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all", 3,
         ["mobile-users._spf.%{d}", "remote-users._spf.%{d}"]),
        ("v=spf1 exists:%{l1r+}.%{d}", 1, []),
        ("v=spf1 exists:%{ir}.%{l1r+}.%{d}", 1, []),
        # 7.4 macro examples inside mechanisms
        ("v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all", 1, []),
        ("v=spf1 exists:%{lr-}.lp._spf.%{d2} -all", 1, []),
        ("v=spf1 exists:%{l1r-}.lp._spf.%{d2} -all", 1, []),
        ("v=spf1 include:%{d2}.trusted-domains.example.net -all", 1, ["%{d2}.trusted-domains.example.net"]),
        # the seed's record
        ("v=spf1 mx -all", 1, []),
    ],
)
def test_rfc_examples_are_valid_with_their_lookup_counts(record, lookups, lookup_terms):
    result = spf.parse(record)
    assert result["valid"], result["errors"]
    assert result["version"] == "spf1"
    assert result["dns_lookups"] == lookups
    assert result["lookup_terms"] == lookup_terms


@pytest.mark.parametrize(
    "record, all_qualifier, fragment",
    [
        ("v=spf1 +all", "+", "'+all' authorizes every host"),
        ("v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all", "+", "'+all' authorizes every host"),
        ("v=spf1 -ip4:192.0.2.0/24 +all", "+", "'+all'"),
        ("v=spf1 -ptr +all", "+", "ptr mechanism"),
        ("v=spf1 ptr -all", "-", "ptr mechanism is slow"),
        ("v=spf1 mx ?all", "?", "'?all' gives unauthorized senders a neutral result"),
    ],
)
def test_rfc_examples_that_are_valid_but_risky_warn(record, all_qualifier, fragment):
    result = spf.parse(record)
    assert result["valid"], result["errors"]
    assert result["all"] == all_qualifier
    assert has(result["warnings"], fragment), result["warnings"]


def test_terms_and_modifiers_are_reported_in_order_with_cidrs():
    result = spf.parse(
        "v=spf1 a:example.org/24//64 -mx/30 ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 include:_spf.example.net "
        "exists:%{i}.bl.example.com exp=explain._spf.%{d} note=hello -all"
    )
    assert result["valid"], result["errors"]
    assert [(t["qualifier"], t["mechanism"], t["value"], t["cidr4"], t["cidr6"]) for t in result["terms"]] == [
        ("+", "a", "example.org", 24, 64),
        ("-", "mx", None, 30, None),
        ("~", "ip4", "192.0.2.0", 24, None),
        ("?", "ip6", "2001:db8::", None, 32),
        ("+", "include", "_spf.example.net", None, None),
        ("+", "exists", "%{i}.bl.example.com", None, None),
        ("-", "all", None, None, None),
    ]
    assert result["modifiers"] == {"exp": "explain._spf.%{d}", "note": "hello"}
    assert result["exp"] == "explain._spf.%{d}"
    assert result["redirect"] is None
    assert result["all"] == "-"
    assert result["dns_lookups"] == 4  # a, mx, include, exists; not ip4, ip6, all or exp


@pytest.mark.parametrize(
    "record, cidr4, cidr6",
    [("v=spf1 a//64 -all", None, 64), ("v=spf1 mx/0 -all", 0, None), ("v=spf1 a:example.org//128 -all", None, 128),
     ("v=spf1 mx:example.org/32//0 -all", 32, 0)],
)
def test_dual_cidr_lengths_on_a_and_mx(record, cidr4, cidr6):
    result = spf.parse(record)
    assert result["valid"], result["errors"]
    assert (result["terms"][0]["cidr4"], result["terms"][0]["cidr6"]) == (cidr4, cidr6)


def test_version_and_names_are_case_insensitive():
    result = spf.parse("V=SPF1 MX Include:_spf.example.net REDIRECT=example.org")
    assert result["valid"], result["errors"]
    assert [t["mechanism"] for t in result["terms"]] == ["mx", "include"]
    assert result["redirect"] == "example.org"


def test_multiple_spaces_between_terms_and_trailing_spaces_are_allowed():
    result = spf.parse("v=spf1  mx   -all  ")
    assert result["valid"], result["errors"]
    assert [t["mechanism"] for t in result["terms"]] == ["mx", "all"]


def test_character_strings_are_joined_without_separator():
    result = spf.parse(["v=spf1 ip4:192.0.2.1 ", "ip4:192.0.2.2 -all"])
    assert result["valid"], result["errors"]
    assert [t["value"] for t in result["terms"][:2]] == ["192.0.2.1", "192.0.2.2"]


@pytest.mark.parametrize(
    "record",
    ["v=spf10 -all", " v=spf1 -all", "v=spf1\tmx -all", "spf1 -all", "v=spf2.0/pra -all", "", "v=DKIM1; p="],
)
def test_records_without_the_exact_version_are_not_spf(record):
    result = spf.parse(record)
    assert not result["valid"]
    assert has(result["errors"], "does not start with 'v=spf1'")
    assert result["version"] is None


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=spf1 foo -all", "unknown mechanism 'foo'"),
        ("v=spf1 include -all", "include needs ':' and a domain"),
        ("v=spf1 exists -all", "exists needs ':' and a domain"),
        ("v=spf1 include: -all", "domain-spec is empty"),
        ("v=spf1 a:192.0.2.1 -all", "not a top-level label"),
        ("v=spf1 include:localhost -all", "does not end in '.' and a top-level label"),
        ("v=spf1 include:example.-com -all", "not a top-level label"),
        ("v=spf1 include:foo..example.com -all", "empty label"),
        ("v=spf1 include:%s.example.com -all" % ("a" * 64), "longer than 63 octets"),
        ("v=spf1 include:%s.example.com -all" % ".".join(["abcdefgh"] * 30), "longer than 253 octets"),
        ("v=spf1 ip4:192.0.2.300 -all", "not a valid IPv4 address"),
        ("v=spf1 ip4:192.0.2 -all", "not a valid IPv4 address"),
        ("v=spf1 ip4:192.000.2.1 -all", "not a valid IPv4 address"),
        ("v=spf1 ip4:2001:db8::1 -all", "not a valid IPv4 address"),
        ("v=spf1 ip4:10.0.0.0/33 -all", "prefix length outside 0-32"),
        ("v=spf1 ip4:10.0.0.0/024 -all", "prefix length outside 0-32"),
        ("v=spf1 ip4:10.0.0.0/ -all", "empty prefix length"),
        ("v=spf1 ip4 -all", "ip4 needs ':' and an address"),
        ("v=spf1 ip6:2001:db8::/129 -all", "prefix length outside 0-128"),
        ("v=spf1 ip6:2001:db8::1::2 -all", "not a valid IPv6 address"),
        ("v=spf1 ip6:fe80::1%eth0 -all", "not a valid IPv6 address"),
        ("v=spf1 ip6:192.0.2.1 -all", "not a valid IPv6 address"),
        ("v=spf1 a/33 -all", "prefix length outside 0-32"),
        ("v=spf1 mx//129 -all", "prefix length outside 0-128"),
        ("v=spf1 mx/24/64 -all", "prefix length outside 0-32"),
        ("v=spf1 mx/24/16 -all", "expected ':' after mx"),
        ("v=spf1 mxexample.org -all", "unknown mechanism 'mxexample'"),
        ("v=spf1 -all:example.org", "all takes no argument"),
        ("v=spf1 mx -all/24", "all takes no argument"),
        ("v=spf1 -foo=bar -all", "unknown mechanism 'foo'"),
        ("v=spf1 mx :x -all", "neither a mechanism nor a modifier"),
        ("v=spf1 redirect=a.example.com redirect=b.example.com", "'redirect' appears more than once"),
        ("v=spf1 exp=a.example.com exp=b.example.com -all", "'exp' appears more than once"),
        ("v=spf1 redirect=localhost", "does not end in '.' and a top-level label"),
        ("v=spf1 exists:%{c}.example.com -all", "allowed only in exp text"),
        ("v=spf1 exists:%{r}.example.com -all", "allowed only in exp text"),
        ("v=spf1 exists:%{z}.example.com -all", "unknown macro letter"),
        ("v=spf1 exists:%{d0}.example.com -all", "zero digit transformer"),
        ("v=spf1 exists:%x.example.com -all", "does not start a valid macro"),
        ("v=spf1 exists:%{d.example.com -all", "does not start a valid macro"),
        ("v=spf1 note=%{x} -all", "unknown macro letter"),
        ("v=spf1 include:b\u00fccher.example -all", "non-ASCII"),
    ],
)
def test_syntax_faults_are_errors(record, fragment):
    result = spf.parse(record)
    assert not result["valid"]
    assert has(result["errors"], fragment), result["errors"]


def test_error_when_more_than_ten_lookups():
    ten = "v=spf1 " + " ".join("include:i%d.example.com" % index for index in range(9)) + " mx -all"
    eleven = ten.replace(" mx ", " mx a ")
    assert spf.parse(ten)["valid"] and spf.parse(ten)["dns_lookups"] == 10
    result = spf.parse(eleven)
    assert not result["valid"]
    assert result["dns_lookups"] == 11
    assert has(result["errors"], "needs 11 DNS lookups; more than 10 is a permerror")


def test_redirect_counts_as_a_lookup():
    record = "v=spf1 " + " ".join("a:h%d.example.com" % index for index in range(10)) + " redirect=example.org"
    result = spf.parse(record)
    assert not result["valid"]
    assert result["dns_lookups"] == 11


def test_redirect_is_ignored_and_not_counted_when_all_is_present():
    result = spf.parse("v=spf1 mx redirect=example.org -all")
    assert result["valid"]
    assert result["redirect"] == "example.org"
    assert result["dns_lookups"] == 1
    assert result["lookup_terms"] == []
    assert has(result["warnings"], "redirect=example.org is ignored because the record has an 'all'")


def test_terms_after_all_warn_and_are_not_counted():
    result = spf.parse("v=spf1 -all include:example.net mx")
    assert result["valid"]
    assert result["dns_lookups"] == 0
    assert result["lookup_terms"] == []
    assert has(result["warnings"], "'include:example.net' comes after 'all' and is never evaluated")
    assert has(result["warnings"], "'mx' comes after 'all'")
    assert [t["mechanism"] for t in result["terms"]] == ["all", "include", "mx"]


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=spf1 mx", "neither 'all' nor 'redirect'"),
        ("v=spf1", "neither 'all' nor 'redirect'"),
        ("v=spf1 redirect=example.org mx", "redirect should be the last term"),
        ("v=spf1 ip4:192.0.2.1/24 -all", "host bits set; it means 192.0.2.0/24"),
        ("v=spf1 ip6:2001:db8::1/32 -all", "host bits set; it means 2001:db8::/32"),
        ("v=spf1 ip4:0.0.0.0/0 -all", "authorizes every IPv4 address"),
        ("v=spf1 ip6:::/0 -all", "authorizes every IPv6 address"),
        ("v=spf1 a/0 -all", "/0 prefix"),
        ("v=spf1 mx mx -all", "'mx' repeats an earlier term"),
        ("v=spf1 include=_spf.example.net -all", "unknown modifier and is ignored (6); did you mean include:_spf.example.net"),
        ("v=spf1 exists:%{p}.example.com -all", "%{p} macro"),
        ("v=spf1 foo=a foo=b -all", "unknown modifier 'foo' appears more than once"),
        ("v=spf1 " + " ".join("ip4:192.0.2.%d" % n for n in range(40)) + " -all", "above 450 the DNS answer"),
    ],
)
def test_valid_but_questionable_records_warn(record, fragment):
    result = spf.parse(record)
    assert result["valid"], result["errors"]
    assert has(result["warnings"], fragment), result["warnings"]


def test_clean_record_has_no_warnings():
    result = spf.parse("v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::/48 include:_spf.example.net ~all")
    assert result["valid"] and result["warnings"] == []


def test_unknown_modifiers_are_allowed():
    result = spf.parse("v=spf1 mx moo.cow-far_out=man:dog/cat -all")
    assert result["valid"], result["errors"]
    assert result["modifiers"] == {"moo.cow-far_out": "man:dog/cat"}


def test_a_term_with_equals_after_colon_is_a_mechanism():
    result = spf.parse("v=spf1 exists:%{l=}.example.com -all")
    assert result["valid"], result["errors"]
    assert result["terms"][0]["value"] == "%{l=}.example.com"


@pytest.mark.parametrize("text", ["v=spf1 %", "v=spf1 /", "v=spf1 :", "v=spf1 ip4:", "v=spf1 a:%{", "v=spf1 =x", b"v=spf1 \xff"])
def test_parser_reports_garbage_instead_of_raising(text):
    result = spf.parse(text)
    assert result["valid"] is False
    assert result["errors"]


# --- select -----------------------------------------------------------------------------------

def test_select_picks_the_one_spf_record_among_other_txt():
    result = spf.select(["google-site-verification=abc", ["v=spf1 mx ", "-all"], "v=spf10 +all"])
    assert result["valid"]
    assert result["record"] == "v=spf1 mx -all"
    assert result["records"] == ["v=spf1 mx -all"]
    assert result["all"] == "-"


def test_select_matches_the_version_case_insensitively():
    assert spf.select(["V=Spf1 -all"])["record"] == "V=Spf1 -all"


@pytest.mark.parametrize("values", [[], None, ["v=spf10 mx -all", "hello"], ["v=spf1mx -all"]])
def test_select_reports_no_spf_record(values):
    result = spf.select(values)
    assert not result["valid"]
    assert result["errors"] == ["no SPF record (no TXT value starts with 'v=spf1')"]
    assert result["record"] is None and result["terms"] == []


def test_select_refuses_two_records_as_permerror():
    result = spf.select(["v=spf1 mx -all", "v=spf1 a -all"])
    assert not result["valid"]
    assert has(result["errors"], "2 SPF records at the name; more than one is a permerror (4.5)")
    assert result["records"] == ["v=spf1 mx -all", "v=spf1 a -all"]
    assert result["record"] is None


def test_select_reports_errors_of_the_chosen_record():
    result = spf.select(["v=spf1 foo -all"])
    assert not result["valid"]
    assert has(result["errors"], "unknown mechanism 'foo'")


def test_is_spf_record():
    assert spf.is_spf_record(["v=spf1", " -all"])
    assert not spf.is_spf_record("v=spf1a -all")


# --- normalize_spec and build -----------------------------------------------------------------

@pytest.mark.parametrize("spec", [None, True, {}])
def test_defaults_are_mx_and_fail(spec):
    normalized = spf.normalize_spec(spec, "example.com")
    assert normalized == {"mechanisms": ["mx"], "ip4": [], "ip6": [], "includes": [], "all": "fail", "redirect": None}
    assert spf.build(normalized) == "v=spf1 mx -all"


def test_false_turns_spf_off():
    assert spf.normalize_spec(False, "example.com") is None


def test_build_orders_mechanisms_ip4_ip6_includes_then_all():
    normalized = spf.normalize_spec(
        {
            "includes": ["_spf.Example.NET."],
            "ip6": ["2001:DB8:0:0::/32"],
            "ip4": ["192.0.2.1", "198.51.100.0/24", "192.0.2.1/32"],
            "mechanisms": ["a", "MX/24", "~exists:%{i}._spf.%{d}", "a"],
            "all": "softfail",
        },
        "example.com",
    )
    assert normalized["ip4"] == ["192.0.2.1", "198.51.100.0/24"]  # /32 is the same host: dropped
    assert spf.build(normalized) == (
        "v=spf1 a mx/24 ~exists:%{i}._spf.%{d} ip4:192.0.2.1 ip4:198.51.100.0/24 ip6:2001:db8::/32 "
        "include:_spf.example.net ~all"
    )


@pytest.mark.parametrize("policy, term", [("fail", "-all"), ("softfail", "~all"), ("neutral", "?all")])
def test_all_policies(policy, term):
    assert spf.build(spf.normalize_spec({"all": policy}, "example.com")) == "v=spf1 mx " + term


def test_no_mechanisms_gives_the_null_sender_record():
    assert spf.build(spf.normalize_spec({"mechanisms": []}, "example.com")) == "v=spf1 -all"


def test_redirect_replaces_all():
    normalized = spf.normalize_spec({"redirect": "_spf.example.net", "mechanisms": []}, "example.com")
    assert normalized["all"] is None and normalized["redirect"] == "_spf.example.net"
    assert spf.build(normalized) == "v=spf1 redirect=_spf.example.net"


def test_ip6_host_is_written_without_prefix():
    normalized = spf.normalize_spec({"ip6": ["2001:db8::25/128"], "mechanisms": []}, "example.com")
    assert spf.build(normalized) == "v=spf1 ip6:2001:db8::25 -all"


def test_built_records_parse_clean():
    spec = {"mechanisms": ["a", "mx"], "ip4": ["192.0.2.0/24"], "ip6": ["2001:db8::1"], "includes": ["_spf.example.net"]}
    result = spf.parse(spf.build(spf.normalize_spec(spec, "example.com")))
    assert result["valid"] and result["warnings"] == []


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"mx": True}, "spf.mx", "unknown option"),
        ("mx -all", "spf", "must be a mapping"),
        ({"ip4": ["192.0.2.1", "192.0.2.300"]}, "spf.ip4[1]", "not a valid IPv4 address"),
        ({"ip4": ["10.0.0.0/33"]}, "spf.ip4[0]", "prefix length must be 0-32"),
        ({"ip4": ["10.0.0.0/8x"]}, "spf.ip4[0]", "prefix length must be 0-32"),
        ({"ip4": ["192.0.2.1/24"]}, "spf.ip4[0]", "host bits set; write 192.0.2.0/24 for the network or 192.0.2.1 for the host"),
        ({"ip4": ["0.0.0.0/0"]}, "spf.ip4[0]", "authorizes every IPv4 address, like +all"),
        ({"ip4": ["2001:db8::1"]}, "spf.ip4[0]", "is an IPv6 address; list it under spf.ip6"),
        ({"ip4": [3232235777]}, "spf.ip4[0]", "must be an address or CIDR string"),
        ({"ip6": ["192.0.2.1"]}, "spf.ip6[0]", "is an IPv4 address; list it under spf.ip4"),
        ({"ip6": ["2001:db8::1/64"]}, "spf.ip6[0]", "host bits set; write 2001:db8::/64"),
        ({"ip6": ["2001:db8::/129"]}, "spf.ip6[0]", "prefix length must be 0-128"),
        ({"ip6": ["2001:db8:::1"]}, "spf.ip6[0]", "not a valid IPv6 address"),
        ({"ip6": ["::/0"]}, "spf.ip6[0]", "like +all"),
        ({"all": "pass"}, "spf.all", "authorizes every host"),
        ({"all": "-"}, "spf.all", "must be one of fail, softfail, neutral"),
        ({"all": "hardfail"}, "spf.all", "must be one of fail, softfail, neutral"),
        ({"redirect": "_spf.example.net", "all": "fail"}, "spf.all", "cannot be combined with spf.redirect"),
        ({"redirect": "example.com"}, "spf.redirect", "a loop"),
        ({"redirect": "not a domain"}, "spf.redirect", "not letters, digits"),
        ({"includes": ["_spf.example.net", "Example.COM"]}, "spf.includes[1]", "includes the domain's own record"),
        ({"includes": ["localhost"]}, "spf.includes[0]", "not fully qualified"),
        ({"includes": {"a": 1}}, "spf.includes", "must be a list or a string"),
        ({"mechanisms": ["include:_spf.example.net"]}, "spf.mechanisms[0]", "use spf.includes"),
        ({"mechanisms": ["mx", "-all"]}, "spf.mechanisms[1]", "use spf.all"),
        ({"mechanisms": ["ip4:192.0.2.1"]}, "spf.mechanisms[0]", "use spf.ip4"),
        ({"mechanisms": ["ip6:2001:db8::1"]}, "spf.mechanisms[0]", "use spf.ip6"),
        ({"mechanisms": ["ptr"]}, "spf.mechanisms[0]", "ptr must not be published"),
        ({"mechanisms": ["redirect=_spf.example.net"]}, "spf.mechanisms[0]", "is a modifier; use spf.redirect"),
        ({"mechanisms": ["a mx"]}, "spf.mechanisms[0]", "one term without spaces"),
        ({"mechanisms": ["a:192.0.2.1"]}, "spf.mechanisms[0]", "not a top-level label"),
        ({"mechanisms": ["mx/33"]}, "spf.mechanisms[0]", "prefix length outside 0-32"),
        ({"mechanisms": ["a/0"]}, "spf.mechanisms[0]", "/0 prefix"),
        ({"mechanisms": ["exists:%{p}.example.com"]}, "spf.mechanisms[0]", "%{p} macro"),
        ({"mechanisms": ["bogus"]}, "spf.mechanisms[0]", "unknown mechanism"),
        ({"mechanisms": [["a"]]}, "spf.mechanisms[0]", "must be a mechanism string"),
        ({"includes": ["i%d.example.net" % n for n in range(10)]}, "spf", "needs 11 DNS lookups"),
    ],
)
def test_bad_specs_name_the_field_and_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        spf.normalize_spec(spec, "example.com")
    assert info.value.field == field
    assert info.value.domain == "example.com"
    assert fragment in str(info.value), str(info.value)


def test_spec_accepts_single_strings_for_lists():
    normalized = spf.normalize_spec({"ip4": "192.0.2.1", "includes": "_spf.example.net", "mechanisms": "a"}, "example.com")
    assert spf.build(normalized) == "v=spf1 a ip4:192.0.2.1 include:_spf.example.net -all"


# --- macros in domain-specs (RFC 7208 7), with pyspf as an independent oracle ----------------------

# Cases of the RFC 7208 test suite's "Macro expansion rules" group and section 7's own examples,
# written out here: (record term, valid?). The sender of the suite is test@e1a.example.com from 1.2.3.4.
MACRO_TERMS = [
    ("a:macro%%percent%_%_space%-url-space.example.com", True),  # the suite's macro-mania-in-domain
    ("a:%{d}.example.com", True),
    ("exists:%{i}._spf.%{d}", True),
    ("exists:%{ir}.%{v}._spf.%{d2}", True),  # 7.4
    ("exists:%{l1r-}.user._spf.%{d}", True),
    ("include:_spf.%{d}", True),
    ("a:%{D}.example.com", True),  # upper case: URL-escaped (7.3)
    ("exists:%{c}.example.com", False),  # c, r and t only in exp text (7.2)
    ("include:%{e}.example.com", False),  # no macro letter e (the suite's invalid-embedded-macro-char)
    ("a:foo%", False),  # a '%' that starts no macro (7.1)
    ("a:%{d0}.example.com", False),  # 7.3: "If a DIGIT is specified, the value MUST be nonzero" (pyspf accepts it)
    ("a:%{d}.example", True),  # domain-end = "." toplabel
]


@pytest.mark.parametrize("term, valid", MACRO_TERMS)
def test_macro_terms_are_judged_like_pyspf(term, valid):
    pyspf = importlib.import_module("spf")
    assert not pyspf.__file__.startswith(os.path.dirname(spf.__file__))
    query = pyspf.query(i="1.2.3.4", s="test@e1a.example.com", h="mail.example.com")
    try:
        query.validate_mechanism(term)
        oracle = True
    except pyspf.PermError:
        oracle = False
    result = spf.parse("v=spf1 %s -all" % term)
    assert oracle == valid or "%{d0}" in term, "the oracle disagrees with the test data"
    assert result["valid"] == valid, result["errors"]


def test_macro_mania_expands_to_the_name_of_the_suite():
    pyspf = importlib.import_module("spf")
    term = "macro%%percent%_%_space%-url-space.example.com"
    query = pyspf.query(i="1.2.3.4", s="test@e1a.example.com", h="mail.example.com")
    expected = query.validate_mechanism("a:" + term)[2]
    assert expected == "macro%percent  space%20url-space.example.com"
    assert verify_dns.expand_spf_macros(term, "e1a.example.com") == (expected, [])


def test_expansion_of_d_and_o_matches_pyspf_inside_an_include():
    pyspf = importlib.import_module("spf")
    query = pyspf.query(i="192.0.2.1", s="user@mail.example.com", h="mail.example.com")
    query.d = "_spf.other.net"  # what pyspf sets when it evaluates an include's record
    for text in ("%{o}.x.test", "%{d}.x.test", "%{o1r}.%{d2}", "%{or}.%{d1r}", "%{o2}._spf.%{d}"):
        assert verify_dns.expand_spf_macros(text, "_spf.other.net", "mail.example.com") == (query.expand(text).lower(), [])


def test_builder_accepts_macros_in_include_and_redirect_targets():
    normalized = spf.normalize_spec({"mechanisms": ["mx", "exists:%{i}._spf.%{d}"], "includes": ["%{d}._spf.example.net"]},
                                    "example.com")
    assert spf.build(normalized) == "v=spf1 mx exists:%{i}._spf.%{d} include:%{d}._spf.example.net -all"
    redirected = spf.normalize_spec({"redirect": "%{d}._spf.Example.NET", "mechanisms": []}, "example.com")
    assert spf.build(redirected) == "v=spf1 redirect=%{d}._spf.Example.NET"  # kept as written: %{D} differs from %{d}


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"includes": ["%{x}.example.net"]}, "spf.includes[0]", "unknown macro letter 'x'"),
        ({"includes": ["ok.example.net", "%{c}.example.net"]}, "spf.includes[1]", "allowed only in exp text"),
        ({"includes": ["%{d"]}, "spf.includes[0]", "does not start a valid macro"),
        ({"includes": ["%{p}.example.net"]}, "spf.includes[0]", "%{p} macro, which should not be used"),
        ({"includes": ["%{d}.example.net other"]}, "spf.includes[0]", "without spaces"),
        ({"redirect": "%{d}.123", "mechanisms": []}, "spf.redirect", "not a valid SPF domain-spec"),
        ({"includes": ["%{d}"]}, "spf.includes[0]", "the domain's own record, a loop"),
        ({"redirect": "%{o}", "mechanisms": []}, "spf.redirect", "the domain itself, a loop"),
        ({"redirect": "%{d}.", "mechanisms": []}, "spf.redirect", "not a valid SPF domain-spec"),
    ],
)
def test_bad_macros_in_targets_name_the_field_and_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        spf.normalize_spec(spec, "example.com")
    assert info.value.field == field and info.value.domain == "example.com"
    assert fragment in str(info.value) and "example.com" in str(info.value), str(info.value)


def test_select_names_a_record_with_white_space_before_the_version():
    result = spf.select([" v=spf1 mx -all", "google-site-verification=abc"])
    assert result["record"] is None and not result["valid"]
    assert result["warnings"] == ["' v=spf1 mx -all' starts with white space before v=spf1; receivers skip it (4.5)"]
