# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One report from the verifiers' results: a merged data structure (written as JSON) and a
self-contained HTML page with a domain x check matrix.

Private to the collection: users may rely only on plugins and modules.

The page has no external assets (inline CSS, a few lines of optional inline script), so it can
be mailed or archived as one file. Cells show the worst status of a check for a domain (a check
may have several subjects: one per DKIM selector or MX host); hovering shows the details, and
each domain has an expandable section listing every check.
"""

from __future__ import annotations

import datetime
import html
import re

from ansible_collections.mailsec.posture.plugins.module_utils import check_docs, checks, report_digest
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.names import to_unicode

DEFAULT_TITLE = "Mail security posture"
# Details longer than this are cut in the cells' hover text (the domain's section shows them whole).
HOVER_LIMIT = 300
# Domain sections start open when there are at most this many failing domains.
OPEN_LIMIT = 20


def _results_of(results):
    """``[(module, result)]`` from a mapping ``{module: result}`` or a list of results."""
    if isinstance(results, dict):
        items = list(results.items())
    elif isinstance(results, (list, tuple)):
        items = [("verify_%d" % (index + 1), result) for index, result in enumerate(results)]
    else:
        raise MailsecError("the results must be a mapping of module name to registered result, got %s" % kind_of(results))
    found = []
    for module, result in items:
        if result is None or not isinstance(result, dict) or result.get("skipped"):
            continue  # a check the run left out
        if "domains" not in result:
            reason = result.get("msg") or "no domains in the result"
            raise MailsecError("the result of %s holds no checks: %s" % (module, reason))
        found.append((str(module), result))
    return found


def _omitted_passes(result):
    """Passing checks a result counts in its summary but leaves out of its domains (a verifier run
    with ``passing_checks: omit``): the report's counts include them, its matrix cannot show them."""
    counted = ((result.get("summary") or {}).get("checks_by_status") or {}).get(checks.PASS)
    if not isinstance(counted, int):
        return 0
    present = sum(1 for entry in result.get("domains") or [] for check in entry.get("checks") or [] if check.get("status") == checks.PASS)
    return max(0, counted - present)


# A standard switched off in the inventory: its verifier says so with a passing "<standard>.enabled" check.
OFF = "off"
REPORT_STATUSES = checks.STATUSES + (OFF,)
# The checks that look up the domain's own name first: when they find that it does not resolve, every
# other problem of the domain follows from that one.
ROOT_CHECKS = ("mx.records", "smtp.mx")
_UNRESOLVED = re.compile(r"\(NXDOMAIN\)|NXDOMAIN:|lookup failed")
# What tells the failed lookups apart, in the order their rows stand in docs/checks.md.
_LOOKUP_KINDS = ("NXDOMAIN", "SERVFAIL", "REFUSED", "no answer within", "no nameserver reachable")


def _is_off(check):
    return check["name"].endswith(".enabled") and check["status"] == checks.PASS


def _with_fix(check):
    """A warning or failing check gets the fix docs/checks*.md give for it, and the link to that section."""
    documented = check_docs.CHECKS.get(check["name"])
    if documented and check["status"] in (checks.WARN, checks.FAIL):
        check["fix"] = documented["fix"]
        check["doc"] = check_docs.DOCS_URL + documented["doc"]
    return check


def _merge_check(found, module, check):
    """Add one verifier's check to a domain's; a check two verifiers run (``mta_sts.txt``) is kept once."""
    key = (check["name"], check.get("subject"))
    status = OFF if _is_off(check) else check["status"]
    detail = check.get("detail", "")
    if key in found:
        kept = found[key]
        kept["modules"].append(module)
        if detail and detail not in kept["detail"].split("\n"):
            kept["detail"] = "\n".join(part for part in (kept["detail"], detail) if part)
        if status != OFF and (kept["status"] == OFF or checks.SEVERITY[status] > checks.SEVERITY[kept["status"]]):
            kept["status"] = status
        return None
    tagged = {"module": module, "modules": [module], "name": check["name"], "status": status, "detail": detail}
    if check.get("subject"):
        tagged["subject"] = check["subject"]
    found[key] = tagged
    return tagged


