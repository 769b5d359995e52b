"""SPF domain-specs whose expansion holds octets a host name never has, resolved live against BIND.

The RFC 7208 test suite's ``macro-mania-in-domain`` (``a:macro%%percent%_%_space%-url-space.example.com``)
expands to a name with a space, two percent signs and ``%20`` in its first label; a backslash in a
domain-spec is an octet too. verify_dns must send those octets, match the answer to them and pass
``spf.lookups``, ``spf.void_lookups`` and ``spf.includes`` well within its timeout.
"""

import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_dns
from ansible_collections.mailsec.posture.plugins.module_utils.resolver import Resolver
from harness import BindServer

TIMEOUT = 2.0
MANIA = "macro%%percent%_%_space%-url-space"  # the domain-spec's first label, with its macros
MANIA_EXPANDED = "macro%percent\\032\\032space%20url-space"  # that label in zone-file text
ZONES = {
    "mania.test": [
        '@ TXT "v=spf1 a:%s.mania.test -all"' % MANIA, "@ MX 10 mail", "mail A 127.0.0.1",
        "%s A 192.0.2.1" % MANIA_EXPANDED,
        'inc TXT "v=spf1 include:%s.mania.test -all"' % MANIA, "inc MX 10 mail",
        '%s TXT "v=spf1 ip4:192.0.2.0/24 -all"' % MANIA_EXPANDED,
        'slash TXT "v=spf1 a:back\\\\slash.mania.test exists:%{d}.back\\\\slash.mania.test -all"', "slash MX 10 mail",
        "back\\\\slash A 192.0.2.2", "slash.mania.test.back\\\\slash A 127.0.0.2",
    ],
}


@pytest.fixture(scope="module")
def bind():
    # check_names=False: BIND's check-names wants host names at A records; DNS itself takes any octet (RFC 2181 11).
    with BindServer(ZONES, check_names=False) as server:
        yield server


def verify(bind, domain):
    params = {"domains": [domain], "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
              "nameservers": ["127.0.0.1:%d" % bind.port], "timeout": TIMEOUT, "overall_timeout": None, "concurrency": 8,
              "expected": None, "fail_on": "never", "dkim_selectors": [], "profile": "standard", "facts": True}
    began = time.monotonic()
    result, _failure = verify_dns.run(params)
    elapsed = time.monotonic() - began
    checks = {check["name"]: check for check in result["domains"][0]["checks"]}
    return checks, result["domains"][0]["dns"], elapsed


def test_the_expanded_name_is_the_name_bind_serves(bind):
    name, unknown = verify_dns.expand_spf_macros(MANIA + ".mania.test", "mania.test")
    assert unknown == [] and name == "macro%percent  space%20url-space.mania.test"
    answer = Resolver(["127.0.0.1:%d" % bind.port], timeout=TIMEOUT).query(name, "A")
    assert answer.kind == "ok" and answer.records == ["192.0.2.1"]
    assert bind.query(MANIA_EXPANDED + ".mania.test", "A") == ["192.0.2.1"]  # what BIND holds, asked by dnspython


def test_macro_mania_in_an_a_term_resolves_without_a_timeout(bind):
    checks, facts, elapsed = verify(bind, "mania.test")
    assert elapsed < TIMEOUT, "%.2f s: a lookup waited for its timeout" % elapsed
    for name in ("spf.record", "spf.syntax", "spf.lookups", "spf.void_lookups", "spf.includes"):
        assert checks[name]["status"] == "pass", checks[name]
    # The name has an A record only: not void for IPv4 senders (void lookups are counted per family, RFC 7208 4.6.4).
    assert "IPv4 senders 0" in checks["spf.void_lookups"]["detail"], checks["spf.void_lookups"]
    assert facts["spf"]["lookups"] == 1


def test_macro_mania_as_an_include_target(bind):
    checks, facts, elapsed = verify(bind, "inc.mania.test")
    assert elapsed < TIMEOUT, "%.2f s: a lookup waited for its timeout" % elapsed
    assert checks["spf.includes"]["status"] == "pass", checks["spf.includes"]
    assert facts["spf"]["includes"] == ["macro%percent  space%20url-space.mania.test"]
    assert facts["spf"]["lookups"] == 1 and checks["spf.void_lookups"]["status"] == "pass"


def test_a_backslash_in_a_domain_spec_is_an_octet(bind):
    checks, facts, elapsed = verify(bind, "slash.mania.test")
    assert elapsed < TIMEOUT
    assert "IPv4 senders 0" in checks["spf.void_lookups"]["detail"], checks["spf.void_lookups"]
    assert checks["spf.includes"]["status"] == "pass" and facts["spf"]["lookups"] == 2
