"""Tests of DKIM key files: made once with mode 0600, kept, described, and their TXT equal to dkim.build's."""

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, dkim_keyfile
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def lookup_txt(public_key_pem, selector="dkim", domain="example.com"):
    """What the mail_records lookup publishes for the same key."""
    return dkim.build(dkim.normalize_spec({"selector": selector, "public_key": public_key_pem}, domain)[0])


@pytest.fixture(scope="module")
def rsa_4096_pem():
    return dkim_keyfile.generate_private_key("rsa", 4096)


def test_a_missing_key_is_created_0600_and_its_txt_is_the_lookups(tmp_path):
    path = str(tmp_path / "example.com.dkim.key")
    result = dkim_keyfile.ensure_key(path, "DKIM", domain="Example.COM")
    assert result["changed"] and result["created"] and not result["replaced"]
    assert mode_of(path) == 0o600
    assert os.listdir(tmp_path) == ["example.com.dkim.key"]  # no temporary file left
    with open(path, "rb") as handle:
        pem = handle.read()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    described = dkim_keyfile.describe_private_key(pem)
    assert (described["key_type"], described["key_bits"]) == ("rsa", 2048)
    assert result["txt"] == lookup_txt(described["public_key_pem"])
    assert result["selector"] == "dkim"
    assert result["record_name"] == "dkim._domainkey.example.com."
    assert result["record"] == {
        "name": "dkim._domainkey.example.com.",
        "type": "TXT",
        "ttl": 3600,
        "value": result["txt"],
        "zone": "example.com",
        "domain": "example.com",
        "standard": "dkim",
    }
    assert dkim.parse(result["txt"])["valid"]
    assert "PRIVATE" not in repr(result)


def test_a_present_key_is_kept_byte_for_byte(tmp_path):
    path = str(tmp_path / "k.key")
    first = dkim_keyfile.ensure_key(path, "dkim")
    with open(path, "rb") as handle:
        before = handle.read()
    again = dkim_keyfile.ensure_key(path, "dkim")
    assert not again["changed"] and not again["created"]
    assert again["public_key"] == first["public_key"] and again["txt"] == first["txt"]
    with open(path, "rb") as handle:
        assert handle.read() == before
    assert again["record"] is None and again["record_name"] is None  # no domain given


def test_ed25519_keys_publish_the_raw_32_octets(tmp_path):
    result = dkim_keyfile.ensure_key(str(tmp_path / "ed.key"), "ed2026", key_type="ed25519", domain="example.com")
    assert (result["key_type"], result["key_bits"]) == ("ed25519", 256)
    assert len(base64.b64decode(result["public_key"])) == 32
    assert result["txt"] == "v=DKIM1; k=ed25519; p=" + result["public_key"]
    assert result["txt"] == lookup_txt(result["public_key_pem"], "ed2026")


def test_an_existing_4096_bit_key_round_trips_to_the_lookups_txt(tmp_path, rsa_4096_pem):
    path = tmp_path / "big.key"
    path.write_bytes(rsa_4096_pem)
    os.chmod(path, 0o600)
    result = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=4096, domain="example.com")
    assert not result["changed"] and result["key_bits"] == 4096
    assert len(result["txt"]) > 255  # needs several character-strings when published
    assert result["txt"] == lookup_txt(result["public_key_pem"])


def test_a_key_of_another_size_is_kept_with_a_warning_unless_forced(tmp_path, rsa_4096_pem):
    path = tmp_path / "k.key"
    path.write_bytes(rsa_4096_pem)
    os.chmod(path, 0o600)
    kept = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=2048)
    assert not kept["changed"] and kept["key_bits"] == 4096
    assert "holds a 4096-bit rsa key, not the 2048-bit rsa key asked for; it is kept" in kept["warnings"][0]
    assert path.read_bytes() == rsa_4096_pem

    predicted = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=2048, force=True, check_mode=True)
    assert predicted["changed"] and predicted["replaced"] and predicted["txt"] is None
    assert path.read_bytes() == rsa_4096_pem

    replaced = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=2048, force=True)
    assert replaced["changed"] and replaced["replaced"] and replaced["key_bits"] == 2048
    assert "replaced by a new key (it is a 4096-bit rsa key)" in replaced["warnings"][0]
    assert path.read_bytes() != rsa_4096_pem and mode_of(path) == 0o600
    # force replaces only what differs: the new key now matches and stays.
    assert not dkim_keyfile.ensure_key(str(path), "dkim", key_bits=2048, force=True)["changed"]


