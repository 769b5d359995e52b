"""mailcow as the source of truth: the API client, the mailcow_domains lookup, merge_domains, and the
mailcow_dkim and mailcow_mta_sts_policy modules.

The server here is a contract stand-in (tests/harness/mailcow_standin.py), NOT mailcow: an HTTPS
server on 127.0.0.1 with a test CA that serves the routes we use with the status codes and JSON
shapes of mailcow-dockerized's source (data/web/json_api.php, data/web/inc/sessions.inc.php,
data/web/inc/functions.dkim.inc.php, data/web/inc/functions.mailbox.inc.php, data/web/mta-sts.php;
see docs/mailcow-api.md), used here for the faults and shapes the real API cannot be made to produce.
The flows mailcow's own API can answer run against it at both releases instead, in test_mailcow_real.py
(client and modules: new domains, DKIM check/create/keep/force, read-only and unknown keys, unknown and alias
domains, mailcow's refusals), test_mailcow_lookup_real.py (the lookup through ansible-playbook) and
test_mailcow_role_real.py; what stays here needs the stand-in: HTTPS in front (ca_path, untrusted certificates,
redirects), faults, delays, request counting, pre-made key sizes and mailcow settings ($SPLIT_DKIM_255,
$SHOW_DKIM_PRIV_KEYS).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import textwrap
import time

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.mailsec.posture.plugins.module_utils import common, mailcow_api
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MailcowApiError, MailcowClient
from harness.mailcow_standin import RO_KEY, RW_KEY, MailcowStandin, make_dkim_key

PLAYBOOK_TIMEOUT = 300
# A key with the right format that mailcow does not know: it must not leak either.
UNKNOWN_KEY = "UNKNOWN-KEY-0000-1111-2222"


@pytest.fixture(scope="module")
def keys():
    """Pre-made keys by size, so tests do not wait for RSA generation."""
    return {
        1024: [make_dkim_key(1024)],
        2048: [make_dkim_key(2048) for _index in range(4)],
        3072: [make_dkim_key(3072)],
        4096: [make_dkim_key(4096)],
    }


@pytest.fixture
def mailcow(keys):
    with MailcowStandin() as standin:
        standin.add_domain("example.com", key=keys[2048][0])
        standin.add_domain("example.org", key=keys[4096][0], selector="s2026")
        standin.add_domain("nokey.example", dkim_bits=None)
        standin.add_domain("disabled.example", active=False, key=keys[2048][1])
        standin.add_domain("backup.example", backupmx=True, key=keys[2048][2])
        yield standin


def client_for(standin, key=RW_KEY, **kwargs):
    kwargs.setdefault("ca_path", standin.ca_path)
    kwargs.setdefault("timeout", 5)
    return MailcowClient(standin.url, key, **kwargs)


def assert_clean(text):
    for secret in (RW_KEY, RO_KEY, UNKNOWN_KEY):
        assert secret not in text


# ---------------------------------------------------------------- discovery


def test_domains_discovered_with_their_dkim_keys(mailcow, keys):
    domains = mailcow_api.discover_domains(client_for(mailcow, RO_KEY))

    assert [d["name"] for d in domains] == ["example.com", "example.org", "nokey.example"]
    by_name = {d["name"]: d for d in domains}
    assert by_name["example.com"]["dkim"] == {"selector": "dkim", "public_key": keys[2048][0][0], "key_bits": 2048}
    assert by_name["example.org"]["dkim"] == {"selector": "s2026", "public_key": keys[4096][0][0], "key_bits": 4096}
    assert by_name["nokey.example"]["dkim"] is None
    assert all(d["source"] == "mailcow" for d in domains)
    assert by_name["example.com"]["mailcow"]["dkim_txt"] == "v=DKIM1;k=rsa;t=s;s=email;p=" + keys[2048][0][0]
    assert by_name["example.com"]["mailcow"]["active"] is True


def test_inactive_and_backup_mx_domains_only_on_request(mailcow):
    client = client_for(mailcow)
    names = [d["name"] for d in mailcow_api.discover_domains(client, include_inactive=True, include_backup_mx=True)]
    assert names == ["example.com", "example.org", "nokey.example", "disabled.example", "backup.example"]
    only_inactive = [d["name"] for d in mailcow_api.discover_domains(client, include_inactive=True)]
    assert "disabled.example" in only_inactive and "backup.example" not in only_inactive


def test_no_domains_at_all_is_an_empty_list(keys):
    # json_api.php answers {} (an object) when there is no domain.
    with MailcowStandin() as empty:
        assert mailcow_api.discover_domains(client_for(empty)) == []


def test_tags_select_domains(keys):
    with MailcowStandin() as standin:
        standin.add_domain("tagged.example", tags=["managed"], key=keys[2048][0])
        standin.add_domain("untagged.example", key=keys[2048][1])
        names = [d["name"] for d in mailcow_api.discover_domains(client_for(standin), tags=["managed"])]
        assert names == ["tagged.example"]
        assert any("tags=managed" in request[1] for request in standin.requests)


@pytest.mark.parametrize("bits", [1024, 2048, 3072, 4096])
def test_key_bits_are_computed_from_the_key(keys, bits):
    public_key = keys[bits][0][0]
    der = base64.b64decode(public_key)
    assert serialization.load_der_public_key(der).key_size == bits
    assert mailcow_api.public_key_bits(public_key) == bits


def test_a_4096_bit_key_from_mailcow_splits_into_character_strings(mailcow):
    domain = {d["name"]: d for d in mailcow_api.discover_domains(client_for(mailcow))}["example.org"]
    value = "v=DKIM1; k=rsa; p=" + domain["dkim"]["public_key"]
    parts = common.split_txt(value)
    assert len(value) > 255 and len(parts) == 3
    assert all(len(part.encode()) <= 255 for part in parts)
    assert common.join_txt(parts) == value


def test_split_dkim_txt_is_joined_and_private_keys_never_come_back(mailcow):
    mailcow.split_dkim_255 = True
    mailcow.show_dkim_priv_keys = True
    key = client_for(mailcow).get_dkim("example.org")
    assert key["dkim_txt"] == "v=DKIM1;k=rsa;t=s;s=email;p=" + key["public_key"]
    leaked = base64.b64encode(mailcow.dkim["example.org"]["privkey"].encode()).decode()
    assert leaked not in json.dumps(mailcow_api.discover_domains(client_for(mailcow)))
    assert "privkey" not in json.dumps(key)


def test_dkim_reads_run_concurrently_and_bounded(keys):
    with MailcowStandin() as standin:
        for index in range(6):
            standin.add_domain("d%d.example" % index, key=keys[2048][index % 4])
        standin.add_fault("/get/dkim/", "delay", value=0.4)
        start = time.monotonic()
        domains = mailcow_api.discover_domains(client_for(standin), workers=3)
        elapsed = time.monotonic() - start
    assert len(domains) == 6
    assert standin.max_in_flight == 3
    assert elapsed < 6 * 0.4


# ---------------------------------------------------------------- errors


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "fault, kind, words",
    [
        (("malformed_json", None), "not_json", "not JSON"),
        (("html", None), "not_json", "text/html"),
        (("status", 500), "server", "HTTP 500"),
        (("status", 502), "server", "HTTP 502"),
        (("empty", None), "empty", "empty answer"),
        (("json", {"unexpected": True}), "unexpected", "unexpected JSON"),
        (("json", [{"no_domain_name": 1}]), "unexpected", "domain_name"),
    ],
)
def test_bad_answers_name_the_endpoint(mailcow, fault, kind, words):
    mailcow.add_fault("/get/domain/all", fault[0], value=fault[1])
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.discover_domains(client_for(mailcow))
    assert caught.value.kind == kind
    assert "GET /api/v1/get/domain/all" in str(caught.value)
    assert words in str(caught.value)
    assert_clean(str(caught.value))


def test_unreachable_server(mailcow):
    client = MailcowClient("https://127.0.0.1:%d" % closed_port(), RW_KEY, ca_path=mailcow.ca_path, timeout=3)
    with pytest.raises(MailcowApiError) as caught:
        client.get_domains()
    assert caught.value.kind == "unreachable"
    assert "GET /api/v1/get/domain/all: cannot reach https://127.0.0.1:" in str(caught.value)
    assert_clean(str(caught.value))


def test_slow_answer_times_out_within_the_bound(mailcow):
    mailcow.add_fault("/get/dkim/", "delay", value=10)
    start = time.monotonic()
    with pytest.raises(MailcowApiError) as caught:
        client_for(mailcow, timeout=1).get_dkim("example.com")
    assert time.monotonic() - start < 4
    assert caught.value.kind == "timeout"
    assert "GET /api/v1/get/dkim/example.com" in str(caught.value) and "1 s" in str(caught.value)


def test_untrusted_certificate_is_refused_without_ca_path(mailcow):
    with pytest.raises(MailcowApiError) as caught:
        MailcowClient(mailcow.url, RW_KEY, timeout=3).get_domains()
    assert caught.value.kind == "tls"
    assert "set ca_path" in str(caught.value)
    assert_clean(str(caught.value))


def test_redirect_is_refused_and_the_key_does_not_follow(mailcow):
    with MailcowStandin(ca=mailcow.ca) as elsewhere:
        mailcow.add_fault("/get/domain/all", "redirect", value=elsewhere.url + "/api/v1/get/domain/all")
        with pytest.raises(MailcowApiError) as caught:
            client_for(mailcow).get_domains()
        assert elsewhere.requests == []
    assert caught.value.kind == "redirect"
    assert "HTTP 302" in str(caught.value) and "set api_url to the final URL" in str(caught.value)


def test_domain_vanishing_between_list_and_dkim(mailcow):
    mailcow.vanish_on_dkim("nokey.example")
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.discover_domains(client_for(mailcow))
    assert caught.value.kind == "vanished"
    message = str(caught.value)
    assert "GET /api/v1/get/dkim/nokey.example" in message
    assert "nokey.example was listed by GET /api/v1/get/domain/all but is gone now" in message


def test_missing_ca_file_is_a_config_error(tmp_path):
    with pytest.raises(MailcowApiError, match="ca_path .* is not a readable file"):
        MailcowClient("https://mail.example.com", RW_KEY, ca_path=str(tmp_path / "missing.pem"))


# ---------------------------------------------------------------- DKIM ensure


def test_dkim_4096_bit_key_is_made(mailcow):
    result = mailcow_api.ensure_dkim(client_for(mailcow, timeout=30), ["nokey.example"], key_size=4096)
    assert result["keys"][0]["key_bits"] == 4096
    assert mailcow_api.public_key_bits(mailcow.dkim["nokey.example"]["pubkey"]) == 4096


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"key_size": 1024}, "key_size", "set allow_weak"),
        ({"key_size": 1536}, "key_size", "must be one of 1024, 2048, 3072, 4096"),
        ({"selector": "bad selector"}, "selector", "is not a DKIM selector"),
        ({"selector": "a..b"}, "selector", "is not a DKIM selector"),
    ],
)
def test_dkim_bad_requests_are_refused_before_any_write(mailcow, kwargs, field, words):
    with pytest.raises(SpecError) as caught:
        mailcow_api.ensure_dkim(client_for(mailcow), ["nokey.example"], **kwargs)
    assert caught.value.field == field and words in str(caught.value)
    assert "nokey.example" not in mailcow.dkim


def test_dkim_weak_key_with_allow_weak(mailcow):
    result = mailcow_api.ensure_dkim(client_for(mailcow), ["nokey.example"], key_size=1024, allow_weak=True)
    assert result["keys"][0]["key_bits"] == 1024


def test_dkim_partial_failure_reports_changed(mailcow):
    mailcow.add_domain("second.example", dkim_bits=None)
    mailcow.refuse_dkim_add.add("second.example")
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.ensure_dkim(client_for(mailcow), ["nokey.example", "second.example"])
    assert caught.value.kind == "refused" and caught.value.changed is True
    assert "dkim_domain_or_sel_invalid (second.example)" in str(caught.value)
    assert "nokey.example" in mailcow.dkim and "second.example" not in mailcow.dkim


# ---------------------------------------------------------------- MTA-STS


POLICY = {"domain": "example.com", "mode": "enforce", "mx": ["mail.example.com"], "max_age": 604800}


def served(standin, domain):
    return client_for(standin).get_mta_sts(domain)[1]


def test_mta_sts_check_run_run(mailcow):
    client = client_for(mailcow)
    policies = [POLICY, {"domain": "example.org", "mode": "testing", "mx": ["mail.example.com", "*.mx.example.net"], "max_age": 86400}]

    checked = mailcow_api.ensure_mta_sts(client, policies, check_mode=True)
    assert checked["changed"] is True and [p["action"] for p in checked["policies"]] == ["add", "add"]
    assert checked["policies"][0]["policy"] == "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: mail.example.com\n"
    assert mailcow.mta_sts == {}

    applied = mailcow_api.ensure_mta_sts(client, policies)
    assert applied["changed"] is True
    assert served(mailcow, "example.com") == "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: mail.example.com\n"
    assert served(mailcow, "example.org") == "version: STSv1\nmode: testing\nmax_age: 86400\nmx: mail.example.com\nmx: *.mx.example.net\n"
    assert applied["diff"][0]["before"] == "" and "mode: enforce" in applied["diff"][0]["after"]

    again = mailcow_api.ensure_mta_sts(client, policies)
    assert again["changed"] is False and again["diff"] == []
    assert [p["action"] for p in again["policies"]] == ["none", "none"]
    checked_again = mailcow_api.ensure_mta_sts(client, policies, check_mode=True)
    assert checked_again["changed"] is False


def test_mta_sts_edit_only_what_differs(mailcow):
    client = client_for(mailcow)
    mailcow_api.ensure_mta_sts(client, [POLICY])
    row_id = mailcow.mta_sts["example.com"]["id"]
    reordered = dict(POLICY, mx=["mail.example.com", "MAIL.example.com."])
    assert mailcow_api.ensure_mta_sts(client, [reordered])["changed"] is False
    assert mailcow.mta_sts["example.com"]["id"] == row_id

    testing = dict(POLICY, mode="testing")
    result = mailcow_api.ensure_mta_sts(client, [testing])
    assert result["policies"][0]["action"] == "edit"
    assert result["diff"][0]["before"].splitlines()[1] == "mode: enforce"
    assert result["diff"][0]["after"].splitlines()[1] == "mode: testing"
    assert mailcow.mta_sts["example.com"]["mode"] == "testing"


def test_mta_sts_inactive_row_is_switched_on(mailcow):
    mailcow.mta_sts["example.com"] = {"id": "1", "version": "stsv1", "mode": "none", "mx": ["old.example.com"], "max_age": "60", "active": 0}
    result = mailcow_api.ensure_mta_sts(client_for(mailcow), [POLICY])
    assert result["policies"][0]["action"] == "add"
    assert mailcow.mta_sts["example.com"]["active"] == 1
    assert served(mailcow, "example.com") == "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: mail.example.com\n"


def test_mta_sts_switched_off(mailcow):
    client = client_for(mailcow)
    mailcow_api.ensure_mta_sts(client, [POLICY])
    off = mailcow_api.ensure_mta_sts(client, [{"domain": "example.com", "active": False}])
    assert off["changed"] is True and off["policies"][0]["policy"] == ""
    assert mailcow.mta_sts["example.com"]["active"] == 0 and served(mailcow, "example.com") == ""
    assert mailcow_api.ensure_mta_sts(client, [{"domain": "example.com", "active": False}])["changed"] is False


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"mx": ["*"]}, "mta_sts.mx[0]", "a wildcard must be a whole leftmost label"),
        ({"mx": []}, "mta_sts.mx", "needs at least one MX"),
        ({"mx": ["mail..example.com"]}, "mta_sts.mx[0]", "empty label"),
        ({"mode": "strict"}, "mta_sts.mode", "must be one of enforce, testing, none"),
        ({"max_age": 0}, "mta_sts.max_age", "at least 1"),
        ({"max_age": 31557600}, "mta_sts.max_age", "at most 31536000"),
        ({"max_age": None}, "mta_sts.max_age", "is required"),
        ({"mx": ["m%02d.example.com" % n for n in range(20)]}, "mta_sts.mx", "255 characters"),
    ],
)
def test_mta_sts_invalid_policies_are_refused_before_any_write(mailcow, change, field, words):
    with pytest.raises(SpecError) as caught:
        mailcow_api.ensure_mta_sts(client_for(mailcow), [dict(POLICY, **change)])
    assert caught.value.field == field and caught.value.domain == "example.com"
    assert words in str(caught.value)
    assert mailcow.mta_sts == {}


def test_mta_sts_on_a_legacy_mailcow(keys):
    with MailcowStandin(native_mta_sts=False) as legacy:
        legacy.add_domain("example.com", key=keys[2048][0])
        with pytest.raises(MailcowApiError) as caught:
            mailcow_api.ensure_mta_sts(client_for(legacy), [POLICY])
    assert caught.value.kind == "no_route"
    assert str(caught.value) == "mailcow API POST /api/v1/add/mta-sts: this mailcow has no such API route (HTTP 404: route not found)"


# ---------------------------------------------------------------- through ansible-playbook


def run_playbook(tmp_path, tasks, extra_vars, *args, environment=None):
    """Run ``tasks`` on localhost with -vvv (``environment`` added to its environment); return (process, combined output)."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + textwrap.indent(tasks, "    ")
    )
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(dict(extra_vars, out=str(tmp_path))))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    env.pop("MAILCOW_API_KEY", None)
    env.pop("MAILCOW_API_URL", None)
    env.update(environment or {})
    process = subprocess.run(
        ["ansible-playbook", "-vvv", "-i", "localhost,", "-c", "local", "-e", "@%s" % vars_file, str(playbook), *args],
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT,
        env=env,
        check=False,
    )
    output = process.stdout + process.stderr
    assert_clean(output)
    return process, output


