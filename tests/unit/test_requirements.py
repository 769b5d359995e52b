"""requirements.txt (what ansible-builder installs into an execution environment, through
meta/execution-environment.yml) names every third-party library the plugins import, and nothing else.

Every import under plugins/ counts, also the guarded ones inside ``try``/``except ImportError`` and inside
functions. The standard library, ``ansible`` and this collection need no entry. Controller-side plugins
(filters, lookups, ...) may also use what ansible-core itself requires; modules and module_utils run on
the managed host, where only what requirements.txt lists is there. Entries must not pin or cap versions
(an execution environment holds many collections' requirements at once) and must not name ansible.
"""

import ast
import functools
import importlib.metadata
import os
import re
import sys

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, "plugins")
# Code in these plugin directories runs on the managed host (or is shipped there with a module).
TARGET_SIDE = ("modules", "module_utils")
NOT_THIRD_PARTY = {"__future__", "ansible", "ansible_collections"}


def imported_modules(source):
    """Top-level names of every absolute import in ``source``, and the ``ansible_collections.<ns>.<name>`` imported."""
    names, collections = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted = [node.module]
        else:
            continue
        for name in dotted:
            parts = name.split(".")
            names.add(parts[0])
            if parts[0] == "ansible_collections" and len(parts) >= 3:
                collections.add("%s.%s" % (parts[1], parts[2]))
    return names, collections


@functools.lru_cache(maxsize=None)
def plugin_imports():
    """``{top-level module: {plugin files importing it}}`` for third-party modules, and ``{collection: files}``."""
    third_party, collections = {}, {}
    for directory, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as handle:
                modules, used = imported_modules(handle.read())
            relative = os.path.relpath(path, ROOT)
            for module in modules - NOT_THIRD_PARTY - set(sys.stdlib_module_names):
                third_party.setdefault(module, set()).add(relative)
            for collection in used:
                collections.setdefault(collection, set()).add(relative)
    return third_party, collections


def requirements(path=os.path.join(ROOT, "requirements.txt")):
    """``{canonical distribution name: Requirement}`` of a pip requirements file (comments and blank lines skipped)."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                requirement = Requirement(line)
                found[canonicalize_name(requirement.name)] = requirement
    return found


@functools.lru_cache(maxsize=None)
def _installed_modules():
    return importlib.metadata.packages_distributions()


def distributions(module):
    """Canonical names of the installed distributions that provide the top-level ``module``."""
    return {canonicalize_name(name) for name in _installed_modules().get(module, [])}


def ansible_core_requires():
    """Canonical names of the distributions ansible-core itself requires (present wherever a controller runs)."""
    return {canonicalize_name(Requirement(line).name) for line in importlib.metadata.requires("ansible-core") or []
            if "extra ==" not in line}


def _is_target_side(path):
    return any(part in TARGET_SIDE for part in path.split(os.sep)[1:2])


def test_the_scan_sees_guarded_and_nested_imports():
    source = "try:\n    import dns.rdata\nexcept ImportError:\n    pass\n\ndef f():\n    from netaddr import IPNetwork\n" \
             "from . import sibling\nfrom ansible_collections.community.docker.plugins.module_utils import x\n"
    assert imported_modules(source) == ({"dns", "netaddr", "ansible_collections"}, {"community.docker"})


def test_the_plugins_use_third_party_libraries():
    third_party, _collections = plugin_imports()
    assert {"cryptography", "dns", "idna", "netaddr", "publicsuffixlist"} <= set(third_party)


def test_every_third_party_import_is_in_requirements_txt():
    listed = requirements()
    core = ansible_core_requires()
    missing = []
    for module, files in sorted(plugin_imports()[0].items()):
        provided_by = distributions(module)
        assert provided_by, "%s (imported by %s) is not installed here: which distribution provides it?" % (module, sorted(files))
        if provided_by & set(listed):
            continue
        if provided_by & core and not any(_is_target_side(path) for path in files):
            continue  # a controller-side plugin may use what ansible-core brings
        missing.append("%s (distribution %s, imported by %s)" % (module, "/".join(sorted(provided_by)), ", ".join(sorted(files))))
    assert not missing, "add to requirements.txt: " + "; ".join(missing)


def test_requirements_txt_lists_nothing_the_plugins_do_not_import():
    imported = set()
    for module in plugin_imports()[0]:
        imported |= distributions(module)
    assert set(requirements()) <= imported


def requirement_problems(requirement):
    """Why an execution environment could not take ``requirement`` as it is, as sentences (none: fine)."""
    problems = []
    if canonicalize_name(requirement.name) in ("ansible", "ansible-core", "ansible-base"):
        problems.append("%s: the execution environment brings ansible-core" % requirement.name)
    if requirement.url or requirement.marker:
        problems.append("%s: no URLs or environment markers" % requirement.name)
    problems += ["%s: %s pins or caps the version" % (requirement.name, specifier)
                 for specifier in requirement.specifier if specifier.operator not in (">=", "!=")]
    return problems


def test_requirements_txt_neither_pins_nor_caps_nor_names_ansible():
    problems = [problem for requirement in requirements().values() for problem in requirement_problems(requirement)]
    assert not problems


@pytest.mark.parametrize("line, problem", [
    ("dnspython>=2.4,!=2.5.0", None),
    ("netaddr==1.3.0", "netaddr: ==1.3.0 pins or caps the version"),
    ("idna>=3.4,<4", "idna: <4 pins or caps the version"),
    ("cryptography~=41.0", "cryptography: ~=41.0 pins or caps the version"),
    ("ansible-core>=2.16", "ansible-core: the execution environment brings ansible-core"),
    ("netaddr; python_version < '3.12'", "netaddr: no URLs or environment markers"),
])
def test_the_requirement_check_names_each_problem(line, problem):
    assert requirement_problems(Requirement(line)) == ([problem] if problem else [])


def test_collections_the_plugins_import_are_declared_dependencies():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    own = "%s.%s" % (galaxy["namespace"], galaxy["name"])
    used = set(plugin_imports()[1]) - {own}
    assert used <= set(galaxy.get("dependencies") or {})


def test_collections_the_roles_and_playbooks_call_are_declared_dependencies():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    own = "%s.%s" % (galaxy["namespace"], galaxy["name"])
    declared = set(galaxy.get("dependencies") or {}) | {own, "ansible.builtin"}
    # A task's action is a key of the form namespace.collection.module; templates and docs do not count.
    action = re.compile(r"^\s*-?\s*([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+:\s*$", re.MULTILINE)
    used = {}
    for top in ("roles", "playbooks"):
        for directory, _dirs, files in os.walk(os.path.join(ROOT, top)):
            if os.path.basename(directory) == "templates":
                continue
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    with open(os.path.join(directory, name), encoding="utf-8") as handle:
                        for collection in action.findall(handle.read()):
                            used.setdefault(collection, set()).add(os.path.relpath(os.path.join(directory, name), ROOT))
    assert "community.docker" in used
    undeclared = {collection: sorted(files) for collection, files in used.items() if collection not in declared}
    assert not undeclared, "declare in galaxy.yml dependencies: %s" % undeclared
