# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Add, replace or remove one service in a compose file that others edit too (mailcow's override file).

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible. It needs PyYAML.

The file is edited as text, so the user's comments, order and formatting stay byte for byte: our
service is one block between ``# BEGIN <marker>`` and ``# END <marker>`` comment lines, written at
the end of the top-level ``services:`` mapping (or, with ``services:`` itself, at the end of a file
that has none). Every edit is checked by loading the old and the new text as YAML: the new file must
mean exactly the old one with our service set (or removed); anything else is refused, not written.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils import marked_block
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, kind_of

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with Ansible on the controller, not always on a host
    HAS_YAML = False
else:
    HAS_YAML = True

_SERVICES_LINE = re.compile(r"^services[ \t]*:[ \t]*(#.*)?$")
_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class ComposeError(MailsecError):
    """A compose file this module will not edit, or a service it cannot write; the message says why."""


def _require_yaml():
    if not HAS_YAML:
        raise ComposeError("editing a compose file needs the Python library PyYAML (python3-yaml) on the host")


def _content(line):
    return line.rstrip("\r\n")


def load(text):
    """The compose model in ``text`` (an empty file is an empty mapping); one YAML mapping or an error."""
    _require_yaml()
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ComposeError("is not valid YAML: %s" % exc) from None
    documents = [document for document in documents if document is not None]
    if not documents:
        return {}
    if len(documents) > 1 or not isinstance(documents[0], dict):
        raise ComposeError("must hold one YAML mapping (a compose file), not %s" % ("several documents" if len(documents) > 1 else kind_of(documents[0])))
    services = documents[0].get("services")
    if services is not None and not isinstance(services, dict):
        raise ComposeError("its services: must be a mapping, not %s" % kind_of(services))
    return documents[0]


def markers(marker):
    """The first and last line of our block, without line endings."""
    return marked_block.markers(marker, ComposeError)


def find_block(lines, marker):
    """``(first, last)`` line indexes of our block, or None; a broken or repeated block is an error."""
    return marked_block.find_block(lines, marker, ComposeError)


def render_service(name, definition, indent, eol="\n"):
    """``name:`` and its definition as block-style YAML lines, every line prefixed with ``indent``."""
    _require_yaml()
    text = yaml.safe_dump({name: definition}, default_flow_style=False, sort_keys=False, indent=2, width=1000)
    return [indent + line + eol for line in text.splitlines()]


def _line_ending(lines):
    """The file's line ending, that of its first line (CRLF files stay CRLF); LF for an empty file."""
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _ends_open(lines):
    return bool(lines) and not lines[-1].endswith(("\n", "\r"))


def _services_range(lines):
    """``(header, end)``: the index of the top-level ``services:`` line and the index after its block; or None."""
    for index, line in enumerate(lines):
        if _SERVICES_LINE.match(_content(line)):
            end = index + 1
            while end < len(lines):
                content = _content(lines[end])
                if content and content[0] not in " \t#":
                    break
                end += 1
            return index, end
    return None


def _child_indent(lines, header, end):
    for line in lines[header + 1:end]:
        content = _content(line)
        if content.strip() and not content.lstrip().startswith("#"):
            return content[:len(content) - len(content.lstrip())]
    return "  "


def _insertion_points(lines, header, end, indent):
    """Where our block may go inside ``services:``, best first: after the last line of data; after
    the last line indented deeper than a service (a comment there may be the last line of a ``|``
    block scalar, which a block inserted before it would cut off); at the very end of the mapping;
    first in the mapping (a file that ends in a ``|`` block without a final newline: ending that line
    would add a newline to the value)."""
    last_data = deeper = header
    for index in range(header + 1, end):
        content = _content(lines[index])
        if not content.strip():
            continue
        if not content.lstrip().startswith("#"):
            last_data = index
        if len(content) - len(content.lstrip()) > len(indent) or not content.lstrip().startswith("#"):
            deeper = index
    points = []
    for point in (last_data, deeper, end - 1, header):
        if point not in points:
            points.append(point)
    return points


def _newline_terminated(lines, eol="\n"):
    if _ends_open(lines):
        lines[-1] += eol
    return lines


