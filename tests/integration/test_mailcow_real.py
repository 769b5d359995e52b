"""The mailcow client, lookup and modules against mailcow's OWN API (tests/harness/mailcow.py), at every
release MAILCOW_SOURCE names (tools/env.sh: ../shared/mailcow, 2025-07 and 2026-07a).

One mailcow per release per session (the ``real_mailcow`` fixture); each test works on its own domains.
Without MAILCOW_SOURCE these tests skip and say why; with CI=true they fail instead.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow_api
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MailcowApiError, MailcowClient
from harness.mailcow_standin import RO_KEY as STANDIN_RO_KEY, RW_KEY as STANDIN_RW_KEY, MailcowStandin

# One worker runs them all (tools/test uses --dist loadgroup): one mailcow per release, not one per worker.
pytestmark = pytest.mark.xdist_group("real_mailcow")


def client(mailcow, read_only=False):
    return MailcowClient(mailcow.url, mailcow.ro_key if read_only else mailcow.rw_key, timeout=30)


def policy(domain, mode="enforce", mx=("mail.example.test",), max_age=86400, **extra):
    return dict({"domain": domain, "mode": mode, "mx": list(mx), "max_age": max_age}, **extra)


def served(mailcow, domain):
    status, content_type, text = mailcow.request("GET", "/.well-known/mta-sts.txt", host="mta-sts." + domain)
    return status, content_type.split(";")[0], text


# ---------------------------------------------------------------- domains and DKIM (every release)


def test_domains_come_with_mailcow_s_own_dkim_keys(real_mailcow, mailcow_domain):
    first, second = mailcow_domain("a"), mailcow_domain("b")
    real_mailcow.add_domain(first)
    real_mailcow.add_domain(second, active=False)

    found = {entry["name"]: entry for entry in mailcow_api.discover_domains(client(real_mailcow, read_only=True), include_inactive=True)}

    raw = real_mailcow.api("GET", "get/dkim/" + first)
    assert found[first]["dkim"] == {"selector": "dkim", "public_key": raw["pubkey"], "key_bits": 2048}
    assert found[first]["mailcow"]["active"] is True and found[second]["mailcow"]["active"] is False
    assert first in [entry["name"] for entry in mailcow_api.discover_domains(client(real_mailcow))]
    assert second not in [entry["name"] for entry in mailcow_api.discover_domains(client(real_mailcow))]


def test_tags_select_exactly_not_by_substring(real_mailcow, mailcow_domain):
    managed, unmanaged = mailcow_domain("managed"), mailcow_domain("unmanaged")
    real_mailcow.add_domain(managed, tags=["managed"])
    real_mailcow.add_domain(unmanaged, tags=["unmanaged", "other"])
    # mailcow itself matches LIKE '%managed%': both come back from the API.
    raw = [entry["domain_name"] for entry in real_mailcow.api("GET", "get/domain/all?tags=managed")]
    assert managed in raw and unmanaged in raw

    names = [entry["name"] for entry in mailcow_api.discover_domains(client(real_mailcow), tags=["managed"])]

    assert managed in names and unmanaged not in names
    assert unmanaged in [entry["name"] for entry in mailcow_api.discover_domains(client(real_mailcow), tags=["other"])]


def test_dkim_key_made_and_read_back(real_mailcow, mailcow_domain):
    name = mailcow_domain()
    real_mailcow.add_domain(name)
    real_mailcow.api("POST", "delete/dkim", [name])
    assert real_mailcow.api("GET", "get/dkim/" + name) in ({}, [])

    made = mailcow_api.ensure_dkim(client(real_mailcow), [name], selector="s2026", key_size=3072)
    again = mailcow_api.ensure_dkim(client(real_mailcow), [name], selector="s2026", key_size=3072)

    assert made["changed"] is True and made["keys"][0]["action"] == "create"
    assert again["changed"] is False
    raw = real_mailcow.api("GET", "get/dkim/" + name)
    assert made["keys"][0]["public_key"] == raw["pubkey"].replace("\\/", "/") and raw["dkim_selector"] == "s2026"
    assert made["keys"][0]["key_bits"] == 3072


def test_read_only_key_reads_but_cannot_write(real_mailcow, mailcow_domain):
    name, keyed = mailcow_domain(), mailcow_domain("keyed")
    real_mailcow.add_domain(name)
    real_mailcow.add_domain(keyed)
    real_mailcow.api("POST", "delete/dkim", [name])
    assert client(real_mailcow, read_only=True).get_dkim(keyed)["key_bits"] == 2048
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.ensure_dkim(client(real_mailcow, read_only=True), [name])
    assert caught.value.kind == "forbidden" and caught.value.changed is False and caught.value.status == 403
    assert "POST /api/v1/add/dkim" in str(caught.value) and "read-write" in str(caught.value)
    assert real_mailcow.api("GET", "get/dkim/" + name) in ({}, [])


def test_unknown_key_is_refused(real_mailcow):
    with pytest.raises(MailcowApiError) as caught:
        MailcowClient(real_mailcow.url, "UNKNOWN-KEY-0000", timeout=30).get_domains()
    assert caught.value.kind == "auth" and caught.value.status == 401
    assert str(caught.value).startswith("mailcow API GET /api/v1/get/domain/all: authentication failed (HTTP 401)")
    assert "mailcow says: authentication failed" in str(caught.value) and "UNKNOWN-KEY-0000" not in str(caught.value)


def test_a_new_domain_appears_on_the_next_call(real_mailcow, mailcow_domain):
    before = [entry["name"] for entry in mailcow_api.discover_domains(client(real_mailcow, read_only=True))]
    name = mailcow_domain("new")
    real_mailcow.add_domain(name)

    after = mailcow_api.discover_domains(client(real_mailcow, read_only=True))

    # mailcow lists domains in its own order (by name), not in the order they were added.
    names = [entry["name"] for entry in after]
    assert name not in before and sorted(names) == sorted(before + [name])
    new = after[names.index(name)]
    assert new["dkim"]["public_key"] == real_mailcow.api("GET", "get/dkim/" + name)["pubkey"]


def test_dkim_check_mode_writes_nothing_then_create_then_keep(real_mailcow, mailcow_domain):
    bare, keyed = mailcow_domain("bare"), mailcow_domain("keyed")
    real_mailcow.add_domain(bare)
    real_mailcow.add_domain(keyed)
    real_mailcow.api("POST", "delete/dkim", [bare])

    checked = mailcow_api.ensure_dkim(client(real_mailcow), [bare, keyed], check_mode=True)
    assert checked["changed"] is True and [key["action"] for key in checked["keys"]] == ["create", "keep"]
    assert checked["keys"][0]["public_key"] is None
    assert real_mailcow.api("GET", "get/dkim/" + bare) in ({}, [])

    created = mailcow_api.ensure_dkim(client(real_mailcow), [bare, keyed])
    again = mailcow_api.ensure_dkim(client(real_mailcow), [bare, keyed])

    new_key = created["keys"][0]
    assert created["changed"] is True and new_key["created"] is True
    assert new_key["selector"] == "dkim" and new_key["key_bits"] == 2048
    assert new_key["public_key"] == real_mailcow.api("GET", "get/dkim/" + bare)["pubkey"]
    assert new_key["dkim_txt"].endswith("p=" + new_key["public_key"])
    assert created["keys"][1]["public_key"] == real_mailcow.api("GET", "get/dkim/" + keyed)["pubkey"]
    assert again["changed"] is False and again["diff"] == []
    assert again["keys"][0]["public_key"] == new_key["public_key"]


def test_dkim_existing_key_is_kept_unless_forced(real_mailcow, mailcow_domain):
    name = mailcow_domain("weak")
    real_mailcow.add_domain(name)
    real_mailcow.api("POST", "delete/dkim", [name])
    real_mailcow.api("POST", "add/dkim", {"domains": name, "dkim_selector": "dkim", "key_size": 1024})
    weak = real_mailcow.api("GET", "get/dkim/" + name)["pubkey"]
    assert mailcow_api.public_key_bits(weak) == 1024

    kept = mailcow_api.ensure_dkim(client(real_mailcow), [name])
    assert kept["changed"] is False and kept["keys"][0]["mismatch"] == "key is 1024 bits, not 2048"
    assert kept["warnings"] == ["%s: keeping the existing DKIM key (key is 1024 bits, not 2048); set force to replace it" % name]
    checked = mailcow_api.ensure_dkim(client(real_mailcow), [name], selector="s2", force=True, check_mode=True)
    assert checked["changed"] is True and checked["keys"][0]["action"] == "replace"
    assert real_mailcow.api("GET", "get/dkim/" + name)["pubkey"] == weak

    replaced = mailcow_api.ensure_dkim(client(real_mailcow), [name], selector="s2", force=True)
    again = mailcow_api.ensure_dkim(client(real_mailcow), [name], selector="s2", force=True)

    raw = real_mailcow.api("GET", "get/dkim/" + name)
    assert replaced["keys"][0]["replaced"] is True and replaced["keys"][0]["key_bits"] == 2048
    assert raw["pubkey"] == replaced["keys"][0]["public_key"] != weak and raw["dkim_selector"] == "s2"
    assert again["changed"] is False


def test_dkim_for_a_domain_mailcow_does_not_know(real_mailcow, mailcow_domain):
    stranger = mailcow_domain("stranger")
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.ensure_dkim(client(real_mailcow), [stranger], check_mode=True)
    assert caught.value.kind == "not_found"
    assert str(caught.value) == (
        "mailcow API GET /api/v1/get/domain/%s: domain %s is not a mail domain in this mailcow; add it in mailcow first"
        % (stranger, stranger)
    )


def test_mailcow_danger_answer_is_an_error_with_its_message(real_mailcow, mailcow_domain):
    stranger = mailcow_domain("stranger")
    with pytest.raises(MailcowApiError) as caught:
        client(real_mailcow).add_dkim([stranger], "dkim", 2048)
    assert caught.value.kind == "refused"
    assert str(caught.value) == "mailcow API POST /api/v1/add/dkim: mailcow refused: access_denied (%s)" % stranger


# ---------------------------------------------------------------- MTA-STS


def test_legacy_mailcow_has_no_mta_sts_route(real_mailcow, mailcow_domain):
    if real_mailcow.native_mta_sts:
        pytest.skip("mailcow %s serves MTA-STS itself" % real_mailcow.version)
    name = mailcow_domain()
    real_mailcow.add_domain(name)
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.ensure_mta_sts(client(real_mailcow), [policy(name)])
    assert caught.value.kind == "no_route" and "POST /api/v1/add/mta-sts" in str(caught.value)
    assert served(real_mailcow, name)[0] == 404


def test_policy_added_served_and_kept(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    wanted = [policy(name, mx=["mail.example.test", "*.mx.example.test"])]

    checked = mailcow_api.ensure_mta_sts(client(native_mailcow), wanted, check_mode=True)
    assert checked["changed"] is True and served(native_mailcow, name)[0] == 404
    applied = mailcow_api.ensure_mta_sts(client(native_mailcow), wanted)
    again = mailcow_api.ensure_mta_sts(client(native_mailcow), wanted)

    assert applied["changed"] is True and again["changed"] is False
    assert served(native_mailcow, name) == (
        200, "text/plain", "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mail.example.test\nmx: *.mx.example.test\n"
    )


def test_partial_edits_change_only_what_differs(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)])

    for change in ({"mode": "testing"}, {"max_age": 604800}, {"mx": ["mx2.example.test"]}):
        result = mailcow_api.ensure_mta_sts(client(native_mailcow), [dict(policy(name), **change)])
        assert result["policies"][0]["action"] == "edit"
    assert served(native_mailcow, name)[2] == "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mx2.example.test\n"


def test_the_same_mx_in_another_case_and_order_changes_nothing(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)])
    row_id = native_mailcow.sql("SELECT id FROM mta_sts WHERE domain = '%s'" % name)

    result = mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name, mx=["mail.example.test", "MAIL.example.test."])])

    assert result["changed"] is False and result["policies"][0]["action"] == "none"
    assert native_mailcow.sql("SELECT id FROM mta_sts WHERE domain = '%s'" % name) == row_id


def test_read_only_key_checks_policies_but_cannot_change_them(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    reader = client(native_mailcow, read_only=True)
    assert mailcow_api.ensure_mta_sts(reader, [policy(name)], check_mode=True)["changed"] is True
    with pytest.raises(MailcowApiError) as caught:
        mailcow_api.ensure_mta_sts(reader, [policy(name)])
    assert caught.value.kind == "forbidden" and caught.value.changed is False
    assert "POST /api/v1/add/mta-sts" in str(caught.value)
    assert native_mailcow.sql("SELECT domain FROM mta_sts WHERE domain = '%s'" % name) == []


def test_alias_and_unknown_domains_get_no_policy(native_mailcow, mailcow_domain):
    target, alias, stranger = mailcow_domain("target"), mailcow_domain("alias"), mailcow_domain("stranger")
    native_mailcow.add_domain(target)
    answer = native_mailcow.api("POST", "add/alias-domain", {"alias_domain": alias, "target_domain": target, "active": 1})
    assert any(entry.get("type") == "success" for entry in (answer if isinstance(answer, list) else [answer])), answer
    with pytest.raises(MailcowApiError, match="%s is an alias domain of %s" % (alias, target)):
        mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(alias)], check_mode=True)
    with pytest.raises(MailcowApiError, match="%s is not a mail domain in this mailcow" % stranger):
        mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(stranger)], check_mode=True)


def test_mailcow_refuses_an_edit_without_the_version(native_mailcow, mailcow_domain):
    # What the client sends for an edit must carry every attribute mailcow validates: mailcow reads a missing
    # version back as "STSv1" and refuses it (version_invalid).
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)])
    answer = native_mailcow.api("POST", "edit/mta-sts", {"items": [name], "attr": {"mode": "testing"}})
    assert answer[0]["type"] == "danger" and answer[0]["msg"][0] == "version_invalid"


def test_retired_domain_answers_404(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name, mode="testing", max_age=604800)])

    retired = mailcow_api.ensure_mta_sts(client(native_mailcow), [{"domain": name, "active": False}])
    again = mailcow_api.ensure_mta_sts(client(native_mailcow), [{"domain": name, "active": False}])

    assert retired["changed"] is True and again["changed"] is False
    assert served(native_mailcow, name)[0] == 404
    row = native_mailcow.sql("SELECT version, mode, max_age, active FROM mta_sts WHERE domain = '%s'" % name)
    assert row == [["stsv1", "testing", "604800", "0"]]
    # Switched on again from the inactive row.
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)])
    assert served(native_mailcow, name)[0] == 200


def test_domain_deleted_in_mailcow_then_retired_is_nothing_to_do(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)])
    native_mailcow.delete_domain(name)
    assert native_mailcow.sql("SELECT domain FROM mta_sts WHERE domain = '%s'" % name) == []

    result = mailcow_api.ensure_mta_sts(client(native_mailcow), [{"domain": name, "active": False}])

    assert result["changed"] is False and result["policies"][0]["action"] == "none"
    with pytest.raises(MailcowApiError, match="not a mail domain"):
        mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)], check_mode=True)


# ---------------------------------------------------------------- the stand-in answers as mailcow does


def _shape(value):
    """JSON types, recursively, with the values of mailcow's messages and flags kept (they are the contract)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__


