# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every verifier module (``verify_dns``, ``verify_mta_sts``, ``verify_smtp_tls``) shares:
its argument spec and how it runs.

Private to the collection: users may rely only on plugins and modules.
Not part of the engine: this is the module side, so it imports Ansible's module_utils.
"""

from __future__ import annotations

import copy
import gc

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.posture.plugins.module_utils import verify_input
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def verify_argument_spec(without=(), fleet=False, **options):
    """The verifiers' common options less those named in ``without``, then the module's own ``options``.

    ``fleet`` adds ``processes`` and ``passing_checks`` (the doc fragment mailsec.posture.verify.fleet).
    """
    spec = copy.deepcopy(verify_input.COMMON_ARGUMENT_SPEC)
    for name in without:
        spec.pop(name)
    spec.update(options)
    if fleet:
        spec.update(copy.deepcopy(verify_input.PROCESSES_ARGUMENT_SPEC))
        spec.update(copy.deepcopy(verify_input.PASSING_CHECKS_ARGUMENT_SPEC))
    return spec


def run_verify_module(argument_spec, run, supports_check_mode=True):
    """Make the AnsibleModule, call ``run(params) -> (result, failure)`` and exit with its result.

    A MailsecError (bad input) fails the task with its message; a ``failure`` message (checks
    at or above ``fail_on`` failed) fails it with the whole result, so the report still arrives.
    """
    # The process ends with exit_json. Without the cyclic collector, the engine's run and Ansible's
    # walks over a large result (remove_values, the JSON encoding) are not interrupted by
    # collections that find nothing to free (reference counting frees it all).
    gc.disable()
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=verify_input.COMMON_MUTUALLY_EXCLUSIVE,
        required_one_of=verify_input.COMMON_REQUIRED_ONE_OF,
        supports_check_mode=supports_check_mode,
    )
    try:
        result, failure = run(module.params)
    except MailsecError as exc:
        module.fail_json(msg=str(exc), changed=False)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
