# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MTA-STS (RFC 8461): the policy file, its TXT record, their strict parsers and MX matching.

Private to the collection: users may rely only on plugins and modules.

How the parsers judge what they read:

- An *error* is anything outside the RFC 8461 grammar or its rules that makes a sender read the
  text differently from what was meant, or discard it (then the domain has no policy at all).
- A *warning* is text the RFC allows but that is risky (``mode: testing``, a short ``max_age``,
  a policy whose first field is not ``version``). Duplicated fields other than ``mx`` are
  warnings too: RFC 8461 section 3 says all but the first are ignored.
- Text outside the grammar is an error even where lenient senders tolerate it (blank lines in
  the policy, white space after the last TXT field without ``;``): a sender that parses by the
  grammar has no policy for the domain. Each message says whether it is a failure or a warning.

The TXT grammar (RFC 8461 3.1) is not an RFC 6376 tag-list: it allows no white space around
``=``, and extension names may hold ``-`` and ``.``. So this module parses it itself instead of
using ``common.parse_tag_list``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ansible_collections.mailsec.posture.plugins.module_utils import names
from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    SpecError,
    as_choice,
    as_enabled,
    as_int,
    as_list,
    join_txt,
    kind_of,
    reject_unknown_keys,
    require_mapping,
    select_record,
    verdict,
)

MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31557600  # RFC 8461 3.2: max_age is at most 31557600 s (about a year)
# One week: RFC 8461 3.2 expects max_age "in the range of weeks or greater" so that an attacker
# cannot strip a policy at refresh time; a week still lets a mistake age out of caches quickly.
DEFAULT_MAX_AGE = 604800
# Testing first. RFC 8461 5 gives mode "testing" for exactly this: senders report failures
# (TLS-RPT, RFC 8460) but still deliver. In enforce mode a sender refuses to deliver when the MX
# does not present a certificate valid for its name, so enforcing before that is known to hold
# loses mail. (Both seed guides jump straight to enforce, one of them with an invalid "mx: *";
# the blog seed's own advice for DMARC, start with p=none and tighten after reading reports, is
# the staged approach taken here.) Users switch to enforce explicitly.
DEFAULT_MODE = "testing"
# Below a day, the policy protects almost nothing between fetches.
SHORT_MAX_AGE = 86400

VERSION = "STSv1"
TXT_VERSION = "v=STSv1"
POLICY_PATH = "/.well-known/mta-sts.txt"
ID_LENGTH = 20  # hex digits of SHA-256 kept in a derived id (80 bits; RFC 8461 allows 1 to 32)

_SPEC_KEYS = ("enabled", "mode", "max_age", "mx", "delegate_to", "policy_host", "policy_host_addresses")
_POLICY_FIELDS = ("version", "mode", "mx", "max_age")

