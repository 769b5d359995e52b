"""Tests of the postfix main.cf-style editor (postfix_conf.py) and of mailcow's smtp_tls_policy_maps (mailcow_tls_policy.py).

The fixtures in tests/fixtures/mailcow/postfix/ have the shape of a running mailcow: main.cf as
mailcow ships it (before 2025-09: only the override map; 2025-09 and later: also postfix-tlspol),
with what postfix.sh appends after ``# Overrides #`` (the user's extra.cf, here with a block of ours);
extra.cf with the ``myhostname`` line the container puts on top, comments, a continued value.
"""

import os
import pathlib
import stat

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow_tls_policy, postfix_conf
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.postfix_conf import PostfixConfError, ensure_parameters

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "mailcow" / "postfix"
MAIN_2025_07 = (FIXTURES / "main-2025-07.cf").read_text()
MAIN_2025_09 = (FIXTURES / "main-2025-09.cf").read_text()
EXTRA = (FIXTURES / "extra.cf").read_text()
OVERRIDE_MAP = "proxy:mysql:/opt/postfix/conf/sql/mysql_tls_policy_override_maps.cf"
TLSPOL = "socketmap:inet:postfix-tlspol:8642:QUERY"
RESOLVER = "socketmap:inet:mta-sts-resolver:8461:postfix"
MARKER = "test-marker"
PARAMS = [("smtp_tls_policy_maps", "%s %s" % (OVERRIDE_MAP, RESOLVER))]


# --- reading: postfix's own rules ----------------------------------------------------------------

def test_continuation_lines_join_and_comments_inside_them_are_skipped():
    text = "a = 1,\n  2\n# a comment between\n\t3\nb=x\n"
    found = postfix_conf.definitions(postfix_conf.split_lines(text))
    assert [(d.name, d.value, d.first, d.last) for d in found] == [("a", "1, 2 3", 0, 3), ("b", "x", 4, 4)]


def test_last_setting_wins_as_in_postfix():
    assert postfix_conf.parameter_value("x = 1\ny = 2\nx = 3\n", "x") == "3"
    assert postfix_conf.parameter_value("x = 1\n", "z") is None
    assert postfix_conf.parameter_value("x =\n", "x") == ""


def test_a_commented_setting_is_not_a_setting():
    assert postfix_conf.parameter_value("#x = 1\n  # x = 2\n", "x") is None


def test_split_list_takes_commas_and_white_space():
    assert postfix_conf.split_list("a, b\tc ,d") == ["a", "b", "c", "d"]
    assert postfix_conf.split_list(None) == []


# --- writing our block ---------------------------------------------------------------------------

def test_present_appends_block_and_absent_restores_byte_for_byte():
    added, report = ensure_parameters(EXTRA, MARKER, PARAMS, comment=("why",))
    assert added.startswith(EXTRA)
    assert added[len(EXTRA):] == (
        "# BEGIN test-marker\n# why\nsmtp_tls_policy_maps = %s %s\n# END test-marker\n" % (OVERRIDE_MAP, RESOLVER))
    assert report == {"conflicts": [], "moved": False}
    assert ensure_parameters(added, MARKER, PARAMS, comment=("why",))[0] == added
    removed = ensure_parameters(added, MARKER, [], state="absent")[0]
    assert removed == EXTRA
    assert ensure_parameters(removed, MARKER, [], state="absent")[0] == EXTRA


def test_block_is_rewritten_in_place_keeping_lines_after_it():
    added = ensure_parameters(EXTRA, MARKER, PARAMS)[0] + "# the user's line after our block\n"
    changed = ensure_parameters(added, MARKER, [("smtp_tls_policy_maps", RESOLVER)])[0]
    assert changed.endswith("smtp_tls_policy_maps = %s\n# END test-marker\n# the user's line after our block\n" % RESOLVER)
    assert changed.startswith(EXTRA)


def test_crlf_file_gets_crlf_block_and_a_missing_final_newline_is_added():
    text = "a = 1\r\nb = 2"
    added = ensure_parameters(text, MARKER, [("c", "3")])[0]
    assert added == "a = 1\r\nb = 2\r\n# BEGIN test-marker\r\nc = 3\r\n# END test-marker\r\n"


def test_empty_or_missing_file_gets_just_the_block():
    assert ensure_parameters("", MARKER, [("c", "3")])[0] == "# BEGIN test-marker\nc = 3\n# END test-marker\n"


def test_user_setting_of_the_same_parameter_is_refused_by_default():
    text = EXTRA + "smtp_tls_policy_maps = hash:/opt/postfix/conf/my_tls_policy\n"
    with pytest.raises(PostfixConfError) as error:
        ensure_parameters(text, MARKER, PARAMS)
    assert "line %d: smtp_tls_policy_maps = hash:/opt/postfix/conf/my_tls_policy" % (len(EXTRA.splitlines()) + 1) in str(error.value)


def test_override_moves_our_block_after_a_later_user_setting():
    ours = ensure_parameters(EXTRA, MARKER, PARAMS)[0]
    text = ours + "smtp_tls_policy_maps = hash:/mine\n"
    moved, report = ensure_parameters(text, MARKER, PARAMS, conflicts="override")
    assert report["moved"] is True
    assert report["conflicts"] == [{"line": len(ours.splitlines()) + 1, "name": "smtp_tls_policy_maps", "value": "hash:/mine"}]
    assert moved == EXTRA + "smtp_tls_policy_maps = hash:/mine\n" + ours[len(EXTRA):]
    assert postfix_conf.parameter_value(moved, "smtp_tls_policy_maps") == PARAMS[0][1]
    assert ensure_parameters(moved, MARKER, PARAMS, conflicts="override")[0] == moved


