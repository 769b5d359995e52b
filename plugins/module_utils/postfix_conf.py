# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and edit postfix ``main.cf``-style files line by line, keeping every byte that is not ours.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.

postfix's syntax (postconf(5)): a logical line starts with non-white-space text; a line that starts
with white space continues it; empty lines, white-space-only lines and lines whose first
non-white-space character is ``#`` are ignored (also between a line and its continuation). When a
parameter is set more than once, the last setting counts.

Our parameters live in one block between ``# BEGIN <marker>`` and ``# END <marker>``: setting them
rewrites only that block, removing them deletes only that block, and every other line stays as it
was, byte for byte (line endings included).
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils import marked_block
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

_PARAMETER = re.compile(r"^(?P<name>[A-Za-z0-9_]+)[ \t]*=[ \t]*(?P<value>.*?)[ \t]*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_LIST_SEPARATOR = re.compile(r"[\s,]+")


class PostfixConfError(MailsecError):
    """A file this module cannot edit safely, or parameters it cannot write; the message says where and why."""

    def __init__(self, message, path=None):
        self.path = path
        self.reason = message
        super().__init__("%s: %s" % (path, message) if path else message)


class Definition:
    """One parameter setting: its logical line spans physical lines ``first`` to ``last`` (0-based)."""

    def __init__(self, name, value, first, last):
        self.name = name
        self.value = value
        self.first = first
        self.last = last

    def __repr__(self):
        return "Definition(%r, %r, %d, %d)" % (self.name, self.value, self.first, self.last)


def split_lines(text):
    """The physical lines of ``text``, each with its own line ending (the last may have none)."""
    return text.splitlines(keepends=True)


def _content(line):
    return line.rstrip("\r\n")


def _is_ignored(content):
    stripped = content.strip()
    return not stripped or stripped.startswith("#")


def definitions(lines):
    """Every parameter setting in ``lines``, in order, with continuation lines joined by one space."""
    found = []
    current = None
    for index, line in enumerate(lines):
        content = _content(line)
        if _is_ignored(content):
            continue
        if content[0] in " \t":
            if current is not None:
                current.value = ("%s %s" % (current.value, content.strip())).strip()
                current.last = index
            continue
        match = _PARAMETER.match(content)
        current = Definition(match.group("name"), match.group("value"), index, index) if match else None
        if current is not None:
            found.append(current)
    return found


def parameter_value(text, name):
    """The value postfix would use for ``name`` in ``text`` (its last setting), or None when unset."""
    value = None
    for definition in definitions(split_lines(text)):
        if definition.name == name:
            value = definition.value
    return value


def split_list(value):
    """A postfix list value (``a, b c``) as its entries."""
    return [entry for entry in _LIST_SEPARATOR.split(value or "") if entry]


def markers(marker):
    """The first and last line of our block, without line endings."""
    return marked_block.markers(marker, PostfixConfError)


def find_block(lines, marker):
    """``(first, last)`` line indexes of our block, or None; a broken or repeated block is an error."""
    return marked_block.find_block(lines, marker, PostfixConfError)


def line_ending(lines):
    """The file's line ending: that of its first line, else ``\\n``."""
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def _check_parameters(parameters):
    checked = []
    for name, value in parameters:
        if not isinstance(name, str) or not _NAME.match(name):
            raise PostfixConfError("%r is not a postfix parameter name (letters, digits and _ only)" % (name,))
        value = "" if value is None else str(value)
        if "\n" in value or "\r" in value:
            raise PostfixConfError("the value of %s must be one line, got %r" % (name, value))
        checked.append((name, value.strip()))
    names = [name for name, _value in checked]
    if len(set(names)) != len(names):
        raise PostfixConfError("a parameter is given twice: %s" % ", ".join(sorted({n for n in names if names.count(n) > 1})))
    return checked


def render_block(marker, parameters, comment=(), newline="\n"):
    """Our block's lines: the BEGIN marker, ``# comment`` lines, ``name = value`` lines, the END marker."""
    begin, end = markers(marker)
    body = [begin] + ["# %s" % text if text else "#" for text in comment]
    body += ["%s = %s" % (name, value) if value else "%s =" % name for name, value in _check_parameters(parameters)]
    body.append(end)
    return [line + newline for line in body]


def ensure_parameters(text, marker, parameters, state="present", comment=(), conflicts="fail"):
    """Set (``present``) or remove (``absent``) our block of ``parameters`` in the main.cf-style ``text``.

    ``parameters`` is a list of ``(name, value)``. Returns ``(new_text, report)``; ``report`` has
    ``conflicts`` (settings of our parameters outside the block: ``{line, name, value}``, 1-based) and
    ``moved`` (the block had to move to the end so that it comes after them and wins).

    A new block goes at the end of the file (a last line without a line ending gets one). An existing
    block is rewritten where it is. ``conflicts="fail"`` refuses when the file sets one of our
    parameters outside the block, since one of the two settings would silently lose;
    ``"override"`` keeps such settings and makes sure ours comes last. ``absent`` deletes the block
    and nothing else.
    """
    if conflicts not in ("fail", "override"):
        raise PostfixConfError("conflicts must be fail or override, got %r" % (conflicts,))
    if state not in ("present", "absent"):
        raise PostfixConfError("state must be present or absent, got %r" % (state,))
    lines = split_lines(text)
    block = find_block(lines, marker)

    if state == "absent":
        if block is None:
            return text, {"conflicts": [], "moved": False}
        first, last = block
        return "".join(lines[:first] + lines[last + 1:]), {"conflicts": [], "moved": False}

    names = {name for name, _value in _check_parameters(parameters)}
    outside = [
        definition for definition in definitions(lines)
        if definition.name in names and (block is None or not block[0] <= definition.first <= block[1])
    ]
    found = [{"line": definition.first + 1, "name": definition.name, "value": definition.value} for definition in outside]
    if outside and conflicts == "fail":
        raise PostfixConfError(
            "already sets %s outside the block this module manages (%s); postfix uses only the last setting, so one "
            "of the two would be ignored. Remove that setting, or merge it into the managed value and let the "
            "module override it" % (
                ", ".join(sorted({item["name"] for item in found})),
                "; ".join("line %d: %s = %s" % (item["line"], item["name"], item["value"]) for item in found),
            )
        )

    newline = line_ending(lines)
    rendered = render_block(marker, parameters, comment, newline)
    moved = False
    if block is not None:
        first, last = block
        if outside and max(definition.last for definition in outside) > last:
            # A setting after our block would win over ours: take the block out and append it.
            lines = lines[:first] + lines[last + 1:]
            block = None
            moved = True
        else:
            return "".join(lines[:first] + rendered + lines[last + 1:]), {"conflicts": found, "moved": False}
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    return "".join(lines + rendered), {"conflicts": found, "moved": moved}
