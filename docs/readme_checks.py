# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the README's troubleshooting table (check -> verifier -> fix) and the report's fix data
(plugins/module_utils/check_docs.py) from docs/checks.md and docs/checks-transport.md.

    python docs/readme_checks.py            # rewrite the table in README.md and check_docs.py
    python docs/readme_checks.py --check    # exit 1 when either is stale

The two pages are the one place where a check is explained; the README only repeats, mechanically,
each check's fix. The table sits between the BEGIN and END markers below; the rest of the README is
written by hand. A check is read from the first column of a table row (``| `name` | ...``) below a
heading that names its verifier; its fix is the ``fix`` column of docs/checks.md or, in
docs/checks-transport.md, the ``- **`name`**: ...`` bullet of a ``### Fixes`` list. A check that
appears in both pages (``mta_sts.txt``) lists both verifiers and keeps the first page's fix.
The HTML report shows the same fix beside a failing check, with a link to the section that holds it
(``doc``: the page and GitHub's anchor of its heading), and the fixes of the "When a lookup itself
fails" table beside a domain that does not resolve: check_docs.py carries them into the collection.
"""

from __future__ import annotations

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
DATA_MODULE = os.path.join(ROOT, "plugins", "module_utils", "check_docs.py")
# Where the pages are read online: the report links there (galaxy.yml's repository, branch main).
DOCS_URL = "https://github.com/mailsec/posture/blob/main/"
LOOKUP_HEADING = "When a lookup itself fails"
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


def slug(heading, seen):
    """GitHub's anchor of a heading (lower case, punctuation dropped, spaces to hyphens; ``-1``... for repeats)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    count = seen.get(text, 0)
    seen[text] = count + 1
    return text if count == 0 else "%s-%d" % (text, count)


def parse_page(path, verifier=None, lookups=None):
    """``[(name, verifier, fix or None, doc)]`` in page order, and the errors found while reading.

    ``path`` is relative to the repository or absolute; ``verifier`` applies until a heading names one.
    ``doc`` is ``path#anchor`` of the section that holds the fix. Rows of the "When a lookup itself
    fails" table are appended to ``lookups`` (when given) as ``{detail, meaning, fix, doc}``.
    """
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    found, fixes, errors = [], {}, []
    fix_docs = {}
    columns = None
    bullet = None
    anchors = {}
    section = heading_text = ""
    for number, line in enumerate(lines, 1):
        heading = _HEADING.match(line)
        if heading:
            named = _VERIFIER.findall(heading.group(2))
            if len(heading.group(1)) <= 2 and len(named) == 1:
                verifier = named[0]
            columns = None
            heading_text = heading.group(2).strip()
            section = "%s#%s" % (path if not os.path.isabs(path) else os.path.basename(path), slug(heading_text, anchors))
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
            found.append((row.group(1), verifier, fix or None, section))
            continue
        if lookups is not None and heading_text == LOOKUP_HEADING and line.startswith("| `"):
            detail, meaning, fix = _cells(line.strip()[1:-1])
            lookups.append({"detail": detail, "meaning": meaning, "fix": fix, "doc": section})
            continue
        if not line.startswith("|"):
            columns = None
        match = _BULLET.match(line)
        if match:
            bullet = match.group(1)
            if bullet in fixes:
                errors.append("%s:%d: a second fix for %s" % (path, number, bullet))
            fixes[bullet] = match.group(2).strip()
            fix_docs[bullet] = section
        elif bullet and line.startswith("  ") and line.strip():
            fixes[bullet] += " " + line.strip()
        else:
            bullet = None
    named = {entry[0] for entry in found}
    for name in fixes:
        if name not in named:
            errors.append("%s: a fix for %s, which no table lists" % (path, name))
    return [(name, where, fix or fixes.get(name), doc if fix else fix_docs.get(name, doc)) for name, where, fix, doc in found], errors


def documented_checks(sources=SOURCES, lookups=None):
    """``(checks, errors)``: ``checks`` maps each name, in first-seen order, to ``{"verifiers": [...], "fix": text,
    "doc": "page#anchor"}``; ``lookups`` (a list, when given) receives the lookup failure rows."""
    checks, errors = {}, []
    for path, verifier in sources:
        entries, page_errors = parse_page(path, verifier, lookups)
        errors += page_errors
        for name, where, fix, doc in entries:
            entry = checks.setdefault(name, {"verifiers": [], "fix": None, "doc": None})
            if where not in entry["verifiers"]:
                entry["verifiers"].append(where)
            if entry["fix"] is None:
                entry["fix"] = fix
                entry["doc"] = doc
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


def _literal(text, indent):
    """``text`` as a Python string literal, cut into pieces that keep lines short (implicit concatenation)."""
    pieces = re.findall(r".{1,100}(?:\s+|$)", text) or [""]
    if len(pieces) == 1:
        return json.dumps(text)
    return "(" + ("\n" + " " * (indent + 1)).join(json.dumps(piece) for piece in pieces) + ")"


def render_data_module(sources=SOURCES):
    """The text of plugins/module_utils/check_docs.py: every documented check's fix and section, and the lookup fixes."""
    lookups = []
    checks, errors = documented_checks(sources, lookups)
    if errors:
        raise ValueError("; ".join(errors))
    lines = [
        "# -*- coding: utf-8 -*-",
        "# Copyright: (c) 2026, mailsec.posture contributors",
        "# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)",
        "# SPDX-License-Identifier: GPL-3.0-or-later",
        "# Written by docs/readme_checks.py from docs/checks.md and docs/checks-transport.md; do not edit by hand.",
        '"""How to fix what each check finds, as docs/checks*.md say it (the one source), for the report.',
        "",
        "``CHECKS[name]`` is ``{fix, doc, verifiers}``: the fix in the pages' Markdown, and the page and anchor of its",
        "section (``DOCS_URL + doc`` reads it online). ``LOOKUP_FAILURES`` are the rows of the table of failed lookups.",
        "",
        "Private to the collection: users may rely only on plugins and modules.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "DOCS_URL = %s" % json.dumps(DOCS_URL),
        "",
        "CHECKS = {",
    ]
    for name, entry in checks.items():
        lines.append("    %s: {" % json.dumps(name))
        lines.append("        \"fix\": %s," % _literal(entry["fix"], 15))
        lines.append("        \"doc\": %s," % json.dumps(entry["doc"]))
        lines.append("        \"verifiers\": %s," % json.dumps(entry["verifiers"]))
        lines.append("    },")
    lines += ["}", "", "LOOKUP_FAILURES = ["]
    for row in lookups:
        lines.append("    {")
        for key in ("detail", "meaning", "fix", "doc"):
            lines.append("        %s: %s," % (json.dumps(key), _literal(row[key], 8 + len(key) + 4)))
        lines.append("    },")
    lines.append("]")
    return "\n".join(lines) + "\n"


def updated_readme(path=README, sources=SOURCES):
    """``(current text, text with the table rewritten)`` of the README."""
    with open(path, encoding="utf-8") as handle:
        current = handle.read()
    if BEGIN not in current or END not in current:
        raise ValueError("%s has no %s ... %s section" % (path, BEGIN, END))
    head, rest = current.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return current, head + render(sources) + tail


def updated_data_module(path=DATA_MODULE, sources=SOURCES):
    """``(current text or "", text as written from the pages)`` of check_docs.py."""
    current = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    return current, render_data_module(sources)


def main(argv):
    check = "--check" in argv
    stale = 0
    for path, (current, wanted) in ((README, updated_readme()), (DATA_MODULE, updated_data_module())):
        if current == wanted:
            continue
        if check:
            print("%s is stale; run python docs/readme_checks.py" % os.path.relpath(path, ROOT), file=sys.stderr)
            stale = 1
            continue
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(wanted)
    return stale


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