def _lookup_failure(detail):
    """The row of docs/checks.md's table of failed lookups that explains ``detail``, or None."""
    for kind in _LOOKUP_KINDS:
        if kind in detail:
            return next((row for row in check_docs.LOOKUP_FAILURES if kind in row["detail"]), None)
    return None


def _root_cause(domain, found):
    """``{check, detail, fix, doc, blocked}`` when the domain's own name does not resolve, else None; the
    checks it blocks (every other problem of the domain) are marked ``blocked_by``."""
    cause = next((check for check in found if check["name"] in ROOT_CHECKS and check["status"] == checks.FAIL
                  and _UNRESOLVED.search(check["detail"])), None)
    if cause is None:
        return None
    blocked = []
    for check in found:
        if check is not cause and check["status"] in (checks.WARN, checks.FAIL):
            check["blocked_by"] = cause["name"]
            blocked.append(check["name"])
    row = _lookup_failure(cause["detail"]) or {}
    return {"check": cause["name"], "summary": "%s does not resolve" % domain, "detail": cause["detail"],
            "meaning": row.get("meaning"), "fix": row.get("fix"), "doc": check_docs.DOCS_URL + row["doc"] if row else None,
            "blocked": blocked}


def _worst(found):
    return checks.worst(check["status"] for check in found if check["status"] != OFF)


def _summarize(domains):
    summary = {
        "domains": len(domains),
        "domains_by_status": {status: 0 for status in checks.STATUSES},
        "checks_by_status": {status: 0 for status in REPORT_STATUSES},
    }
    for entry in domains:
        summary["domains_by_status"][entry["status"]] += 1
        for check in entry["checks"]:
            summary["checks_by_status"][check["status"]] += 1
    summary["status"] = checks.worst(entry["status"] for entry in domains)
    return summary


def build_report(results, fail_on="fail", title=None, generated=None):
    """Merge the verifiers' results per domain.

    ``results`` maps a module name to its registered result (``domains`` and ``summary``);
    skipped results are left out. Returns ``{title, generated, fail_on, modules, checks,
    domains, summary, failures, failure_message}``: ``domains`` lists each domain once, in the
    order first seen (``domain`` in A-labels, ``display`` in U-labels), with every check tagged with the
    ``module`` (and all ``modules``) that ran it: a check two verifiers run is listed once. A standard the
    inventory switches off has status ``off``; a warning or failing check has the ``fix`` and ``doc`` link of
    docs/checks*.md; a domain whose name does not resolve has a ``root_cause`` and its other problems are
    ``blocked_by`` it. ``checks`` is every check name in the order first seen; ``failures`` lists the checks at
    or above ``fail_on``; ``summary_line`` says it all in one line. Passing checks a verifier left out of its
    result (``passing_checks: omit``) are counted from its summary; only the checks returned are listed.
    ``certificates`` merges the verifiers' ``certificates`` (each presented certificate described
    once, by SHA-256; see ``merge_certificates``).
    """
    if fail_on not in checks.FAIL_ON:
        raise MailsecError("fail_on must be one of %s, got %r" % (", ".join(checks.FAIL_ON), fail_on))
    modules = []
    names = []
    seen_names = set()
    by_domain = {}
    order = []
    omitted = 0
    for module, result in _results_of(results):
        modules.append(module)
        omitted += _omitted_passes(result)
        for entry in result.get("domains") or []:
            domain = entry.get("domain")
            if domain not in by_domain:
                by_domain[domain] = {}
                order.append(domain)
            for check in entry.get("checks") or []:
                if check.get("status") not in checks.SEVERITY:
                    raise MailsecError("%s: domain %s: check %r has no valid status" % (module, domain, check.get("name")))
                _merge_check(by_domain[domain], module, check)
                if check["name"] not in seen_names:
                    seen_names.add(check["name"])
                    names.append(check["name"])
    domains = []
    for domain in order:
        found = [_with_fix(check) for check in by_domain[domain].values()]
        entry = {"domain": domain, "display": to_unicode(str(domain)), "status": _worst(found), "checks": found}
        cause = _root_cause(domain, found)
        if cause:
            entry["root_cause"] = cause
        domains.append(entry)
    summary = _summarize(domains)
    summary["checks_by_status"][checks.PASS] += omitted
    summary["modules"] = list(modules)
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    counted = [dict(entry, checks=[check for check in entry["checks"] if check["status"] != OFF]) for entry in domains]
    report = {
        "title": title or DEFAULT_TITLE,
        "generated": generated,
        "fail_on": fail_on,
        "modules": modules,
        "checks": names,
        "domains": domains,
        "summary": summary,
        "failures": checks.failing_checks(counted, fail_on),
        "failure_message": checks.failure_message(counted, fail_on),
        "certificates": merge_certificates(_results_of(results)),
    }
    report["summary_line"] = summary_line(report)
    return report


