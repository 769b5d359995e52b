"""Tests of the atomic file writer: content, mode, owner, backups, and nothing half-done on failure."""

import errno
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import files
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from unit.immutable_paths import immutable_paths

ORIGINAL = b"# mailcow.conf\nDBPASS=s3cret\nADDITIONAL_SAN=\n"
NEW = b"# mailcow.conf\nDBPASS=s3cret\nADDITIONAL_SAN=mta-sts.*\n"
NOBODY = 65534


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(directory):
    return sorted(os.listdir(directory))


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "mailcow.conf"
    path.write_bytes(ORIGINAL)
    os.chmod(path, 0o640)
    return path


@pytest.fixture
def immutable():
    """Mark paths immutable (root can then neither replace nor create there); undone after."""
    with immutable_paths() as mark:
        yield mark


def test_new_file_gets_content_and_default_mode_whatever_the_umask(tmp_path):
    path = tmp_path / "policy.txt"
    old_umask = os.umask(0o077)
    try:
        assert files.write_atomic(str(path), b"version: STSv1\n") is None
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"version: STSv1\n"
    assert mode_of(path) == 0o644
    assert listing(tmp_path) == ["policy.txt"]


def test_new_file_gets_the_mode_asked_for(tmp_path):
    path = tmp_path / "policy.txt"
    files.write_atomic(str(path), b"x", mode=0o640)
    assert mode_of(path) == 0o640


@pytest.mark.parametrize("mode", [None, 0o644, 0o755])
def test_secret_is_0600_for_a_new_file_whatever_mode_says(tmp_path, mode):
    path = tmp_path / "dkim.key"
    files.write_atomic(str(path), b"-----BEGIN PRIVATE KEY-----\n", mode=mode, secret=True)
    assert mode_of(path) == 0o600


def test_secret_tightens_an_existing_file_to_0600(existing):
    os.chmod(existing, 0o644)
    files.write_atomic(str(existing), NEW, secret=True)
    assert mode_of(existing) == 0o600
    assert existing.read_bytes() == NEW


def test_existing_file_keeps_its_mode_and_mode_argument_does_not_override_it(existing):
    files.write_atomic(str(existing), NEW, mode=0o644)
    assert existing.read_bytes() == NEW
    assert mode_of(existing) == 0o640


def test_existing_file_is_replaced_by_a_new_inode(existing):
    # A reader holding the old file open keeps reading the old bytes: the swap is a rename.
    before = os.stat(existing).st_ino
    with open(existing, "rb") as reader:
        files.write_atomic(str(existing), NEW)
        assert reader.read() == ORIGINAL
    assert os.stat(existing).st_ino != before


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_existing_file_keeps_owner_and_group(existing):
    os.chown(existing, NOBODY, NOBODY)
    files.write_atomic(str(existing), NEW)
    info = os.stat(existing)
    assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY)
    assert existing.read_bytes() == NEW


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_backup_has_identical_bytes_mode_and_owner(existing):
    os.chown(existing, NOBODY, NOBODY)
    backup = files.write_atomic(str(existing), NEW, backup=True)
    assert backup is not None
    assert os.path.dirname(backup) == str(existing.parent)
    assert os.path.basename(backup).startswith("mailcow.conf.%d." % os.getpid())
    assert backup.endswith("~")
    with open(backup, "rb") as handle:
        assert handle.read() == ORIGINAL
    assert mode_of(backup) == 0o640
    info = os.stat(backup)
    assert (info.st_uid, info.st_gid) == (NOBODY, NOBODY)
    assert existing.read_bytes() == NEW
    assert listing(existing.parent) == sorted(["mailcow.conf", os.path.basename(backup)])


def test_backup_of_a_new_file_is_none(tmp_path):
    assert files.write_atomic(str(tmp_path / "new"), b"x", backup=True) is None
    assert listing(tmp_path) == ["new"]


def test_backup_names_never_collide(existing):
    first = files.write_atomic(str(existing), b"one", backup=True)
    second = files.write_atomic(str(existing), b"two", backup=True)
    assert first != second
    with open(first, "rb") as handle:
        assert handle.read() == ORIGINAL
    with open(second, "rb") as handle:
        assert handle.read() == b"one"


def test_chunks_from_an_iterable_are_written_in_order(tmp_path):
    path = tmp_path / "f"
    files.write_atomic(str(path), iter([b"a", bytearray(b"b"), memoryview(b"c")]))
    assert path.read_bytes() == b"abc"


def test_failure_while_producing_data_leaves_the_original_and_no_temporary_file(existing):
    def data():
        yield b"half of the new content"
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError, match="generator broke"):
        files.write_atomic(str(existing), data(), backup=True)
    assert existing.read_bytes() == ORIGINAL
    assert mode_of(existing) == 0o640
    assert listing(existing.parent) == ["mailcow.conf"]


def test_a_chunk_that_is_not_bytes_is_refused_before_anything_changes(existing):
    with pytest.raises(TypeError, match="str"):
        files.write_atomic(str(existing), [b"ok", "not bytes"])
    assert existing.read_bytes() == ORIGINAL
    assert listing(existing.parent) == ["mailcow.conf"]


