# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the verifier modules document alike: the options they share word for word, and their attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # The options come from module_utils/verify_input.py's COMMON_ARGUMENT_SPEC (through
    # module_utils/verify_module.py). Options whose meaning differs between the verifiers
    # (nameservers, timeout, concurrency, expected, ...) stay documented in each module.
    DOCUMENTATION = r"""
options:
  domains:
    description:
      - Domain names to check. Mutually exclusive with O(mailsec_domains); one of them is required.
    type: list
    elements: str
  domain_defaults:
    description: The C(mailsec_domain_defaults) of the model. Used with O(mailsec_domains).
    type: dict
    default: {}
  fail_on:
    description:
      - C(fail) fails the task when any check fails; C(warn) also when a check warns; C(never) only reports.
    type: str
    choices: [fail, warn, never]
    default: fail
attributes:
  check_mode:
    description: Runs the same checks in check mode; nothing is ever changed.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: Read-only; running it again changes nothing (the live state may change between runs).
    support: full
"""
