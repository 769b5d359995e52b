"""README.md stays true: it starts with the two commands, its troubleshooting table is the one
docs/readme_checks.py writes from docs/checks*.md, every check the verifiers can emit is documented
there, and every YAML example parses and names only modules, options, roles and plugins that exist."""

import ast
import glob
import importlib
import importlib.util
import os
import re

import pytest
import yaml

from ansible_collections.mailsec.posture.plugins.module_utils import verify_dns

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
README = os.path.join(ROOT, "README.md")
ENGINES = ("verify_dns", "verify_mta_sts", "verify_smtp_tls")
# Engine modules that make checks for a verifier.
HELPERS = {"verify_dns": ("dns_depth", "dnsbl"), "verify_smtp_tls": ("tls_grading", "fcrdns")}
# The methods of checks.DomainChecks that record a check, with their least number of positional arguments
# (a set's add() has one).
CHECK_CALLS = {"passed": 2, "warned": 2, "failed": 2, "add": 3, "from_verdict": 3}
# Check names an engine computes instead of spelling out, and where the test finds them instead.
DYNAMIC_CHECK_CALLS = {
    ("verify_dns", "'%s.enabled' % standard"),  # every name is in verify_dns.CHECKS
    ("verify_mta_sts", "name"),  # the values of _CHECK_OF_ERROR
    ("dnsbl", "check_name"),  # dnsbl.address or dnsbl.domain, both in verify_dns.CHECKS (from dns_depth.CHECKS)
}
# What a play's task may carry besides its module.
TASK_KEYWORDS = {"name", "register", "delegate_to", "run_once", "when", "loop", "loop_control", "vars", "notify", "tags", "no_log",
                 "changed_when", "failed_when", "become", "check_mode"}


