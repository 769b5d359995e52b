"""Tests of the DANE engine (RFC 6698, 7671, 7672): TLSA values, parsing, matching, the spec.

Digests are checked against the openssl command line, not against Python's own hashing.
"""

import datetime
import subprocess

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import dane
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def openssl_digest(pipeline, tmp_path):
    """Run a shell pipeline in ``tmp_path`` and return the hex digest it prints (sha256sum style)."""
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=30
    )
    return completed.stdout.split()[0]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def der_of(pem):
    return x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode()).public_bytes(DER)


@pytest.fixture(scope="module", params=[trustme.KeyType.ECDSA, trustme.KeyType.RSA], ids=["ecdsa", "rsa"])
def pki(request):
    """A root CA, an intermediate CA and a leaf for mail.example.com issued by the intermediate."""
    root = trustme.CA(key_type=request.param)
    intermediate = root.create_child_ca(key_type=request.param)
    leaf = intermediate.issue_cert("mail.example.com", key_type=request.param)
    leaf_pem = leaf.cert_chain_pems[0].bytes().decode()
    intermediate_pem = intermediate.cert_pem.bytes().decode()
    root_pem = root.cert_pem.bytes().decode()
    return {
        "root": root,
        "intermediate": intermediate,
        "leaf_pem": leaf_pem,
        "intermediate_pem": intermediate_pem,
        "root_pem": root_pem,
        "chain_pem": leaf_pem + intermediate_pem,
        "key_pem": leaf.private_key_pem.bytes().decode(),
        "chain_der": [der_of(leaf_pem), der_of(intermediate_pem)],
    }


def public_pem(private_key):
    return private_key.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def self_signed(private_key, name="mail.example.com", days=30, offset_days=0):
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=offset_days)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    algorithm = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(private_key, algorithm)
    )
    return certificate.public_bytes(PEM).decode()


# ---------------------------------------------------------------------------------------------
# TLSA values against openssl


