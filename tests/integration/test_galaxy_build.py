"""The artifact ``ansible-galaxy collection build`` makes is the collection and nothing else, installs offline into
an empty collections path, and runs its playbooks from there by FQCN.

The build starts from a copy of the files git tracks (or would track) into which the local state a
developer's checkout really holds is planted: the virtualenv, the ``.build`` link back to the checkout,
test output, bytecode, pytest and hypothesis caches, ansible-lint's and molecule's ``.ansible`` directories,
antsibull-changelog's plugin cache, an earlier tarball, a ``.git`` directory, editor files. The artifact
must hold exactly the tracked files minus the repository plumbing that ``build_ignore`` names, so a
forgotten pattern and a new kind of local state both fail here.

The installed copy runs with ANSIBLE_COLLECTIONS_PATH naming only the install path and without the
checkout's link on PYTHONPATH; a control run with an empty collections path must then fail to find the
playbook, which proves the checkout was out of reach.
"""

import hashlib
import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

from harness.galaxy import build_collection, copy_tracked, galaxy_metadata, install_collection, isolated_environment, tracked_files

pytestmark = pytest.mark.slow

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TIMEOUT = 120
SITE_TIMEOUT = 900  # two site runs on the sandbox; about a minute on an idle 2-core machine
# Tracked files that are repository plumbing, meaningless in an installed collection (galaxy.yml build_ignore).
NOT_SHIPPED = {".gitignore"}
NOT_SHIPPED_DIRS = (".ci/",)
# Local state of a working checkout, path -> content (None: a symbolic link to the collection root).
LOCAL_STATE = {
    ".venv/bin/python": "#!/bin/sh\n",
    ".venv/lib/python3.11/site-packages/dns/__init__.py": "",
    ".build/collections/ansible_collections/mailsec/posture": None,
    ".build/sanity/ansible_collections/mailsec/posture/galaxy.yml": "namespace: mailsec\n",
    "tests/output/junit/results.xml": "<testsuites/>\n",
    "plugins/module_utils/__pycache__/common.cpython-311.pyc": "bytecode",
    "tests/unit/plugins/module_utils/__pycache__/test_spf.cpython-311-pytest-9.2.0.pyc": "bytecode",
    "plugins/filter/posture.pyc": "bytecode",
    ".pytest_cache/v/cache/lastfailed": "{}\n",
    "tests/.pytest_cache/v/cache/nodeids": "[]\n",
    ".hypothesis/examples/0123/4567": "example",
    "tests/unit/.hypothesis/constants/89ab": "constant",
    ".ansible/collections/ansible_collections/community/docker/MANIFEST.json": "{}\n",
    "extensions/molecule/mailcow_legacy/.ansible/tmp/state.yml": "converged: true\n",
    ".cache/molecule/mailcow_legacy/state.yml": "converged: true\n",
    "changelogs/.plugin-cache.yaml": "objects: {}\n",
    "mailsec-posture-0.0.1.tar.gz": "an earlier build",
    "tests/output/mailsec-posture-0.0.2.tar.gz": "an earlier build",
    ".git/HEAD": "ref: refs/heads/main\n",
    "roles/verify/tasks/.main.yml.swp": "swap",
    "README.md~": "backup",
    "playbooks/site.retry": "localhost\n",
}
MAX_FILE_BYTES = 256 * 1024
MAX_ARTIFACT_BYTES = 2 * 1024 * 1024


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """Build from a copy of the tracked files with LOCAL_STATE planted in it: ``(tarball path, tracked files, galaxy.yml)``."""
    work = tmp_path_factory.mktemp("galaxy-build")
    source = work / "source"
    tracked = copy_tracked(source)
    for path, content in LOCAL_STATE.items():
        target = source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.symlink_to(source, target_is_directory=True)
        else:
            target.write_text(content, encoding="utf-8")
    return build_collection(source, work / "output"), tracked, galaxy_metadata(source)


def _members(tarball):
    """``{path: bytes}`` of the regular files in the tarball (directories left out)."""
    with tarfile.open(tarball, "r:gz") as archive:
        members = {}
        for member in archive.getmembers():
            assert not member.issym() and not member.islnk(), "link in the artifact: %s" % member.name
            if member.isfile():
                members[member.name] = archive.extractfile(member).read()
    return members


def test_the_planted_local_state_is_not_tracked():
    # Otherwise the next test could not tell a build_ignore gap from a tracked file.
    assert not set(LOCAL_STATE) & tracked_files()


def test_artifact_holds_exactly_the_tracked_files_but_the_repository_plumbing(artifact):
    tarball, tracked, _galaxy = artifact
    shipped = set(_members(tarball)) - {"MANIFEST.json", "FILES.json"}
    expected = {path for path in tracked
                if path not in NOT_SHIPPED and not path.startswith(NOT_SHIPPED_DIRS) and path != "galaxy.yml"}
    assert not shipped - expected, "local state or stray files in the artifact: %s" % sorted(shipped - expected)
    assert not expected - shipped, "tracked files missing from the artifact: %s" % sorted(expected - shipped)
    # What a user runs and what ansible-builder reads are among them.
    assert {"meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
            "playbooks/records.yml", "examples/inventory.yml", "changelogs/changelog.yaml"} <= shipped


