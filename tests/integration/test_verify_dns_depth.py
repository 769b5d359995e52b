"""verify_dns beyond the six records, against a real BIND behind a validating unbound: DNSSEC of the
domain's own records (validated, unsigned, bogus, broken), null MX (RFC 7505), MX targets that are
aliases, address literals or missing, and DNS blocklists served by the same BIND (RFC 5782)."""

import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_dns
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from harness import BindServer, UnboundResolver

TIMEOUT = 2.0
SLACK = 1.5
SPF = '@ TXT "v=spf1 mx -all"'
ZONES = {
    "signed.test": ["@ MX 10 mail", "mail A 127.0.0.1", SPF],
    "unsigned.test": ["@ MX 10 mail", "mail A 127.0.0.1", SPF],
    "bogus.test": ["@ MX 10 mail", "mail A 127.0.0.1", SPF],
    "nullmx.test": ["@ MX 0 .", '@ TXT "v=spf1 ip4:192.0.2.1 -all"'],
    "nullmix.test": ["@ MX 0 .", "@ MX 10 mail", "mail A 127.0.0.1"],
    "alias.test": ["@ MX 10 mx", "mx CNAME host", "host A 127.0.0.1"],
    "literal.test": ["@ MX 10 192.0.2.1."],
    "noaddr.test": ["@ MX 10 mail.nowhere.test."],
    "v6only.test": ["@ MX 10 mail", "mail AAAA ::1"],
    "listed.test": ["@ MX 10 mail", "mail A 127.0.0.2"],
    "clean.test": ["@ MX 10 mail", "mail A 127.0.0.3", "mail AAAA ::1"],
    # An address blocklist: 127.0.0.2 is listed (RFC 5782 5: the test entry), 127.0.0.3 is not.
    "bl.test": ["2.0.0.127 A 127.0.0.2", '2.0.0.127 TXT "listed for testing"'],
    # A domain blocklist: listed.test is listed.
    "dbl.test": ["listed.test A 127.0.1.2"],
    # A list that answers every query with its "refused" code.
    "refusing.test": ["* A 127.255.255.254"],
}
SIGNED = ["signed.test", "bogus.test", "nullmx.test", "nullmix.test", "alias.test", "literal.test", "noaddr.test", "v6only.test",
          "listed.test", "clean.test", "bl.test", "dbl.test", "refusing.test"]


class World:
    def __init__(self, bind, resolver):
        self.bind = bind
        self.resolver = resolver

    def verify(self, domains, **options):
        params = {"domains": domains, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
                  "nameservers": ["127.0.0.1:%d" % self.resolver.port], "timeout": TIMEOUT, "overall_timeout": None, "concurrency": 8,
                  "expected": None, "fail_on": "fail", "dkim_selectors": [], "profile": "standard", "facts": True}
        params.update(options)
        began = time.monotonic()
        result, failure = verify_dns.run(params)
        assert time.monotonic() - began < TIMEOUT * verify_dns.OVERALL_TIMEOUT_FACTOR + SLACK
        return result, failure


@pytest.fixture(scope="module")
def world():
    with BindServer(ZONES, dnssec_zones=SIGNED, bogus_zones=["bogus.test"], servfail_zones=["broken.test"], check_integrity=False) as bind, \
            UnboundResolver(bind) as resolver:
        yield World(bind, resolver)


def checks(result, domain, name):
    entry = next(entry for entry in result["domains"] if entry["domain"] == domain)
    return [check for check in entry["checks"] if check["name"] == name]


def one(result, domain, name):
    found = checks(result, domain, name)
    assert len(found) == 1, (name, found)
    return found[0]


# ----- DNSSEC of the domain's own records

def test_signed_domain_is_validated(world):
    result, _failure = world.verify(["signed.test"])
    check = one(result, "signed.test", "dnssec.records")
    assert check["status"] == "pass" and check["detail"].startswith("DNSSEC-validated: the resolver set the AD bit on all")


def test_unsigned_domain_passes_unless_dane_needs_it(world):
    result, _failure = world.verify(["unsigned.test"])
    check = one(result, "unsigned.test", "dnssec.records")
    assert check["status"] == "pass" and check["detail"].startswith("not DNSSEC-validated (no AD bit on MX unsigned.test")
    model = [{"name": "unsigned.test", "mx": ["mail.unsigned.test"], "dane": True}]
    result, failure = world.verify(None, mailsec_domains=model)
    check = one(result, "unsigned.test", "dnssec.records")
    assert check["status"] == "fail" and "DANE is on for this domain" in check["detail"]
    assert "unsigned.test: dnssec.records" in failure


