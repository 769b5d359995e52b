"""Property tests of the mailcow.conf editor (issue 3).

For arbitrary file content: every line that is not ours is kept byte for byte, a second run changes
nothing, and ``state: absent`` after ``present`` restores the original bytes. "Ours" means the
assignment lines of the edited keys and the marker lines the editor appends; the test recognizes
them with its own pattern, not with the engine's parser.

The restore property is stated for names not already in the file: ``present`` leaves a name that
is already listed alone, and ``absent`` then removes it (the documented trade-off).
"""

import re

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow import DEFAULT_KEYS, MailcowConfError, ensure_names

OURS = re.compile(r"^[ \t]*(?:export[ \t]+)?(?:ADDITIONAL_SAN|ADDITIONAL_SERVER_NAMES)[ \t]*=")
MARKERS = {mailcow.marker(key) for key in DEFAULT_KEYS}

label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
host_name = st.lists(label, min_size=2, max_size=3).map(".".join)
list_entry = st.one_of(
    host_name,
    st.builds(lambda name: name + ".*", label),
    st.sampled_from(["imap.*", "smtp.*", "mail.*", "autodiscover.*", "${EXTRA}", "MTA-STS.*"]),
)
# The names we add: a wildcard like mailcow's own, or explicit hosts.
our_name = st.one_of(st.just("mta-sts.*"), st.builds(lambda name: "mta-sts." + name, host_name))

line_text = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=30)
other_key = st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True).filter(lambda key: key not in DEFAULT_KEYS)
unquoted_value = st.text(st.characters(blacklist_characters="\n\"'`\\", blacklist_categories=("Cs",)), max_size=20)
other_line = st.one_of(
    line_text,
    st.builds(lambda text: "#" + text, line_text),
    st.builds(lambda key, value: key + "=" + value, other_key, unquoted_value),
    st.builds(lambda key, value: '%s="%s"' % (key, value.replace('"', "")), other_key, line_text),
    st.builds(lambda key, value: "%s='%s'" % (key, value.replace("'", "")), other_key, line_text),
    st.builds(lambda key, value: "#%s=%s" % (key, value), st.sampled_from(DEFAULT_KEYS), unquoted_value),
    st.sampled_from(["", "   ", "\r", "# ------------------------------", "DBPASS=secret", "export TZ=UTC"]),
    # A value over two lines; its second line may look like one of our keys but is inside the quotes.
    st.builds(
        lambda key, first, second: '%s="%s\n%s"' % (key, first, second),
        other_key,
        line_text.map(lambda text: text.replace('"', "").replace("\\", "")),
        st.one_of(line_text, st.sampled_from(DEFAULT_KEYS).map(lambda key: key + "=x")).map(
            lambda text: text.replace('"', "").replace("\\", "")
        ),
    ),
)


@st.composite
def key_line(draw, key):
    entries = draw(st.lists(list_entry, max_size=3))
    separator = draw(st.sampled_from([",", ", ", " ,", " , "]))
    value = separator.join(entries) + draw(st.sampled_from(["", "", ","]))
    quote = draw(st.sampled_from(["", "", '"', "'"]))
    if not quote:
        value = value.replace(" ", "")  # unquoted values stay single words, as bash needs
    head = draw(st.sampled_from(["", "", "export ", "  ", "\t"])) + key + draw(st.sampled_from(["=", "=", " = "]))
    tail = draw(st.sampled_from(["", "", " # comment", "  "]))
    return head + quote + value + quote + tail


@st.composite
def conf_text(draw):
    lines = draw(st.lists(other_line, max_size=12))
    for key in DEFAULT_KEYS:
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(key_line(key)))
    eols = [draw(st.sampled_from(["\n", "\n", "\r\n"])) for line in lines]
    if lines and draw(st.booleans()):
        eols[-1] = ""
    return "".join(line + eol for line, eol in zip(lines, eols))


def split_keep_ends(text):
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def others(text):
    """The lines that are not ours, with their line endings."""
    return [line for line in split_keep_ends(text) if not OURS.match(line) and line.rstrip("\r\n") not in MARKERS]


def assert_others_kept(original, new):
    before, after = others(original), others(new)
    assert len(before) == len(after)
    assert before[:-1] == after[:-1]
    if before:
        last = before[-1]
        if last.endswith("\n"):
            assert after[-1] == last
        else:
            # A file without a final newline gets one when a key is appended after its last line.
            assert after[-1] in (last, last + "\n", last + "\r\n")


def entries(text, key):
    values = mailcow.get_values(text, key)
    return [] if values is None else values


@settings(max_examples=400, deadline=None)
@given(text=conf_text(), names=st.lists(our_name, min_size=1, max_size=3))
def test_present_keeps_other_lines_is_idempotent_and_absent_restores_the_bytes(text, names):
    assume(all(name.lower() not in text.lower() for name in names))
    try:
        added, changes = ensure_names(text, names)
    except MailcowConfError as exc:
        event("refused: %s" % re.sub(r"line \d+: the value of \w+ ", "", exc.reason)[:60])
        return
    event("changed" if added != text else "unchanged")

    assert added != text
    assert_others_kept(text, added)
    for key in DEFAULT_KEYS:
        old, new = entries(text, key), entries(added, key)
        assert new[: len(old)] == old
        assert [entry.lower() for entry in new[len(old):]] == [name.lower() for name in dict.fromkeys(n.lower() for n in names)]
        assert changes[key]["line_added"] == (mailcow.get_values(text, key) is None)

    again, changes = ensure_names(added, names)
    assert again == added
    assert not any(change["added"] or change["removed"] for change in changes.values())

    restored, changes = ensure_names(added, names, state="absent")
    assert restored == text
    assert all(change["removed"] for change in changes.values())
    assert ensure_names(restored, names, state="absent")[0] == text


@settings(max_examples=200, deadline=None)
@given(text=conf_text(), names=st.lists(our_name, min_size=1, max_size=3))
def test_absent_of_names_not_there_changes_nothing(text, names):
    assume(all(name.lower() not in text.lower() for name in names))
    try:
        new, changes = ensure_names(text, names, state="absent")
    except MailcowConfError:
        return
    assert new == text
    assert not any(change["removed"] or change["line_removed"] for change in changes.values())


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=30).map(lambda data: data.replace(b"\n", b"")), max_size=10),
    eols=st.lists(st.sampled_from([b"\n", b"\r\n", b""]), min_size=10, max_size=10),
    names=st.lists(our_name, min_size=1, max_size=2),
)
def test_arbitrary_bytes_round_trip_or_are_refused(lines, eols, names):
    data = b"".join(line + eol for line, eol in zip(lines, eols))
    assume(all(name.lower().encode() not in data.lower() for name in names))
    try:
        added = ensure_names(data, names)[0]
    except MailcowConfError:
        return
    assert isinstance(added, bytes)
    assert ensure_names(added, names)[0] == added
    assert ensure_names(added, names, state="absent")[0] == data