_WSP = " \t"
# RFC 8461 3.1 ABNF.
_TXT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_FIELD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")  # sts-ext-name and sts-policy-ext-name
_TXT_EXT_VALUE = re.compile(r"^[\x21-\x3a\x3c\x3e-\x7e]+$")  # no '=', ';', space or control characters
# RFC 8461 3.2 ABNF: sts-policy-ext-value is visible characters (UTF-8 included) with inner spaces.
_POLICY_EXT_VALUE = re.compile(r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$")
_MAX_AGE_VALUE = re.compile(r"^[0-9]{1,10}$")


# ---------------------------------------------------------------------------------------------
# Names


def txt_name(domain):
    """The owner name of the MTA-STS TXT record: ``_mta-sts.<domain>``."""
    return "_mta-sts." + names.normalize_domain(domain, "domain")


def policy_host(domain):
    """The host that serves the policy over HTTPS: ``mta-sts.<domain>``."""
    return "mta-sts." + names.normalize_domain(domain, "domain")


def policy_url(domain):
    """Where senders fetch the policy (RFC 8461 3.3)."""
    return "https://%s%s" % (policy_host(domain), POLICY_PATH)


# ---------------------------------------------------------------------------------------------
# MX patterns


def _wildcard_problem(pattern):
    """Why ``pattern`` is not ``["*."] domain`` as far as the wildcard goes, or None."""
    if pattern == "*":
        return (
            "'*' alone is not an mx pattern: RFC 8461 3.2 allows a host name or '*.' followed by a "
            "domain (e.g. '*.example.com'), so senders reject the policy or match no MX at all"
        )
    labels = pattern.split(".")
    if "*" in labels[0] and labels[0] != "*":
        return "a wildcard must be the whole left-most label ('*.example.com'), not part of %r" % labels[0]
    if any("*" in label for label in labels[1:]):
        return "a wildcard is allowed only as the left-most label ('*.example.com'); %r has one further right" % pattern
    return None


def mx_pattern_errors(pattern):
    """Every reason ``pattern`` is not a valid RFC 8461 ``mx`` value (``["*."] Domain``)."""
    if not pattern:
        return ["mx pattern is empty"]
    problem = _wildcard_problem(pattern)
    if problem:
        return [problem]
    if pattern.endswith("."):
        return ["mx pattern %r ends in a dot; write host names without the trailing dot" % pattern]
    if not pattern.isascii():
        return ["mx pattern %r is not ASCII: MX host names in DNS are A-labels (xn--...), so it matches no MX" % pattern]
    return ["mx pattern %r %s" % (pattern, error) for error in names.hostname_errors(pattern.lower(), allow_wildcard=True)]


def _fold(name):
    """A host name or pattern for comparison: lower case, no trailing dot, A-labels when possible."""
    text = str(name).strip()
    if text.endswith("."):
        text = text[:-1]
    if not text.isascii():
        try:
            return names.normalize_domain(text, allow_wildcard=True)
        except SpecError:
            return text.lower()
    return text.lower()


def matching_pattern(host, patterns):
    """The first of ``patterns`` that matches ``host`` per RFC 8461 4.1, or None.

    Comparison is case-insensitive and ignores a trailing dot. ``*.example.com`` matches exactly
    one left-most label: ``mail.example.com``, but neither ``example.com`` nor
    ``a.b.example.com``. Patterns that are not valid (``*``, ``mail.*.example.com``) match nothing.
    """
    name = _fold(host)
    if not name or "*" in name:
        return None
    for pattern in patterns or []:
        folded = _fold(pattern)
        if folded.startswith("*."):
            suffix = folded[2:]
            if not suffix or "*" in suffix:
                continue
            if name.endswith("." + suffix):
                label = name[: -len(suffix) - 1]
                if label and "." not in label:
                    return pattern
        elif folded and "*" not in folded and folded == name:
            return pattern
    return None


def mx_matches(host, patterns):
    """True when ``host`` matches one of the policy's ``mx`` patterns (RFC 8461 4.1)."""
    return matching_pattern(host, patterns) is not None


# ---------------------------------------------------------------------------------------------
# Inventory spec


def _normalize_mx_pattern(pattern, field, domain):
    if not isinstance(pattern, str):
        raise SpecError(field, "must be a host name or '*.' plus a domain, got %s" % kind_of(pattern), domain)
    text = pattern.strip()
    if text.endswith("."):
        text = text[:-1]
    problem = _wildcard_problem(text)
    if problem:
        raise SpecError(field, problem, domain)
    return names.normalize_domain(text, field, domain, allow_wildcard=True)


def _unique(items):
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def normalize_spec(spec, domain, mx_hosts=None):
    """Validate a domain's ``mta_sts`` inventory entry and fill defaults; None means MTA-STS is off.

    ``spec`` None or True gives the defaults, False turns MTA-STS off; a mapping may hold:
    ``enabled`` (bool, default true), ``mode`` (``enforce``/``testing``/``none``, default
    ``testing``), ``max_age`` (0..31557600 s, default one week), ``mx`` (patterns, default the
    domain's MX hosts ``mx_hosts``), ``delegate_to`` (host whose ``_mta-sts`` TXT the domain's
    ``_mta-sts`` name points to with a CNAME), ``policy_host`` (target of the
    ``mta-sts.<domain>`` CNAME; None lets the caller decide) and ``policy_host_addresses`` (IP
    addresses for A/AAAA records at ``mta-sts.<domain>`` instead of a CNAME).

    When ``mx`` is given and the mode is not ``none``, every host of ``mx_hosts`` must match a
    pattern: a sender following the policy would refuse to deliver to an MX it does not cover.
    """
    if spec is False:
        return None
    if spec is None or spec is True:
        spec = {}
    domain = names.normalize_domain(domain, "name")
    spec = require_mapping(spec, "mta_sts", domain)
    reject_unknown_keys(spec, _SPEC_KEYS, "mta_sts", domain)

    if not as_enabled(spec, "mta_sts.enabled", domain):
        return None

    mode = spec.get("mode")
    mode = DEFAULT_MODE if mode is None else as_choice(mode, MODES, "mta_sts.mode", domain)
    max_age = spec.get("max_age")
    max_age = DEFAULT_MAX_AGE if max_age is None else as_int(max_age, "mta_sts.max_age", domain, 0, MAX_AGE_LIMIT)

    known_hosts = [
        names.normalize_domain(host, "mx[%d]" % index, domain) for index, host in enumerate(as_list(mx_hosts, "mx", domain))
    ]
    if spec.get("mx") is None:
        patterns = list(known_hosts)
        explicit = False
    else:
        patterns = [
            _normalize_mx_pattern(pattern, "mta_sts.mx[%d]" % index, domain)
            for index, pattern in enumerate(as_list(spec["mx"], "mta_sts.mx", domain))
        ]
        explicit = True
    patterns = _unique(patterns)
    if not patterns and mode != "none":
        raise SpecError(
            "mta_sts.mx",
            "mode %s needs at least one mx pattern; give mta_sts.mx or the domain's mx hosts" % mode,
            domain,
        )
    if explicit and mode != "none":
        for host in known_hosts:
            if not mx_matches(host, patterns):
                raise SpecError(
                    "mta_sts.mx",
                    "no pattern covers the domain's MX host %s, so senders applying the policy would not deliver to it" % host,
                    domain,
                )

    delegate_to = spec.get("delegate_to")
    if delegate_to is not None:
        delegate_to = names.normalize_domain(delegate_to, "mta_sts.delegate_to", domain)
        if delegate_to == domain:
            raise SpecError("mta_sts.delegate_to", "is the domain itself; the CNAME would point at its own name", domain)

    host = spec.get("policy_host")
    if host is not None:
        host = names.normalize_domain(host, "mta_sts.policy_host", domain)
        if host == "mta-sts." + domain:
            raise SpecError("mta_sts.policy_host", "is mta-sts.%s itself; the CNAME would point at its own name" % domain, domain)

    addresses = []
    for index, address in enumerate(as_list(spec.get("policy_host_addresses"), "mta_sts.policy_host_addresses", domain)):
        field = "mta_sts.policy_host_addresses[%d]" % index
        try:
            addresses.append(ipaddress.ip_address(str(address).strip()).compressed)
        except ValueError:
            raise SpecError(field, "%r is not an IPv4 or IPv6 address" % (address,), domain)
    addresses = _unique(addresses)
    if host and addresses:
        raise SpecError(
            "mta_sts.policy_host_addresses",
            "give either mta_sts.policy_host (a CNAME) or mta_sts.policy_host_addresses (A/AAAA), not both",
            domain,
        )

    return {
        "domain": domain,
        "mode": mode,
        "max_age": max_age,
        "mx": patterns,
        "delegate_to": delegate_to,
        "policy_host": host,
        "policy_host_addresses": addresses,
    }


# ---------------------------------------------------------------------------------------------
# Building


def build_policy(normalized):
    """The canonical policy text of a normalized spec.

    Fields in the order of RFC 8461's example (``version``, ``mode``, one ``mx`` line per
    pattern, ``max_age``), every line ended by CRLF including the last. The RFC's prose calls
    the file "CRLF-separated" while its grammar accepts LF or CRLF: CRLF satisfies both
    readings, so even the strictest sender accepts the file.
    """
    lines = ["version: %s" % VERSION, "mode: %s" % normalized["mode"]]
    lines.extend("mx: %s" % pattern for pattern in normalized.get("mx") or [])
    lines.append("max_age: %d" % normalized["max_age"])
    return "".join(line + "\r\n" for line in lines)


def _canonical_policy(parsed):
    # What a sender acts on: mode, max_age, the set of mx patterns (matched case-insensitively,
    # order irrelevant) and, to be safe, any extension fields.
    lines = ["version: %s" % VERSION, "mode: %s" % parsed["mode"], "max_age: %d" % parsed["max_age"]]
    lines.extend("mx: %s" % pattern for pattern in sorted(set(_fold(pattern) for pattern in parsed["mx"])))
    lines.extend("%s: %s" % (name, value) for name, value in parsed["extensions"].items())
    return "\n".join(lines) + "\n"


def policy_id(policy_text):
    """An ``id`` derived from the policy: the first 20 hex digits of a SHA-256.

    It changes exactly when the policy's meaning changes, and re-runs give the same id on any
    Python version. For a valid policy the hash covers its meaning: mode, max_age, the set of mx
    patterns (case and order do not matter to senders) and extension fields; so LF and CRLF
    versions, or reordered ``mx`` lines, share an id. For an invalid policy it covers the text
    with line endings made LF and a final line end.
    """
    text = _decode(policy_text)[0] if isinstance(policy_text, bytes) else str(policy_text)
    parsed = parse_policy(text)
    if parsed["valid"]:
        canonical = _canonical_policy(parsed)
    else:
        canonical = text.replace("\r\n", "\n")
        if not canonical.endswith("\n"):
            canonical += "\n"
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:ID_LENGTH]


