"""The test servers themselves, checked for real: BIND, unbound, nginx, SMTP, the CA, the playbook runner."""

import base64
import datetime
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import time

import dns.dnssec
import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest
from cryptography import x509

import harness.bind
import harness.nginx
import harness.unbound
from harness import Blackhole, PlaybookTimeout, ServerError, Site, insecure_context

POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 86400\n"
POLICY_PATH = "/.well-known/mta-sts.txt"
# A DKIM-sized TXT value: longer than one 255-octet character-string.
LONG_TXT = "v=DKIM1; k=rsa; p=" + "A" * 600
# The project's start-up targets (seconds); measured values are a few hundredths of these.
STARTUP_TARGETS = {"named": 2.0, "unbound": 2.0, "nginx": 1.0}

EXAMPLE_ZONE = [
    {"name": "@", "type": "MX", "value": "10 mail"},
    {"name": "mail", "type": "A", "value": "127.0.0.1"},
    {"name": "@", "type": "TXT", "value": "v=spf1 mx -all"},
    {"name": "dkim._domainkey", "type": "TXT", "value": LONG_TXT, "ttl": 300},
    '_dmarc 60 IN TXT "v=DMARC1; p=reject"',
]


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# ----- test CA --------------------------------------------------------------------------------

def _validity(pem):
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc


