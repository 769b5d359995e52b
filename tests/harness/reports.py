# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC aggregate and TLS reports in the shapes the big senders mail them, and hostile ones.

Layouts (``provider``):

* ``google``: no XML namespace, ``<version>``-less metadata, the report zipped
  (``google.com!<domain>!<begin>!<end>.zip``); TLS reports gzip JSON (``application/tlsrpt+gzip``).
* ``microsoft``: a default namespace (``urn:ietf:params:xml:ns:dmarc-2.0``), ``<version>``, an
  ``<envelope_to>``, ``<np>``/``<fo>`` in policy_published, gzip (``.xml.gz``, ``application/gzip``).
* ``yahoo``: an XML declaration, ``<extra_contact_info>``, ``<pct>``, gzip with ``application/x-gzip``.

Rows (``Row``) may carry several DKIM results, no SPF domain, policy overrides (``forwarded``,
``local_policy``, ``mailing_list``), IPv6 sources. Everything is plain data the tests assert on.
"""

from __future__ import annotations

import dataclasses
import email.mime.application
import email.mime.multipart
import email.mime.text
import email.utils
import functools
import gzip
import io
import json
import time
import zipfile
from xml.sax.saxutils import escape

DAY = 86400
PROVIDERS = {
    "google": {"org": "google.com", "email": "noreply-dmarc-support@google.com"},
    "microsoft": {"org": "Enterprise Outlook", "email": "dmarcreport@microsoft.com"},
    "yahoo": {"org": "Yahoo", "email": "dmarchelp@yahooinc.com"},
}
MICROSOFT_NS = "urn:ietf:params:xml:ns:dmarc-2.0"


@dataclasses.dataclass
class Row:
    """One record of an aggregate report."""

    source_ip: str
    count: int
    header_from: str
    dkim: tuple = ()  # ((domain, selector, result), ...)
    spf: tuple = ()  # ((domain, result), ...)
    dkim_aligned: str = "pass"
    spf_aligned: str = "pass"
    disposition: str = "none"
    reasons: tuple = ()  # ((type, comment), ...)
    envelope_from: str = ""


def own_row(ip, count, domain, selector="dkim"):
    """Mail you sent: DKIM and SPF pass aligned."""
    return Row(ip, count, domain, dkim=((domain, selector, "pass"),), spf=((domain, "pass"),), envelope_from=domain)


def forwarded_row(ip, count, domain, selector="dkim"):
    """Your mail through a forwarder: SPF fails (not your IP), DKIM survives aligned; the receiver says forwarded."""
    return Row(ip, count, domain, dkim=((domain, selector, "pass"), ("forwarder.example", "fwd", "pass")), spf=(("forwarder.example", "pass"),),
               spf_aligned="fail", reasons=(("forwarded", "looks forwarded"),), envelope_from="forwarder.example")


def spoof_row(ip, count, domain, disposition="none"):
    """Someone else using your name: both fail."""
    return Row(ip, count, domain, spf=(("spam.example", "fail"),), dkim_aligned="fail", spf_aligned="fail", disposition=disposition,
               envelope_from="spam.example")


def _auth(row):
    parts = ["<auth_results>"]
    for domain, selector, result in row.dkim:
        parts.append("<dkim><domain>%s</domain><selector>%s</selector><result>%s</result></dkim>" % (escape(domain), escape(selector), result))
    for domain, result in row.spf:
        parts.append("<spf><domain>%s</domain><scope>mfrom</scope><result>%s</result></spf>" % (escape(domain), result))
    parts.append("</auth_results>")
    return "".join(parts)


def _record(row, provider):
    reasons = "".join("<reason><type>%s</type><comment>%s</comment></reason>" % (kind, escape(comment)) for kind, comment in row.reasons)
    identifiers = "<header_from>%s</header_from>" % escape(row.header_from)
    if row.envelope_from:
        identifiers += "<envelope_from>%s</envelope_from>" % escape(row.envelope_from)
    if provider == "microsoft":
        identifiers = "<envelope_to>%s</envelope_to>" % escape("outlook.com") + identifiers
    return ("<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated><disposition>%s</disposition>"
            "<dkim>%s</dkim><spf>%s</spf>%s</policy_evaluated></row><identifiers>%s</identifiers>%s</record>"
            % (row.source_ip, row.count, row.disposition, row.dkim_aligned, row.spf_aligned, reasons, identifiers, _auth(row)))


def dmarc_xml(domain, begin, rows, provider="google", report_id=None, policy="none", end=None):
    """An aggregate report's XML (bytes) for ``domain`` covering ``begin``..``end`` (a day by default)."""
    sender = PROVIDERS[provider]
    end = begin + DAY - 1 if end is None else end
    report_id = report_id or "%s-%s-%d" % (provider, domain, begin)
    extra = "<extra_contact_info>https://help.yahoo.com/</extra_contact_info>" if provider == "yahoo" else ""
    published = "<domain>%s</domain><adkim>r</adkim><aspf>r</aspf><p>%s</p><sp>%s</sp>" % (escape(domain), policy, policy)
    if provider == "microsoft":
        published += "<pct>100</pct><fo>0</fo><np>%s</np>" % policy
    elif provider == "yahoo":
        published += "<pct>100</pct>"
    head = '<?xml version="1.0" encoding="UTF-8" ?>\n' if provider != "google" else '<?xml version="1.0" encoding="UTF-8" ?>'
    root = '<feedback xmlns="%s">' % MICROSOFT_NS if provider == "microsoft" else "<feedback>"
    version = "<version>1.0</version>" if provider == "microsoft" else ""
    text = ("%s%s%s<report_metadata><org_name>%s</org_name><email>%s</email>%s<report_id>%s</report_id>"
            "<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata><policy_published>%s</policy_published>%s</feedback>"
            % (head, root, version, escape(sender["org"]), sender["email"], extra, escape(report_id), begin, end, published,
               "".join(_record(row, provider) for row in rows)))
    return text.encode("utf-8")


