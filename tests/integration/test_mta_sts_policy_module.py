"""mailsec.posture.mta_sts_policy run for real by ansible-playbook against localhost, on files in a temp dir.

As community.crypto's integration targets: check mode -> real run -> check mode again (not changed)
-> real run again (not changed), asserting the returned policy, id, TXT and diff and the file's
bytes, mode and owner; invalid policies are refused with the field named, and nothing is written.
"""

import os
import stat

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_domain_entry

pytestmark = pytest.mark.slow

NOBODY = 65534
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
OLD_POLICY = b"version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"


def play(*tasks):
    return [{"name": "mta_sts_policy", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def task(name, **args):
    return {"name": name, "mailsec.posture.mta_sts_policy": args}


def refused(name, **args):
    return dict(task(name, **args), ignore_errors=True)


@pytest.fixture
def files_dir(tmp_path):
    """A directory for the files under test only (ansible-playbook's work files live beside it)."""
    directory = tmp_path / "files"
    directory.mkdir()
    return directory


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_run_check_run(tmp_path, run_playbook):
    path = tmp_path / "web" / "mta-sts.txt"
    path.parent.mkdir()
    args = {"path": str(path), "mode": "enforce", "mx": ["mail.example.com"]}
    plays = play(task("write", **args))

    first_check = run_playbook(plays, check=True, diff=True).assert_ok(changed=1)
    result = first_check.task_result("write")
    assert result["changed"] is True and result["created"] is True
    assert result["policy"] == POLICY
    assert result["id"] == mta_sts.policy_id(POLICY)
    assert result["txt"] == "v=STSv1; id=" + result["id"]
    assert result["diff"][0]["before"] == "" and result["diff"][0]["after"] == POLICY
    assert result["diff"][0]["after_header"] == "%s (after)" % path
    assert not path.exists()
    assert os.listdir(path.parent) == []

    first_run = run_playbook(plays, diff=True).assert_ok(changed=1)
    assert first_run.task_result("write")["id"] == result["id"]
    assert path.read_bytes() == POLICY.encode()
    assert mode_of(path) == 0o644
    inode = os.stat(path).st_ino

    second_check = run_playbook(plays, check=True, diff=True).assert_ok(changed=0)
    assert second_check.task_result("write")["created"] is False
    assert "diff" not in second_check.task_result("write") or second_check.task_result("write")["diff"][0]["before"] == POLICY

    second_run = run_playbook(plays).assert_ok(changed=0)
    assert second_run.task_result("write")["id"] == result["id"]
    assert os.stat(path).st_ino == inode, "an unchanged policy must not be rewritten"
    assert os.listdir(path.parent) == ["mta-sts.txt"]


def test_existing_file_keeps_mode_and_owner_and_backup_holds_the_old_policy(files_dir, run_playbook):
    path = files_dir / "mta-sts.txt"
    path.write_bytes(OLD_POLICY)
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    owner = (os.stat(path).st_uid, os.stat(path).st_gid)

    run = run_playbook(play(task("write", path=str(path), mode="enforce", mx=["mail.example.com"], backup=True)), diff=True)
    result = run.assert_ok(changed=1).task_result("write")
    assert path.read_bytes() == POLICY.encode()
    assert mode_of(path) == 0o640
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == owner
    assert result["diff"][0]["before"] == OLD_POLICY.decode()
    backup = files_dir / os.path.basename(result["backup_file"])
    assert backup.read_bytes() == OLD_POLICY
    assert sorted(os.listdir(files_dir)) == sorted(["mta-sts.txt", backup.name])


def test_file_mode_owner_and_group_options(tmp_path, run_playbook):
    path = tmp_path / "mta-sts.txt"
    plays = play(task("write", path=str(path), mode="testing", mx=["mail.example.com"], file_mode="0600", owner="root", group="root"))
    run_playbook(plays, check=True).assert_ok(changed=1)
    assert not path.exists()
    run_playbook(plays).assert_ok(changed=1)
    assert mode_of(path) == 0o600
    run_playbook(plays, check=True).assert_ok(changed=0)
    os.chmod(path, 0o644)
    # Only the permissions differ now: reported, in check mode left alone, then fixed.
    assert run_playbook(plays, check=True).assert_ok(changed=1).task_result("write")["changed"] is True
    assert mode_of(path) == 0o644
    run_playbook(plays).assert_ok(changed=1)
    assert mode_of(path) == 0o600


def test_policy_text_and_inventory_entry_give_the_engine_policy(tmp_path, run_playbook):
    entry = {"name": "Example.COM", "mx": ["mx1.example.com", "mx2.example.com"], "mta_sts": {"mode": "enforce", "max_age": 1209600},
             "dkim": {"selector": "dkim", "public_key": "not read here"}}
    expected = records.mta_sts_policy(normalize_domain_entry({k: entry[k] for k in ("name", "mx", "mta_sts")}))
    lf_text = "version: STSv1\nmode: testing\nmx: *.example.net\nmax_age: 86400\n"
    run = run_playbook(play(
        task("from domain", path=str(tmp_path / "domain.txt"), domain=entry),
        task("from text", path=str(tmp_path / "text.txt"), policy=lf_text),
        task("from filter", path=str(tmp_path / "filter.txt"),
             policy="{{ {'name': 'example.org', 'mta_sts': {'mode': 'enforce'}} | mailsec.posture.mta_sts_policy(mail_host='mail.example.org') }}"),
        task("from default mail host", path=str(tmp_path / "host.txt"), domain="example.org", mail_host="mail.example.org",
             domain_defaults={"mta_sts": {"mode": "enforce"}, "dmarc": {"policy": "reject"}}),
    )).assert_ok(changed=4)
    from_domain = run.task_result("from domain")
    assert from_domain["domain"] == "example.com"
    assert from_domain["policy"] == expected
    assert (tmp_path / "domain.txt").read_bytes() == expected.encode()
    assert "mx: mx1.example.com\r\nmx: mx2.example.com\r\n" in expected
    # A given text is written as given (LF here), not rewritten.
    assert (tmp_path / "text.txt").read_bytes() == lf_text.encode()
    assert "domain" not in run.task_result("from text")
    # The filter, the defaults and the mail host all lead to one engine, hence one id.
    assert run.task_result("from filter")["id"] == run.task_result("from default mail host")["id"]
    assert (tmp_path / "filter.txt").read_bytes() == (tmp_path / "host.txt").read_bytes()


INVALID = [
    ("bare star", {"mode": "enforce", "mx": ["*"]}, "mx[0]: '*' alone is not an mx pattern"),
    ("enforced", {"mode": "enforced", "mx": ["mail.example.com"]}, "mode: must be one of enforce, testing, none, got 'enforced'"),
    ("no mx", {"mode": "enforce"}, "mx: is required with mode enforce"),
    ("max_age too long", {"mode": "enforce", "mx": ["mail.example.com"], "max_age": 31557601}, "max_age: must be at most 31557600"),
    ("wildcard inside", {"mode": "testing", "mx": ["mail.*.example.com"]}, "mx[0]: a wildcard is allowed only as the left-most label"),
    ("seed policy", {"policy": "version: STSv1\nmode: enforce\nmax_age: 172800\nmx: *\n"}, "policy: is not a valid MTA-STS policy: line 4:"),
    ("case of mode", {"policy": "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n"}, "mode 'Enforce' must be written in lower case"),
    ("no version", {"policy": "mode: enforce\nmx: a.example\nmax_age: 1\n"}, "version is required"),
    ("domain mode", {"domain": {"name": "example.com", "mta_sts": {"mode": "enforced"}}, "mail_host": "mail.example.com"},
     "domain 'example.com': mta_sts.mode: must be one of"),
    ("domain off", {"domain": {"name": "example.com", "mta_sts": False}, "mail_host": "mail.example.com"}, "mta_sts.enabled: MTA-STS is off"),
    ("domain uncovered mx", {"domain": {"name": "example.com", "mx": ["mx.example.net"], "mta_sts": {"mx": ["mail.example.com"], "mode": "enforce"}}},
     "no pattern covers the domain's MX host mx.example.net"),
    ("two sources", {"mode": "enforce", "mx": ["a.example"], "policy": "version: STSv1\n"}, "parameters are mutually exclusive: mode|policy|domain"),
]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_invalid_policies_are_refused_and_nothing_is_written(files_dir, run_playbook, check):
    path = files_dir / "mta-sts.txt"
    path.write_bytes(OLD_POLICY)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ino)
    run = run_playbook(play(*[refused(name, path=str(path), **args) for name, args, _message in INVALID]), check=check)
    assert run.rc == 0, run.describe()  # every failure was ignored, so the play itself completed
    for name, _args, message in INVALID:
        result = run.task_result(name)
        assert result["failed"] is True, name
        assert message in result["msg"], (name, result["msg"])
        assert "Traceback" not in result["msg"]
        assert result.get("changed") is False
    assert (path.read_bytes(), os.stat(path).st_mtime_ns, os.stat(path).st_ino) == before
    assert os.listdir(files_dir) == ["mta-sts.txt"]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_missing_directory_or_directory_path_fails_in_both_modes(files_dir, run_playbook, check):
    (files_dir / "a-directory").mkdir()
    run = run_playbook(play(
        refused("no directory", path=str(files_dir / "missing" / "mta-sts.txt"), mode="none"),
        refused("a directory", path=str(files_dir / "a-directory"), mode="none"),
    ), check=check)
    assert "directory %s does not exist" % (files_dir / "missing") in run.task_result("no directory")["msg"]
    assert "is not a regular file" in run.task_result("a directory")["msg"]
    assert os.listdir(files_dir) == ["a-directory"]
    assert os.listdir(files_dir / "a-directory") == []


# ----- many domains in one call: directory + policies (+ prune) ------------------------------

FLEET = [
    {"name": "a.example", "mta_sts": {"mode": "enforce"}},
    {"name": "Bücher.example", "mx": ["mx1.example.net"], "mta_sts": {"mode": "testing", "max_age": 86400}},
    {"name": "c.example", "mta_sts": {"mode": "enforce", "mx": ["*.example.com"]}},
]
FLEET_FILES = ["a.example.txt", "c.example.txt", "xn--bcher-kva.example.txt"]
RETIRED = b"version: STSv1\nmode: testing\nmx: mail.retired.example\nmax_age: 86400\n"


def fleet_task(directory, **args):
    sites = "{{ fleet | mailsec.posture.mta_sts_sites(mail_host='mail.example.com') }}"
    return dict(task("fleet", directory=str(directory), policies=sites, **args), vars={"fleet": FLEET})


def engine_policies():
    return {entry["name"]: records.mta_sts_policy(normalize_domain_entry(entry, mail_host="mail.example.com")) for entry in FLEET}


def test_directory_check_run_check_run_with_prune(files_dir, run_playbook):
    (files_dir / "retired.example.txt").write_bytes(RETIRED)
    (files_dir / "README").write_bytes(b"kept")
    plays = play(fleet_task(files_dir, prune=True))
    expected = engine_policies()
    by_domain = {"a.example": expected["a.example"], "xn--bcher-kva.example": expected["Bücher.example"], "c.example": expected["c.example"]}

    first_check = run_playbook(plays, check=True, diff=True).assert_ok(changed=1)
    result = first_check.task_result("fleet")
    assert "results" not in result and "ansible_module_results" not in result
    assert result["directory"] == str(files_dir)
    assert [item["domain"] for item in result["policies"]] == ["a.example", "xn--bcher-kva.example", "c.example"]
    for item in result["policies"]:
        assert item["policy"] == by_domain[item["domain"]]
        assert item["path"] == str(files_dir / (item["domain"] + ".txt"))
        assert item["id"] == mta_sts.policy_id(item["policy"]) and item["txt"] == "v=STSv1; id=" + item["id"]
        assert item["changed"] is True and item["created"] is True
    assert result["removed"] == [str(files_dir / "retired.example.txt")]
    diffs = {entry["after_header"]: entry for entry in result["diff"]}
    assert diffs["%s (after)" % (files_dir / "c.example.txt")]["after"] == by_domain["c.example"]
    assert diffs["%s (after)" % (files_dir / "retired.example.txt")] == {
        "before": RETIRED.decode(), "after": "", "before_header": "%s (before)" % (files_dir / "retired.example.txt"),
        "after_header": "%s (after)" % (files_dir / "retired.example.txt")}
    assert len(result["diff"]) == 4
    assert sorted(os.listdir(files_dir)) == ["README", "retired.example.txt"]

    run = run_playbook(plays, diff=True).assert_ok(changed=1)
    assert run.task_result("fleet")["policies"] == [dict(item, changed=True, created=True) for item in result["policies"]]
    assert sorted(os.listdir(files_dir)) == sorted(["README"] + FLEET_FILES)
    for item in result["policies"]:
        assert (files_dir / (item["domain"] + ".txt")).read_bytes() == item["policy"].encode()
        assert mode_of(files_dir / (item["domain"] + ".txt")) == 0o644
    inodes = {name: os.stat(files_dir / name).st_ino for name in FLEET_FILES}

    second_check = run_playbook(plays, check=True, diff=True).assert_ok(changed=0)
    assert second_check.task_result("fleet")["removed"] == []
    assert second_check.task_result("fleet")["diff"] == []
    second_run = run_playbook(plays).assert_ok(changed=0)
    assert [item["changed"] for item in second_run.task_result("fleet")["policies"]] == [False, False, False]
    assert {name: os.stat(files_dir / name).st_ino for name in FLEET_FILES} == inodes


def test_directory_without_prune_keeps_other_policy_files_and_applies_attributes_to_every_file(files_dir, run_playbook):
    (files_dir / "retired.example.txt").write_bytes(RETIRED)
    (files_dir / "a.example.txt").write_bytes(engine_policies()["a.example"].encode())
    os.chmod(files_dir / "a.example.txt", 0o644)
    plays = play(fleet_task(files_dir, file_mode="0640", owner="root", group="root"))

    check = run_playbook(plays, check=True).assert_ok(changed=1).task_result("fleet")
    # a.example's content is right; only its mode differs, which check mode reports and leaves.
    assert [(item["domain"], item["changed"], item["created"]) for item in check["policies"]] == [
        ("a.example", True, False), ("xn--bcher-kva.example", True, True), ("c.example", True, True)]
    assert mode_of(files_dir / "a.example.txt") == 0o644

    run_playbook(plays).assert_ok(changed=1)
    assert sorted(os.listdir(files_dir)) == sorted(FLEET_FILES + ["retired.example.txt"])
    assert {mode_of(files_dir / name) for name in FLEET_FILES} == {0o640}
    assert run_playbook(plays).assert_ok(changed=0).task_result("fleet")["removed"] == []


BATCH_INVALID = [
    ("path and directory", {"path": "x.txt", "directory": "{dir}", "policies": []}, "parameters are mutually exclusive: path|directory"),
    ("directory without policies", {"directory": "{dir}"}, "parameters are required together: directory, policies"),
    ("directory with mode", {"directory": "{dir}", "policies": [], "mode": "enforce"}, "mutually exclusive: mode|policy|domain|policies"),
    ("directory with mx", {"directory": "{dir}", "policies": [], "mx": ["a.example"]}, "mutually exclusive: directory|mx"),
    ("prune with path", {"path": "{dir}/x.txt", "mode": "none", "prune": True}, "prune is True but all of the following are missing: directory"),
    ("bad domain", {"directory": "{dir}", "policies": [{"domain": "../escape", "policy": POLICY}]}, "policies[0].domain:"),
    ("twice", {"directory": "{dir}", "policies": [{"domain": "a.example", "policy": POLICY}, {"domain": "A.example", "policy": POLICY}]},
     "domain 'a.example': policies[1].domain: a.example is already at policies[0]"),
    ("one bad policy", {"directory": "{dir}", "policies": [{"domain": "a.example", "policy": POLICY},
                                                           {"domain": "b.example", "policy": "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n"}]},
     "domain 'b.example': policies[1].policy: is not a valid MTA-STS policy: line 3:"),
    ("missing directory", {"directory": "{dir}/nope", "policies": []}, "nope: is not an existing directory"),
]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_invalid_batches_are_refused_and_nothing_is_written_or_removed(files_dir, run_playbook, check):
    (files_dir / "retired.example.txt").write_bytes(RETIRED)
    before = (os.listdir(files_dir), os.stat(files_dir / "retired.example.txt").st_mtime_ns)
    tasks = []
    for name, args, _message in BATCH_INVALID:
        args = {key: value.replace("{dir}", str(files_dir)) if isinstance(value, str) else value for key, value in args.items()}
        tasks.append(refused(name, prune=args.pop("prune", "directory" in args), **args))
    run = run_playbook(play(*tasks), check=check)
    assert run.rc == 0, run.describe()
    for name, _args, message in BATCH_INVALID:
        result = run.task_result(name)
        assert result["failed"] is True, name
        assert message in result["msg"], (name, result["msg"])
        assert "Traceback" not in result["msg"]
    assert (os.listdir(files_dir), os.stat(files_dir / "retired.example.txt").st_mtime_ns) == before