# --- certificates (issue 12: one description per certificate, referred to by fingerprint) -------


def merge_certificates(module_results):
    """``{sha256: description + {modules}}`` from ``[(module, result)]``: every certificate the verifiers
    described, once, with the modules whose probes were shown it (a mailcow host shows one to all)."""
    merged = {}
    for module, result in module_results:
        for key, description in (result.get("certificates") or {}).items():
            entry = merged.setdefault(key, dict(description, modules=[]))
            entry["modules"].append(module)
    return merged


def _certificates_section(report):
    certificates = report.get("certificates") or {}
    if not certificates:
        return ""
    parts = ["<h2>Certificates</h2>", '<p class="meta">Each certificate the servers presented, once; '
             "a domain's check detail names the one it was shown by the first digits of its SHA-256, and the name that covers it.</p>",
             '<table class="certificates"><thead><tr><th>SHA-256</th><th>subject</th><th>issuer</th><th>valid</th><th>names</th>'
             "<th>seen by</th></tr></thead><tbody>"]
    for key, entry in certificates.items():
        names = ", ".join(entry.get("names_shown") or [])
        more = (entry.get("names_count") or 0) - len(entry.get("names_shown") or [])
        if more > 0:
            names += " and %d more" % more
        parts.append('<tr><td class="detail"><code>%s</code></td><td>%s</td><td>%s</td><td>%s to %s (%s day(s) left)</td><td>%d: %s</td><td>%s</td></tr>'
                     % (_escape(key), _escape(entry.get("subject")), _escape(entry.get("issuer")), _escape(entry.get("not_before")),
                        _escape(entry.get("not_after")), _escape(entry.get("days_to_expiry")), entry.get("names_count") or 0, _escape(names),
                        _escape(", ".join(entry.get("modules") or []))))
    parts.append("</tbody></table>")
    return "".join(parts)


# --- end of certificates ------------------------------------------------------------------------


def summary_line(report):
    """``"3 domains: 1 pass, 1 warn, 1 fail (41 checks: ...)"`` for the end of a run."""
    summary = report["summary"]
    domains = summary["domains_by_status"]
    counts = summary["checks_by_status"]
    off = ", %d off" % counts[OFF] if counts.get(OFF) else ""
    return "%d domain(s): %d pass, %d warn, %d fail (%d checks: %d pass, %d warn, %d fail%s)" % (
        summary["domains"], domains["pass"], domains["warn"], domains["fail"],
        sum(counts.values()), counts["pass"], counts["warn"], counts["fail"], off,
    )


# ---------------------------------------------------------------------------------------------
# HTML
#
# The page is a list of sections, each a function of the report that returns its HTML (SECTIONS below):
# the header with the totals, the matrix, the problems with their fixes, the domains. A new section
# (a per-domain DMARC/TLS-RPT summary...) is one more function in that list, or in render_html's
# ``sections``. Every value shown comes from DNS or a server (hostile): each goes through _escape.

