"""Tests of the lossless mailcow.conf editor (module_utils/mailcow.py).

The fixtures in tests/fixtures/mailcow/ have the shape mailcow-dockerized's generate_config.sh writes:
section banners, commented examples of the very keys we edit, empty values, secrets, a single-quoted
JSON value. The "keys absent" variant is an older install that never had the two keys.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import files, mailcow
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow import MailcowConfError, ensure_names

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "mailcow"
CONF = (FIXTURES / "mailcow.conf").read_text()
CONF_KEYS_ABSENT = (FIXTURES / "mailcow-keys-absent.conf").read_text()
SAN_MARKER = "# ADDITIONAL_SAN added by mailsec.posture.mailcow_conf"
NAMES_MARKER = "# ADDITIONAL_SERVER_NAMES added by mailsec.posture.mailcow_conf"


def unchanged():
    return {"added": [], "removed": [], "line_added": False, "line_removed": False}


def round_trip(text, names, **kwargs):
    """present, present again, absent, absent again: check idempotence and the exact restore."""
    added = ensure_names(text, names, state="present", **kwargs)[0]
    again, changes = ensure_names(added, names, state="present", **kwargs)
    assert again == added
    assert all(change == unchanged() for change in changes.values())
    removed = ensure_names(added, names, state="absent", **kwargs)[0]
    assert removed == text
    assert ensure_names(removed, names, state="absent", **kwargs)[0] == text
    return added


def test_fixture_present_changes_exactly_the_two_key_lines():
    new, changes = ensure_names(CONF, ["mta-sts.*"])
    expected = CONF.replace("\nADDITIONAL_SAN=\n", "\nADDITIONAL_SAN=mta-sts.*\n").replace(
        "\nADDITIONAL_SERVER_NAMES=\n", "\nADDITIONAL_SERVER_NAMES=mta-sts.*\n"
    )
    assert expected != CONF
    assert new == expected
    assert changes == {
        "ADDITIONAL_SAN": {"added": ["mta-sts.*"], "removed": [], "line_added": False, "line_removed": False},
        "ADDITIONAL_SERVER_NAMES": {"added": ["mta-sts.*"], "removed": [], "line_added": False, "line_removed": False},
    }
    # The commented examples right above stay examples.
    assert "#ADDITIONAL_SAN=imap.*,smtp.*\n" in new


def test_fixture_round_trip_restores_every_byte():
    round_trip(CONF, ["mta-sts.*", "mta-sts.example.com"])


def test_user_entries_and_their_order_are_kept_and_names_appended_in_given_order():
    text = CONF.replace("\nADDITIONAL_SAN=\n", "\nADDITIONAL_SAN=smtp.*,imap.*,srv1.example.net\n")
    new, changes = ensure_names(text, ["mta-sts.*", "mta-sts.example.org"], keys=["ADDITIONAL_SAN"])
    assert "\nADDITIONAL_SAN=smtp.*,imap.*,srv1.example.net,mta-sts.*,mta-sts.example.org\n" in new
    assert changes["ADDITIONAL_SAN"]["added"] == ["mta-sts.*", "mta-sts.example.org"]
    assert "\nADDITIONAL_SERVER_NAMES=\n" in new  # not asked about


def test_keys_absent_are_appended_at_the_end_with_a_marker():
    new, changes = ensure_names(CONF_KEYS_ABSENT, ["mta-sts.*"])
    assert new == CONF_KEYS_ABSENT + (
        SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.*\n" + NAMES_MARKER + "\nADDITIONAL_SERVER_NAMES=mta-sts.*\n"
    )
    assert changes["ADDITIONAL_SAN"]["line_added"] is True
    assert changes["ADDITIONAL_SERVER_NAMES"]["line_added"] is True


def test_keys_absent_round_trip_removes_the_appended_lines():
    round_trip(CONF_KEYS_ABSENT, ["mta-sts.*"])
    new = ensure_names(CONF_KEYS_ABSENT, ["mta-sts.*"])[0]
    back, changes = ensure_names(new, ["mta-sts.*"], state="absent")
    assert back == CONF_KEYS_ABSENT
    assert changes["ADDITIONAL_SAN"] == {"added": [], "removed": ["mta-sts.*"], "line_added": False, "line_removed": True}


def test_appended_block_keeps_other_names_until_the_last_is_gone():
    first = ensure_names(CONF_KEYS_ABSENT, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0]
    both = ensure_names(first, ["mta-sts.example.com"], keys=["ADDITIONAL_SAN"])[0]
    assert both.endswith(SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.*,mta-sts.example.com\n")
    one_left, changes = ensure_names(both, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state="absent")
    assert one_left.endswith(SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.example.com\n")
    assert changes["ADDITIONAL_SAN"]["line_removed"] is False
    none_left, changes = ensure_names(one_left, ["mta-sts.example.com"], keys=["ADDITIONAL_SAN"], state="absent")
    assert none_left == CONF_KEYS_ABSENT
    assert changes["ADDITIONAL_SAN"]["line_removed"] is True


def test_empty_key_without_marker_at_the_end_of_the_file_is_kept_as_is():
    # mailcow's update script appends "ADDITIONAL_SERVER_NAMES=" to upgraded installs: that line is theirs.
    text = "DBNAME=mailcow\nADDITIONAL_SERVER_NAMES=\n"
    added = round_trip(text, ["mta-sts.*"], keys=["ADDITIONAL_SERVER_NAMES"])
    assert added == "DBNAME=mailcow\nADDITIONAL_SERVER_NAMES=mta-sts.*\n"


def test_crlf_file_stays_crlf_everywhere():
    crlf = CONF.replace("\n", "\r\n")
    new = round_trip(crlf, ["mta-sts.*"])
    assert "\r\nADDITIONAL_SAN=mta-sts.*\r\n" in new
    assert new.count("\n") == new.count("\r\n")


def test_crlf_file_without_the_keys_gets_crlf_lines():
    crlf = CONF_KEYS_ABSENT.replace("\n", "\r\n")
    new = round_trip(crlf, ["mta-sts.*"])
    assert new.endswith(SAN_MARKER + "\r\nADDITIONAL_SAN=mta-sts.*\r\n" + NAMES_MARKER + "\r\nADDITIONAL_SERVER_NAMES=mta-sts.*\r\n")
    assert new.count("\n") == new.count("\r\n")


def test_missing_final_newline_is_kept_missing():
    text = CONF.rstrip("\n")
    assert text.endswith("ENABLE_IPV6=true")
    new = round_trip(text, ["mta-sts.*"])
    assert new.endswith("ENABLE_IPV6=true")


def test_missing_final_newline_with_keys_absent_ends_the_last_line_and_the_block_has_none():
    text = CONF_KEYS_ABSENT.rstrip("\n")
    new = round_trip(text, ["mta-sts.*"])
    assert new == text + "\n" + SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.*\n" + NAMES_MARKER + "\nADDITIONAL_SERVER_NAMES=mta-sts.*"


def test_key_on_the_last_line_without_newline():
    new = round_trip("A=1\nADDITIONAL_SAN=imap.*", ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert new == "A=1\nADDITIONAL_SAN=imap.*,mta-sts.*"


@pytest.mark.parametrize("text", ["", "\n", "\r\n", "A=1", "A=1\r", "# only a comment\n"])
def test_tiny_files_round_trip(text):
    new = round_trip(text, ["mta-sts.*"])
    assert "ADDITIONAL_SAN=mta-sts.*" in new


def test_empty_file_gets_the_block_with_newlines():
    new = ensure_names("", ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0]
    assert new == SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.*\n"


@pytest.mark.parametrize(
    "line, expected",
    [
        ('ADDITIONAL_SAN="imap.*"', 'ADDITIONAL_SAN="imap.*,mta-sts.*"'),
        ("ADDITIONAL_SAN='imap.*'", "ADDITIONAL_SAN='imap.*,mta-sts.*'"),
        ('ADDITIONAL_SAN=""', 'ADDITIONAL_SAN="mta-sts.*"'),
        ("ADDITIONAL_SAN=''", "ADDITIONAL_SAN='mta-sts.*'"),
        ('ADDITIONAL_SAN="imap.*" # certificates', 'ADDITIONAL_SAN="imap.*,mta-sts.*" # certificates'),
        ("ADDITIONAL_SAN=imap.* # certificates", "ADDITIONAL_SAN=imap.*,mta-sts.* # certificates"),
        ("ADDITIONAL_SAN= # nothing yet", "ADDITIONAL_SAN=mta-sts.* # nothing yet"),
        ("ADDITIONAL_SAN=imap.*   ", "ADDITIONAL_SAN=imap.*,mta-sts.*   "),
        ("ADDITIONAL_SAN=   ", "ADDITIONAL_SAN=mta-sts.*   "),
        ("export ADDITIONAL_SAN=imap.*", "export ADDITIONAL_SAN=imap.*,mta-sts.*"),
        ("  ADDITIONAL_SAN=imap.*", "  ADDITIONAL_SAN=imap.*,mta-sts.*"),
        ("ADDITIONAL_SAN = imap.*", "ADDITIONAL_SAN = imap.*,mta-sts.*"),
        ('ADDITIONAL_SAN = "imap.*"', 'ADDITIONAL_SAN = "imap.*,mta-sts.*"'),
        ('ADDITIONAL_SAN="imap.* , smtp.*"', 'ADDITIONAL_SAN="imap.* , smtp.*,mta-sts.*"'),
        ("ADDITIONAL_SAN=imap.*,", "ADDITIONAL_SAN=imap.*,,mta-sts.*"),
        ("ADDITIONAL_SAN=${EXTRA_SAN},imap.*", "ADDITIONAL_SAN=${EXTRA_SAN},imap.*,mta-sts.*"),
        ('ADDITIONAL_SAN="$EXTRA imap.*"', 'ADDITIONAL_SAN="$EXTRA imap.*,mta-sts.*"'),
        ("ADDITIONAL_SAN=#hash", "ADDITIONAL_SAN=#hash,mta-sts.*"),
    ],
)
def test_value_styles_are_kept(line, expected):
    text = "# before\n" + line + "\n# after\n"
    new = round_trip(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert new == "# before\n" + expected + "\n# after\n"


@pytest.mark.parametrize(
    "value",
    ["mta-sts.*", "MTA-STS.*", " mta-sts.* ", "imap.*,Mta-Sts.*", "mta-sts.*,imap.*"],
)
def test_present_is_a_no_op_when_the_name_is_there_in_any_case_or_spacing(value):
    text = "ADDITIONAL_SAN=%s\n" % value
    new, changes = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert new == text
    assert changes["ADDITIONAL_SAN"] == unchanged()


@pytest.mark.parametrize(
    "value, kept, removed",
    [
        ("imap.*,mta-sts.*,smtp.*", "imap.*,smtp.*", ["mta-sts.*"]),
        ("MTA-STS.*,imap.*", "imap.*", ["MTA-STS.*"]),
        ("imap.*, mta-sts.* ,smtp.*", "imap.*,smtp.*", ["mta-sts.*"]),
        ("mta-sts.*,imap.*,mta-sts.*", "imap.*", ["mta-sts.*"]),
        ("mta-sts.*", "", ["mta-sts.*"]),
        ("imap.*,smtp.*", "imap.*,smtp.*", []),
        ("", "", []),
    ],
)
def test_absent_removes_only_the_given_names(value, kept, removed):
    text = "# c\nADDITIONAL_SAN=%s\nX=1\n" % value
    new, changes = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state="absent")
    assert new == "# c\nADDITIONAL_SAN=%s\nX=1\n" % kept
    assert changes["ADDITIONAL_SAN"]["removed"] == removed
    assert changes["ADDITIONAL_SAN"]["line_removed"] is False


def test_absent_on_a_file_without_the_keys_changes_nothing():
    new, changes = ensure_names(CONF_KEYS_ABSENT, ["mta-sts.*"], state="absent")
    assert new == CONF_KEYS_ABSENT
    assert all(change == unchanged() for change in changes.values())


def test_absent_removes_a_name_the_user_wrote_before_us():
    # The documented trade-off: the file does not say who added an entry.
    text = "ADDITIONAL_SAN=mta-sts.*\n"
    present = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0]
    assert present == text
    absent = ensure_names(present, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state="absent")[0]
    assert absent == "ADDITIONAL_SAN=\n"


def test_names_are_deduplicated_case_insensitively_keeping_the_first_spelling():
    new, changes = ensure_names("ADDITIONAL_SAN=\n", ["Mta-Sts.*", "mta-sts.*", "a.example"], keys=["ADDITIONAL_SAN"])
    assert new == "ADDITIONAL_SAN=Mta-Sts.*,a.example\n"
    assert changes["ADDITIONAL_SAN"]["added"] == ["Mta-Sts.*", "a.example"]


def test_no_names_changes_nothing_even_for_missing_keys():
    assert ensure_names(CONF_KEYS_ABSENT, [])[0] == CONF_KEYS_ABSENT


def test_other_keys_can_be_edited():
    new = ensure_names("API_ALLOW_FROM=127.0.0.1\n", ["172.22.1.1"], keys=["API_ALLOW_FROM"])[0]
    assert new == "API_ALLOW_FROM=127.0.0.1,172.22.1.1\n"


def test_bytes_in_bytes_out_and_undecodable_bytes_survive():
    text = b"# caf\xe9 in latin-1\nADDITIONAL_SAN=\n\xff\xfe=junk\n"
    new = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0]
    assert new == b"# caf\xe9 in latin-1\nADDITIONAL_SAN=mta-sts.*\n\xff\xfe=junk\n"
    assert ensure_names(new, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state="absent")[0] == text


def test_a_key_set_twice_is_an_error_naming_the_key_and_both_lines():
    text = CONF + "ADDITIONAL_SAN=imap.*\n"
    first = CONF.splitlines().index("ADDITIONAL_SAN=") + 1
    last = len(CONF.splitlines()) + 1
    with pytest.raises(MailcowConfError) as caught:
        ensure_names(text, ["mta-sts.*"])
    message = str(caught.value)
    assert "ADDITIONAL_SAN is set more than once, on lines %d and %d" % (first, last) in message
    assert caught.value.key == "ADDITIONAL_SAN"
    assert caught.value.lines == (first, last)


def test_a_key_set_twice_is_an_error_for_absent_too():
    with pytest.raises(MailcowConfError, match="lines 1 and 2"):
        ensure_names("ADDITIONAL_SERVER_NAMES=a\nexport ADDITIONAL_SERVER_NAMES=b\n", ["a"], state="absent")


def test_commented_copies_and_keys_not_edited_may_repeat():
    text = "#ADDITIONAL_SAN=imap.*\nADDITIONAL_SAN=\n# ADDITIONAL_SAN=x\nTZ=UTC\nTZ=Europe/Berlin\n"
    new = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])[0]
    assert new == text.replace("\nADDITIONAL_SAN=\n", "\nADDITIONAL_SAN=mta-sts.*\n")


@pytest.mark.parametrize(
    "line, reason",
    [
        ('ADDITIONAL_SAN="imap.*"smtp.*', "text after its closing quote"),
        ("ADDITIONAL_SAN=imap.*,\"smtp.*\"", "quotes or backslashes inside an unquoted value"),
        ("ADDITIONAL_SAN=imap\\.*", "quotes or backslashes inside an unquoted value"),
        ('ADDITIONAL_SAN="imap.*,\nsmtp.*"', "spans lines 2 to 3"),
    ],
)
def test_values_that_cannot_be_edited_safely_are_refused_with_the_line(line, reason):
    text = "# c\n" + line + "\n"
    for state in ("present", "absent"):
        with pytest.raises(MailcowConfError) as caught:
            ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"], state=state)
        assert "line 2: the value of ADDITIONAL_SAN" in str(caught.value)
        assert reason in str(caught.value)


def test_a_multi_line_value_of_another_key_is_not_read_as_assignments():
    text = 'NOTE="first line\nADDITIONAL_SAN=this is inside the quotes\n"\nTZ=UTC\n'
    new, changes = ensure_names(text, ["mta-sts.*"], keys=["ADDITIONAL_SAN"])
    assert new == text + SAN_MARKER + "\nADDITIONAL_SAN=mta-sts.*\n"
    assert changes["ADDITIONAL_SAN"]["line_added"] is True


def test_a_quote_never_closed_is_refused_because_an_appended_key_would_land_inside_it():
    with pytest.raises(MailcowConfError, match="line 2: the value of NOTE opens a double quote that is never closed"):
        ensure_names('TZ=UTC\nNOTE="unfinished\nX=1\n', ["mta-sts.*"])


def test_an_escaped_quote_does_not_close_a_double_quoted_value():
    text = 'NOTE="say \\"hi\\""\nADDITIONAL_SAN="a"\n'
    new = ensure_names(text, ["b"], keys=["ADDITIONAL_SAN"])[0]
    assert new == 'NOTE="say \\"hi\\""\nADDITIONAL_SAN="a,b"\n'


@pytest.mark.parametrize(
    "names, field, fragment",
    [
        (["mta-sts.*", "mta sts.example.com"], "names[1]", "not a host name"),
        (["a.example,b.example"], "names[0]", "not a host name"),
        (["mta-sts.*", ""], "names[1]", "must not be empty"),
        (["mta-sts.bücher.example"], "names[0]", "A-labels"),
        (['"quoted"'], "names[0]", "not a host name"),
        (["mail.example.com."], "names[0]", "not a host name"),
        (["-bad.example"], "names[0]", "not a host name"),
        ([42], "names[0]", "must be a string"),
    ],
)
def test_bad_names_are_spec_errors_naming_the_entry(names, field, fragment):
    with pytest.raises(SpecError) as caught:
        ensure_names(CONF, names)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_names_of_every_documented_shape_are_accepted():
    names = ["mta-sts.*", "mta-sts.example.com", "*.example.com", "xn--bcher-kva.example", "_srv.example"]
    new = ensure_names("ADDITIONAL_SAN=\n", names, keys=["ADDITIONAL_SAN"])[0]
    assert new == "ADDITIONAL_SAN=%s\n" % ",".join(names)


@pytest.mark.parametrize("keys, field", [(["ADDITIONAL SAN"], "keys[0]"), (["OK", "1BAD"], "keys[1]"), ([], "keys")])
def test_bad_keys_are_spec_errors(keys, field):
    with pytest.raises(SpecError) as caught:
        ensure_names(CONF, ["mta-sts.*"], keys=keys)
    assert caught.value.field == field


def test_bad_state_is_a_spec_error():
    with pytest.raises(SpecError, match="state: must be one of present, absent"):
        ensure_names(CONF, ["mta-sts.*"], state="latest")


def test_get_values():
    assert mailcow.get_values("ADDITIONAL_SAN=imap.*, smtp.*\n", "ADDITIONAL_SAN") == ["imap.*", "smtp.*"]
    assert mailcow.get_values("ADDITIONAL_SAN=\n", "ADDITIONAL_SAN") == []
    assert mailcow.get_values(b"X=1\n", "ADDITIONAL_SAN") is None


def test_redact_hides_secrets_live_and_commented_but_not_the_edited_keys():
    text = CONF.replace("#API_KEY=\n", "#API_KEY=abc-123\n") + "API_KEY=live-key\nSECRET_NOTE=\"a\nb\"\n"
    shown = mailcow.redact(text, keep=("ADDITIONAL_SAN",))
    for secret in ("q8Hn2VtLx0cR7mWp4sJd9KfZ1bYe", "Tz5Gk3PwN8rLq1XvC6hMj0sDf2Ua", "Vb7Nq2Lm9Xc4Rt6Zp1Ks8Jd3Hf5W",
                   "Qw3Er5Ty7Ui9Op1A", "abc-123", "live-key", "\nb\""):
        assert secret in text
        assert secret not in shown
    assert "DBPASS=********\n" in shown
    assert "#API_KEY=********\n" in shown
    assert "#API_KEY_READ_ONLY=\n" in shown  # nothing to hide
    assert "DOVECOT_MASTER_PASS=\n" in shown
    assert "MAILCOW_HOSTNAME=mail.example.com\n" in shown
    assert "MAILCOW_PASS_SCHEME=BLF-CRYPT\n" in shown
    assert "ADDITIONAL_SAN=\n" in shown
    assert shown.count("\n") == text.count("\n")


def test_update_file_check_mode_predicts_and_writes_nothing(tmp_path):
    path = tmp_path / "mailcow.conf"
    path.write_text(CONF)
    os.chmod(path, 0o600)
    result = mailcow.update_file(str(path), ["mta-sts.*"], check_mode=True, backup=True)
    assert result["changed"] is True
    assert result["backup_file"] is None
    assert path.read_text() == CONF
    assert os.listdir(tmp_path) == ["mailcow.conf"]
    assert "ADDITIONAL_SAN=mta-sts.*" in result["after"]
    assert "DBPASS=********" in result["before"]

    real = mailcow.update_file(str(path), ["mta-sts.*"], backup=True)
    assert real["changed"] is True
    assert real["changes"] == result["changes"]
    assert path.read_text() == ensure_names(CONF, ["mta-sts.*"])[0]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(real["backup_file"]) as handle:
        assert handle.read() == CONF

    again = mailcow.update_file(str(path), ["mta-sts.*"], backup=True)
    assert again["changed"] is False
    assert again["backup_file"] is None
    assert again["before"] == again["after"]


def test_update_file_errors_name_the_file(tmp_path):
    path = tmp_path / "mailcow.conf"
    with pytest.raises(files.FileMissingError, match="mailcow.conf: does not exist"):
        mailcow.update_file(str(path), ["mta-sts.*"])
    path.write_text("ADDITIONAL_SAN=a\nADDITIONAL_SAN=b\n")
    with pytest.raises(MailcowConfError) as caught:
        mailcow.update_file(str(path), ["mta-sts.*"])
    assert str(caught.value).startswith(str(path) + ": ADDITIONAL_SAN is set more than once, on lines 1 and 2")
    assert path.read_text() == "ADDITIONAL_SAN=a\nADDITIONAL_SAN=b\n"


def bash_reads(path):
    """What mailcow's update.sh sees: the two keys after bash sources the file."""
    script = 'set -a; . "$1"; printf "%s\\n%s\\n" "$ADDITIONAL_SAN" "$ADDITIONAL_SERVER_NAMES"'
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script, "bash", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    assert result.stderr == ""
    san, server_names = result.stdout.split("\n")[:2]
    return san, server_names


