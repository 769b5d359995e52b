# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DMARC policy records (RFC 7489, with the RFC 9989 tags np, psd and t): build and parse.

Private to the collection: users may rely only on plugins and modules.

Where RFC 9989 (which obsoletes RFC 7489) relaxed a rule, the relaxed form is a warning here
rather than an error, because receivers on either RFC act on it the same way:
- ``p`` not directly after ``v`` (RFC 7489 6.4's grammar; RFC 9989 allows any order).
- a record without ``p`` but with a valid ``rua``: both RFCs (7489 6.6.3) tell receivers to act
  as if ``p=none`` were published, so the verdict is valid with ``policy: none`` and a warning.
  Without a usable ``rua`` receivers apply no DMARC at all: that is an error.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils import report_uri
from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    SpecError,
    as_choice,
    as_int,
    as_list,
    duplicate_tags,
    join_txt,
    parse_tag_list,
    reject_unknown_keys,
    require_mapping,
    select_record,
    verdict,
    white_space_near_misses,
)
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

try:
    from publicsuffixlist import PublicSuffixList

    HAS_PUBLICSUFFIXLIST = True
except ImportError:  # pragma: no cover - exercised only without the package
    PublicSuffixList = None
    HAS_PUBLICSUFFIXLIST = False

POLICIES = ("none", "quarantine", "reject")
ALIGNMENTS = ("r", "s")
FAILURE_OPTIONS = ("0", "1", "d", "s")
PSD_VALUES = ("y", "n", "u")
TESTING_VALUES = ("y", "n")
KNOWN_TAGS = ("v", "p", "sp", "np", "rua", "ruf", "adkim", "aspf", "pct", "fo", "rf", "ri", "psd", "t")
SPEC_KEYS = ("policy", "subdomain_policy", "np", "rua", "ruf", "adkim", "aspf", "pct", "fo", "ri", "psd", "t")
REPORT_SCHEMES = ("mailto", "https")
# New domains start at p=none: the seed's own advice ("Use p=none when starting out") and
# RFC 7489 B.2.1; enforcing before the reports show every legitimate sender loses mail.
DEFAULT_POLICY = "none"
SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}  # powers of two (6.2)
MAX_INTERVAL = 4294967295  # ri is a 32-bit unsigned integer (6.3)

# 6.4: dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31 ("DMARC1", exact case).
# 6.6.3: records that do not start with a "v=" tag are discarded, so nothing may precede the v.
_VERSION = re.compile(r"^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)")
_LEADING_SPACE_VERSION = re.compile(r"^\s+[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)")
_SIZE = re.compile(r"^([0-9]+)([kKmMgGtT]?)$")
_PSL = []
_POLICY_FIELDS = {"sp": "subdomain_policy", "np": "np"}


# --- organizational domains -------------------------------------------------------------------

def organizational_domain(name):
    """The organizational domain of ``name`` (RFC 7489 3.2): its registrable part.

    Uses the Public Suffix List from the ``publicsuffixlist`` package (ICANN and private
    sections). Without that package it falls back to the last two labels, which is wrong
    under multi-label suffixes such as ``co.uk`` (``a.example.co.uk`` gives ``co.uk``).
    A name that is itself a public suffix is returned unchanged.
    """
    name = name.rstrip(".").lower()
    if HAS_PUBLICSUFFIXLIST:
        if not _PSL:
            _PSL.append(PublicSuffixList())
        registrable = _PSL[0].privatesuffix(name)
        return registrable or name
    labels = name.split(".")  # pragma: no cover - fallback without the package
    return ".".join(labels[-2:])  # pragma: no cover


def authorization_record_name(domain, destination_domain):
    """Where a report destination authorizes reports about ``domain`` (RFC 7489 7.1).

    ``<domain>._report._dmarc.<destination>``; the destination publishes ``v=DMARC1`` there.
    """
    return "%s._report._dmarc.%s" % (domain.rstrip("."), destination_domain.rstrip("."))


