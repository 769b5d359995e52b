# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP TLS Reporting records (RFC 8460 3) at ``_smtp._tls.<domain>``: build and parse.

Private to the collection: users may rely only on plugins and modules.
The grammar is stricter than the DKIM tag-list: names are case-sensitive, no white space
around '=', only SP/HTAB around ';' and ','.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils import report_uri
from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    SpecError,
    as_list,
    join_txt,
    reject_unknown_keys,
    require_mapping,
    select_record,
    verdict,
    white_space_near_misses,
)

VERSION = "v=TLSRPTv1"
REPORT_SCHEMES = ("mailto", "https")
SPEC_KEYS = ("rua",)

# Selection (3): records that do not begin with "v=TLSRPTv1;" are discarded. We also pick up a
# version followed by WSP then ';' or by nothing, so such a record gets a precise verdict.
_VERSION = re.compile(r"^v=TLSRPTv1(?:[ \t]*;|[ \t]*$)")
_EXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")


def _blank_fields():
    return {"version": None, "rua": [], "extensions": {}}


def _parse_rua(value, fields, errors, warnings):
    uris = []
    for raw in re.split(r"[ \t]*,[ \t]*", value):
        if "!" in raw:
            errors.append("rua: %r: a '!' must be written %%21 (RFC 8460 3); TLS-RPT has no size limits" % raw)
            continue
        info = report_uri.describe(raw)
        if isinstance(info, str):
            errors.append("rua: %r %s" % (raw, info))
            continue
        if info["scheme"] not in REPORT_SCHEMES:
            warnings.append("rua: %r: scheme %r is not mailto or https; reporters ignore it (RFC 8460 3)" % (raw, info["scheme"]))
            continue
        uris.append(info)
    fields["rua"] = uris
    if not uris and not errors:
        errors.append("rua has no mailto: or https: URI, so no report can be sent")


def parse(text):
    """Parse one TLS-RPT record strictly; returns a verdict (never raises on bad text).

    Fields: ``version`` (``TLSRPTv1``), ``rua`` (list of ``{uri, scheme, address, domain}``;
    ``address`` only for mailto) and ``extensions`` (other fields, by name).
    """
    record = join_txt(text)
    errors = []
    warnings = []
    fields = _blank_fields()
    if not record.startswith(VERSION) or not _VERSION.match(record):
        if _VERSION.match(record.lstrip(" \t")):
            errors.append("record must begin with 'v=TLSRPTv1;' (exact case, RFC 8460 3), but it starts with white space "
                          "before 'v=TLSRPTv1': senders discard it, so the domain gets no TLS reports")
        else:
            errors.append("record must begin with 'v=TLSRPTv1;' (exact case, RFC 8460 3)")
        return verdict(errors, warnings, **fields)
    fields["version"] = "TLSRPTv1"
    if not record.startswith(VERSION + ";"):
        warnings.append("white space before the first ';': senders that look for 'v=TLSRPTv1;' ignore this record")
    # tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
    pieces = re.split(r"[ \t]*;[ \t]*", record[len(VERSION):])
    pieces = pieces[1:]  # text before the first ';' is empty (checked above)
    if pieces and pieces[-1] == "":
        pieces = pieces[:-1]
    elif pieces and pieces[-1] != pieces[-1].rstrip(" \t"):
        # field-delim = *WSP ";" *WSP: white space may end the record only after a ';'.
        errors.append("white space after the last field, without a ';', is outside RFC 8460 3's grammar: a failure, "
                      "because senders that parse the record by the grammar discard it")
        pieces[-1] = pieces[-1].rstrip(" \t")
    seen = set()
    for piece in pieces:
        if piece == "":
            errors.append("empty field between two ';' (RFC 8460 3)")
            continue
        name, equals, value = piece.partition("=")
        if not equals:
            errors.append("field %r has no '=' (RFC 8460 3)" % piece)
            continue
        if name in seen:
            errors.append("field %r appears more than once" % name)
            continue
        seen.add(name)
        if name == "rua":
            _parse_rua(value, fields, errors, warnings)
        elif not _EXT_NAME.match(name):
            errors.append("field name %r is not valid (RFC 8460 3: case-sensitive, no white space)" % name)
        elif not _EXT_VALUE.match(value):
            errors.append("field %r has an invalid value %r (no '=', ';', spaces or controls)" % (name, value))
        else:
            fields["extensions"][name] = value
    if "rua" not in seen:
        misspelt = [name for name in seen if name.strip().lower() == "rua"]
        hint = "; field names are case-sensitive and take no spaces: %r is not 'rua'" % misspelt[0] if misspelt else ""
        errors.append("rua= is required (RFC 8460 3)%s" % hint)
    return verdict(errors, warnings, **fields)


def is_tlsrpt_record(value):
    """True when the joined TXT value begins with the TLS-RPT version."""
    return bool(_VERSION.match(join_txt(value)))


def select(values):
    """Pick the TLS-RPT record among all TXT values at ``_smtp._tls.<domain>``.

    None, or more than one, is an error: senders then assume the domain does not use TLS-RPT
    (RFC 8460 3). Adds ``record`` and ``records`` to the verdict.
    """
    return select_record(
        values,
        _VERSION.match,
        parse,
        _blank_fields,
        missing="no TLS-RPT record (no TXT value begins with v=TLSRPTv1)",
        several="{count} TLS-RPT records at the name; senders then ignore them all (RFC 8460 3)",
        near_misses=lambda texts: white_space_near_misses(texts, _VERSION.match, "v=TLSRPTv1", "senders discard it (RFC 8460 3)"),
    )


def normalize_spec(spec, domain):
    """Validate an inventory ``tlsrpt`` entry; ``None`` means no record.

    ``spec`` is None or False (off) or a mapping with ``rua``: one or more ``mailto:`` or
    ``https:`` URIs. ``True`` is refused: there is no default report address.
    """
    if spec is None or spec is False:
        return None
    if spec is True:
        raise SpecError("tlsrpt.rua", "is required: where should reports go (mailto: or https: URIs)?", domain)
    spec = require_mapping(spec, "tlsrpt", domain)
    reject_unknown_keys(spec, SPEC_KEYS, "tlsrpt", domain)
    uris = []
    for index, uri in enumerate(as_list(spec.get("rua"), "tlsrpt.rua", domain)):
        canonical = report_uri.check_spec_uri(uri, "tlsrpt.rua[%d]" % index, domain, REPORT_SCHEMES)
        if canonical not in uris:
            uris.append(canonical)
    if not uris:
        raise SpecError("tlsrpt.rua", "needs at least one mailto: or https: URI", domain)
    return {"rua": uris}


def build(normalized):
    """The canonical record: ``v=TLSRPTv1; rua=<uri>,<uri>``."""
    return "%s; rua=%s" % (VERSION, ",".join(normalized["rua"]))
