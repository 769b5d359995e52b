"""Tests of the DKIM key record engine (RFC 6376, RFC 8301, RFC 8463)."""

import base64
import importlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.mailsec.posture.plugins.module_utils import dkim
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError

# RFC 6376 appendix C: the public key of brisbane._domainkey.example.com (1024 bits).
RFC6376_KEY = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkM"
    "oGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/R"
    "tdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToI"
    "MmPSPDdQPNUYckcQ2QIDAQAB"
)
# RFC 8463 appendix A.2: brisbane._domainkey.football.example.com (ed25519) and
# test._domainkey.football.example.com (RSA, 1024 bits).
RFC8463_ED25519_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8463_RSA_KEY = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)
# The same ed25519 key as SubjectPublicKeyInfo: what people paste by mistake.
RFC8463_ED25519_SPKI = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def has(messages, fragment):
    return any(fragment in message for message in messages)


def _spki_b64(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def _public_key_of_bits(bits):
    """An RSA public key of ``bits`` bits built from its numbers.

    cryptography refuses to generate keys under 1024 bits, and keys over 4096 take long; a
    parser only reads the modulus, so an odd modulus of the right length serves.
    """
    modulus = (1 << (bits - 1)) | 0x1F3B5 | 1
    return rsa.RSAPublicNumbers(65537, modulus).public_key()


@pytest.fixture(scope="module")
def rsa_keys():
    """Base64 SPKI of RSA keys by size: 1024, 2048 and 4096 generated, 512 and 8192 from numbers."""
    keys = {bits: _spki_b64(rsa.generate_private_key(65537, bits).public_key()) for bits in (1024, 2048, 4096)}
    keys[512] = _spki_b64(_public_key_of_bits(512))
    keys[8192] = _spki_b64(_public_key_of_bits(8192))
    return keys


@pytest.fixture(scope="module")
def rsa_2048_private():
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def ed25519_private():
    return ed25519.Ed25519PrivateKey.generate()


# --- the RFCs' own records --------------------------------------------------------------------

def test_rfc6376_appendix_c_record_is_valid_with_a_size_warning():
    result = dkim.parse("v=DKIM1; p=" + RFC6376_KEY)
    assert result["valid"], result["errors"]
    assert result["version"] == "DKIM1"
    assert result["key_type"] == "rsa"
    assert result["key_bits"] == 1024
    assert result["public_key"] == RFC6376_KEY
    assert result["revoked"] is False
    assert result["service_types"] == ["*"]
    assert result["hash_algorithms"] is None
    assert result["warnings"] == ["RSA key of 1024 bits: use at least 2048 bits (RFC 8301 3.2)"]


def test_rfc6376_record_in_zone_presentation_with_folding_white_space():
    # Appendix C publishes the key split over quoted strings with line breaks inside p=.
    presentation = '"v=DKIM1; p=%s\n %s" "%s"' % (RFC6376_KEY[:64], RFC6376_KEY[64:128], RFC6376_KEY[128:])
    result = dkim.parse(presentation)
    assert result["valid"], result["errors"]
    assert result["public_key"] == RFC6376_KEY


def test_rfc8463_ed25519_record_is_valid():
    result = dkim.parse("v=DKIM1; k=ed25519; p=" + RFC8463_ED25519_KEY)
    assert result["valid"], result["errors"]
    assert result["key_type"] == "ed25519"
    assert result["key_bits"] == 256
    assert result["warnings"] == []


def test_rfc8463_rsa_record_is_valid():
    result = dkim.parse(["v=DKIM1; k=rsa; p=" + RFC8463_RSA_KEY[:60], RFC8463_RSA_KEY[60:]])
    assert result["valid"], result["errors"]
    assert result["key_bits"] == 1024


# --- key sizes ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "bits, valid, fragment",
    [
        (512, False, "RSA key of 512 bits: verifiers must reject keys under 1024 bits"),
        (1024, True, "RSA key of 1024 bits: use at least 2048 bits"),
        (2048, True, None),
        (4096, True, None),
        (8192, True, "verifiers need only handle up to 4096 bits"),
    ],
)
def test_rsa_key_size_is_read_from_the_key(rsa_keys, bits, valid, fragment):
    result = dkim.parse("v=DKIM1; k=rsa; p=" + rsa_keys[bits])
    assert result["valid"] is valid
    assert result["key_bits"] == bits
    if fragment is None:
        assert result["warnings"] == [] and result["errors"] == []
    else:
        assert has(result["errors"] + result["warnings"], fragment)