def external_destinations(domain, uris):
    """Destination hosts of ``uris`` (dicts with ``domain``) outside ``domain``'s organization."""
    own = organizational_domain(domain)
    found = []
    for uri in uris:
        host = uri.get("domain")
        if host and organizational_domain(host) != own and host not in found:
            found.append(host)
    return found


# --- parsing ----------------------------------------------------------------------------------

def _blank_fields():
    return {
        "version": None,
        "policy": None,
        "subdomain_policy": None,
        "np": None,
        "rua": [],
        "ruf": [],
        "adkim": None,
        "aspf": None,
        "pct": None,
        "fo": None,
        "rf": None,
        "ri": None,
        "psd": None,
        "t": None,
        "external_destinations": [],
    }


def parse_uri_list(value, tag):
    """(uris, errors, warnings) for an rua/ruf value: URIs with an optional ``!size`` (6.4)."""
    uris = []
    errors = []
    warnings = []
    for raw in value.split(","):
        text = raw.strip(" \t\r\n")
        size = None
        if "!" in text:
            text, _bang, size_text = text.rpartition("!")
            match = _SIZE.match(size_text)
            if not match or "!" in text:
                errors.append("%s: %r has an invalid size after '!' (a '!' inside a URI must be written %%21)" % (tag, raw.strip()))
                continue
            size = int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]
        info = report_uri.describe(text)
        if isinstance(info, str):
            errors.append("%s: %r %s" % (tag, text, info))
            continue
        if info["scheme"] in ("https", "http"):
            warnings.append("%s: %r: receivers need only support mailto: URIs (RFC 7489 6.2)" % (tag, text))
        elif info["scheme"] != "mailto":
            errors.append("%s: %r: scheme %r is not a reporting scheme (mailto:)" % (tag, text, info["scheme"]))
            continue
        info["size"] = size
        uris.append(info)
    return uris, errors, warnings


# What receivers use instead of a tag whose value is outside its grammar: RFC 7489 6.3 says such
# values "SHOULD be discarded in favor of default values (if any) or ignored outright".
# p, sp and np have no default of their own: see _policy (RFC 7489 6.6.3).
_RECEIVER_DEFAULTS = {
    "adkim": "relaxed alignment, the default adkim=r (RFC 7489 6.3)",
    "aspf": "relaxed alignment, the default aspf=r (RFC 7489 6.3)",
    "pct": "the policy on all failing mail, the default pct=100 (RFC 7489 6.3; RFC 9989 drops pct)",
    "ri": "the default interval of 86400 s, one aggregate report a day (RFC 7489 6.3; RFC 9989 drops ri)",
    "fo": "the default fo=0, a failure report only when every mechanism fails (RFC 7489 6.3)",
    "rf": "the default rf=afrf (RFC 7489 6.3; RFC 9989 drops rf)",
    "psd": "the default psd=u (RFC 9989)",
    "t": "the default t=n, the policy as published (RFC 9989)",
}


def _outside_grammar(tag, value, rule):
    """The error for a tag value outside its grammar, with what receivers do instead."""
    fallback = _RECEIVER_DEFAULTS.get(tag)
    if fallback is None:
        return "%s=%s: %s" % (tag, value, rule)
    return "%s=%s: %s; receivers ignore the tag and apply %s" % (tag, value, rule, fallback)


def _keyword(values, tag, choices, errors):
    if tag not in values:
        return None
    value = values[tag].lower()  # ABNF literals are case-insensitive
    if value not in choices:
        errors.append(_outside_grammar(tag, values[tag], "must be one of %s" % ", ".join(choices)))
        return None
    return value