def saved(tmp_path, name):
    return json.loads((tmp_path / ("%s.json" % name)).read_text())


SAVE = """
- name: Save {name}
  ansible.builtin.copy:
    content: "{{{{ {name} | to_json }}}}"
    dest: "{{{{ out }}}}/{name}.json"
    mode: "0600"
  check_mode: false
"""


def test_playbook_lookup_feeds_mailsec_domains(mailcow, keys, tmp_path):
    tasks = textwrap.dedent("""
    - name: mailcow's domains with inventory overrides
      ansible.builtin.set_fact:
        mailsec_domains: >-
          {{ lookup('mailsec.posture.mailcow_domains', api_url=mailcow_url, api_key=mailcow_key, ca_path=mailcow_ca)
             | mailsec.posture.merge_domains(overrides) }}
    """) + SAVE.format(name="mailsec_domains")
    overrides = [{"name": "example.com", "dmarc": {"policy": "reject"}}, {"name": "static.example", "dkim": None}]
    variables = {"mailcow_url": mailcow.url, "mailcow_key": RO_KEY, "mailcow_ca": mailcow.ca_path, "overrides": overrides}
    process, output = run_playbook(tmp_path, tasks, variables)
    assert process.returncode == 0, output
    domains = saved(tmp_path, "mailsec_domains")
    assert [d["name"] for d in domains] == ["example.com", "example.org", "nokey.example", "static.example"]
    assert domains[0]["dmarc"] == {"policy": "reject"}
    assert domains[0]["dkim"] == {"selector": "dkim", "public_key": keys[2048][0][0], "key_bits": 2048}
    assert domains[1]["dkim"]["key_bits"] == 4096

    mailcow.add_domain("new.example", key=keys[2048][3])
    process, output = run_playbook(tmp_path, tasks, variables)
    assert process.returncode == 0, output
    assert [d["name"] for d in saved(tmp_path, "mailsec_domains")][3] == "new.example"


