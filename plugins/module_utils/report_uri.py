# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reporting URIs shared by DMARC (``rua``/``ruf``) and TLS-RPT (``rua``).

Private to the collection: users may rely only on plugins and modules.
Both standards take an absolute URI (RFC 3986) per destination, comma separated, in which
commas and exclamation points must be percent-encoded (RFC 7489 6.4, RFC 8460 3); the
schemes that matter are ``mailto:`` (an address is required) and ``https:``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError, kind_of
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# RFC 3986 characters that may appear in a URI; anything else (space, quotes, '<', '>', '\\',
# '^', '`', '{', '|', '}', controls, non-ASCII) must be percent-encoded.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IPV4_LITERAL = re.compile(r"^[0-9]+(?:\.[0-9]+){3}$")


def uri_problem(uri):
    """Why ``uri`` is not a syntactically usable absolute URI, or ``None``."""
    if not uri:
        return "is empty"
    if not _SCHEME.match(uri):
        if "@" in uri and ":" not in uri:
            return "has no scheme; write mailto:%s" % uri
        return "has no scheme (expected mailto: or https:)"
    if not _URI_CHARS.match(uri):
        return "contains characters that must be percent-encoded (spaces, quotes, non-ASCII...)"
    if _BAD_PERCENT.search(uri):
        return "has a '%' that does not start a %XX escape"
    return None


def describe(uri):
    """Split a reporting URI into ``{uri, scheme, address, domain}`` or return an error string.

    ``address`` is the mailbox of a ``mailto:`` URI (percent-decoded), ``domain`` the host that
    receives the reports (the mailbox's domain, or the HTTPS host), normalized. Schemes other
    than mailto and https are described with ``domain`` None; callers decide whether they are
    acceptable.
    """
    problem = uri_problem(uri)
    if problem:
        return problem
    scheme = _SCHEME.match(uri).group(1).lower()
    info = {"uri": uri, "scheme": scheme, "address": None, "domain": None}
    if scheme == "mailto":
        # RFC 6068: mailto:addr-spec[?hfields]; one mailbox is what a reporter can use.
        target = uri[len("mailto:"):].split("?", 1)[0]
        address = unquote(target)
        if not address:
            return "is a mailto: URI without an address"
        if address.count("@") != 1:
            return "mailto: address %r must have exactly one '@'" % address
        local, host = address.split("@")
        if not local or re.search(r"[\s<>()\[\]\\,;:\"]", local):
            return "mailto: address %r has an invalid local part" % address
        try:
            host = normalize_domain(host, "address")
        except SpecError as exc:
            return "mailto: address %r has an invalid domain: %s" % (address, exc.reason)
        info["address"] = "%s@%s" % (local, host)
        info["domain"] = host
    elif scheme in ("https", "http"):
        parts = urlsplit(uri)
        host = parts.hostname
        if not host:
            return "has no host"
        if "@" in parts.netloc:
            return "must not carry user information before the host"
        if not (host.startswith("[") or _IPV4_LITERAL.match(host) or ":" in host):
            try:
                host = normalize_domain(host, "host")
            except SpecError as exc:
                return "has an invalid host: %s" % exc.reason
        try:
            parts.port  # pylint: disable=pointless-statement  # raises ValueError on a bad port
        except ValueError:
            return "has an invalid port"
        info["domain"] = host
    return info


_MAILTO_HOST = re.compile(r"^(mailto:[^@?]*@)([^?]*)(.*)$", re.IGNORECASE)
_HTTPS_HOST = re.compile(r"^(https?://)([^/?#:\[\]]*)(.*)$", re.IGNORECASE)


def with_alabel_host(text, field, domain):
    """``text`` with a U-label host (``mailto:dmarc@bücher.example``, ``https://bücher.example/``) in A-labels,
    as the domain names of the inventory are; other URIs unchanged. A host IDNA refuses raises SpecError."""
    for pattern in (_MAILTO_HOST, _HTTPS_HOST):
        match = pattern.match(text)
        if match and not match.group(2).isascii():
            host = normalize_domain(match.group(2), field, domain)
            return match.group(1) + host + match.group(3)
    return text


def check_spec_uri(uri, field, domain, allowed_schemes, allow_size=False):
    """Validate one inventory URI; return it (scheme lowered, a U-label host in A-labels) or raise SpecError."""
    if not isinstance(uri, str):
        raise SpecError(field, "must be a URI string, got %s" % kind_of(uri), domain)
    text = uri.strip()
    size = None
    if allow_size and "!" in text:
        text, size = text.rsplit("!", 1)
        if not re.match(r"^[0-9]+[kmgt]?$", size):
            raise SpecError(field, "%r: size limit %r must be digits with an optional k, m, g or t" % (uri, size), domain)
    text = with_alabel_host(text, field, domain)
    if "," in text or "!" in text or ";" in text:
        raise SpecError(field, "%r: ',', '!' and ';' would break the record; percent-encode them (%%2C, %%21, %%3B)" % uri, domain)
    info = describe(text)
    if isinstance(info, str):
        raise SpecError(field, "%r %s" % (uri, info), domain)
    if info["scheme"] not in allowed_schemes:
        raise SpecError(field, "%r: scheme must be one of %s" % (uri, ", ".join(s + ":" for s in allowed_schemes)), domain)
    canonical = info["scheme"] + text[len(info["scheme"]):]
    return canonical + ("!" + size if size else "")
