"""The verifier modules' shared options are one fact in one place: the doc fragment documents them as
verify_input's common argument spec defines them, and each verifier module documents and takes exactly
its argument spec (shared options through the fragment and verify_module, its own in the module)."""

import pytest
import yaml

from ansible_collections.mailsec.posture.plugins.doc_fragments.verify import ModuleDocFragment
from ansible_collections.mailsec.posture.plugins.module_utils import verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.verify_module import verify_argument_spec
from ansible_collections.mailsec.posture.plugins.modules import verify_dns, verify_mta_sts, verify_smtp_tls

FRAGMENT = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
FLEET = yaml.safe_load(ModuleDocFragment.FLEET)
# The fragments of one verifier's own options: name -> their options.
OWN_FRAGMENTS = {"mailsec.posture.verify.blocklists": yaml.safe_load(ModuleDocFragment.BLOCKLISTS)["options"],
                 "mailsec.posture.verify.tls_grading": yaml.safe_load(ModuleDocFragment.TLS_GRADING)["options"]}
MODULES = [verify_dns, verify_mta_sts, verify_smtp_tls]
MODULE_IDS = ["verify_dns", "verify_mta_sts", "verify_smtp_tls"]


def _agrees(documented, option):
    """The documented type, elements, default and choices are the argument spec's."""
    assert documented["type"] == option["type"]
    assert documented.get("elements") == option.get("elements")
    assert documented.get("default") == option.get("default")
    assert documented.get("choices") == option.get("choices")


def test_the_fragment_documents_shared_options_as_the_common_spec_defines_them():
    assert set(FRAGMENT["options"]) == {"domains", "domain_defaults", "fail_on"}
    for name, documented in FRAGMENT["options"].items():
        _agrees(documented, verify_input.COMMON_ARGUMENT_SPEC[name])
    assert set(FRAGMENT["attributes"]) == {"check_mode", "diff_mode", "idempotent"}


def _spec_passed_by(module, monkeypatch):
    captured = []
    monkeypatch.setattr(module, "run_verify_module",
                        lambda spec, run, supports_check_mode: captured.append((spec, run, supports_check_mode)))
    module.main()
    (spec, run, supports_check_mode), = captured
    assert run is module.run and supports_check_mode is True
    return spec


def test_the_fleet_fragment_documents_the_fleet_options_as_their_specs_define_them():
    spec = dict(verify_input.PROCESSES_ARGUMENT_SPEC, **verify_input.PASSING_CHECKS_ARGUMENT_SPEC)
    assert set(FLEET["options"]) == set(spec)
    for name, documented in FLEET["options"].items():
        _agrees(documented, spec[name])


@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_each_verifier_documents_exactly_the_options_it_takes(module, monkeypatch):
    doc = yaml.safe_load(module.DOCUMENTATION)
    fragments = doc["extends_documentation_fragment"]
    assert fragments[0] == "mailsec.posture.verify" and set(fragments[1:]) <= {"mailsec.posture.verify.fleet"} | set(OWN_FRAGMENTS)
    shared = dict(FRAGMENT["options"], **(FLEET["options"] if "mailsec.posture.verify.fleet" in fragments else {}))
    for name in fragments[1:]:
        shared.update(OWN_FRAGMENTS.get(name, {}))
    assert not set(shared) & set(doc["options"])
    assert "attributes" not in doc
    documented = dict(doc["options"], **shared)
    spec = _spec_passed_by(module, monkeypatch)
    assert set(documented) == set(spec)
    for name, option in spec.items():
        _agrees(documented[name], option)


def test_the_argument_spec_helper_drops_adds_and_never_shares_state():
    spec = verify_argument_spec(without=("ca_path",), port={"type": "int", "default": 25})
    assert list(spec) == [name for name in verify_input.COMMON_ARGUMENT_SPEC if name != "ca_path"] + ["port"]
    spec["domain_defaults"]["default"]["mutated"] = True
    spec["fail_on"]["choices"].append("sometimes")
    # Each call starts from an untouched copy: one module's options never leak into another's.
    fresh = verify_argument_spec()
    assert list(fresh) == list(verify_input.COMMON_ARGUMENT_SPEC)
    assert fresh["domain_defaults"]["default"] == {} and "sometimes" not in fresh["fail_on"]["choices"]
    assert "sometimes" not in verify_input.COMMON_ARGUMENT_SPEC["fail_on"]["choices"]
    assert "processes" not in fresh and "passing_checks" not in fresh
    assert {"processes", "passing_checks"} <= set(verify_argument_spec(fleet=True))