def test_3_1_1_is_the_sha256_of_the_public_key_as_openssl_computes_it(pki, tmp_path):
    write(tmp_path, "leaf.pem", pki["leaf_pem"])
    expected = openssl_digest("openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(pki["leaf_pem"]) == "3 1 1 " + expected
    assert dane.tlsa_from_certificate(pki["chain_pem"], 3, 1, 1) == "3 1 1 " + expected
    assert dane.tlsa_from_public_key(pki["key_pem"]) == "3 1 1 " + expected


def test_3_1_2_is_the_sha512_of_the_public_key(pki, tmp_path):
    write(tmp_path, "leaf.pem", pki["leaf_pem"])
    expected = openssl_digest("openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha512sum", tmp_path)
    assert dane.tlsa_from_certificate(pki["leaf_pem"], matching_type=2) == "3 1 2 " + expected
    assert dane.tlsa_from_public_key(pki["key_pem"], matching_type=2) == "3 1 2 " + expected


def test_3_0_1_is_the_sha256_of_the_whole_leaf_certificate(pki, tmp_path):
    write(tmp_path, "leaf.pem", pki["leaf_pem"])
    expected = openssl_digest("openssl x509 -in leaf.pem -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(pki["chain_pem"], 3, 0, 1) == "3 0 1 " + expected


def test_2_0_1_hashes_the_last_certificate_of_the_chain_or_the_given_ca(pki, tmp_path):
    write(tmp_path, "intermediate.pem", pki["intermediate_pem"])
    write(tmp_path, "root.pem", pki["root_pem"])
    intermediate = openssl_digest("openssl x509 -in intermediate.pem -outform DER | sha256sum", tmp_path)
    root = openssl_digest("openssl x509 -in root.pem -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(pki["chain_pem"], 2, 0, 1) == "2 0 1 " + intermediate
    assert dane.tlsa_from_certificate(pki["leaf_pem"], 2, 0, 1, ca_certificate=pki["root_pem"]) == "2 0 1 " + root
    assert dane.tlsa_from_certificate(pki["root_pem"], 2, 0, 1) == "2 0 1 " + root


def test_2_1_1_hashes_the_ca_public_key(pki, tmp_path):
    write(tmp_path, "intermediate.pem", pki["intermediate_pem"])
    expected = openssl_digest("openssl x509 -in intermediate.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(pki["chain_pem"], 2, 1, 1) == "2 1 1 " + expected


def test_usage_2_without_a_ca_certificate_is_refused(pki):
    with pytest.raises(MailsecError, match="hashes a CA certificate"):
        dane.tlsa_from_certificate(pki["leaf_pem"], 2, 0, 1)


def test_full_matching_type_gives_the_der_itself(pki):
    value = dane.tlsa_from_certificate(pki["leaf_pem"], 3, 0, 0)
    assert value == "3 0 0 " + der_of(pki["leaf_pem"]).hex()


@pytest.mark.parametrize(
    "make_key",
    [lambda: ec.generate_private_key(ec.SECP384R1()), ed25519.Ed25519PrivateKey.generate],
    ids=["p384", "ed25519"],
)
def test_spki_cut_from_the_certificate_equals_the_key_encoding(make_key, tmp_path):
    key = make_key()
    certificate = self_signed(key)
    write(tmp_path, "cert.pem", certificate)
    expected = openssl_digest("openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(certificate) == "3 1 1 " + expected
    assert dane.tlsa_from_public_key(public_pem(key)) == "3 1 1 " + expected


def test_spki_of_a_version_1_certificate_without_the_version_field(tmp_path):
    subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -subj /CN=v1.example -out req.csr"
            " && openssl x509 -req -in req.csr -key key.pem -days 2 -out cert.pem",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=30,
    )
    certificate = (tmp_path / "cert.pem").read_text()
    assert x509.load_pem_x509_certificate(certificate.encode()).version == x509.Version.v1
    expected = openssl_digest("openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum", tmp_path)
    assert dane.tlsa_from_certificate(certificate) == "3 1 1 " + expected


def test_a_combined_key_and_chain_file_is_read_like_the_chain(pki):
    combined = pki["key_pem"] + pki["chain_pem"]
    assert dane.tlsa_from_certificate(combined) == dane.tlsa_from_certificate(pki["leaf_pem"])
    assert dane.tlsa_from_certificate(combined, 2, 0, 1) == dane.tlsa_from_certificate(pki["intermediate_pem"], 2, 0, 1)
    assert dane.tlsa_from_public_key(combined) == dane.tlsa_from_certificate(pki["leaf_pem"])


def test_public_key_forms_all_give_the_same_value(pki):
    key = serialization.load_pem_private_key(pki["key_pem"].encode(), password=None)
    spki_der = key.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = dane.tlsa_from_certificate(pki["leaf_pem"])
    assert dane.tlsa_from_public_key(public_pem(key)) == expected
    assert dane.tlsa_from_public_key(pki["key_pem"]) == expected
    assert dane.tlsa_from_public_key(pki["leaf_pem"]) == expected
    assert dane.tlsa_from_public_key(spki_der) == expected
    assert dane.tlsa_from_public_key(public_pem(key).encode()) == expected


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: dane.tlsa_from_certificate("not a certificate"), "not a PEM or DER X.509 certificate"),
        (lambda: dane.tlsa_from_certificate(""), "no certificate given"),
        (lambda: dane.tlsa_from_certificate("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"), "is a private key"),
        (lambda: dane.tlsa_from_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), "not a PEM public key"),
        (lambda: dane.tlsa_from_public_key("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA\n-----END ENCRYPTED PRIVATE KEY-----"), "encrypted"),
        (lambda: dane.tlsa_from_public_key(None), "no public key given"),
        (lambda: dane.tlsa_from_public_key("x", matching_type=3), "matching type must be one of 0, 1, 2"),
        (lambda: dane.tlsa_from_certificate("x", usage=4), "usage must be one of 0, 1, 2, 3"),
        (lambda: dane.tlsa_from_certificate("x", selector=True), "selector must be one of 0, 1"),
    ],
)
def test_bad_material_raises_mailsec_error(call, fragment):
    with pytest.raises(MailsecError, match=fragment):
        call()


