# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The digest of DMARC aggregate and TLS reports: per domain and day, and as an HTML section.

Private to the collection: users may rely only on plugins and modules.

``summarize`` counts parsed reports (report_sources.read_reports) per inventory domain: messages by
source (yours or not), aligned DKIM/SPF results, dispositions and policy overrides, and TLS sessions by
policy type, result type and sending organisation. ``dmarc_evidence``/``tlsrpt_evidence`` give
staging.py what a promotion needs. ``render_section`` draws the digest as HTML with inline SVG charts
(no script, no external asset; every text escaped).
"""

from __future__ import annotations

import html
import ipaddress
import time

DAY = 86400
MAX_SOURCES = 100  # sources listed per domain (the counts cover all of them)


def day_of(report):
    """The UTC day a report's period belongs to (its middle)."""
    return time.strftime("%Y-%m-%d", time.gmtime((report["begin"] + report["end"]) // 2))


def networks(addresses_and_networks):
    """``ip_network`` objects from addresses and CIDR networks (what is not one is left out)."""
    found = []
    for text in addresses_and_networks or []:
        try:
            found.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError:
            continue
    return found


def is_own(address, own_networks):
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in own_networks)


def _add(counter, key, amount):
    counter[key] = counter.get(key, 0) + amount


def _rate(passed, total):
    return round(100.0 * passed / total, 1) if total else None


def _dmarc_summary(reports, own_networks):
    sources, days, dispositions, overrides, policies, organisations = {}, {}, {}, {}, {}, set()
    messages = passed = 0
    for report in reports:
        organisations.add(report["org_name"])
        day = days.setdefault(day_of(report), {"day": day_of(report), "messages": 0, "passed": 0, "failed": 0})
        _add(policies, report["policy"].get("p") or "unknown", report["messages"])
        for record in report["records"]:
            count = record["count"]
            ok = record["dmarc_pass"]
            messages += count
            passed += count if ok else 0
            day["messages"] += count
            day["passed" if ok else "failed"] += count
            _add(dispositions, record["disposition"], count)
            for reason in record["reasons"]:
                _add(overrides, reason["type"] or "other", count)
            source = sources.setdefault(record["source_ip"], {
                "source_ip": record["source_ip"], "own": is_own(record["source_ip"], own_networks), "org_names": [],
                "messages": 0, "passed": 0, "failed": 0, "dkim_aligned": {}, "spf_aligned": {}, "dispositions": {},
                "header_from": [],
            })
            source["messages"] += count
            source["passed" if ok else "failed"] += count
            _add(source["dkim_aligned"], record["dkim_aligned"] or "none", count)
            _add(source["spf_aligned"], record["spf_aligned"] or "none", count)
            _add(source["dispositions"], record["disposition"], count)
            if report["org_name"] not in source["org_names"]:
                source["org_names"].append(report["org_name"])
            if record["header_from"] and record["header_from"] not in source["header_from"]:
                source["header_from"].append(record["header_from"])
    ordered = sorted(sources.values(), key=lambda item: (-item["messages"], item["source_ip"]))
    for day in days.values():
        day["pass_rate"] = _rate(day["passed"], day["messages"])
    own = [source for source in ordered if source["own"]]
    return {
        "reports": len(reports),
        "organisations": sorted(organisations),
        "messages": messages,
        "passed": passed,
        "failed": messages - passed,
        "pass_rate": _rate(passed, messages),
        "own_messages": sum(source["messages"] for source in own),
        "own_failed": sum(source["failed"] for source in own),
        "sources_count": len(ordered),
        "sources": ordered[:MAX_SOURCES],
        "dispositions": dispositions,
        "overrides": overrides,
        "policies_seen": policies,
        "days": [days[key] for key in sorted(days)],
    }


def _tlsrpt_summary(entries):
    """``entries``: ``[(report, policy)]`` for one domain."""
    by_org, by_type, by_result, days = {}, {}, {}, {}
    reports = set()
    successful = failed = 0
    for report, policy in entries:
        reports.add((report["org_name"], report["report_id"]))
        successful += policy["successful"]
        failed += policy["failed"]
        org = by_org.setdefault(report["org_name"], {"org_name": report["org_name"], "successful": 0, "failed": 0, "results": {}})
        org["successful"] += policy["successful"]
        org["failed"] += policy["failed"]
        kind = by_type.setdefault(policy["policy_type"] or "unknown", {"successful": 0, "failed": 0})
        kind["successful"] += policy["successful"]
        kind["failed"] += policy["failed"]
        for failure in policy["failures"]:
            _add(org["results"], failure["result_type"] or "unknown", failure["count"])
            _add(by_result, failure["result_type"] or "unknown", failure["count"])
        day = days.setdefault(day_of(report), {"day": day_of(report), "successful": 0, "failed": 0})
        day["successful"] += policy["successful"]
        day["failed"] += policy["failed"]
    return {
        "reports": len(reports),
        "sessions": successful + failed,
        "successful": successful,
        "failed": failed,
        "organisations": [by_org[key] for key in sorted(by_org)],
        "by_policy_type": by_type,
        "by_result_type": by_result,
        "days": [days[key] for key in sorted(days)],
    }


def _tlsrpt_entries(reports, domain):
    return [(report, policy) for report in reports if report["kind"] == "tlsrpt" for policy in report["policies"]
            if policy["policy_domain"] == domain]


def summarize(reports, domains, own_sources, now, days):
    """``{period: {begin, end, days}, domains: [{domain, dmarc, tlsrpt}], other_domains}`` for the
    reports of the last ``days`` (their period ends after ``now - days``). ``own_sources`` maps a domain
    to the addresses and networks that are its own."""
    start = now - days * DAY
    recent = [report for report in reports if report["end"] >= start]
    known = set(domains)
    entries = []
    for domain in domains:
        own = networks(own_sources.get(domain))
        entries.append({
            "domain": domain,
            "own_sources": [str(network) for network in own],
            "dmarc": _dmarc_summary([report for report in recent if report["kind"] == "dmarc" and report["domain"] == domain], own),
            "tlsrpt": _tlsrpt_summary(_tlsrpt_entries(recent, domain)),
        })
    others = sorted({report["domain"] for report in recent if report["kind"] == "dmarc"} - known
                    | {policy["policy_domain"] for report in recent if report["kind"] == "tlsrpt" for policy in report["policies"]} - known)
    return {"period": {"begin": start, "end": now, "days": days}, "domains": entries, "other_domains": others}


def _span(reports):
    return {"reports": len(reports), "first_begin": min((r["begin"] for r in reports), default=None),
            "last_end": max((r["end"] for r in reports), default=None)}


def dmarc_evidence(reports, domain, policy, own_sources, now, days):
    """What staging.decide_dmarc needs: the reports of the last ``days`` made under ``p=policy``."""
    chosen = [report for report in reports if report["kind"] == "dmarc" and report["domain"] == domain
              and report["end"] >= now - days * DAY and report["policy"].get("p") == policy]
    summary = _dmarc_summary(chosen, networks(own_sources))
    evidence = _span(chosen)
    evidence.update({
        "messages": summary["messages"],
        "own_messages": summary["own_messages"],
        "own_failing": [{"source_ip": s["source_ip"], "messages": s["messages"], "failed": s["failed"]}
                        for s in summary["sources"] if s["own"] and s["failed"]],
    })
    return evidence


def tlsrpt_evidence(reports, domain, mx_hosts, now, days):
    """What staging.decide_mta_sts needs: the STS-policy sessions of the last ``days`` and the failures at
    the MX hosts (a failure naming no receiving host counts too: it may be one of them)."""
    entries = [(report, policy) for report, policy in _tlsrpt_entries(reports, domain)
               if report["end"] >= now - days * DAY and policy["policy_type"] == "sts"]
    hosts = {host.lower().rstrip(".") for host in mx_hosts}
    failures = {}
    for _report, policy in entries:
        for failure in policy["failures"]:
            if not failure["receiving_mx_hostname"] or failure["receiving_mx_hostname"] in hosts:
                _add(failures, failure["result_type"] or "unknown", failure["count"])
        unexplained = policy["failed"] - sum(failure["count"] for failure in policy["failures"])
        if unexplained > 0:
            _add(failures, "unspecified", unexplained)
    evidence = _span(list({id(report): report for report, _policy in entries}.values()))
    evidence.update({"sessions": sum(p["successful"] + p["failed"] for _r, p in entries), "failures": failures})
    return evidence


# ---------------------------------------------------------------------------------------------
# HTML

STYLE = """
.digest .chart{display:block;margin:6px 0 10px}
.digest table{border-collapse:collapse;margin:4px 0 12px}
.digest td,.digest th{border-bottom:1px solid #d0d4d9;padding:3px 8px;text-align:left;vertical-align:top}
.digest td.n{text-align:right;font-variant-numeric:tabular-nums}
.digest .own{font-weight:600}
.digest .decision{padding:6px 10px;border-radius:6px;margin:6px 0;background:#f6f8fa}
.digest .promote{background:#e6f4ea}
.digest .hold{background:#fff4d6}
"""
_WIDTH, _HEIGHT, _PAD = 640, 140, 28


def _escape(value):
    return html.escape("" if value is None else str(value), quote=True)


def chart_svg(days, good_key, bad_key, title):
    """A bar chart per day (good stacked under bad) with the pass rate as a line: inline SVG text."""
    if not days:
        return '<p class="meta">%s: no reports in the period.</p>' % _escape(title)
    peak = max(max(day[good_key] + day[bad_key] for day in days), 1)
    step = (_WIDTH - 2 * _PAD) / len(days)
    width = max(step * 0.7, 1.0)
    plot = _HEIGHT - 2 * _PAD
    parts = ['<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">'
             % (_WIDTH, _HEIGHT, _WIDTH, _HEIGHT), "<title>%s</title>" % _escape(title),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d0d4d9"/>' % (_PAD, _HEIGHT - _PAD, _WIDTH - _PAD, _HEIGHT - _PAD)]
    points = []
    for index, day in enumerate(days):
        x = _PAD + index * step + (step - width) / 2
        good_h = plot * day[good_key] / peak
        bad_h = plot * day[bad_key] / peak
        base = _HEIGHT - _PAD
        total = day[good_key] + day[bad_key]
        label = "%s: %d, %d passed, %d failed" % (day["day"], total, day[good_key], day[bad_key])
        parts.append('<g><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#9ccfa9"/>'
                     '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#e8847c"/></g>'
                     % (_escape(label), x, base - good_h, width, good_h, x, base - good_h - bad_h, width, bad_h))
        if total:
            points.append("%.1f,%.1f" % (x + width / 2, _PAD + plot * (1 - day[good_key] / total)))
    if len(points) > 1:
        parts.append('<polyline points="%s" fill="none" stroke="#1b7f3b" stroke-width="2"/>' % " ".join(points))
    caption = "%s (max %d a day; line: pass rate)" % (title, peak)
    parts.append('<text x="%d" y="%d" font-size="11" fill="#57606a">%s</text>' % (_PAD, _PAD - 10, _escape(caption)))
    parts.append('<text x="%d" y="%d" font-size="11" fill="#57606a">%s</text>' % (_PAD, _HEIGHT - 8, _escape(days[0]["day"])))
    parts.append('<text x="%d" y="%d" font-size="11" fill="#57606a" text-anchor="end">%s</text>' % (_WIDTH - _PAD, _HEIGHT - 8, _escape(days[-1]["day"])))
    parts.append("</svg>")
    return "".join(parts)


def _counts(mapping):
    return ", ".join("%s %d" % (key, value) for key, value in sorted(mapping.items())) or "none"


def _decisions(entry):
    parts = []
    for decision in entry.get("decisions") or []:
        parts.append('<div class="decision %s"><b>%s: %s</b>%s%s</div>' % (
            _escape(decision["action"]), _escape(decision["standard"]), _escape(decision["explanation"]),
            "<br>saw: %s" % _escape("; ".join(decision["saw"])) if decision["saw"] else "",
            "<br>missing: %s" % _escape("; ".join(decision["missing"])) if decision["missing"] else ""))
    return "".join(parts)


def _domain_section(entry):
    dmarc, tls = entry["dmarc"], entry["tlsrpt"]
    parts = ['<section class="digest-domain" id="reports-%s"><h3>%s</h3>' % (_escape(entry["domain"]), _escape(entry["domain"])),
             _decisions(entry),
             "<p>DMARC: %d report(s) from %s; %d message(s), pass rate %s; dispositions: %s; overrides: %s.</p>" % (
                 dmarc["reports"], _escape(", ".join(dmarc["organisations"]) or "nobody"), dmarc["messages"],
                 "%s%%" % dmarc["pass_rate"] if dmarc["pass_rate"] is not None else "n/a",
                 _escape(_counts(dmarc["dispositions"])), _escape(_counts(dmarc["overrides"]))),
             chart_svg(dmarc["days"], "passed", "failed", "DMARC messages per day, %s" % entry["domain"])]
    if dmarc["sources"]:
        parts.append("<table><thead><tr><th>source</th><th>yours</th><th>reported by</th><th>messages</th><th>failed</th>"
                     "<th>DKIM aligned</th><th>SPF aligned</th><th>disposition</th></tr></thead><tbody>")
        for source in dmarc["sources"]:
            parts.append('<tr%s><td>%s</td><td>%s</td><td>%s</td><td class="n">%d</td><td class="n">%d</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                ' class="own"' if source["own"] else "", _escape(source["source_ip"] + (" (%s)" % source["ptr"] if source.get("ptr") else "")),
                "yes" if source["own"] else "no", _escape(", ".join(source["org_names"])), source["messages"], source["failed"],
                _escape(_counts(source["dkim_aligned"])), _escape(_counts(source["spf_aligned"])), _escape(_counts(source["dispositions"]))))
        parts.append("</tbody></table>")
    parts.append("<p>TLS-RPT: %d report(s); %d session(s), %d failed; by policy type: %s; by result type: %s.</p>" % (
        tls["reports"], tls["sessions"], tls["failed"],
        _escape(", ".join("%s %d/%d" % (key, value["failed"], value["successful"] + value["failed"])
                          for key, value in sorted(tls["by_policy_type"].items())) or "none"),
        _escape(_counts(tls["by_result_type"]))))
    parts.append(chart_svg(tls["days"], "successful", "failed", "TLS sessions per day, %s" % entry["domain"]))
    if tls["organisations"]:
        parts.append("<table><thead><tr><th>reported by</th><th>sessions</th><th>failed</th><th>failures by type</th></tr></thead><tbody>")
        for org in tls["organisations"]:
            parts.append('<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td>%s</td></tr>' % (
                _escape(org["org_name"]), org["successful"] + org["failed"], org["failed"], _escape(_counts(org["results"]))))
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def render_section(digest):
    """The digest as an HTML fragment (a ``<section>``), with its own ``<style>``."""
    period = digest["period"]
    parts = ["<style>%s</style>" % STYLE, '<section class="digest" id="reports"><h2>Reports: DMARC aggregate and TLS-RPT</h2>',
             '<p class="meta">The %d day(s) up to %s. %s</p>' % (
                 period["days"], _escape(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(period["end"]))),
                 _escape("Reports about domains outside the inventory: %s." % ", ".join(digest["other_domains"])) if digest.get("other_domains") else "")]
    parts.extend(_domain_section(entry) for entry in digest["domains"])
    if digest.get("warnings"):
        parts.append("<h3>Skipped</h3><ul>%s</ul>" % "".join("<li>%s</li>" % _escape(line) for line in digest["warnings"]))
    parts.append("</section>")
    return "".join(parts)
