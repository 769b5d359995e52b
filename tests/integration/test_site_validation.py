"""playbooks/site.yml validates the whole inventory model once, before its first change, whatever the tags.

A bad entry (an rua without a scheme) or a missing/empty mailsec_domains must fail the run naming the field
and the domain (or the variable), with no DKIM key made and mailcow.conf byte for byte as it was: before the
validation play, the keys play made the key and ``--tags policy`` edited mailcow.conf before the dns role
rejected the rua. No server is needed: nothing may get as far as talking to one.
"""

import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE = os.path.join(ROOT, "playbooks", "site.yml")
MAILCOW_CONF = os.path.join(ROOT, "tests", "fixtures", "mailcow", "mailcow.conf")
MAIL_HOST = "mail.example.test"
# The host makes good.example.test's key: its dkim entry has no public key until then (docs/inventory.md).
GOOD = {"name": "good.example.test", "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@good.example.test"]},
        "dkim": {"selector": "dkim", "testing": True}}
BAD = {"name": "bad.example.test", "dmarc": {"policy": "reject", "rua": ["dmarc@bad.example.test"]}}


@pytest.fixture
def site(tmp_path):
    """An inventory with a mailcow host (a legacy tree: mailcow.conf) and a DKIM key to make; returns a helper."""
    mailcow_dir = tmp_path / "mailcow"
    (mailcow_dir / "data" / "web").mkdir(parents=True)
    shutil.copy(MAILCOW_CONF, mailcow_dir / "mailcow.conf")
    key_dir = tmp_path / "dkim"
    key_dir.mkdir()

    def inventory(domains_vars, key_domain="good.example.test"):
        mail_host = {
            "ansible_connection": "local",
            "mailcow_mta_sts_dir": str(mailcow_dir),
            "mailcow_mta_sts_docker": False,
            "mailsec_dkim_keys": [{"domain": key_domain, "selector": "dkim", "path": str(key_dir / "good.key")}],
        }
        return {"all": {
            "hosts": {"localhost": {"ansible_connection": "local"}},
            "children": {"mailcow": {"hosts": {MAIL_HOST: mail_host}}},
            "vars": dict({"mailsec_mail_host": MAIL_HOST, "dns_method": "report", "dns_output_dir": str(tmp_path / "dns")},
                         **domains_vars),
        }}

    def untouched():
        with open(MAILCOW_CONF, "rb") as handle:
            assert (mailcow_dir / "mailcow.conf").read_bytes() == handle.read()
        assert os.listdir(key_dir) == []
        assert not (mailcow_dir / "data" / "web" / ".well-known").exists()
        assert not (tmp_path / "dns").exists()

    return inventory, untouched


def failure(result):
    assert result.rc != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.changed == 0, result.stdout[-3000:]
    return " ".join(result.failure_messages())


@pytest.mark.parametrize("tags", [None, "policy", "dns"])
def test_a_bad_entry_fails_before_anything_changes(site, run_playbook, tags):
    inventory, untouched = site
    result = run_playbook(SITE, inventory=inventory({"mailsec_domains": [GOOD, BAD]}), tags=tags)
    message = failure(result)
    assert "domain 'bad.example.test': dmarc.rua[0]" in message and "has no scheme" in message, message
    assert "Validate mailsec_domains with the engine's rules" in result.stdout
    untouched()


@pytest.mark.parametrize("domains_vars, said", [
    ({"mailsec_domain": [GOOD]}, "mailsec_domains is not set"),  # the typo the issue names
    ({"mailsec_domains": []}, "mailsec_domains is empty"),
])
def test_no_domains_fails_saying_so_and_names_the_likely_typo(site, run_playbook, domains_vars, said):
    inventory, untouched = site
    result = run_playbook(SITE, inventory=inventory(domains_vars), tags="policy")
    message = failure(result)
    assert said in message, message
    if "mailsec_domain" in domains_vars:
        assert "is mailsec_domain a misspelling of it?" in message, message
    else:
        assert "misspelling" not in message, message
    untouched()


def test_a_key_for_a_domain_not_in_the_model_fails_before_it_is_made(site, run_playbook):
    inventory, untouched = site
    without_dkim = {key: value for key, value in GOOD.items() if key != "dkim"}
    result = run_playbook(SITE, inventory=inventory({"mailsec_domains": [without_dkim]}, key_domain="typo.example.test"))
    message = failure(result)
    assert "mailsec_dkim_keys[0].domain: typo.example.test is not in mailsec_domains" in message, message
    untouched()


def test_a_valid_inventory_passes_the_validation_once(site, run_playbook):
    """The validation passes a good model (whose DKIM key the host makes after it) and runs once, although site.yml
    imports keys.yml (which imports it too) three times."""
    inventory, _untouched = site
    result = run_playbook(SITE, inventory=inventory({"mailsec_domains": [GOOD]}), tags="records")
    assert result.rc == 0, result.stdout[-3000:]
    records = result.task_result("Show the records as a table")["msg"]
    assert "dkim._domainkey.good.example.test" in str(records)  # the key the host made is published
    validations = [task for task in result.data["plays"] for entry in task["tasks"]
                   if entry["task"]["name"] == "Validate mailsec_domains with the engine's rules"
                   for host, outcome in entry["hosts"].items() if not outcome.get("skipped")]
    assert len(validations) == 1


def test_mailsec_domains_as_extra_vars_stops_before_the_keys_are_lost(site, run_playbook):
    """-e mailsec_domains outranks the model with the host's DKIM key: the run stops before any record is written."""
    inventory, _untouched = site
    without_dkim = {key: value for key, value in GOOD.items() if key != "dkim"}
    result = run_playbook(SITE, inventory=inventory({"mailsec_domains": [without_dkim]}), extra_vars={"mailsec_domains": [without_dkim]},
                          tags="records")
    assert result.rc != 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    message = " ".join(result.failure_messages())
    assert "keep mailsec_domains in the inventory" in message and "DKIM keys" in message, message
    assert "Show the records as a table" not in [entry["task"]["name"] for play in result.data["plays"] for entry in play["tasks"]]
