"""Tests of the one-service compose file editor (compose_override.py): the user's text stays, the meaning is checked."""

import pytest
import yaml

from ansible_collections.mailsec.posture.plugins.module_utils.compose_override import ComposeError, ensure_service

MARKER = "test-marker"
SERVICE = "mta-sts-resolver-mailcow"
DEFINITION = {
    "build": "./data/conf/mta-sts-resolver",
    "restart": "always",
    "volumes": ["./data/conf/mta-sts-resolver/mta-sts-daemon.yml:/etc/mta-sts-daemon.yml:ro"],
    "dns": ["${IPV4_NETWORK:-172.22.1}.254"],
    "networks": {"mailcow-network": {"aliases": ["mta-sts-resolver"]}},
}
USER_OVERRIDE = """\
# Local changes to mailcow (kept across updates)
services:

    # SOGo needs more memory here
    sogo-mailcow:
        environment:
            - SOGO_EXPIRE_SESSION=480   # minutes

    nginx-mailcow:
        ports: ["127.0.0.1:8080:8080"]
# networks follow
networks:
    mailcow-network:
        driver_opts:
            com.docker.network.bridge.name: br-mailcow
"""


def model(text):
    return yaml.safe_load(text)


def test_service_goes_at_the_end_of_services_in_the_users_indentation_and_is_removed_exactly():
    added, warnings = ensure_service(USER_OVERRIDE, SERVICE, DEFINITION, marker=MARKER)
    assert warnings == []
    expected = model(USER_OVERRIDE)
    expected["services"][SERVICE] = DEFINITION
    assert model(added) == expected
    assert "\n    # BEGIN test-marker\n    mta-sts-resolver-mailcow:\n" in added
    assert added.index("# BEGIN test-marker") < added.index("# networks follow")
    # every line of the user's file is still there, in order
    user_lines = USER_OVERRIDE.splitlines()
    assert [line for line in added.splitlines() if line in user_lines] == user_lines
    assert ensure_service(added, SERVICE, DEFINITION, marker=MARKER)[0] == added
    assert ensure_service(added, SERVICE, state="absent", marker=MARKER)[0] == USER_OVERRIDE


def test_changed_definition_replaces_the_block_only():
    added = ensure_service(USER_OVERRIDE, SERVICE, DEFINITION, marker=MARKER)[0]
    changed = ensure_service(added, SERVICE, dict(DEFINITION, restart="unless-stopped"), marker=MARKER)[0]
    assert model(changed)["services"][SERVICE]["restart"] == "unless-stopped"
    assert ensure_service(changed, SERVICE, state="absent", marker=MARKER)[0] == USER_OVERRIDE


def test_missing_file_gets_services_inside_our_block_and_no_version_key():
    added = ensure_service("", SERVICE, DEFINITION, marker=MARKER)[0]
    assert added.startswith("# BEGIN test-marker\nservices:\n  mta-sts-resolver-mailcow:\n")
    assert model(added) == {"services": {SERVICE: DEFINITION}}
    assert "version" not in model(added)
    assert ensure_service(added, SERVICE, DEFINITION, marker=MARKER)[0] == added
    assert ensure_service(added, SERVICE, state="absent", marker=MARKER)[0] == ""


def test_file_without_services_keeps_its_other_keys():
    text = "volumes:\n  extra-vol: {}\n"
    added = ensure_service(text, SERVICE, DEFINITION, marker=MARKER)[0]
    assert model(added) == {"volumes": {"extra-vol": {}}, "services": {SERVICE: DEFINITION}}
    assert ensure_service(added, SERVICE, state="absent", marker=MARKER)[0] == text


def test_obsolete_version_key_is_kept_with_a_warning():
    text = "version: '2.1'\nservices:\n  a:\n    image: b\n"
    added, warnings = ensure_service(text, SERVICE, DEFINITION, marker=MARKER)
    assert model(added)["version"] == "2.1" and warnings and "obsolete" in warnings[0]


def test_a_service_of_that_name_the_user_wrote_is_refused():
    text = "services:\n  %s:\n    image: mine\n" % SERVICE
    with pytest.raises(ComposeError, match="did not write"):
        ensure_service(text, SERVICE, DEFINITION, marker=MARKER)
    # and absent leaves it alone
    assert ensure_service(text, SERVICE, state="absent", marker=MARKER)[0] == text


@pytest.mark.parametrize("text, message", [
    ("services: {a: {image: b}}\n", "flow style"),
    ("services: [a]\n", "must be a mapping"),
    ("- a\n", "one YAML mapping"),
    ("a: 1\n---\nb: 2\n", "several documents"),
    ("services:\n  a: [\n", "not valid YAML"),
])
def test_files_that_cannot_be_edited_safely_are_refused(text, message):
    with pytest.raises(ComposeError, match=message):
        ensure_service(text, SERVICE, DEFINITION, marker=MARKER)


def test_an_edit_that_would_change_the_users_services_is_refused():
    # We wrote services: inside our block and a user appended a service after our END line: removing
    # the block would leave that service without its services: parent, so the module refuses.
    added = ensure_service("", SERVICE, DEFINITION, marker=MARKER)[0] + "  web:\n    image: nginx\n"
    with pytest.raises(ComposeError, match="change the meaning"):
        ensure_service(added, SERVICE, state="absent", marker=MARKER)


def test_bad_names_and_definitions_are_refused():
    with pytest.raises(ComposeError):
        ensure_service("", "bad name", DEFINITION, marker=MARKER)
    with pytest.raises(ComposeError):
        ensure_service("", SERVICE, None, marker=MARKER)
    with pytest.raises(ComposeError):
        ensure_service("", SERVICE, DEFINITION, marker="two\nlines")
