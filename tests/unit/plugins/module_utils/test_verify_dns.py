"""verify_dns pieces: SPF macro expansion (RFC 7208 7.4), the live SPF walk's edge cases against a
scripted DNS server, the expected-record grouping, option checks, and the check names' documentation."""

import os
import re

import pytest
import yaml

from ansible_collections.mailsec.posture.plugins.doc_fragments.verify import ModuleDocFragment as VerifyDocFragment
from ansible_collections.mailsec.posture.plugins.module_utils import dns_depth, spf, verify_dns, verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.checks import DomainChecks
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Resolver
from ansible_collections.mailsec.posture.plugins.modules import verify_dns as verify_dns_module

from unit.scripted_dns import zone

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")


@pytest.mark.parametrize("text, expected", [
    # RFC 7208 7.4, with <domain> = email.example.com
    ("%{d}", "email.example.com"),
    ("%{d4}", "email.example.com"),
    ("%{d3}", "email.example.com"),
    ("%{d2}", "example.com"),
    ("%{d1}", "com"),
    ("%{dr}", "com.example.email"),
    ("%{d2r}", "example.email"),
    ("_spf.%{o}", "_spf.email.example.com"),
    ("%{D}.Example.NET.", "email.example.com.example.net"),
    ("a%%b.%{d2}", "a%b.example.com"),
])
def test_macros_a_verifier_can_expand(text, expected):
    assert verify_dns.expand_spf_macros(text, "email.example.com") == (expected, [])


@pytest.mark.parametrize("text, unknown", [
    ("%{ir}.%{v}._spf.%{d2}", ["%{ir}", "%{v}"]),
    ("%{l1r-}.user._spf.%{d}", ["%{l1r-}"]),
    ("%{s}", ["%{s}"]),
])
def test_macros_that_need_a_sender(text, unknown):
    assert verify_dns.expand_spf_macros(text, "email.example.com") == (None, unknown)


def evaluate(scripted_dns, records, top):
    server = scripted_dns(zone(records))
    resolver = Resolver([server.address], timeout=1)
    evaluation = verify_dns.SpfEvaluation(resolver, "example.com")
    count = resolver.run(evaluation.run(spf.parse(top)))
    return count, evaluation, server


def test_redirect_is_ignored_when_the_record_has_all(scripted_dns):
    count, evaluation, server = evaluate(scripted_dns, {}, "v=spf1 -all redirect=other.example.com")
    assert count == 0 and evaluation.lookups == 0 and evaluation.effective_all == "-"
    assert server.queries == []


def test_terms_after_all_are_not_counted(scripted_dns):
    count, _evaluation, server = evaluate(scripted_dns, {}, "v=spf1 ip4:192.0.2.1 -all include:late.example.com")
    assert count == 0 and server.queries == []


def test_redirect_brings_the_targets_all(scripted_dns):
    records = {("_spf.example.com", "TXT"): ['"v=spf1 ip4:192.0.2.0/24 ~all"']}
    count, evaluation, _server = evaluate(scripted_dns, records, "v=spf1 redirect=_spf.example.com")
    assert count == 1 and evaluation.effective_all == "~" and evaluation.targets == ["_spf.example.com"]


def test_mx_with_more_than_ten_records_is_a_permerror(scripted_dns):
    records = {("example.com", "MX"): ["%d mx%d.example.com." % (index, index) for index in range(11)]}
    _count, evaluation, _server = evaluate(scripted_dns, records, "v=spf1 mx -all")
    assert evaluation.permerrors == ["mx: 11 MX records; more than 10 make the mx mechanism a permerror (RFC 7208 4.6.4)"]


def test_ptr_and_macro_terms_count_without_queries(scripted_dns):
    count, evaluation, server = evaluate(scripted_dns, {}, "v=spf1 ptr exists:%{i}._spf.example.com include:%{l}.example.com -all")
    assert count == 3 and server.queries == []
    assert evaluation.unevaluated == ["exists:%{i}._spf.example.com", "include:%{l}.example.com"]
    assert not evaluation.permerrors and not evaluation.temperrors


def test_void_lookups_are_counted_per_sender_address_family(scripted_dns):
    # RFC 7208 5.3: an IPv4 sender is matched against A records only, so a host with only AAAA is void for it.
    records = {("v6only.example.com", "AAAA"): ["2001:db8::1"], ("v6two.example.com", "AAAA"): ["2001:db8::2"],
               ("v4only.example.com", "A"): ["192.0.2.1"]}
    _count, evaluation, _server = evaluate(
        scripted_dns, records, "v=spf1 a:v6only.example.com a:v6two.example.com a:v4only.example.com a:none.example.com -all")
    assert evaluation.void_by_family == {
        "ipv4": ["a:v6only.example.com (NODATA)", "a:v6two.example.com (NODATA)", "a:none.example.com (NXDOMAIN)"],
        "ipv6": ["a:v4only.example.com (NODATA)", "a:none.example.com (NXDOMAIN)"],
    }
    assert evaluation.void_lookups == 3 and evaluation.void_terms == evaluation.void_by_family["ipv4"]


