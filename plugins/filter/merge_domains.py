# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter mailsec.posture.merge_domains: a discovered domain list with inventory overrides on top."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.domain_merge import merge_domains as _merge_domains


def merge_domains(base, overrides=None):
    """See merge_domains.yml."""
    try:
        return _merge_domains(base, overrides)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.merge_domains: %s" % exc) from None


class FilterModule:
    """mailsec.posture domain list filters."""

    def filters(self):
        return {"merge_domains": merge_domains}
