import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import marked_block
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


class OwnError(MailsecError):
    pass


def test_finds_the_block_whatever_the_line_endings_and_indentation():
    lines = ["a = 1\r\n", "  # BEGIN mine\r\n", "b = 2\r\n", "# END mine  \n", "c = 3"]
    assert marked_block.find_block(lines, "mine") == (1, 3)


def test_no_block_is_none_and_another_markers_block_is_not_ours():
    assert marked_block.find_block(["a = 1\n", "# BEGIN theirs\n", "# END theirs\n"], "mine") is None
    assert marked_block.find_block([], "mine") is None


@pytest.mark.parametrize("lines, where", [
    (["# BEGIN mine\n", "x\n"], "1"),
    (["# END mine\n", "# BEGIN mine\n"], "1, 2"),
    (["# BEGIN mine\n", "# END mine\n", "# BEGIN mine\n", "# END mine\n"], "1, 2, 3, 4"),
])
def test_a_broken_or_repeated_block_raises_the_callers_error_naming_the_lines(lines, where):
    with pytest.raises(OwnError) as caught:
        marked_block.find_block(lines, "mine", OwnError)
    assert "found them on line(s) %s" % where in str(caught.value)
    assert "'# BEGIN mine' and '# END mine'" in str(caught.value)


@pytest.mark.parametrize("marker", ["", "two\nlines", "carriage\rreturn", None])
def test_a_marker_must_be_one_line_of_text(marker):
    with pytest.raises(OwnError, match="the block marker must be one line of text"):
        marked_block.markers(marker, OwnError)


def test_markers_are_comment_lines():
    assert marked_block.markers("mailsec.posture x") == ("# BEGIN mailsec.posture x", "# END mailsec.posture x")
