"""mailsec.posture.verify_dns against a real BIND: every fault of the DNS part of the matrix.

One world serves every case (started once for this module); each case is its own verifier call
that must name its failing check and come back within its timeout.
"""

import time

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_dns
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model
from harness import BindServer
from harness.publishing import rsa_public_key

TIMEOUT = 2.0
# What a call may take beyond its timeout: the event loop's start, scheduling on a busy machine.
SLACK = 1.5
LONG_RUN = 180  # seconds an ansible-playbook run may take
# A 512-bit RSA key (openssl genrsa 512): too short to generate with cryptography, too short for DKIM.
KEY_512 = ("MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK1H8kcnpDZRD6JV4KuEboI12T1te6C40yXz+s3t2J8CBFmFzcJTp5Bs99EMh997Ms4Zpihd/04o0378ID4"
           "/gYUCAwEAAQ==")
KEY_2048 = rsa_public_key(2048)
KEY_1024 = rsa_public_key(1024)


def dkim_txt(key):
    """The key record in zone presentation, split into character-strings of at most 255 octets."""
    text = "v=DKIM1; k=rsa; p=" + key
    return " ".join('"%s"' % text[start:start + 200] for start in range(0, len(text), 200))


def complete(domain, spf='"v=spf1 mx -all"', dmarc='"v=DMARC1; p=reject; rua=mailto:dmarc@{d}"', extra=()):
    """Zone lines of a domain that passes every check, with the parts a case replaces."""
    lines = ["@ MX 10 mail", "mail A 127.0.0.1", "mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=20260101"',
             '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@%s"' % domain, "dkim._domainkey TXT " + dkim_txt(KEY_2048)]
    if spf:
        lines.append("@ TXT " + spf)
    if dmarc:
        lines.append("_dmarc TXT " + dmarc.replace("{d}", domain))
    return lines + list(extra)


# Nested includes: include:n1 (1), then include, a and mx in n1 to n3 (9) and a and mx in n4 (2): 12 lookups.
NESTED = ['n%d TXT "v=spf1 include:n%d.deep.test a mx -all"' % (level, level + 1) for level in range(1, 4)] + \
    ['n4 TXT "v=spf1 a mx -all"', "n1 A 127.0.0.1", "n2 A 127.0.0.1", "n3 A 127.0.0.1", "n4 A 127.0.0.1",
     "n1 MX 10 mail", "n2 MX 10 mail", "n3 MX 10 mail", "n4 MX 10 mail"]

# The domain whose records the collection computes; the zone drifts from them in three ways.
MODEL = [{
    "name": "model.test", "mx": ["mail.model.test"],
    "spf": {"mechanisms": ["mx"], "all": "fail"},
    "dkim": {"selector": "dkim", "public_key": KEY_2048},
    "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@model.test"]},
    "mta_sts": {"mode": "enforce", "max_age": 604800, "policy_host": "mail.model.test"},
    "tlsrpt": {"rua": ["mailto:tls@model.test"]},
}]
MODEL_RECORDS = desired_records(normalize_model(MODEL))


def model_zone():
    lines = []
    for record in MODEL_RECORDS:
        name = record["name"][:-len("model.test.")].rstrip(".") or "@"
        if record["standard"] == "tlsrpt":
            continue  # missing
        value = record["value"]
        if record["standard"] == "dmarc":
            value = value.replace("p=reject", "p=none")  # different
        lines.append({"name": name, "type": record["type"], "value": value})
    return lines + ["@ MX 20 backup.elsewhere.test.", "mail A 127.0.0.1"]  # one MX extra