def test_void_lookups_of_mx_exists_and_include_count_for_both_families(scripted_dns):
    _count, evaluation, _server = evaluate(scripted_dns, {}, "v=spf1 mx:gone.example.com exists:gone.example.com -all")
    assert evaluation.void_by_family["ipv4"] == evaluation.void_by_family["ipv6"] == [
        "mx:gone.example.com (NXDOMAIN)", "exists:gone.example.com (NXDOMAIN)"]


def test_void_lookups_fail_for_the_worse_family_and_name_it(scripted_dns):
    records = {("v6.example.com", "AAAA"): ["2001:db8::1"]}
    server = scripted_dns(zone(records))
    resolver = Resolver([server.address], timeout=1)
    result = DomainChecks("example.com")
    evaluation = verify_dns.SpfEvaluation(resolver, "example.com")
    resolver.run(evaluation.run(spf.parse("v=spf1 a:v6.example.com a:v6.example.com/24 a:v6.example.com/25 -all")))
    verify_dns._check_spf_void_lookups(result, evaluation)
    check = result.checks[-1]
    assert check["name"] == "spf.void_lookups" and check["status"] == "fail"
    assert check["detail"].startswith("3 void lookups, more than 2, for IPv4 senders: "), check["detail"]
    assert "IPv6 senders 0" in check["detail"]


def test_o_macro_stays_the_senders_domain_inside_an_include(scripted_dns):
    # RFC 7208 7.3: <domain> (%{d}) becomes the include target; the sender's domain (%{o}) does not change.
    records = {("_spf.other.net", "TXT"): ['"v=spf1 a:%{o}.senders.other.net exists:%{d}.check.other.net -all"']}
    _count, evaluation, server = evaluate(scripted_dns, records, "v=spf1 include:_spf.other.net -all")
    asked = server.names()
    assert ("example.com.senders.other.net", "A") in asked and ("example.com.senders.other.net", "AAAA") in asked
    assert ("_spf.other.net.check.other.net", "A") in asked
    assert not any(name.startswith("_spf.other.net.senders") for name, _rtype in asked)


@pytest.mark.parametrize("text, domain, sender, expected", [
    ("%{o}.x.test", "_spf.other.net", "example.com", "example.com.x.test"),
    ("%{d}.x.test", "_spf.other.net", "example.com", "_spf.other.net.x.test"),
    ("%{o1r}.%{d2}", "_spf.other.net", "mail.example.com", "mail.other.net"),  # reversed, then the right-hand part
])
def test_d_and_o_expand_separately(text, domain, sender, expected):
    assert verify_dns.expand_spf_macros(text, domain, sender) == (expected, [])


def test_include_with_two_records_is_a_permerror(scripted_dns):
    records = {("two.example.com", "TXT"): ['"v=spf1 -all"', '"v=spf1 ~all"']}
    _count, evaluation, _server = evaluate(scripted_dns, records, "v=spf1 include:two.example.com -all")
    assert evaluation.permerrors == ["include:two.example.com: 2 SPF records at the name; more than one is a permerror (4.5): "
                                     "a permerror (RFC 7208 5.2)"]


def test_shared_includes_are_asked_once(scripted_dns):
    records = {("_spf.example.net", "TXT"): ['"v=spf1 ip4:192.0.2.0/24 -all"'],
               ("a.example.com", "TXT"): ['"v=spf1 include:_spf.example.net -all"'],
               ("b.example.com", "TXT"): ['"v=spf1 include:_spf.example.net -all"']}
    count, _evaluation, server = evaluate(scripted_dns, records, "v=spf1 include:a.example.com include:b.example.com -all")
    assert count == 4
    assert server.names().count(("_spf.example.net", "TXT")) == 1


def test_the_walk_is_bounded(scripted_dns):
    # A chain of 60 distinct includes: the walk stops at its depth bound and says so.
    records = {("n%d.example.com" % index, "TXT"): ['"v=spf1 include:n%d.example.com -all"' % (index + 1)] for index in range(60)}
    _count, evaluation, server = evaluate(scripted_dns, records, "v=spf1 include:n0.example.com -all")
    assert len(server.queries) <= verify_dns.MAX_SPF_DEPTH + 1
    assert evaluation.notes and "not followed" in evaluation.notes[0]