def test_missing_cryptography_names_the_library(pki, monkeypatch):
    chain = pki["chain_der"]
    value = dane.tlsa_from_certificate(pki["leaf_pem"])
    monkeypatch.setattr(dane, "HAS_CRYPTOGRAPHY", False)
    with pytest.raises(MailsecError, match="'cryptography' is required"):
        dane.tlsa_from_certificate(pki["leaf_pem"])
    with pytest.raises(MailsecError, match="'cryptography' is required"):
        dane.normalize_spec({"certificate": pki["leaf_pem"]}, "example.com")
    # Matching a DER chain needs only the standard library.
    assert dane.match(value, chain)


# ---------------------------------------------------------------------------------------------
# Owner names


@pytest.mark.parametrize(
    "args, name",
    [
        (("mail.example.com",), "_25._tcp.mail.example.com"),
        (("MAIL.Example.com.",), "_25._tcp.mail.example.com"),
        (("mail.example.com", 465), "_465._tcp.mail.example.com"),
        (("mail.example.com", "587"), "_587._tcp.mail.example.com"),
        (("mail.example.com", 853, "udp"), "_853._udp.mail.example.com"),
        (("m\u00fcller.example",), "_25._tcp.xn--mller-kva.example"),
    ],
)
def test_record_name(args, name):
    assert dane.record_name(*args) == name


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("mail.example.com", 0), "at least 1"),
        (("mail.example.com", 70000), "at most 65535"),
        (("mail.example.com", 25, "TCP"), "must be one of"),
        (("bad host",), "inner hyphens"),
    ],
)
def test_record_name_rejects_bad_input(args, fragment):
    with pytest.raises(SpecError, match=fragment):
        dane.record_name(*args)


# ---------------------------------------------------------------------------------------------
# Parsing


DIGEST = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"


@pytest.mark.parametrize(
    "text, fields",
    [
        ("3 1 1 " + DIGEST, (3, 1, 1, DIGEST)),
        ("3 1 1 " + DIGEST.upper(), (3, 1, 1, DIGEST)),
        ("3 1 1 %s %s" % (DIGEST[:32], DIGEST[32:]), (3, 1, 1, DIGEST)),
        ("  2\t0 1\n" + DIGEST + " ", (2, 0, 1, DIGEST)),
        ("3 0 2 " + "ab" * 64, (3, 0, 2, "ab" * 64)),
        (b"3 1 1 " + DIGEST.encode(), (3, 1, 1, DIGEST)),
    ],
)
def test_parse_accepts_valid_values(text, fields):
    parsed = dane.parse(text)
    assert parsed["valid"] and parsed["errors"] == [] and parsed["warnings"] == []
    assert (parsed["usage"], parsed["selector"], parsed["matching_type"], parsed["data"]) == fields


@pytest.mark.parametrize("usage, name", [(0, "PKIX-TA"), (1, "PKIX-EE")])
def test_parse_warns_that_pkix_usages_are_not_used_for_smtp(usage, name):
    parsed = dane.parse("%d 1 1 %s" % (usage, DIGEST))
    assert parsed["valid"] and parsed["usage"] == usage
    assert parsed["warnings"] == ["usage %d (%s) is not used for SMTP: senders treat the record as unusable (RFC 7672 3.1.3)" % (usage, name)]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("4 1 1 " + DIGEST, "usage 4 is not assigned"),
        ("255 1 1 " + DIGEST, "usage 255 is for private use"),
        ("3 2 1 " + DIGEST, "selector 2 is not assigned"),
        ("3 1 3 " + DIGEST, "matching type 3 is not assigned"),
        ("3 1 255 " + DIGEST, "matching type 255 is for private use"),
        ("256 1 1 " + DIGEST, "usage must be a number from 0 to 255"),
        ("-1 1 1 " + DIGEST, "usage must be a number from 0 to 255"),
        ("DANE-EE SPKI SHA2-256 " + DIGEST, "write the number 3"),
        ("3 1 1 " + DIGEST[:-2], "must be 32 octets (64 hex digits), got 31"),
        ("3 1 1 " + DIGEST + "00", "must be 32 octets"),
        ("3 1 2 " + DIGEST, "SHA2-512 data must be 64 octets"),
        ("3 1 1 " + DIGEST[:-1], "odd number"),
        ("3 1 1 " + DIGEST[:-1] + "g", "must be hexadecimal"),
        ("3 1 1", "needs usage, selector, matching type and data"),
        ("", "needs usage, selector, matching type and data"),
        ("\\# 35 030101" + DIGEST, "RFC 3597 generic form"),
        ("3 1 0 3059301306072a8648ce3d", "not a DER SubjectPublicKeyInfo"),
        ("3 0 0 3082", "not a DER certificate"),
    ],
)
def test_parse_rejects_invalid_values(text, fragment):
    parsed = dane.parse(text)
    assert not parsed["valid"]
    assert any(fragment in error for error in parsed["errors"]), parsed["errors"]
    assert parsed["data"] is None or "data" not in fragment


