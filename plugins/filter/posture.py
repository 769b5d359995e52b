# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of mailsec.posture: thin adapters over the engine in module_utils.

Each filter's documentation is in the .yml file of the same name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.module_utils import dkim, dmarc, mta_sts, records, spf, tlsrpt
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_domain_entry


def _guarded(name, function, *args, **kwargs):
    """Run an engine function; its errors become AnsibleFilterError naming the filter."""
    try:
        return function(*args, **kwargs)
    except MailsecError as exc:
        raise AnsibleFilterError("mailsec.posture.%s: %s" % (name, exc))


def parse_spf(value):
    return _guarded("parse_spf", spf.parse, value)


def parse_dkim(value):
    return _guarded("parse_dkim", dkim.parse, value)


def parse_dmarc(value, domain=None):
    return _guarded("parse_dmarc", dmarc.parse, value, domain=domain)


def parse_mta_sts_txt(value):
    return _guarded("parse_mta_sts_txt", mta_sts.parse_txt, value)


def parse_mta_sts_policy(value):
    return _guarded("parse_mta_sts_policy", mta_sts.parse_policy, value)


def parse_tlsrpt(value):
    return _guarded("parse_tlsrpt", tlsrpt.parse, value)


def mta_sts_policy(domain, mail_host=None):
    """One mailsec_domains entry -> its MTA-STS policy text (empty when MTA-STS is off)."""
    def build():
        return records.mta_sts_policy(normalize_domain_entry(domain, mail_host=mail_host)) or ""
    return _guarded("mta_sts_policy", build)


def mta_sts_id(policy):
    if not isinstance(policy, str):
        raise AnsibleFilterError("mailsec.posture.mta_sts_id: expects the policy text, got %s" % kind_of(policy))
    return _guarded("mta_sts_id", mta_sts.policy_id, policy)


def mta_sts_mx_match(host, patterns):
    """Whether ``host`` matches the mx patterns (a list, or a policy text whose mx lines are used)."""
    if isinstance(patterns, str):
        parsed = _guarded("mta_sts_mx_match", mta_sts.parse_policy, patterns)
        patterns = parsed.get("mx") or []
    if not isinstance(patterns, (list, tuple)):
        raise AnsibleFilterError("mailsec.posture.mta_sts_mx_match: patterns must be a list or a policy text")
    return _guarded("mta_sts_mx_match", mta_sts.mx_matches, host, list(patterns))


def _check_records(name, value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, dict) for item in value):
        raise AnsibleFilterError("mailsec.posture.%s: expects a list of records (the mail_records lookup output)" % name)
    for index, record in enumerate(value):
        missing = [key for key in ("name", "type", "ttl", "value") if key not in record]
        if missing:
            raise AnsibleFilterError("mailsec.posture.%s: record %d lacks %s" % (name, index, ", ".join(missing)))


def to_zone(value, origin=None, header=False):
    _check_records("to_zone", value)
    return _guarded("to_zone", records.to_zone_lines, value, origin=origin, header=header)


def records_table(value, max_value=72):
    _check_records("records_table", value)
    return _guarded("records_table", records.to_table, value, max_value=max_value)


class FilterModule:
    def filters(self):
        return {
            "parse_spf": parse_spf,
            "parse_dkim": parse_dkim,
            "parse_dmarc": parse_dmarc,
            "parse_mta_sts_txt": parse_mta_sts_txt,
            "parse_mta_sts_policy": parse_mta_sts_policy,
            "parse_tlsrpt": parse_tlsrpt,
            "mta_sts_policy": mta_sts_policy,
            "mta_sts_id": mta_sts_id,
            "mta_sts_mx_match": mta_sts_mx_match,
            "to_zone": to_zone,
            "records_table": records_table,
        }