def test_expected_records_follow_cnames_and_mx_hosts():
    records = [
        {"name": "example.com.", "type": "MX", "value": "10 mail.example.net.", "domain": "example.com", "standard": "mx"},
        {"name": "_mta-sts.example.com.", "type": "CNAME", "value": "_mta-sts.mail.example.net.", "domain": "example.com",
         "standard": "mta_sts"},
        {"name": "_mta-sts.mail.example.net.", "type": "TXT", "value": "v=STSv1; id=1", "domain": "mail.example.net", "standard": "mta_sts"},
        {"name": "_25._tcp.mail.example.net.", "type": "TLSA", "value": "3 1 1 AB", "domain": "mail.example.net", "standard": "dane"},
        {"name": "other.example.", "type": "MX", "value": "10 mx.other.example.", "domain": "other.example", "standard": "mx"},
    ]
    expected = verify_dns.ExpectedRecords(records)
    assert expected.for_domain("example.com") == [("example.com", "MX"), ("_mta-sts.example.com", "CNAME"),
                                                  ("_25._tcp.mail.example.net", "TLSA"), ("_mta-sts.mail.example.net", "TXT")]
    assert expected.for_domain("missing.example") == []


@pytest.mark.parametrize("records, field", [([{"type": "MX", "value": "x"}], r"expected\[0\]\.name"), (["text"], r"expected\[0\]")])
def test_bad_expected_records(records, field):
    with pytest.raises(SpecError, match=field):
        verify_dns.ExpectedRecords(records)


@pytest.mark.parametrize("rtype, value, normalized", [
    ("MX", "10  Mail.Example.COM", "10 mail.example.com."),
    ("CNAME", "Target.Example.", "target.example."),
    ("TLSA", "3 1 1 ABCDEF", "3 1 1 abcdef"),
    ("TXT", "v=spf1  -all", "v=spf1  -all"),
    ("AAAA", "2001:DB8::1", "2001:db8::1"),
])
def test_values_compare_in_one_form(rtype, value, normalized):
    assert verify_dns._normalize_value(rtype, value) == normalized  # pylint: disable=protected-access


def test_bad_options_name_their_field():
    resolver = Resolver(["127.0.0.1:1"], timeout=1)
    with pytest.raises(SpecError, match="profile"):
        verify_dns.verify([], resolver, profile="paranoid")
    with pytest.raises(SpecError, match=r"dkim_selectors\[1\]"):
        verify_dns.verify([], resolver, dkim_selectors=["good", "bad selector!"])
    params = {"domains": ["example.com"], "nameservers": ["127.0.0.1:1"], "timeout": 1, "concurrency": 1, "overall_timeout": -1}
    with pytest.raises(SpecError, match="overall_timeout"):
        verify_dns.run(params)


def test_every_check_is_documented():
    with open(os.path.join(ROOT, "docs", "checks.md"), encoding="utf-8") as handle:
        table = handle.read()
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", table, re.MULTILINE))
    assert documented >= set(verify_dns.CHECKS), sorted(set(verify_dns.CHECKS) - documented)
    module_docs = verify_dns_module.DOCUMENTATION
    missing = [name for name in verify_dns.CHECKS if "C(%s)" % name not in module_docs]
    assert not missing


def test_every_check_made_is_a_known_one():
    made = set()
    for engine in (verify_dns, dns_depth):  # dnsbl names its two checks by a variable (both in dns_depth.CHECKS)
        source = open(engine.__file__, encoding="utf-8").read()
        made |= set(re.findall(r'result\.(?:passed|warned|failed|from_verdict)\(\s*"([a-z_]+\.[a-z_]+)"', source))
    made |= {"%s.enabled" % standard for standard in ("spf", "dkim", "dmarc", "mta_sts", "tlsrpt")}
    made |= {"dnsbl.address", "dnsbl.domain"}
    assert made == set(verify_dns.CHECKS)


def test_module_options_are_the_shared_ones_without_the_transport_ones():
    doc = yaml.safe_load(verify_dns_module.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == ["mailsec.posture.verify", "mailsec.posture.verify.fleet", "mailsec.posture.verify.blocklists"]
    documented = dict(doc["options"], **yaml.safe_load(VerifyDocFragment.DOCUMENTATION)["options"])
    documented.update(yaml.safe_load(VerifyDocFragment.FLEET)["options"])
    documented.update(yaml.safe_load(VerifyDocFragment.BLOCKLISTS)["options"])
    shared = set(verify_input.COMMON_ARGUMENT_SPEC) - {"ca_path", "expiry_warn_days"}
    assert set(documented) == shared | {"dkim_selectors", "profile", "overall_timeout", "facts", "processes", "passing_checks", "dnsbl_zones",
                                        "dnsbl_domain_zones"}
    for name in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(verify_dns_module, name))