def test_parse_full_matching_type_of_a_real_key_is_valid_but_discouraged(pki):
    parsed = dane.parse(dane.tlsa_from_public_key(pki["key_pem"], matching_type=0))
    assert parsed["valid"] and parsed["matching_type"] == 0
    assert parsed["warnings"] == ["matching type 0 (Full) is discouraged; RFC 7672 3.1.2 asks for a digest (1 or 2)"]


def test_parse_never_raises():
    for text in (None, 42, "\x00", "3 1 1 \u00e9\u00e9", ["3", "1"]):
        assert dane.parse(text)["valid"] is False


# ---------------------------------------------------------------------------------------------
# Matching a presented chain


def test_dane_ee_matches_the_leaf(pki):
    for value in (dane.tlsa_from_certificate(pki["leaf_pem"]), dane.tlsa_from_certificate(pki["leaf_pem"], 3, 0, 2)):
        assert dane.match(value, pki["chain_der"])
        assert dane.match(value, pki["chain_der"][:1])


def test_dane_ee_does_not_match_other_certificates_of_the_chain(pki):
    value = dane.tlsa_from_certificate(pki["intermediate_pem"], 3, 0, 1)
    assert not dane.match(value, pki["chain_der"])


def test_dane_ta_matches_a_ca_in_the_chain_but_not_the_leaf(pki):
    value = dane.tlsa_from_certificate(pki["chain_pem"], 2, 0, 1)
    assert dane.match(value, pki["chain_der"])
    assert not dane.match(value, pki["chain_der"][:1])
    as_leaf = dane.tlsa_from_certificate(pki["root_pem"], 2, 0, 1, ca_certificate=pki["leaf_pem"])
    assert not dane.match(as_leaf, pki["chain_der"])


def test_dane_ta_of_a_root_matches_only_when_the_server_sends_it(pki):
    value = dane.tlsa_from_certificate(pki["leaf_pem"], 2, 1, 1, ca_certificate=pki["root_pem"])
    assert not dane.match(value, pki["chain_der"])
    assert dane.match(value, pki["chain_der"] + [der_of(pki["root_pem"])])


def test_mismatch_is_detected(pki):
    other = self_signed(ec.generate_private_key(ec.SECP256R1()))
    assert not dane.match(dane.tlsa_from_certificate(other), pki["chain_der"])
    assert not dane.match("3 1 1 " + "00" * 32, pki["chain_der"])
    assert not dane.match("3 1 1 " + DIGEST, [])


def test_dane_ee_ignores_expiry_and_names():
    key = ec.generate_private_key(ec.SECP256R1())
    expired = self_signed(key, name="not-the-mx.example.org", days=1, offset_days=-30)
    assert x509.load_pem_x509_certificate(expired.encode()).not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)
    assert dane.match(dane.tlsa_from_public_key(public_pem(key)), [der_of(expired)])


def test_pkix_usages_and_invalid_values_match_nothing(pki):
    digest = dane.tlsa_from_certificate(pki["leaf_pem"]).split()[3]
    assert dane.match("3 1 1 " + digest, pki["chain_der"])
    assert not dane.match("1 1 1 " + digest, pki["chain_der"])
    assert not dane.match("0 1 1 " + digest, pki["chain_der"])
    assert not dane.match("3 1 1 " + digest[:-2], pki["chain_der"])


def test_chain_may_be_der_pem_or_certificate_objects(pki):
    value = dane.tlsa_from_certificate(pki["leaf_pem"])
    certificate = x509.load_pem_x509_certificate(pki["leaf_pem"].encode())
    assert dane.match(value, [pki["leaf_pem"]])
    assert dane.match(value, [certificate])
    assert dane.match(value, [bytearray(pki["chain_der"][0])])


