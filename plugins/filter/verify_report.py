# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn the verifiers' results into a report: thin adapters over module_utils/report.py.

Each filter's documentation is in the .yml file of the same name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.module_utils import report
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError


def verify_report(results, fail_on="fail", title=None):
    try:
        return report.build_report(results, fail_on=fail_on, title=title)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.verify_report: %s" % exc)


def verify_report_html(value):
    if not isinstance(value, dict) or "domains" not in value or "summary" not in value:
        raise AnsibleFilterError("mailsec.posture.verify_report_html: expects the output of mailsec.posture.verify_report")
    try:
        return report.render_html(value)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("mailsec.posture.verify_report_html: the report is incomplete: %s" % exc)


class FilterModule:
    """Verification report filters."""

    def filters(self):
        return {
            "verify_report": verify_report,
            "verify_report_html": verify_report_html,
        }