def build_txt(policy_id, extensions=None):  # pylint: disable=redefined-outer-name
    """The TXT record value ``v=STSv1; id=<id>`` plus ``; name=value`` per extension."""
    if not isinstance(policy_id, str) or not _TXT_ID.match(policy_id):
        raise SpecError("mta_sts.id", "must be 1 to 32 letters and digits (RFC 8461 3.1), got %r" % (policy_id,))
    parts = [TXT_VERSION, "id=" + policy_id]
    for name, value in (extensions or {}).items():
        field = "mta_sts.extensions.%s" % name
        if not isinstance(name, str) or not _FIELD_NAME.match(name) or name in ("v", "id"):
            raise SpecError(field, "is not a valid extension name (letters, digits, '_', '-', '.'; at most 32)")
        if not isinstance(value, str) or not _TXT_EXT_VALUE.match(value):
            raise SpecError(field, "value %r must be visible characters other than '=' and ';'" % (value,))
        parts.append("%s=%s" % (name, value))
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# TXT record


def _is_sts_record(text):
    """True when ``text`` begins with the version token ``v=STSv1`` (RFC 8461 3.1)."""
    return text.startswith(TXT_VERSION) and (len(text) == len(TXT_VERSION) or text[len(TXT_VERSION)] in _WSP + ";")