def as_entries(value):
    return [entry.strip() for entry in value.split(",") if entry.strip()]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
@pytest.mark.parametrize(
    "san_line, names_line",
    [
        ("ADDITIONAL_SAN=", "ADDITIONAL_SERVER_NAMES="),
        ("ADDITIONAL_SAN=imap.*,smtp.* # certificates", "ADDITIONAL_SERVER_NAMES=webmail.example.com"),
        ('ADDITIONAL_SAN="imap.*, smtp.*"', "ADDITIONAL_SERVER_NAMES='webmail.example.com'"),
        ("export ADDITIONAL_SAN=imap.*", '  ADDITIONAL_SERVER_NAMES=""  # none yet'),
        (None, None),
    ],
)
@pytest.mark.parametrize("final_newline", [True, False])
def test_bash_reads_the_names_we_wrote_and_the_original_after_absent(tmp_path, san_line, names_line, final_newline):
    if san_line is None:
        text = CONF_KEYS_ABSENT
    else:
        text = CONF.replace("\nADDITIONAL_SAN=\n", "\n%s\n" % san_line).replace(
            "\nADDITIONAL_SERVER_NAMES=\n", "\n%s\n" % names_line
        )
    if not final_newline:
        text = text.rstrip("\n")
    path = tmp_path / "mailcow.conf"
    path.write_text(text)
    before = bash_reads(path)

    names = ["mta-sts.*", "mta-sts.example.org"]
    path.write_text(ensure_names(text, names)[0])
    after = bash_reads(path)
    for old, new in zip(before, after):
        assert as_entries(new) == as_entries(old) + names

    path.write_text(ensure_names(path.read_text(), names, state="absent")[0])
    assert path.read_text() == text
    assert bash_reads(path) == before
