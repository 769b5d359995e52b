# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the variables section of a role's README.md from its meta/argument_specs.yml.

    python docs/role_readme.py roles/<role> [roles/<role> ...]      # rewrite the section
    python docs/role_readme.py --check roles/<role> [...]           # exit 1 when a README is stale

The section sits between the BEGIN and END markers below; the rest of the README is written by hand.
Defaults come from argument_specs; an option whose default is computed (a Jinja expression in
defaults/main.yml, such as ``{{ mailsec_domains | default([]) }}``) shows that expression instead.
``consistency_errors`` lists every option documented but not defaulted (or the other way round) and
every default that differs between the two files; the unit tests call it.
"""

from __future__ import annotations

import os
import re
import sys

import yaml

BEGIN = "<!-- BEGIN VARIABLES: written by docs/role_readme.py from meta/argument_specs.yml; do not edit by hand -->"
END = "<!-- END VARIABLES -->"

# Ansible's documentation markup -> Markdown.
_MARKUP = [
    (re.compile(r"B\(([^)]*)\)"), r"**\1**"),
    (re.compile(r"I\(([^)]*)\)"), r"*\1*"),
    (re.compile(r"U\(([^)]*)\)"), r"<\1>"),
    (re.compile(r"L\(([^,)]*),\s*([^)]*)\)"), r"[\1](\2)"),
    (re.compile(r"P\(([^#)]*)#[^)]*\)"), r"`\1`"),
    (re.compile(r"O\(([^)=]*)=([^)]*)\)"), r"`\1=\2`"),
    (re.compile(r"(?:C|O|V|M|RV|E)\(((?:[^()]|\([^()]*\))*)\)"), r"`\1`"),
]


def markup(text):
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text


def _paragraphs(description):
    if description is None:
        return []
    if isinstance(description, str):
        description = [description]
    return [" ".join(str(item).split()) for item in description]


def _cell(text):
    return text.replace("|", "\\|")


def _value(value):
    if isinstance(value, str):
        return "`%s`" % value if value else '`""`'
    return "`%s`" % yaml.safe_dump(value, default_flow_style=True, width=1000).strip().replace("\n...", "")


def load(role_dir):
    with open(os.path.join(role_dir, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]["main"]
    defaults_path = os.path.join(role_dir, "defaults", "main.yml")
    defaults = {}
    if os.path.exists(defaults_path):
        with open(defaults_path, encoding="utf-8") as handle:
            defaults = yaml.safe_load(handle) or {}
    return specs, defaults


def _is_expression(value):
    return isinstance(value, str) and "{{" in value


def consistency_errors(role_dir):
    """Differences between argument_specs and defaults/main.yml, as sentences."""
    specs, defaults = load(role_dir)
    options = specs.get("options", {})
    errors = []
    for name, option in options.items():
        if name not in defaults and not option.get("required"):
            errors.append("%s is documented but has no value in defaults/main.yml" % name)
            continue
        if name not in defaults:
            continue
        if "default" in option:
            if defaults[name] != option["default"]:
                errors.append("%s: argument_specs says %r, defaults/main.yml %r" % (name, option["default"], defaults[name]))
        elif not _is_expression(defaults[name]):
            errors.append("%s: defaults/main.yml sets %r, which argument_specs should state as its default" % (name, defaults[name]))
        if not option.get("description"):
            errors.append("%s has no description" % name)
    for name in defaults:
        if name not in options:
            errors.append("%s is in defaults/main.yml but not in argument_specs" % name)
    return errors


def render(role_dir):
    """The generated section, markers included."""
    specs, defaults = load(role_dir)
    lines = [BEGIN, "", "## Variables", ""]
    lines += [markup(text) for text in _paragraphs(specs.get("short_description"))]
    lines += ["", "| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in specs.get("options", {}).items():
        kind = option.get("type", "str")
        if option.get("elements"):
            kind = "%s of %s" % (kind, option["elements"])
        if "default" in option:
            default = _value(option["default"])
        elif name in defaults:
            default = _value(defaults[name])
        else:
            default = "required" if option.get("required") else ""
        text = " ".join(markup(paragraph) for paragraph in _paragraphs(option.get("description")))
        if option.get("choices"):
            text += " Choices: %s." % ", ".join(_value(choice) for choice in option["choices"])
        if option.get("no_log"):
            text += " Never logged."
        lines.append("| `%s` | %s | %s | %s |" % (name, kind, _cell(default), _cell(text)))
    lines += ["", END]
    return "\n".join(lines)


def updated_readme(role_dir):
    """``(current text, text with the section rewritten)`` of the role's README.md."""
    path = os.path.join(role_dir, "README.md")
    with open(path, encoding="utf-8") as handle:
        current = handle.read()
    if BEGIN not in current or END not in current:
        raise ValueError("%s has no %s ... %s section" % (path, BEGIN, END))
    head, rest = current.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return current, head + render(role_dir) + tail


def main(argv):
    check = "--check" in argv
    roles = [arg for arg in argv if arg != "--check"]
    stale = []
    for role_dir in roles:
        current, wanted = updated_readme(role_dir)
        problems = consistency_errors(role_dir)
        for problem in problems:
            print("%s: %s" % (role_dir, problem), file=sys.stderr)
        if current != wanted:
            if check:
                stale.append(role_dir)
            else:
                with open(os.path.join(role_dir, "README.md"), "w", encoding="utf-8") as handle:
                    handle.write(wanted)
        if problems:
            stale.append(role_dir)
    for role_dir in stale:
        print("%s: README.md or argument_specs need attention" % role_dir, file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
