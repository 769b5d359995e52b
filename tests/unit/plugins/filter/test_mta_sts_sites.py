"""The mta_sts_sites and mta_sts_shared_policy filter adapters: engine results, errors as AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.filter.mta_sts_sites import FilterModule

FILTERS = FilterModule().filters()
DOMAINS = [{"name": "a.example", "mta_sts": {"mode": "enforce"}}, {"name": "b.example", "mta_sts": {"mode": "testing"}}]


def test_sites_and_shared_policy():
    sites = FILTERS["mta_sts_sites"](DOMAINS, mail_host="mail.example", names=["a.example"])
    assert [site["domain"] for site in sites] == ["a.example"]
    shared = FILTERS["mta_sts_shared_policy"](sites, server="mailcow")
    assert shared["policy"] == sites[0]["policy"] and shared["domains"] == ["a.example"]


def test_sites_errors_name_domain_and_field():
    with pytest.raises(AnsibleFilterError, match=r"^mailsec.posture.mta_sts_sites: domain 'a.example': mta_sts.mode: must be one of"):
        FILTERS["mta_sts_sites"]([{"name": "a.example", "mta_sts": {"mode": "enforced"}}], mail_host="mail.example")


def test_shared_policy_refuses_disagreeing_domains_and_foreign_input():
    sites = FILTERS["mta_sts_sites"](DOMAINS, mail_host="mail.example")
    with pytest.raises(AnsibleFilterError, match=r"mailcow serves one policy file to all its domains, but they ask for 2 different"):
        FILTERS["mta_sts_shared_policy"](sites, server="mailcow")
    with pytest.raises(AnsibleFilterError, match="expects the list the mta_sts_sites filter returns"):
        FILTERS["mta_sts_shared_policy"](DOMAINS)