ZONES = {
    "good.test": complete("good.test", spf='"v=spf1 mx include:_spf.good.test -all"',
                          dmarc='"v=DMARC1; p=reject; rua=mailto:dmarc@good.test,mailto:agg@reports.test"',
                          extra=['_spf TXT "v=spf1 ip4:192.0.2.0/24 -all"', "www CNAME good.test."]),
    "reports.test": ['good.test._report._dmarc TXT "v=DMARC1"'],
    "twospf.test": complete("twospf.test", extra=['@ TXT "v=spf1 ip4:192.0.2.1 -all"']),
    "deep.test": complete("deep.test", spf='"v=spf1 include:n1.deep.test -all"', extra=NESTED),
    "void.test": complete("void.test", spf='"v=spf1 a:gone1.void.test mx:gone2.void.test include:gone3.void.test -all"'),
    "loop.test": complete("loop.test", spf='"v=spf1 include:a.loop.test -all"',
                          extra=['a TXT "v=spf1 include:b.loop.test -all"', 'b TXT "v=spf1 include:a.loop.test -all"']),
    "plusall.test": complete("plusall.test", spf='"v=spf1 mx +all"'),
    "softall.test": complete("softall.test", spf='"v=spf1 mx ~all"'),
    "redirect.test": complete("redirect.test", spf='"v=spf1 redirect=_spf.redirect.test"', extra=['_spf TXT "v=spf1 mx ?all"']),
    "unauthorized.test": complete("unauthorized.test", dmarc='"v=DMARC1; p=reject; rua=mailto:agg@reports.test"'),
    "weakkey.test": [line for line in complete("weakkey.test") if "_domainkey" not in line] + ["dkim._domainkey TXT " + dkim_txt(KEY_1024)],
    "tinykey.test": [line for line in complete("tinykey.test") if "_domainkey" not in line] + ["dkim._domainkey TXT " + dkim_txt(KEY_512)],
    "revoked.test": [line for line in complete("revoked.test") if "_domainkey" not in line] + ['dkim._domainkey TXT "v=DKIM1; p="'],
    "twodmarc.test": complete("twodmarc.test", extra=['_dmarc TXT "v=DMARC1; p=none"']),
    "cname.test": [line for line in complete("cname.test") if "_mta-sts" not in line] + ["_mta-sts CNAME _mta-sts.good.test."],
    "bare.test": ["@ MX 10 mail", "mail A 127.0.0.1"],
    "model.test": model_zone(),
    # White space before the version: receivers discard both records (RFC 7208 4.5, RFC 7489 6.6.3).
    "spaced.test": complete("spaced.test", spf='" v=spf1 mx -all"', dmarc='" v=DMARC1; p=reject; rua=mailto:dmarc@{d}"'),
    # RFC 8461 3.1 and RFC 8460 3: white space may end a record only after a ';'.
    "trailing.test": [line for line in complete("trailing.test") if not line.startswith(("_mta-sts", "_smtp._tls"))]
    + ['_mta-sts TXT "v=STSv1; id=20260101 "', '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@trailing.test "'],
    # Hosts with only AAAA records: void for IPv4 senders (RFC 7208 5.3), found for IPv6 senders.
    "family.test": complete("family.test", spf='"v=spf1 a:v6a.family.test a:v6b.family.test a:v6c.family.test mx -all"',
                            extra=["v6a AAAA ::1", "v6b AAAA ::1", "v6c AAAA ::1"]),
    # A provider's include whose terms use %{o} (the sender's domain, 7.3) and %{d} (the include's own name).
    # (Owners of A records are host names: BIND's check-names refuses an underscore in them.)
    "macro.test": complete("macro.test", spf='"v=spf1 include:spf.provider.test -all"'),
    "provider.test": ['spf TXT "v=spf1 exists:%{o}.allow.provider.test include:%{o}._inc.provider.test a:%{d}.hosts.provider.test -all"',
                      "macro.test.allow A 127.0.0.2", 'macro.test._inc TXT "v=spf1 ip4:192.0.2.0/24 -all"',
                      "spf.provider.test.hosts A 127.0.0.3"],
}


class World:
    def __init__(self, bind):
        self.bind = bind

    @property
    def nameserver(self):
        return "127.0.0.1:%d" % self.bind.port

    def params(self, **options):
        params = {"domains": None, "mailsec_domains": None, "mail_host": None, "domain_defaults": {}, "nameservers": [self.nameserver],
                  "timeout": TIMEOUT, "overall_timeout": None, "concurrency": 8, "expected": None, "fail_on": "fail",
                  "dkim_selectors": ["dkim"], "profile": "standard", "facts": True}
        params.update(options)
        return params

    def verify(self, domains, **options):
        params = self.params(domains=domains, **options)
        began = time.monotonic()
        result, failure = verify_dns.run(params)
        elapsed = time.monotonic() - began
        assert elapsed < params["timeout"] + SLACK, "the call took %.2f s with a timeout of %.1f s" % (elapsed, params["timeout"])
        return result, failure


@pytest.fixture(scope="module")
def world():
    with BindServer(ZONES, servfail_zones=["servfail.test"], timeout_zones=["slow.test"]) as bind:
        yield World(bind)


def checks_of(result, domain):
    entry = next(entry for entry in result["domains"] if entry["domain"] == domain)
    return entry["checks"]