def test_playbook_mailcow_dkim_check_create_keep_force(mailcow, keys, tmp_path):
    mailcow.add_domain("weak.example", key=keys[1024][0])
    tasks = textwrap.dedent("""
    - name: Check
      mailsec.posture.mailcow_dkim: &dkim
        api_url: "{{ mailcow_url }}"
        api_key: "{{ mailcow_key }}"
        ca_path: "{{ mailcow_ca }}"
        domains: [nokey.example, example.com, weak.example]
      check_mode: true
      register: checked
    - name: Create
      mailsec.posture.mailcow_dkim: *dkim
      register: created
    - name: Again
      mailsec.posture.mailcow_dkim: *dkim
      register: again
    - name: Force
      mailsec.posture.mailcow_dkim:
        <<: *dkim
        force: true
      register: forced
    """) + "".join(SAVE.format(name=name) for name in ("checked", "created", "again", "forced"))
    variables = {"mailcow_url": mailcow.url, "mailcow_key": RW_KEY, "mailcow_ca": mailcow.ca_path}
    process, output = run_playbook(tmp_path, tasks, variables, "--diff")
    assert process.returncode == 0, output
    checked, created, again, forced = (saved(tmp_path, name) for name in ("checked", "created", "again", "forced"))
    assert checked["changed"] is True and [k["action"] for k in checked["keys"]] == ["create", "keep", "keep"]
    assert created["changed"] is True and created["keys"][0]["created"] is True
    assert created["keys"][0]["public_key"] == mailcow.dkim["nokey.example"]["pubkey"]
    assert again["changed"] is False
    assert "weak.example: keeping the existing DKIM key (key is 1024 bits, not 2048)" in output
    assert forced["changed"] is True and [k["action"] for k in forced["keys"]] == ["keep", "keep", "replace"]
    assert mailcow_api.public_key_bits(mailcow.dkim["weak.example"]["pubkey"]) == 2048
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # -vvv shows the invocation, key masked