def _numbers(values, fields, errors, warnings):
    if "pct" in values:
        text = values["pct"]
        if not re.match(r"^[0-9]{1,3}$", text) or int(text) > 100:
            errors.append(_outside_grammar("pct", text, "must be an integer from 0 to 100"))
        else:
            fields["pct"] = int(text)
            if fields["pct"] < 100:
                warnings.append(
                    "pct=%d: the policy applies to only %d%% of failing mail (RFC 9989 drops pct; use t=y to test)"
                    % (fields["pct"], fields["pct"])
                )
    if "ri" in values:
        text = values["ri"]
        if not re.match(r"^[0-9]+$", text) or int(text) > MAX_INTERVAL:
            errors.append(_outside_grammar("ri", text, "must be a 32-bit unsigned integer of seconds"))
        else:
            fields["ri"] = int(text)
    if "fo" in values:
        options = [item.strip(" \t").lower() for item in values["fo"].split(":")]
        bad = [item for item in options if item not in FAILURE_OPTIONS]
        if bad:
            errors.append(_outside_grammar("fo", values["fo"], "options must be 0, 1, d or s separated by ':'"))
        else:
            fields["fo"] = ":".join(options)
    if "rf" in values:
        formats = [item.strip(" \t").lower() for item in values["rf"].split(":")]
        if any(not re.match(r"^[a-z][a-z0-9-]*$", item) for item in formats):
            errors.append(_outside_grammar("rf", values["rf"], "must be report format names separated by ':'"))
        else:
            fields["rf"] = formats
            if "afrf" not in formats:
                warnings.append("rf=%s: afrf is the only defined failure report format" % values["rf"])


def parse(text, domain=None):
    """Parse one DMARC record strictly; returns a verdict (never raises on bad text).

    ``domain`` is the domain the record is for (``_dmarc.`` is stripped if given); with it,
    ``external_destinations`` lists report hosts outside its organizational domain, which must
    publish ``<domain>._report._dmarc.<host>`` (RFC 7489 7.1). ``rua``/``ruf`` are lists of
    ``{uri, scheme, address, domain, size}`` with ``size`` in octets or None.
    """
    record = join_txt(text)
    errors = []
    warnings = []
    fields = _blank_fields()
    tags, tag_errors = parse_tag_list(record)
    errors.extend(tag_errors)
    tags = [(name.lower(), value) for name, value in tags]  # ABNF tag names are case-insensitive
    for name in duplicate_tags(tags):
        errors.append("tag %r appears more than once; the record is invalid" % name)
    values = {}
    for name, value in tags:
        values.setdefault(name, value)

    if _LEADING_SPACE_VERSION.match(record):
        errors.append("record starts with white space before v=DMARC1: receivers discard records that do not "
                      "start with 'v=' (RFC 7489 6.6.3), so the domain has no DMARC policy")
        return verdict(errors, warnings, **fields)
    if not tags or tags[0][0] != "v":
        errors.append("record must start with v=DMARC1 (RFC 7489 6.4)")
        return verdict(errors, warnings, **fields)
    if tags[0][1] != "DMARC1":
        errors.append("v=%s: the version must be exactly DMARC1 (RFC 7489 6.4)" % tags[0][1])
        return verdict(errors, warnings, **fields)
    fields["version"] = "DMARC1"
    for name in values:
        if name not in KNOWN_TAGS:
            warnings.append("unknown tag %r is ignored (RFC 7489 6.3)" % name)

    for tag, key in (("rua", "rua"), ("ruf", "ruf")):
        if tag in values:
            uris, uri_errors, uri_warnings = parse_uri_list(values[tag], tag)
            fields[key] = uris
            errors.extend(uri_errors)
            warnings.extend(uri_warnings)

    _policy(values, tags, fields, errors, warnings)
    fields["adkim"] = _keyword(values, "adkim", ALIGNMENTS, errors)
    fields["aspf"] = _keyword(values, "aspf", ALIGNMENTS, errors)
    fields["psd"] = _keyword(values, "psd", PSD_VALUES, errors)
    fields["t"] = _keyword(values, "t", TESTING_VALUES, errors)
    _numbers(values, fields, errors, warnings)

    if fields["t"] == "y":
        warnings.append("t=y: testing mode; receivers apply the next less strict policy (RFC 9989)")
    if not fields["rua"] and "rua" not in values:
        warnings.append("no rua: nobody will send aggregate reports, so failures stay invisible")
    if fields["fo"] and not fields["ruf"]:
        warnings.append("fo= has no effect without ruf")

    if domain:
        _destinations(domain, fields, errors)
    return verdict(errors, warnings, **fields)


