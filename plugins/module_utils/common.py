# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the record engine: errors, verdicts, TXT joining, tag-lists.

Private to the collection: users may rely only on plugins and modules.
The engine is plain Python; it never imports Ansible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set


class MailsecError(Exception):
    """Base of every error the engine raises on purpose."""


class SpecError(MailsecError, ValueError):
    """An inventory spec that cannot be turned into records.

    The message always names the field and, when known, the domain, so a user
    can find the line of inventory to fix.
    """

    def __init__(self, field, message, domain=None):
        self.field = field
        self.domain = domain
        self.reason = message
        if domain:
            text = "domain %r: %s: %s" % (domain, field, message)
        else:
            text = "%s: %s" % (field, message)
        super().__init__(text)


def verdict(errors, warnings, **fields):
    """The one shape every parser returns: ``{valid, errors, warnings, ...fields}``."""
    result = {"valid": not errors, "errors": list(errors), "warnings": list(warnings)}
    result.update(fields)
    return result


def select_record(values, is_record, parse, blank_fields, missing, several, listed_as="records", near_misses=None):
    """Pick one standard's record among all TXT values found at a name, and parse it.

    ``values`` are the TXT values (each anything ``join_txt`` takes); ``is_record(text)`` tells
    this standard's record among them. Exactly one must be found: its verdict is ``parse(text)``
    plus ``record`` (its text) and ``listed_as`` (every record found). None is the error
    ``missing``, several the error ``several`` (``{count}`` becomes their number), each in the
    standard's own words with the RFC section that says what receivers then do; those verdicts
    carry ``record=None``, ``listed_as`` and ``blank_fields()`` (the parse fields, empty).
    ``near_misses(texts)`` may return warnings about values that almost are records, when none is.
    """
    texts = [join_txt(value) for value in (values or [])]
    records = [text for text in texts if is_record(text)]
    if len(records) == 1:
        result = parse(records[0])
        result["record"] = records[0]
        result[listed_as] = records
        return result
    if records:
        errors, warnings = [several.format(count=len(records))], []
    else:
        errors, warnings = [missing], list(near_misses(texts)) if near_misses else []
    fields = {"record": None, listed_as: records}
    fields.update(blank_fields())
    return verdict(errors, warnings, **fields)


def white_space_near_misses(texts, is_record, version, consequence):
    """Warnings for TXT values that would be records but for white space before ``version``.

    SPF (RFC 7208 4.5), DMARC (RFC 7489 6.6.3) and TLS-RPT (RFC 8460 3) records must begin with
    their version tag, so receivers skip such a value; a person reading the zone does not see why.
    """
    return ["%r starts with white space before %s; %s" % (text[:40], version, consequence)
            for text in texts if text != text.lstrip() and is_record(text.lstrip())]


_QUOTED_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
# RFC 1035 5.1: \DDD is the octet DDD (decimal), \X is X itself; read left to right in one pass.
_ESCAPE = re.compile(r"\\(?:([0-9]{3})|(.))", re.DOTALL)


def _presentation_octets(text):
    """The octets of one quoted character-string's content (RFC 1035 5.1 escapes)."""
    octets = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        octets += text[position:match.start()].encode("utf-8")
        if match.group(1) is not None:
            value = int(match.group(1))
            # A \DDD above 255 is not an octet: keep the text as written so a parser reports it.
            octets += bytes([value]) if value <= 255 else match.group(0).encode("utf-8")
        else:
            octets += match.group(2).encode("utf-8")
        position = match.end()
    octets += text[position:].encode("utf-8")
    return bytes(octets)


