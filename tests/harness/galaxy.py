# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the collection artifact from the files git tracks, and install it offline into a collections path of its own."""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml

from harness.playbook import REPOSITORY

TIMEOUT = 120


def run(argv, *, cwd, env=None, timeout=TIMEOUT):
    """Run ``argv``; AssertionError with its output unless it exits 0. Returns the CompletedProcess."""
    result = subprocess.run(argv, cwd=str(cwd), env=env or os.environ, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(argv), result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    return result


def tracked_files(root=REPOSITORY):
    """The files git tracks or would track (not ignored) under ``root``, relative to it: what ``tools/test sanity`` copies."""
    listing = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root).stdout
    return {path for path in listing.split("\0") if path and os.path.lexists(os.path.join(root, path))}


def copy_tracked(target, root=REPOSITORY):
    """Copy the tracked files of ``root`` into ``target`` (links stay links); returns their relative paths."""
    files = tracked_files(root)
    for path in files:
        destination = os.path.join(str(target), path)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(root, path), destination, follow_symlinks=False)
    return files


def galaxy_metadata(source):
    with open(os.path.join(str(source), "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def build_collection(source, output):
    """``ansible-galaxy collection build`` of the collection in ``source``; returns the tarball's path."""
    os.makedirs(str(output), exist_ok=True)
    run(["ansible-galaxy", "collection", "build", "--output-path", str(output), str(source)], cwd=output)
    galaxy = galaxy_metadata(source)
    tarball = os.path.join(str(output), "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"]))
    assert os.path.isfile(tarball), sorted(os.listdir(str(output)))
    return tarball


def isolated_environment(collections_path):
    """os.environ with ``collections_path`` as the only collections path and no PYTHONPATH entry holding this collection."""
    environment = dict(os.environ)
    environment["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path)
    # tools/env.sh puts the checkout's link (.build/collections) on PYTHONPATH, and Ansible also finds
    # collections on sys.path: keep every entry but those.
    kept = [entry for entry in environment.get("PYTHONPATH", "").split(os.pathsep)
            if entry and not os.path.isdir(os.path.join(entry, "ansible_collections", "mailsec"))]
    environment["PYTHONPATH"] = os.pathsep.join(kept)
    return environment


def install_collection(tarball, collections_path):
    """Install ``tarball`` offline into ``collections_path``; returns the installed collection's directory.

    With the checkout's link on the collections path, ansible-galaxy would call the collection "already
    installed" and install nothing: the install path is the only one it is shown.
    """
    os.makedirs(str(collections_path), exist_ok=True)
    run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(collections_path), str(tarball)],
        cwd=collections_path, env=isolated_environment(collections_path))
    return os.path.join(str(collections_path), "ansible_collections", "mailsec", "posture")
