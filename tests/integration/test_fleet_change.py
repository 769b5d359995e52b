"""A fleet change touches exactly the affected domain: its labels, map line, policy file, SAN entries.

Both roles run for real through ansible-playbook on temporary directories; the test adds a domain,
re-runs, and compares every file byte for byte (and inode for inode, so an unchanged file was not
even rewritten), then removes a domain and does the same.
"""

import difflib
import os

import pytest

pytestmark = pytest.mark.slow

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "mailcow")
MAIL_HOST = "mail.example.test"
A = {"name": "a.test", "mta_sts": {"mode": "enforce"}}
B = {"name": "b.test", "mta_sts": {"mode": "testing", "max_age": 86400}}
C = {"name": "c.test", "mx": ["mx.c.test"], "mta_sts": {"mode": "enforce"}}


def snapshot(root):
    """{relative path: (bytes, inode)} of every file under ``root``."""
    files = {}
    for directory, _subdirectories, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = (handle.read(), os.stat(path).st_ino)
    return files


def line_changes(before, after):
    """(removed lines, added lines) between two texts, from a unified diff."""
    removed, added = [], []
    for line in difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def changed_files(before, after):
    """The relative paths whose bytes or inode differ, plus files added or removed."""
    return {path for path in set(before) | set(after) if before.get(path) != after.get(path)}


def container_play(project, domains):
    return [{
        "name": "Deploy", "hosts": "localhost", "gather_facts": False,
        "vars": {"mailsec_mail_host": MAIL_HOST, "mailsec_domains": domains, "mta_sts_container_dir": str(project),
                 "mta_sts_container_docker": False, "mta_sts_container_certresolver": "letsencrypt"},
        "roles": [{"role": "mailsec.posture.mta_sts_container"}],
    }]


def router_block(domain):
    router = "traefik.http.routers.mta-sts-%s" % domain.replace(".", "_")
    return [
        "      # mta-sts.%s" % domain,
        '      - "%s.rule=Host(`mta-sts.%s`)"' % (router, domain),
        '      - "%s.entrypoints=https"' % router,
        '      - "%s.tls=true"' % router,
        '      - "%s.tls.certresolver=letsencrypt"' % router,
        '      - "%s.service=mta-sts"' % router,
    ]


def test_container_fleet_change_touches_only_that_domain(tmp_path, run_playbook):
    project = tmp_path / "project"
    run_playbook(container_play(project, [A, B])).assert_ok()
    # What an admin may keep beside the policies: pruning removes only the *.txt of retired domains.
    (project / "mta-sts" / "README").write_bytes(b"managed by mailsec.posture.mta_sts_container\n")
    (project / "mta-sts" / "b.test.txt.1.2026-01-01@00:00:00~").write_bytes(b"a backup\n")
    first = snapshot(project)

    # Add c.test (between the others in inventory order, last by name).
    added_run = run_playbook(container_play(project, [A, C, B]), diff=True).assert_ok()
    second = snapshot(project)
    assert changed_files(first, second) == {"docker-compose.yml", "nginx/mta-sts-hosts.conf", "mta-sts/c.test.txt"}
    assert added_run.changed == 3  # the policy task, the nginx template loop, the compose file
    assert line_changes(first["docker-compose.yml"][0], second["docker-compose.yml"][0]) == ([], router_block("c.test"))
    assert line_changes(first["nginx/mta-sts-hosts.conf"][0], second["nginx/mta-sts-hosts.conf"][0]) == (
        [], ["    mta-sts.c.test c.test.txt;"])
    assert second["mta-sts/c.test.txt"][0] == b"version: STSv1\r\nmode: enforce\r\nmx: mx.c.test\r\nmax_age: 604800\r\n"

    # The same fleet in another order changes nothing at all.
    run_playbook(container_play(project, [B, C, A])).assert_ok(changed=0)
    assert snapshot(project) == second

    # Remove b.test.
    removed_run = run_playbook(container_play(project, [A, C])).assert_ok(changed=3)
    third = snapshot(project)
    policy_task = removed_run.task_result(
        "mailsec.posture.mta_sts_container : Write each domain's policy file and remove those of domains no longer served")
    assert policy_task["removed"] == [str(project / "mta-sts" / "b.test.txt")]
    assert [(item["domain"], item["changed"]) for item in policy_task["policies"]] == [("a.test", False), ("c.test", False)]
    assert changed_files(second, third) == {"docker-compose.yml", "nginx/mta-sts-hosts.conf", "mta-sts/b.test.txt"}
    assert "mta-sts/b.test.txt" not in third
    assert line_changes(second["docker-compose.yml"][0], third["docker-compose.yml"][0]) == (router_block("b.test"), [])
    assert line_changes(second["nginx/mta-sts-hosts.conf"][0], third["nginx/mta-sts-hosts.conf"][0]) == (
        ["    mta-sts.b.test b.test.txt;"], [])


def mailcow_play(tree, domains, **variables):
    role_vars = {"mailcow_mta_sts_dir": str(tree), "mailcow_mta_sts_docker": False}
    role_vars.update(variables)
    return [{
        "name": "Deploy", "hosts": "localhost", "gather_facts": False,
        "vars": dict({"mailsec_mail_host": MAIL_HOST, "mailsec_domains": domains}, **role_vars),
        "roles": [{"role": "mailsec.posture.mailcow_mta_sts"}],
    }]