def test_playbook_mailcow_mta_sts_check_run_run(mailcow, tmp_path):
    tasks = textwrap.dedent("""
    - name: Check
      mailsec.posture.mailcow_mta_sts_policy: &sts
        api_url: "{{ mailcow_url }}"
        api_key: "{{ mailcow_key }}"
        ca_path: "{{ mailcow_ca }}"
        policies:
          - {domain: example.com, mode: enforce, mx: [mail.example.com], max_age: 604800}
          - {domain: example.org, mode: testing, mx: [mail.example.com], max_age: 86400}
      check_mode: true
      register: checked
    - name: Run
      mailsec.posture.mailcow_mta_sts_policy: *sts
      register: applied
    - name: Run again
      mailsec.posture.mailcow_mta_sts_policy: *sts
      register: again
    """) + "".join(SAVE.format(name=name) for name in ("checked", "applied", "again"))
    variables = {"mailcow_url": mailcow.url, "mailcow_key": RW_KEY, "mailcow_ca": mailcow.ca_path}
    process, output = run_playbook(tmp_path, tasks, variables, "--diff")
    assert process.returncode == 0, output
    checked, applied, again = (saved(tmp_path, name) for name in ("checked", "applied", "again"))
    assert checked["changed"] is True and applied["changed"] is True and again["changed"] is False
    assert [p["action"] for p in checked["policies"]] == ["add", "add"]
    assert [p["action"] for p in again["policies"]] == ["none", "none"]
    assert "+mode: enforce" in output  # the diff
    assert served(mailcow, "example.com") == "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: mail.example.com\n"