def test_bogus_chain_is_named_as_such(world):
    result, failure = world.verify(["bogus.test"])
    check = one(result, "bogus.test", "dnssec.records")
    assert check["status"] == "fail" and check["detail"].startswith("bogus DNSSEC: MX bogus.test")
    assert "checking disabled (CD)" in check["detail"]
    assert "bogus.test: dnssec.records" in failure


def test_broken_zone_is_not_called_bogus(world):
    result, _failure = world.verify(["broken.test"])
    assert checks(result, "broken.test", "dnssec.records") == []
    assert one(result, "broken.test", "mx.records")["status"] == "fail"


# ----- null MX and MX targets

def test_null_mx_is_understood(world):
    result, failure = world.verify(["nullmx.test"])
    assert one(result, "nullmx.test", "mx.records")["status"] == "pass"
    assert one(result, "nullmx.test", "mx.null")["status"] == "pass"
    sts = one(result, "nullmx.test", "mta_sts.txt")
    assert sts["status"] == "pass" and "none needed: the null MX" in sts["detail"]
    assert checks(result, "nullmx.test", "mx.target") == []
    assert failure is None or "nullmx.test: mx" not in failure


def test_null_mx_beside_other_mx_fails(world):
    result, _failure = world.verify(["nullmix.test"])
    check = one(result, "nullmix.test", "mx.null")
    assert check["status"] == "fail" and "RFC 7505 3 allows it only alone" in check["detail"]


@pytest.mark.parametrize("domain, status, detail", [
    ("alias.test", "warn", "mx.alias.test is an alias (CNAME -> host.alias.test)"),
    ("literal.test", "fail", "the MX names 192.0.2.1, an address literal"),
    ("noaddr.test", "fail", "mail.nowhere.test has no A or AAAA record (NXDOMAIN)"),
    ("v6only.test", "pass", "mail.v6only.test has address(es) ::1"),
    ("signed.test", "pass", "mail.signed.test has address(es) 127.0.0.1"),
], ids=["alias", "literal", "missing", "ipv6-only", "good"])
def test_mx_target(world, domain, status, detail):
    result, _failure = world.verify([domain])
    found = checks(result, domain, "mx.target")
    assert any(check["status"] == status and detail in check["detail"] for check in found), found


# ----- DNS blocklists

def test_blocklists_are_off_by_default(world):
    result, _failure = world.verify(["listed.test"])
    assert checks(result, "listed.test", "dnsbl.address") == [] and checks(result, "listed.test", "dnsbl.domain") == []


def test_listed_address_and_domain_fail(world):
    result, failure = world.verify(["listed.test", "clean.test"], dnsbl_zones=["bl.test"], dnsbl_domain_zones=["dbl.test"])
    address = one(result, "listed.test", "dnsbl.address")
    assert address["status"] == "fail" and address["subject"] == "127.0.0.2"
    assert "127.0.0.2 is listed in bl.test (2.0.0.127.bl.test answers 127.0.0.2): listed for testing" in address["detail"]
    domain = one(result, "listed.test", "dnsbl.domain")
    assert domain["status"] == "fail" and "listed.test is listed in dbl.test" in domain["detail"]
    clean = {check["subject"]: check for check in checks(result, "clean.test", "dnsbl.address")}
    assert set(clean) == {"127.0.0.3", "::1"} and all(check["status"] == "pass" for check in clean.values())
    assert one(result, "clean.test", "dnsbl.domain")["status"] == "pass"
    assert "listed.test: dnsbl.address [127.0.0.2]" in failure and "clean.test: dnsbl" not in failure


def test_refusing_list_warns(world):
    result, _failure = world.verify(["clean.test"], dnsbl_zones=["refusing.test"])
    found = checks(result, "clean.test", "dnsbl.address")
    assert found and all(check["status"] == "warn" and "refused the query" in check["detail"] for check in found)


def test_bad_zone_option_names_the_field(world):
    with pytest.raises(SpecError, match=r"dnsbl_zones\[1\]"):
        world.verify(["clean.test"], dnsbl_zones=["bl.test", "bad..zone"])