def parse_txt(text):
    """Parse one ``_mta-sts`` TXT record strictly (RFC 8461 3.1).

    ``text`` may be a string, a list of character-strings or zone presentation. Returns
    ``verdict(errors, warnings, version, id, extensions)``; ``id`` is None when missing or invalid.
    A repeated ``id`` keeps the first one, with a warning (RFC 8461 section 3: all but the first
    instance of a non-``mx`` field are ignored).
    """
    value = join_txt(text)
    errors = []
    warnings = []
    fields = {"version": None, "id": None, "extensions": {}}
    if not _is_sts_record(value):
        head = value[:12]
        if value.lstrip(_WSP) != value and _is_sts_record(value.lstrip(_WSP)):
            errors.append("the record starts with white space; it must begin with exactly 'v=STSv1' (RFC 8461 3.1)")
        elif value.lower().startswith("v=stsv1") and not value.startswith(TXT_VERSION):
            errors.append("the version must be exactly 'v=STSv1' (case-sensitive, RFC 8461 3.1), got %r" % head)
        else:
            errors.append("the record must begin with exactly 'v=STSv1' (RFC 8461 3.1), got %r" % head)
        return verdict(errors, warnings, **fields)
    fields["version"] = VERSION

    rest = value[len(TXT_VERSION):]
    if rest and not rest.startswith(";"):
        warnings.append(
            "white space between 'v=STSv1' and ';' is allowed by RFC 8461's grammar, but senders that look for "
            "the literal prefix 'v=STSv1;' (RFC 8461 3.1) discard the record"
        )
    pieces = rest.split(";")
    if pieces[0].strip(_WSP):
        errors.append("text after 'v=STSv1' must be separated by ';', got %r" % pieces[0].strip(_WSP))
    pieces = pieces[1:]
    if len(pieces) > 1 and pieces[-1].strip(_WSP) == "":
        pieces = pieces[:-1]  # the grammar's optional trailing delimiter, white space included
    elif pieces and pieces[-1] != pieces[-1].rstrip(_WSP):
        errors.append(
            "white space after the last field, without a ';', is outside RFC 8461 3.1's grammar: a failure, because "
            "a sender that parses the record by the grammar discards it and treats the domain as having no policy"
        )
    if not pieces or pieces == [""] or all(not piece.strip(_WSP) for piece in pieces):
        errors.append("the record has no fields; 'id' is required (RFC 8461 3.1)")
        return verdict(errors, warnings, **fields)

    seen = set()
    for piece in pieces:
        field = piece.strip(_WSP)
        if not field:
            errors.append("empty field between ';' separators")
            continue
        if "=" not in field:
            errors.append("field %r is not name=value" % field)
            continue
        name, field_value = field.split("=", 1)
        if any(char in field for char in " \t"):
            errors.append("field %r contains white space; RFC 8461 3.1 allows none around '=' or inside a value" % field)
            continue
        if not _FIELD_NAME.match(name):
            errors.append("%r is not a field name (a letter or digit, then up to 31 letters, digits, '_', '-', '.')" % name)
            continue
        if name in seen:
            warnings.append("%s appears more than once; senders use the first (RFC 8461 section 3)" % name)
            continue
        seen.add(name)
        if name == "id":
            if not field_value:
                errors.append("id is empty; it must be 1 to 32 letters and digits")
            elif len(field_value) > 32:
                errors.append("id %r is %d characters long; RFC 8461 3.1 allows 1 to 32" % (field_value, len(field_value)))
            elif not _TXT_ID.match(field_value):
                errors.append("id %r may hold only letters and digits (RFC 8461 3.1)" % field_value)
            else:
                fields["id"] = field_value
            continue
        if not _TXT_EXT_VALUE.match(field_value):
            errors.append("extension %s has an invalid value %r (visible characters other than '=' and ';')" % (name, field_value))
            continue
        fields["extensions"][name] = field_value
    if "id" not in seen:
        errors.append("the record has no id field, which RFC 8461 3.1 requires")
        for name in fields["extensions"]:
            if name.lower() == "id":
                errors.append("field %r is not 'id': field names are case-sensitive" % name)
    return verdict(errors, warnings, **fields)