def _generator():
    spec = importlib.util.spec_from_file_location("readme_checks", os.path.join(ROOT, "docs", "readme_checks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


def _readme():
    with open(README, encoding="utf-8") as handle:
        return handle.read()


def _yaml_blocks(text):
    return re.findall(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def _stems(pattern):
    return {os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(ROOT, pattern))} - {"__init__"}


MODULES = _stems("plugins/modules/*.py")
LOOKUPS = _stems("plugins/lookup/*.py")
FILTERS = _stems("plugins/filter/*.yml")  # one documentation file per filter
ROLES = {name for name in os.listdir(os.path.join(ROOT, "roles")) if os.path.isdir(os.path.join(ROOT, "roles", name))}
PLAYBOOKS = _stems("playbooks/*.yml")


# The two commands

def test_readme_starts_with_the_two_commands():
    lines = _readme().splitlines()
    assert lines[0] == "# mailsec.posture"
    assert lines[1] == ""
    assert lines[2] == "```sh"
    assert lines[3].split("#")[0].strip() == "make site"
    assert lines[4].split("#")[0].strip() == "make test"
    assert lines[5] == "```"
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        targets = re.findall(r"^([a-z][a-z ]*):", handle.read(), re.MULTILINE)
    assert {"site", "test"} <= {name for line in targets for name in line.split()}


# The troubleshooting table

def test_troubleshooting_table_is_generated_from_the_check_pages():
    current, wanted = GENERATOR.updated_readme()
    assert current == wanted, "run: python docs/readme_checks.py"


def test_the_reports_fix_data_is_generated_from_the_check_pages():
    current, wanted = GENERATOR.updated_data_module()
    assert current == wanted, "run: python docs/readme_checks.py"
    check_docs = importlib.import_module("ansible_collections.mailsec.posture.plugins.module_utils.check_docs")
    checks, _errors = GENERATOR.documented_checks()
    assert {name: entry["fix"] for name, entry in check_docs.CHECKS.items()} == {name: entry["fix"] for name, entry in checks.items()}
    assert check_docs.CHECKS["dmarc.record"]["doc"] == "docs/checks.md#the-checks"
    assert check_docs.CHECKS["smtp.starttls"]["doc"] == "docs/checks-transport.md#fixes-1"
    assert [row["detail"].split()[0] for row in check_docs.LOOKUP_FAILURES][:4] == ["`NXDOMAIN:", "`no", "`SERVFAIL", "`REFUSED"]


def test_anchors_are_githubs():
    seen = {}
    assert [GENERATOR.slug(text, seen) for text in ("The checks", "`verify_mta_sts`", "Fixes", "Fixes", "DANE needs a resolver")] == [
        "the-checks", "verify_mta_sts", "fixes", "fixes-1", "dane-needs-a-resolver"]


def test_check_pages_read_without_errors():
    checks, errors = GENERATOR.documented_checks()
    assert errors == []
    assert len(checks) > 40


def _engine_checks(engine):
    """Check names the engine spells out as the first argument of a check call, and its other call sites."""
    path = os.path.join(ROOT, "plugins", "module_utils", engine + ".py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    names, dynamic = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and len(node.args) >= CHECK_CALLS.get(node.func.attr, 99):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
            else:
                dynamic.add((engine, ast.unparse(first)))
    return names, dynamic


def emitted_checks():
    """``{verifier: names}``: every check name each verifier can emit."""
    emitted, dynamic = {}, set()
    for engine in ENGINES:
        names, calls = _engine_checks(engine)
        for helper in HELPERS.get(engine, ()):
            helper_names, helper_calls = _engine_checks(helper)
            names |= helper_names
            calls |= helper_calls
        emitted[engine] = names
        dynamic |= calls
    assert dynamic == DYNAMIC_CHECK_CALLS, "a check name is computed where this test does not look; teach it where the names come from"
    emitted["verify_dns"] |= set(verify_dns.CHECKS)
    verify_mta_sts = importlib.import_module("ansible_collections.mailsec.posture.plugins.module_utils.verify_mta_sts")
    emitted["verify_mta_sts"] |= set(verify_mta_sts._CHECK_OF_ERROR.values())  # pylint: disable=protected-access
    return emitted


def test_the_engines_emit_check_names_this_test_can_see():
    emitted = emitted_checks()
    assert {"mx.records", "spf.enabled", "tlsrpt.enabled"} <= emitted["verify_dns"]
    assert {"mta_sts.policy_fetch", "mta_sts.policy_redirect", "mta_sts.enabled"} <= emitted["verify_mta_sts"]
    assert {"smtp.certificate", "dane.tlsa_dnssec", "dane.mx_dnssec"} <= emitted["verify_smtp_tls"]
    for names in emitted.values():
        assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", name) for name in names), names


@pytest.mark.parametrize("verifier", ENGINES)
def test_every_check_a_verifier_emits_is_documented_under_it(verifier):
    checks, _errors = GENERATOR.documented_checks()
    documented = {name for name, entry in checks.items() if verifier in entry["verifiers"]}
    emitted = emitted_checks()[verifier]
    assert sorted(emitted - documented) == [], "add these checks of %s to docs/checks*.md" % verifier
    assert sorted(documented - emitted) == [], "docs/checks*.md document checks %s does not emit" % verifier


def test_every_check_in_the_readme_table_has_a_fix():
    section = _readme().split(GENERATOR.BEGIN, 1)[1].split(GENERATOR.END, 1)[0]
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| (.+?) \| (.+) \|$", section, re.MULTILINE)
    emitted = set().union(*emitted_checks().values())
    assert {name for name, _verifiers, _fix in rows} == emitted
    assert all(fix.strip() for _name, _verifiers, fix in rows)


def test_the_generator_finds_what_is_missing(tmp_path):
    page = tmp_path / "checks.md"
    page.write_text(
        "# Checks\n\n| check | fails when | fix |\n|---|---|---|\n| `a.one` | never | nothing |\n| `a.two` | always | |\n\n"
        "## `verify_other`\n\n| check | subject | fails when |\n|---|---|---|\n| `b.one` | x | y |\n\n### Fixes\n\n"
        "- **`b.one`**: do this,\n  then that.\n- **`b.stray`**: a fix of nothing.\n",
        encoding="utf-8")
    checks, errors = GENERATOR.documented_checks(((str(page), "verify_one"),))
    assert checks["a.one"] == {"verifiers": ["verify_one"], "fix": "nothing", "doc": "checks.md#checks"}
    assert checks["b.one"] == {"verifiers": ["verify_other"], "fix": "do this, then that.", "doc": "checks.md#fixes"}
    assert "check a.two has no fix in %s" % page in errors
    assert any("b.stray" in error for error in errors)
    with pytest.raises(ValueError):
        GENERATOR.render(((str(page), "verify_one"),))
    orphan = tmp_path / "orphan.md"
    orphan.write_text("| check | fix |\n|---|---|\n| `c.one` | it |\n", encoding="utf-8")
    _checks, errors = GENERATOR.documented_checks(((str(orphan), None),))
    assert any("c.one" in error and "names its verifier" in error for error in errors)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n", encoding="utf-8")
    with pytest.raises(ValueError):
        GENERATOR.updated_readme(str(readme))


def test_a_pipe_in_a_fix_stays_inside_its_cell(tmp_path):
    page = tmp_path / "checks.md"
    page.write_text("## `verify_x`\n\n| check | subject |\n|---|---|\n| `a.b` | s |\n\n### Fixes\n\n- **`a.b`**: run `x | y`.\n", encoding="utf-8")
    table = GENERATOR.render(((str(page), None),))
    assert "| `a.b` | `verify_x` | run `x \\| y`. |" in table


# The examples

def _documented_options(path):
    """The options of a module, with those of its documentation fragments."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    documentation = next(node.value.value for node in tree.body
                         if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    doc = yaml.safe_load(documentation)
    options = set(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        options |= set(yaml.safe_load(_fragment(fragment)).get("options") or {})
    return options


def _fragment(name):
    parts = name.split(".")
    if parts[:2] == ["ansible", "builtin"]:
        holder = importlib.import_module("ansible.plugins.doc_fragments." + parts[2]).ModuleDocFragment
    else:
        assert parts[:2] == ["mailsec", "posture"], name
        holder = importlib.import_module("ansible_collections.mailsec.posture.plugins.doc_fragments." + parts[2]).ModuleDocFragment
    return getattr(holder, parts[3].upper() if len(parts) > 3 else "DOCUMENTATION")


def _role_options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])


def _examples():
    return [yaml.safe_load(block) for block in _yaml_blocks(_readme())]


def _tasks_and_roles(document):
    """Every task mapping and every role entry in a parsed example (a play list, a task list or an inventory)."""
    tasks, roles = [], []
    if not isinstance(document, list):
        return tasks, roles
    for item in document:
        if not isinstance(item, dict):
            continue
        if "hosts" in item:
            for role in item.get("roles") or []:
                roles.append(role if isinstance(role, dict) else {"role": role})
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                tasks += item.get(key) or []
        else:
            tasks.append(item)
    return tasks, roles


def test_every_yaml_example_parses():
    blocks = _yaml_blocks(_readme())
    assert len(blocks) >= 4
    for block in blocks:
        assert yaml.safe_load(block), block


def test_every_fqcn_in_the_readme_exists():
    known = MODULES | LOOKUPS | FILTERS | ROLES | PLAYBOOKS
    mentioned = set(re.findall(r"mailsec\.posture\.([a-z_][a-z0-9_]*)", _readme()))
    assert mentioned
    assert sorted(mentioned - known) == []


def test_example_tasks_use_modules_and_options_that_exist():
    used = set()
    for document in _examples():
        tasks, _roles = _tasks_and_roles(document)
        for task in tasks:
            actions = [key for key in task if key not in TASK_KEYWORDS]
            assert len(actions) == 1, task
            action = actions[0]
            assert "." in action and action.count(".") == 2, "use the FQCN: %s" % action
            if not action.startswith("mailsec.posture."):
                continue
            module = action.split(".")[2]
            assert module in MODULES, action
            options = task[action]
            assert isinstance(options, dict), task
            unknown = set(options) - _documented_options(os.path.join(ROOT, "plugins", "modules", module + ".py"))
            assert not unknown, "%s has no option %s" % (action, sorted(unknown))
            used.add(module)
    assert used == MODULES, "modules without an example: %s" % sorted(MODULES - used)


def test_example_roles_use_variables_that_exist():
    used = set()
    for document in _examples():
        _tasks, roles = _tasks_and_roles(document)
        for entry in roles:
            name = entry["role"]
            assert name.startswith("mailsec.posture."), "use the FQCN: %s" % name
            role = name.split(".")[2]
            assert role in ROLES, name
            unknown = set(entry.get("vars") or {}) - _role_options(role)
            assert not unknown, "%s has no variable %s" % (name, sorted(unknown))
            used.add(role)
    assert used == ROLES, "roles without an example: %s" % sorted(ROLES - used)


def test_every_plugin_and_playbook_is_in_the_readme():
    text = _readme()
    for kind, names in (("filter", FILTERS), ("lookup", LOOKUPS), ("playbook", PLAYBOOKS)):
        missing = sorted(name for name in names if "mailsec.posture.%s" % name not in text and "`%s`" % name not in text)
        assert not missing, "%s not in the README: %s" % (kind, missing)


def test_relative_links_point_at_files():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _readme())
    local = [link for link in links if "://" not in link]
    assert local
    assert sorted(link for link in local if not os.path.exists(os.path.join(ROOT, link))) == []