def test_ca_issues_current_expired_and_future_certificates(test_ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = _validity(test_ca.issue("mail.example.test").cert_pem)
    assert start <= now <= end
    assert _validity(test_ca.issue("mail.example.test", expired=True).cert_pem)[1] < now
    assert _validity(test_ca.issue("mail.example.test", future=True).cert_pem)[0] > now


def test_ca_names_and_untrusted_issuer(test_ca, tmp_path):
    issued = test_ca.issue(["mail.example.test", "mta-sts.example.test"])
    certificate = x509.load_pem_x509_certificate(issued.cert_pem.encode("ascii"))
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert names == ["mail.example.test", "mta-sts.example.test"]
    untrusted = x509.load_pem_x509_certificate(test_ca.untrusted.issue("mail.example.test").cert_pem.encode("ascii"))
    assert untrusted.issuer != certificate.issuer
    files = issued.write(str(tmp_path), "mail")
    assert os.stat(files.key).st_mode & 0o777 == 0o600
    assert _read(files.chain).startswith(issued.cert_pem)
    assert _read(test_ca.write_ca(tmp_path / "ca.pem")) == test_ca.ca_pem


# ----- BIND -------------------------------------------------------------------------------------

def test_bind_answers_records_over_udp_and_tcp(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    assert bind.address == "127.0.0.1" and bind.port > 0
    for tcp in (False, True):
        assert bind.query("example.test", "MX", tcp=tcp) == ["10 mail.example.test."]
        assert bind.query_txt("_dmarc.example.test", tcp=tcp) == ["v=DMARC1; p=reject"]
    answer = bind.lookup("dkim._domainkey.example.test", "TXT")
    assert answer.authoritative and answer.rcode == "NOERROR"
    strings = answer.message.answer[0][0].strings
    assert [len(part) for part in strings] == [255, 255, len(LONG_TXT) - 510]
    assert b"".join(strings).decode("ascii") == LONG_TXT
    assert answer.message.answer[0].ttl == 300


def test_txt_values_round_trip_octet_for_octet(bind_server):
    tricky = 'say "hi"; back\\slash caf\u00e9! ' + "\u00fc" * 150  # 328 octets
    chosen = ["v=spf1 ", "mx -all"]
    bind = bind_server({"example.test": [
        {"name": "tricky", "type": "TXT", "value": tricky},
        {"name": "chosen", "type": "TXT", "value": chosen},
    ]})
    strings = bind.lookup("tricky.example.test", "TXT").message.answer[0][0].strings
    # Cut at 255 octets, inside the UTF-8 pair of a "\u00fc": DNS strings are octets.
    assert [len(part) for part in strings] == [255, 73] and strings[0][-1:] == b"\xc3"
    assert b"".join(strings) == tricky.encode("utf-8")
    assert bind.lookup("chosen.example.test", "TXT").message.answer[0][0].strings == (b"v=spf1 ", b"mx -all")


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) is not installed")
def test_bind_answers_dig(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    output = subprocess.run(
        ["dig", "+short", "+time=2", "+tries=1", "-p", str(bind.port), "@" + bind.address, "mail.example.test", "A"],
        capture_output=True, text=True, timeout=10, check=True).stdout
    assert output.split() == ["127.0.0.1"]


def test_bind_names_outside_the_zones_do_not_exist(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    assert bind.lookup("nothing.example.test").rcode == "NXDOMAIN"
    assert bind.lookup("example.org", "MX").rcode == "NXDOMAIN"
    assert bind.query("example.test", "AAAA") == []


def test_tsig_update_is_applied(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    assert (bind.tsig_algorithm, len(base64.b64decode(bind.tsig_secret))) == ("hmac-sha256", 32)
    update = bind.new_update("example.test")
    update.replace("_dmarc", 60, "TXT", '"v=DMARC1; p=none"')
    update.add("_smtp._tls", 60, "TXT", '"v=TLSRPTv1; rua=mailto:tls@example.test"')
    assert bind.send(update).rcode() == 0
    assert bind.query_txt("_dmarc.example.test") == ["v=DMARC1; p=none"]
    assert bind.query_txt("_smtp._tls.example.test") == ["v=TLSRPTv1; rua=mailto:tls@example.test"]
    assert os.path.exists(os.path.join(bind.directory, "db.example.test.jnl"))


@pytest.mark.parametrize("keyname, error", [(None, dns.tsig.PeerBadSignature), ("unknown-key", dns.tsig.PeerBadKey)])
def test_update_with_a_wrong_key_is_rejected(bind_server, keyname, error):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    update = bind.new_update("example.test", keyname=keyname, secret=base64.b64encode(os.urandom(32)).decode("ascii"))
    update.add("intruder", 60, "TXT", '"nope"')
    # BIND answers NOTAUTH with TSIG error BADSIG/BADKEY; dnspython raises it as these exceptions.
    with pytest.raises(error):
        bind.send(update)
    assert bind.query_txt("intruder.example.test") == []


def test_check_integrity_refuses_mx_without_address(bind_server):
    strict = bind_server({"example.test": EXAMPLE_ZONE})
    update = strict.new_update("example.test")
    update.add("@", 60, "MX", "20 backup")
    assert strict.send(update).rcode() == dns.rcode.REFUSED
    assert "has no address records" in strict.log_tail()
    lenient = bind_server({"example.test": EXAMPLE_ZONE}, check_integrity=False)
    update = lenient.new_update("example.test")
    update.add("@", 60, "MX", "20 backup")
    assert lenient.send(update).rcode() == 0
    assert sorted(lenient.query("example.test", "MX")) == ["10 mail.example.test.", "20 backup.example.test."]


def test_servfail_and_timeout_zones(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE}, servfail_zones=["broken.test"], timeout_zones=["slow.test"])
    assert bind.lookup("_mta-sts.broken.test", "TXT").rcode == "SERVFAIL"
    began = time.monotonic()
    with pytest.raises(dns.exception.Timeout):
        bind.lookup("_mta-sts.slow.test", "TXT", timeout=1.0)
    assert time.monotonic() - began < 3
    assert bind.query("example.test", "MX") == ["10 mail.example.test."]


def test_stop_and_start_keep_port_and_updates(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    port = bind.port
    update = bind.new_update("example.test")
    update.add("kept", 60, "TXT", '"after restart"')
    assert bind.send(update).rcode() == 0
    bind.stop()
    assert not bind.running
    with pytest.raises((dns.exception.Timeout, OSError)):
        bind.lookup("kept.example.test", "TXT", timeout=0.5, tcp=True)
    bind.start()
    assert bind.port == port
    assert bind.query_txt("kept.example.test") == ["after restart"]


def test_add_zone_while_running(bind_server):
    bind = bind_server({"example.test": EXAMPLE_ZONE})
    bind.add_zone("example.net", [{"name": "@", "type": "TXT", "value": "v=spf1 -all"}])
    assert bind.query_txt("example.net") == ["v=spf1 -all"]
    assert bind.zones == ["example.net", "example.test"]
    zone = bind.transfer("example.net")
    assert zone.find_rdataset("@", "TXT")[0].strings == (b"v=spf1 -all",)


def test_servers_retry_when_their_port_is_taken(monkeypatch, bind_server, unbound_resolver, nginx_server):
    # Hand every server a port another socket holds first (UDP and TCP): each must notice and move on.
    with Blackhole() as taken:
        for server_class in (harness.bind.BindServer, harness.unbound.UnboundResolver, harness.nginx.NginxServer):
            first = iter([True])
            real = server_class._free_ports

            def taken_first(self, _first=first, _real=real):
                ports = _real(self)
                return (taken.port,) + tuple(ports[1:]) if next(_first, False) else ports

            monkeypatch.setattr(server_class, "_free_ports", taken_first)
        bind = bind_server({"example.test": EXAMPLE_ZONE})
        unbound = unbound_resolver(bind)
        nginx = nginx_server([Site("mta-sts.example.test", files={POLICY_PATH: POLICY})])
        assert taken.port not in (bind.port, unbound.port, nginx.https_port)
        assert unbound.query("example.test", "MX") == ["10 mail.example.test."]
        assert nginx.get("mta-sts.example.test", POLICY_PATH).status == 200


def test_start_failure_reports_the_log(tmp_path, monkeypatch):
    bind = harness.bind.BindServer({"example.test": ["@ IN NOSUCHTYPE x"]}, directory=tmp_path, start_timeout=1.0)
    # A zone that does not load does not stop named; the server still starts and answers SERVFAIL.
    with bind:
        assert bind.lookup("example.test", "SOA").rcode == "SERVFAIL"
        assert "NOSUCHTYPE" in bind.log_tail()
    broken = harness.bind.BindServer({"example.test": []}, directory=tmp_path / "broken", start_timeout=2.0)
    monkeypatch.setattr(broken, "_config", lambda: "options { no-such-option yes; };\n")
    with pytest.raises(ServerError, match="(?s)named exited during start-up.*no-such-option"):
        with broken:
            pass
    assert not broken.running


# ----- DNSSEC through unbound -------------------------------------------------------------

SIGNED_ZONES = {
    "signed.test": EXAMPLE_ZONE,
    "bogus.test": EXAMPLE_ZONE,
    "plain.test": EXAMPLE_ZONE,
}


@pytest.fixture
def dnssec_world(bind_server, unbound_resolver):
    bind = bind_server(SIGNED_ZONES, dnssec_zones=["signed.test"], bogus_zones=["bogus.test"])
    return bind, unbound_resolver(bind)


def test_signed_zone_validates_with_ad(dnssec_world):
    bind, unbound = dnssec_world
    answer = unbound.lookup("signed.test", "MX", dnssec=True)
    assert (answer.rcode, answer.authenticated, answer.records) == ("NOERROR", True, ["10 mail.signed.test."])
    # BIND itself serves the signatures but does not validate.
    direct = bind.lookup("signed.test", "MX", dnssec=True)
    assert not direct.authenticated
    assert any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in direct.message.answer)


def test_bogus_zone_gives_servfail(dnssec_world):
    bind, unbound = dnssec_world
    assert unbound.lookup("bogus.test", "MX", dnssec=True).rcode == "SERVFAIL"
    # The data is there and signed: only the validation fails.
    assert bind.lookup("bogus.test", "MX").records == ["10 mail.bogus.test."]
    assert "bogus.test" in unbound.log_tail()


def test_unsigned_zone_answers_without_ad(dnssec_world):
    _bind, unbound = dnssec_world
    answer = unbound.lookup("plain.test", "MX", dnssec=True)
    assert (answer.rcode, answer.authenticated, answer.records) == ("NOERROR", False, ["10 mail.plain.test."])


def test_updates_to_a_signed_zone_are_signed(dnssec_world):
    bind, unbound = dnssec_world
    update = bind.new_update("signed.test")
    update.add("_25._tcp.mail", 60, "TLSA", "3 1 1 " + "ab" * 32)
    assert bind.send(update).rcode() == 0
    answer = unbound.lookup("_25._tcp.mail.signed.test", "TLSA", dnssec=True)
    assert (answer.rcode, answer.authenticated) == ("NOERROR", True)
    assert answer.records == ["3 1 1 " + "ab" * 32]


def test_unbound_anchor_knobs(dnssec_world, unbound_resolver):
    bind, _unbound = dnssec_world
    anchor = bind.trust_anchors["signed.test"]
    key = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, anchor.dnskey.split(" DNSKEY ", 1)[1])
    published = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, anchor.ds.split(" DS ", 1)[1])
    assert published == dns.dnssec.make_ds(dns.name.from_text("signed.test."), key, "SHA256")
    assert anchor.zone == "signed.test." and key.flags == 257  # the KSK
    by_ds = unbound_resolver(bind, trust_anchors={"signed.test": anchor.ds})
    assert by_ds.lookup("signed.test", "MX", dnssec=True).authenticated
    insecure = unbound_resolver(bind, insecure_zones=["signed.test"])
    assert not insecure.lookup("signed.test", "MX", dnssec=True).authenticated
    assert insecure.lookup("signed.test", "MX", dnssec=True).rcode == "NOERROR"
    distrusting = unbound_resolver(bind, bogus_zones=["signed.test"])
    assert distrusting.lookup("signed.test", "MX", dnssec=True).rcode == "SERVFAIL"


# ----- nginx ----------------------------------------------------------------------------------

@pytest.fixture
def policy_sites(nginx_server):
    return nginx_server([
        Site("mta-sts.good.test", files={POLICY_PATH: POLICY}),
        Site("mta-sts.wrongname.test", files={POLICY_PATH: POLICY}, certificate="wrong_name"),
        Site("mta-sts.expired.test", files={POLICY_PATH: POLICY}, certificate="expired"),
        Site("mta-sts.untrusted.test", files={POLICY_PATH: POLICY}, certificate="untrusted"),
        Site("mta-sts.missing.test", status=404),
        Site("mta-sts.moved.test", redirect="https://elsewhere.test/policy.txt"),
        Site("mta-sts.html.test", files={POLICY_PATH: POLICY}, content_type="text/html"),
        Site("mta-sts.big.test", files={POLICY_PATH: POLICY + "#" * (65 * 1024)}),
        Site("mta-sts.slow.test", files={POLICY_PATH: POLICY * 50}, slow=True),
    ])


def test_nginx_serves_the_policy_verified_by_sni(policy_sites):
    response = policy_sites.get("mta-sts.good.test", POLICY_PATH)
    assert (response.status, response.body.decode("ascii")) == (200, POLICY)
    assert response.headers["content-type"] == "text/plain"
    assert policy_sites.url("mta-sts.good.test", POLICY_PATH) == "https://mta-sts.good.test:%d%s" % (policy_sites.https_port, POLICY_PATH)
    assert policy_sites.get("mta-sts.good.test", POLICY_PATH, scheme="http").body.decode("ascii") == POLICY


@pytest.mark.parametrize("site, reason", [
    ("mta-sts.wrongname.test", "Hostname mismatch"),
    ("mta-sts.expired.test", "certificate has expired"),
    ("mta-sts.untrusted.test", "unable to get local issuer certificate"),
    ("unknown-name.test", "Hostname mismatch"),
])
def test_nginx_bad_certificates_fail_verification(policy_sites, site, reason):
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        policy_sites.get(site, POLICY_PATH)
    # The server is there: without verification the request goes through.
    expected = 421 if site == "unknown-name.test" else 200
    assert policy_sites.get(site, POLICY_PATH, context=insecure_context()).status == expected


def test_nginx_fault_sites(policy_sites):
    assert policy_sites.get("mta-sts.missing.test", POLICY_PATH).status == 404
    moved = policy_sites.get("mta-sts.moved.test", POLICY_PATH)
    assert (moved.status, moved.headers["location"]) == (301, "https://elsewhere.test/policy.txt")
    assert policy_sites.get("mta-sts.html.test", POLICY_PATH).headers["content-type"] == "text/html"
    big = policy_sites.get("mta-sts.big.test", POLICY_PATH)
    assert len(big.body) == len(POLICY) + 65 * 1024 > 64 * 1024


def test_nginx_slow_site_does_not_finish_in_two_seconds(policy_sites):
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        policy_sites.get("mta-sts.slow.test", POLICY_PATH, timeout=2.0)
    assert 1.9 < time.monotonic() - began < 4.0


# ----- SMTP ---------------------------------------------------------------------------------

def test_smtp_starttls_verifies_for_the_mx_name(smtp_server):
    server = smtp_server("mail.example.test", address="127.0.0.2")
    assert "starttls" in server.ehlo()
    certificate = server.starttls_certificate()
    assert certificate["subjectAltName"] == (("DNS", "mail.example.test"),)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        server.starttls_certificate(server_name="other.example.test")


@pytest.mark.parametrize("certificate, reason", [
    ("wrong_name", "Hostname mismatch"),
    ("expired", "certificate has expired"),
    ("untrusted", "unable to get local issuer certificate"),
])
def test_smtp_bad_certificates_fail_verification(smtp_server, certificate, reason):
    server = smtp_server("mail.example.test", certificate=certificate)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        server.starttls_certificate()
    assert server.starttls_certificate(context=insecure_context()) == {}
    assert server.errors  # the aborted handshake, recorded instead of printed


def test_smtp_without_starttls_and_several_at_once(smtp_server):
    plain = smtp_server("mx1.example.test", starttls=False, address="127.0.0.2")
    secure = smtp_server("mx2.example.test", address="127.0.0.3")
    assert "starttls" not in plain.ehlo()
    assert "starttls" in secure.ehlo()
    message = "Subject: probe\r\n\r\nhello\r\n"
    with smtplib.SMTP(plain.address, plain.port, timeout=5) as client:
        client.sendmail("probe@example.test", ["postmaster@example.test"], message)
    assert plain.envelopes == [{"mail_from": "probe@example.test", "rcpt_tos": ["postmaster@example.test"], "size": len(message)}]
    assert secure.envelopes == []


# ----- start-up times -----------------------------------------------------------------------

def test_startup_times_meet_the_targets(bind_server, unbound_resolver, nginx_server, record_property):
    bind = bind_server(SIGNED_ZONES, dnssec_zones=["signed.test"])
    unbound = unbound_resolver(bind)
    nginx = nginx_server([Site("mta-sts.example.test", files={POLICY_PATH: POLICY})])
    measured = {"named": bind.startup_seconds, "unbound": unbound.startup_seconds, "nginx": nginx.startup_seconds}
    for name, seconds in measured.items():
        record_property("startup_seconds_" + name, round(seconds, 3))
        assert seconds < STARTUP_TARGETS[name], "%s started in %.2f s" % (name, seconds)


# ----- ansible-playbook ----------------------------------------------------------------------

def test_run_playbook_counts_changes_and_failures(run_playbook, tmp_path):
    target = str(tmp_path / "greeting.txt")
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "write", "ansible.builtin.copy": {"dest": target, "content": "{{ greeting }}\n", "mode": "0644"}},
        {"name": "facts", "ansible.builtin.setup": {"gather_subset": ["min"]}},
        {"name": "maybe fail", "ansible.builtin.fail": {"msg": "asked to fail"}, "when": "fail_now | bool"},
    ]}]
    first = run_playbook(play, extra_vars={"greeting": "hello", "fail_now": False}).assert_ok(changed=1)
    assert _read(target) == "hello\n"
    assert first.task_result("write")["changed"] is True
    again = run_playbook(play, extra_vars={"greeting": "hello", "fail_now": False}, check=True, diff=True)
    assert (again.rc, again.changed, again.failed) == (0, 0, 0)
    failing = run_playbook(play, extra_vars={"greeting": "hello", "fail_now": True})
    assert (failing.rc, failing.failed) == (2, 1)
    assert failing.failure_messages() == ["localhost: maybe fail: asked to fail"]
    # Modules ran with the interpreter the environment names (tools/env.sh), not a discovered one.
    interpreter = failing.task_result("facts")["ansible_facts"]["ansible_python"]["executable"]
    assert interpreter == os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable)


