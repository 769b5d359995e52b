# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters mailsec.posture.mta_sts_sites and mta_sts_shared_policy: which policies a web server serves."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts_deploy
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def mta_sts_sites(domains, mail_host=None, defaults=None, serving_host=None, names=None):
    """See mta_sts_sites.yml."""
    try:
        return mta_sts_deploy.sites(domains, mail_host=mail_host, defaults=defaults, serving_host=serving_host, names=names)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.mta_sts_sites: %s" % exc) from None


def mta_sts_shared_policy(sites, server="this web server"):
    """See mta_sts_shared_policy.yml."""
    if not isinstance(sites, list) or not all(isinstance(site, dict) and "policy" in site for site in sites):
        raise AnsibleFilterError("mailsec.posture.mta_sts_shared_policy: expects the list the mta_sts_sites filter returns")
    try:
        return mta_sts_deploy.shared_policy(sites, server=server)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.mta_sts_shared_policy: %s" % exc) from None


class FilterModule:
    """mailsec.posture MTA-STS deployment filters."""

    def filters(self):
        return {"mta_sts_sites": mta_sts_sites, "mta_sts_shared_policy": mta_sts_shared_policy}
