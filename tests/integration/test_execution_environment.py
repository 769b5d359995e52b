"""ansible-builder takes the collection as its metadata intends: ``introspect`` on the installed artifact finds
exactly requirements.txt and bindep.txt, and ``create`` makes a build context from
examples/execution-environment.yml (no container engine is needed for either; ``build`` is not run).

ansible-builder comes with the test virtualenv (requirements/test.in); a missing one is a failure, not a skip.
"""

import os
import re
import shutil

import pytest
import yaml

from harness.galaxy import build_collection, copy_tracked, install_collection, isolated_environment, run

pytestmark = pytest.mark.slow

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def builder():
    path = shutil.which("ansible-builder")
    if not path:
        pytest.fail("ansible-builder is not on PATH: tools/bootstrap installs it from requirements/test.in")
    return path


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]


def test_introspect_finds_the_collections_python_and_system_requirements(builder, tmp_path):
    copy_tracked(tmp_path / "source")
    tarball = build_collection(tmp_path / "source", tmp_path / "output")
    collections = tmp_path / "collections"
    install_collection(tarball, collections)
    output = run([builder, "introspect", "--sanitize", str(collections)], cwd=tmp_path,
                 env=isolated_environment(collections)).stdout
    found = yaml.safe_load(output)
    origin = "  # from collection mailsec.posture"
    assert all(entry.endswith(origin) for entry in found["python"] + found["system"]), output
    # ansible-builder leaves out what every execution environment already has (PyYAML comes with ansible-core).
    provided = {"pyyaml"}
    wanted = [line for line in _lines(os.path.join(ROOT, "requirements.txt"))
              if re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower() not in provided]
    assert [entry[:-len(origin)] for entry in found["python"]] == wanted
    assert [entry[:-len(origin)] for entry in found["system"]] == _lines(os.path.join(ROOT, "bindep.txt"))


def test_create_makes_a_build_context_from_the_example_definition(builder, tmp_path):
    context = tmp_path / "context"
    run([builder, "create", "-f", os.path.join(ROOT, "examples", "execution-environment.yml"), "-c", str(context)],
        cwd=tmp_path)
    build_file = context / "Containerfile" if (context / "Containerfile").exists() else context / "Dockerfile"
    steps = build_file.read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in steps and "introspect" in steps
    with open(context / "_build" / "requirements.yml", encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    assert [collection["name"] for collection in galaxy["collections"]] == ["mailsec.posture"]
