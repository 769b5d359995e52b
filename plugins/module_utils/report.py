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

from ansible_collections.mailsec.posture.plugins.module_utils import checks
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

DEFAULT_TITLE = "Mail security posture"
# Details longer than this are cut in the cells' hover text (the domain's section shows them whole).
HOVER_LIMIT = 300
# Domain sections start open when there are at most this many failing domains.
OPEN_LIMIT = 20
_SYMBOL = {checks.PASS: "&#10003;", checks.WARN: "!", checks.FAIL: "&#10007;"}


def _results_of(results):
    """``[(module, result)]`` from a mapping ``{module: result}`` or a list of results."""
    if isinstance(results, dict):
        items = list(results.items())
    elif isinstance(results, (list, tuple)):
        items = [("verify_%d" % (index + 1), result) for index, result in enumerate(results)]
    else:
        raise MailsecError("the results must be a mapping of module name to registered result, got %s" % type(results).__name__)
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


def build_report(results, fail_on="fail", title=None, generated=None):
    """Merge the verifiers' results per domain.

    ``results`` maps a module name to its registered result (``domains`` and ``summary``);
    skipped results are left out. Returns ``{title, generated, fail_on, modules, checks,
    domains, summary, failures, failure_message}``: ``domains`` lists each domain once, in the
    order first seen, with every check tagged with its ``module``; ``checks`` is every check
    name in the order first seen; ``failures`` lists the checks at or above ``fail_on``;
    ``summary_line`` says it all in one line. Passing checks a verifier left out of its result
    (``passing_checks: omit``) are counted from its summary; only the checks returned are listed.
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
                by_domain[domain] = []
                order.append(domain)
            for check in entry.get("checks") or []:
                if check.get("status") not in checks.SEVERITY:
                    raise MailsecError("%s: domain %s: check %r has no valid status" % (module, domain, check.get("name")))
                tagged = {"module": module, "name": check["name"], "status": check["status"], "detail": check.get("detail", "")}
                if check.get("subject"):
                    tagged["subject"] = check["subject"]
                by_domain[domain].append(tagged)
                if check["name"] not in seen_names:
                    seen_names.add(check["name"])
                    names.append(check["name"])
    domains = [{"domain": domain, "status": checks.worst(check["status"] for check in by_domain[domain]), "checks": by_domain[domain]}
               for domain in order]
    summary = checks.summarize(domains)
    summary["checks_by_status"][checks.PASS] += omitted
    summary["modules"] = list(modules)
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    report = {
        "title": title or DEFAULT_TITLE,
        "generated": generated,
        "fail_on": fail_on,
        "modules": modules,
        "checks": names,
        "domains": domains,
        "summary": summary,
        "failures": checks.failing_checks(domains, fail_on),
        "failure_message": checks.failure_message(domains, fail_on),
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
    return "%d domain(s): %d pass, %d warn, %d fail (%d checks: %d pass, %d warn, %d fail)" % (
        summary["domains"], domains["pass"], domains["warn"], domains["fail"],
        sum(counts.values()), counts["pass"], counts["warn"], counts["fail"],
    )


# ---------------------------------------------------------------------------------------------
# HTML

_STYLE = """
:root{--pass:#1b7f3b;--pass-bg:#e6f4ea;--warn:#8a5a00;--warn-bg:#fff4d6;--fail:#b3261e;--fail-bg:#fde7e5;--none:#9aa0a6;
--line:#d0d4d9;--text:#1f2328;--muted:#57606a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--text);margin:0;padding:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.meta{color:var(--muted);margin:0 0 16px}
.totals{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 16px;padding:0;list-style:none}
.totals li{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}
.totals b{display:block;font-size:20px}
.tools{margin:0 0 10px;display:flex;gap:16px;align-items:center}
.tools input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:4px;min-width:240px}
.matrix-wrap{overflow:auto;max-height:75vh;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid var(--line);padding:0}
.matrix thead th{position:sticky;top:0;background:#f6f8fa;z-index:2;vertical-align:bottom;padding:6px 2px}
.matrix thead th.check span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600;font-size:12px}
.matrix th.domain{position:sticky;left:0;background:#fff;z-index:1;text-align:left;padding:3px 8px;white-space:nowrap;font-weight:500}
.matrix thead th.domain{z-index:3;background:#f6f8fa}
.matrix td a{display:block;width:30px;height:26px;line-height:26px;text-align:center;text-decoration:none;font-weight:700}
.s-pass{background:var(--pass-bg);color:var(--pass)}
.s-warn{background:var(--warn-bg);color:var(--warn)}
.s-fail{background:var(--fail-bg);color:var(--fail)}
.s-none{background:#fafafa;color:var(--none)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-left:6px}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0}
details>summary{cursor:pointer;padding:6px 10px;font-weight:600}
details table{width:100%;border-top:1px solid var(--line)}
details td,details th{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
details td.detail{white-space:pre-wrap;word-break:break-word}
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
      var show=node.getAttribute('data-domain').indexOf(text)>=0&&(!problems||node.getAttribute('data-status')!=='pass');
      node.classList.toggle('hidden',!show);
    });
  }
  only.addEventListener('change',apply);find.addEventListener('input',apply);
})();
"""


def _escape(value):
    return html.escape("" if value is None else str(value), quote=True)


def _anchor(domain):
    return "d-" + "".join(char if char.isalnum() or char in "-." else "_" for char in str(domain))


def _hover(entries):
    lines = []
    for entry in entries:
        detail = entry["detail"] or ""
        if len(detail) > HOVER_LIMIT:
            detail = detail[:HOVER_LIMIT - 3] + "..."
        subject = " [%s]" % entry["subject"] if entry.get("subject") else ""
        lines.append("%s%s: %s: %s" % (entry["status"].upper(), subject, entry["module"], detail))
    return "\n".join(lines)


def _badge(status):
    return '<span class="badge s-%s">%s</span>' % (status, status.upper())


def _matrix(report):
    names = report["checks"]
    parts = ['<div class="matrix-wrap"><table class="matrix"><thead><tr><th class="domain">domain</th>']
    parts.extend('<th class="check" title="%s"><span>%s</span></th>' % (_escape(name), _escape(name)) for name in names)
    parts.append("</tr></thead><tbody>")
    for entry in report["domains"]:
        anchor = _anchor(entry["domain"])
        grouped = {}
        for check in entry["checks"]:
            grouped.setdefault(check["name"], []).append(check)
        parts.append('<tr data-domain="%s" data-status="%s"><th class="domain"><a href="#%s">%s</a>%s</th>'
                     % (_escape(entry["domain"]), entry["status"], anchor, _escape(entry["domain"]), _badge(entry["status"])))
        for name in names:
            found = grouped.get(name)
            if not found:
                parts.append('<td class="s-none" title="not checked"><a href="#%s" class="s-none">&middot;</a></td>' % anchor)
                continue
            status = checks.worst(check["status"] for check in found)
            parts.append('<td class="s-%s"><a href="#%s" class="s-%s" title="%s">%s</a></td>'
                         % (status, anchor, status, _escape("%s\n%s" % (name, _hover(found))), _SYMBOL[status]))
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _sections(report):
    failing = report["summary"]["domains_by_status"]["fail"]
    parts = []
    for entry in report["domains"]:
        opened = " open" if entry["status"] == checks.FAIL and failing <= OPEN_LIMIT else ""
        parts.append('<details id="%s" data-domain="%s" data-status="%s"%s><summary>%s%s</summary>'
                     % (_anchor(entry["domain"]), _escape(entry["domain"]), entry["status"], opened, _escape(entry["domain"]), _badge(entry["status"])))
        parts.append("<table><thead><tr><th>status</th><th>check</th><th>subject</th><th>module</th><th>detail</th></tr></thead><tbody>")
        for check in entry["checks"]:
            parts.append('<tr><td class="s-%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td class="detail">%s</td></tr>'
                         % (check["status"], check["status"], _escape(check["name"]), _escape(check.get("subject", "")), _escape(check["module"]),
                            _escape(check["detail"])))
        parts.append("</tbody></table></details>")
    return "".join(parts)


def render_html(report):
    """The report as one self-contained HTML page (UTF-8 text)."""
    summary = report["summary"]
    domains = summary["domains_by_status"]
    counts = summary["checks_by_status"]
    failures = report.get("failures") or []
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title><style>%s</style></head><body>" % (_escape(report["title"]), _STYLE),
        "<h1>%s %s</h1>" % (_escape(report["title"]), _badge(summary["status"])),
        '<p class="meta">Generated %s by %s. Fails on: %s.</p>'
        % (_escape(report["generated"]), _escape(", ".join(report["modules"])), _escape(report["fail_on"])),
        '<ul class="totals">',
        "<li><b>%d</b>domains</li>" % summary["domains"],
        '<li class="s-pass"><b>%d</b>domains pass</li>' % domains["pass"],
        '<li class="s-warn"><b>%d</b>domains warn</li>' % domains["warn"],
        '<li class="s-fail"><b>%d</b>domains fail</li>' % domains["fail"],
        "<li><b>%d</b>checks: %d pass, %d warn, %d fail</li>" % (sum(counts.values()), counts["pass"], counts["warn"], counts["fail"]),
        "</ul>",
        '<p class="legend"><span class="badge s-pass">&#10003; pass</span><span class="badge s-warn">! warn</span>'
        '<span class="badge s-fail">&#10007; fail</span><span class="badge s-none">&middot; not checked</span>'
        " Hover a cell for its details; click it or a domain for every check.</p>",
        '<div class="tools"><label><input type="checkbox" id="only-problems"> only domains with problems</label>'
        '<input type="search" id="find" placeholder="filter domains"></div>',
        _matrix(report),
    ]
    if failures:
        parts.append("<h2>%d check(s) at or above %s</h2><ul>" % (len(failures), _escape(report["fail_on"])))
        parts.extend("<li>%s</li>" % _escape(line) for line in failures[:200])
        if len(failures) > 200:
            parts.append("<li>... and %d more in the sections below</li>" % (len(failures) - 200))
        parts.append("</ul>")
    parts.append("<h2>Domains</h2>")
    parts.append(_sections(report))
    parts.append(_certificates_section(report))
    parts.append("<script>%s</script></body></html>" % _SCRIPT)
    return "\n".join(parts) + "\n"
