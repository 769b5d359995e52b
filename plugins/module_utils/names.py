# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Domain names: normalize once (A-labels, lower case, no trailing dot) and check.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, kind_of

try:
    import idna as _idna  # IDNA 2008 with UTS 46 mapping

    HAS_IDNA = True
except ImportError:  # pragma: no cover - exercised only without the package
    _idna = None
    HAS_IDNA = False

MAX_NAME_OCTETS = 253  # RFC 1035 2.3.4: 255 on the wire, 253 in text without the root dot
MAX_LABEL_OCTETS = 63

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Owner names of records may carry underscore labels (_dmarc, _25, _tcp, _domainkey).
_SERVICE_LABEL = re.compile(r"^_[a-z0-9][a-z0-9_-]{0,61}$")


def _to_alabel(label):
    if label.isascii():
        return label.lower()
    if HAS_IDNA:
        return _idna.encode(label, uts46=True).decode("ascii")
    return label.encode("idna").decode("ascii")  # pragma: no cover - IDNA 2003 fallback


def hostname_errors(name, allow_wildcard=False, allow_underscore=False):
    """Every reason ``name`` (already A-labels, lower case) is not a valid host name."""
    errors = []
    if not name:
        return ["is empty"]
    if len(name) > MAX_NAME_OCTETS:
        errors.append("is %d octets long; at most %d are allowed" % (len(name), MAX_NAME_OCTETS))
    labels = name.split(".")
    for index, label in enumerate(labels):
        if label == "":
            errors.append("has an empty label")
            continue
        if len(label) > MAX_LABEL_OCTETS:
            errors.append("label %r is longer than %d octets" % (label, MAX_LABEL_OCTETS))
            continue
        if label == "*" and allow_wildcard and index == 0:
            continue
        if allow_underscore and _SERVICE_LABEL.match(label):
            continue
        if not _LDH_LABEL.match(label):
            errors.append("label %r is not letters, digits and inner hyphens" % label)
            continue
        if label.startswith("xn--") and HAS_IDNA:
            try:
                _idna.decode(label)
            except _idna.IDNAError:
                errors.append("label %r is not a valid A-label" % label)
    if len(labels) < 2 and not errors:
        errors.append("is not fully qualified (needs at least two labels)")
    if labels[-1].isdigit():
        errors.append("ends in an all-numeric label, so it is not a domain name")
    return errors


def normalize_domain(name, field="name", domain=None, allow_wildcard=False, allow_underscore=False):
    """Return ``name`` as lower-case A-labels without a trailing dot, or raise SpecError.

    ``field`` and ``domain`` name where the value came from, for the message.
    """
    if not isinstance(name, str):
        raise SpecError(field, "must be a domain name string, got %s" % kind_of(name), domain)
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise SpecError(field, "must not be empty", domain)
    try:
        text = ".".join(_to_alabel(label) if label else label for label in text.split("."))
    except (UnicodeError, ValueError) as exc:
        raise SpecError(field, "%r is not a valid internationalized name: %s" % (name, exc), domain)
    errors = hostname_errors(text, allow_wildcard=allow_wildcard, allow_underscore=allow_underscore)
    if errors:
        raise SpecError(field, "%r %s" % (name, "; ".join(errors)), domain or None)
    return text


def to_unicode(name):
    """The U-label form of a normalized name, for display only."""
    if not HAS_IDNA:  # pragma: no cover
        return name.encode("ascii").decode("idna")
    try:
        return _idna.decode(name)
    except _idna.IDNAError:
        return name


def fqdn(name):
    """``name`` with exactly one trailing dot, as DNS record owner names are written."""
    return name.rstrip(".") + "."


def is_subdomain(name, parent):
    """True when ``name`` equals ``parent`` or lies below it (both normalized)."""
    name = name.rstrip(".").lower()
    parent = parent.rstrip(".").lower()
    return name == parent or name.endswith("." + parent)