_STYLE = """
:root{--pass:#1b7f3b;--pass-bg:#e6f4ea;--warn:#8a5a00;--warn-bg:#fff4d6;--fail:#b3261e;--fail-bg:#fde7e5;--none:#9aa0a6;
--off:#57606a;--off-bg:#eef0f2;--line:#d0d4d9;--text:#1f2328;--muted:#57606a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--text);margin:0;padding:24px;background:#fff;
max-width:1400px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.meta{color:var(--muted);margin:0 0 16px}
.totals{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 16px;padding:0;list-style:none}
.totals li{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}
.totals b{display:block;font-size:20px}
.tools{margin:0 0 10px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.tools input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:4px;min-width:240px}
.matrix-wrap{overflow:auto;max-height:75vh;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid var(--line);padding:0}
.matrix thead th{position:sticky;top:0;background:#f6f8fa;z-index:2;vertical-align:bottom;padding:6px 2px}
.matrix thead th.check span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600;font-size:12px}
.matrix th.domain{position:sticky;left:0;background:#fff;z-index:1;text-align:left;padding:3px 8px;font-weight:500;
white-space:nowrap}
.matrix thead th.domain{z-index:3;background:#f6f8fa}
.matrix td a{display:block;width:30px;height:26px;line-height:26px;text-align:center;text-decoration:none;font-weight:700}
.matrix td.cause{padding:3px 8px;font-weight:600;white-space:normal}
.matrix td.s-off a{font-size:11px;font-weight:600}
.s-pass{background:var(--pass-bg);color:var(--pass)}
.s-warn{background:var(--warn-bg);color:var(--warn)}
.s-fail{background:var(--fail-bg);color:var(--fail)}
.s-off{background:var(--off-bg);color:var(--off)}
.s-none{background:#fafafa;color:var(--none)}
.badge{display:inline-block;white-space:nowrap;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-left:6px}
.alabel{color:var(--muted);font-size:12px;font-weight:400;margin-left:6px}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0}
details>summary{cursor:pointer;padding:6px 10px;font-weight:600}
details table{width:100%;border-top:1px solid var(--line);table-layout:fixed}
details td,details th{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
td.detail,td.fix,.cause-line{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
col.c-status{width:76px}col.c-check{width:190px}col.c-subject{width:130px}col.c-module{width:136px}col.c-fix{width:28%}
.root-cause{margin:0;padding:8px 10px;border-top:1px solid var(--line)}
.root-cause .fix{display:block;margin-top:4px;font-weight:400}
details.blocked{margin:6px 10px 10px}
details.blocked>summary{font-weight:500;color:var(--muted)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;border-radius:3px;padding:0 3px}
.problems td,.problems th{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.problems{width:100%;table-layout:fixed}
.certificates td,.certificates th{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
.certificates td.detail{word-break:break-all}
.legend span{margin-right:12px}
tr.hidden,details.hidden{display:none}
"""

_SCRIPT = """
(function(){
  var only=document.getElementById('only-problems'),find=document.getElementById('find');
  function apply(){
    var text=(find.value||'').toLowerCase(),problems=only.checked;
    document.querySelectorAll('[data-domain]').forEach(function(node){
      var names=node.getAttribute('data-domain')+' '+(node.getAttribute('data-display')||'').toLowerCase();
      var show=names.indexOf(text)>=0&&(!problems||node.getAttribute('data-status')!=='pass');
      node.classList.toggle('hidden',!show);
    });
  }
  only.addEventListener('change',apply);find.addEventListener('input',apply);
})();
"""
_SYMBOL = {checks.PASS: "&#10003;", checks.WARN: "!", checks.FAIL: "&#10007;", OFF: "off"}
_CODE = re.compile(r"`([^`]+)`")
# At most this many lines in the list of problems; the domain sections list every one.
PROBLEM_LIMIT = 200


def _escape(value):
    return html.escape("" if value is None else str(value), quote=True)


def _markdown(text):
    """A fix from docs/checks*.md as HTML: escaped, with its `code` spans."""
    return _CODE.sub(r"<code>\1</code>", _escape(text))


def _anchor(domain):
    return "d-" + "".join(char if char.isalnum() or char in "-." else "_" for char in str(domain))


def _hover(entries):
    lines = []
    for entry in entries:
        detail = entry["detail"] or ""
        if len(detail) > HOVER_LIMIT:
            detail = detail[:HOVER_LIMIT - 3] + "..."
        subject = " [%s]" % entry["subject"] if entry.get("subject") else ""
        lines.append("%s%s: %s: %s" % (entry["status"].upper(), subject, ", ".join(entry.get("modules") or [entry["module"]]), detail))
    return "\n".join(lines)


def _badge(status):
    return '<span class="badge s-%s">%s</span>' % (_escape(status), _escape(status.upper()))


def _domain_label(entry):
    """The domain as people write it (U-labels), with the A-label beside when they differ."""
    display = entry.get("display") or entry["domain"]
    if display == entry["domain"]:
        return _escape(display)
    return '%s<span class="alabel">%s</span>' % (_escape(display), _escape(entry["domain"]))


