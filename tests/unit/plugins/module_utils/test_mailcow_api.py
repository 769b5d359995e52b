"""Pure parts of the mailcow API client: URL and key checks, key sizes, the MTA-STS policy seam.

Network behaviour is tested in tests/integration/test_mailcow_api.py against a contract stand-in.
"""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow_api
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MailcowApiError, MailcowClient

KEY = "RWKEY-0123456789-abcdef"


def spki_base64(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


# ---------------------------------------------------------------- URL, key, timeout


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://mail.example.com", "plain http"),
        ("ftp://mail.example.com", "https:// URL"),
        ("https://user:hunter2@mail.example.com", "must not carry credentials"),
        ("https://mail.example.com/?x=1", "query"),
        ("https://mail.example.com:99999", "invalid port"),
        ("", "api_url must be"),
        (None, "api_url must be"),
    ],
)
def test_bad_api_urls_are_refused_before_any_request(url, words):
    with pytest.raises(MailcowApiError) as caught:
        MailcowClient(url, KEY)
    assert caught.value.kind == "config"
    assert words in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "url, normalized",
    [
        ("https://mail.example.com/api/v1/", "https://mail.example.com"),
        ("https://mail.example.com/", "https://mail.example.com"),
        ("https://mail.example.com:8443/mailcow", "https://mail.example.com:8443/mailcow"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.3.4.5", "http://127.3.4.5"),
        ("http://localhost:8080/api/v1", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_api_url_forms(url, normalized):
    assert mailcow_api.normalize_api_url(url) == normalized


@pytest.mark.parametrize("bad_key", ["", "key with space", "key\r\nX-Injected: 1", 'quoted"key', "ключ", None])
def test_bad_api_keys_are_refused_without_echo(bad_key):
    with pytest.raises(MailcowApiError) as caught:
        MailcowClient("https://mail.example.com", bad_key)
    assert caught.value.kind == "config"
    if bad_key:
        assert bad_key not in str(caught.value)


@pytest.mark.parametrize("timeout", [0, -1, "soon", float("nan"), float("inf")])
def test_bad_timeouts(timeout):
    with pytest.raises(MailcowApiError, match="timeout must be"):
        MailcowClient("https://mail.example.com", KEY, timeout=timeout)


def test_missing_ca_file_is_a_config_error(tmp_path):
    with pytest.raises(MailcowApiError, match="ca_path .* is not a readable file"):
        MailcowClient("https://mail.example.com", KEY, ca_path=str(tmp_path / "missing.pem"))


def test_ca_file_without_certificates_is_a_config_error(tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(MailcowApiError, match="holds no usable CA certificate"):
        MailcowClient("https://mail.example.com", KEY, ca_path=str(bogus))


def test_error_message_names_the_endpoint():
    error = MailcowApiError("GET /api/v1/get/domain/all", "authentication failed (HTTP 401)", kind="auth", status=401)
    assert str(error) == "mailcow API GET /api/v1/get/domain/all: authentication failed (HTTP 401)"
    assert error.changed is False and error.succeeded == []


# ---------------------------------------------------------------- key sizes and selectors


@pytest.mark.parametrize("bits", [1024, 2048])
def test_key_bits_of_rsa_keys(bits):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    encoded = spki_base64(key)
    assert mailcow_api.public_key_bits(encoded) == bits
    # mailcow's pubkey is the PEM body; line breaks or spaces must not matter.
    assert mailcow_api.public_key_bits("\n".join(encoded[i:i + 64] for i in range(0, len(encoded), 64))) == bits


def test_key_bits_of_ed25519_and_of_garbage():
    assert mailcow_api.public_key_bits(spki_base64(ed25519.Ed25519PrivateKey.generate().public_key())) == 256
    assert mailcow_api.public_key_bits("not base64!") is None
    assert mailcow_api.public_key_bits(base64.b64encode(b"\x30\x03\x02\x01\x01").decode()) is None
    assert mailcow_api.public_key_bits(base64.b64encode(b"\x30\x82\xff\xff").decode()) is None
    assert mailcow_api.public_key_bits("") is None
    assert mailcow_api.public_key_bits(None) is None


@pytest.mark.parametrize("selector", ["dkim", "s2026", "mail-1", "a_b", "x.y", "A" * 63])
def test_good_selectors(selector):
    assert mailcow_api.check_selector(selector) == selector


@pytest.mark.parametrize("selector", ["", "a b", "a..b", ".a", "a.", "s;1", "A" * 64, 5, None, "sel*"])
def test_bad_selectors(selector):
    with pytest.raises(SpecError) as caught:
        mailcow_api.check_selector(selector, "example.com")
    assert caught.value.field == "selector" and caught.value.domain == "example.com"


def test_key_sizes():
    assert mailcow_api.check_key_size(2048) == 2048
    assert mailcow_api.check_key_size("4096") == 4096
    assert mailcow_api.check_key_size(1024, allow_weak=True) == 1024
    with pytest.raises(SpecError, match="set allow_weak"):
        mailcow_api.check_key_size(1024)
    with pytest.raises(SpecError, match="must be one of 1024, 2048, 3072, 4096"):
        mailcow_api.check_key_size(512, allow_weak=True)


# ---------------------------------------------------------------- MTA-STS policy seam


def test_policy_is_normalized():
    policy = mailcow_api.normalize_mta_sts_policy(
        {"mode": "enforce", "mx": ["Mail.Example.com.", "*.backup.example.net", "mail.example.com", "bücher.example"], "max_age": "86400"},
        "example.com",
    )
    assert policy == {
        "mode": "enforce",
        "mx": ["mail.example.com", "*.backup.example.net", "xn--bcher-kva.example"],
        "max_age": 86400,
        "active": True,
    }
    assert mailcow_api.render_policy(policy) == (
        "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mail.example.com\nmx: *.backup.example.net\nmx: xn--bcher-kva.example\n"
    )


def test_inactive_policy_needs_no_fields():
    assert mailcow_api.normalize_mta_sts_policy({"active": False}, "example.com") == {"mode": None, "mx": None, "max_age": None, "active": False}
    assert mailcow_api.render_policy({"mode": None, "mx": None, "max_age": None, "active": False}) == ""


@pytest.mark.parametrize(
    "policy, field, words",
    [
        ({"mode": "enforce", "mx": ["*"], "max_age": 1}, "mta_sts.mx[0]", "whole leftmost label"),
        ({"mode": "enforce", "mx": ["mail.*.example.com"], "max_age": 1}, "mta_sts.mx[0]", "not letters, digits"),
        ({"mode": "enforce", "mx": ["*mail.example.com"], "max_age": 1}, "mta_sts.mx[0]", "whole leftmost label"),
        ({"mode": "enforce", "mx": [7], "max_age": 1}, "mta_sts.mx[0]", "host name string"),
        ({"mode": "Enforce", "mx": ["a.example"], "max_age": 1}, "mta_sts.mode", "must be one of"),
        ({"mode": "enforce", "mx": ["a.example"], "max_age": True}, "mta_sts.max_age", "boolean"),
        ({"mode": "enforce", "mx": ["a.example"], "max_age": 31536001}, "mta_sts.max_age", "at most 31536000"),
        ({"mode": "enforce", "mx": "a.example", "max_age": 1, "active": "yes"}, "mta_sts.active", "boolean"),
        ("enforce", "mta_sts", "mapping"),
    ],
)
def test_bad_policies(policy, field, words):
    with pytest.raises(SpecError) as caught:
        mailcow_api.normalize_mta_sts_policy(policy, "example.com")
    assert caught.value.field == field and caught.value.domain == "example.com"
    assert words in str(caught.value)


def test_served_policy_parsing_and_comparison():
    text = "version: STSv1\r\nmode: testing\r\nmax_age: 86400\r\nmx: b.example.com\r\nmx: a.example.com\r\n"
    fields = mailcow_api.parse_served_policy(text)
    assert fields == {"version": "STSv1", "mode": "testing", "max_age": "86400", "mx": ["b.example.com", "a.example.com"]}
    current = mailcow_api.normalize_mta_sts_policy({"mode": "testing", "mx": fields["mx"], "max_age": fields["max_age"]}, "example.com")
    wanted = mailcow_api.normalize_mta_sts_policy({"mode": "testing", "mx": ["a.example.com", "b.example.com"], "max_age": 86400}, "example.com")
    assert mailcow_api.same_policy(current, wanted)
    assert not mailcow_api.same_policy(current, dict(wanted, max_age=60))
    assert not mailcow_api.same_policy(current, dict(wanted, mx=["a.example.com"]))
    assert not mailcow_api.same_policy(current, None)
    assert mailcow_api.same_policy(None, None)


def test_run_bounded_keeps_order_and_raises_the_first_error():
    assert mailcow_api.run_bounded(lambda n: n * 2, range(20), workers=4) == [n * 2 for n in range(20)]
    assert mailcow_api.run_bounded(lambda n: n, [], workers=4) == []

    def fail_on_odd(number):
        if number % 2:
            raise ValueError(number)
        return number

    with pytest.raises(ValueError, match="^1$"):
        mailcow_api.run_bounded(fail_on_odd, range(6), workers=3)


# ---------------------------------------------------------------- tags and certificates (real mailcow's behaviour)


def test_tags_match_exactly_where_mailcow_matches_like():
    # mailcow's ?tags=managed answers LIKE '%managed%': "unmanaged" too, and "_" as a wildcard.
    assert mailcow_api.has_any_tag({"tags": ["managed"]}, ["managed"])
    assert mailcow_api.has_any_tag({"tags": ["a", "managed"]}, ["x", "managed"])
    assert not mailcow_api.has_any_tag({"tags": ["unmanaged"]}, ["managed"])
    assert not mailcow_api.has_any_tag({"tags": ["Managed"]}, ["managed"])
    assert not mailcow_api.has_any_tag({"tags": ["m-anaged"]}, ["m_anaged"])
    assert not mailcow_api.has_any_tag({}, ["managed"])


@pytest.mark.parametrize(
    "conf, words",
    [
        ("AUTODISCOVER_SAN=y\n", "docker compose restart acme-mailcow"),
        ("", "docker compose restart acme-mailcow"),  # compose's default: ${AUTODISCOVER_SAN:-y}
        ("AUTODISCOVER_SAN=n\n", "only with AUTODISCOVER_SAN=y"),
        ("AUTODISCOVER_SAN=\n", "docker compose restart acme-mailcow"),
        ("SKIP_LETS_ENCRYPT=y\nAUTODISCOVER_SAN=y\n", "SKIP_LETS_ENCRYPT=y"),
        ("ONLY_MAILCOW_HOSTNAME=yes\n", "ONLY_MAILCOW_HOSTNAME=y"),
    ],
)
def test_certificate_warnings_read_mailcow_conf_as_acme_does(conf, words):
    warnings = mailcow_api.certificate_warnings(conf, ["example.com", "example.org"])
    assert len(warnings) == 1 and words in warnings[0]
    assert "mta-sts.example.com, mta-sts.example.org" in warnings[0]


def test_no_certificate_warning_when_no_policy_was_switched_on():
    assert mailcow_api.certificate_warnings("AUTODISCOVER_SAN=n\n", []) == []


def test_retiring_sends_the_served_fields_back_switched_off():
    served = {"mode": "testing", "mx": ["mail.example.com"], "max_age": 86400, "active": True}
    attributes = MailcowClient._mta_sts_attributes(mailcow_api.retiring(served))  # pylint: disable=protected-access
    assert attributes == {"version": "stsv1", "mode": "testing", "mx": "mail.example.com", "max_age": 86400, "active": 0}
