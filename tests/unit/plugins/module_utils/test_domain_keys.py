"""add_dkim_keys: keys made on the mail hosts (real dkim_key results) go into the inventory model."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.filter.add_dkim_keys import FilterModule
from ansible_collections.mailsec.posture.plugins.module_utils import dkim_keyfile
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.domain_keys import add_dkim_keys
from ansible_collections.mailsec.posture.plugins.module_utils.records import desired_records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_model

MAIL_HOST = "mail.example.test"


def made_key(tmp_path, domain, selector="dkim", key_type="rsa", check_mode=False):
    """What the dkim_key module returns for ``domain`` (its engine, on a real key file)."""
    outcome = dkim_keyfile.ensure_key(str(tmp_path / ("%s.%s.key" % (domain, selector))), selector, key_type=key_type,
                                      check_mode=check_mode, domain=domain)
    outcome.pop("warnings")
    return outcome


def dkim_txt(domains, domain):
    records = desired_records(normalize_model(domains, mail_host=MAIL_HOST))
    return sorted(item["value"] for item in records if item["standard"] == "dkim" and item["domain"] == domain)


def test_a_key_from_the_host_completes_a_dkim_entry_declared_without_one(tmp_path):
    key = made_key(tmp_path, "example.test")
    domains = [{"name": "example.test", "dkim": {"selector": "dkim", "testing": True}}, "other.test"]
    merged = add_dkim_keys(domains, [key])
    assert merged[0]["dkim"] == [{"selector": "dkim", "testing": True, "public_key": key["public_key"], "key_type": "rsa"}]
    assert merged[1] == "other.test"
    # What the lookup then publishes is the module's own TXT value, with the inventory's t=y.
    assert dkim_txt(merged, "example.test") == [key["txt"].replace("; p=", "; t=y; p=")]
    assert domains[0]["dkim"] == {"selector": "dkim", "testing": True}


def test_keys_are_added_to_plain_domains_and_beside_other_selectors(tmp_path):
    rsa = made_key(tmp_path, "example.test")
    ed25519 = made_key(tmp_path, "Example.TEST.", selector="ed2026", key_type="ed25519")
    plain = made_key(tmp_path, "other.test")
    domains = [{"name": "example.test", "dkim": {"selector": "old", "public_key": "MIIB"}}, "other.test"]
    merged = add_dkim_keys(domains, [rsa, ed25519, plain])
    assert [entry["selector"] for entry in merged[0]["dkim"]] == ["old", "dkim", "ed2026"]
    assert merged[0]["dkim"][2] == {"selector": "ed2026", "public_key": ed25519["public_key"], "key_type": "ed25519"}
    assert merged[1] == {"name": "other.test", "dkim": [{"selector": "dkim", "public_key": plain["public_key"], "key_type": "rsa"}]}
    assert dkim_txt(merged[1:], "other.test") == [plain["txt"]]


def test_the_key_on_the_host_replaces_the_inventorys_key_for_its_selector(tmp_path):
    key = made_key(tmp_path, "example.test", selector="DKIM")
    merged = add_dkim_keys([{"name": "example.test", "dkim": [{"selector": "dkim", "public_key": "stale", "notes": "n"}]}], [key])
    assert merged[0]["dkim"] == [{"selector": "dkim", "public_key": key["public_key"], "key_type": "rsa", "notes": "n"}]


def test_skipped_items_and_keys_check_mode_would_create_are_left_out(tmp_path):
    would_create = made_key(tmp_path, "example.test", check_mode=True)
    assert would_create["public_key"] is None and would_create["created"] is True
    domains = [{"name": "example.test", "dkim": {"selector": "dkim", "public_key": "MIIB"}}]
    assert add_dkim_keys(domains, [would_create, {"skipped": True, "item": {}}]) == domains
    assert add_dkim_keys(domains, None) == domains
    assert add_dkim_keys(None, []) == []


@pytest.mark.parametrize("domains, keys, message", [
    (["example.test"], [{"domain": "elsewhere.test", "selector": "dkim", "public_key": "MIIB"}],
     "domain 'elsewhere.test': dkim_keys[0].domain: elsewhere.test is not in mailsec_domains"),
    ([{"name": "example.test", "dkim": False}], [{"domain": "example.test", "selector": "dkim", "public_key": "MIIB"}],
     "domain 'example.test': dkim: is false (DKIM off), but a DKIM key was made for the domain"),
    (["example.test"], [{"selector": "dkim", "public_key": "MIIB"}], "dkim_keys[0].domain: is required: give dkim_key its domain option"),
    (["example.test"], [{"domain": "example.test", "public_key": "MIIB"}], "domain 'example.test': dkim_keys[0].selector: is required"),
    (["example.test"], [{"failed": True, "msg": "permission denied"}], "dkim_keys[0]: is a failed dkim_key result: permission denied"),
    (["example.test"], ["dkim"], "dkim_keys[0]: must be a dkim_key result (a mapping), got a string"),
    (["example.test"], {"domain": "example.test"}, "dkim_keys: must be a list of dkim_key results, got a mapping"),
    ([{"dkim": None}], [], "mailsec_domains[0]: must be a domain name or a mapping with a name"),
    ("example.test", [], "mailsec_domains: must be a list of domains, got a string"),
])
def test_bad_input_names_the_entry(domains, keys, message):
    with pytest.raises(SpecError) as caught:
        add_dkim_keys(domains, keys)
    assert str(caught.value).startswith(message)


def test_filter_is_registered_and_errors_become_filter_errors(tmp_path):
    add = FilterModule().filters()["add_dkim_keys"]
    key = made_key(tmp_path, "example.test")
    assert add(["example.test"], [key])[0]["dkim"][0]["public_key"] == key["public_key"]
    with pytest.raises(AnsibleFilterError, match=r"^mailsec.posture.add_dkim_keys: domain 'b.test': dkim_keys\[0\].domain"):
        add(["example.test"], [dict(key, record=None, domain="b.test")])