def test_key_bits_helper(rsa_keys):
    assert dkim.key_bits("rsa", rsa_keys[2048]) == 2048
    assert dkim.key_bits("ed25519", RFC8463_ED25519_KEY) == 256
    with pytest.raises(MailsecError, match="not valid base64"):
        dkim.key_bits("rsa", "abc")
    with pytest.raises(MailsecError, match="exactly 32"):
        dkim.key_bits("ed25519", rsa_keys[1024])
    with pytest.raises(MailsecError, match="unknown key type"):
        dkim.key_bits("dsa", RFC8463_ED25519_KEY)


# --- record rules -----------------------------------------------------------------------------

def test_empty_p_is_a_revoked_key():
    result = dkim.parse("v=DKIM1; k=rsa; p=")
    assert result["valid"]
    assert result["revoked"] is True
    assert result["public_key"] == ""
    assert result["key_bits"] is None
    assert has(result["warnings"], "the key is revoked")


def test_version_is_optional():
    result = dkim.parse("k=ed25519; p=" + RFC8463_ED25519_KEY)
    assert result["valid"], result["errors"]
    assert result["version"] is None


def test_white_space_inside_p_is_removed(rsa_keys):
    key = rsa_keys[2048]
    folded = " ".join(key[i:i + 50] for i in range(0, len(key), 50))
    result = dkim.parse("v=DKIM1; p=%s\r\n\t" % folded)
    assert result["valid"], result["errors"]
    assert result["public_key"] == key


def test_bare_pkcs1_key_is_accepted_with_a_warning(rsa_2048_private):
    der = rsa_2048_private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    result = dkim.parse("v=DKIM1; p=" + base64.b64encode(der).decode())
    assert result["valid"], result["errors"]
    assert result["key_bits"] == 2048
    assert has(result["warnings"], "bare PKCS#1 RSAPublicKey")


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=DKIM1; k=rsa", "p= is required"),
        ("", "p= is required"),
        ("k=rsa; v=DKIM1; p=" + RFC6376_KEY, "v= must be the first tag"),
        ("v=DKIM2; p=" + RFC6376_KEY, "v=DKIM2: the version must be exactly DKIM1"),
        ("v=dkim1; p=" + RFC6376_KEY, "the version must be exactly DKIM1"),
        ("v=DKIM1; p=%s; p=%s" % (RFC6376_KEY, RFC6376_KEY), "tag 'p' appears more than once"),
        ("v=DKIM1; k=rsa; k=rsa; p=" + RFC6376_KEY, "tag 'k' appears more than once"),
        ("v=DKIM1; k=dsa; p=" + RFC6376_KEY, "k=dsa: unknown key type"),
        ("v=DKIM1; k=RSA; p=" + RFC6376_KEY, "k=RSA: unknown key type"),
        ("v=DKIM1; k=ed25519; p=" + RFC8463_ED25519_SPKI, "needs the raw 32-byte key"),
        ("v=DKIM1; k=ed25519; p=" + base64.b64encode(b"\x01" * 31).decode(), "is 31 octets; an ed25519 key is exactly 32"),
        ("v=DKIM1; k=ed25519; p=" + RFC6376_KEY, "an ed25519 key is exactly 32"),
        ("v=DKIM1; p=" + RFC8463_ED25519_KEY, "is not a DER-encoded public key"),
        ("v=DKIM1; p=" + RFC8463_ED25519_SPKI, "is an Ed25519 key; publish it with k=ed25519"),
        ("v=DKIM1; p=MIGfMA0G!", "p= is not valid base64"),
        ("v=DKIM1; p=" + RFC6376_KEY[:-1], "p= is not valid base64"),
        ("v=DKIM1; p=" + RFC6376_KEY + "=", "p= is not valid base64"),
        ("v=DKIM1; p=AAAA", "is not a DER-encoded public key"),
        ("v=DKIM1; h=sha1; p=" + RFC6376_KEY, "h= allows only sha1, which RFC 8301 forbids"),
        ("v=DKIM1; h=sha512; p=" + RFC6376_KEY, "h= names no known hash algorithm"),
        ("v=DKIM1; s=tlsrpt; p=" + RFC6376_KEY, "s= names neither '*' nor 'email'"),
        ("v=DKIM1; s=tlsrpt; p=" + RFC6376_KEY, "s=tlsrpt: it signs only TLS reports, RFC 8460 3"),
        ("v=DKIM1; p " + RFC6376_KEY, "has no '='"),
        ("v=DKIM1;; p=" + RFC6376_KEY, "empty tag"),
    ],
)
def test_faults_make_the_record_invalid(record, fragment):
    result = dkim.parse(record)
    assert result["valid"] is False
    assert has(result["errors"], fragment), result["errors"]