def _domain_attributes(entry):
    return 'data-domain="%s" data-display="%s" data-status="%s"' % (
        _escape(entry["domain"]), _escape(entry.get("display") or entry["domain"]), _escape(entry["status"]))


def _fix_html(fix, doc):
    if not fix:
        return ""
    link = ' <a class="doc" href="%s">how to fix</a>' % _escape(doc) if doc else ""
    return _markdown(fix) + link


def _header(report):
    summary = report["summary"]
    domains = summary["domains_by_status"]
    counts = summary["checks_by_status"]
    return "\n".join([
        "<h1>%s %s</h1>" % (_escape(report["title"]), _badge(summary["status"])),
        '<p class="meta">Generated %s by %s. Fails on: %s.</p>'
        % (_escape(report["generated"]), _escape(", ".join(report["modules"])), _escape(report["fail_on"])),
        '<ul class="totals">',
        "<li><b>%d</b>domains</li>" % summary["domains"],
        '<li class="s-pass"><b>%d</b>domains pass</li>' % domains["pass"],
        '<li class="s-warn"><b>%d</b>domains warn</li>' % domains["warn"],
        '<li class="s-fail"><b>%d</b>domains fail</li>' % domains["fail"],
        "<li><b>%d</b>checks: %d pass, %d warn, %d fail, %d off</li>"
        % (sum(counts.values()), counts["pass"], counts["warn"], counts["fail"], counts.get(OFF, 0)),
        "</ul>",
        '<p class="legend"><span class="badge s-pass">&#10003; pass</span><span class="badge s-warn">! warn</span>'
        '<span class="badge s-fail">&#10007; fail</span><span class="badge s-off">off: switched off in the inventory</span>'
        '<span class="badge s-none">&middot; not checked</span>'
        " Hover a cell for its details; click it or a domain for every check and its fix.</p>",
        '<div class="tools"><label><input type="checkbox" id="only-problems"> only domains with problems</label>'
        '<input type="search" id="find" placeholder="filter domains" aria-label="filter domains"></div>',
    ])


def _matrix(report):
    names = report["checks"]
    parts = ['<div class="matrix-wrap"><table class="matrix"><thead><tr><th class="domain">domain</th>']
    parts.extend('<th class="check" title="%s"><span>%s</span></th>' % (_escape(name), _escape(name)) for name in names)
    parts.append("</tr></thead><tbody>")
    for entry in report["domains"]:
        anchor = _escape(_anchor(entry["domain"]))
        parts.append('<tr %s><th class="domain"><a href="#%s">%s</a>%s</th>'
                     % (_domain_attributes(entry), anchor, _domain_label(entry), _badge(entry["status"])))
        cause = entry.get("root_cause")
        if cause:
            # One root cause, one line: the checks it blocks are in the domain's section.
            parts.append('<td class="cause s-fail" colspan="%d"><a href="#%s" class="s-fail" style="width:auto;display:inline">%s</a>: '
                         '%d check(s) blocked</td></tr>' % (max(1, len(names)), anchor, _escape(cause["summary"]), len(cause["blocked"])))
            continue
        grouped = {}
        for check in entry["checks"]:
            grouped.setdefault(check["name"], []).append(check)
        for name in names:
            found = grouped.get(name)
            if not found:
                parts.append('<td class="s-none" title="not checked"><a href="#%s" class="s-none">&middot;</a></td>' % anchor)
                continue
            status = OFF if all(check["status"] == OFF for check in found) else _worst(found)
            parts.append('<td class="s-%s"><a href="#%s" class="s-%s" title="%s">%s</a></td>'
                         % (status, anchor, status, _escape("%s\n%s" % (name, _hover(found))), _SYMBOL[status]))
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _problems(report):
    """One line per problem at or above fail_on, with its fix; a domain that does not resolve is one line."""
    if report["fail_on"] == "never":
        return ""
    threshold = checks.SEVERITY[report["fail_on"]]
    rows = []
    for entry in report["domains"]:
        label = '<a href="#%s">%s</a>' % (_escape(_anchor(entry["domain"])), _domain_label(entry))
        cause = entry.get("root_cause")
        if cause:
            rows.append((label, _escape(cause["check"]), _escape("%s: %s" % (cause["summary"], cause["detail"])), _fix_html(cause["fix"], cause["doc"])))
            continue
        for check in entry["checks"]:
            if check["status"] != OFF and checks.SEVERITY[check["status"]] >= threshold:
                subject = " [%s]" % check["subject"] if check.get("subject") else ""
                rows.append((label, _escape(check["name"] + subject), _escape(check["detail"]), _fix_html(check.get("fix"), check.get("doc"))))
    if not rows:
        return ""
    parts = ['<h2>%d problem(s) at or above %s</h2>' % (len(rows), _escape(report["fail_on"])),
             '<table class="problems"><colgroup><col style="width:200px"><col style="width:200px"><col><col></colgroup>'
             "<thead><tr><th>domain</th><th>check</th><th>detail</th><th>fix</th></tr></thead><tbody>"]
    parts.extend('<tr><td>%s</td><td>%s</td><td class="detail">%s</td><td class="fix">%s</td></tr>' % row for row in rows[:PROBLEM_LIMIT])
    if len(rows) > PROBLEM_LIMIT:
        parts.append('<tr><td colspan="4">... and %d more in the sections below</td></tr>' % (len(rows) - PROBLEM_LIMIT))
    parts.append("</tbody></table>")
    return "".join(parts)