def test_garbage_der_in_the_chain_matches_nothing():
    assert not dane.match("3 1 1 " + DIGEST, [b"\x30\x03\x02\x01\x01"])
    assert not dane.match("2 0 1 " + DIGEST, [b"\x30\x00", b"\x30\x85"])


def test_matching_records_with_a_key_rollover(pki):
    next_key = ec.generate_private_key(ec.SECP256R1())
    normalized = dane.normalize_spec({"certificate": pki["chain_pem"], "next_public_key": public_pem(next_key)}, "example.com")
    values = dane.build(normalized)
    assert values == [dane.tlsa_from_certificate(pki["leaf_pem"]), dane.tlsa_from_public_key(public_pem(next_key))]
    assert dane.matching_records(values, pki["chain_der"]) == [values[0]]
    rolled = self_signed(next_key)
    assert dane.matching_records(values, [der_of(rolled)]) == [values[1]]
    assert dane.matching_records(values, [der_of(self_signed(ec.generate_private_key(ec.SECP256R1())))]) == []


# ---------------------------------------------------------------------------------------------
# The inventory spec and building


@pytest.mark.parametrize("spec", [None, False, {"enabled": False}])
def test_spec_off(spec):
    assert dane.normalize_spec(spec, "example.com") is None


def test_spec_defaults_without_material_build_nothing():
    for spec in (True, {}, {"enabled": True}):
        normalized = dane.normalize_spec(spec, "example.com")
        assert normalized == {
            "enabled": True,
            "domain": "example.com",
            "port": 25,
            "records": ["3 1 1"],
            "certificate": None,
            "ca_certificate": None,
            "public_key": None,
            "next_public_key": None,
        }
        assert dane.build(normalized) == []
    assert dane.build(None) == []


def test_build_default_record_from_a_certificate(pki):
    normalized = dane.normalize_spec({"certificate": pki["chain_pem"]}, "example.com")
    assert dane.build(normalized) == [dane.tlsa_from_certificate(pki["leaf_pem"])]


def test_build_several_record_types_in_order_deduplicated(pki):
    normalized = dane.normalize_spec(
        {
            "certificate": pki["chain_pem"],
            "public_key": pki["key_pem"],
            "records": ["3 1 1", "2 1 1", "3 1 1", [3, 0, 1], "3  1  2"],
            "port": "465",
        },
        "example.com",
    )
    assert normalized["records"] == ["3 1 1", "2 1 1", "3 0 1", "3 1 2"]
    assert normalized["port"] == 465
    assert dane.build(normalized) == [
        dane.tlsa_from_certificate(pki["leaf_pem"]),
        dane.tlsa_from_certificate(pki["chain_pem"], 2, 1, 1),
        dane.tlsa_from_certificate(pki["leaf_pem"], 3, 0, 1),
        dane.tlsa_from_certificate(pki["leaf_pem"], 3, 1, 2),
    ]


def test_build_from_a_public_key_alone(pki):
    normalized = dane.normalize_spec({"public_key": pki["key_pem"], "records": ["3 1 1", "3 1 2"]}, "example.com")
    assert dane.build(normalized) == [dane.tlsa_from_public_key(pki["key_pem"]), dane.tlsa_from_public_key(pki["key_pem"], 2)]


def test_build_usage_2_from_an_explicit_ca(pki):
    normalized = dane.normalize_spec({"ca_certificate": pki["root_pem"], "records": ["2 0 1"]}, "example.com")
    assert dane.build(normalized) == [dane.tlsa_from_certificate(pki["root_pem"], 2, 0, 1)]


