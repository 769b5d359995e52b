"""A rehearsal of the next release on a copy of the tracked files: ``antsibull-changelog release`` (what
docs/releasing.md has the lead run) succeeds, consumes every fragment, and lists as new exactly the modules,
plugins and roles that no earlier release listed, so a wrong ``version_added`` cannot slip through. The
checkout itself is never touched.
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


def test_release_rehearsal_lists_everything_new(tmp_path):
    # antsibull-changelog finds the collection for ansible-doc from the path .../ansible_collections/<ns>/<name>.
    root = tmp_path / "ansible_collections" / "mailsec" / "posture"
    copy_tracked(root)
    version = galaxy_metadata(root)["version"]
    changelog = root / "changelogs" / "changelog.yaml"
    released = _load(changelog).get("releases") or {}
    fragments = root / "changelogs" / "fragments"
    if version in released:
        assert not os.listdir(fragments), "%s is released: bump galaxy.yml's version for the fragments" % version
        pytest.skip("%s is released and nothing is pending" % version)
    earlier = set()
    for release in released.values():
        earlier |= listed_in(release)

    command = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")
    run([command, "release", "--date", RELEASE_DATE], cwd=root, env=isolated_environment(tmp_path))

    release = _load(changelog)["releases"][version]
    everything = known_to(_load(root / "changelogs" / ".plugin-cache.yaml"))
    assert {"module", "filter", "lookup", "role"} <= {kind for kind, _name in everything}
    assert listed_in(release) == everything - earlier
    assert release["release_date"] == RELEASE_DATE
    assert release["changes"].get("release_summary"), "add changelogs/fragments/%s.yml with a release_summary" % version
    assert os.listdir(fragments) == []

    text = (root / "CHANGELOG.rst").read_text(encoding="utf-8")
    assert "v%s\n" % version in text
    for _kind, name in everything - earlier:
        assert "mailsec.posture.%s - " % name in text, name