def only(result, domain, name):
    found = [check for check in checks_of(result, domain) if check["name"] == name]
    assert len(found) == 1, found
    return found[0]


def statuses(result, domain):
    return {check["name"]: check["status"] for check in checks_of(result, domain)}


def test_a_complete_domain_passes_every_check(world):
    result, failure = world.verify(["good.test"])
    assert failure is None
    assert statuses(result, "good.test") == {name: "pass" for name in [
        "mx.records", "dnssec.records", "mx.target", "spf.record", "spf.syntax", "spf.all", "spf.lookups", "spf.void_lookups", "spf.includes", "dkim.record",
        "dkim.key", "dmarc.record", "dmarc.policy", "dmarc.external_reports", "mta_sts.txt", "mta_sts.policy_host", "tlsrpt.record"]}
    assert only(result, "good.test", "spf.lookups")["detail"] == "2 DNS lookup(s) of at most 10: mx (1), include:_spf.good.test (1)"
    assert only(result, "good.test", "dmarc.external_reports")["subject"] == "reports.test"
    assert only(result, "good.test", "dkim.key")["detail"] == "RSA key of 2048 bits"
    facts = result["domains"][0]["dns"]
    assert facts["spf"]["lookups"] == 2 and facts["spf"]["includes"] == ["_spf.good.test"] and facts["spf"]["all"] == "-"
    assert facts["dmarc"]["policy"] == "reject" and facts["mx"] == ["10 mail.good.test."]
    assert result["summary"]["status"] == "pass" and "results" not in result


def test_two_spf_records(world):
    result, failure = world.verify(["twospf.test"])
    check = only(result, "twospf.test", "spf.record")
    assert check["status"] == "fail" and check["detail"].startswith("2 SPF records at the name")
    assert "v=spf1 mx -all" in check["detail"] and "v=spf1 ip4:192.0.2.1 -all" in check["detail"]
    assert "twospf.test: spf.record: 2 SPF records" in failure


def test_spf_over_ten_lookups_through_nested_includes(world):
    result, _failure = world.verify(["deep.test"])
    check = only(result, "deep.test", "spf.lookups")
    assert check["status"] == "fail"
    assert check["detail"].startswith("12 DNS lookups, more than 10: receivers stop with a permerror (RFC 7208 4.6.4)")
    assert check["detail"].endswith("include:n1.deep.test (12)")
    assert only(result, "deep.test", "spf.includes")["status"] == "pass"  # every include exists: only the count fails


def test_void_lookups(world):
    result, _failure = world.verify(["void.test"])
    check = only(result, "void.test", "spf.void_lookups")
    assert check["status"] == "fail"
    assert check["detail"].startswith("3 void lookups, more than 2")
    for term in ("a:gone1.void.test (NXDOMAIN)", "mx:gone2.void.test (NXDOMAIN)", "include:gone3.void.test (NXDOMAIN)"):
        assert term in check["detail"]
    includes = only(result, "void.test", "spf.includes")
    assert includes["status"] == "fail" and "gone3.void.test has no SPF record (NXDOMAIN)" in includes["detail"]


def test_void_lookups_per_address_family(world):
    result, _failure = world.verify(["family.test"])
    check = only(result, "family.test", "spf.void_lookups")
    assert check["status"] == "fail", check
    assert check["detail"].startswith("3 void lookups, more than 2, for IPv4 senders: "), check["detail"]
    assert "IPv4 senders 3 (a:v6a.family.test (NODATA), a:v6b.family.test (NODATA), a:v6c.family.test (NODATA))" in check["detail"]
    assert "IPv6 senders 0" in check["detail"]
    facts = next(entry for entry in result["domains"] if entry["domain"] == "family.test")["dns"]["spf"]
    assert facts["void_lookups"] == 3 and facts["void_lookups_by_family"] == {"ipv4": 3, "ipv6": 0}


def test_macros_inside_an_include_expand_o_to_the_senders_domain(world):
    result, _failure = world.verify(["macro.test"])
    includes = only(result, "macro.test", "spf.includes")
    assert includes["status"] == "pass", includes
    assert "spf.provider.test, macro.test._inc.provider.test" in includes["detail"]
    voids = only(result, "macro.test", "spf.void_lookups")
    # exists:%{o}... and a:%{d}... find their records; an IPv6 sender finds no AAAA for the a term.
    assert voids["status"] == "pass" and "IPv4 senders 0; IPv6 senders 1 (a:%{d}.hosts.provider.test (NODATA))" in voids["detail"], voids
    assert only(result, "macro.test", "spf.lookups")["detail"].startswith("4 DNS lookup(s) of at most 10")


