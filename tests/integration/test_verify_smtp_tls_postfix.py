"""verify_smtp_tls against Debian's postfix as the MX: a strong configuration (TLS 1.2+, Mozilla
intermediate suites, IPv4 and IPv6, forward-confirmed reverse DNS, two TLSA records) and a weak one
(TLS 1.0+, every suite at security level 0, only the secp521r1 group, a 1024-bit RSA key sent
without its intermediate, a banner that is not the MX name, an AAAA record it does not serve), with BIND (signed zones and
reverse zones) behind a validating unbound. posttls-finger, postfix's own client, checks that the
DANE verdict is the same."""

import contextlib
import datetime
import ipaddress
import os
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.mailsec.posture.plugins.module_utils import dane, tls_grading, verify_smtp_tls
from harness import BindServer, UnboundResolver
from harness.ca import IssuedCert
from harness.postfix import STRONG_TLS, WEAK_TLS, PostfixServer

pytestmark = pytest.mark.skipif(shutil.which("postconf") is None, reason="postfix is not installed (tools/bootstrap installs it)")

TIMEOUT = 8.0
STRONG_ADDRESS = "127.0.0.21"
WEAK_ADDRESS = "127.0.0.22"
V6_PTR_ZONE = ipaddress.ip_address("::1").reverse_pointer.split(".", 1)[1]  # the zone of ::/124


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, key, signing_key, names=None, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=90))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def weak_pki(host):
    """``(root PEM, IssuedCert)``: a leaf with a 1024-bit RSA key, issued by an intermediate that the
    server does not send (the IssuedCert's chain is the leaf alone)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate("weak test root", "weak test root", root_key, root_key, ca=True)
    middle_key = ec.generate_private_key(ec.SECP256R1())
    middle = _certificate("weak test intermediate", "weak test root", middle_key, root_key, ca=True)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    leaf = _certificate(host, "weak test intermediate", leaf_key, middle_key, names=[host])
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode("ascii")
    return _pem(root), IssuedCert(cert_pem=_pem(leaf), key_pem=key_pem, chain_pem=_pem(leaf))


class World:
    def __init__(self, bind, resolver, strong, weak, ca_path):
        self.bind = bind
        self.resolver = resolver
        self.strong = strong
        self.weak = weak
        self.ca_path = ca_path

    def verify(self, domains, server, **options):
        params = {
            "domains": domains, "mailsec_domains": None, "mail_host": None, "domain_defaults": {},
            "nameservers": ["127.0.0.1:%d" % self.resolver.port], "timeout": TIMEOUT, "concurrency": 8,
            "ca_path": self.ca_path, "expected": None, "fail_on": "fail", "expiry_warn_days": 14,
            "port": server.port, "helo_name": "verifier.test", "mta_sts_mode": "none", "require_dane": False,
        }
        params.update(options)
        return verify_smtp_tls.run(params)


def zones(strong, weak):
    strong_tlsa = dane.tlsa_from_certificate(strong.certificate.cert_pem)
    next_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return {
        # Strong: A and AAAA, both served; PTRs that resolve back; the current key and the next one.
        "strong.test": ["@ MX 10 mail", "mail A %s" % STRONG_ADDRESS, "mail AAAA ::1",
                        "_%d._tcp.mail TLSA %s" % (strong.port, strong_tlsa),
                        "_%d._tcp.mail TLSA %s" % (strong.port, dane.tlsa_from_public_key(next_key))],
        # The strong server under another name, with a TLSA record that matches nothing.
        "danebad.test": ["@ MX 10 mail", "mail A %s" % STRONG_ADDRESS, "_%d._tcp.mail TLSA 3 1 1 %s" % (strong.port, "5a" * 32)],
        # Weak: an AAAA record the server does not listen on; a PTR that does not resolve back.
        "weak.test": ["@ MX 10 mail", "mail A %s" % WEAK_ADDRESS, "mail AAAA ::1", "_%d._tcp.mail TLSA %s" % (
            weak.port, dane.tlsa_from_certificate(weak.certificate.cert_pem))],
        "0.0.127.in-addr.arpa": ["21 PTR mail.strong.test.", "22 PTR unconfirmed.weak.test."],
        V6_PTR_ZONE: ["1 PTR mail.strong.test."],
    }


@pytest.fixture(scope="module")
def world(test_ca, tmp_path_factory):
    directory = tmp_path_factory.mktemp("postfix-world")
    weak_root_pem, weak_certificate = weak_pki("mail.weak.test")
    ca_path = str(directory / "ca.pem")
    with open(ca_path, "w", encoding="ascii") as handle:
        handle.write(test_ca.ca_pem + weak_root_pem)
    with contextlib.ExitStack() as stack:
        strong = stack.enter_context(PostfixServer("mail.strong.test", test_ca, tls=STRONG_TLS, address=STRONG_ADDRESS))
        weak = stack.enter_context(PostfixServer("mail.weak.test", test_ca, certificate=weak_certificate, ipv6=False,
                                                 tls=dict(WEAK_TLS, tls_eecdh_auto_curves="secp521r1"),
                                                 address=WEAK_ADDRESS, banner="other.weak.test"))
        assert strong.postconf("smtpd_tls_protocols") == ">=TLSv1.2" and weak.postconf("smtpd_tls_protocols") == ">=TLSv1"
        bind = stack.enter_context(BindServer(zones(strong, weak), dnssec_zones=["strong.test", "danebad.test", "weak.test"]))
        resolver = stack.enter_context(UnboundResolver(bind))
        yield World(bind, resolver, strong, weak, ca_path)


def checks_of(result, subject):
    (entry,) = result["domains"]
    return {check["name"]: check for check in entry["checks"] if check.get("subject") in (subject, entry["domain"])}


def all_named(result, name):
    (entry,) = result["domains"]
    return [check for check in entry["checks"] if check["name"] == name]


# ----- the strong server passes every graded check

def test_strong_postfix_passes(world):
    result, failure = world.verify(["strong.test"], world.strong)
    found = checks_of(result, "mail.strong.test")
    assert failure is None, failure
    for name in ("tls.versions", "tls.ciphers", "tls.groups", "tls.certificate_key", "tls.chain", "smtp.banner",
                 "smtp.ptr", "smtp.fcrdns", "dane.tlsa_match", "dane.tlsa_rollover"):
        assert found[name]["status"] == "pass", found[name]
    assert found["tls.versions"]["detail"].startswith("accepts TLSv1.2, TLSv1.3")
    assert "TLSv1 " not in found["tls.versions"]["detail"] and "TLSv1.1" not in found["tls.versions"]["detail"].split(";")[0]
    families = all_named(result, "smtp.address_family")
    wanted = [("pass", "IPv4: STARTTLS at %s" % STRONG_ADDRESS), ("pass", "IPv6: STARTTLS at ::1")]
    assert [(check["status"], check["detail"]) for check in families] == wanted
    assert {check["detail"].split(": ", 1)[0] for check in all_named(result, "smtp.fcrdns")} == {STRONG_ADDRESS, "::1"}
    assert found["dane.tlsa_rollover"]["detail"].startswith("rollover scheme current + next (2 records)")
    (host,) = result["mx_hosts"]
    assert host["tls_grade"]["versions"]["TLSv1.2"] is True and host["tls_grade"]["versions"]["TLSv1"] is False
    assert host["tls_grade"]["guidance"] == tls_grading.GUIDANCES[tls_grading.DEFAULT_GUIDANCE].title


# ----- the weak server: each weakness named by its check

@pytest.mark.parametrize("name, status, detail", [
    ("tls.versions", "warn", "accepts TLSv1, TLSv1.1, TLSv1.2, TLSv1.3: TLSv1, TLSv1.1 outside"),
    ("tls.ciphers", "warn", "accepts cipher suites outside Mozilla server-side TLS guidelines 5.7, intermediate"),
    ("tls.groups", "warn", "accepts none of the key exchange groups of Mozilla server-side TLS guidelines 5.7, intermediate"),
    ("tls.certificate_key", "fail", "RSA 1024 bits"),
    ("tls.chain", "warn", "issued by CN=weak test intermediate, which was not sent"),
    ("smtp.banner", "warn", "greets as other.weak.test"),
    ("smtp.address_family", "fail", "IPv6: the MX has an AAAA record, but STARTTLS at ::1 failed"),
    ("dane.tlsa_rollover", "warn", "a single usable TLSA record leaves no room for a key change"),
], ids=lambda value: value if "." in str(value) and " " not in str(value) else None)
def test_weak_postfix_is_named_by_each_check(world, name, status, detail):
    result, _failure = world.verify(["weak.test"], world.weak)
    found = checks_of(result, "mail.weak.test")
    assert found[name]["status"] == status, found[name]
    assert detail in found[name]["detail"], found[name]


def test_weak_postfix_reverse_dns_is_not_confirmed(world):
    result, _failure = world.verify(["weak.test"], world.weak)
    (check,) = [check for check in all_named(result, "smtp.fcrdns") if check["detail"].startswith(WEAK_ADDRESS + ":")]
    assert check["status"] == "warn" and "unconfirmed.weak.test do not resolve back to it" in check["detail"]


def test_tls_guidance_modern_warns_on_tls12_and_none_skips_the_extra_handshakes(world):
    result, _failure = world.verify(["strong.test"], world.strong, tls_guidance="mozilla-modern-5.7")
    versions = checks_of(result, "mail.strong.test")["tls.versions"]
    assert versions["status"] == "warn" and "TLSv1.2 outside Mozilla server-side TLS guidelines 5.7, modern" in versions["detail"]
    result, _failure = world.verify(["strong.test"], world.strong, tls_guidance="none")
    found = checks_of(result, "mail.strong.test")
    assert "tls.versions" not in found and "smtp.address_family" not in found and found["tls.certificate_key"]["status"] == "pass"
    with pytest.raises(Exception, match="tls_guidance: must be one of"):
        world.verify(["strong.test"], world.strong, tls_guidance="nist")


# ----- posttls-finger agrees on DANE

def posttls_finger(world, server, host, tmp_path):
    """posttls-finger -l dane against ``host`` (its A and TLSA from the test DNS, validated by an
    unbound on port 53 of a loopback address of its own), in a mount namespace whose
    /etc/resolv.conf names that unbound. Returns (exit status, output)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver %s\noptions trust-ad edns0\n" % PORT53_ADDRESS)
    command = "mount --bind %s /etc/resolv.conf && exec posttls-finger -t30 -T30 -c -l dane -P /etc/ssl/certs '[%s]:%d'" % (
        resolv, host, server.port)
    # posttls-finger reads main.cf from MAIL_CONFIG: the server's own private configuration will do.
    environment = dict(os.environ, MAIL_CONFIG=server.config_directory)
    completed = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=60, check=False,
                               env=environment)
    return completed.returncode, completed.stdout + completed.stderr