def tlsrpt_json(domain, begin, org="google.com", report_id=None, mx=("mail.example",), mode="testing", successful=100, failures=(),
                policy_type="sts"):
    """A TLS report (bytes). ``failures``: ``((result_type, receiving_mx_hostname, count), ...)``."""
    def stamp(seconds):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

    policy = {"policy-type": policy_type, "policy-domain": domain}
    if policy_type == "sts":
        policy["policy-string"] = ["version: STSv1", "mode: %s" % mode] + ["mx: %s" % host for host in mx] + ["max_age: 604800"]
        policy["mx-host"] = list(mx)
    document = {
        "organization-name": org,
        "date-range": {"start-datetime": stamp(begin), "end-datetime": stamp(begin + DAY - 1)},
        "contact-info": "smtp-tls-reporting@%s" % org,
        "report-id": report_id or "%s-%s-%d" % (org, domain, begin),
        "policies": [{
            "policy": policy,
            "summary": {"total-successful-session-count": successful, "total-failure-session-count": sum(count for *_rest, count in failures)},
            "failure-details": [{"result-type": kind, "sending-mta-ip": "203.0.113.9", "receiving-mx-hostname": host, "receiving-ip": "192.0.2.25",
                                 "failed-session-count": count} for kind, host, count in failures],
        }],
    }
    return json.dumps(document, indent=1).encode("utf-8")


def zipped(name, data, level=6):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        member = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo is stored uncompressed unless told
        archive.writestr(member, data, compresslevel=level)
    return buffer.getvalue()


def report_mail(domain, attachment_name, content_type, data, sender, subject=None, to=None):
    """A report mail as a sender would send it (RFC 7489 7.2.1.1 / RFC 8460 5.3): bytes."""
    message = email.mime.multipart.MIMEMultipart()
    message["From"] = sender
    message["To"] = to or "dmarc@%s" % domain
    message["Subject"] = subject or "Report Domain: %s Submitter: %s" % (domain, sender.split("@")[-1])
    message["Date"] = email.utils.formatdate(0, usegmt=True)
    message["Message-ID"] = "<%s@%s>" % (attachment_name.replace("!", "."), sender.split("@")[-1])
    message.attach(email.mime.text.MIMEText("This is an aggregate report from %s.\n" % sender.split("@")[-1]))
    maintype, subtype = content_type.split("/")
    part = email.mime.application.MIMEApplication(data, _subtype=subtype)
    if maintype != "application":
        part.replace_header("Content-Type", content_type)
    part.add_header("Content-Disposition", "attachment", filename=attachment_name)
    message.attach(part)
    return message.as_bytes()


def dmarc_mail(domain, begin, rows, provider="google", **options):
    """An aggregate report mailed the way ``provider`` does (zip for Google, gzip for the others)."""
    xml = dmarc_xml(domain, begin, rows, provider=provider, **options)
    sender = PROVIDERS[provider]
    stem = "%s!%s!%d!%d" % (sender["org"].replace(" ", "").lower(), domain, begin, begin + DAY - 1)
    if provider == "google":
        return report_mail(domain, stem + ".zip", "application/zip", zipped(stem + ".xml", xml), sender["email"])
    content_type = "application/gzip" if provider == "microsoft" else "application/x-gzip"
    return report_mail(domain, stem + ".xml.gz", content_type, gzip.compress(xml, mtime=0), sender["email"])


def tlsrpt_mail(domain, begin, **options):
    data = tlsrpt_json(domain, begin, **options)
    org = options.get("org", "google.com")
    name = "%s!%s!%d!%d.json.gz" % (org, domain, begin, begin + DAY - 1)
    return report_mail(domain, name, "application/tlsrpt+gzip", gzip.compress(data, mtime=0), "noreply-smtp-tls-reporting@%s" % org,
                       subject="Report Domain: %s Submitter: %s Report-ID: <%s>" % (domain, org, name), to="tls-reports@%s" % domain)


def days_back(now, count):
    """The starts of the ``count`` whole UTC days before ``now``'s day, oldest first."""
    today = int(now) // DAY * DAY
    return [today - DAY * index for index in range(count, 0, -1)]


# --- hostile inputs ------------------------------------------------------------------------------

XXE = (b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
       b"<feedback><report_metadata><org_name>&leak;</org_name><report_id>x</report_id></report_metadata></feedback>")
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10) for level in range(1, 10))
                  + b"]><feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>")


@functools.lru_cache(maxsize=None)
def zip_bomb(size=60 << 20):
    """A zip whose one member claims little but inflates to ``size`` bytes of zeros (about 60 KiB on the wire)."""
    return zipped("bomb.xml", b"<" + b"\0" * size, level=1)


@functools.lru_cache(maxsize=None)
def gzip_bomb(size=60 << 20):
    return gzip.compress(b"<" + b"\0" * size, compresslevel=1, mtime=0)


def huge_count(domain, begin):
    return dmarc_xml(domain, begin, [Row("192.0.2.1", 10 ** 15, domain)], report_id="huge-count")
