# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and write files safely: atomic replace, owner and mode kept, optional backup.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.

``write_atomic`` writes a temporary file next to the target, flushes it to disk,
gives it the target's mode, owner and group, and renames it over the target, so
a reader sees either the old bytes or the new ones, never a mix, and a failure
at any step leaves the target as it was and no temporary file behind.

A process killed mid-write cannot remove its temporary file (a full copy of the
new content, mode 0600). Temporary files are therefore named recognisably,
``.<name>.mailsec-<random>.tmp``, and the next write to the same file removes the
ones left over: only names of that shape, only regular files of the current user,
only when untouched for STALE_SECONDS (a write in progress elsewhere is younger).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import time

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

DEFAULT_MODE = 0o644
SECRET_MODE = 0o600
TEMP_MARK = "mailsec-"
STALE_SECONDS = 300


class FileError(MailsecError):
    """A file could not be read or written; the message names the file and the reason."""

    def __init__(self, path, message):
        self.path = path
        self.reason = message
        super().__init__("%s: %s" % (path, message))


class FileMissingError(FileError):
    """The file, or the directory it should be written to, does not exist."""


class FileAccessError(FileError):
    """The file or its directory exists but may not be read or written (permissions, read-only, immutable)."""


def _os_error(path, action, exc):
    """The FileError subclass and message for an OSError raised while doing ``action`` on ``path``."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT:
        return FileMissingError(path, "cannot %s: %s" % (action, reason))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return FileAccessError(path, "cannot %s: %s" % (action, reason))
    return FileError(path, "cannot %s: %s" % (action, reason))


def read_bytes(path):
    """The content of the regular file at ``path`` (symbolic links followed), or a FileError."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise FileError(path, "is a directory, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileMissingError(path, "does not exist") from None
        raise _os_error(path, "read", exc) from None


def remove_file(path):
    """Remove the file or symbolic link at ``path`` (a link's target is left alone); False when it was already gone.

    Refuses a directory. Raises a FileError naming the file when it cannot be removed.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        # Linux says EISDIR, POSIX allows EPERM: ask the file system rather than the error number.
        if os.path.isdir(path) and not os.path.islink(path):
            raise FileError(path, "is a directory, not a file; refusing to remove it") from None
        raise _os_error(path, "remove", exc) from None
    _fsync_directory(os.path.dirname(path) or ".")
    return True


def _chunks(data):
    """``data`` as a sequence of byte strings: bytes-like as one chunk, an iterable chunk by chunk."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
        return
    for chunk in data:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError("write_atomic needs bytes, got a chunk of type %s" % type(chunk).__name__)
        yield bytes(chunk)


def _write_all(fd, data):
    for chunk in _chunks(data):
        view = memoryview(chunk)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def _fsync_directory(directory):
    # Makes the rename itself durable; some filesystems refuse fsync on a directory, which is harmless.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_owner(fd, path, target_stat, temp_stat):
    """Give the temporary file the target's owner and group; refuse to change them silently."""
    uid = target_stat.st_uid if target_stat.st_uid != temp_stat.st_uid else -1
    gid = target_stat.st_gid if target_stat.st_gid != temp_stat.st_gid else -1
    if uid == -1 and gid == -1:
        return
    try:
        os.fchown(fd, uid, gid)
    except OSError as exc:
        # Renaming anyway would hand the file to the current user: a service reading it as its
        # owner could then lose access. Say so instead of doing it.
        raise FileAccessError(
            path,
            "cannot keep owner %d and group %d (%s); run as root or as the file's owner"
            % (target_stat.st_uid, target_stat.st_gid, exc.strerror or exc),
        ) from None


def _temp_prefix(path):
    return ".%s.%s" % (os.path.basename(path), TEMP_MARK)


def _new_temp(path, suffix=".tmp"):
    """``(fd, name)`` of a new temporary file beside ``path`` with our recognisable name, mode 0600."""
    return tempfile.mkstemp(prefix=_temp_prefix(path), suffix=suffix, dir=os.path.dirname(path) or ".")


def remove_stale_temporaries(path, now=None, stale_seconds=STALE_SECONDS):
    """Remove the temporary files a killed write to ``path`` left beside it; return their paths.

    Only files named as ``write_atomic`` and ``make_backup`` name them, regular files (never a
    link), owned by the current user, and not modified for ``stale_seconds``. Errors are ignored:
    the cleanup never stops a write.
    """
    directory = os.path.dirname(path) or "."
    pattern = re.compile(r"\A%s[A-Za-z0-9_]{8}(?:\.bak)?\.tmp\Z" % re.escape(_temp_prefix(path)))
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not pattern.match(name):
            continue
        candidate = os.path.join(directory, name)
        try:
            info = os.lstat(candidate)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or now - info.st_mtime < stale_seconds:
                continue
            os.unlink(candidate)
        except OSError:
            continue
        removed.append(candidate)
    return removed


