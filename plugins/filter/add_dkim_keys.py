# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter mailsec.posture.add_dkim_keys: the DKIM keys made on the mail hosts, put into the inventory model."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.domain_keys import add_dkim_keys as _add_dkim_keys


def add_dkim_keys(domains, keys=None):
    """See add_dkim_keys.yml."""
    try:
        return _add_dkim_keys(domains, keys)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.add_dkim_keys: %s" % exc) from None


class FilterModule:
    """mailsec.posture model filters."""

    def filters(self):
        return {"add_dkim_keys": add_dkim_keys}
