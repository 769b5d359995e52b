"""Property tests: the record parsers report every input as a verdict and never raise."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, dmarc, spf, tlsrpt

# Pieces that drive the parsers deep: versions, tag names, separators, macros, CIDRs, URIs.
FRAGMENTS = st.sampled_from([
    "v=spf1", "v=DKIM1", "v=DMARC1", "v=TLSRPTv1", " ", ";", ":", "=", "/", "//", ",", "!", "%", "%{", "}", "%{d}",
    "%{ir}", "a", "mx", "ip4:", "ip6:", "include:", "exists:", "redirect=", "exp=", "-all", "+all", "192.0.2.1", "::1",
    "/24", "/129", "example.com", "p=", "k=", "ed25519", "h=", "s=", "t=", "n=", "rua=", "ruf=", "mailto:",
    "https://", "@", "pct=", "fo=", "sp=", "np=", "10m", "MIIB", "==", "\t", "\u00e9",
])
RECORDS = st.one_of(st.text(max_size=80), st.lists(FRAGMENTS, max_size=14).map("".join))


@pytest.mark.parametrize("parse", [spf.parse, dkim.parse, dmarc.parse, tlsrpt.parse], ids=["spf", "dkim", "dmarc", "tlsrpt"])
@settings(max_examples=200, deadline=None)
@given(text=RECORDS)
def test_parse_returns_a_consistent_verdict(parse, text):
    result = parse(text)
    assert result["valid"] is (not result["errors"])
    assert all(isinstance(message, str) for message in result["errors"] + result["warnings"])


@pytest.mark.parametrize("select", [spf.select, dkim.select, dmarc.select, tlsrpt.select], ids=["spf", "dkim", "dmarc", "tlsrpt"])
@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(RECORDS, st.lists(RECORDS, max_size=3)), max_size=3))
def test_select_returns_a_consistent_verdict(select, values):
    result = select(values)
    assert result["valid"] is (not result["errors"])
    assert isinstance(result["records"], list)
