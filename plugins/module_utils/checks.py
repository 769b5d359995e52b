# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The result shape every verifier returns, and the rule that decides when a task fails.

A check is ``{name, status, detail}`` plus an optional ``subject`` (the selector, MX host or URL it
is about). Names are stable, dotted and lower case (``spf.record``, ``mta_sts.policy_fetch``), so
reports, dashboards and the README's troubleshooting table can rely on them.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

PASS = "pass"
WARN = "warn"
FAIL = "fail"
STATUSES = (PASS, WARN, FAIL)
SEVERITY = {PASS: 0, WARN: 1, FAIL: 2}
# fail_on: the least severe status that fails the task ("never": report only).
FAIL_ON = ("fail", "warn", "never")


class DomainChecks:
    """Checks of one domain, in the order they were made."""

    def __init__(self, domain):
        self.domain = domain
        self.checks = []

    def add(self, name, status, detail, subject=None):
        if status not in SEVERITY:
            raise ValueError("unknown check status %r" % (status,))
        entry = {"name": name, "status": status, "detail": detail}
        if subject is not None:
            entry["subject"] = subject
        self.checks.append(entry)
        return entry

    def passed(self, name, detail, subject=None):
        return self.add(name, PASS, detail, subject)

    def warned(self, name, detail, subject=None):
        return self.add(name, WARN, detail, subject)

    def failed(self, name, detail, subject=None):
        return self.add(name, FAIL, detail, subject)

    def from_verdict(self, name, verdict, ok_detail, subject=None):
        """One check from a parser verdict: errors fail, warnings warn, else pass."""
        if verdict.get("errors"):
            return self.failed(name, "; ".join(verdict["errors"]), subject)
        if verdict.get("warnings"):
            return self.warned(name, "; ".join(verdict["warnings"]), subject)
        return self.passed(name, ok_detail, subject)

    @property
    def status(self):
        return worst(check["status"] for check in self.checks)

    def as_dict(self):
        return {"domain": self.domain, "status": self.status, "checks": list(self.checks)}


def worst(statuses):
    result = PASS
    for status in statuses:
        if SEVERITY[status] > SEVERITY[result]:
            result = status
    return result


def summarize(domain_results):
    """Counts over ``[{domain, status, checks}]``: domains and checks by status."""
    summary = {
        "domains": len(domain_results),
        "domains_by_status": {status: 0 for status in STATUSES},
        "checks_by_status": {status: 0 for status in STATUSES},
    }
    for result in domain_results:
        summary["domains_by_status"][result["status"]] += 1
        for check in result["checks"]:
            summary["checks_by_status"][check["status"]] += 1
    summary["status"] = worst(result["status"] for result in domain_results)
    return summary


def failing_checks(domain_results, fail_on):
    """The checks at or above ``fail_on`` as ``"domain: name [subject]: detail"`` lines."""
    if fail_on not in FAIL_ON:
        raise ValueError("fail_on must be one of %s" % ", ".join(FAIL_ON))
    if fail_on == "never":
        return []
    threshold = SEVERITY[fail_on]
    lines = []
    for result in domain_results:
        for check in result["checks"]:
            if SEVERITY[check["status"]] >= threshold:
                subject = " [%s]" % check["subject"] if check.get("subject") else ""
                lines.append("%s: %s%s: %s" % (result["domain"], check["name"], subject, check["detail"]))
    return lines


def failure_message(domain_results, fail_on, limit=50):
    """The task's failure message, or None when nothing reaches ``fail_on``."""
    lines = failing_checks(domain_results, fail_on)
    if not lines:
        return None
    shown = lines[:limit]
    more = "" if len(lines) <= limit else "\n... and %d more (see the domains return value)" % (len(lines) - limit)
    return "%d check(s) at or above '%s':\n%s%s" % (len(lines), fail_on, "\n".join(shown), more)
