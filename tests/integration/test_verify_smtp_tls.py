"""mailsec.posture.verify_smtp_tls against real servers: aiosmtpd MX hosts with STARTTLS, BIND with
signed, unsigned and bogus zones behind a validating unbound, and nginx for the MTA-STS policies.

One world serves every case (started once for this module). All MX hosts listen on one port, each
on its own loopback address, so the TLSA owner names ``_<port>._tcp.<mx>`` are the real ones.
"""

import contextlib
import datetime
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.mailsec.posture.plugins.module_utils import dane, mta_sts, verify_smtp_tls
from harness import Blackhole, BindServer, NginxServer, Site, SmtpServer, UnboundResolver

TIMEOUT = 3.0
SLACK = 1.5
LONG_RUN = 120
POLICY_PATH = mta_sts.POLICY_PATH
SILENT_ADDRESS = "127.0.0.12"  # a port that accepts connections and never says a word
REFUSING_ADDRESS = "127.0.0.11"  # nothing listens there

# MX host -> (address, SmtpServer options)
MX_HOSTS = {
    "mail.good.test": ("127.0.0.2", {}),
    "mail.wrongcert.test": ("127.0.0.3", {"certificate": "wrong_name"}),
    "mail.nostarttls.test": ("127.0.0.4", {"starttls": False}),
    "mail.tlsamismatch.test": ("127.0.0.5", {}),
    "mail.unsigned.test": ("127.0.0.6", {}),
    "mail.bogus.test": ("127.0.0.7", {}),
    "mail.expiring.test": ("127.0.0.8", {"certificate": "expiring"}),
    "mail.expired.test": ("127.0.0.9", {"certificate": "expired"}),
}
SIGNED = ["good.test", "wrongcert.test", "testingcert.test", "shared.test", "nostarttls.test", "tlsamismatch.test", "bogus.test",
          "expiring.test", "expired.test", "silent.test", "refused.test"]
MANY = ["many%02d.test" % index for index in range(12)]
# The key that replaces mail.good.test's: published beside the current one (a rollover scheme).
NEXT_KEY_PEM = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
NEXT_KEY_TLSA = dane.tlsa_from_public_key(NEXT_KEY_PEM)


def policy(mx, mode="enforce"):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: 604800\r\n" % (mode, "".join("mx: %s\r\n" % host for host in mx))


class World:
    def __init__(self, port, resolver, bind, web, ca_path, servers):
        self.port = port
        self.resolver = resolver
        self.bind = bind
        self.web = web
        self.ca_path = ca_path
        self.servers = servers

    def params(self, **options):
        params = {
            "domains": None, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
            "nameservers": ["127.0.0.1:%d" % self.resolver.port], "timeout": TIMEOUT, "concurrency": 8,
            "ca_path": self.ca_path, "expected": None, "fail_on": "fail", "expiry_warn_days": 14,
            "port": self.port, "helo_name": "verifier.test", "mta_sts_mode": "auto", "mta_sts_port": self.web.https_port,
            "require_dane": False,
        }
        params.update(options)
        return params

    def verify(self, **options):
        params = self.params(**options)
        began = time.monotonic()
        result, failure = verify_smtp_tls.run(params)
        elapsed = time.monotonic() - began
        assert elapsed < params["timeout"] + SLACK, "the call took %.2f s with a timeout of %.1f s" % (elapsed, params["timeout"])
        return result, failure