def test_rollover_publishes_current_and_next_for_each_3_1_x(pki):
    next_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    normalized = dane.normalize_spec(
        {"public_key": pki["key_pem"], "next_public_key": next_pem, "records": ["3 1 1", "3 1 2"]}, "example.com"
    )
    values = dane.build(normalized)
    assert values == [
        dane.tlsa_from_public_key(pki["key_pem"]),
        dane.tlsa_from_public_key(next_pem),
        dane.tlsa_from_public_key(pki["key_pem"], 2),
        dane.tlsa_from_public_key(next_pem, 2),
    ]
    assert len(set(values)) == 4


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"records": ["3 1"]}, "dane.records[0]", "must be 'usage selector matching-type'"),
        ({"records": ["3 1 1", "x y z"]}, "dane.records[1]", "must be 'usage selector matching-type'"),
        ({"records": [311]}, "dane.records[0]", "must be 'usage selector matching-type'"),
        ({"records": ["1 1 1"]}, "dane.records[0]", "not used for SMTP"),
        ({"records": ["0 0 1"]}, "dane.records[0]", "RFC 7672 3.1.3"),
        ({"records": ["4 1 1"]}, "dane.records[0]", "usage must be 3 (DANE-EE) or 2 (DANE-TA)"),
        ({"records": ["3 2 1"]}, "dane.records[0]", "selector must be 0"),
        ({"records": ["3 1 0"]}, "dane.records[0]", "asks for a digest"),
        ({"records": ["3 1 3"]}, "dane.records[0]", "matching type must be 1 (SHA-256) or 2 (SHA-512)"),
        ({"records": []}, "dane.records", "needs at least one record type"),
        ({"port": 0}, "dane.port", "at least 1"),
        ({"port": "smtp"}, "dane.port", "must be an integer"),
        ({"enabled": "yes"}, "dane.enabled", "must be true or false"),
        ({"certificate": 42}, "dane.certificate", "must be PEM text"),
        ({"certificate": "garbage"}, "dane.certificate", "not a PEM or DER X.509 certificate"),
        ({"public_key": "garbage"}, "dane.public_key", "not a PEM public key"),
        ({"key": "x"}, "dane.key", "unknown option"),
        ([], "dane", "must be a mapping"),
    ],
)
def test_spec_errors_name_the_field_and_the_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        dane.normalize_spec(spec, "example.com")
    assert info.value.field == field and info.value.domain == "example.com"
    assert fragment in str(info.value) and "example.com" in str(info.value)


def test_spec_public_key_must_be_the_certificate_key(pki):
    other = public_pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(SpecError) as info:
        dane.normalize_spec({"certificate": pki["leaf_pem"], "public_key": other}, "example.com")
    assert info.value.field == "dane.public_key" and "is not the public key of the leaf" in str(info.value)


def test_spec_next_key_must_differ_and_needs_a_3_1_x_record(pki):
    with pytest.raises(SpecError, match="is the current key") as info:
        dane.normalize_spec({"certificate": pki["leaf_pem"], "next_public_key": pki["key_pem"]}, "example.com")
    assert info.value.field == "dane.next_public_key"
    other = public_pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(SpecError, match="only with a '3 1 1' or '3 1 2'"):
        dane.normalize_spec({"certificate": pki["leaf_pem"], "next_public_key": other, "records": ["3 0 1"]}, "example.com")


@pytest.mark.parametrize(
    "material, records, fragment",
    [
        ({"public_key": "key"}, ["3 0 1"], "hashes the whole leaf certificate: give dane.certificate"),
        ({"public_key": "key"}, ["3 1 1", "2 0 1"], "hashes the trust anchor"),
        ({"certificate": "leaf"}, ["2 1 1"], "hashes the trust anchor"),
    ],
)
def test_spec_every_record_type_must_be_computable_from_the_material(pki, material, records, fragment):
    lookup = {"key": pki["key_pem"], "leaf": pki["leaf_pem"]}
    spec = {name: lookup[value] for name, value in material.items()}
    spec["records"] = records
    with pytest.raises(SpecError, match=fragment) as info:
        dane.normalize_spec(spec, "example.com")
    assert info.value.field.startswith("dane.records[")


def test_spec_a_ca_certificate_alone_is_its_own_trust_anchor(pki):
    normalized = dane.normalize_spec({"certificate": pki["root_pem"], "records": ["2 0 1"]}, "example.com")
    assert dane.build(normalized) == [dane.tlsa_from_certificate(pki["root_pem"], 2, 0, 1)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_parse_and_match_never_raise(value):
    result = dane.parse(value)
    assert result["valid"] is (not result["errors"])
    assert dane.match(value, [b"\x30\x03\x02\x01\x01"]) is False