def test_playbook_errors_name_the_endpoint_and_never_the_key(mailcow, tmp_path):
    mailcow.vanish_on_dkim("nokey.example")
    tasks = textwrap.dedent("""
    - name: Unknown key
      ansible.builtin.set_fact:
        x: "{{ lookup('mailsec.posture.mailcow_domains', api_url=mailcow_url, api_key=unknown_key, ca_path=mailcow_ca) }}"
      ignore_errors: true
    - name: Vanished domain
      ansible.builtin.set_fact:
        x: "{{ lookup('mailsec.posture.mailcow_domains', api_url=mailcow_url, api_key=mailcow_key, ca_path=mailcow_ca) }}"
      ignore_errors: true
    - name: Unreachable
      ansible.builtin.set_fact:
        x: "{{ lookup('mailsec.posture.mailcow_domains', api_url=dead_url, api_key=mailcow_key, ca_path=mailcow_ca, timeout=3) }}"
      ignore_errors: true
    - name: Read-only key cannot create
      mailsec.posture.mailcow_dkim:
        api_url: "{{ mailcow_url }}"
        api_key: "{{ ro_key }}"
        ca_path: "{{ mailcow_ca }}"
        domains: [nokey2.example]
      register: readonly
      ignore_errors: true
    - name: Invalid policy
      mailsec.posture.mailcow_mta_sts_policy:
        api_url: "{{ mailcow_url }}"
        api_key: "{{ mailcow_key }}"
        ca_path: "{{ mailcow_ca }}"
        policies: [{domain: example.com, mode: enforce, mx: ["*"], max_age: 86400}]
      register: invalid
      ignore_errors: true
    """) + "".join(SAVE.format(name=name) for name in ("readonly", "invalid"))
    mailcow.add_domain("nokey2.example", dkim_bits=None)
    variables = {
        "mailcow_url": mailcow.url,
        "mailcow_key": RW_KEY,
        "ro_key": RO_KEY,
        "unknown_key": UNKNOWN_KEY,
        "mailcow_ca": mailcow.ca_path,
        "dead_url": "https://127.0.0.1:%d" % closed_port(),
    }
    process, output = run_playbook(tmp_path, tasks, variables)
    assert process.returncode == 0, output
    assert "mailcow API GET /api/v1/get/domain/all: authentication failed (HTTP 401)" in output
    assert "nokey.example was listed by GET /api/v1/get/domain/all but is gone now" in output
    assert "mailcow API GET /api/v1/get/domain/all: cannot reach https://127.0.0.1:" in output
    readonly = saved(tmp_path, "readonly")
    assert readonly["failed"] is True and readonly["changed"] is False
    assert readonly["msg"].startswith("mailcow API POST /api/v1/add/dkim: access denied (HTTP 403)")
    invalid = saved(tmp_path, "invalid")
    assert invalid["msg"] == "domain 'example.com': mta_sts.mx[0]: '*': a wildcard must be a whole leftmost label '*.' (RFC 8461 3.2)"
    assert "Traceback" not in output


