# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every mailcow API module shares: its connection options and how it runs.

Private to the collection: users may rely only on plugins and modules.
Not part of the engine: this is the module side, so it imports Ansible's module_utils.
The options are documented once, in the doc fragment ``mailsec.posture.mailcow_api``.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.mailcow_api import DEFAULT_TIMEOUT, MailcowApiError, MailcowClient


def mailcow_argument_spec(**options):
    """The argument spec of a mailcow API module: the connection options, then the module's own ``options``."""
    spec = dict(
        api_url=dict(type="str", required=True, fallback=(env_fallback, ["MAILCOW_API_URL"])),
        api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["MAILCOW_API_KEY"])),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    )
    spec.update(options)
    return spec


def run_mailcow_module(module, ensure):
    """Connect as the module's options say, call ``ensure(client)`` and exit with its result.

    ``ensure`` returns the module's result with a ``diff`` (shown only in diff mode) and optionally
    ``warnings``. Every engine error becomes ``fail_json``; a MailcowApiError says whether mailcow
    was already changed.
    """
    params = module.params
    try:
        client = MailcowClient(params["api_url"], params["api_key"], timeout=params["timeout"], ca_path=params["ca_path"])
        result = ensure(client)
    except MailcowApiError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)
    except MailsecError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)