@pytest.mark.parametrize(
    "record, fragment, field, value",
    [
        ("v=DKIM1; h=sha1:sha256; p=%s", "h= lists sha1, which must not be used", "hash_algorithms", ["sha1", "sha256"]),
        ("v=DKIM1; h=sha256:sha3; p=%s", "unknown hash algorithm 'sha3' is ignored", "hash_algorithms", ["sha256", "sha3"]),
        ("v=DKIM1; t=y; p=%s", "t=y: the domain is testing DKIM", "flags", ["y"]),
        ("v=DKIM1; t=s:x; p=%s", "unknown flag 'x' is ignored", "flags", ["s", "x"]),
        ("v=DKIM1; K=ed25519; p=%s", "unknown tag 'K' is ignored (tags are case-sensitive", "key_type", "rsa"),
        ("v=DKIM1; g=*; p=%s", "unknown tag 'g' is ignored", "version", "DKIM1"),
        ("v=DKIM1; n=bad=zz; p=%s", "n= is not valid quoted-printable", "notes", "bad=zz"),
    ],
)
def test_valid_records_with_warnings(rsa_keys, record, fragment, field, value):
    result = dkim.parse(record % rsa_keys[2048])
    assert result["valid"], result["errors"]
    assert has(result["warnings"], fragment), result["warnings"]
    assert result[field] == value


def test_notes_are_quoted_printable():
    result = dkim.parse("v=DKIM1; n=rotated=3B 2026 =E2=9C=93; k=ed25519; p=" + RFC8463_ED25519_KEY)
    assert result["valid"], result["errors"]
    assert result["notes"] == "rotated; 2026 \u2713"
    assert result["warnings"] == []


def test_parser_reports_garbage_instead_of_raising():
    for text in ["p", "=", "v=DKIM1; p=\u00e9", b"\xff\xfe", ";;;", "v=DKIM1; k=; p="]:
        result = dkim.parse(text)
        assert result["valid"] is False, text
        assert result["errors"], text


# --- select -----------------------------------------------------------------------------------

def test_select_parses_the_single_record():
    result = dkim.select([["v=DKIM1; k=ed25519; ", "p=" + RFC8463_ED25519_KEY]])
    assert result["valid"]
    assert result["record"] == "v=DKIM1; k=ed25519; p=" + RFC8463_ED25519_KEY
    assert result["key_type"] == "ed25519"


@pytest.mark.parametrize("values, fragment", [([], "no DKIM key record"), ([""], "no DKIM key record")])
def test_select_without_a_record(values, fragment):
    result = dkim.select(values)
    assert not result["valid"] and result["errors"] == [fragment]