def select_txt(values):
    """Pick the MTA-STS record among all TXT values at ``_mta-sts.<domain>`` (after CNAMEs).

    Records that do not begin with ``v=STSv1`` are ignored, as senders do (RFC 8461 3.1).
    None left, or more than one, is an error: senders then treat the domain as having no
    policy. Returns the parse verdict of the chosen record plus ``record`` (its text or None)
    and ``candidates`` (every value that begins with ``v=STSv1``).
    """
    if isinstance(values, (str, bytes)):
        values = [values]
    return select_record(
        values,
        _is_sts_record,
        parse_txt,
        _blank_txt_fields,
        missing="no TXT record begins with v=STSv1 (RFC 8461 3.1)",
        several="more than one v=STSv1 record: senders treat the domain as having no policy (RFC 8461 3.1)",
        listed_as="candidates",
        near_misses=_near_misses,
    )


def _blank_txt_fields():
    return {"version": None, "id": None, "extensions": {}}


def _near_misses(texts):
    """Warnings for TXT values a human would read as an MTA-STS record but senders ignore."""
    warnings = []
    for text in texts:
        if text.strip(_WSP).lower().startswith("v=stsv1") and not _is_sts_record(text.lstrip(_WSP)):
            warnings.append("%r looks like an MTA-STS record, but the version must be exactly 'v=STSv1'" % text[:40])
        elif text != text.lstrip(_WSP) and _is_sts_record(text.lstrip(_WSP)):
            warnings.append("%r looks like an MTA-STS record, but starts with white space" % text[:40])
    return warnings


