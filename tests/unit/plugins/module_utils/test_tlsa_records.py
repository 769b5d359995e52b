"""Tests of TLSA records from files: the lookup's values, rollover, DANE-TA, and errors naming the option."""

import hashlib

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.mailsec.posture.plugins.module_utils import dane, tlsa_records
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


@pytest.fixture(scope="module")
def issued():
    ca = trustme.CA()
    leaf = ca.issue_cert("mail.example.com")
    chain = "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems)
    return {"ca": ca.cert_pem.bytes().decode(), "chain": chain, "key": leaf.private_key_pem.bytes().decode()}


def spki_sha256(pem):
    certificate = x509.load_pem_x509_certificate(pem.encode())
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def test_3_1_1_from_a_certificate_is_the_sha256_of_its_key(issued):
    result = tlsa_records.tlsa_records("Mail.Example.com", {"certificate": issued["chain"]})
    assert result["record_name"] == "_25._tcp.mail.example.com."
    assert result["values"] == ["3 1 1 " + spki_sha256(issued["chain"])]
    assert result["records"] == [
        {
            "name": "_25._tcp.mail.example.com.",
            "type": "TLSA",
            "ttl": 3600,
            "value": result["values"][0],
            "zone": "example.com",
            "domain": "mail.example.com",
            "standard": "dane",
        }
    ]
    # The private key gives the same record as the certificate.
    assert tlsa_records.tlsa_records("mail.example.com", {"public_key": issued["key"]})["values"] == result["values"]


def test_2_0_1_hashes_the_ca_certificate(issued):
    chain_with_ca = issued["chain"] + issued["ca"]
    result = tlsa_records.tlsa_records("mail.example.com", {"certificate": chain_with_ca}, records=["3 1 1", "2 0 1"])
    ca_der = x509.load_pem_x509_certificate(issued["ca"].encode()).public_bytes(serialization.Encoding.DER)
    assert result["values"][1] == "2 0 1 " + hashlib.sha256(ca_der).hexdigest()
    separate = tlsa_records.tlsa_records("mail.example.com", {"certificate": issued["chain"], "ca_certificate": issued["ca"]}, records=["2 0 1"])
    assert separate["values"] == result["values"][1:]


def test_a_rollover_publishes_the_current_key_then_the_next(issued):
    next_key = ec.generate_private_key(ec.SECP256R1())
    next_pem = next_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    result = tlsa_records.tlsa_records("mail.example.com", {"certificate": issued["chain"], "next_public_key": next_pem})
    assert result["values"] == [
        "3 1 1 " + spki_sha256(issued["chain"]),
        dane.tlsa_from_public_key(next_pem),
    ]
    assert len({record["value"] for record in result["records"]}) == 2


def test_port_ttl_and_zone_shape_the_records(issued):
    result = tlsa_records.tlsa_records("mx1.mail.example.com", {"certificate": issued["chain"]}, port=587, ttl=300, zone="example.com")
    assert result["record_name"] == "_587._tcp.mx1.mail.example.com."
    assert result["records"][0]["zone"] == "example.com" and result["records"][0]["ttl"] == 300
    assert tlsa_records.default_zone("mail.example.com") == "example.com"
    assert tlsa_records.default_zone("example.com") == "example.com"


@pytest.mark.parametrize(
    "material, records, field, message",
    [
        ({}, None, "certificate", "give certificate or public_key"),
        ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, None, "certificate", "not a PEM or DER"),
        ("chain", ["1 1 1"], "records[0]", "not used for SMTP"),
        ("chain", ["3 1 0"], "records[0]", "asks for a digest"),
        ("chain", ["2 0 1"], "records[0]", "hashes the trust anchor"),
    ],
)
def test_errors_name_the_option_and_the_host(issued, material, records, field, message):
    if material == "chain":
        material = {"certificate": issued["chain"]}
    with pytest.raises(SpecError) as caught:
        tlsa_records.tlsa_records("mail.example.com", material, records=records)
    assert caught.value.field == field
    assert caught.value.domain == "mail.example.com"
    assert message in str(caught.value)


def test_a_certificate_for_another_key_than_public_key_is_refused(issued):
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(SpecError, match="public_key: is not the public key of the leaf certificate"):
        tlsa_records.tlsa_records("mail.example.com", {"certificate": issued["chain"], "public_key": other})


def test_files_are_read_with_errors_naming_the_option(tmp_path, issued):
    path = tmp_path / "cert.pem"
    path.write_text(issued["chain"])
    assert tlsa_records.read_pem_file(str(path), "certificate") == issued["chain"]
    with pytest.raises(SpecError, match=r"certificate: .*missing.pem: does not exist"):
        tlsa_records.read_pem_file(str(tmp_path / "missing.pem"), "certificate")
    binary = tmp_path / "cert.der"
    binary.write_bytes(b"\x30\x82\xff\xfe")
    with pytest.raises(SpecError, match="ca_certificate: .* is not a PEM file"):
        tlsa_records.read_pem_file(str(binary), "ca_certificate")