def test_select_refuses_two_records():
    result = dkim.select(["v=DKIM1; p=" + RFC6376_KEY, "v=DKIM1; k=ed25519; p=" + RFC8463_ED25519_KEY])
    assert not result["valid"]
    assert has(result["errors"], "2 TXT records at the selector name")
    assert len(result["records"]) == 2


# --- PEM --------------------------------------------------------------------------------------

def test_public_key_from_pem_rsa_spki(rsa_2048_private):
    public = rsa_2048_private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert dkim.public_key_from_pem(pem) == ("rsa", _spki_b64(public))


def test_public_key_from_pem_rsa_pkcs1_becomes_spki(rsa_2048_private):
    public = rsa_2048_private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert b"BEGIN RSA PUBLIC KEY" in pem
    assert dkim.public_key_from_pem(pem) == ("rsa", _spki_b64(public))


def test_public_key_from_pem_ed25519_becomes_raw(ed25519_private):
    public = ed25519_private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_type, value = dkim.public_key_from_pem("some text before\n" + pem)
    assert key_type == "ed25519"
    assert base64.b64decode(value) == raw


def test_public_key_from_pem_refuses_private_keys_without_echoing_them(ed25519_private):
    pem = ed25519_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(MailsecError) as info:
        dkim.public_key_from_pem(pem)
    assert "PRIVATE key" in str(info.value)
    assert pem.splitlines()[1] not in str(info.value)


@pytest.mark.parametrize(
    "pem, fragment",
    [
        ("MIIBIjANBg", "is not a PEM block"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a readable PEM public key"),
        (12, "must be text"),
    ],
)
def test_public_key_from_pem_refuses_other_input(pem, fragment):
    with pytest.raises(MailsecError, match=fragment):
        dkim.public_key_from_pem(pem)


def test_public_key_from_pem_refuses_ec_keys():
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(MailsecError, match="neither an RSA nor an Ed25519 key"):
        dkim.public_key_from_pem(pem)


def test_spec_refuses_an_ec_key_given_as_base64_der():
    der = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(SpecError) as info:
        dkim.normalize_spec({"selector": "dkim", "public_key": base64.b64encode(der).decode()}, "example.com")
    assert (info.value.field, info.value.domain) == ("dkim.public_key", "example.com")
    assert "is neither an RSA nor an Ed25519 key" in str(info.value)


# --- normalize_spec, record_name and build ------------------------------------------------------

def test_record_name():
    assert dkim.record_name("dkim", "example.com") == "dkim._domainkey.example.com"
    assert dkim.record_name("s1.eu", "example.com.") == "s1.eu._domainkey.example.com"


@pytest.mark.parametrize("spec", [None, False])
def test_no_spec_means_no_keys(spec):
    assert dkim.normalize_spec(spec, "example.com") == []


def test_mapping_spec_gives_one_entry_and_the_canonical_record(rsa_keys):
    entries = dkim.normalize_spec({"selector": "Dkim", "public_key": rsa_keys[2048]}, "example.com")
    assert entries == [
        {
            "selector": "dkim",
            "key_type": "rsa",
            "public_key": rsa_keys[2048],
            "key_bits": 2048,
            "testing": False,
            "hash_algorithms": None,
            "service_types": None,
            "notes": None,
        }
    ]
    assert dkim.build(entries[0]) == "v=DKIM1; k=rsa; p=" + rsa_keys[2048]


def test_build_puts_optional_tags_between_k_and_p():
    entries = dkim.normalize_spec(
        [
            {
                "selector": "ed",
                "public_key": RFC8463_ED25519_KEY,
                "testing": True,
                "hash_algorithms": ["sha256"],
                "service_types": "email",
                "notes": "rotated; see=wiki",
            }
        ],
        "example.com",
    )
    record = dkim.build(entries[0])
    assert record == "v=DKIM1; k=ed25519; h=sha256; s=email; t=y; n=rotated=3B see=3Dwiki; p=" + RFC8463_ED25519_KEY
    parsed = dkim.parse(record)
    assert parsed["valid"], parsed["errors"]
    assert parsed["notes"] == "rotated; see=wiki"
    assert parsed["flags"] == ["y"] and parsed["service_types"] == ["email"] and parsed["hash_algorithms"] == ["sha256"]


@pytest.mark.parametrize("bits", [1024, 2048, 4096])
def test_built_rsa_records_parse_to_the_same_key(rsa_keys, bits):
    entry = dkim.normalize_spec({"selector": "s%d" % bits, "public_key": rsa_keys[bits]}, "example.com")[0]
    parsed = dkim.parse(dkim.build(entry))
    assert parsed["valid"], parsed["errors"]
    assert parsed["public_key"] == rsa_keys[bits] and parsed["key_bits"] == bits


def test_spec_accepts_pem_and_converts_it(ed25519_private, rsa_2048_private):
    ed_pem = ed25519_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    rsa_pem = rsa_2048_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ).decode()
    entries = dkim.normalize_spec(
        [{"selector": "ed", "public_key": ed_pem}, {"selector": "rsa", "public_key": rsa_pem}], "example.com"
    )
    assert [entry["key_type"] for entry in entries] == ["ed25519", "rsa"]
    assert len(base64.b64decode(entries[0]["public_key"])) == 32
    assert entries[1]["public_key"] == _spki_b64(rsa_2048_private.public_key())


