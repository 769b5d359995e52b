"""The role mailsec.posture.mailcow_mta_sts and the mailcow_domains lookup against mailcow's OWN API
(tests/harness/mailcow.py): native on 2026-07a, legacy on 2025-07 (with a docker stand-in that records the
command lines the handlers run: there is no Docker engine here)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow_api
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import MailcowClient

pytestmark = pytest.mark.xdist_group("real_mailcow")

MAIL_HOST = "mail.example.test"
POLICY_TASK = "mailsec.posture.mailcow_mta_sts : Set each domain's policy in mailcow"
POLICY_TEXT = "version: STSv1\nmode: enforce\nmax_age: 604800\nmx: %s\n" % MAIL_HOST


def served(mailcow, domain):
    status, content_type, text = mailcow.request("GET", "/.well-known/mta-sts.txt", host="mta-sts." + domain)
    return status, content_type.split(";")[0], text


def role_play(role_vars, pre_tasks=(), post_tasks=()):
    return [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": list(pre_tasks) + [{
            "name": "Serve MTA-STS from mailcow",
            "ansible.builtin.include_role": {"name": "mailsec.posture.mailcow_mta_sts"},
            "vars": role_vars,
        }] + list(post_tasks),
    }]


def docker_stand_in(directory):
    """A ``docker`` on PATH that records its argv, one JSON list per line, and succeeds."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    record = directory / "docker-calls.jsonl"
    script = bin_dir / "docker"
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\nwith open(%r, 'a') as handle:\n    handle.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        % str(record)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"])}, record


def calls(record):
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def test_native_role_run_against_the_real_api(native_mailcow, mailcow_domain, run_playbook, tmp_path):
    mailcow = native_mailcow
    first, second, untagged = mailcow_domain("a"), mailcow_domain("b"), mailcow_domain("c")
    retired, deleted = mailcow_domain("old"), mailcow_domain("gone")
    for name in (first, second):
        mailcow.add_domain(name, tags=["mailsec-role"])
    mailcow.add_domain(untagged, tags=["not-mailsec-role"])
    for name in (retired, deleted):
        mailcow.add_domain(name)
    api = MailcowClient(mailcow.url, mailcow.rw_key)
    mailcow_api.ensure_mta_sts(api, [{"domain": name, "mode": "testing", "mx": [MAIL_HOST], "max_age": 86400}
                                     for name in (retired, deleted)])
    mailcow.delete_domain(deleted)
    # Left from a legacy setup: shadowed by mta-sts.php since 2025-09.
    well_known = os.path.join(mailcow.web, ".well-known")
    os.makedirs(well_known, exist_ok=True)
    with open(os.path.join(well_known, "mta-sts.txt"), "w", encoding="utf-8") as handle:
        handle.write("version: STSv1\nmode: testing\nmax_age: 86400\nmx: old.example.test\n")
    with open(os.path.join(mailcow.directory, "mailcow.conf"), "w", encoding="utf-8") as handle:
        handle.write("MAILCOW_HOSTNAME=%s\nAUTODISCOVER_SAN=n\n" % MAIL_HOST)
    saved = tmp_path / "mailsec_domains.json"
    play = role_play(
        {
            "mailcow_mta_sts_dir": mailcow.directory,
            "mailcow_mta_sts_api_url": mailcow.url,
            "mailcow_mta_sts_api_key": mailcow.rw_key,
            "mailcow_mta_sts_mail_host": MAIL_HOST,
            "mailcow_mta_sts_domain_defaults": {"mta_sts": {"mode": "enforce"}},
            "mailcow_mta_sts_retired_domains": [retired, deleted],
        },
        pre_tasks=[{
            "name": "Take the domains tagged mailsec-role from mailcow",
            "ansible.builtin.set_fact": {
                "mailsec_domains": "{{ lookup('mailsec.posture.mailcow_domains', api_url=url, api_key=key, tags=['mailsec-role']) }}",
            },
        }],
        post_tasks=[{
            "name": "Save the domains",
            "ansible.builtin.copy": {"content": "{{ mailsec_domains | to_json }}", "dest": str(saved), "mode": "0600"},
        }],
    )
    extra = {"url": mailcow.url, "key": mailcow.ro_key}
    try:
        first_run = run_playbook(play, extra_vars=extra)
        first_run.assert_ok()
        second_run = run_playbook(play, extra_vars=extra)
    finally:
        os.unlink(os.path.join(mailcow.directory, "mailcow.conf"))

    assert served(mailcow, first) == served(mailcow, second) == (200, "text/plain", POLICY_TEXT)
    assert served(mailcow, untagged)[0] == 404
    assert served(mailcow, retired)[0] == 404
    # The domains tagged exactly, with mailcow's own DKIM keys.
    domains = json.loads(saved.read_text())
    assert [entry["name"] for entry in domains] == [first, second]
    for entry in domains:
        assert entry["dkim"]["public_key"] == mailcow.api("GET", "get/dkim/" + entry["name"])["pubkey"]
    # The legacy file went, kept beside as a backup.
    left = os.listdir(well_known)
    assert len(left) == 1 and left[0].startswith("mta-sts.txt.legacy-"), left
    warnings = " ".join(first_run.task_result(POLICY_TASK).get("warnings", []))
    assert "AUTODISCOVER_SAN=y" in warnings and "docker compose up -d acme-mailcow" in warnings
    second_run.assert_ok(changed=0)
    assert second_run.task_result(POLICY_TASK)["changed"] is False


def test_legacy_role_run_against_the_real_mailcow(real_mailcow, mailcow_domain, run_playbook, tmp_path):
    mailcow = real_mailcow
    if mailcow.native_mta_sts:
        pytest.skip("mailcow %s serves MTA-STS itself" % mailcow.version)
    name = mailcow_domain()
    mailcow.add_domain(name)
    conf = os.path.join(mailcow.directory, "mailcow.conf")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write("MAILCOW_HOSTNAME=%s\nADDITIONAL_SAN=\nADDITIONAL_SERVER_NAMES=\n" % MAIL_HOST)
    environment, record = docker_stand_in(tmp_path)
    play = role_play({
        "mailcow_mta_sts_dir": mailcow.directory,
        "mailcow_mta_sts_mail_host": MAIL_HOST,
        "mailcow_mta_sts_domains": [{"name": name, "mta_sts": {"mode": "enforce"}}],
    })
    try:
        run_playbook(play, env=environment).assert_ok()
        first_calls = calls(record)
        served_by_mailcow = served(mailcow, name)
        run_playbook(play, env=environment).assert_ok(changed=0)
    finally:
        os.unlink(conf)
        os.unlink(os.path.join(mailcow.web, ".well-known", "mta-sts.txt"))

    assert first_calls == [["compose", "up", "-d", "acme-mailcow", "nginx-mailcow", "php-fpm-mailcow"]]
    assert calls(record) == first_calls  # the second run changed nothing and ran nothing
    # mailcow 2025-07's nginx serves the static file to every mta-sts.* name (the role writes it with CRLF).
    status, content_type, text = served_by_mailcow
    assert (status, content_type) == (200, "text/plain")
    assert sorted(text.split("\r\n")) == sorted(POLICY_TEXT.split("\n"))
