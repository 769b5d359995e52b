"""Every role under roles/ has meta/argument_specs.yml and a README whose variables section is the one
docs/role_readme.py writes from it (so a stale README fails CI), and argument_specs agrees with
defaults/main.yml."""

import importlib.util
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# Every directory under roles/, with or without argument_specs: a role without them fails below.
ROLES = sorted(
    os.path.join(ROOT, "roles", name)
    for name in os.listdir(os.path.join(ROOT, "roles"))
    if os.path.isdir(os.path.join(ROOT, "roles", name)) and not name.startswith(".")
)


def _generator():
    spec = importlib.util.spec_from_file_location("role_readme", os.path.join(ROOT, "docs", "role_readme.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


def test_there_are_roles_to_check():
    assert {"mailcow_mta_sts", "mta_sts_container", "verify"} <= {os.path.basename(role) for role in ROLES}


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_every_role_documents_its_main_entry_point(role):
    path = os.path.join(role, "meta", "argument_specs.yml")
    assert os.path.isfile(path), "%s has no meta/argument_specs.yml" % os.path.basename(role)
    with open(path, encoding="utf-8") as handle:
        main = yaml.safe_load(handle)["argument_specs"]["main"]
    assert main.get("short_description") and main.get("description")
    # antsibull-changelog lists a role as new in the release its version_added names.
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(main.get("version_added", ""))), "main.version_added"


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_readme_variables_section_is_generated(role):
    current, wanted = GENERATOR.updated_readme(role)
    assert current == wanted, "run: python docs/role_readme.py %s" % os.path.relpath(role, ROOT)


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_argument_specs_and_defaults_agree(role):
    assert GENERATOR.consistency_errors(role) == []


@pytest.mark.parametrize("role", ROLES, ids=os.path.basename)
def test_every_variable_has_the_role_prefix(role):
    name = os.path.basename(role)
    with open(os.path.join(role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert options and all(option.startswith(name + "_") for option in options)


def test_consistency_check_catches_drift(tmp_path):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {
        "short_description": "Demo", "options": {
            "demo_a": {"type": "int", "default": 1, "description": "A."},
            "demo_b": {"type": "str", "description": "B."},
            "demo_c": {"type": "str", "description": "C."},
        }}}}))
    (role / "defaults" / "main.yml").write_text(yaml.safe_dump({"demo_a": 2, "demo_b": "plain", "demo_d": 1}))
    errors = GENERATOR.consistency_errors(str(role))
    assert "demo_a: argument_specs says 1, defaults/main.yml 2" in errors
    assert any(error.startswith("demo_b: defaults/main.yml sets 'plain'") for error in errors)
    assert "demo_c is documented but has no value in defaults/main.yml" in errors
    assert "demo_d is in defaults/main.yml but not in argument_specs" in errors
    (role / "README.md").write_text("# demo\n")
    with pytest.raises(ValueError):
        GENERATOR.updated_readme(str(role))


def test_markup_becomes_markdown():
    assert GENERATOR.markup("O(a_b=x) C(c) V(d) M(e.f.g) B(bold) P(a.b.c#filter) I(it)") == "`a_b=x` `c` `d` `e.f.g` **bold** `a.b.c` *it*"