def test_records_with_white_space_before_the_version_are_not_records(world):
    result, _failure = world.verify(["spaced.test"])
    spf_check = only(result, "spaced.test", "spf.record")
    assert spf_check["status"] == "fail" and "' v=spf1 mx -all' starts with white space before v=spf1" in spf_check["detail"], spf_check
    dmarc_check = only(result, "spaced.test", "dmarc.record")
    assert dmarc_check["status"] == "fail", dmarc_check
    assert "starts with white space before v=DMARC1; receivers discard it (RFC 7489 6.6.3)" in dmarc_check["detail"], dmarc_check


def test_white_space_after_the_last_field_fails_mta_sts_and_tlsrpt(world):
    result, _failure = world.verify(["trailing.test"])
    for name, rfc in (("mta_sts.txt", "RFC 8461 3.1"), ("tlsrpt.record", "RFC 8460 3")):
        check = only(result, "trailing.test", name)
        assert check["status"] == "fail", check
        assert "white space after the last field, without a ';', is outside %s's grammar: a failure" % rfc in check["detail"], check


def test_include_loop(world):
    result, _failure = world.verify(["loop.test"])
    check = only(result, "loop.test", "spf.includes")
    assert check["status"] == "fail" and "loop loop.test -> a.loop.test -> b.loop.test -> a.loop.test" in check["detail"]


@pytest.mark.parametrize("domain, profile, status, start", [
    ("plusall.test", "standard", "fail", "+all: every host on the internet may send mail as plusall.test"),
    ("softall.test", "standard", "pass", "~all: unlisted senders soft-fail"),
    ("softall.test", "strict", "warn", "~all: unlisted senders soft-fail"),
    ("redirect.test", "standard", "warn", "?all (from redirect=_spf.redirect.test)"),
    ("good.test", "strict", "pass", "-all: unlisted senders fail"),
])
def test_spf_all(world, domain, profile, status, start):
    result, _failure = world.verify([domain], profile=profile)
    check = only(result, domain, "spf.all")
    assert check["status"] == status and check["detail"].startswith(start)


def test_dmarc_unauthorized_external_rua(world):
    result, failure = world.verify(["unauthorized.test"])
    check = only(result, "unauthorized.test", "dmarc.external_reports")
    assert check["status"] == "fail" and check["subject"] == "reports.test"
    assert "no v=DMARC1 record at unauthorized.test._report._dmarc.reports.test (NXDOMAIN)" in check["detail"]
    assert "unauthorized.test: dmarc.external_reports [reports.test]" in failure


def test_two_dmarc_records(world):
    result, _failure = world.verify(["twodmarc.test"])
    check = only(result, "twodmarc.test", "dmarc.record")
    assert check["status"] == "fail" and check["detail"].startswith("2 DMARC records at the name")
    assert "dmarc.policy" not in statuses(result, "twodmarc.test")  # no record chosen: one failure, not two


@pytest.mark.parametrize("domain, status, detail", [
    ("weakkey.test", "warn", "RSA key of 1024 bits: use at least 2048 (RFC 8301 3.2)"),
    ("tinykey.test", "fail", "RSA key of 512 bits: verifiers must reject keys under 1024 bits (RFC 8301 3.2)"),
    ("revoked.test", "fail", "p= is empty: the key is revoked, every signature made with it fails (RFC 6376 3.6.1)"),
])
def test_dkim_keys(world, domain, status, detail):
    result, _failure = world.verify([domain])
    check = only(result, domain, "dkim.key")
    assert (check["status"], check["detail"], check["subject"]) == (status, detail, "dkim")


def test_without_selectors_dkim_is_not_checked(world):
    result, failure = world.verify(["good.test"], dkim_selectors=[])
    assert only(result, "good.test", "dkim.selectors")["status"] == "warn"
    assert failure is None


def test_mta_sts_txt_through_a_cname(world):
    result, _failure = world.verify(["cname.test"])
    check = only(result, "cname.test", "mta_sts.txt")
    assert check["status"] == "pass" and check["detail"] == "v=STSv1; id=20260101 (via CNAME _mta-sts.good.test)"


