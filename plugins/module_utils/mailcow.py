# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Edit mailcow's ``mailcow.conf`` without losing a byte.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.

``mailcow.conf`` is read twice by mailcow: ``source``d by bash in ``update.sh`` and read as the
docker compose ``.env`` file (``.env`` is a link to it). Its lines are comments, blank lines and
``KEY=value`` assignments; values are usually unquoted, sometimes ``"double"`` or ``'single'`` quoted,
and may carry an inline `` # comment``. ``ADDITIONAL_SAN`` and ``ADDITIONAL_SERVER_NAMES`` hold
comma-separated host names (``mta-sts.*`` means ``mta-sts.<every mail domain>``).

``ensure_names`` changes only the value of the keys it is asked about and keeps every other byte:
comments, blank lines, other keys, indentation, ``export``, the quote style, inline comments, CRLF
line endings, trailing white space and a missing final newline.

How a key is changed:

* ``present`` adds each name the list lacks (compared without regard to case) at the end, after a
  comma; existing entries, their order and the white space around them stay as they are.
* ``absent`` removes every entry equal to a given name (again without regard to case) together
  with one comma next to it.
* A key missing from the file is appended at the end as two lines, a marker comment
  (``# ADDITIONAL_SAN added by mailsec.posture.mailcow_conf``) and ``KEY=names``, in the file's line
  ending style. A file without a final newline gets one before the block and the block itself has
  none, so the file keeps its shape. ``absent`` removes such a block again (with the newline added
  before it) once its value is empty; without the marker the line stays, as ``KEY=``.

So ``absent`` after ``present`` gives back the original bytes, whether the key was missing, empty
or holding other names. The one exception is by design: ``present`` leaves a name that is already
in the list alone, and ``absent`` removes it whoever wrote it, because the file does not say who
added an entry. Only ask for ``absent`` with names you own.
"""

from __future__ import annotations

import os
import re

from ansible_collections.mailsec.posture.plugins.module_utils import files
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError, kind_of

DEFAULT_KEYS = ("ADDITIONAL_SAN", "ADDITIONAL_SERVER_NAMES")
STATES = ("present", "absent")
MARKER_TEMPLATE = "# %s added by mailsec.posture.mailcow_conf"
REDACTED = "********"

# An assignment as bash and docker compose take it: a byte order mark on the first line, optional
# indentation, optional ``export``, ``readonly`` or ``declare``/``typeset`` with options (``declare -x``),
# the key, optional blanks, then ``=`` or bash's ``+=`` (append to the value so far).
_ASSIGNMENT = re.compile(
    r"(?P<head>\ufeff?[ \t]*(?:(?:export|readonly|(?:declare|typeset)(?:[ \t]+-[A-Za-z]+)*)[ \t]+)?"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*(?P<op>\+?=))(?P<rest>.*)\Z",
    re.S,
)
# A commented-out assignment, as generate_config.sh writes examples (``#API_KEY=``).
_COMMENTED_ASSIGNMENT = re.compile(r"(?P<head>[ \t]*#[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=)(?P<rest>.+)\Z", re.S)
# What may follow a closing quote (or make up an empty value): blanks and an inline comment.
_AFTER_QUOTE = re.compile(r"(?:[ \t]+#.*|[ \t]*)\Z", re.S)
_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A host name as mailcow's lists take it: LDH (and underscore) labels, where ``*`` may stand for a
# whole label (``mta-sts.*`` is mailcow's "for every domain", ``*.example.com`` a wildcard certificate).
_LABEL = r"(?:\*|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)"
_HOST_NAME = re.compile(r"^%s(?:\.%s)*$" % (_LABEL, _LABEL))
# Keys whose values the diff shows as REDACTED: mailcow.conf holds the database, Redis and API secrets,
# the watchdog's webhook URL (its path is the credential) and acme.sh's DNS-API credentials, whose names
# follow each provider (OVH_AK/OVH_AS/OVH_CK, KAS_Authdata, CF_Token, GD_Secret, INWX_Password ...).
# MAILCOW_PASS_SCHEME names a hash algorithm, not a secret.
_SECRET_KEY = re.compile(
    r"PASS(?!_SCHEME)|PW|SECRET|TOKEN|KEY|DBROOT|CREDENTIAL|PRIVATE|WEBHOOK|AUTH(?!ODISCOVER)|SIGNATURE|SALT|COOKIE|SESSION"
    r"|_(?:AK|AS|CK|SK|PK)$|DSN|HASH",
    re.I,
)
# Values that are secrets whatever their key is called: a URL with a user part, a path or a query
# (webhooks carry their token there), a long token of letters and digits, a JWT-like triple.
_SECRET_VALUE = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#\s]*@|[^/?#\s]+[/?#].*\S)"
    r"|(?=[A-Za-z0-9+/=_~-]*[0-9])(?=[A-Za-z0-9+/=_~-]*[A-Za-z])[A-Za-z0-9+/=_~-]{16,}"
    r"|[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})$"
)
_BLANKS = " \t"
_BLANK_RUN = re.compile(r"[ \t]+")


class MailcowConfError(MailsecError):
    """``mailcow.conf`` cannot be edited safely; the message names the key and the line numbers."""

    def __init__(self, message, key=None, lines=(), path=None):
        self.reason = message
        self.key = key
        self.lines = tuple(lines)
        self.path = path
        super().__init__(message)

    def __str__(self):
        if self.path:
            return "%s: %s" % (self.path, self.reason)
        return self.reason


class Line:
    """One line of the file: its text and its end (``"\\n"``, ``"\\r\\n"`` or ``""`` for a last line without one)."""

    __slots__ = ("content", "eol")

    def __init__(self, content, eol):
        self.content = content
        self.eol = eol

    def __repr__(self):
        return "Line(%r, %r)" % (self.content, self.eol)


class Assignment:
    """Where and how one ``KEY=value`` is written.

    The first line's text is ``head + lead + quote + value + quote + tail``. ``last`` is the index of
    the line holding the closing quote of a value that spans lines (then ``value`` is not split
    out and ``problem`` says why it cannot be edited).
    """

    __slots__ = ("key", "index", "last", "head", "lead", "quote", "value", "tail", "problem", "append")

    def __init__(self, key, index, head, lead="", quote="", value="", tail="", last=None, problem=None, append=False):
        self.key = key
        self.index = index
        self.last = index if last is None else last
        self.head = head
        self.lead = lead
        self.quote = quote
        self.value = value
        self.tail = tail
        self.problem = problem
        # ``KEY+=value``: bash appends the value to what the key held so far.
        self.append = append

    def render(self):
        return self.head + self.lead + self.quote + self.value + self.quote + self.tail

    @property
    def line_number(self):
        return self.index + 1


def split_lines(text):
    """``text`` as a list of Line; joining ``content + eol`` of each gives ``text`` back exactly.

    Lines end at ``\\n`` only; a ``\\r`` before it belongs to the line ending, a lone ``\\r`` to the text.
    """
    lines = []
    pieces = text.split("\n")
    for piece in pieces[:-1]:
        if piece.endswith("\r"):
            lines.append(Line(piece[:-1], "\r\n"))
        else:
            lines.append(Line(piece, "\n"))
    if pieces[-1]:
        lines.append(Line(pieces[-1], ""))
    return lines


def join_lines(lines):
    return "".join(line.content + line.eol for line in lines)


def line_ending(lines):
    """The file's line ending: that of its first line, ``\\n`` when no line has one."""
    for line in lines:
        if line.eol:
            return line.eol
    return "\n"


def _closing_quote(text, start, quote):
    """Index of the quote closing a value in ``text`` from ``start``, or None; ``\\`` escapes in double quotes."""
    index = start
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            return index
        index += 1
    return None


def _split_unquoted(rest):
    """``(lead, body, tail)`` of an unquoted value: the value ends where blanks and ``#`` start an
    inline comment (bash and docker compose agree), or at trailing blanks.

    Each run of blanks is looked at once, so a long run costs what its length costs (a regular
    expression with a lazy body retries the whole run from every position: quadratic).
    """
    start = len(rest) - len(rest.lstrip(_BLANKS))
    for run in _BLANK_RUN.finditer(rest, start):
        if run.end() == len(rest) or rest[run.end()] == "#":
            return rest[:start], rest[start:run.start()], rest[run.start():]
    return rest[:start], rest[start:], ""


def scan(lines):
    """Every live assignment in ``lines``, in file order, as Assignment objects.

    A value opening a quote that closes on a later line (bash and docker compose allow that) spans
    those lines; they are not read as assignments. A quote never closed makes the whole file unsafe
    to edit, since a key appended after it would land inside the value, so it raises MailcowConfError.
    """
    found = []
    index = 0
    while index < len(lines):
        match = _ASSIGNMENT.match(lines[index].content)
        if not match:
            index += 1
            continue
        key, head, rest = match.group("key"), match.group("head"), match.group("rest")
        append = match.group("op") == "+="
        if index and head.startswith("\ufeff"):
            # A byte order mark belongs to the start of the file only.
            index += 1
            continue
        # docker compose skips blanks before a quoted value (``KEY = "a"``); bash would not, but then it fails anyway.
        blanks = rest[: len(rest) - len(rest.lstrip(" \t"))]
        if rest[len(blanks):len(blanks) + 1] in ('"', "'"):
            quote = rest[len(blanks)]
            start = len(blanks) + 1
            end = _closing_quote(rest, start, quote)
            if end is not None:
                tail = rest[end + 1:]
                problem = None
                if not _AFTER_QUOTE.match(tail):
                    problem = "has text after its closing quote"
                found.append(Assignment(key, index, head, blanks, quote, rest[start:end], tail, problem=problem, append=append))
                index += 1
                continue
            last = index + 1
            while last < len(lines) and _closing_quote(lines[last].content, 0, quote) is None:
                last += 1
            if last >= len(lines):
                raise MailcowConfError(
                    "line %d: the value of %s opens a %s quote that is never closed, so the file cannot be edited safely"
                    % (index + 1, key, "double" if quote == '"' else "single"),
                    key=key,
                    lines=(index + 1,),
                )
            found.append(
                Assignment(key, index, head, "", quote, "", "", last=last, problem="spans lines %d to %d" % (index + 1, last + 1), append=append)
            )
            index = last + 1
            continue
        if _AFTER_QUOTE.match(rest):
            # Nothing but blanks and maybe a comment: a value goes right after '=', where bash reads it.
            lead, body, tail = "", "", rest
        else:
            lead, body, tail = _split_unquoted(rest)
        problem = None
        if any(char in body for char in "\"'`\\"):
            problem = "has quotes or backslashes inside an unquoted value"
        found.append(Assignment(key, index, head, lead, "", body, tail, problem=problem, append=append))
        index += 1
    return found


def marker(key):
    """The comment line that marks a key this module appended."""
    return MARKER_TEMPLATE % key


def normalize_keys(keys):
    """``keys`` as a list of distinct variable names in order, or a SpecError naming the bad one."""
    if isinstance(keys, str):
        keys = [keys]
    result = []
    for position, key in enumerate(keys):
        field = "keys[%d]" % position
        if not isinstance(key, str) or not _KEY_NAME.match(key):
            raise SpecError(field, "%r is not a variable name (letters, digits and underscores)" % (key,))
        if key not in result:
            result.append(key)
    if not result:
        raise SpecError("keys", "must name at least one key")
    return result


def normalize_names(names):
    """``names`` as a list of distinct host names (first spelling kept, case ignored), or a SpecError.

    A name is what mailcow's lists hold: ``mta-sts.example.com``, ``mta-sts.*`` or ``*.example.com``;
    ASCII only (write internationalized names as A-labels, ``xn--...``), no commas, blanks or quotes.
    """
    if isinstance(names, str):
        names = [names]
    result = []
    seen = set()
    for position, name in enumerate(names):
        field = "names[%d]" % position
        if not isinstance(name, str):
            raise SpecError(field, "must be a string, got %s" % kind_of(name))
        if not name:
            raise SpecError(field, "must not be empty")
        if not name.isascii():
            raise SpecError(field, "%r is not ASCII; write internationalized names as A-labels (xn--...)" % name)
        if len(name) > 253 or not _HOST_NAME.match(name):
            raise SpecError(
                field, "%r is not a host name as mailcow takes it (labels of letters, digits, '-' or '_', or '*', joined by dots)" % name
            )
        folded = name.lower()
        if folded not in seen:
            seen.add(folded)
            result.append(name)
    return result


def _entries(value):
    return value.split(",") if value != "" else []


def _add(value, names):
    present = {entry.strip().lower() for entry in _entries(value)}
    added = [name for name in names if name.lower() not in present]
    if not added:
        return value, []
    return value + ("," if value != "" else "") + ",".join(added), added


def _remove(value, names):
    wanted = {name.lower() for name in names}
    kept = []
    removed = []
    for entry in _entries(value):
        if entry.strip().lower() in wanted:
            if entry.strip() not in removed:
                removed.append(entry.strip())
        else:
            kept.append(entry)
    if not removed:
        return value, []
    # Dropping an entry and re-joining removes exactly one comma next to it.
    return ",".join(kept), removed


def _is_our_block(lines, assignment):
    """True when ``assignment`` is a bare ``KEY=...`` line right below our marker for that key."""
    return (
        assignment.index > 0
        and lines[assignment.index - 1].content == marker(assignment.key)
        and assignment.head == assignment.key + "="
        and not assignment.lead
        and not assignment.quote
        and not assignment.tail
    )


def _drop_block(lines, assignment):
    """Remove our marker and key lines, and the line ending put before them if the file had none."""
    key_line = lines[assignment.index]
    marker_index = assignment.index - 1
    if key_line.eol == "" and marker_index > 0:
        previous = lines[marker_index - 1]
        full = previous.content + previous.eol
        added_eol = lines[marker_index].eol
        if added_eol and full.endswith(added_eol):
            full = full[: -len(added_eol)]
        previous.content, previous.eol = full, ""
    del lines[marker_index:assignment.index + 1]


def _append_block(lines, key, value):
    eol = line_ending(lines)
    if lines and lines[-1].eol == "":
        # The file has no final newline: end its last line, and leave the new last line without one.
        lines[-1].eol = eol
        lines.append(Line(marker(key), eol))
        lines.append(Line("%s=%s" % (key, value), ""))
    else:
        lines.append(Line(marker(key), eol))
        lines.append(Line("%s=%s" % (key, value), eol))


def _find(lines, keys):
    """The assignments of each key that make its value, in file order (empty when the key is missing).

    That is one ``KEY=value``, or bash's ``KEY+=more`` lines after it (the value is then their
    concatenation). A key assigned with ``=`` twice is a MailcowConfError: bash and docker compose
    would use only the last one, so editing either would not do what it seems to.
    """
    by_key = {key: [] for key in keys}
    for assignment in scan(lines):
        if assignment.key in by_key:
            by_key[assignment.key].append(assignment)
    for key, assignments in by_key.items():
        resets = [a for a in assignments[1:] if not a.append]
        if resets:
            numbers = [a.line_number for a in assignments if a is assignments[0] or not a.append]
            raise MailcowConfError(
                "%s is set more than once, on lines %s; docker compose and bash would use only the last one, "
                "so remove the others first" % (key, " and ".join(str(n) for n in numbers)),
                key=key,
                lines=numbers,
            )
    return by_key


def _effective(assignments):
    """The value bash gives a key: the first value and every ``+=`` after it, concatenated."""
    return "".join(assignment.value for assignment in assignments)


def _check_editable(assignment):
    if assignment.problem:
        raise MailcowConfError(
            "line %d: the value of %s %s, so it cannot be edited safely; write it as KEY=a,b or KEY=\"a,b\""
            % (assignment.line_number, assignment.key, assignment.problem),
            key=assignment.key,
            lines=(assignment.line_number,),
        )


def get_values(text, key):
    """The entries of ``key`` in ``text`` (stripped, in order), or None when the key is not set."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    assignments = _find(split_lines(text), [key])[key]
    if not assignments:
        return None
    for assignment in assignments:
        _check_editable(assignment)
    return [entry.strip() for entry in _entries(_effective(assignments)) if entry.strip()]


def ensure_names(text, names, keys=DEFAULT_KEYS, state="present"):
    """Return ``(new_text, changes)`` with ``names`` present in (or absent from) the list of each key.

    ``text`` is str or bytes (bytes come back as bytes; undecodable bytes survive unchanged).
    ``changes`` maps every key to ``{added, removed, line_added, line_removed}``: the names added,
    the entries removed, whether the key's line was appended or our appended lines were removed.
    Raises SpecError for bad names, keys or state and MailcowConfError when the file cannot be
    edited safely (a key set twice, a value that spans lines or mixes quotes, a quote never closed).
    """
    if state not in STATES:
        raise SpecError("state", "must be one of %s, got %r" % (", ".join(STATES), state))
    keys = normalize_keys(keys)
    names = normalize_names(names)
    as_bytes = isinstance(text, (bytes, bytearray))
    if as_bytes:
        text = bytes(text).decode("utf-8", "surrogateescape")

    lines = split_lines(text)
    found = _find(lines, keys)
    changes = {key: {"added": [], "removed": [], "line_added": False, "line_removed": False} for key in keys}
    for assignments in found.values():
        for assignment in assignments:
            _check_editable(assignment)

    if state == "present":
        for key in keys:
            assignments = found[key]
            if not assignments:
                if names:
                    _append_block(lines, key, ",".join(names))
                    changes[key]["added"] = list(names)
                    changes[key]["line_added"] = True
                continue
            # Names missing from the value bash sees go at its end: after the last ``+=`` line.
            effective = _effective(assignments)
            extended, added = _add(effective, names)
            if added:
                last = assignments[-1]
                last.value += extended[len(effective):]
                lines[last.index].content = last.render()
                changes[key]["added"] = added
    else:
        # Bottom-up, so removing a block does not move the lines of the ones still to do.
        present = sorted((a for assignments in found.values() for a in assignments), key=lambda a: a.index, reverse=True)
        for assignment in present:
            assignment.value, removed = _remove(assignment.value, names)
            if not removed:
                continue
            changes[assignment.key]["removed"] += [name for name in removed if name not in changes[assignment.key]["removed"]]
            if assignment.value == "" and len(found[assignment.key]) == 1 and _is_our_block(lines, assignment):
                _drop_block(lines, assignment)
                changes[assignment.key]["line_removed"] = True
            else:
                lines[assignment.index].content = assignment.render()

    new_text = join_lines(lines)
    if as_bytes:
        return new_text.encode("utf-8", "surrogateescape"), changes
    return new_text, changes


def redact(text, keep=()):
    """``text`` with the values of secret-looking keys (live or commented out) replaced by REDACTED.

    For showing mailcow.conf in a diff: it holds the database, Redis and API secrets. Keys in
    ``keep`` are shown as they are. Lines are neither added nor removed, so a diff of two redacted
    texts shows the same lines as a diff of the originals.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    lines = split_lines(text)
    try:
        assignments = scan(lines)
    except MailcowConfError:
        assignments = []
    for assignment in assignments:
        if assignment.key in keep or not (_SECRET_KEY.search(assignment.key) or _secret_value(assignment, lines)):
            continue
        first = lines[assignment.index]
        value_text = first.content[len(assignment.head):]
        if value_text.strip():
            first.content = assignment.head + REDACTED
        for index in range(assignment.index + 1, assignment.last + 1):
            lines[index].content = REDACTED
    for line in lines:
        match = _COMMENTED_ASSIGNMENT.match(line.content)
        if not match or match.group("key") in keep or not match.group("rest").strip():
            continue
        if _SECRET_KEY.search(match.group("key")) or _SECRET_VALUE.match(match.group("rest").strip().strip("\"'")):
            line.content = match.group("head") + REDACTED
    return join_lines(lines)


def _secret_value(assignment, lines):
    """True when the value itself looks like a secret, whatever its key is called."""
    if assignment.last != assignment.index:
        return True  # a value spanning lines (a key file, a JSON body): show none of it
    return bool(_SECRET_VALUE.match(assignment.value.strip()))


def update_file(path, names, keys=DEFAULT_KEYS, state="present", backup=False, check_mode=False):
    """Apply ``ensure_names`` to the file at ``path``; write it only when it changes and not in check mode.

    Returns ``{changed, changes, backup_file, before, after, stale_removed}``; ``before``/``after`` are
    the texts for a diff, secrets redacted; ``stale_removed`` lists the temporary copies a killed
    earlier write had left (removed on every run that is not in check mode, whether or not the file
    changes). Every error (missing or unreadable file, a key set twice, a write that fails) raises a
    MailsecError naming the file, and the file is then left as it was.
    """
    original = files.read_bytes(path)
    stale_removed = [] if check_mode else files.remove_stale_temporaries(os.path.realpath(path))
    try:
        updated, changes = ensure_names(original, names, keys, state)
    except MailcowConfError as exc:
        exc.path = path
        raise
    keys = normalize_keys(keys)
    changed = updated != original
    backup_file = None
    if changed and not check_mode:
        backup_file = files.write_atomic(path, updated, backup=backup)
    return {
        "changed": changed,
        "changes": changes,
        "backup_file": backup_file,
        "before": _display(redact(original, keep=keys)),
        "after": _display(redact(updated, keep=keys)),
        "stale_removed": stale_removed,
    }


def _display(text):
    # A diff must be valid UTF-8 text: show undecodable bytes as U+FFFD there (the file keeps them).
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
