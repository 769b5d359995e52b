"""The changelog fragments and changelogs/changelog.yaml pass ``antsibull-changelog lint``, and the next release
is ready to be made (docs/releasing.md): every fragment has an extension antsibull-changelog reads, and a
release summary belongs to the version galaxy.yml names."""

import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHANGELOGS = os.path.join(ROOT, "changelogs")
FRAGMENTS = os.path.join(CHANGELOGS, "fragments")
TIMEOUT = 60


def antsibull_changelog(*args):
    command = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")
    if not os.path.exists(command):
        command = shutil.which("antsibull-changelog")
    return subprocess.run([command, *args], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _fragments():
    return sorted(name for name in os.listdir(FRAGMENTS) if not name.startswith("."))


def test_fragments_pass_the_lint():
    result = antsibull_changelog("lint")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_changelog_yaml_passes_the_lint():
    result = antsibull_changelog("lint-changelog-yaml", os.path.join(CHANGELOGS, "changelog.yaml"))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_lint_names_a_bad_fragment(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("---\nminor_changes:\n  module: a mapping where a list belongs\nnew_things:\n  - x\n", encoding="utf-8")
    result = antsibull_changelog("lint", str(bad))
    assert result.returncode != 0
    assert "invalid section: new_things" in result.stdout
    assert 'section "minor_changes" must be type list' in result.stdout


def test_every_fragment_is_read():
    # config.yaml has ignore_other_fragment_extensions: a fragment named *.yaml would be left out silently.
    with open(os.path.join(CHANGELOGS, "config.yaml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["ignore_other_fragment_extensions"] is True
    assert [name for name in _fragments() if not name.endswith(".yml")] == []


def test_a_release_summary_is_named_after_the_version_it_summarizes():
    summaries = []
    for name in _fragments():
        with open(os.path.join(FRAGMENTS, name), encoding="utf-8") as handle:
            if "release_summary" in (yaml.safe_load(handle) or {}):
                summaries.append(name)
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    # One release has one summary; naming its fragment after galaxy.yml's version keeps a stale one from riding along.
    assert summaries in ([], ["%s.yml" % version])