def test_no_file_is_oversized(artifact):
    tarball, _tracked, _galaxy = artifact
    assert os.path.getsize(tarball) <= MAX_ARTIFACT_BYTES
    oversized = {path: len(data) for path, data in _members(tarball).items() if len(data) > MAX_FILE_BYTES}
    assert not oversized


def test_manifest_and_files_json_describe_the_collection_and_every_file(artifact):
    tarball, _tracked, galaxy = artifact
    members = _members(tarball)
    manifest = json.loads(members["MANIFEST.json"])
    info = manifest["collection_info"]
    for key, value in galaxy.items():
        if key not in ("build_ignore", "manifest"):
            assert info[key] == value, key
    assert info["dependencies"] == {"community.docker": ">=3.6.0"}
    assert manifest["file_manifest_file"]["name"] == "FILES.json"
    assert manifest["file_manifest_file"]["chksum_sha256"] == _sha256(members["FILES.json"])
    listed = {entry["name"]: entry for entry in json.loads(members["FILES.json"])["files"] if entry["ftype"] == "file"}
    assert set(listed) == set(members) - {"MANIFEST.json", "FILES.json"}
    wrong = [name for name, entry in listed.items()
             if entry["chksum_type"] != "sha256" or entry["chksum_sha256"] != _sha256(members[name])]
    assert not wrong


def test_installed_artifact_runs_the_records_playbook_by_fqcn(artifact, tmp_path, run_playbook):
    tarball, _tracked, _galaxy = artifact
    collections = tmp_path / "collections"
    installed = install_collection(tarball, collections)
    with open(os.path.join(installed, "FILES.json"), encoding="utf-8") as handle:
        listed = {entry["name"] for entry in json.load(handle)["files"] if entry["ftype"] == "file"}
    on_disk = {os.path.relpath(os.path.join(directory, name), installed)
               for directory, _dirs, names in os.walk(installed) for name in names}
    assert on_disk == listed | {"MANIFEST.json", "FILES.json"}
    # ansible-builder reads the dependency files named here, relative to the installed collection.
    with open(os.path.join(installed, "meta", "execution-environment.yml"), encoding="utf-8") as handle:
        dependencies = yaml.safe_load(handle)["dependencies"]
    for kind in ("python", "system"):
        assert not os.path.isabs(dependencies[kind]) and os.path.getsize(os.path.join(installed, dependencies[kind])) > 0

    environment = isolated_environment(collections)
    isolated = {key: environment[key] for key in ("ANSIBLE_COLLECTIONS_PATH", "PYTHONPATH")}
    inventory = os.path.join(installed, "examples", "inventory.yml")
    result = run_playbook("mailsec.posture.records", inventory=inventory,
                          env=isolated, timeout=TIMEOUT)
    result.assert_ok(changed=0)
    table = "\n".join(result.task_result("Show the records as a table")["msg"])
    for name in ("example.com.", "dkim._domainkey.example.com.", "_dmarc.example.net.", "_mta-sts.example.net.",
                 "_mta-sts.mail.example.com.", "_smtp._tls.mail.example.com."):
        assert name in table
    checks = result.task_result("Check every generated TXT record with its parser")["results"]
    assert len(checks) == 10 and not any(item.get("failed") for item in checks)

    # The control: the same environment without the install path finds no such playbook.
    empty = tmp_path / "no-collections"
    empty.mkdir()
    control = run_playbook("mailsec.posture.records", inventory=inventory,
                           env=dict(isolated, ANSIBLE_COLLECTIONS_PATH=str(empty)), timeout=TIMEOUT)
    assert control.rc != 0 and "mailsec.posture.records could not be found" in control.stderr, control.describe()


def test_installed_artifact_runs_the_site_playbook_on_the_sandbox(artifact, tmp_path):
    """The whole main job from the artifact: the installed copy's own sandbox runs mailsec.posture.site twice.

    tools/sandbox.py exits 0 only when every stage passed, the second run reported changed=0 and every
    verification check passed. The environment names only the install path (the records test's control run
    shows that the checkout is then out of reach).
    """
    tarball, _tracked, _galaxy = artifact
    collections = tmp_path / "collections"
    installed = install_collection(tarball, collections)
    kept = tmp_path / "kept"
    result = subprocess.run(
        [sys.executable, os.path.join(installed, "tools", "sandbox.py"), "--kept", str(kept),
         "--playbook", "mailsec.posture.site"],
        cwd=str(tmp_path), env=isolated_environment(collections), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=SITE_TIMEOUT, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "changed=0 on the second run" in output
    assert os.path.isfile(kept / "report" / "mailsec-verify.html"), sorted(os.listdir(kept))