def test_spec_turns_an_ed25519_spki_into_the_raw_key():
    entry = dkim.normalize_spec({"selector": "ed", "public_key": RFC8463_ED25519_SPKI}, "example.com")[0]
    assert entry["key_type"] == "ed25519"
    assert entry["public_key"] == RFC8463_ED25519_KEY


def test_spec_takes_the_key_from_a_pasted_record(rsa_keys):
    pasted = "v=DKIM1;k=rsa;t=s;s=email;p=" + rsa_keys[2048]
    entry = dkim.normalize_spec({"selector": "dkim", "public_key": pasted}, "example.com")[0]
    assert entry["public_key"] == rsa_keys[2048] and entry["key_type"] == "rsa"


def test_spec_accepts_dotted_selectors(rsa_keys):
    entry = dkim.normalize_spec({"selector": "2026-01.eu", "public_key": rsa_keys[2048]}, "example.com")[0]
    assert dkim.record_name(entry["selector"], "example.com") == "2026-01.eu._domainkey.example.com"


@pytest.mark.parametrize(
    "spec, field, fragment",
    [
        ({"selector": "dkim"}, "dkim.public_key", "is required: the dkim_key module or mailcow provides the key"),
        ({"selector": "dkim", "public_key": ""}, "dkim.public_key", "is required"),
        ({"selector": "dkim", "public_key": b"MCow"}, "dkim.public_key", "must be a string (base64 or PEM), got bytes"),
        ({"public_key": RFC8463_ED25519_KEY}, "dkim.selector", "is required"),
        ({"selector": "_dkim", "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "no underscores"),
        ({"selector": "my_key", "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "no underscores"),
        ({"selector": "-dkim", "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "inner hyphens"),
        ({"selector": "a..b", "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "1-63 octets"),
        ({"selector": "x" * 64, "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "1-63 octets"),
        ({"selector": "s\u00e9l", "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "must be ASCII"),
        ({"selector": ".".join(["x" * 60] * 4), "public_key": RFC8463_ED25519_KEY}, "dkim.selector", "longer than 253"),
        ({"selector": "dkim", "public_key": "not base64!"}, "dkim.public_key", "is not valid base64"),
        ({"selector": "dkim", "public_key": "AAAA"}, "dkim.public_key", "not a DER public key nor a raw 32-byte ed25519 key"),
        ({"selector": "dkim", "public_key": "v=DKIM1; p="}, "dkim.public_key", "pasted key record is unusable: revoked"),
        ({"selector": "dkim", "public_key": "v=DKIM1; k=ed25519; p=AAAA"}, "dkim.public_key", "pasted key record is unusable"),
        ({"selector": "dkim", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
         "dkim.public_key", "PEM is not a readable PEM public key"),
        ({"selector": "dkim", "public_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
         "dkim.public_key", "is a PRIVATE key"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "key_type": "rsa"}, "dkim.key_type", "is rsa but public_key holds an ed25519 key"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "key_type": "dsa"}, "dkim.key_type", "must be one of rsa, ed25519"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "testing": "yes"}, "dkim.testing", "must be true or false"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "hash_algorithms": ["sha1"]}, "dkim.hash_algorithms[0]", "must be one of sha256"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "hash_algorithms": []}, "dkim.hash_algorithms", "non-empty list"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "service_types": ["web"]}, "dkim.service_types[0]", "must be one of *, email"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "notes": 5}, "dkim.notes", "must be a string"),
        ({"selector": "dkim", "public_key": RFC8463_ED25519_KEY, "flags": "y"}, "dkim.flags", "unknown option"),
        ("dkim", "dkim", "must be a mapping or a list of mappings"),
        (["dkim"], "dkim[0]", "must be a mapping"),
    ],
)
def test_bad_specs_name_the_field_and_domain(spec, field, fragment):
    with pytest.raises(SpecError) as info:
        dkim.normalize_spec(spec, "example.com")
    assert info.value.field == field
    assert info.value.domain == "example.com"
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "bits, fragment", [(512, "RSA key of 512 bits; at least 1024 are required"), (8192, "verifiers need only handle up to 4096")]
)
def test_spec_refuses_rsa_keys_outside_1024_to_4096_bits(rsa_keys, bits, fragment):
    with pytest.raises(SpecError) as info:
        dkim.normalize_spec([{"selector": "a", "public_key": RFC8463_ED25519_KEY}, {"selector": "b", "public_key": rsa_keys[bits]}], "example.com")
    assert info.value.field == "dkim[1].public_key"
    assert fragment in str(info.value)


def test_spec_refuses_duplicate_selectors(rsa_keys):
    with pytest.raises(SpecError) as info:
        dkim.normalize_spec(
            [{"selector": "dkim", "public_key": rsa_keys[2048]}, {"selector": "DKIM", "public_key": RFC8463_ED25519_KEY}],
            "example.com",
        )
    assert info.value.field == "dkim[1].selector"
    assert "selector 'dkim' is listed twice" in str(info.value)


def test_stated_key_bits_must_agree_with_the_key(rsa_keys):
    public_key = rsa_keys[2048]
    entry = dkim.normalize_spec({"selector": "dkim", "public_key": public_key, "key_bits": 2048}, "example.com")[0]
    assert entry["key_bits"] == 2048
    with pytest.raises(SpecError) as info:
        dkim.normalize_spec({"selector": "dkim", "public_key": public_key, "key_bits": 4096}, "example.com")
    assert "dkim.key_bits" in str(info.value) and "2048-bit" in str(info.value)


def test_tlsrpt_is_a_known_service_type(rsa_keys):
    # RFC 8460 3 registers the DKIM service type "tlsrpt": no "unknown" warning. dkimpy, the oracle, knows it too.
    dkimpy = importlib.import_module("dkim")
    assert dkimpy.evaluate_pk(b"report", ("v=DKIM1; s=tlsrpt; p=" + rsa_keys[2048]).encode())[3] is True
    result = dkim.parse("v=DKIM1; s=email:tlsrpt; p=" + rsa_keys[2048])
    assert result["valid"] and result["service_types"] == ["email", "tlsrpt"]
    assert result["warnings"] == [], result["warnings"]
    assert has(dkim.parse("v=DKIM1; s=email:web; p=" + rsa_keys[2048])["warnings"], "unknown service type 'web' is ignored")