def _policy(values, tags, fields, errors, warnings):
    """p, sp and np, with the fallback of RFC 7489 6.6.3 (kept by RFC 9989).

    A missing or invalid p, or an invalid sp or np, makes receivers act as if p=none were
    published when rua holds a valid URI, and apply no DMARC at all otherwise.
    """
    fields["subdomain_policy"] = _keyword(values, "sp", POLICIES, errors)
    fields["np"] = _keyword(values, "np", POLICIES, errors)
    broken = [tag for tag in ("sp", "np") if tag in values and fields[_POLICY_FIELDS[tag]] is None]
    if "p" in values:
        if len(tags) > 1 and tags[1][0] != "p":
            warnings.append("p= should directly follow v= (RFC 7489 6.4; RFC 9989 allows any order)")
        fields["policy"] = _keyword(values, "p", POLICIES, errors)
        if fields["policy"] is None:
            broken.insert(0, "p")
    elif fields["rua"]:
        # RFC 9989 makes p optional and reads its absence as p=none; RFC 7489 does so only with a valid rua.
        warnings.append("no p= tag: receivers act as if p=none were published (RFC 7489 6.6.3, because rua is valid; "
                        "RFC 9989 reads a missing p as none): mail that fails DMARC is only reported, never refused")
        fields["policy"] = "none"
    else:
        errors.append("no p= tag and no valid rua: receivers apply no DMARC policy (RFC 7489 6.6.3); those following "
                      "RFC 9989 act as if p=none were published, which without rua does nothing either; add p=")
    if broken:
        fallback = "none" if fields["rua"] else None
        fields["policy"] = fallback
        errors.append(
            "because %s= is invalid, receivers %s (RFC 7489 6.6.3)"
            % ("=, ".join(broken), "act as if p=none were published" if fallback else "apply no DMARC policy")
        )
    if fields["policy"] == "none":
        warnings.append("p=none: monitoring only, receivers do not act on mail that fails DMARC")
    elif fields["policy"] in ("quarantine", "reject") and fields["subdomain_policy"] == "none":
        warnings.append("sp=none: subdomains of an enforcing domain stay unprotected")


def _destinations(domain, fields, errors):
    name = domain.strip().rstrip(".").lower()
    if name.startswith("_dmarc."):
        name = name[len("_dmarc."):]
    try:
        name = normalize_domain(name, "domain")
    except SpecError as exc:
        errors.append("domain %r: %s" % (domain, exc.reason))
        return
    fields["external_destinations"] = external_destinations(name, fields["rua"] + fields["ruf"])


def is_dmarc_record(value):
    """True when the joined TXT value starts with the DMARC version tag ``v=DMARC1``."""
    return bool(_VERSION.match(join_txt(value)))


def select(values, domain=None):
    """Pick the DMARC record among all TXT values at ``_dmarc.<domain>`` and parse it.

    None is an error; several are an error too: receivers then apply no policy (RFC 7489
    6.6.3). A value that starts with white space before ``v=DMARC1`` is not a record (receivers
    discard it, 6.6.3): with none left, a warning names it. Adds ``record`` and ``records``.
    """
    return select_record(
        values,
        _VERSION.match,
        lambda text: parse(text, domain),
        _blank_fields,
        missing="no DMARC record (no TXT value starts with v=DMARC1)",
        several="{count} DMARC records at the name; receivers then apply no policy (RFC 7489 6.6.3)",
        near_misses=lambda texts: white_space_near_misses(texts, _VERSION.match, "v=DMARC1",
                                                          "receivers discard it (RFC 7489 6.6.3)"),
    )