def test_a_domain_without_mail_records(world):
    result, _failure = world.verify(["bare.test"])
    found = statuses(result, "bare.test")
    assert found["mx.records"] == "pass"
    for name in ("spf.record", "dmarc.record", "mta_sts.txt", "mta_sts.policy_host", "tlsrpt.record", "dkim.record"):
        assert found[name] == "fail", name
    assert only(result, "bare.test", "spf.record")["detail"] == "no TXT record at bare.test (NODATA)"
    assert only(result, "bare.test", "tlsrpt.record")["detail"] == "no TXT record at _smtp._tls.bare.test (NXDOMAIN)"


def test_servfail(world):
    result, failure = world.verify(["servfail.test"])
    check = only(result, "servfail.test", "mx.records")
    assert check["status"] == "fail" and check["detail"] == "the lookup failed: MX servfail.test: SERVFAIL from %s" % world.nameserver
    assert all(check["status"] == "fail" for check in checks_of(result, "servfail.test"))
    assert "servfail.test: spf.record: the lookup failed: TXT servfail.test: SERVFAIL" in failure


def test_timeout_returns_within_the_timeout(world):
    began = time.monotonic()
    result, _failure = world.verify(["slow.test", "good.test"])
    assert time.monotonic() - began < TIMEOUT + SLACK
    check = only(result, "slow.test", "spf.record")
    assert check["status"] == "fail"
    assert check["detail"] == "the lookup failed: TXT slow.test: %s: no answer within %.1f s" % (world.nameserver, TIMEOUT)
    assert statuses(result, "good.test")["spf.record"] == "pass"  # one slow zone holds up no other domain


def test_dns_server_down():
    with BindServer({"down.test": complete("down.test")}) as bind:
        nameserver = "127.0.0.1:%d" % bind.port
        bind.stop()
        params = World(bind).params(domains=["down.test"], nameservers=[nameserver])
        began = time.monotonic()
        result, failure = verify_dns.run(params)
        assert time.monotonic() - began < 1.0  # ICMP port unreachable: no waiting for the timeout
    check = only(result, "down.test", "mx.records")
    assert check["status"] == "fail"
    assert check["detail"] == "the lookup failed: MX down.test: no nameserver reachable: %s: Connection refused" % nameserver
    assert "down.test: mx.records: the lookup failed" in failure


def test_expected_records_missing_extra_and_different(world):
    result, _failure = world.verify(["model.test"], expected=MODEL_RECORDS)
    found = {(check["name"], check["subject"]): check for check in checks_of(result, "model.test") if check["name"].startswith("records.")}
    assert set(found) == {("records.missing", "_smtp._tls.model.test. TXT"), ("records.different", "_dmarc.model.test. TXT"),
                          ("records.extra", "model.test. MX")}
    assert found[("records.missing", "_smtp._tls.model.test. TXT")]["detail"] == \
        "not published: 'v=TLSRPTv1; rua=mailto:tls@model.test' (NXDOMAIN)"
    assert found[("records.different", "_dmarc.model.test. TXT")]["detail"] == \
        "live 'v=DMARC1; p=none; rua=mailto:dmarc@model.test', expected 'v=DMARC1; p=reject; rua=mailto:dmarc@model.test'"
    assert found[("records.extra", "model.test. MX")]["detail"] == "published but not expected: '20 backup.elsewhere.test.'"
    assert [found[key]["status"] for key in sorted(found)] == ["fail", "warn", "fail"]  # different, extra, missing


def test_the_model_gives_the_expectations(world):
    result, failure = world.verify(None, mailsec_domains=MODEL, dkim_selectors=[])
    found = statuses(result, "model.test")
    assert found["records.missing"] == found["records.different"] == "fail" and found["records.extra"] == "warn"
    assert found["dmarc.policy"] == "fail" and only(result, "model.test", "dmarc.policy")["detail"] == "p=none, the inventory says reject"
    assert found["mx.records"] == "warn"  # backup.elsewhere.test is not in the inventory
    assert found["dkim.key"] == "pass" and found["tlsrpt.record"] == "fail"
    assert "model.test: records.missing [_smtp._tls.model.test. TXT]" in failure


def test_matching_expected_records_pass(world):
    wanted = desired_records(normalize_model([{"name": "good.test", "mx": ["mail.good.test"], "spf": False, "dmarc": False, "mta_sts": False}]))
    result, _failure = world.verify(["good.test"], expected=wanted)
    check = only(result, "good.test", "records.expected")
    assert check["status"] == "pass" and check["detail"] == "1 expected record set(s) published as expected"


def test_many_domains_in_one_call(world):
    domains = sorted(ZONES)
    result, _failure = world.verify(domains)
    assert [entry["domain"] for entry in result["domains"]] == domains
    assert result["summary"]["domains"] == len(domains)


