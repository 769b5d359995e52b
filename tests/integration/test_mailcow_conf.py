"""mailsec.posture.mailcow_conf run for real by ansible-playbook against localhost, on files in a temp dir.

Sequence as community.crypto's integration targets: check mode -> real run -> check mode again (not
changed) -> real run again (not changed), asserting the returned diff and changes and the file's bytes,
mode and owner, not just ``changed``.
"""

import collections
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

pytestmark = pytest.mark.slow

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "mailcow"
CONF = (FIXTURES / "mailcow.conf").read_bytes()
CONF_KEYS_ABSENT = (FIXTURES / "mailcow-keys-absent.conf").read_bytes()
DBPASS = b"q8Hn2VtLx0cR7mWp4sJd9KfZ1bYe"
NOBODY = 65534
PLAYBOOK_TIMEOUT = 180


PlaybookRun = collections.namedtuple("PlaybookRun", "status result stdout")


def run_module(workdir, args, check=False, diff=True):
    """Run the module once in a playbook; return its exit status, the task's result and stdout.

    The result is read from the ansible.posix.json callback's output, so it is exactly what a
    registered variable would hold.
    """
    playbook = workdir / "play.yml"
    task = {"name": "mailcow_conf", "mailsec.posture.mailcow_conf": args}
    # JSON is YAML: no quoting surprises with names like mta-sts.*.
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    command = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
    process = subprocess.run(command, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, env=env, check=False)
    try:
        output = json.loads(process.stdout)
        result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("no task result (%s)\nstdout:\n%s\nstderr:\n%s" % (exc, process.stdout, process.stderr)) from None
    return PlaybookRun(process.returncode, result, process.stdout)


def changed_lines(diff):
    """The (removed, added) lines between a diff's before and after texts, in order."""
    before = diff["before"].splitlines()
    after = diff["after"].splitlines()
    return [line for line in before if line not in after], [line for line in after if line not in before]


def listing(directory):
    return sorted(os.listdir(directory))


@pytest.fixture
def install(tmp_path):
    """A mailcow tree with the realistic mailcow.conf: root-only as mailcow's update.sh leaves it, owned by nobody."""
    directory = tmp_path / "mailcow-dockerized"
    directory.mkdir()
    conf = directory / "mailcow.conf"
    conf.write_bytes(CONF)
    os.chmod(conf, 0o600)
    if os.geteuid() == 0:
        os.chown(conf, NOBODY, NOBODY)
    return conf


def expected_present(conf_bytes, names="mta-sts.*"):
    return conf_bytes.replace(b"\nADDITIONAL_SAN=\n", b"\nADDITIONAL_SAN=%s\n" % names.encode()).replace(
        b"\nADDITIONAL_SERVER_NAMES=\n", b"\nADDITIONAL_SERVER_NAMES=%s\n" % names.encode()
    )