def backup_name(path, now=None):
    """A backup path next to ``path`` that does not exist yet: ``<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~``.

    The shape is the one Ansible's own ``backup: true`` uses, so users find the copies where they expect.
    """
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now))
    base = "%s.%d.%s" % (path, os.getpid(), stamp)
    candidate = base + "~"
    counter = 1
    while os.path.lexists(candidate):
        candidate = "%s.%d~" % (base, counter)
        counter += 1
    return candidate


def make_backup(path):
    """Copy ``path`` to a new timestamped file beside it with the same bytes, mode, times, owner and group.

    The copy is complete or absent: it is made under a temporary name and renamed into place.
    """
    target_stat = os.stat(path)
    destination = backup_name(path)
    directory = os.path.dirname(path) or "."
    fd, temp = _new_temp(os.path.join(directory, os.path.basename(path)), suffix=".bak.tmp")
    try:
        os.close(fd)
        shutil.copy2(path, temp)
        temp_stat = os.stat(temp)
        if (temp_stat.st_uid, temp_stat.st_gid) != (target_stat.st_uid, target_stat.st_gid):
            os.chown(temp, target_stat.st_uid, target_stat.st_gid)
        os.replace(temp, destination)
    except BaseException:
        _remove_quietly(temp)
        raise
    return destination


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(path, data, mode=None, backup=False, secret=False, follow_links=True):
    """Replace the file at ``path`` with ``data`` atomically; return the backup's path or None.

    ``data`` is bytes or an iterable of bytes chunks. A symbolic link is followed: its target is
    replaced and the link stays a link (mailcow's ``.env`` links to ``mailcow.conf``).
    An existing file keeps its mode, owner and group. A new file gets ``mode`` (default 0644).
    ``secret=True`` makes the file 0600 whatever it was or ``mode`` says.
    With ``backup=True`` and an existing file, a copy of the old content is kept beside it first.
    ``follow_links=False`` refuses a symbolic link at ``path`` (or in place of its directory's
    entry) instead of writing where it points: for private keys.

    On any failure the target is left untouched, no temporary file remains, and a FileError
    subclass says which file and why (a missing directory, permission denied, a read-only filesystem).
    """
    if follow_links:
        target = os.path.realpath(path)
    else:
        target = os.path.abspath(path)
        if os.path.islink(target):
            raise FileError(path, "is a symbolic link; refusing to write through it")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileMissingError(path, "cannot write: directory %s does not exist" % directory)

    try:
        target_stat = os.stat(target)
    except FileNotFoundError:
        target_stat = None
    except OSError as exc:
        raise _os_error(path, "inspect the file", exc) from None
    if target_stat is not None and not stat.S_ISREG(target_stat.st_mode):
        raise FileError(path, "is not a regular file; refusing to replace it")

    if secret:
        new_mode = SECRET_MODE
    elif target_stat is not None:
        new_mode = stat.S_IMODE(target_stat.st_mode)
    else:
        new_mode = DEFAULT_MODE if mode is None else mode

    backup_path = None
    if backup and target_stat is not None:
        try:
            backup_path = make_backup(target)
        except OSError as exc:
            raise _os_error(path, "make a backup copy", exc) from None

    remove_stale_temporaries(target)
    try:
        fd, temp = _new_temp(target)
    except OSError as exc:
        if backup_path:
            _remove_quietly(backup_path)
        raise _os_error(path, "create a temporary file in %s" % directory, exc) from None
    try:
        try:
            # mkstemp made it 0600: the content is never readable by others before the mode is set.
            _write_all(fd, data)
            os.fsync(fd)
            if target_stat is not None:
                _keep_owner(fd, path, target_stat, os.fstat(fd))
            os.fchmod(fd, new_mode)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException as exc:
        _remove_quietly(temp)
        if backup_path:
            # The original is intact, so its copy is not needed: a failed call leaves nothing behind.
            _remove_quietly(backup_path)
        if isinstance(exc, OSError) and not isinstance(exc, FileError):
            raise _os_error(path, "write", exc) from None
        raise
    _fsync_directory(directory)
    return backup_path