def _check_rows(found):
    parts = ['<table><colgroup><col class="c-status"><col class="c-check"><col class="c-subject"><col class="c-module"><col><col class="c-fix"></colgroup>'
             "<thead><tr><th>status</th><th>check</th><th>subject</th><th>verifier</th><th>detail</th><th>fix</th></tr></thead><tbody>"]
    for check in found:
        parts.append('<tr><td class="s-%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td class="detail">%s</td><td class="fix">%s</td></tr>'
                     % (_escape(check["status"]), _escape(check["status"]), _escape(check["name"]), _escape(check.get("subject", "")),
                        _escape(", ".join(check.get("modules") or [check["module"]])), _escape(check["detail"]),
                        _fix_html(check.get("fix"), check.get("doc"))))
    parts.append("</tbody></table>")
    return "".join(parts)


def _domain_sections(report):
    failing = report["summary"]["domains_by_status"]["fail"]
    parts = ["<h2>Domains</h2>"]
    for entry in report["domains"]:
        opened = " open" if entry["status"] == checks.FAIL and failing <= OPEN_LIMIT else ""
        parts.append('<details id="%s" %s%s><summary>%s%s</summary>'
                     % (_escape(_anchor(entry["domain"])), _domain_attributes(entry), opened, _domain_label(entry), _badge(entry["status"])))
        cause = entry.get("root_cause")
        if cause:
            blocked = [check for check in entry["checks"] if check.get("blocked_by")]
            # The root cause's own check is the line above; the rest (passing, off) follow the folded checks.
            rest = [check for check in entry["checks"] if not check.get("blocked_by") and check["name"] != cause["check"]]
            fix = _fix_html(cause["fix"], cause["doc"])
            parts.append('<p class="root-cause s-fail"><span class="cause-line">%s: %s</span>%s</p>'
                         % (_escape(cause["summary"]), _escape(cause["detail"]), '<span class="fix">Fix: %s</span>' % fix if fix else ""))
            parts.append('<details class="blocked"><summary>%d check(s) that fail because of it</summary>%s</details>'
                         % (len(blocked), _check_rows(blocked)))
            parts.append(_check_rows(rest) if rest else "")
        else:
            parts.append(_check_rows(entry["checks"]))
        parts.append("</details>")
    return "".join(parts)


# The page, top to bottom. Each entry is a function of the report that returns HTML (or "").
def _reports_digest(report):
    """mail_reports' digest (the site playbook's reports stage), when the report carries one."""
    return report_digest.render_section(report["reports_digest"]) if report.get("reports_digest") else ""


SECTIONS = (_header, _matrix, _problems, _domain_sections, _certificates_section, _reports_digest)


def render_html(report, sections=SECTIONS):
    """The report as one self-contained HTML page (UTF-8 text); ``sections`` are the page's parts in order."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title><style>%s</style></head><body>" % (_escape(report["title"]), _STYLE),
    ]
    parts.extend(section(report) for section in sections)
    parts.append("<script>%s</script></body></html>" % _SCRIPT)
    return "\n".join(part for part in parts if part) + "\n"