def test_failing_rename_leaves_the_original_and_cleans_up(existing, monkeypatch):
    def refuse(src, dst):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(files.FileAccessError) as caught:
        files.write_atomic(str(existing), NEW, backup=True)
    assert str(existing) in str(caught.value)
    assert "Permission denied" in str(caught.value)
    assert existing.read_bytes() == ORIGINAL
    assert listing(existing.parent) == ["mailcow.conf"]


def test_immutable_file_is_refused_with_the_reason_and_left_intact(existing, immutable):
    immutable(existing)
    with pytest.raises(files.FileAccessError, match="Operation not permitted") as caught:
        files.write_atomic(str(existing), NEW)
    assert isinstance(caught.value, MailsecError)
    assert caught.value.path == str(existing)
    assert existing.read_bytes() == ORIGINAL
    assert listing(existing.parent) == ["mailcow.conf"]


def test_unwritable_directory_is_refused_with_a_clear_message(tmp_path, immutable):
    directory = tmp_path / "data"
    directory.mkdir()
    target = directory / "mta-sts.txt"
    immutable(directory)
    with pytest.raises(files.FileAccessError, match="cannot create a temporary file in .*data"):
        files.write_atomic(str(target), b"x")
    assert listing(directory) == []


def test_missing_directory_is_named(tmp_path):
    target = tmp_path / "no" / "such" / "mta-sts.txt"
    with pytest.raises(files.FileMissingError, match="directory .*no/such does not exist"):
        files.write_atomic(str(target), b"x")
    assert not (tmp_path / "no").exists()


def test_a_directory_in_place_of_the_file_is_refused(tmp_path):
    (tmp_path / "conf").mkdir()
    with pytest.raises(files.FileError, match="not a regular file"):
        files.write_atomic(str(tmp_path / "conf"), b"x")
    assert (tmp_path / "conf").is_dir()


def test_a_symbolic_link_is_followed_and_stays_a_link(existing):
    # mailcow-dockerized's .env is a link to mailcow.conf: editing through it must not cut the link.
    link = existing.parent / ".env"
    link.symlink_to("mailcow.conf")
    files.write_atomic(str(link), NEW)
    assert link.is_symlink()
    assert os.readlink(link) == "mailcow.conf"
    assert existing.read_bytes() == NEW
    assert mode_of(existing) == 0o640


def test_read_bytes_returns_the_exact_content(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a\r\nb\xff")
    assert files.read_bytes(str(path)) == b"a\r\nb\xff"


def test_read_bytes_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(files.FileMissingError, match="mailcow.conf: does not exist"):
        files.read_bytes(str(tmp_path / "mailcow.conf"))


def test_read_bytes_of_a_directory_says_so(tmp_path):
    with pytest.raises(files.FileError, match="is a directory"):
        files.read_bytes(str(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_read_bytes_permission_denied_is_an_access_error():
    # Outside pytest's tmp_path, whose parents are 0700: the file's own mode must be what refuses.
    directory = tempfile.mkdtemp(prefix="mailsec-files-")
    path = os.path.join(directory, "secret")
    with open(path, "wb") as handle:
        handle.write(b"x")
    os.chmod(path, 0o600)
    os.chmod(directory, 0o755)
    # A child that is not root meets the real permission check; it imports first, while it may
    # still read the interpreter's library under /root.
    code = (
        "import os, sys\n"
        "from ansible_collections.mailsec.posture.plugins.module_utils import files\n"
        "os.setgid(%d); os.setuid(%d)\n"
        "try:\n"
        "    files.read_bytes(sys.argv[1])\n"
        "except files.FileAccessError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    ) % (NOBODY, NOBODY)
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, path],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        )
    finally:
        shutil.rmtree(directory)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cannot read: Permission denied" in result.stdout


# ----- remove_file ----------------------------------------------------------------------------

def test_remove_file_removes_a_file_and_says_so(existing):
    assert files.remove_file(str(existing)) is True
    assert listing(existing.parent) == []
    assert files.remove_file(str(existing)) is False


def test_remove_file_removes_a_link_and_leaves_its_target(existing):
    link = existing.parent / "mta-sts.txt"
    os.symlink(existing.name, link)
    assert files.remove_file(str(link)) is True
    assert listing(existing.parent) == ["mailcow.conf"]
    assert existing.read_bytes() == ORIGINAL


def test_remove_file_refuses_a_directory(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(files.FileError, match="is a directory, not a file; refusing to remove it"):
        files.remove_file(str(tmp_path / "dir.txt"))
    assert (tmp_path / "dir.txt").is_dir()


def test_remove_file_names_the_file_it_may_not_remove(existing, immutable):
    immutable(existing)
    with pytest.raises(files.FileAccessError, match="cannot remove: Operation not permitted") as caught:
        files.remove_file(str(existing))
    assert caught.value.path == str(existing)
    assert existing.read_bytes() == ORIGINAL
