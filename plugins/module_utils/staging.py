# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Staged rollout of DMARC (none -> quarantine -> reject) and MTA-STS (testing -> enforce).

Private to the collection: users may rely only on plugins and modules.

The inventory names the goal (``dmarc.policy: reject``) and asks for staging
(``dmarc.staging: {enabled: true, days: 14, min_messages: 100, hold: false}``); the record layer then
publishes the stage the staging says (``staging.published``, filled in by the mail_reports module from
the live record), never more than the goal, and ``none``/``testing`` when nothing says otherwise.

``decide`` is pure: the evidence in, a decision and its explanation out. A DMARC step counts only
reports made under the policy published now (their ``policy_published``), so the evidence that
promoted ``none`` to ``quarantine`` cannot promote ``quarantine`` to ``reject``: the same reports
give the same decision, and a re-run changes nothing. Nothing is ever demoted by the evidence; without
report sources (``evidence`` None) a staging holds at the live stage.
"""

from __future__ import annotations

import time

from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    SpecError,
    as_choice,
    as_int,
    reject_unknown_keys,
    require_mapping,
)

STAGES = {"dmarc": ("none", "quarantine", "reject"), "mta_sts": ("testing", "enforce")}
# The key of each standard's spec that holds the published stage.
STAGE_KEY = {"dmarc": "policy", "mta_sts": "mode"}
STAGING_KEYS = ("enabled", "days", "min_messages", "hold", "published")
DEFAULT_DAYS = 14
DEFAULT_MIN_MESSAGES = 100
MAX_DAYS = 366
DAY = 86400
# A window of N days is covered when the reports reach back to its start, give or take this much
# (a report's period is a day that rarely starts at midnight).
COVERAGE_SLACK = DAY
PROMOTE, HOLD, DONE = "promote", "hold", "done"
# Without report sources there is no evidence: a staging holds at the live stage (never the first stage below it).
NO_SOURCES = "no report sources configured: holding at %s"


def split_staging(value, standard):
    """``(spec without staging, raw staging or None)`` for the standard's inventory mapping."""
    if not isinstance(value, dict) or "staging" not in value:
        return value, None
    rest = dict(value)
    return rest, rest.pop("staging")


def normalize_staging(raw, standard, goal, domain):
    """The normalized staging of one standard, or None when it is off; ``goal`` is the spec's stage."""
    field = "%s.staging" % standard
    if raw is None or raw is False:
        return None
    raw = {"enabled": True} if raw is True else require_mapping(raw, field, domain)
    reject_unknown_keys(raw, set(STAGING_KEYS), field, domain)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SpecError(field + ".enabled", "must be true or false, got %r" % (enabled,), domain)
    if not enabled:
        return None
    stages = STAGES[standard]
    if goal not in stages:
        raise SpecError("%s.%s" % (standard, STAGE_KEY[standard]), "staging leads to one of %s, got %r" % (", ".join(stages), goal), domain)
    hold = raw.get("hold", False)
    if not isinstance(hold, bool):
        raise SpecError(field + ".hold", "must be true or false, got %r" % (hold,), domain)
    published = raw.get("published")
    if published is not None:
        published = as_choice(published, stages, field + ".published", domain)
    ladder = stages[:stages.index(goal) + 1]
    # The published stage never exceeds the goal (a lowered goal lowers it); nothing published means the first.
    if published is None:
        stage = ladder[0]
    else:
        stage = ladder[min(stages.index(published), len(ladder) - 1)]
    return {
        "days": as_int(raw.get("days", DEFAULT_DAYS), field + ".days", domain, 1, MAX_DAYS),
        "min_messages": as_int(raw.get("min_messages", DEFAULT_MIN_MESSAGES), field + ".min_messages", domain, 1, 10 ** 9),
        "hold": hold,
        "goal": goal,
        "stages": list(ladder),
        "stage": stage,
    }


