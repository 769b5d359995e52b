"""A rehearsal of the next release on a copy of the tracked files: ``antsibull-changelog release`` (what
docs/releasing.md has the lead run) succeeds, consumes every fragment, and lists as new exactly the modules,
plugins and roles that no earlier release listed, so a wrong ``version_added`` cannot slip through. Once the
version is released, the same test holds the released changelog complete (every module, plugin and role in
some release) and CHANGELOG.rst current. The checkout itself is never touched.
"""

import os
import sys

import pytest
import yaml

from harness.galaxy import copy_tracked, galaxy_metadata, isolated_environment, run

pytestmark = pytest.mark.slow

RELEASE_DATE = "2026-01-01"


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def listed_in(release):
    """``{(type, name)}`` of the modules, plugins and roles a changelog.yaml release entry lists as new."""
    found = {("module", entry["name"]) for entry in release.get("modules", [])}
    for group in ("plugins", "objects"):
        for kind, entries in (release.get(group) or {}).items():
            found |= {(kind, entry["name"]) for entry in entries}
    return found


def known_to(cache):
    """``{(type, name)}`` of everything antsibull-changelog's plugin cache found in the collection."""
    found = set()
    for group in ("plugins", "objects"):
        for kind, entries in (cache.get(group) or {}).items():
            found |= {(kind, name) for name in entries}
    return found


def _collection_copy(tmp_path):
    """A copy of the tracked files where antsibull-changelog finds the collection (…/ansible_collections/<ns>/<name>)."""
    root = tmp_path / "ansible_collections" / "mailsec" / "posture"
    copy_tracked(root)
    return root


def _changelog_command(root, *args, tmp_path):
    command = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")
    run([command] + list(args), cwd=root, env=isolated_environment(tmp_path))


def _pending_fragments(fragments):
    """The fragment files waiting for a release (the directory itself may be gone: git keeps no empty one)."""
    return sorted(name for name in os.listdir(fragments) if name.endswith((".yml", ".yaml"))) if fragments.is_dir() else []


def _released(root):
    return _load(root / "changelogs" / "changelog.yaml").get("releases") or {}


def test_release_rehearsal_or_released_state_lists_everything(tmp_path):
    """Before the release of galaxy.yml's version: rehearse it. After: the released changelog is complete and current."""
    root = _collection_copy(tmp_path)
    version = galaxy_metadata(root)["version"]
    fragments = root / "changelogs" / "fragments"
    released = _released(root)
    if version in released:
        assert not _pending_fragments(fragments), "%s is released: bump galaxy.yml's version for the fragments" % version
        tracked_text = (root / "CHANGELOG.rst").read_text(encoding="utf-8")
        # Everything in the collection now is listed as new in some release, and CHANGELOG.rst is what
        # changelog.yaml says (regenerating it changes nothing).
        _changelog_command(root, "generate", "--reload-plugins", tmp_path=tmp_path)
        listed = set()
        for release in released.values():
            listed |= listed_in(release)
        everything = known_to(_load(root / "changelogs" / ".plugin-cache.yaml"))
        assert {"module", "filter", "lookup", "role"} <= {kind for kind, _name in everything}
        assert everything - listed == set(), "in the collection but in no release: add them to the next one"
        assert (root / "CHANGELOG.rst").read_text(encoding="utf-8") == tracked_text, "CHANGELOG.rst is stale"
        return
    earlier = set()
    for release in released.values():
        earlier |= listed_in(release)

    _changelog_command(root, "release", "--date", RELEASE_DATE, tmp_path=tmp_path)

    release = _released(root)[version]
    everything = known_to(_load(root / "changelogs" / ".plugin-cache.yaml"))
    assert {"module", "filter", "lookup", "role"} <= {kind for kind, _name in everything}
    assert listed_in(release) == everything - earlier
    assert release["release_date"] == RELEASE_DATE
    assert release["changes"].get("release_summary"), "add changelogs/fragments/%s.yml with a release_summary" % version
    assert _pending_fragments(fragments) == []

    text = (root / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert "v%s\n" % version in text
    for _kind, name in everything - earlier:
        assert "mailsec.posture.%s - " % name in text, name