def test_a_readable_key_with_a_loose_mode_is_set_to_0600(tmp_path, rsa_4096_pem):
    path = tmp_path / "k.key"
    path.write_bytes(rsa_4096_pem)
    os.chmod(path, 0o644)
    predicted = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=4096, check_mode=True)
    assert predicted["changed"] and predicted["mode_fixed"] and mode_of(path) == 0o644
    fixed = dkim_keyfile.ensure_key(str(path), "dkim", key_bits=4096)
    assert fixed["changed"] and fixed["mode_fixed"] and mode_of(path) == 0o600
    assert path.read_bytes() == rsa_4096_pem


def test_check_mode_writes_nothing_and_validates_like_the_real_run(tmp_path):
    path = tmp_path / "k.key"
    predicted = dkim_keyfile.ensure_key(str(path), "dkim", domain="example.com", check_mode=True)
    assert predicted["changed"] and predicted["created"]
    assert predicted["record_name"] == "dkim._domainkey.example.com."
    assert predicted["public_key"] is None and predicted["record"] is None
    assert not path.exists()
    with pytest.raises(SpecError, match="selector"):
        dkim_keyfile.ensure_key(str(path), "bad_selector", check_mode=True)
    with pytest.raises(MailsecError, match="directory .* does not exist"):
        dkim_keyfile.ensure_key(str(tmp_path / "missing" / "k.key"), "dkim", check_mode=True)
    assert os.listdir(tmp_path) == []


def test_a_file_that_is_no_usable_key_is_kept_unless_forced(tmp_path):
    path = tmp_path / "k.key"
    path.write_bytes(b"not a key\n")
    with pytest.raises(MailsecError, match="is not a PEM private key; set force=true"):
        dkim_keyfile.ensure_key(str(path), "dkim")
    assert path.read_bytes() == b"not a key\n"
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(ec_key)
    with pytest.raises(MailsecError, match=r"holds a key DKIM cannot use \(\w+\); DKIM keys are RSA or Ed25519"):
        dkim_keyfile.ensure_key(str(path), "dkim")
    replaced = dkim_keyfile.ensure_key(str(path), "dkim", force=True)
    assert replaced["replaced"] and replaced["key_type"] == "rsa"


def test_an_encrypted_key_is_refused_without_quoting_it(tmp_path):
    key = dkim_keyfile.generate_private_key("ed25519", 256)
    loaded = serialization.load_pem_private_key(key, None)
    encrypted = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"secret")
    )
    path = tmp_path / "k.key"
    path.write_bytes(encrypted)
    with pytest.raises(MailsecError) as caught:
        dkim_keyfile.ensure_key(str(path), "dkim")
    assert "encrypted private key" in str(caught.value)
    assert "BEGIN" not in str(caught.value)


@pytest.mark.parametrize(
    "key_type, key_bits, field",
    [("dsa", 2048, "key_type"), ("rsa", 1024, "key_bits"), ("rsa", 8192, "key_bits")],
)
def test_bad_requests_name_the_option(tmp_path, key_type, key_bits, field):
    with pytest.raises(SpecError) as caught:
        dkim_keyfile.ensure_key(str(tmp_path / "k.key"), "dkim", key_type=key_type, key_bits=key_bits)
    assert caught.value.field == field
    assert not (tmp_path / "k.key").exists()


def test_the_record_zone_must_contain_the_record(tmp_path):
    with pytest.raises(SpecError, match="dkim._domainkey.example.com. is not inside zone example.org"):
        dkim_keyfile.ensure_key(str(tmp_path / "k.key"), "dkim", domain="example.com", zone="example.org")
    assert not (tmp_path / "k.key").exists()
    sub = dkim_keyfile.ensure_key(str(tmp_path / "k.key"), "dkim", domain="mail.example.com", zone="example.com", ttl=300)
    assert sub["record"]["zone"] == "example.com" and sub["record"]["ttl"] == 300