def _day(seconds):
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def _coverage(evidence, staging, now, what, missing, saw):
    """Whether reports of the window reach its start and its end; notes what they lack."""
    window_start = now - staging["days"] * DAY
    if not evidence["reports"]:
        missing.append("no %s in the last %d days" % (what, staging["days"]))
        return False
    saw.append("%d %s from %s to %s" % (evidence["reports"], what, _day(evidence["first_begin"]), _day(evidence["last_end"])))
    ok = True
    if evidence["first_begin"] > window_start + COVERAGE_SLACK:
        covered = max(0, (evidence["last_end"] - evidence["first_begin"]) // DAY)
        missing.append("the %s cover %d of the %d days asked for (from %s)" % (what, covered, staging["days"], _day(evidence["first_begin"])))
        ok = False
    if evidence["last_end"] < now - 2 * DAY - COVERAGE_SLACK:
        missing.append("the newest %s ended %s, more than two days ago" % (what, _day(evidence["last_end"])))
        ok = False
    return ok


def _decision(standard, staging, current, action, saw, missing, problems):
    stages = staging["stages"]
    following = stages[stages.index(current) + 1] if current in stages and current != stages[-1] else None
    publish = following if action == PROMOTE else (current if current in stages else stages[0])
    if action == PROMOTE:
        why = "promote %s from %s to %s: %s" % (standard, current, following, "; ".join(saw))
    elif action == DONE:
        why = "%s is at its goal %s" % (standard, staging["goal"])
    else:
        why = "hold %s at %s: %s" % (standard, publish, "; ".join(problems + missing) or "held")
    return {"standard": standard, "current": current, "goal": staging["goal"], "next": following, "publish": publish,
            "action": action, "explanation": why, "saw": saw, "missing": missing, "problems": problems}


def _position(staging, current, standard):
    """``(current stage, decided action or None)`` before any evidence is looked at."""
    stages = staging["stages"]
    if current not in STAGES[standard]:
        return stages[0], None  # nothing (valid) published yet: the first stage, which promotes nothing
    if STAGES[standard].index(current) >= len(stages) - 1:
        return stages[-1], DONE
    if staging["hold"]:
        return current, HOLD
    return current, None


def _settled_without_evidence(standard, staging, stage, action, evidence, saw, missing, problems):
    """The decision that needs no report (``hold`` set, the goal reached, or no report source), else None."""
    if action == HOLD:
        problems.append("hold is set")
    if action:
        return _decision(standard, staging, stage, action, saw, missing, problems)
    if evidence is None:
        missing.append(NO_SOURCES % stage)
        return _decision(standard, staging, stage, HOLD, saw, missing, problems)
    return None


def decide_dmarc(staging, current, evidence, now):
    """Whether DMARC goes one step up. ``current``: the live ``p=`` (None without a record).

    ``evidence`` (``report_digest.dmarc_evidence``) covers the reports made under ``current`` in the
    last ``days``: ``reports``, ``first_begin``, ``last_end``, ``messages``, ``own_messages`` and
    ``own_failing`` (``[{source_ip, messages, failed}]``); None when no report source is configured.
    """
    saw, missing, problems = [], [], []
    stage, action = _position(staging, current, "dmarc")
    if current not in STAGES["dmarc"]:
        missing.append("no DMARC record is published yet: the first stage is p=%s" % stage)
        return _decision("dmarc", staging, stage, HOLD, saw, missing, problems)
    settled = _settled_without_evidence("dmarc", staging, stage, action, evidence, saw, missing, problems)
    if settled:
        return settled
    complete = _coverage(evidence, staging, now, "aggregate report(s) under p=%s" % stage, missing, saw)
    saw.append("%d message(s), %d from your own sources" % (evidence["messages"], evidence["own_messages"]))
    if evidence["messages"] < staging["min_messages"]:
        missing.append("%d message(s) reported, %d needed" % (evidence["messages"], staging["min_messages"]))
        complete = False
    if not evidence["own_messages"]:
        missing.append("no message from your own sources (the MX hosts and the SPF networks) in the reports")
        complete = False
    for source in evidence["own_failing"]:
        problems.append("your source %s failed DMARC alignment for %d of %d message(s)" % (source["source_ip"], source["failed"], source["messages"]))
    if problems or not complete:
        return _decision("dmarc", staging, stage, HOLD, saw, missing, problems)
    return _decision("dmarc", staging, stage, PROMOTE, saw, missing, problems)


def decide_mta_sts(staging, current, evidence, smtp_tls_ok, now, mode_source=None):
    """Whether MTA-STS goes from testing to enforce. ``current``: the live policy's mode (None: unknown);
    ``mode_source``: where ``current`` was read when not from the fetched policy (said among what was seen).

    ``evidence`` (``report_digest.tlsrpt_evidence``): ``reports``, ``first_begin``, ``last_end``,
    ``sessions``, ``failures`` (``{result_type: sessions}`` at your MX hosts), None without report sources. ``smtp_tls_ok``: True
    when verify_smtp_tls passes now, False when it fails, None when it did not run.
    """
    saw, missing, problems = [], [], []
    if current is None:
        stage = staging["stages"][0]
        missing.append("the live MTA-STS policy's mode is unknown (no verify_mta_sts result for the domain, "
                       "and no _mta-sts TXT id that matches a stage's policy)")
        return _decision("mta_sts", staging, stage, HOLD, saw, missing, problems)
    if mode_source:
        saw.append("the live mode %s, from %s" % (current, mode_source))
    stage, action = _position(staging, current, "mta_sts")
    settled = _settled_without_evidence("mta_sts", staging, stage, action, evidence, saw, missing, problems)
    if settled:
        return settled
    complete = _coverage(evidence, staging, now, "TLS report(s) with an STS policy", missing, saw)
    saw.append("%d session(s), %d failed at your MX hosts" % (evidence["sessions"], sum(evidence["failures"].values())))
    if evidence["sessions"] < staging["min_messages"]:
        missing.append("%d session(s) reported, %d needed" % (evidence["sessions"], staging["min_messages"]))
        complete = False
    for result_type, count in sorted(evidence["failures"].items()):
        problems.append("%d failed session(s) of type %s at your MX hosts" % (count, result_type))
    if smtp_tls_ok is None:
        missing.append("no verify_smtp_tls result for the domain (it must pass now)")
        complete = False
    elif not smtp_tls_ok:
        problems.append("verify_smtp_tls fails now")
    if problems or not complete:
        return _decision("mta_sts", staging, stage, HOLD, saw, missing, problems)
    return _decision("mta_sts", staging, stage, PROMOTE, saw, missing, problems)