def _close_open_end(new_lines, was_open):
    """A file that had no final newline gets none after our block either (``absent`` restores it exactly)."""
    if was_open and new_lines and new_lines[-1].endswith("\n"):
        new_lines[-1] = new_lines[-1][:-2] if new_lines[-1].endswith("\r\n") else new_lines[-1][:-1]
    return new_lines


def ensure_service(text, name, definition=None, state="present", marker="mailsec.posture"):
    """Set (``present``) or remove (``absent``) the service ``name`` in the compose file ``text``.

    Returns ``(new_text, warnings)``. Refuses (ComposeError) a file that defines ``name`` outside our
    block, a ``services:`` written in flow style, and any edit whose result would not load as the
    old model with just our service changed.
    """
    if not isinstance(name, str) or not _SERVICE_NAME.match(name):
        raise ComposeError("%r is not a compose service name" % (name,))
    if state not in ("present", "absent"):
        raise ComposeError("state must be present or absent, got %r" % (state,))
    if state == "present" and not isinstance(definition, dict):
        raise ComposeError("the definition of service %s must be a mapping" % name)
    model = load(text)
    lines = text.splitlines(keepends=True)
    block = find_block(lines, marker)
    begin, end = markers(marker)
    services = model.get("services") or {}
    warnings = []
    if "version" in model:
        warnings.append("the top-level version: key is obsolete in the Compose Specification and ignored by docker compose; "
                        "it was kept as it is")
    if block is None and name in services and state == "present":
        raise ComposeError("already defines a service %s that this module did not write; remove it, or give the "
                           "module another service name" % name)

    expected = dict(model)
    expected_services = dict(services)
    if state == "present":
        expected_services[name] = definition
    else:
        expected_services.pop(name, None)

    eol = _line_ending(lines)
    was_open = _ends_open(lines)
    expected["services"] = expected_services
    if state == "absent":
        if block is None:
            if name in services:
                warnings.append("defines a service %s that this module did not write; it was left as it is" % name)
            return text, warnings
        first, last = block
        new_lines = lines[:first] + lines[last + 1:]
        if last == len(lines) - 1 and _ends_open(lines) and 0 < first:
            # Our block ended the file without a final newline: the one put before it goes too.
            new_lines = _close_open_end(new_lines, True)
        candidates = [new_lines]
    elif block is not None:
        first, last = block
        indent = _content(lines[first])[:len(_content(lines[first])) - len(_content(lines[first]).lstrip())]
        if _SERVICES_LINE.match(_content(lines[first + 1]) if first + 1 < len(lines) else ""):
            # We wrote services: too, at the top level.
            service_lines = ["services:" + eol] + render_service(name, definition, "  ", eol)
        else:
            service_lines = render_service(name, definition, indent, eol)
        new_lines = lines[:first] + [indent + begin + eol] + service_lines + [indent + end + eol] + lines[last + 1:]
        candidates = [_close_open_end(new_lines, was_open and last == len(lines) - 1)]
    else:
        found = _services_range(lines)
        if found is None and "services" in model:
            raise ComposeError("its services: is not a block mapping at the top level (flow style?); write it in block "
                               "style so that a service can be added without rewriting the file")
        if found is None:
            new_lines = _newline_terminated(list(lines), eol) + [begin + eol, "services:" + eol] + render_service(name, definition, "  ", eol) + [end + eol]
            candidates = [_close_open_end(new_lines, was_open)]
        else:
            header, stop = found
            indent = _child_indent(lines, header, stop)
            candidates = []
            for after in _insertion_points(lines, header, stop, indent):
                head = _newline_terminated(list(lines[:after + 1]), eol)
                new_lines = head + [indent + begin + eol] + render_service(name, definition, indent, eol) + [indent + end + eol] + lines[after + 1:]
                candidates.append(_close_open_end(new_lines, was_open and after == len(lines) - 1))

    for new_lines in candidates:
        new_text = "".join(new_lines)
        if _normal(load(new_text)) == _normal(expected):
            return new_text, warnings
    raise ComposeError("editing the service %s as a text block would change the meaning of the rest of the file "
                       "(unusual indentation or anchors?); nothing was written" % name)


def _normal(model):
    """``model`` with an empty or null ``services`` left out: they mean the same to compose."""
    model = dict(model)
    if not model.get("services"):
        model.pop("services", None)
    return model