def test_broken_or_repeated_markers_are_refused():
    for text in ("# BEGIN test-marker\nx = 1\n", "# END test-marker\n# BEGIN test-marker\n",
                 "# BEGIN test-marker\n# END test-marker\n# BEGIN test-marker\n# END test-marker\n"):
        with pytest.raises(PostfixConfError):
            ensure_parameters(text, MARKER, PARAMS)
        with pytest.raises(PostfixConfError):
            ensure_parameters(text, MARKER, [], state="absent")


@pytest.mark.parametrize("parameters", [[("bad name", "x")], [("a", "1\n2")], [("a", "1"), ("a", "2")]])
def test_bad_parameters_are_refused(parameters):
    with pytest.raises(PostfixConfError):
        ensure_parameters("", MARKER, parameters)


# --- mailcow's smtp_tls_policy_maps ---------------------------------------------------------------

def test_mailcow_maps_come_from_the_part_above_overrides_only():
    # The fixture's appended section (below "# Overrides #") holds an old block of ours: it must not count.
    assert mailcow_tls_policy.mailcow_policy_maps(MAIN_2025_07) == [OVERRIDE_MAP]
    assert mailcow_tls_policy.mailcow_policy_maps(MAIN_2025_09) == [OVERRIDE_MAP, TLSPOL]


def test_resolver_goes_after_the_override_map_and_before_mailcow_policy_services():
    assert mailcow_tls_policy.compose_policy_maps([OVERRIDE_MAP], RESOLVER) == [OVERRIDE_MAP, RESOLVER]
    assert mailcow_tls_policy.compose_policy_maps([OVERRIDE_MAP, TLSPOL], RESOLVER) == [OVERRIDE_MAP, RESOLVER, TLSPOL]
    assert mailcow_tls_policy.compose_policy_maps([], RESOLVER) == [RESOLVER]
    assert mailcow_tls_policy.compose_policy_maps(["hash:/x", OVERRIDE_MAP, RESOLVER], RESOLVER) == ["hash:/x", OVERRIDE_MAP, RESOLVER]


def test_policy_services_name_mailcow_tlspol():
    assert mailcow_tls_policy.policy_services([OVERRIDE_MAP, TLSPOL], RESOLVER) == [TLSPOL]
    assert mailcow_tls_policy.policy_services([OVERRIDE_MAP], RESOLVER) == []


def test_plan_for_mailcow_before_2025_09():
    outcome = mailcow_tls_policy.plan(MAIN_2025_07, EXTRA, RESOLVER)
    assert outcome["policy_maps"] == [OVERRIDE_MAP, RESOLVER]
    assert outcome["policy_services"] == []
    assert postfix_conf.parameter_value(MAIN_2025_07.split("# Overrides #")[0] + outcome["text"], "smtp_tls_policy_maps") == \
        "%s %s" % (OVERRIDE_MAP, RESOLVER)
    assert outcome["text"].startswith(EXTRA)
    assert "myhostname" not in outcome["text"][len(EXTRA):]  # postfix.sh deletes every line naming myhostname


@pytest.mark.parametrize("table", ["", "a b", "a,b"])
def test_plan_refuses_a_table_that_is_not_one(table):
    with pytest.raises(PostfixConfError):
        mailcow_tls_policy.plan(MAIN_2025_07, EXTRA, table)


def _tree(tmp_path, main=MAIN_2025_07, extra=EXTRA):
    directory = tmp_path / "data" / "conf" / "postfix"
    directory.mkdir(parents=True)
    (directory / "main.cf").write_text(main)
    if extra is not None:
        (directory / "extra.cf").write_text(extra)
        os.chmod(directory / "extra.cf", 0o640)
    return directory


def test_update_writes_keeps_mode_and_check_mode_writes_nothing(tmp_path):
    directory = _tree(tmp_path)
    predicted = mailcow_tls_policy.update(str(tmp_path), RESOLVER, check_mode=True)
    assert predicted["changed"] and (directory / "extra.cf").read_text() == EXTRA
    done = mailcow_tls_policy.update(str(tmp_path), RESOLVER)
    assert done["changed"] and done["after"] == predicted["after"]
    assert (directory / "extra.cf").read_text() == predicted["after"]
    assert stat.S_IMODE(os.stat(directory / "extra.cf").st_mode) == 0o640
    assert not mailcow_tls_policy.update(str(tmp_path), RESOLVER)["changed"]
    assert mailcow_tls_policy.update(str(tmp_path), None, state="absent")["changed"]
    assert (directory / "extra.cf").read_text() == EXTRA


def test_update_creates_a_missing_extra_cf_and_absent_leaves_it_missing(tmp_path):
    directory = _tree(tmp_path, extra=None)
    assert not mailcow_tls_policy.update(str(tmp_path), None, state="absent")["changed"]
    assert not (directory / "extra.cf").exists()
    outcome = mailcow_tls_policy.update(str(tmp_path), RESOLVER)
    assert outcome["created"] and stat.S_IMODE(os.stat(directory / "extra.cf").st_mode) == 0o644


def test_update_needs_a_mailcow_tree_and_names_the_file_of_a_conflict(tmp_path):
    with pytest.raises(MailsecError, match="not a mailcow-dockerized directory"):
        mailcow_tls_policy.update(str(tmp_path), RESOLVER)
    _tree(tmp_path, extra=EXTRA + "smtp_tls_policy_maps = hash:/x\n")
    with pytest.raises(PostfixConfError, match=r"extra\.cf: already sets smtp_tls_policy_maps"):
        mailcow_tls_policy.update(str(tmp_path), RESOLVER)
