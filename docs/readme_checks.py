# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the README's troubleshooting table (check -> verifier -> fix) from docs/checks.md and docs/checks-transport.md.

    python docs/readme_checks.py            # rewrite the table in README.md
    python docs/readme_checks.py --check    # exit 1 when the table is stale

The two pages are the one place where a check is explained; the README only repeats, mechanically,
each check's fix. The table sits between the BEGIN and END markers below; the rest of the README is
written by hand. A check is read from the first column of a table row (``| `name` | ...``) below a
heading that names its verifier; its fix is the ``fix`` column of docs/checks.md or, in
docs/checks-transport.md, the ``- **`name`**: ...`` bullet of a ``### Fixes`` list. A check that
appears in both pages (``mta_sts.txt``) lists both verifiers and keeps the first page's fix.
"""

from __future__ import annotations

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
# (page, the verifier its tables are about until a heading names another one)
SOURCES = (("docs/checks.md", "verify_dns"), ("docs/checks-transport.md", None))

BEGIN = "<!-- BEGIN CHECKS: written by docs/readme_checks.py from docs/checks.md and docs/checks-transport.md; do not edit by hand -->"
END = "<!-- END CHECKS -->"

_ROW = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \|(.*)\|\s*$")
_HEADER = re.compile(r"^\|\s*check\s*\|(.*)\|\s*$")
_BULLET = re.compile(r"^- \*\*`([a-z_]+\.[a-z_]+)`\*\*:\s*(.*)$")
_HEADING = re.compile(r"^(#+)\s+(.*)$")
_VERIFIER = re.compile(r"`(verify_[a-z_]+)`")


def _cells(text):
    """The cells of a table row's remainder, split on unescaped pipes."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", text)]


def _cell(text):
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def parse_page(path, verifier=None):
    """``[(name, verifier, fix or None)]`` in page order, and the errors found while reading.

    ``path`` is relative to the repository or absolute; ``verifier`` applies until a heading names one.
    """
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    found, fixes, errors = [], {}, []
    columns = None
    bullet = None
    for number, line in enumerate(lines, 1):
        heading = _HEADING.match(line)
        if heading:
            named = _VERIFIER.findall(heading.group(2))
            if len(heading.group(1)) <= 2 and len(named) == 1:
                verifier = named[0]
            columns = None
        header = _HEADER.match(line)
        if header:
            columns = [cell.lower() for cell in _cells(header.group(1))]
            continue
        row = _ROW.match(line)
        if row and columns is not None:
            if verifier is None:
                errors.append("%s:%d: check %s is in a table under no heading that names its verifier" % (path, number, row.group(1)))
                continue
            cells = _cells(row.group(2))
            fix = cells[columns.index("fix")] if "fix" in columns and len(cells) > columns.index("fix") else None
            found.append((row.group(1), verifier, fix or None))
            continue
        if not line.startswith("|"):
            columns = None
        match = _BULLET.match(line)
        if match:
            bullet = match.group(1)
            if bullet in fixes:
                errors.append("%s:%d: a second fix for %s" % (path, number, bullet))
            fixes[bullet] = match.group(2).strip()
        elif bullet and line.startswith("  ") and line.strip():
            fixes[bullet] += " " + line.strip()
        else:
            bullet = None
    named = {name for name, _verifier, _fix in found}
    for name in fixes:
        if name not in named:
            errors.append("%s: a fix for %s, which no table lists" % (path, name))
    return [(name, where, fix or fixes.get(name)) for name, where, fix in found], errors


def documented_checks(sources=SOURCES):
    """``(checks, errors)``: ``checks`` maps each name, in first-seen order, to ``{"verifiers": [...], "fix": text}``."""
    checks, errors = {}, []
    for path, verifier in sources:
        entries, page_errors = parse_page(path, verifier)
        errors += page_errors
        for name, where, fix in entries:
            entry = checks.setdefault(name, {"verifiers": [], "fix": None})
            if where not in entry["verifiers"]:
                entry["verifiers"].append(where)
            if entry["fix"] is None:
                entry["fix"] = fix
    for name, entry in checks.items():
        if not entry["fix"]:
            errors.append("check %s has no fix in %s" % (name, " or ".join(path for path, _verifier in sources)))
    return checks, errors


def render(sources=SOURCES):
    """The generated section, markers included."""
    checks, errors = documented_checks(sources)
    if errors:
        raise ValueError("; ".join(errors))
    lines = [BEGIN, "", "| check | verifier | fix |", "|---|---|---|"]
    for name, entry in checks.items():
        verifiers = ", ".join("`%s`" % verifier for verifier in entry["verifiers"])
        lines.append("| `%s` | %s | %s |" % (name, verifiers, _cell(entry["fix"])))
    lines += ["", END]
    return "\n".join(lines)


def updated_readme(path=README, sources=SOURCES):
    """``(current text, text with the table rewritten)`` of the README."""
    with open(path, encoding="utf-8") as handle:
        current = handle.read()
    if BEGIN not in current or END not in current:
        raise ValueError("%s has no %s ... %s section" % (path, BEGIN, END))
    head, rest = current.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return current, head + render(sources) + tail


def main(argv):
    check = "--check" in argv
    current, wanted = updated_readme()
    if current == wanted:
        return 0
    if check:
        print("README.md: the troubleshooting table is stale; run python docs/readme_checks.py", file=sys.stderr)
        return 1
    with open(README, "w", encoding="utf-8") as handle:
        handle.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
