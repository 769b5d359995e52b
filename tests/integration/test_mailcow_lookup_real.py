"""The lookup mailsec.posture.mailcow_domains through real ansible-playbook runs against mailcow's OWN API
(tests/harness/mailcow.py), at every release MAILCOW_SOURCE names (tools/env.sh: ../shared/mailcow, 2025-07
and 2026-07a). The stand-in variants (faults, HTTPS in front) stay in test_mailcow_api.py and test_plugins.py.

One mailcow per release per session (the ``real_mailcow`` fixture); each test adds its own domains and looks
only at those (the other tests' domains are in the same mailcow).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("real_mailcow")

UNKNOWN_KEY = "UNKNOWN-KEY-0000-1111-2222"
# What the lookup documents for each entry (plugins/lookup/mailcow_domains.py, RETURN).
ENTRY_FIELDS = {"name", "source", "dkim", "mailcow"}
MAILCOW_FIELDS = {"unicode_name", "description", "tags", "active", "backup_mx", "dkim_txt"}
DKIM_FIELDS = {"selector", "public_key", "key_bits"}


def lookup_task(name, fact, **options):
    """A set_fact task setting ``fact`` to the lookup's answer, with the real API's URL and key from extra vars."""
    arguments = "".join(", %s=%s" % item for item in sorted(options.items()))
    return {
        "name": name,
        "ansible.builtin.set_fact": {
            fact: "{{ lookup('mailsec.posture.mailcow_domains', api_url=mailcow_url, api_key=mailcow_key%s) }}" % arguments,
        },
    }


def play(*tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def mine(entries, names):
    """The entries of this test's domains, by name."""
    return {entry["name"]: entry for entry in entries if entry["name"] in names}


def test_lookup_lists_domains_fields_tags_and_keys_as_mailcow_answers(real_mailcow, mailcow_domain, run_playbook):
    mailcow = real_mailcow
    active, inactive, backup = mailcow_domain("active"), mailcow_domain("inactive"), mailcow_domain("backup")
    managed, unmanaged, nokey = mailcow_domain("managed"), mailcow_domain("unmanaged"), mailcow_domain("nokey")
    capital = mailcow_domain("capital")
    mailcow.add_domain(active, description="Active domain")
    mailcow.add_domain(inactive, active=False)
    mailcow.add_domain(backup, backupmx=True)
    mailcow.add_domain(managed, tags=["managed"])
    mailcow.add_domain(unmanaged, tags=["unmanaged"])
    mailcow.add_domain(capital, tags=["Managed"])
    mailcow.add_domain(nokey)
    mailcow.api("POST", "delete/dkim", [nokey])
    names = {active, inactive, backup, managed, unmanaged, capital, nokey}
    static = mailcow_domain("static")  # only in the inventory
    # mailcow's own tag filter is LIKE '%managed%', ignoring case: "unmanaged" and "Managed" come back from it.
    assert {unmanaged, capital} <= {entry["domain_name"] for entry in mailcow.api("GET", "get/domain/all?tags=managed")}

    result = run_playbook(
        play(
            lookup_task("Every domain", "every", include_inactive=True, include_backup_mx=True),
            lookup_task("Default domains", "default"),
            lookup_task("Managed domains", "managed", tags="['managed']"),
            {
                "name": "Default domains with the inventory's overrides",
                "ansible.builtin.set_fact": {"merged": "{{ default | mailsec.posture.merge_domains(overrides) }}"},
            },
        ),
        extra_vars={
            "mailcow_url": mailcow.url,
            "mailcow_key": mailcow.ro_key,  # the read-only key reads everything
            "overrides": [{"name": active, "dmarc": {"policy": "reject"}}, {"name": static, "dkim": None}],
        },
    )

    result.assert_ok(changed=0)
    assert mailcow.ro_key not in result.stdout + result.stderr
    every = mine(result.task_result("Every domain")["ansible_facts"]["every"], names)
    assert set(every) == names
    for name, entry in every.items():
        details = mailcow.api("GET", "get/domain/" + name)
        raw_key = mailcow.api("GET", "get/dkim/" + name)
        assert set(entry) == ENTRY_FIELDS and set(entry["mailcow"]) == MAILCOW_FIELDS, entry
        assert entry["source"] == "mailcow"
        # The flags as mailcow answers them (JSON integers on the wire), as booleans.
        assert entry["mailcow"]["active"] is (int(details["active"]) == 1), (name, details["active"])
        assert entry["mailcow"]["backup_mx"] is (int(details["backupmx"]) == 1), (name, details["backupmx"])
        assert entry["mailcow"]["unicode_name"] == details["domain_h_name"]
        assert entry["mailcow"]["description"] == details["description"]
        assert entry["mailcow"]["tags"] == details.get("tags", [])
        if name == nokey:
            assert raw_key in ({}, []) and entry["dkim"] is None and entry["mailcow"]["dkim_txt"] is None
            continue
        # The DKIM key is mailcow's own, as get/dkim/<domain> answers it.
        assert set(entry["dkim"]) == DKIM_FIELDS
        assert entry["dkim"]["public_key"] == raw_key["pubkey"] and entry["dkim"]["selector"] == raw_key["dkim_selector"]
        assert entry["dkim"]["key_bits"] == 2048
        assert entry["mailcow"]["dkim_txt"] == raw_key["dkim_txt"]
    assert every[active]["mailcow"]["active"] is True and every[inactive]["mailcow"]["active"] is False
    assert every[backup]["mailcow"]["backup_mx"] is True and every[active]["mailcow"]["backup_mx"] is False
    assert every[active]["mailcow"]["description"] == "Active domain"

    default = mine(result.task_result("Default domains")["ansible_facts"]["default"], names)
    assert set(default) == names - {inactive, backup}

    merged = result.task_result("Default domains with the inventory's overrides")["ansible_facts"]["merged"]
    assert merged[-1]["name"] == static and mine(merged, {active})[active]["dmarc"] == {"policy": "reject"}
    assert mine(merged, {active})[active]["dkim"] == every[active]["dkim"]

    managed_entries = result.task_result("Managed domains")["ansible_facts"]["managed"]
    assert set(mine(managed_entries, names)) == {managed}
    assert all("managed" in entry["mailcow"]["tags"] for entry in managed_entries), managed_entries


def test_lookup_with_a_bad_key_fails_clearly(real_mailcow, run_playbook):
    result = run_playbook(
        play(lookup_task("Domains with an unknown key", "domains")),
        extra_vars={"mailcow_url": real_mailcow.url, "mailcow_key": UNKNOWN_KEY},
    )

    assert result.rc != 0 and result.failed == 1, result.describe()
    message = " ".join(result.failure_messages())
    assert "mailcow API GET /api/v1/get/domain/all: authentication failed (HTTP 401)" in message, message
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for key in (UNKNOWN_KEY, real_mailcow.rw_key, real_mailcow.ro_key):
        assert key not in output