def zones_for(port, servers):
    def tlsa_of(host):
        return dane.tlsa_from_certificate(servers[host].certificate.cert_pem)

    def mx_zone(host, tlsa=None):
        address = MX_HOSTS[host][0] if host in MX_HOSTS else {"mail.silent.test": SILENT_ADDRESS}.get(host, REFUSING_ADDRESS)
        lines = ["@ MX 10 mail", "mail A %s" % address]
        if tlsa:
            lines.append("_%d._tcp.mail TLSA %s" % (port, tlsa))
        return lines

    with_policy = ["mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=p1"']
    zones = {
        # Two TLSA records: the key in use and the next one (a rollover scheme).
        "good.test": mx_zone("mail.good.test", tlsa_of("mail.good.test")) + ["_%d._tcp.mail TLSA %s" % (port, NEXT_KEY_TLSA)]
        + with_policy,
        # DANE-EE matches the key whatever the name: the certificate is wrong only for MTA-STS.
        "wrongcert.test": mx_zone("mail.wrongcert.test", tlsa_of("mail.wrongcert.test")) + with_policy,
        "testingcert.test": ["@ MX 10 mail.wrongcert.test."] + with_policy,
        "shared.test": ["@ MX 10 mail.wrongcert.test."],
        "nostarttls.test": mx_zone("mail.nostarttls.test"),
        "tlsamismatch.test": mx_zone("mail.tlsamismatch.test", "3 1 1 " + "5a" * 32),
        "unsigned.test": mx_zone("mail.unsigned.test", tlsa_of("mail.unsigned.test")),
        "bogus.test": mx_zone("mail.bogus.test"),
        # Its own zone, signed with a key the trust anchor does not name: validation says bogus.
        "_tcp.mail.bogus.test": ["@ SOA ns.bogus.test. hostmaster.bogus.test. 1 3600 600 86400 60", "@ NS ns.bogus.test.",
                                 "_%d TLSA %s" % (port, tlsa_of("mail.bogus.test"))],
        "expiring.test": mx_zone("mail.expiring.test"),
        "expired.test": mx_zone("mail.expired.test"),
        "silent.test": mx_zone("mail.silent.test"),
        "refused.test": mx_zone("mail.refused.test"),
        "nomx.test": ["www A 127.0.0.1"],
        "nullmx.test": ["@ MX 0 ."],
        # Reverse DNS of the MX addresses (forward-confirmed for those that have an A record).
        "0.0.127.in-addr.arpa": ["%s PTR %s." % (address.rsplit(".", maxsplit=1)[-1], host) for host, (address, _options) in MX_HOSTS.items()],
    }
    for domain in MANY:
        zones[domain] = ["@ MX 10 mail.good.test."]
    return zones


@pytest.fixture(scope="module")
def world(test_ca, tmp_path_factory):
    ca_path = str(test_ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem"))
    now = datetime.datetime.now(datetime.timezone.utc)
    with contextlib.ExitStack() as stack:
        silent = stack.enter_context(Blackhole(SILENT_ADDRESS))
        port = silent.port
        servers = {}
        for host, (address, options) in MX_HOSTS.items():
            options = dict(options)
            if options.get("certificate") == "expiring":
                options["certificate"] = test_ca.issue(host, not_before=now - datetime.timedelta(days=80),
                                                       not_after=now + datetime.timedelta(days=5, hours=12))
            server = SmtpServer(host, test_ca, address=address, **options)
            server.port = port  # every MX on the same port, as on the Internet
            servers[host] = stack.enter_context(server)
        bind = stack.enter_context(BindServer(zones_for(port, servers), dnssec_zones=SIGNED, bogus_zones=["_tcp.mail.bogus.test"]))
        resolver = stack.enter_context(UnboundResolver(bind))
        web = stack.enter_context(NginxServer([
            Site("mta-sts.good.test", files={POLICY_PATH: policy(["mail.good.test"])}),
            Site("mta-sts.wrongcert.test", files={POLICY_PATH: policy(["mail.wrongcert.test"])}),
            Site("mta-sts.testingcert.test", files={POLICY_PATH: policy(["mail.wrongcert.test"], mode="testing")}),
        ], test_ca))
        yield World(port, resolver, bind, web, ca_path, servers)


def checks_of(entry, subject=None):
    found = {}
    for check in entry["checks"]:
        if subject is None or check.get("subject") in (subject, entry["domain"]):
            assert check["name"] not in found, "check %s reported twice for %s" % (check["name"], subject)
            found[check["name"]] = check
    return found


def only_domain(result):
    assert len(result["domains"]) == 1
    return result["domains"][0]


GOOD_CHECKS = ["smtp.mx", "smtp.address", "smtp.ptr", "smtp.fcrdns", "smtp.connect", "smtp.starttls", "smtp.certificate",
               "smtp.certificate_expiry", "tls.versions", "tls.ciphers", "tls.groups", "tls.certificate_key", "tls.chain", "smtp.address_family",
               "smtp.banner", "dane.tlsa", "dane.tlsa_dnssec", "dane.tlsa_match", "dane.tlsa_rollover"]


def test_good_mx_passes_every_check(world):
    result, failure = world.verify(domains=["good.test"])
    entry = only_domain(result)
    assert failure is None and entry["status"] == "pass", entry["checks"]
    assert [check["name"] for check in entry["checks"]] == GOOD_CHECKS
    found = checks_of(entry)
    assert found["smtp.address"]["detail"] == "mail.good.test resolves to 127.0.0.2"
    assert found["smtp.connect"]["detail"].startswith("127.0.0.2 port %d: 220 mail.good.test" % world.port)
    assert "STARTTLS" in found["smtp.connect"]["detail"]
    assert found["smtp.certificate"]["detail"].startswith("valid for mail.good.test and trusted")
    assert found["dane.tlsa_dnssec"]["detail"] == "DNSSEC-validated (AD bit set by the resolver)"
    assert found["dane.tlsa_match"]["detail"].startswith("the presented chain matches 3 1 1 ")
    assert entry["mx"] == ["mail.good.test"]
    (host,) = result["mx_hosts"]
    assert host["host"] == "mail.good.test" and host["tlsa_authenticated"] is True
    assert host["probe"]["verified"] is True and host["probe"]["certificate"]["covered_by"] == "mail.good.test"
    assert result["certificates"][host["probe"]["certificate"]["sha256"]]["names_shown"] == ["mail.good.test"]


FAULTS = [
    ("nostarttls.test", "smtp.starttls", "fail", "EHLO does not offer STARTTLS"),
    ("wrongcert.test", "smtp.certificate", "fail", "the certificate is not valid for mail.wrongcert.test"),
    ("tlsamismatch.test", "dane.tlsa_match", "fail", "no TLSA record at _%(port)d._tcp.mail.tlsamismatch.test matches"),
    ("bogus.test", "dane.tlsa_dnssec", "fail", "SERVFAIL"),
    ("unsigned.test", "dane.tlsa_dnssec", "fail", "TLSA not DNSSEC-validated"),
    ("expiring.test", "smtp.certificate_expiry", "warn", "in 5 day(s) (under 14): renew it"),
    ("expired.test", "smtp.certificate", "warn", "the certificate has expired"),
    ("expired.test", "smtp.certificate_expiry", "warn", "day(s) ago"),
    ("silent.test", "smtp.connect", "fail", "no complete answer within 3 s"),
    ("refused.test", "smtp.connect", "fail", "cannot connect to 127.0.0.11 port %(port)d"),
    ("nomx.test", "smtp.mx", "fail", "nomx.test has no MX records (NODATA)"),
    ("nothere.test", "smtp.mx", "fail", "nothere.test has no MX records (NXDOMAIN)"),
]


@pytest.mark.parametrize("domain, name, status, detail", FAULTS, ids=["%s-%s" % (case[0].split(".")[0], case[1].split(".")[1]) for case in FAULTS])
def test_fault_is_named_by_its_check(world, domain, name, status, detail):
    result, failure = world.verify(domains=[domain])
    found = checks_of(only_domain(result))
    assert name in found, "no %s check in %s" % (name, list(found))
    assert found[name]["status"] == status, found[name]
    assert detail % {"port": world.port} in found[name]["detail"]
    if status == "fail":
        assert "%s: %s" % (domain, name) in failure


def test_chain_of_a_wrong_name_certificate_is_complete(world):
    # OpenSSL built the chain to the trusted CA and refused only the name: nothing is missing from the chain.
    found = checks_of(only_domain(world.verify(domains=["wrongcert.test"])[0]), "mail.wrongcert.test")
    assert found["smtp.certificate"]["status"] == "fail" and found["tls.chain"]["status"] == "pass", found["tls.chain"]


def test_certificate_severity_follows_the_mta_sts_mode(world):
    result, _failure = world.verify(domains=["wrongcert.test", "testingcert.test", "shared.test"])
    enforce, testing, none = (checks_of(entry)["smtp.certificate"] for entry in result["domains"])
    assert enforce["status"] == "fail" and "MTA-STS mode enforce (from the live MTA-STS policy): senders refuse to deliver" in enforce["detail"]
    assert testing["status"] == "warn" and "MTA-STS mode testing (from the live MTA-STS policy)" in testing["detail"]
    assert none["status"] == "warn" and "No MTA-STS policy: opportunistic senders deliver anyway" in none["detail"]
    # The three domains share one MX host, probed once; DANE-EE matches its key whatever the name.
    assert [host["host"] for host in result["mx_hosts"]] == ["mail.wrongcert.test"]
    assert checks_of(result["domains"][0])["dane.tlsa_match"]["status"] == "pass"
    assert "presented certificate: for wrong-name.invalid" in enforce["detail"]


def test_mta_sts_mode_option_overrides_the_live_policy(world):
    found = checks_of(only_domain(world.verify(domains=["shared.test"], mta_sts_mode="enforce")[0]))
    assert found["smtp.certificate"]["status"] == "fail"
    assert "MTA-STS mode enforce (from the mta_sts_mode option)" in found["smtp.certificate"]["detail"]


def test_model_mode_is_used_when_there_is_no_live_policy(world):
    model = [{"name": "shared.test", "mx": ["mail.wrongcert.test"], "mta_sts": {"mode": "enforce"}}]
    found = checks_of(only_domain(world.verify(mailsec_domains=model)[0]))
    assert found["smtp.certificate"]["status"] == "fail"
    assert "(from the inventory (the live policy could not be read))" in found["smtp.certificate"]["detail"]


def test_shared_mx_host_is_probed_once_for_many_domains(world):
    result, failure = world.verify(domains=MANY + ["good.test"], concurrency=4)
    assert failure is None
    assert [entry["domain"] for entry in result["domains"]] == MANY + ["good.test"]
    assert [host["host"] for host in result["mx_hosts"]] == ["mail.good.test"]
    # The many*.test zones are unsigned: their MX RRsets are insecure, which DANE senders notice.
    many = checks_of(result["domains"][0])
    assert many["dane.mx_dnssec"]["status"] == "warn"
    assert result["summary"]["domains_by_status"] == {"pass": 1, "warn": len(MANY), "fail": 0}


def test_null_mx_has_nothing_to_check(world):
    entry = only_domain(world.verify(domains=["nullmx.test"])[0])
    assert entry["checks"] == [{"name": "smtp.mx", "status": "pass", "subject": "nullmx.test",
                                "detail": "null MX (RFC 7505): nullmx.test accepts no mail, so there is no MX to check"}]


def test_require_dane_and_expected_tlsa(world):
    found = checks_of(only_domain(world.verify(domains=["nostarttls.test"], require_dane=True)[0]))
    assert found["dane.tlsa"]["status"] == "fail" and "DANE is expected for this MX" in found["dane.tlsa"]["detail"]
    good_tlsa = dane.tlsa_from_certificate(world.servers["mail.good.test"].certificate.cert_pem)
    owner = "_%d._tcp.mail.good.test." % world.port
    expected = [{"name": owner, "type": "TLSA", "value": good_tlsa}, {"name": owner, "type": "TLSA", "value": NEXT_KEY_TLSA},
                {"name": owner, "type": "TLSA", "value": "3 1 1 " + "77" * 32}]
    found = checks_of(only_domain(world.verify(domains=["good.test"], expected=expected)[0]))
    assert found["dane.tlsa_expected"]["status"] == "fail"
    assert found["dane.tlsa_expected"]["detail"] == "%s: missing 3 1 1 7777777777777777..." % owner.rstrip(".")
    found = checks_of(only_domain(world.verify(domains=["good.test"], expected=expected[:2])[0]))
    assert found["dane.tlsa_expected"]["status"] == "pass"


def test_model_dane_material_gives_the_expected_tlsa(world):
    certificate = world.servers["mail.good.test"].certificate.cert_pem
    model = [{"name": "good.test", "mx": ["mail.good.test"], "dane": {"port": world.port, "certificate": certificate, "next_public_key": NEXT_KEY_PEM}}]
    found = checks_of(only_domain(world.verify(mailsec_domains=model)[0]))
    assert found["dane.tlsa_expected"]["status"] == "pass"
    other_certificate = world.servers["mail.expired.test"].certificate.cert_pem
    other = [{"name": "good.test", "mx": ["mail.good.test"], "dane": {"port": world.port, "certificate": other_certificate}}]
    found = checks_of(only_domain(world.verify(mailsec_domains=other)[0]))
    assert found["dane.tlsa_expected"]["status"] == "fail"


def test_without_a_validating_resolver_tlsa_is_not_validated(world):
    found = checks_of(only_domain(world.verify(domains=["good.test"], nameservers=["127.0.0.1:%d" % world.bind.port])[0]))
    assert found["dane.tlsa_dnssec"]["status"] == "fail"
    assert "TLSA not DNSSEC-validated" in found["dane.tlsa_dnssec"]["detail"]
    assert found["dane.tlsa_match"]["status"] == "pass"


# ----- the module, through ansible-playbook ----------------------------------------------------

def module_play(world, domains, **options):
    task_options = {"domains": domains, "nameservers": ["127.0.0.1:%d" % world.resolver.port], "port": world.port,
                    "ca_path": world.ca_path, "timeout": TIMEOUT, "mta_sts_port": world.web.https_port, "helo_name": "verifier.test"}
    task_options.update(options)
    return [{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "verify", "mailsec.posture.verify_smtp_tls": task_options, "register": "verified", "ignore_errors": True}],
    }]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_module_reports_and_never_changes(world, run_playbook, check):
    result = run_playbook(module_play(world, ["good.test", "expiring.test"]), check=check, timeout=LONG_RUN)
    task = result.task_result("verify")
    assert result.rc == 0 and result.changed == 0 and task["changed"] is False
    assert "results" not in task and not task.get("failed")
    assert [entry["status"] for entry in task["domains"]] == ["pass", "warn"]
    assert sorted(host["host"] for host in task["mx_hosts"]) == ["mail.expiring.test", "mail.good.test"]


def test_module_fails_with_domain_check_and_detail(world, run_playbook):
    result = run_playbook(module_play(world, ["good.test", "nostarttls.test"]), timeout=LONG_RUN)
    task = result.task_result("verify")
    assert task["failed"] is True and task["changed"] is False
    assert task["msg"].startswith("1 check(s) at or above 'fail':\nnostarttls.test: smtp.starttls [mail.nostarttls.test]: ")
