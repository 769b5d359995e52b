# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC aggregate reports (RFC 7489 appendix C; the RFC 9990 namespace too): parse one report.

Private to the collection: users may rely only on plugins and modules.

The XML comes from strangers, so it is read with defusedxml and no DTD at all is accepted: that
refuses external entities (XXE) and entity expansion (billion laughs) before any is looked at.
Element names are taken without their namespace, because senders differ (Google none, Microsoft and
the RFC 9990 draft a default namespace), and optional elements may be missing. Counts are bounded.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.mailsec.posture.plugins.module_utils.report_files import ReportError

try:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    HAS_DEFUSEDXML = True
except ImportError:  # pragma: no cover - exercised only without the package
    class DefusedXmlException(Exception):
        """Stands in for defusedxml's (parse refuses to run without the package)."""

    class ParseError(Exception):
        """Stands in for ElementTree's (parse refuses to run without the package)."""

    fromstring = None
    HAS_DEFUSEDXML = False

MAX_RECORDS = 100000  # rows of one report
MAX_COUNT = 10 ** 9  # messages one row may claim
MAX_AUTH_RESULTS = 50  # DKIM or SPF results of one row
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z
DISPOSITIONS = ("none", "quarantine", "reject")
PASS = "pass"


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(node, name):
    if node is None:
        return None
    for child in node:
        if _local(child.tag) == name:
            return child
    return None


def _children(node, name):
    return [child for child in node if _local(child.tag) == name] if node is not None else []


def _text(node, *path):
    for name in path:
        node = _child(node, name)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _integer(text, what, name, maximum):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ReportError("%s: %s is not an integer: %r" % (name, what, text)) from None
    if not 0 <= value <= maximum:
        raise ReportError("%s: %s %d is out of range (0 to %d)" % (name, what, value, maximum))
    return value


def _auth_results(node, kind, keys):
    results = _children(node, kind)
    if len(results) > MAX_AUTH_RESULTS:
        return None
    return [{key: (_text(result, key) or "").lower() if key in ("result", "scope") else (_text(result, key) or "") for key in keys}
            for result in results]


def _record(node, name):
    row = _child(node, "row")
    source = _text(row, "source_ip")
    try:
        address = str(ipaddress.ip_address(source or ""))
    except ValueError:
        raise ReportError("%s: a record has no valid source_ip: %r" % (name, source)) from None
    count = _integer(_text(row, "count"), "count of %s" % address, name, MAX_COUNT)
    evaluated = _child(row, "policy_evaluated")
    auth = _child(node, "auth_results")
    dkim = _auth_results(auth, "dkim", ("domain", "selector", "result"))
    spf = _auth_results(auth, "spf", ("domain", "scope", "result"))
    if dkim is None or spf is None:
        raise ReportError("%s: a record of %s has more than %d authentication results (refused)" % (name, address, MAX_AUTH_RESULTS))
    reasons = [{"type": (_text(reason, "type") or "").lower(), "comment": _text(reason, "comment") or ""}
               for reason in _children(evaluated, "reason")[:MAX_AUTH_RESULTS]]
    identifiers = _child(node, "identifiers")
    aligned_dkim = (_text(evaluated, "dkim") or "").lower()
    aligned_spf = (_text(evaluated, "spf") or "").lower()
    return {
        "source_ip": address,
        "count": count,
        "disposition": (_text(evaluated, "disposition") or "none").lower(),
        "dkim_aligned": aligned_dkim,
        "spf_aligned": aligned_spf,
        # DMARC passes when either identifier passes aligned (RFC 7489 4.2); policy_evaluated holds those results.
        "dmarc_pass": PASS in (aligned_dkim, aligned_spf),
        "reasons": reasons,
        "header_from": (_text(identifiers, "header_from") or "").lower().rstrip("."),
        "envelope_from": (_text(identifiers, "envelope_from") or "").lower().rstrip("."),
        "dkim": dkim,
        "spf": spf,
    }


def parse(data, name):
    """One aggregate report's bytes (XML, already decompressed) -> a plain dict; ReportError names ``name``.

    ``{kind: dmarc, name, org_name, email, report_id, begin, end, domain, policy: {p, sp, pct, adkim, aspf},
    records: [{source_ip, count, disposition, dkim_aligned, spf_aligned, dmarc_pass, reasons, header_from,
    envelope_from, dkim: [...], spf: [...]}], messages}`` (``begin``/``end``: Unix seconds, UTC).
    """
    if not HAS_DEFUSEDXML:
        raise ReportError("reading DMARC aggregate reports needs the Python library defusedxml")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ReportError("%s: refused: the XML declares a DTD or entities (%s)" % (name, type(exc).__name__)) from None
    except (ParseError, ValueError) as exc:
        raise ReportError("%s: not well-formed XML: %s" % (name, exc)) from None
    if _local(root.tag) != "feedback":
        raise ReportError("%s: not a DMARC aggregate report (the root element is %r, not feedback)" % (name, _local(root.tag)))
    metadata = _child(root, "report_metadata")
    published = _child(root, "policy_published")
    report_id = _text(metadata, "report_id")
    org_name = _text(metadata, "org_name")
    domain = (_text(published, "domain") or "").lower().rstrip(".")
    if not report_id or not org_name or not domain:
        raise ReportError("%s: report_metadata/org_name, report_id or policy_published/domain is missing" % name)
    begin = _integer(_text(metadata, "date_range", "begin"), "date_range/begin", name, MAX_TIMESTAMP)
    end = _integer(_text(metadata, "date_range", "end"), "date_range/end", name, MAX_TIMESTAMP)
    if end < begin:
        raise ReportError("%s: date_range ends (%d) before it begins (%d)" % (name, end, begin))
    nodes = _children(root, "record")
    if len(nodes) > MAX_RECORDS:
        raise ReportError("%s: %d records, more than %d (refused)" % (name, len(nodes), MAX_RECORDS))
    records = [_record(node, name) for node in nodes]
    return {
        "kind": "dmarc",
        "name": name,
        "org_name": org_name,
        "email": _text(metadata, "email") or "",
        "report_id": report_id,
        "begin": begin,
        "end": end,
        "domain": domain,
        "policy": {key: (_text(published, key) or "").lower() for key in ("p", "sp", "pct", "adkim", "aspf")},
        "records": records,
        "messages": sum(record["count"] for record in records),
    }
