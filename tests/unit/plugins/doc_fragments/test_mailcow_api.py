"""The mailcow API connection is one fact in one place: the doc fragment and the argument-spec helper
agree with each other, and every plugin that talks to mailcow takes its connection options from them."""

import pytest
import yaml

from ansible_collections.mailsec.posture.plugins.doc_fragments.mailcow_api import ModuleDocFragment
from ansible_collections.mailsec.posture.plugins.lookup import mailcow_domains
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import DEFAULT_TIMEOUT
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_module import mailcow_argument_spec
from ansible_collections.mailsec.posture.plugins.modules import mailcow_dkim, mailcow_mta_sts_policy

CONNECTION = ["api_url", "api_key", "ca_path", "timeout"]
DOCUMENTED = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
LOOKUP_ENV = yaml.safe_load(ModuleDocFragment.LOOKUP)["options"]


def test_the_fragment_documents_exactly_the_argument_spec():
    spec = mailcow_argument_spec()
    assert list(DOCUMENTED) == list(spec) == CONNECTION
    for name, option in spec.items():
        assert DOCUMENTED[name]["type"] == option["type"], name
        assert DOCUMENTED[name].get("required", False) == option.get("required", False), name
        assert DOCUMENTED[name].get("default") == option.get("default"), name
    assert spec["timeout"]["default"] == DEFAULT_TIMEOUT
    assert spec["api_key"]["no_log"] is True
    assert "no_log" not in spec["api_url"]


@pytest.mark.parametrize("name, variable", [("api_url", "MAILCOW_API_URL"), ("api_key", "MAILCOW_API_KEY")])
def test_modules_and_the_lookup_read_the_same_documented_environment_variable(name, variable):
    assert mailcow_argument_spec()[name]["fallback"][1] == [variable]
    assert LOOKUP_ENV[name] == {"env": [{"name": variable}]}
    assert "Falls back to the environment variable E(%s)." % variable in DOCUMENTED[name]["description"]


def test_a_module_adds_its_own_options_after_the_connection():
    spec = mailcow_argument_spec(domains=dict(type="list", elements="str", required=True))
    assert list(spec) == CONNECTION + ["domains"]
    assert spec["domains"] == dict(type="list", elements="str", required=True)
    # Each call gives a new spec: one module's options never leak into another's.
    assert list(mailcow_argument_spec()) == CONNECTION


@pytest.mark.parametrize(
    "plugin, fragments",
    [
        (mailcow_dkim, ["mailsec.posture.mailcow_api"]),
        (mailcow_mta_sts_policy, ["mailsec.posture.mailcow_api"]),
        (mailcow_domains, ["mailsec.posture.mailcow_api", "mailsec.posture.mailcow_api.lookup"]),
    ],
    ids=["mailcow_dkim", "mailcow_mta_sts_policy", "mailcow_domains"],
)
def test_every_mailcow_plugin_documents_the_connection_only_through_the_fragment(plugin, fragments):
    doc = yaml.safe_load(plugin.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == fragments
    assert not set(CONNECTION) & set(doc["options"])
