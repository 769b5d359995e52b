# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Add a TLS policy table to mailcow's postfix ``smtp_tls_policy_maps`` through ``extra.cf``.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.

What mailcow does (mailcow-dockerized, read from its source):

- ``data/conf/postfix/main.cf`` is mailcow's own file. Its line ``# DO NOT EDIT ANYTHING BELOW #`` is
  followed by ``# Overrides #``; at every start of postfix-mailcow, ``data/Dockerfiles/postfix/postfix.sh``
  cuts main.cf after the first line containing ``Overrides`` (``sed -i '/Overrides/q'``), appends the
  DNS blocklists and then the whole of ``data/conf/postfix/extra.cf`` (after putting a
  ``myhostname = $MAILCOW_HOSTNAME`` line at its top). So extra.cf is read only when the container
  starts, and what it sets wins over main.cf because it comes last.
- main.cf sets ``smtp_tls_policy_maps = proxy:mysql:/opt/postfix/conf/sql/mysql_tls_policy_override_maps.cf``:
  the per-destination TLS policy overrides an administrator sets in the mailcow UI (table
  ``tls_policy_override``). From release 2025-09 it adds ``socketmap:inet:postfix-tlspol:8642:QUERY``,
  mailcow's own MTA-STS and DANE policy service.

So our setting in extra.cf repeats mailcow's tables and inserts ours right after the override map:
postfix searches the tables in order and takes the first match, and an administrator's explicit
override must keep winning over any automatic policy (the only way to relax a broken receiver's policy).
"""

from __future__ import annotations

import os
import re

from ansible_collections.mailsec.posture.plugins.module_utils import files, postfix_conf
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

PARAMETER = "smtp_tls_policy_maps"
MAIN_CF = os.path.join("data", "conf", "postfix", "main.cf")
EXTRA_CF = os.path.join("data", "conf", "postfix", "extra.cf")
DEFAULT_MARKER = "mailsec.posture.mailcow_mta_sts_resolver"
# postfix.sh keeps main.cf up to the first line containing this word and appends the rest itself.
_OVERRIDES = "Overrides"
_OVERRIDE_MAP = re.compile(r"tls_policy_override", re.IGNORECASE)
_POLICY_SERVICE = re.compile(r"^(socketmap|tcp):", re.IGNORECASE)


def mailcow_own_part(main_cf):
    """main.cf up to (not including) the first line containing ``Overrides``: what mailcow itself sets."""
    kept = []
    for line in postfix_conf.split_lines(main_cf):
        if _OVERRIDES in line:
            break
        kept.append(line)
    return "".join(kept)


def mailcow_policy_maps(main_cf):
    """The tables of mailcow's own ``smtp_tls_policy_maps`` in main.cf, in order (empty when unset)."""
    return postfix_conf.split_list(postfix_conf.parameter_value(mailcow_own_part(main_cf), PARAMETER))


def policy_services(tables, ours=None):
    """The tables among ``tables`` that ask a policy daemon (socketmap or tcp), other than ``ours``."""
    return [table for table in tables if _POLICY_SERVICE.match(table) and table != ours]


def compose_policy_maps(mailcow_tables, table):
    """mailcow's tables with ``table`` inserted after the last override map (first when there is none)."""
    tables = [entry for entry in mailcow_tables if entry != table]
    position = 0
    for index, entry in enumerate(tables):
        if _OVERRIDE_MAP.search(entry):
            position = index + 1
    return tables[:position] + [table] + tables[position:]


def plan(main_cf, extra_cf, table, state="present", marker=DEFAULT_MARKER, conflicts="fail"):
    """The new extra.cf text and what it means, from the texts of main.cf and extra.cf.

    Returns ``{text, policy_maps, mailcow_policy_maps, policy_services, conflicts, moved}``;
    ``policy_maps`` is the value written (None for ``absent``).
    """
    if state == "present" and (not table or any(char.isspace() or char == "," for char in table)):
        raise postfix_conf.PostfixConfError("table must be one postfix table such as socketmap:inet:host:8461:postfix, got %r" % (table,))
    mailcow_tables = mailcow_policy_maps(main_cf)
    policy_maps = compose_policy_maps(mailcow_tables, table) if state == "present" else None
    comment = (
        "Outbound MTA-STS: mailcow's own TLS policy maps (from main.cf) with the MTA-STS resolver",
        "after mailcow's per-destination overrides. Written by Ansible; change the role's variables instead.",
    )
    parameters = [(PARAMETER, " ".join(policy_maps))] if policy_maps else []
    text, report = postfix_conf.ensure_parameters(extra_cf, marker, parameters, state, comment=comment, conflicts=conflicts)
    return {
        "text": text,
        "policy_maps": policy_maps,
        "mailcow_policy_maps": mailcow_tables,
        "policy_services": policy_services(mailcow_tables, table),
        "conflicts": report["conflicts"],
        "moved": report["moved"],
    }


def update(mailcow_dir, table, state="present", marker=DEFAULT_MARKER, conflicts="fail", backup=False, check_mode=False):
    """Apply ``plan`` to the install at ``mailcow_dir``; write extra.cf only when it changes and not in check mode.

    main.cf must exist (it is how a mailcow tree is recognised). A missing extra.cf is created (mode
    0644, as mailcow's container would) for ``present`` and left missing for ``absent``. Returns the
    plan's fields plus ``changed``, ``created``, ``path``, ``backup_file``, ``before`` and ``after``.
    """
    main_path = os.path.join(mailcow_dir, MAIN_CF)
    extra_path = os.path.join(mailcow_dir, EXTRA_CF)
    try:
        main_cf = files.read_bytes(main_path).decode("utf-8", "surrogateescape")
    except files.FileMissingError:
        raise MailsecError("%s does not exist: %s is not a mailcow-dockerized directory" % (main_path, mailcow_dir)) from None
    try:
        original = files.read_bytes(extra_path).decode("utf-8", "surrogateescape")
        exists = True
    except files.FileMissingError:
        original, exists = "", False
    try:
        outcome = plan(main_cf, original, table, state, marker, conflicts)
    except postfix_conf.PostfixConfError as exc:
        raise postfix_conf.PostfixConfError(exc.reason, path=extra_path) from None
    updated = outcome.pop("text")
    changed = updated != original and (exists or state == "present")
    backup_file = None
    if changed and not check_mode:
        backup_file = files.write_atomic(extra_path, updated.encode("utf-8", "surrogateescape"), mode=files.DEFAULT_MODE, backup=backup)
    outcome.update(
        changed=changed, created=changed and not exists, path=extra_path, backup_file=backup_file,
        before=_display(original), after=_display(updated if changed else original),
    )
    return outcome


def _display(text):
    # A diff must be valid UTF-8 text: show undecodable bytes as U+FFFD there (the file keeps them).
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