def _answers(request, rw_key, ro_key, domain):
    """What the collection relies on, per request: status, content type, and the JSON's shape or the text."""
    requests = [
        ("GET", "/api/v1/get/domain/" + domain, None, rw_key),
        ("GET", "/api/v1/get/domain/none.invalid", None, rw_key),
        ("GET", "/api/v1/get/dkim/none.invalid", None, rw_key),
        ("GET", "/api/v1/get/domain/all", None, "UNKNOWN-KEY-0000"),
        ("GET", "/api/v1/get/domain/all", None, None),
        ("GET", "/api/v1/get/nothing/all", None, rw_key),
        ("POST", "/api/v1/add/dkim", {"domains": domain, "dkim_selector": "dkim", "key_size": 2048}, ro_key),
        ("POST", "/api/v1/add/dkim", {"domains": domain, "dkim_selector": "dkim", "key_size": 2048}, rw_key),
        ("POST", "/api/v1/add/mta-sts", {"domain": domain, "version": "stsv1", "mode": "enforce", "mx": "mx.example.test",
                                         "max_age": 86400, "active": 1}, None),
    ]
    answers = []
    for method, path, body, key in requests:
        status, content_type, text = request(method, path, body=body, key=key)
        try:
            decoded = json.loads(text) if text.strip() else None
        except ValueError:
            decoded = text
        if isinstance(decoded, dict) and "pubkey" not in decoded and "domain_name" not in decoded:
            body_shape = decoded
        elif isinstance(decoded, list) and decoded and isinstance(decoded[0], dict) and "msg" in decoded[0]:
            body_shape = [{"type": entry["type"], "msg": entry["msg"]} for entry in decoded]
        else:
            body_shape = _shape(decoded)
        answers.append(((method, path.replace(domain, "<domain>"), key is not None), status, content_type.split(";")[0].lower(), body_shape))
    return answers