def _octets(value):
    """The octets of one TXT value in any form ``join_txt`` takes."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return b"".join(_octets(part) for part in value)
    text = str(value)
    stripped = text.strip()
    if stripped.startswith('"') and stripped.endswith('"'):
        parts = _QUOTED_STRING.findall(stripped)
        # Only presentation format when the quoted strings cover the whole text.
        rebuilt = _QUOTED_STRING.sub("", stripped).strip()
        if parts and not rebuilt:
            return b"".join(_presentation_octets(part) for part in parts)
    return text.encode("utf-8", "surrogatepass")


def join_txt(value):
    """Join the character-strings of one TXT record into the value a parser reads.

    Accepts what users and resolvers hand over: a plain string, a list of
    strings or bytes (dnspython's ``rdata.strings``), or the zone-file
    presentation ``"part one" "part two"``. Strings are concatenated without
    a separator, as RFC 7208 3.3, RFC 6376 3.6.2.2 and RFC 8461 3.1 require.
    A character-string holds octets: ``\\DDD`` escapes (RFC 1035 5.1) are octets, and
    the joined octets are read as UTF-8 (``"caf\\195\\169"`` is ``caf\u00e9``; a character
    split across two strings stays whole). Octets that are not UTF-8 become U+FFFD,
    which every record parser reports as not ASCII.
    """
    if isinstance(value, str) and not value.strip().startswith('"'):
        return value  # the common case, kept exactly (also text that is not valid UTF-16)
    return _octets(value).decode("utf-8", "replace")


def split_txt(value, limit=255):
    """Split a TXT value into character-strings of at most ``limit`` octets.

    Splits on UTF-8 octet boundaries without cutting a multi-octet character,
    so joining the parts gives back the value exactly.
    """
    if limit < 1 or limit > 255:
        raise ValueError("a TXT character-string holds 1 to 255 octets")
    data = value.encode("utf-8")
    if not data:
        return [""]
    parts = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        # Step back off UTF-8 continuation octets (10xxxxxx).
        while end < len(data) and end > start and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
    return parts


# RFC 6376 3.2: tag-name = ALPHA *ALNUMPUNC; ALNUMPUNC = ALPHA / DIGIT / "_"
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# tag-value: VALCHAR = %x21-3A / %x3C-7E (printable except ';'), with FWS inside.
_TAG_VALUE = re.compile(r"^[\x21-\x3a\x3c-\x7e]*(?:[ \t\r\n]+[\x21-\x3a\x3c-\x7e]+)*$")


def parse_tag_list(text):
    """Parse an RFC 6376 3.2 tag-list (``tag=value; tag=value``).

    Returns ``(tags, errors)``: ``tags`` is a list of ``(name, value)`` pairs in
    order, values stripped of surrounding white space; ``errors`` names every
    syntax fault. Duplicates are kept so callers can apply their own rule.
    A single trailing ``;`` is allowed (the grammar's ``[tag-sep]``).
    """
    tags = []
    errors = []
    pieces = text.split(";")
    if pieces and pieces[-1].strip() == "" and len(pieces) > 1:
        pieces = pieces[:-1]
    for index, piece in enumerate(pieces):
        if "=" not in piece:
            if piece.strip() == "":
                errors.append("empty tag at position %d" % (index + 1))
            else:
                errors.append("tag %r has no '='" % piece.strip())
            continue
        name, value = piece.split("=", 1)
        name = name.strip(" \t\r\n")
        value = value.strip(" \t\r\n")
        if not _TAG_NAME.match(name):
            errors.append("invalid tag name %r" % name)
            continue
        if not _TAG_VALUE.match(value):
            errors.append("tag %r has an invalid value %r" % (name, value))
            continue
        tags.append((name, value))
    return tags, errors


def duplicate_tags(tags):
    """Names that occur more than once in a parsed tag-list, in first-seen order."""
    seen = set()
    repeated = []
    for name, _value in tags:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def kind_of(value):
    """What a message calls the type of ``value``: "a string", "a mapping", "a list", "an integer" ...

    Never a class name: values from Ansible come as its internal types (``_AnsibleTaggedStr``,
    ``_AnsibleLazyTemplateDict``), which mean nothing to the person reading the message.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (Sequence, Set)):
        return "a list"
    return "a value of another kind"


def require_mapping(value, field, domain=None):
    """Return ``value`` if it is a mapping (``None`` becomes ``{}``), else raise SpecError."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(field, "must be a mapping, got %s" % kind_of(value), domain)
    return value


def reject_unknown_keys(spec, allowed, field, domain=None):
    """Raise SpecError naming the first key of ``spec`` that is not in ``allowed``."""
    for key in spec:
        if key not in allowed:
            raise SpecError(
                "%s.%s" % (field, key),
                "unknown option; expected one of %s" % ", ".join(sorted(allowed)),
                domain,
            )


def as_list(value, field, domain=None):
    """A list from a list or a single string; anything else is a SpecError."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise SpecError(field, "must be a list or a string, got %s" % kind_of(value), domain)


def as_enabled(spec, field, domain=None):
    """A standard's ``enabled`` key: true when absent, else it must be true or false (a SpecError otherwise)."""
    enabled = spec.get("enabled")
    if enabled is None:
        return True
    if not isinstance(enabled, bool):
        raise SpecError(field, "must be true or false, got %r" % (enabled,), domain)
    return enabled


def as_int(value, field, domain=None, minimum=None, maximum=None):
    """An int from an int or a decimal string, within bounds, or a SpecError."""
    if isinstance(value, bool):
        raise SpecError(field, "must be an integer, got a boolean", domain)
    if isinstance(value, str) and re.match(r"^[0-9]+$", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise SpecError(field, "must be an integer, got %r" % (value,), domain)
    if minimum is not None and value < minimum:
        raise SpecError(field, "must be at least %d, got %d" % (minimum, value), domain)
    if maximum is not None and value > maximum:
        raise SpecError(field, "must be at most %d, got %d" % (maximum, value), domain)
    return value


def as_choice(value, choices, field, domain=None):
    """``value`` if it is one of ``choices`` (exact, case-sensitive), else a SpecError."""
    if value not in choices:
        raise SpecError(field, "must be one of %s, got %r" % (", ".join(choices), value), domain)
    return value