# ---------------------------------------------------------------------------------------------
# Policy file


def _decode(data):
    """``(text, error)``: the policy body as text; RFC 8461 3.2 serves it as UTF-8 text/plain."""
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            return data.decode("utf-8", "replace"), "the policy is not valid UTF-8 (octet %d): %s" % (exc.start, exc.reason)
    if data is None:
        return "", None
    return str(data), None


def _split_lines(text):
    """``(lines, endings, errors)``: line contents, their terminators ('LF'/'CRLF'/None), faults."""
    lines = []
    endings = []
    errors = []
    parts = text.split("\n")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last and part == "":
            break  # the text ended with a line terminator
        ending = None if last else "LF"
        if part.endswith("\r") and not last:
            part = part[:-1]
            ending = "CRLF"
        if "\r" in part:
            errors.append("line %d contains a carriage return that is not followed by a line feed" % (index + 1))
            part = part.replace("\r", "")
        lines.append(part)
        endings.append(ending)
    return lines, endings, errors


def _line_endings(endings):
    kinds = set(ending for ending in endings if ending)
    if not kinds:
        return None
    return kinds.pop() if len(kinds) == 1 else "mixed"


def parse_policy(text):
    """Parse an MTA-STS policy file strictly (RFC 8461 3.2).

    ``text`` is a string or the HTTP body as bytes (UTF-8). Returns ``verdict(errors, warnings,
    version, mode, mx, max_age, extensions, line_endings)``: ``mx`` lists the patterns as written,
    ``max_age`` is an int (None when missing or invalid), ``extensions`` maps unknown field names
    to their first value, ``line_endings`` is ``LF``, ``CRLF``, ``mixed`` or None (no line end).

    Field names are case-sensitive (``Mode`` is an unknown field, not ``mode``); ``mx`` may repeat;
    other repeated fields keep their first value, with a warning.
    """
    errors = []
    warnings = []
    text, decode_error = _decode(text)
    if decode_error:
        errors.append(decode_error)
    if text.startswith("\ufeff"):
        errors.append("the policy starts with a byte order mark (U+FEFF), so its first field name is not what it seems")
        text = text[1:]
    lines, endings, line_errors = _split_lines(text)
    errors.extend(line_errors)
    fields = {
        "version": None,
        "mode": None,
        "mx": [],
        "max_age": None,
        "extensions": {},
        "line_endings": _line_endings(endings),
    }
    seen = set()
    first_field = None
    for number, line in enumerate(lines, 1):
        if not line.strip(_WSP):
            errors.append(
                "line %d is empty: RFC 8461 3.2's grammar separates fields by exactly one line break, so this is a "
                "failure: a sender that parses the policy by the grammar treats the domain as having no policy "
                "(lenient senders skip the line)" % number
            )
            continue
        if first_field is None:
            first_field = (number, line.split(":", 1)[0])
        if ":" not in line:
            errors.append("line %d is not 'name: value': %r" % (number, line))
            continue
        name, value = line.split(":", 1)
        value = value.strip(_WSP)
        if not _FIELD_NAME.match(name):
            errors.append(
                "line %d: %r is not a field name (a letter or digit, then up to 31 letters, digits, '_', '-', '.'; "
                "no white space before ':')" % (number, name)
            )
            continue
        if name != "mx" and name in seen:
            warnings.append("line %d: %s appears more than once; senders use the first (RFC 8461 section 3)" % (number, name))
            continue
        seen.add(name)
        if name == "version":
            if value == VERSION:
                fields["version"] = value
            else:
                errors.append("line %d: version must be %r, got %r" % (number, VERSION, value))
        elif name == "mode":
            if value in MODES:
                fields["mode"] = value
            elif value.lower() in MODES:
                errors.append("line %d: mode %r must be written in lower case: %s" % (number, value, ", ".join(MODES)))
            else:
                errors.append("line %d: mode must be one of %s, got %r" % (number, ", ".join(MODES), value))
        elif name == "max_age":
            if not _MAX_AGE_VALUE.match(value):
                errors.append("line %d: max_age must be 1 to 10 digits (seconds), got %r" % (number, value))
            elif int(value) > MAX_AGE_LIMIT:
                errors.append("line %d: max_age %s is over the limit of %d seconds (RFC 8461 3.2)" % (number, value, MAX_AGE_LIMIT))
            else:
                fields["max_age"] = int(value)
        elif name == "mx":
            fields["mx"].append(value)
            errors.extend("line %d: %s" % (number, error) for error in mx_pattern_errors(value))
        else:
            if not _POLICY_EXT_VALUE.match(value):
                errors.append("line %d: field %s has an empty or invalid value %r" % (number, name, value))
                continue
            fields["extensions"][name] = value
            if name.lower() in _POLICY_FIELDS:
                warnings.append(
                    "line %d: field %r is not %r: field names are case-sensitive, so senders ignore it" % (number, name, name.lower())
                )

    if "version" not in seen:
        errors.append("version is required (version: STSv1)")
    elif first_field and first_field[1] != "version":
        warnings.append(
            "line %d, the first field, is %r, not version: a warning, because RFC 8461 3.2 lets fields come in any "
            "order, but senders that check that the file starts with 'version: STSv1' treat the domain as having "
            "no policy; put version first" % first_field
        )
    if "mode" not in seen:
        errors.append("mode is required (one of %s)" % ", ".join(MODES))
    if "max_age" not in seen:
        errors.append("max_age is required")
    if "mx" not in seen and fields["mode"] != "none":
        errors.append("at least one mx is required unless mode is none")

    if fields["mode"] == "testing":
        warnings.append("mode testing: senders report TLS failures but still deliver; switch to enforce once reports are clean")
    elif fields["mode"] == "none":
        warnings.append("mode none: senders drop the policy; MTA-STS gives no protection")
    if fields["max_age"] is not None and fields["max_age"] < SHORT_MAX_AGE and fields["mode"] != "none":
        warnings.append(
            "max_age %d is less than a day; RFC 8461 3.2 expects weeks or more so that the policy survives an attack at refresh time"
            % fields["max_age"]
        )
    return verdict(errors, warnings, **fields)