# --- spec and build ---------------------------------------------------------------------------

def _spec_uris(spec, key, domain):
    uris = []
    for index, uri in enumerate(as_list(spec.get(key), "dmarc." + key, domain)):
        canonical = report_uri.check_spec_uri(uri, "dmarc.%s[%d]" % (key, index), domain, REPORT_SCHEMES, allow_size=True)
        if canonical not in uris:
            uris.append(canonical)
    return uris


def _spec_failure_options(value, domain):
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    items = value.split(":") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise SpecError("dmarc.fo", "must be a list of 0, 1, d, s (or a colon-separated string)", domain)
    result = []
    for index, item in enumerate(items):
        item = str(item).strip()
        if item not in FAILURE_OPTIONS:
            raise SpecError("dmarc.fo[%d]" % index, "must be one of 0, 1, d, s, got %r" % item, domain)
        if item not in result:
            result.append(item)
    return ":".join(result)


def normalize_spec(spec, domain):
    """Validate an inventory ``dmarc`` entry; ``None`` means no DMARC record.

    ``spec`` is None or True (defaults), False (off) or a mapping of ``policy`` (default
    ``none``: start by watching the reports), ``subdomain_policy``, ``np``, ``rua``, ``ruf``
    (``mailto:``/``https:`` URIs), ``adkim``, ``aspf``, ``pct``, ``fo``, ``ri``, ``psd``, ``t``.
    Unset options stay None so ``build`` leaves them out.
    """
    if spec is False:
        return None
    if spec is None or spec is True:
        spec = {}
    spec = require_mapping(spec, "dmarc", domain)
    reject_unknown_keys(spec, SPEC_KEYS, "dmarc", domain)
    normalized = {
        "policy": as_choice(spec.get("policy", DEFAULT_POLICY), POLICIES, "dmarc.policy", domain),
        "subdomain_policy": None,
        "np": None,
        "rua": _spec_uris(spec, "rua", domain),
        "ruf": _spec_uris(spec, "ruf", domain),
        "adkim": None,
        "aspf": None,
        "pct": None,
        "fo": _spec_failure_options(spec.get("fo"), domain),
        "ri": None,
        "psd": None,
        "t": None,
    }
    for key, choices in (("subdomain_policy", POLICIES), ("np", POLICIES), ("adkim", ALIGNMENTS),
                         ("aspf", ALIGNMENTS), ("psd", PSD_VALUES), ("t", TESTING_VALUES)):
        value = spec.get(key)
        if isinstance(value, bool) and key in ("t", "psd"):
            value = "y" if value else "n"  # YAML 1.1 reads yes/no/true/false as booleans
        if value is not None:
            normalized[key] = as_choice(value, choices, "dmarc." + key, domain)
    if spec.get("pct") is not None:
        normalized["pct"] = as_int(spec["pct"], "dmarc.pct", domain, minimum=0, maximum=100)
    if spec.get("ri") is not None:
        normalized["ri"] = as_int(spec["ri"], "dmarc.ri", domain, minimum=1, maximum=MAX_INTERVAL)
    return normalized


def build(normalized):
    """The canonical record: v, p, sp, np, rua, ruf, adkim, aspf, pct, fo, ri, psd, t (set ones only)."""
    tags = ["v=DMARC1", "p=%s" % normalized.get("policy", DEFAULT_POLICY)]
    for tag, key in (("sp", "subdomain_policy"), ("np", "np")):
        if normalized.get(key):
            tags.append("%s=%s" % (tag, normalized[key]))
    for tag in ("rua", "ruf"):
        if normalized.get(tag):
            tags.append("%s=%s" % (tag, ",".join(normalized[tag])))
    for tag in ("adkim", "aspf", "pct", "fo", "ri", "psd", "t"):
        if normalized.get(tag) is not None:
            tags.append("%s=%s" % (tag, normalized[tag]))
    return "; ".join(tags)