PORT53_ADDRESS = "127.0.0.53"


class _Port53Unbound(UnboundResolver):
    """unbound on port 53 (the C resolver posttls-finger uses cannot ask another port)."""

    def _free_ports(self):
        return (53,)


@pytest.fixture(scope="module")
def port53(world):
    try:
        with _Port53Unbound(world.bind, address=PORT53_ADDRESS) as resolver:
            yield resolver
    except Exception as exc:  # pylint: disable=broad-exception-caught
        pytest.skip("no unbound on %s:53: %s" % (PORT53_ADDRESS, str(exc).splitlines()[0]))


@pytest.mark.skipif(shutil.which("posttls-finger") is None or os.geteuid() != 0, reason="needs posttls-finger and root (unshare -m)")
@pytest.mark.parametrize("domain, verified", [("strong.test", True), ("danebad.test", False)], ids=["match", "mismatch"])
def test_posttls_finger_agrees_on_dane(world, port53, tmp_path, domain, verified):
    host = "mail." + domain
    result, _failure = world.verify([domain], world.strong)
    ours = checks_of(result, host)["dane.tlsa_match"]["status"] == "pass"
    _status, output = posttls_finger(world, world.strong, host, tmp_path)
    theirs = "Verified TLS connection established" in output
    assert ours is verified and theirs is verified, output
    if not verified:
        assert "no matching DANE TLSA records" in output, output
