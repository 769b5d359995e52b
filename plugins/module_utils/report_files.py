# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Report files as senders mail them: a MIME message with attachments, each plain, gzip or zip.

Private to the collection: users may rely only on plugins and modules.

Everything here reads untrusted bytes, so every size is bounded before it is reached: a message, a
compressed attachment, what it decompresses to (zip and gzip bombs stop at the limit, never after),
and the number of attachments and archive members.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import io
import zipfile
import zlib

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError

MAX_MESSAGE_BYTES = 20 << 20  # one mail, as fetched
MAX_COMPRESSED_BYTES = 10 << 20  # one attachment or file
MAX_REPORT_BYTES = 50 << 20  # one report once decompressed
MAX_PARTS = 20  # attachments of one mail, members of one zip
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
# The attachments a report can be in (RFC 7489 7.2.1.1, RFC 8460 5.3); others are the mail's text.
REPORT_TYPES = frozenset((
    "application/gzip", "application/x-gzip", "application/zip", "application/x-zip-compressed", "application/xml",
    "text/xml", "application/tlsrpt+gzip", "application/tlsrpt+json", "application/json", "application/octet-stream",
))
REPORT_SUFFIXES = (".xml", ".xml.gz", ".gz", ".zip", ".json", ".json.gz")


class ReportError(MailsecError):
    """A report that cannot be read; the message names it."""


def _gunzip(data, name, limit):
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit or decompressor.unconsumed_tail:
        raise ReportError("%s: decompresses to more than %d bytes (refused)" % (name, limit))
    if not decompressor.eof:
        raise ReportError("%s: the gzip data is truncated" % name)
    return out


def _unzip(data, name, limit):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReportError("%s: not a readable zip archive: %s" % (name, exc)) from None
    if len(members) > MAX_PARTS:
        raise ReportError("%s: the zip archive has %d members, more than %d (refused)" % (name, len(members), MAX_PARTS))
    found = []
    for info in members:
        label = "%s/%s" % (name, info.filename)
        # The declared size may lie: read at most one byte past the limit and judge by what came out.
        try:
            with archive.open(info) as member:
                out = member.read(limit + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
            raise ReportError("%s: cannot be read: %s" % (label, exc)) from None
        if len(out) > limit:
            raise ReportError("%s: decompresses to more than %d bytes (refused)" % (label, limit))
        found.append((label, out))
    return found


def unpack(name, data, limit=MAX_REPORT_BYTES):
    """``[(name, bytes)]``: the report(s) inside one file or attachment, by content (gzip, zip or plain)."""
    if len(data) > MAX_COMPRESSED_BYTES:
        raise ReportError("%s: %d bytes, more than %d (refused)" % (name, len(data), MAX_COMPRESSED_BYTES))
    if data.startswith(_GZIP_MAGIC):
        try:
            return [(name, _gunzip(data, name, limit))]
        except zlib.error as exc:
            raise ReportError("%s: not readable gzip data: %s" % (name, exc)) from None
    if data.startswith(_ZIP_MAGIC):
        return _unzip(data, name, limit)
    return [(name, data)]


def gzip_bytes(data):
    """``data`` gzip-compressed with a fixed timestamp (the same input gives the same bytes)."""
    return gzip.compress(data, mtime=0)


def attachments(message_bytes, name):
    """``[(name, bytes)]``: the report attachments of one mail (RFC 5322), bounded in size and count.

    A part counts when its type is one reports use or its file name ends like a report; the text
    parts that explain the report to a person are left out.
    """
    if len(message_bytes) > MAX_MESSAGE_BYTES:
        raise ReportError("%s: the mail has %d bytes, more than %d (refused)" % (name, len(message_bytes), MAX_MESSAGE_BYTES))
    message = email.message_from_bytes(message_bytes, policy=email.policy.compat32)
    subject = str(message.get("Subject", "") or "").strip()
    label = "%s (%s)" % (name, subject[:80]) if subject else name
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename() or ""
        if content_type not in REPORT_TYPES and not filename.lower().endswith(REPORT_SUFFIXES):
            continue
        if len(found) >= MAX_PARTS:
            raise ReportError("%s: more than %d report attachments (refused)" % (label, MAX_PARTS))
        payload = part.get_payload(decode=True) or b""
        found.append(("%s: %s" % (label, filename or content_type), payload))
    if not found:
        raise ReportError("%s: the mail has no report attachment" % label)
    return found