def test_check_apply_check_apply(install, tmp_path):
    args = {"path": str(install), "names": ["mta-sts.*"], "backup": True}
    owner = (os.stat(install).st_uid, os.stat(install).st_gid)
    expected = expected_present(CONF)
    assert expected != CONF

    status, result, stdout = run_module(tmp_path, args, check=True)
    assert status == 0
    assert result["changed"] is True
    assert result["changes"]["ADDITIONAL_SAN"] == {"added": ["mta-sts.*"], "removed": [], "line_added": False, "line_removed": False}
    assert result["changes"]["ADDITIONAL_SERVER_NAMES"]["added"] == ["mta-sts.*"]
    assert "backup_file" not in result
    content_diff = result["diff"][0]
    assert content_diff["before_header"] == "%s (before)" % install
    assert content_diff["after_header"] == "%s (after)" % install
    assert changed_lines(content_diff) == (
        ["ADDITIONAL_SAN=", "ADDITIONAL_SERVER_NAMES="],
        ["ADDITIONAL_SAN=mta-sts.*", "ADDITIONAL_SERVER_NAMES=mta-sts.*"],
    )
    assert "DBPASS=********" in content_diff["before"]
    assert DBPASS.decode() not in stdout
    assert install.read_bytes() == CONF
    assert listing(install.parent) == ["mailcow.conf"]

    status, result, stdout = run_module(tmp_path, args)
    assert status == 0
    assert result["changed"] is True
    assert changed_lines(result["diff"][0])[1] == ["ADDITIONAL_SAN=mta-sts.*", "ADDITIONAL_SERVER_NAMES=mta-sts.*"]
    assert DBPASS.decode() not in stdout
    assert install.read_bytes() == expected
    assert stat.S_IMODE(os.stat(install).st_mode) == 0o600
    assert (os.stat(install).st_uid, os.stat(install).st_gid) == owner
    backup = pathlib.Path(result["backup_file"])
    assert backup.parent == install.parent
    assert backup.read_bytes() == CONF
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert listing(install.parent) == sorted(["mailcow.conf", backup.name])
    written = os.stat(install)

    status, result = run_module(tmp_path, args, check=True)[:2]
    assert status == 0
    assert result["changed"] is False
    assert result["changes"]["ADDITIONAL_SAN"]["added"] == []
    assert result["diff"][0]["before"] == result["diff"][0]["after"]

    status, result = run_module(tmp_path, args, diff=False)[:2]
    assert status == 0
    assert result["changed"] is False
    assert "backup_file" not in result
    assert "diff" not in result
    assert install.read_bytes() == expected
    assert os.stat(install).st_ino == written.st_ino  # not rewritten
    assert os.stat(install).st_mtime_ns == written.st_mtime_ns
    assert listing(install.parent) == sorted(["mailcow.conf", backup.name])


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("final_newline", [True, False])
def test_keys_absent_present_then_absent_restores_the_bytes(tmp_path, crlf, final_newline):
    original = CONF_KEYS_ABSENT.replace(b"\n", b"\r\n") if crlf else CONF_KEYS_ABSENT
    if not final_newline:
        original = original.rstrip(b"\r\n")
    conf = tmp_path / "mailcow.conf"
    conf.write_bytes(original)
    os.chmod(conf, 0o640)
    names = ["mta-sts.*", "mta-sts.example.org"]

    status, result = run_module(tmp_path, {"path": str(conf), "names": names})[:2]
    assert status == 0
    assert result["changed"] is True
    for key in ("ADDITIONAL_SAN", "ADDITIONAL_SERVER_NAMES"):
        assert result["changes"][key] == {"added": names, "removed": [], "line_added": True, "line_removed": False}
    eol = b"\r\n" if crlf else b"\n"
    block = eol.join(
        [
            b"# ADDITIONAL_SAN added by mailsec.posture.mailcow_conf",
            b"ADDITIONAL_SAN=mta-sts.*,mta-sts.example.org",
            b"# ADDITIONAL_SERVER_NAMES added by mailsec.posture.mailcow_conf",
            b"ADDITIONAL_SERVER_NAMES=mta-sts.*,mta-sts.example.org",
        ]
    )
    if final_newline:
        assert conf.read_bytes() == original + block + eol
    else:
        assert conf.read_bytes() == original + eol + block
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640

    status, result = run_module(tmp_path, {"path": str(conf), "names": names}, check=True)[:2]
    assert (status, result["changed"]) == (0, False)

    status, result = run_module(tmp_path, {"path": str(conf), "names": names, "state": "absent"})[:2]
    assert status == 0
    assert result["changed"] is True
    assert result["changes"]["ADDITIONAL_SAN"] == {"added": [], "removed": names, "line_added": False, "line_removed": True}
    assert conf.read_bytes() == original

    status, result = run_module(tmp_path, {"path": str(conf), "names": names, "state": "absent"})[:2]
    assert (status, result["changed"]) == (0, False)
    assert conf.read_bytes() == original


def test_user_entries_are_kept_and_absent_removes_only_ours(install, tmp_path):
    user = CONF.replace(b"\nADDITIONAL_SAN=\n", b'\nADDITIONAL_SAN="imap.*, smtp.*" # ours and theirs\n')
    install.write_bytes(user)
    args = {"path": str(install), "names": ["mta-sts.*"], "keys": ["ADDITIONAL_SAN"]}

    status, result = run_module(tmp_path, args)[:2]
    assert (status, result["changed"]) == (0, True)
    assert b'\nADDITIONAL_SAN="imap.*, smtp.*,mta-sts.*" # ours and theirs\n' in install.read_bytes()
    assert b"\nADDITIONAL_SERVER_NAMES=\n" in install.read_bytes()

    status, result = run_module(tmp_path, dict(args, state="absent"))[:2]
    assert (status, result["changed"]) == (0, True)
    assert result["changes"] == {"ADDITIONAL_SAN": {"added": [], "removed": ["mta-sts.*"], "line_added": False, "line_removed": False}}
    assert install.read_bytes() == user