@pytest.fixture
def mailcow_tree(tmp_path):
    root = tmp_path / "mailcow-dockerized"
    (root / "data" / "web" / ".well-known").mkdir(parents=True)
    with open(os.path.join(FIXTURES, "mailcow.conf"), "rb") as handle:
        (root / "mailcow.conf").write_bytes(handle.read().replace(b"\nADDITIONAL_SAN=\n", b"\nADDITIONAL_SAN=imap.*\n"))
    return root


LEGACY = [dict(A, mta_sts={"mode": "enforce", "delegate_to": MAIL_HOST}), {"name": "b.test", "mta_sts": {"mode": "enforce"}}]
LEGACY_C = {"name": "c.test", "mta_sts": {"mode": "enforce"}}


def test_legacy_mailcow_explicit_names_gain_exactly_the_new_domain(mailcow_tree, run_playbook):
    run_playbook(mailcow_play(mailcow_tree, LEGACY, mailcow_mta_sts_server_names="explicit")).assert_ok()
    first = snapshot(mailcow_tree)
    conf = first["mailcow.conf"][0]
    assert b"\nADDITIONAL_SAN=imap.*,mta-sts.a.test,mta-sts.b.test\n" in conf
    assert b"\nADDITIONAL_SERVER_NAMES=mta-sts.a.test,mta-sts.b.test\n" in conf

    run_playbook(mailcow_play(mailcow_tree, LEGACY + [LEGACY_C], mailcow_mta_sts_server_names="explicit")).assert_ok(changed=1)
    second = snapshot(mailcow_tree)
    # The shared policy is the same, so only mailcow.conf changes, and only in the two lists.
    assert changed_files(first, second) == {"mailcow.conf"}
    assert line_changes(first["mailcow.conf"][0], second["mailcow.conf"][0]) == (
        ["ADDITIONAL_SAN=imap.*,mta-sts.a.test,mta-sts.b.test", "ADDITIONAL_SERVER_NAMES=mta-sts.a.test,mta-sts.b.test"],
        ["ADDITIONAL_SAN=imap.*,mta-sts.a.test,mta-sts.b.test,mta-sts.c.test",
         "ADDITIONAL_SERVER_NAMES=mta-sts.a.test,mta-sts.b.test,mta-sts.c.test"],
    )

    # Retiring b.test takes out its names and nothing else.
    run_playbook(mailcow_play(mailcow_tree, [LEGACY[0], LEGACY_C], mailcow_mta_sts_server_names="explicit",
                              mailcow_mta_sts_retired_domains=["B.test"])).assert_ok(changed=1)
    third = snapshot(mailcow_tree)
    assert changed_files(second, third) == {"mailcow.conf"}
    assert b"\nADDITIONAL_SAN=imap.*,mta-sts.a.test,mta-sts.c.test\n" in third["mailcow.conf"][0]
    assert b"\nADDITIONAL_SERVER_NAMES=mta-sts.a.test,mta-sts.c.test\n" in third["mailcow.conf"][0]


def test_legacy_mailcow_wildcard_is_untouched_by_a_fleet_change(mailcow_tree, run_playbook):
    run_playbook(mailcow_play(mailcow_tree, LEGACY)).assert_ok(changed=2)
    first = snapshot(mailcow_tree)
    run_playbook(mailcow_play(mailcow_tree, LEGACY + [LEGACY_C])).assert_ok(changed=0)
    assert snapshot(mailcow_tree) == first


def test_legacy_mailcow_refuses_a_domain_with_another_policy_and_changes_nothing(mailcow_tree, run_playbook):
    run_playbook(mailcow_play(mailcow_tree, LEGACY)).assert_ok()
    first = snapshot(mailcow_tree)
    odd = {"name": "odd.test", "mta_sts": {"mode": "testing"}}
    run = run_playbook(mailcow_play(mailcow_tree, LEGACY + [odd]))
    assert run.rc != 0
    message = " ".join(run.failure_messages())
    assert "serves one policy file to all its domains, but they ask for 2 different policies" in message
    assert "a.test, b.test: mode enforce" in message and "odd.test: mode testing" in message
    assert snapshot(mailcow_tree) == first


def test_container_check_mode_on_a_fresh_host_predicts_and_writes_nothing(tmp_path, run_playbook):
    project = tmp_path / "fresh" / "project"
    run = run_playbook(container_play(project, [A, B]), check=True).assert_ok()
    assert run.changed >= 1
    assert not project.exists()


def test_container_directory_given_with_a_trailing_slash_keeps_the_policies(tmp_path, run_playbook):
    project = tmp_path / "project"
    run_playbook(container_play(str(project) + "/", [A, B])).assert_ok()
    first = snapshot(project)
    assert {"mta-sts/a.test.txt", "mta-sts/b.test.txt"} <= set(first)
    run_playbook(container_play(str(project) + "/", [A, B])).assert_ok(changed=0)
    assert snapshot(project) == first
