# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP TLS reports (RFC 8460 4, JSON): parse one report.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import calendar
import json
import re
import time

from ansible_collections.mailsec.posture.plugins.module_utils.dmarc_reports import MAX_COUNT, MAX_RECORDS
from ansible_collections.mailsec.posture.plugins.module_utils.report_files import ReportError

POLICY_TYPES = ("sts", "tlsa", "no-policy-found")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]00:00)$", re.IGNORECASE)
_MODE = re.compile(r"^mode:\s*(\S+)", re.IGNORECASE)


def _timestamp(value, what, name):
    match = _DATETIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ReportError("%s: %s is not an RFC 3339 UTC date-time: %r" % (name, what, value))
    try:
        return calendar.timegm(time.strptime("%s %s" % (match.group(1), match.group(2)), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        raise ReportError("%s: %s is not a valid date: %r" % (name, what, value)) from None


def _count(value, what, name):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ReportError("%s: %s must be a count from 0 to %d, got %r" % (name, what, MAX_COUNT, value))
    return value


def _mapping(value, what, name):
    if not isinstance(value, dict):
        raise ReportError("%s: %s must be an object" % (name, what))
    return value


def _policy(entry, name):
    entry = _mapping(entry, "a policies entry", name)
    policy = _mapping(entry.get("policy"), "policy", name)
    summary = _mapping(entry.get("summary"), "summary", name)
    domain = str(policy.get("policy-domain") or "").lower().rstrip(".")
    if not domain:
        raise ReportError("%s: a policy has no policy-domain" % name)
    strings = policy.get("policy-string") or []
    strings = [str(line) for line in strings] if isinstance(strings, list) else []
    mode = next((match.group(1).lower() for match in map(_MODE.match, strings) if match), None)
    details = entry.get("failure-details") or []
    if not isinstance(details, list) or len(details) > MAX_RECORDS:
        raise ReportError("%s: failure-details of %s must be a list of at most %d entries" % (name, domain, MAX_RECORDS))
    failures = []
    for detail in details:
        detail = _mapping(detail, "a failure-details entry", name)
        failures.append({
            "result_type": str(detail.get("result-type") or "").lower(),
            "receiving_mx_hostname": str(detail.get("receiving-mx-hostname") or "").lower().rstrip("."),
            "receiving_ip": str(detail.get("receiving-ip") or ""),
            "sending_mta_ip": str(detail.get("sending-mta-ip") or ""),
            "count": _count(detail.get("failed-session-count", 0), "failed-session-count", name),
        })
    return {
        "policy_type": str(policy.get("policy-type") or "").lower(),
        "policy_domain": domain,
        "mode": mode,
        "mx_host": [str(host).lower() for host in policy.get("mx-host") or []] if isinstance(policy.get("mx-host"), list) else [],
        "successful": _count(summary.get("total-successful-session-count", 0), "total-successful-session-count", name),
        "failed": _count(summary.get("total-failure-session-count", 0), "total-failure-session-count", name),
        "failures": failures,
    }


def parse(data, name):
    """One TLS report's bytes (JSON, already decompressed) -> ``{kind: tlsrpt, name, org_name, report_id,
    begin, end, policies: [{policy_type, policy_domain, mode, mx_host, successful, failed, failures}]}``."""
    try:
        document = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportError("%s: not a JSON document: %s" % (name, str(exc)[:200])) from None
    document = _mapping(document, "the report", name)
    dates = _mapping(document.get("date-range"), "date-range", name)
    org_name = str(document.get("organization-name") or "")
    report_id = str(document.get("report-id") or "")
    if not org_name or not report_id:
        raise ReportError("%s: organization-name or report-id is missing" % name)
    policies = document.get("policies")
    if not isinstance(policies, list) or len(policies) > MAX_RECORDS:
        raise ReportError("%s: policies must be a list of at most %d entries" % (name, MAX_RECORDS))
    begin = _timestamp(dates.get("start-datetime"), "start-datetime", name)
    end = _timestamp(dates.get("end-datetime"), "end-datetime", name)
    if end < begin:
        raise ReportError("%s: date-range ends before it starts" % name)
    return {
        "kind": "tlsrpt",
        "name": name,
        "org_name": org_name,
        "report_id": report_id,
        "begin": begin,
        "end": end,
        "policies": [_policy(entry, name) for entry in policies],
    }