def test_the_stand_in_answers_like_the_real_mailcow(native_mailcow, mailcow_domain):
    name = mailcow_domain()
    native_mailcow.add_domain(name)
    real = _answers(native_mailcow.request, native_mailcow.rw_key, native_mailcow.ro_key, name)
    real_policy = served(native_mailcow, name)
    with MailcowStandin() as standin:
        standin.add_domain(name)
        fake = _answers(standin.request, STANDIN_RW_KEY, STANDIN_RO_KEY, name)
        fake_policy = standin.request("GET", "/.well-known/mta-sts.txt", host="mta-sts." + name)
    assert fake == real
    assert (fake_policy[0], fake_policy[1].split(";")[0], fake_policy[2]) == real_policy == (404, "text/html", "")


def test_a_read_back_that_differs_after_an_accepted_write_warns(native_mailcow, mailcow_domain):
    # A reverse proxy in front of mailcow that does not pass Host: mta-sts.<domain> on: every policy is 404 there.
    import http.server  # pylint: disable=import-outside-toplevel
    import threading  # pylint: disable=import-outside-toplevel

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_error(404)

        def log_message(self, *args):
            return

    name = mailcow_domain()
    native_mailcow.add_domain(name)
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        reader = MailcowClient("http://127.0.0.1:%d" % proxy.server_address[1], native_mailcow.rw_key, timeout=10)
        result = mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)], reader=reader)
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)

    assert result["changed"] is True
    assert any("policy_url" in warning and name in warning for warning in result["warnings"])
    assert served(native_mailcow, name)[0] == 200
    # Read from mailcow itself (policy_url), the next run sees the policy and changes nothing.
    assert mailcow_api.ensure_mta_sts(client(native_mailcow), [policy(name)], reader=client(native_mailcow))["changed"] is False