def comparable(result):
    """What a run found, with the records a detail lists in a fixed order: BIND rotates the order of
    an RRset from one answer to the next (twospf.test lists its two SPF records either way round)."""
    entries = [(entry["domain"], entry["status"], [dict(check, detail=in_fixed_order(check["detail"])) for check in entry["checks"]])
               for entry in result["domains"]]
    return entries, result["summary"]


def in_fixed_order(text):
    """Each line's ``a | b`` list of records sorted."""
    lines = []
    for line in text.split("\n"):
        head, separator, listed = line.rpartition("): ")
        if " | " in listed:
            line = head + separator + " | ".join(sorted(listed.split(" | ")))
        lines.append(line)
    return "\n".join(lines)


def test_processes_change_nothing_but_the_time(world, counted_forks):
    forks = counted_forks
    domains = sorted(ZONES)
    alone = world.verify(domains, processes=1)
    assert forks == []
    spread = world.verify(domains, processes=3)
    assert forks == [domains[1::3], domains[2::3]]
    assert comparable(spread[0]) == comparable(alone[0]) and in_fixed_order(spread[1]) == in_fixed_order(alone[1])


def test_passing_checks_brief_or_omitted(world):
    full, _failure = world.verify(["good.test", "softall.test"], profile="strict")
    brief, _failure = world.verify(["good.test", "softall.test"], profile="strict", passing_checks="brief")
    omitted, _failure = world.verify(["good.test", "softall.test"], profile="strict", passing_checks="omit", facts=False)
    assert brief["summary"] == full["summary"] == omitted["summary"]
    assert full["summary"]["checks_by_status"]["pass"] > 20
    for full_entry, entry in zip(full["domains"], brief["domains"]):
        assert len(entry["checks"]) == len(full_entry["checks"])
        for full_check, check in zip(full_entry["checks"], entry["checks"]):
            assert (check["name"], check["status"], check.get("subject")) == (full_check["name"], full_check["status"], full_check.get("subject"))
            assert check.get("detail") == (None if check["status"] == "pass" else full_check["detail"])
    assert omitted["domains"][0] == {"domain": "good.test", "status": "pass", "checks": []}
    assert omitted["domains"][1]["checks"] == [check for check in full["domains"][1]["checks"] if check["status"] != "pass"]
    assert [check["name"] for check in omitted["domains"][1]["checks"]] == ["spf.all"] and "~all" in omitted["domains"][1]["checks"][0]["detail"]
    with pytest.raises(SpecError, match="passing_checks: must be one of full, brief, omit"):
        world.verify(["good.test"], passing_checks="some")


def module_play(world, domains, **options):
    task_options = {"domains": domains, "nameservers": [world.nameserver], "timeout": TIMEOUT, "dkim_selectors": ["dkim"]}
    task_options.update(options)
    return [{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "verify", "mailsec.posture.verify_dns": task_options, "register": "verified", "ignore_errors": True}],
    }]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_module_reports_and_never_changes(world, run_playbook, check):
    result = run_playbook(module_play(world, ["good.test", "softall.test"], profile="strict"), check=check, timeout=LONG_RUN)
    task = result.task_result("verify")
    assert result.rc == 0 and result.changed == 0 and task["changed"] is False and not task.get("failed")
    assert "results" not in task
    assert [entry["domain"] for entry in task["domains"]] == ["good.test", "softall.test"]
    assert task["summary"]["domains_by_status"] == {"pass": 1, "warn": 1, "fail": 0}
    assert "dns" not in task["domains"][0]  # facts are opt-in


def test_module_fails_with_domain_check_and_detail(world, run_playbook):
    result = run_playbook(module_play(world, ["good.test", "unauthorized.test"]), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert task["failed"] is True and task["changed"] is False
    assert task["msg"].startswith("1 check(s) at or above 'fail':\nunauthorized.test: dmarc.external_reports [reports.test]: "
                                  "reports.test does not authorize reports about unauthorized.test")
    assert [entry["status"] for entry in task["domains"]] == ["pass", "fail"]


def test_module_rejects_bad_input_without_a_traceback(world, run_playbook):
    result = run_playbook(module_play(world, ["not a domain"], nameservers=["ns.example"]), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert task["failed"] is True and "Traceback" not in result.stdout
    assert "domains[0]" in task["msg"] or "nameservers[0]" in task["msg"]
