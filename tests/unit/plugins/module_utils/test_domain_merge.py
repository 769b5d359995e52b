"""merge_domains: a discovered domain list (mailcow) with per-domain inventory overrides on top."""

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.domain_merge import merge_domains

BASE = [
    {"name": "example.com", "source": "mailcow", "dkim": {"selector": "dkim", "public_key": "AAA", "key_bits": 2048}},
    {"name": "legacy.example", "source": "mailcow", "dkim": None},
    {"name": "example.org", "source": "mailcow", "dkim": None},
]


def test_overrides_win_per_key_and_inventory_only_domains_are_kept():
    overrides = [
        {"name": "EXAMPLE.com.", "dmarc": {"policy": "reject"}, "dkim": {"selector": "s1", "public_key": "BBB"}},
        {"name": "legacy.example", "state": "absent"},
        {"name": "bücher.example", "spf": {"mechanisms": ["mx"]}, "state": "present"},
    ]
    assert merge_domains(BASE, overrides) == [
        {"name": "example.com", "source": "mailcow", "dkim": {"selector": "s1", "public_key": "BBB"}, "dmarc": {"policy": "reject"}},
        {"name": "example.org", "source": "mailcow", "dkim": None},
        {"name": "xn--bcher-kva.example", "spf": {"mechanisms": ["mx"]}},
    ]
    assert BASE[0]["dkim"]["public_key"] == "AAA"
    assert "state" in overrides[1]


def test_no_deep_merge_an_override_replaces_the_whole_key():
    merged = merge_domains(BASE[:1], [{"name": "example.com", "dkim": {"selector": "s2"}}])
    assert merged[0]["dkim"] == {"selector": "s2"}


def test_an_override_can_switch_dkim_off():
    assert merge_domains(BASE[:1], [{"name": "example.com", "dkim": None}])[0]["dkim"] is None


def test_empty_inputs():
    assert merge_domains(BASE, None) == BASE
    assert merge_domains(BASE, []) == BASE
    assert merge_domains([], []) == []
    assert merge_domains(None, [{"name": "a.example"}]) == [{"name": "a.example"}]
    assert merge_domains([], [{"name": "gone.example", "state": "absent"}]) == []


def test_result_does_not_share_nested_values_with_the_inputs():
    merged = merge_domains(BASE, [])
    merged[0]["dkim"]["public_key"] = "changed"
    assert BASE[0]["dkim"]["public_key"] == "AAA"


@pytest.mark.parametrize(
    "base, overrides, field",
    [
        ([{"name": "a.example"}, {"name": "A.example."}], [], "base[1].name"),
        ([], [{"name": "a.example"}, {"name": "a.example"}], "overrides[1].name"),
        ([{"dkim": None}], [], "base[0].name"),
        (["a.example"], [], "base[0]"),
        ([], [{"name": "a.example", "state": "gone"}], "overrides[0].state"),
        ([], [{"name": "not a domain"}], "overrides[0].name"),
        ([], [{"name": 42}], "overrides[0].name"),
        ("a.example", [], "base"),
        ([], {"name": "a.example"}, "overrides"),
    ],
)
def test_bad_lists_name_the_entry(base, overrides, field):
    with pytest.raises(SpecError) as caught:
        merge_domains(base, overrides)
    assert caught.value.field == field
