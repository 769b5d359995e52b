"""A mailcow-style host: every ``mta-sts.<domain>`` and the MX name in one certificate (ADDITIONAL_SAN),
one MX host for every domain. The verifiers must describe that certificate once per run, say per
domain only whether its name is covered, and probe the shared MX once: their results grow with the
domains, never with domains x names.

Real BIND, nginx (one site per domain, all with the same many-name certificate) and an SMTP server.
"""

import contextlib
import json
import os

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, verify_mta_sts, verify_smtp_tls
from harness import BindServer, NginxServer, Site, SmtpServer

TIMEOUT = 5.0
POLICY_PATH = mta_sts.POLICY_PATH
MAIL_HOST = "mail.host.test"
MAIL_ADDRESS = "127.0.0.2"
DOMAINS = ["d%03d.test" % index for index in range(40)]
# The certificate names more hosts than the run checks, as one for a whole mailcow host does.
CERTIFICATE_NAMES = [MAIL_HOST] + ["mta-sts.d%03d.test" % index for index in range(400)]


def policy():
    return "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 604800\r\n" % MAIL_HOST


class World:
    def __init__(self, bind, web, smtp, ca_path, certificate):
        self.bind = bind
        self.web = web
        self.smtp = smtp
        self.ca_path = ca_path
        self.certificate = certificate

    def params(self, domains, **options):
        params = {
            "domains": domains, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
            "nameservers": ["127.0.0.1:%d" % self.bind.port], "timeout": TIMEOUT, "concurrency": 8,
            "ca_path": self.ca_path, "expected": None, "fail_on": "fail", "expiry_warn_days": 14, "processes": 1,
        }
        params.update(options)
        return params

    def mta_sts(self, domains, **options):
        return verify_mta_sts.run(self.params(domains, port=self.web.https_port, expected_mode=None, **options))

    def smtp_tls(self, domains, **options):
        return verify_smtp_tls.run(self.params(domains, port=self.smtp.port, helo_name="verifier.test", mta_sts_mode="auto",
                                               mta_sts_port=self.web.https_port, require_dane=False, **options))


@pytest.fixture(scope="module")
def world(test_ca, tmp_path_factory):
    certificate = test_ca.issue(CERTIFICATE_NAMES)
    zones = {"host.test": ["mail A %s" % MAIL_ADDRESS]}
    for domain in DOMAINS:
        zones[domain] = ["@ MX 10 %s." % MAIL_HOST, "mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(policy())]
    ca_path = str(test_ca.write_ca(tmp_path_factory.mktemp("ca") / "ca.pem"))
    with contextlib.ExitStack() as stack:
        bind = stack.enter_context(BindServer(zones))
        web = stack.enter_context(NginxServer([Site("mta-sts." + domain, files={POLICY_PATH: policy()}, certificate=certificate)
                                               for domain in DOMAINS], test_ca))
        smtp = stack.enter_context(SmtpServer(MAIL_HOST, test_ca, certificate=certificate, address=MAIL_ADDRESS))
        yield World(bind, web, smtp, ca_path, certificate)


def size(result):
    return len(json.dumps(result))


def test_mta_sts_describes_the_shared_certificate_once(world):
    result, failure = world.mta_sts(DOMAINS)
    assert failure is None, failure
    assert result["summary"]["checks_by_status"]["fail"] == 0
    certificates = result["certificates"]
    assert len(certificates) == 1
    (fingerprint, described), = certificates.items()
    assert described["sha256"] == fingerprint and len(fingerprint) == 64
    assert described["names_count"] == len(CERTIFICATE_NAMES)
    assert described["subject"] and described["issuer"] and described["not_after"]
    for entry in result["domains"]:
        reference = entry["mta_sts"]["fetch"]["certificate"]
        assert reference == {"sha256": fingerprint, "name_covered": True, "covered_by": "mta-sts." + entry["domain"]}
        check = next(check for check in entry["checks"] if check["name"] == "mta_sts.policy_certificate")
        assert check["status"] == "pass"
        assert "mta-sts.%s" % entry["domain"] in check["detail"] and fingerprint[:16] in check["detail"]
        # The detail names the certificate, not all its names: the 400th name is nowhere in it.
        assert CERTIFICATE_NAMES[-1] not in check["detail"]


@pytest.mark.parametrize("verifier", ["mta_sts", "smtp_tls"])
def test_result_grows_with_the_domains_not_with_domains_times_names(world, verifier):
    run = getattr(world, verifier)
    half, _failure = run(DOMAINS[:20])
    whole, _failure = run(DOMAINS)
    per_domain = (size(whole) - size(half)) / 20.0
    # A domain's own checks and facts take about 2.7 KB; the certificate's 401 names would add over 8 KB more.
    names_octets = len(json.dumps(CERTIFICATE_NAMES))
    assert names_octets > 8000
    assert per_domain < 4000, "each domain adds %.0f octets to the %s result" % (per_domain, verifier)
    assert len(whole["certificates"]) == 1
    # Beyond the few it shows, the certificate's names appear nowhere in the result.
    assert CERTIFICATE_NAMES[-1] not in json.dumps(whole) and CERTIFICATE_NAMES[-1] not in json.dumps(half)


def policy_requests(web):
    with open(os.path.join(web.directory, "access.log"), encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if POLICY_PATH in line)


def test_smtp_tls_probes_the_shared_mx_once(world):
    before = world.smtp.sessions
    world.smtp_tls(DOMAINS[:1])
    graded_one = world.smtp.sessions - before  # the probe and tls_grading's extra handshakes of one host
    before = world.smtp.sessions
    fetched = policy_requests(world.web)
    result, failure = world.smtp_tls(DOMAINS)
    assert failure is None, failure
    assert world.smtp.sessions - before == graded_one  # 40 domains cost what one does: the host is probed once
    before = world.smtp.sessions
    world.smtp_tls(DOMAINS, tls_guidance="none")
    assert world.smtp.sessions - before == 1  # without grading: one STARTTLS session for 40 domains
    # The MX certificate verifies, so no domain's MTA-STS mode can change a check: no policy is fetched.
    assert policy_requests(world.web) == fetched
    assert len(result["mx_hosts"]) == 1
    fingerprint = result["mx_hosts"][0]["probe"]["certificate"]["sha256"]
    assert fingerprint in result["certificates"]
    for entry in result["domains"]:
        found = {check["name"]: check for check in entry["checks"]}
        assert found["smtp.certificate"]["status"] == "pass"
        assert found["smtp.starttls"]["status"] == "pass"
        assert CERTIFICATE_NAMES[-1] not in found["smtp.certificate"]["detail"]