def test_mode_option_is_applied_and_then_idempotent(install, tmp_path):
    args = {"path": str(install), "names": ["mta-sts.*"], "mode": "0640"}
    status, result = run_module(tmp_path, args, check=True)[:2]
    assert (status, result["changed"]) == (0, True)
    assert stat.S_IMODE(os.stat(install).st_mode) == 0o600
    assert result["diff"][1] == {"before": {"mode": "0600"}, "after": {"mode": "0640"}}

    status, result = run_module(tmp_path, args)[:2]
    assert (status, result["changed"]) == (0, True)
    assert stat.S_IMODE(os.stat(install).st_mode) == 0o640
    assert install.read_bytes() == expected_present(CONF)

    status, result = run_module(tmp_path, args)[:2]
    assert (status, result["changed"]) == (0, False)


def test_edits_through_the_env_link_and_keeps_it_a_link(install, tmp_path):
    # In mailcow-dockerized, .env is a symbolic link to mailcow.conf.
    link = install.parent / ".env"
    link.symlink_to("mailcow.conf")
    status, result = run_module(tmp_path, {"path": str(link), "names": ["mta-sts.*"]})[:2]
    assert (status, result["changed"]) == (0, True)
    assert link.is_symlink()
    assert install.read_bytes() == expected_present(CONF)
    assert stat.S_IMODE(os.stat(install).st_mode) == 0o600


def assert_failed_and_untouched(status, result, conf, original, *fragments):
    assert status != 0
    assert result.get("failed") is True
    assert "Traceback" not in result.get("module_stderr", "")
    for fragment in fragments:
        assert fragment in result["msg"]
    if original is not None:
        assert conf.read_bytes() == original
        assert listing(conf.parent) == [conf.name]


def test_missing_file_fails_naming_it(tmp_path):
    conf = tmp_path / "mailcow-dockerized" / "mailcow.conf"
    conf.parent.mkdir()
    status, result = run_module(tmp_path, {"path": str(conf), "names": ["mta-sts.*"]})[:2]
    assert_failed_and_untouched(status, result, conf, None, str(conf), "does not exist")
    assert listing(conf.parent) == []


def test_duplicate_key_fails_naming_the_key_and_both_lines(install, tmp_path):
    original = CONF + b"ADDITIONAL_SERVER_NAMES=webmail.example.com\n"
    install.write_bytes(original)
    first = CONF.split(b"\n").index(b"ADDITIONAL_SERVER_NAMES=") + 1
    last = CONF.count(b"\n") + 1
    for check in (True, False):
        status, result = run_module(tmp_path, {"path": str(install), "names": ["mta-sts.*"], "backup": True}, check=check)[:2]
        assert_failed_and_untouched(
            status,
            result,
            install,
            original,
            str(install),
            "ADDITIONAL_SERVER_NAMES is set more than once, on lines %d and %d" % (first, last),
        )


def test_bad_name_fails_naming_the_entry(install, tmp_path):
    status, result = run_module(tmp_path, {"path": str(install), "names": ["mta-sts.*", "mta sts.example.com"]})[:2]
    assert_failed_and_untouched(status, result, install, CONF, "names[1]", "'mta sts.example.com' is not a host name")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"), reason="needs root and chattr")
def test_unwritable_file_fails_and_stays_as_it_was(install, tmp_path):
    marked = subprocess.run(["chattr", "+i", str(install)], capture_output=True, check=False)
    if marked.returncode != 0:
        pytest.skip("chattr +i is not supported here: %s" % marked.stderr.decode().strip())
    try:
        status, result = run_module(tmp_path, {"path": str(install), "names": ["mta-sts.*"], "backup": True})[:2]
    finally:
        subprocess.run(["chattr", "-i", str(install)], check=True)
    assert_failed_and_untouched(status, result, install, CONF, str(install), "cannot write: Operation not permitted")
