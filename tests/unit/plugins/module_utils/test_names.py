"""Tests of domain name normalization and checks."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import names
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("Example.COM.", "example.com"),
        ("mail.example.com", "mail.example.com"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("M\u00dcNCHEN.de", "xn--mnchen-3ya.de"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_normalize_domain_gives_lowercase_a_labels_without_dot(raw, normalized):
    assert names.normalize_domain(raw) == normalized


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "must not be empty"),
        ("localhost", "not fully qualified"),
        ("-bad.example.com", "inner hyphens"),
        ("bad-.example.com", "inner hyphens"),
        ("a..example.com", "empty label"),
        ("under_score.example.com", "inner hyphens"),
        ("%s.example.com" % ("a" * 64), "longer than 63"),
        (".".join(["abcdefghi"] * 26), "octets long"),
        ("192.0.2.1", "all-numeric"),
        ("*.example.com", "inner hyphens"),
        ("xn--zz.example", "A-label"),
    ],
)
def test_normalize_domain_rejects_bad_names_naming_field_and_domain(raw, fragment):
    with pytest.raises(SpecError) as info:
        names.normalize_domain(raw, field="mx[0]", domain="example.org")
    message = str(info.value)
    assert fragment in message and "mx[0]" in message and "example.org" in message


def test_normalize_domain_rejects_non_strings():
    with pytest.raises(SpecError, match="must be a domain name string"):
        names.normalize_domain(42)


def test_wildcard_only_when_allowed_and_leftmost():
    assert names.normalize_domain("*.Example.com", allow_wildcard=True) == "*.example.com"
    with pytest.raises(SpecError):
        names.normalize_domain("mail.*.example.com", allow_wildcard=True)


def test_underscore_labels_only_when_allowed():
    assert names.normalize_domain("_dmarc.example.com", allow_underscore=True) == "_dmarc.example.com"
    with pytest.raises(SpecError):
        names.normalize_domain("_dmarc.example.com")


def test_fqdn_and_subdomain():
    assert names.fqdn("example.com") == "example.com."
    assert names.fqdn("example.com.") == "example.com."
    assert names.is_subdomain("a.b.example.com", "example.com")
    assert names.is_subdomain("example.com.", "Example.com")
    assert not names.is_subdomain("badexample.com", "example.com")


def test_to_unicode_for_display():
    assert names.to_unicode("xn--bcher-kva.example") == "b\u00fccher.example"
