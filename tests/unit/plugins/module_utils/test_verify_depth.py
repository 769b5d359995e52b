"""The pure parts of the deeper checks: blocklist names and answers, the DANE rollover verdict,
address literals, the TLS grading client contexts and the guidance option."""

import ssl

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import dane, dns_depth, dnsbl, fcrdns, tls_grading
from ansible_collections.mailsec.posture.plugins.module_utils.checks import DomainChecks
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Answer


def test_blocklist_query_names_follow_rfc_5782():
    assert dnsbl.address_query("192.0.2.99", "bl.example") == "99.2.0.192.bl.example"
    assert dnsbl.address_query("2001:db8::1", "bl.example") == "1." + "0." * 23 + "8.b.d.0.1.0.0.2.bl.example"
    assert dnsbl.domain_query("example.com", "dbl.example") == "example.com.dbl.example"
    assert fcrdns.reverse_name("192.0.2.99") == "99.2.0.192.in-addr.arpa"


@pytest.mark.parametrize("kind, records, verdict", [
    ("nxdomain", [], "clean"),
    ("nodata", [], "clean"),
    ("ok", ["127.0.0.2"], "listed"),
    ("ok", ["127.0.1.4", "127.0.0.10"], "listed"),
    ("ok", ["127.255.255.254"], "refused"),
    ("ok", ["127.0.0.1"], "odd"),
    ("ok", ["192.0.2.1"], "odd"),
    ("servfail", [], "failed"),
])
def test_blocklist_answers(kind, records, verdict):
    assert dnsbl.verdict(Answer("x.bl.example", "A", kind, records))[0] == verdict


def test_blocklist_zones_are_validated():
    assert dnsbl.normalize_zones(["Zen.Spamhaus.ORG."], "dnsbl_zones") == ["zen.spamhaus.org"]
    assert dnsbl.normalize_zones(None, "dnsbl_zones") == []
    with pytest.raises(SpecError, match="dnsbl_zones"):
        dnsbl.normalize_zones("zen.spamhaus.org", "dnsbl_zones")


CURRENT = "3 1 1 " + "aa" * 32
NEXT = "3 1 1 " + "bb" * 32
ISSUER = "2 1 1 " + "cc" * 32


@pytest.mark.parametrize("usable, matched, status, detail", [
    ([CURRENT], [CURRENT], "warn", "a single usable TLSA record leaves no room"),
    ([CURRENT, CURRENT.upper()], [CURRENT], "warn", "a single usable TLSA record"),
    ([CURRENT, NEXT], [CURRENT], "pass", "current + next (2 records)"),
    ([CURRENT, ISSUER], [CURRENT, ISSUER], "pass", "3 x x + 2 x x"),
    ([CURRENT, ISSUER], [CURRENT], "warn", "1 DANE-TA record(s) match no certificate the server sends"),
])
def test_rollover(usable, matched, status, detail):
    found_status, found_detail = dane.rollover(usable, matched)
    assert found_status == status and detail in found_detail


def test_address_literals():
    assert dns_depth.address_literal("192.0.2.1.") == "192.0.2.1"
    assert dns_depth.address_literal("[2001:db8::1]") == "2001:db8::1"
    assert dns_depth.address_literal("mail.example.com") is None
    assert dns_depth.address_literal("1.example") is None


def test_null_mx_alone_with_preference_zero():
    result = DomainChecks("example.test")
    assert dns_depth.check_null_mx(result, "example.test", Answer("example.test", "MX", "ok", [(0, "")])) is True
    assert dns_depth.check_null_mx(result, "example.test", Answer("example.test", "MX", "ok", [(10, "")])) is True
    assert dns_depth.check_null_mx(result, "example.test", Answer("example.test", "MX", "ok", [(0, ""), (10, "mail.example.test")])) is False
    assert dns_depth.check_null_mx(result, "example.test", Answer("example.test", "MX", "ok", [(10, "mail.example.test")])) is False
    assert [check["status"] for check in result.checks] == ["pass", "warn", "fail"]


def test_grading_contexts_say_what_this_openssl_cannot_offer():
    context, why_not = tls_grading.version_context("TLSv1.2")
    assert isinstance(context, ssl.SSLContext) and why_not is None
    context, why_not = tls_grading.version_context("SSLv3")
    if context is None:  # Debian's OpenSSL is built without SSL 3
        assert "cannot offer SSLv3" in why_not
    assert tls_grading.group_context("X25519") is not None
    assert tls_grading.group_context("no-such-group") is None
    assert tls_grading.cipher_context(["NO-SUCH-CIPHER"]) is None
    outside = [name for name in tls_grading._cipher_names() if name not in tls_grading.GUIDANCES[tls_grading.DEFAULT_GUIDANCE].tls12_ciphers]
    assert "ECDHE-RSA-AES128-SHA" in outside and "ECDHE-RSA-AES128-GCM-SHA256" not in outside


def test_guidance_option():
    assert tls_grading.check_guidance(None) == "mozilla-intermediate-5.7"
    assert tls_grading.check_guidance("none") == "none"
    with pytest.raises(SpecError, match="tls_guidance: must be one of mozilla-intermediate-5.7, mozilla-modern-5.7, none"):
        tls_grading.check_guidance("nist-800-52")