def test_playbook_connection_from_the_environment_for_the_lookup_and_both_modules(mailcow, tmp_path):
    # api_url and api_key come only from MAILCOW_API_URL and MAILCOW_API_KEY: the lookup through the
    # doc fragment's env entries, the modules through the shared argument spec's fallbacks.
    tasks = textwrap.dedent("""
    - name: Domains
      ansible.builtin.set_fact:
        domains: "{{ lookup('mailsec.posture.mailcow_domains', ca_path=mailcow_ca) | map(attribute='name') | list }}"
    - name: Keys
      mailsec.posture.mailcow_dkim:
        ca_path: "{{ mailcow_ca }}"
        domains: [nokey.example]
      check_mode: true
      register: keys
    - name: Policies
      mailsec.posture.mailcow_mta_sts_policy:
        ca_path: "{{ mailcow_ca }}"
        timeout: 10
        policies: [{domain: example.com, mode: testing, mx: [mail.example.com], max_age: 86400}]
      check_mode: true
      register: policies
    """) + "".join(SAVE.format(name=name) for name in ("domains", "keys", "policies"))
    process, output = run_playbook(
        tmp_path, tasks, {"mailcow_ca": mailcow.ca_path}, environment={"MAILCOW_API_URL": mailcow.url, "MAILCOW_API_KEY": RO_KEY})
    assert process.returncode == 0, output
    assert saved(tmp_path, "domains") == ["example.com", "example.org", "nokey.example"]
    assert [(key["domain"], key["action"]) for key in saved(tmp_path, "keys")["keys"]] == [("nokey.example", "create")]
    assert [(policy["domain"], policy["action"]) for policy in saved(tmp_path, "policies")["policies"]] == [("example.com", "add")]

    # Without them (and without the options) the modules say which option is missing.
    process, output = run_playbook(tmp_path, textwrap.dedent("""
    - name: Keys
      mailsec.posture.mailcow_dkim:
        domains: [nokey.example]
      register: keys
      ignore_errors: true
    """) + SAVE.format(name="keys"), {})
    assert process.returncode == 0, output
    assert saved(tmp_path, "keys")["msg"] == "missing required arguments: api_key, api_url"