def test_run_playbook_times_out(run_playbook):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"ansible.builtin.pause": {"seconds": 120}}]}]
    began = time.monotonic()
    with pytest.raises(PlaybookTimeout):
        run_playbook(play, timeout=5)
    assert time.monotonic() - began < 15


# ---------------------------------------------------------------- the real mailcow's sources (MAILCOW_SOURCE)


def test_mailcow_sources_from_a_tree_a_tarball_or_a_directory_of_tarballs(tmp_path):
    import tarfile  # pylint: disable=import-outside-toplevel

    from harness.mailcow import find_sources  # pylint: disable=import-outside-toplevel

    tree = tmp_path / "mailcow-dockerized-2026-07a"
    (tree / "data" / "web").mkdir(parents=True)
    releases = tmp_path / "releases"
    releases.mkdir()
    for version in ("2026-07a", "2025-07"):
        with tarfile.open(releases / ("mailcow-dockerized-%s.tar.gz" % version), "w:gz") as archive:
            archive.add(tree, arcname="mailcow-dockerized-%s" % version)
    (releases / "README.md").write_text("not a release\n")

    assert [(s.version, s.is_tarball) for s in find_sources(str(tree))] == [("2026-07a", False)]
    assert [s.version for s in find_sources(str(releases / "mailcow-dockerized-2025-07.tar.gz"))] == ["2025-07"]
    assert [s.version for s in find_sources(str(releases))] == ["2025-07", "2026-07a"]
    with pytest.raises(ServerError, match="MAILCOW_SOURCE=.* is neither a mailcow-dockerized directory"):
        find_sources(str(tmp_path / "empty-or-missing"))
