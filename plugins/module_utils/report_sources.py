# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the reports are: an IMAP mailbox (over TLS, read-only), a Maildir or a directory of files.

Private to the collection: users may rely only on plugins and modules.

Every source yields ``(name, bytes, is_mail)``; ``read_reports`` turns them into parsed DMARC and
TLS-RPT reports, one per (kind, organisation, report id), and a warning naming each item it skipped.
Reading never changes the mailbox: IMAP uses EXAMINE and BODY.PEEK, so not even the \\Seen flag moves.
"""

from __future__ import annotations

import imaplib
import os
import socket
import ssl

from ansible_collections.mailsec.posture.plugins.module_utils import dmarc_reports, report_files, tlsrpt_reports
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError
from ansible_collections.mailsec.posture.plugins.module_utils.report_files import ReportError

SOURCE_TYPES = ("imap", "maildir", "directory")
DEFAULT_MAX_ITEMS = 5000  # mails or files read per run, the newest first
DEFAULT_IMAP_PORT = 993
DEFAULT_TIMEOUT = 30.0


class SourceError(MailsecError):
    """The source itself cannot be read (not one report in it): the whole task fails."""


def _files(directory, limit):
    """The regular files under ``directory`` (no symlinks followed), newest first, at most ``limit``."""
    found = []
    for top, dirs, names in os.walk(directory):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in names:
            path = os.path.join(top, name)
            if not name.startswith(".") and os.path.isfile(path) and not os.path.islink(path):
                found.append((os.stat(path).st_mtime, path))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [path for _mtime, path in found[:limit]]


def _read(path, limit):
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ReportError("%s: cannot be read: %s" % (path, exc.strerror or exc)) from None
    if len(data) > limit:
        raise ReportError("%s: more than %d bytes (refused)" % (path, limit))
    return data


def directory_items(path, limit=DEFAULT_MAX_ITEMS):
    """Report files (plain, gzip or zip) and saved mails (``.eml``) in a directory tree."""
    if not os.path.isdir(path):
        raise SourceError("the report directory %s does not exist" % path)
    for file_path in _files(path, limit):
        try:
            yield file_path, _read(file_path, report_files.MAX_MESSAGE_BYTES), file_path.lower().endswith(".eml")
        except ReportError as exc:
            yield file_path, exc, False


def maildir_items(path, limit=DEFAULT_MAX_ITEMS):
    """The mails in a Maildir's ``cur`` and ``new`` (read only: nothing is renamed or flagged)."""
    if not all(os.path.isdir(os.path.join(path, sub)) for sub in ("cur", "new")):
        raise SourceError("%s is not a Maildir (it needs cur and new)" % path)
    paths = [item for sub in ("new", "cur") for item in _files(os.path.join(path, sub), limit)]
    for file_path in paths[:limit]:
        try:
            yield file_path, _read(file_path, report_files.MAX_MESSAGE_BYTES), True
        except ReportError as exc:
            yield file_path, exc, True


def imap_context(ca_path=None):
    """A client context that verifies the server's certificate and name (against ``ca_path`` when given)."""
    context = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def imap_items(host, user, password, port=DEFAULT_IMAP_PORT, mailbox="INBOX", ca_path=None, timeout=DEFAULT_TIMEOUT,
               limit=DEFAULT_MAX_ITEMS, read_only=True):
    """The mails of one IMAP mailbox over TLS (IMAPS), newest first.

    ``read_only`` (the default) opens the mailbox with EXAMINE; either way messages are fetched with
    BODY.PEEK, which sets no flag.
    """
    try:
        context = imap_context(ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise SourceError("the CA bundle %s cannot be used: %s" % (ca_path, exc)) from None
    where = "IMAP %s:%d" % (host, port)
    try:
        client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise SourceError("%s: the server's certificate does not verify: %s" % (where, exc.verify_message or exc)) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise SourceError("%s: cannot connect: %s" % (where, exc)) from None
    try:
        try:
            client.login(user, password)
        except imaplib.IMAP4.error:
            raise SourceError("%s: login as %s refused" % (where, user)) from None
        status, data = client.select(_quoted(mailbox), readonly=read_only)
        if status != "OK":
            raise SourceError("%s: mailbox %s cannot be opened: %s" % (where, mailbox, _text(data)))
        status, data = client.uid("SEARCH", None, "ALL")
        if status != "OK":
            raise SourceError("%s: SEARCH failed: %s" % (where, _text(data)))
        uids = (data[0] or b"").split()[::-1][:limit]
        for uid in uids:
            name = "%s/%s uid %s" % (where, mailbox, uid.decode("ascii", "replace"))
            status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            body = next((item[1] for item in data or [] if isinstance(item, tuple) and len(item) > 1), None)
            if status != "OK" or body is None:
                yield name, ReportError("%s: cannot be fetched" % name), True
                continue
            yield name, body, True
    except (OSError, socket.timeout, imaplib.IMAP4.error) as exc:
        raise SourceError("%s: %s" % (where, exc)) from None
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quoted(mailbox):
    return '"%s"' % mailbox.replace("\\", "\\\\").replace('"', '\\"')


def _text(data):
    return " ".join(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in data or [])


def _parse_one(name, data):
    head = data.lstrip()[:1]
    if head == b"<":
        return dmarc_reports.parse(data, name)
    if head == b"{":
        return tlsrpt_reports.parse(data, name)
    raise ReportError("%s: neither a DMARC aggregate report (XML) nor a TLS report (JSON)" % name)


def _looks_like_mail(data):
    head = data[:2048].lower()
    return b"\ncontent-type:" in b"\n" + head or head.startswith(b"received:") or b"\nmime-version:" in b"\n" + head


def read_reports(items):
    """``(reports, warnings, stats)`` from ``(name, bytes or ReportError, is_mail)`` items.

    A report seen again (same kind, organisation and report id: a resent mail, a copy in two
    folders) counts once. Each item that cannot be read gives a warning naming it and is skipped.
    """
    reports, warnings, seen = [], [], set()
    stats = {"items": 0, "skipped": 0, "duplicates": 0, "reports": 0}
    for name, data, is_mail in items:
        stats["items"] += 1
        try:
            if isinstance(data, ReportError):
                raise data
            parts = report_files.attachments(data, name) if is_mail or _looks_like_mail(data) else [(name, data)]
            parsed = [_parse_one(inner, content) for part, payload in parts for inner, content in report_files.unpack(part, payload)]
        except ReportError as exc:
            warnings.append("skipped %s" % exc)
            stats["skipped"] += 1
            continue
        for report in parsed:
            key = (report["kind"], report["org_name"].lower(), report["report_id"])
            if key in seen:
                stats["duplicates"] += 1
                continue
            seen.add(key)
            reports.append(report)
    stats["reports"] = len(reports)
    return reports, warnings, stats
