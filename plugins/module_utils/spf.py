# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SPF (RFC 7208): build the record of a domain from its spec, parse live records strictly.

Private to the collection: users may rely only on plugins and modules.
Section numbers in messages refer to RFC 7208.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    MailsecError,
    SpecError,
    as_list,
    join_txt,
    kind_of,
    reject_unknown_keys,
    require_mapping,
    select_record,
    verdict,
    white_space_near_misses,
)
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - exercised only without the package
    netaddr = None
    HAS_NETADDR = False

MAX_DNS_LOOKUPS = 10  # 4.6.4
RECOMMENDED_MAX_OCTETS = 450  # 3.4: keep the answer within a 512-octet UDP reply

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
ALL_QUALIFIER = {"fail": "-", "softfail": "~", "neutral": "?"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
LOOKUP_MECHANISMS = ("include", "a", "mx", "ptr", "exists")  # 4.6.4, plus the redirect modifier
SPEC_KEYS = ("mechanisms", "includes", "ip4", "ip6", "all", "redirect")
DEFAULT_MECHANISMS = ("mx",)

_VERSION = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)
_MECHANISM = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9]*)(.*)$", re.DOTALL)
# 12: macro-expand = ("%{" macro-letter transformers *delimiter "}") / "%%" / "%_" / "%-"
_MACRO_EXPAND = re.compile(r"%\{([A-Za-z])([0-9]*)(r?)([.\-+,/_=]*)\}", re.IGNORECASE)
_MACRO_LETTERS = "slodiphcrtv"
_EXP_ONLY_LETTERS = "crt"  # 7.2: allowed only in "exp" text
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$")
_CIDR_TAIL = re.compile(r"^(?P<head>.*?)(?:/(?P<c4>[0-9]+))?(?://(?P<c6>[0-9]+))?$", re.DOTALL)
_CIDR_NUMBER = re.compile(r"^(?:0|[1-9][0-9]*)$")
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IP4 = re.compile(r"^%s(?:\.%s){3}$" % (_QNUM, _QNUM))
_IP6_CHARS = re.compile(r"^[0-9A-Fa-f:.]+$")


def _require_netaddr():
    if not HAS_NETADDR:
        raise MailsecError("SPF ip4/ip6 checks need the Python library netaddr (pip install netaddr)")


# --- macro-string and domain-spec (section 7 and 12) ------------------------------------------

def _macro_string_errors(text, in_exp=False):
    """Syntax faults of an RFC 7208 macro-string; returns (errors, ends_with_macro, warnings)."""
    errors = []
    warnings = []
    index = 0
    ends_with_macro = False
    while index < len(text):
        char = text[index]
        if char == "%":
            following = text[index + 1:index + 2]
            if following in ("%", "_", "-"):
                index += 2
                ends_with_macro = True
                continue
            match = _MACRO_EXPAND.match(text, index)
            if not match:
                errors.append("%r has a '%%' that does not start a valid macro (7.1)" % text)
                return errors, False, warnings
            letter = match.group(1).lower()
            if letter not in _MACRO_LETTERS:
                errors.append("%r uses unknown macro letter %r (7.2)" % (text, match.group(1)))
            elif letter in _EXP_ONLY_LETTERS and not in_exp:
                errors.append("%r uses macro letter %r, allowed only in exp text (7.2)" % (text, match.group(1)))
            elif letter == "p":
                warnings.append("%r uses the %%{p} macro, which should not be used (7.3)" % text)
            if match.group(2) and int(match.group(2)) == 0:
                errors.append("%r has a zero digit transformer in a macro (7.3)" % text)
            index = match.end()
            ends_with_macro = True
            continue
        if not 0x21 <= ord(char) <= 0x7E:
            errors.append("%r contains a character that is not visible ASCII" % text)
            return errors, False, warnings
        index += 1
        ends_with_macro = False
    return errors, ends_with_macro, warnings


def domain_spec_problems(spec):
    """(errors, warnings) for an RFC 7208 domain-spec: macro-string domain-end."""
    if not spec:
        return ["is empty"], []
    errors, ends_with_macro, warnings = _macro_string_errors(spec)
    if errors:
        return errors, warnings
    if ends_with_macro:
        return [], warnings
    # domain-end = "." toplabel ["."]: the literal tail must end in a real top label.
    literal = spec[:-1] if spec.endswith(".") else spec
    # The literal text after the last macro-expand ("%{...}" or the two-character %%, %_, %-).
    last_end = max([literal.rfind("}") + 1] + [literal.rfind(escape) + 2 for escape in ("%%", "%_", "%-") if escape in literal])
    tail = literal[last_end:]
    if "." not in tail:
        return ["%r does not end in '.' and a top-level label (12)" % spec], warnings
    toplabel = tail.rsplit(".", 1)[1]
    if not _TOPLABEL.match(toplabel):
        return ["%r ends in %r, which is not a top-level label (12)" % (spec, toplabel)], warnings
    if "%" not in spec:
        # 4.3: a malformed name (empty or over-long label, over-long name) never resolves.
        labels = literal.split(".")
        if any(label == "" for label in labels):
            errors.append("%r has an empty label (4.3)" % spec)
        elif any(len(label) > 63 for label in labels):
            errors.append("%r has a label longer than 63 octets (4.3)" % spec)
        elif len(literal) > 253:
            errors.append("%r is longer than 253 octets (4.3)" % spec)
    return errors, warnings


# --- IP networks ------------------------------------------------------------------------------

def _ip_problems(version, address, prefix_text):
    """Check an ip4/ip6 network and optional prefix; returns (value, prefix, errors, warnings)."""
    _require_netaddr()
    errors = []
    warnings = []
    maximum = 32 if version == 4 else 128
    prefix = None
    if prefix_text is not None:
        if not _CIDR_NUMBER.match(prefix_text) or int(prefix_text) > maximum:
            return None, None, ["ip%d:%s/%s has a prefix length outside 0-%d (12)" % (version, address, prefix_text, maximum)], []
        prefix = int(prefix_text)
    if version == 4:
        valid = bool(_IP4.match(address)) and netaddr.valid_ipv4(address)
    else:
        valid = bool(_IP6_CHARS.match(address)) and netaddr.valid_ipv6(address)
    if not valid:
        return None, None, ["ip%d:%s is not a valid IPv%d address (12)" % (version, address, version)], []
    if prefix is not None:
        network = netaddr.IPNetwork("%s/%d" % (address, prefix), version=version)
        if network.ip != network.network:
            # Valid (5.6 compares only the first <prefix> bits) but it hides what was meant.
            warnings.append(
                "ip%d:%s/%d has host bits set; it means %s/%d" % (version, address, prefix, network.network, prefix)
            )
        if prefix == 0:
            warnings.append("ip%d:%s/0 authorizes every IPv%d address on the internet" % (version, address, version))
    return address, prefix, errors, warnings


# --- parsing ----------------------------------------------------------------------------------

def _blank_fields():
    return {
        "version": None,
        "terms": [],
        "modifiers": {},
        "all": None,
        "redirect": None,
        "exp": None,
        "dns_lookups": 0,
        "lookup_terms": [],
    }


def _parse_cidr(rest, term, errors):
    """Split ``rest`` ('' or ':domain' plus optional dual-cidr) of an a/mx term."""
    match = _CIDR_TAIL.match(rest)
    head, cidr4, cidr6 = match.group("head"), match.group("c4"), match.group("c6")
    values = []
    for text, maximum in ((cidr4, 32), (cidr6, 128)):
        if text is None:
            values.append(None)
        elif not _CIDR_NUMBER.match(text) or int(text) > maximum:
            errors.append("%r has a prefix length outside 0-%d (12)" % (term, maximum))
            values.append(None)
        else:
            values.append(int(text))
    return head, values[0], values[1]


def _parse_mechanism(term, errors, warnings):
    """One directive as a term dict, or None after recording the fault."""
    match = _MECHANISM.match(term)
    if not match:
        errors.append("%r is neither a mechanism nor a modifier (12)" % term)
        return None
    qualifier, name, rest = match.group(1) or "+", match.group(2).lower(), match.group(3)
    entry = {"qualifier": qualifier, "mechanism": name, "value": None, "cidr4": None, "cidr6": None}
    if name not in MECHANISMS:
        errors.append("%r uses unknown mechanism %r (5)" % (term, match.group(2)))
        return None
    if name == "all":
        if rest:
            errors.append("%r: all takes no argument (5.1)" % term)
            return None
        return entry
    if name in ("ip4", "ip6"):
        version = 4 if name == "ip4" else 6
        if not rest.startswith(":") or len(rest) < 2:
            errors.append("%r: %s needs ':' and an address (5.6)" % (term, name))
            return None
        address, _slash, prefix_text = rest[1:].partition("/")
        if _slash and prefix_text == "":
            errors.append("%r has an empty prefix length (12)" % term)
            return None
        value, prefix, ip_errors, ip_warnings = _ip_problems(version, address, prefix_text if _slash else None)
        errors.extend(ip_errors)
        warnings.extend(ip_warnings)
        if ip_errors:
            return None
        entry["value"] = value
        entry["cidr%d" % version] = prefix
        return entry
    if name in ("a", "mx"):
        known = len(errors)
        head, entry["cidr4"], entry["cidr6"] = _parse_cidr(rest, term, errors)
        if len(errors) > known:
            return None
        if head and not head.startswith(":"):
            errors.append("%r: expected ':' after %s (12)" % (term, name))
            return None
        if 0 in (entry["cidr4"], entry["cidr6"]):
            warnings.append("%r has a /0 prefix: it authorizes every address on the internet" % term)
        rest = head
    if name == "ptr":
        warnings.append("%r: the ptr mechanism is slow and unreliable and should not be used (5.5)" % term)
    if rest == "":
        if name in ("include", "exists"):
            errors.append("%r: %s needs ':' and a domain (5.2, 5.7)" % (term, name))
            return None
        return entry
    if not rest.startswith(":"):
        errors.append("%r: expected ':' after %s (12)" % (term, name))
        return None
    spec_errors, spec_warnings = domain_spec_problems(rest[1:])
    errors.extend("%r: domain-spec %s" % (term, error) for error in spec_errors)
    warnings.extend(spec_warnings)
    if spec_errors:
        return None
    entry["value"] = rest[1:]
    return entry


def parse(text):
    """Parse one SPF record strictly; returns a verdict (never raises on bad text).

    Fields: ``version``, ``terms`` (dicts ``qualifier``, ``mechanism``, ``value``, ``cidr4``,
    ``cidr6``, in record order), ``modifiers`` (lower-case name -> value, first occurrence),
    ``all`` (qualifier character of the first ``all``, or None), ``redirect``, ``exp``,
    ``dns_lookups`` (DNS-querying terms an evaluation of this record can reach: include, a, mx,
    ptr, exists before ``all``, plus an effective redirect; included records add their own) and
    ``lookup_terms`` (the include targets and effective redirect an evaluator recurses into).
    """
    record = join_txt(text)
    errors = []
    warnings = []
    fields = _blank_fields()
    if not _VERSION.match(record):
        errors.append("record does not start with 'v=spf1' followed by a space or its end (4.5)")
        return verdict(errors, warnings, **fields)
    fields["version"] = "spf1"
    if not record.isascii():
        errors.append("record contains non-ASCII characters (3)")
        return verdict(errors, warnings, **fields)
    if len(record.encode("ascii")) > RECOMMENDED_MAX_OCTETS:
        warnings.append(
            "record is %d octets; above %d the DNS answer may not fit 512 octets (3.4)"
            % (len(record), RECOMMENDED_MAX_OCTETS)
        )
    # 12: terms = *( 1*SP ( directive / modifier ) ), record ends in *SP; only SP separates.
    seen_terms = set()
    after_all = False
    redirect_index = None
    lookups = 0
    raw_terms = [piece for piece in record[6:].split(" ") if piece != ""]
    for index, term in enumerate(raw_terms):
        # A modifier's name cannot hold ':' or '/', so 'a:x=y' stays a mechanism.
        modifier = _MODIFIER.match(term)
        if modifier:
            _parse_modifier(modifier.group(1).lower(), modifier.group(2), fields, errors, warnings)
            if modifier.group(1).lower() == "redirect":
                redirect_index = index
            continue
        entry = _parse_mechanism(term, errors, warnings)
        if entry is None:
            continue
        key = (entry["qualifier"], entry["mechanism"], (entry["value"] or "").lower(), entry["cidr4"], entry["cidr6"])
        if key in seen_terms:
            warnings.append("%r repeats an earlier term" % term)
        seen_terms.add(key)
        if after_all:
            warnings.append("%r comes after 'all' and is never evaluated (5.1)" % term)
        else:
            if entry["mechanism"] == "all":
                fields["all"] = entry["qualifier"]
                after_all = True
            elif entry["mechanism"] in LOOKUP_MECHANISMS:
                lookups += 1
                if entry["mechanism"] == "include":
                    fields["lookup_terms"].append(entry["value"])
        fields["terms"].append(entry)
    fields["dns_lookups"] = lookups
    _finish(fields, redirect_index, len(raw_terms), errors, warnings)
    return verdict(errors, warnings, **fields)


def _parse_modifier(name, value, fields, errors, warnings):
    if name in ("redirect", "exp"):
        if name in fields["modifiers"]:
            errors.append("modifier %r appears more than once (6)" % name)
            return
        spec_errors, spec_warnings = domain_spec_problems(value)
        errors.extend("%s=%s: domain-spec %s" % (name, value, error) for error in spec_errors)
        warnings.extend(spec_warnings)
        fields[name] = value
    else:
        macro_errors, _end, macro_warnings = _macro_string_errors(value)
        errors.extend("modifier %r: %s" % (name, error) for error in macro_errors)
        warnings.extend(macro_warnings)
        if name in MECHANISMS:
            warnings.append(
                "%s=%s is an unknown modifier and is ignored (6); did you mean %s:%s?" % (name, value, name, value)
            )
        if name in fields["modifiers"]:
            warnings.append("unknown modifier %r appears more than once" % name)
            return
    fields["modifiers"][name] = value


def _finish(fields, redirect_index, term_count, errors, warnings):
    """Rules about the record as a whole: all/redirect interplay and the lookup limit."""
    if fields["all"] is not None:
        if fields["all"] == "+":
            warnings.append("'+all' authorizes every host on the internet to send mail as this domain")
        elif fields["all"] == "?":
            warnings.append("'?all' gives unauthorized senders a neutral result instead of failing them")
        if fields["redirect"] is not None:
            warnings.append("redirect=%s is ignored because the record has an 'all' mechanism (6.1)" % fields["redirect"])
    elif fields["redirect"] is not None:
        fields["dns_lookups"] += 1
        fields["lookup_terms"].append(fields["redirect"])
        if redirect_index is not None and redirect_index != term_count - 1:
            warnings.append("redirect should be the last term of the record (6.1)")
    else:
        warnings.append("record has neither 'all' nor 'redirect': unlisted senders get a neutral result (4.7)")
    if fields["dns_lookups"] > MAX_DNS_LOOKUPS:
        errors.append(
            "record needs %d DNS lookups; more than %d is a permerror (4.6.4)" % (fields["dns_lookups"], MAX_DNS_LOOKUPS)
        )


def is_spf_record(value):
    """True when the joined TXT value is an SPF record (starts with 'v=spf1' then space or end)."""
    return bool(_VERSION.match(join_txt(value)))


def select(values):
    """Pick the SPF record among all TXT values at a name (4.5) and parse it.

    No SPF record, or more than one (a permerror), is an error. Adds ``record`` (the chosen
    text) and ``records`` (every SPF record found) to the verdict.
    """
    return select_record(
        values,
        _VERSION.match,
        parse,
        _blank_fields,
        missing="no SPF record (no TXT value starts with 'v=spf1')",
        several="{count} SPF records at the name; more than one is a permerror (4.5)",
        near_misses=lambda texts: white_space_near_misses(texts, _VERSION.match, "v=spf1", "receivers skip it (4.5)"),
    )


# --- spec and build ---------------------------------------------------------------------------

def _normalize_network(value, version, field, domain):
    """An inventory ip4/ip6 entry in canonical text, or SpecError."""
    _require_netaddr()
    if not isinstance(value, str):
        raise SpecError(field, "must be an address or CIDR string, got %s" % kind_of(value), domain)
    text = value.strip()
    address, slash, prefix_text = text.partition("/")
    other = 6 if version == 4 else 4
    looks_other = ":" in address if version == 4 else (_IP4.match(address) is not None)
    if looks_other:
        raise SpecError(field, "%r is an IPv%d address; list it under spf.ip%d" % (value, other, other), domain)
    maximum = 32 if version == 4 else 128
    if slash and (not _CIDR_NUMBER.match(prefix_text) or int(prefix_text) > maximum):
        raise SpecError(field, "%r: prefix length must be 0-%d" % (value, maximum), domain)
    if version == 4:
        valid = bool(_IP4.match(address)) and netaddr.valid_ipv4(address)
    else:
        valid = bool(_IP6_CHARS.match(address)) and netaddr.valid_ipv6(address)
    if not valid:
        raise SpecError(field, "%r is not a valid IPv%d address" % (value, version), domain)
    prefix = int(prefix_text) if slash else maximum
    if prefix == 0:
        raise SpecError(field, "%r authorizes every IPv%d address, like +all" % (value, version), domain)
    network = netaddr.IPNetwork("%s/%d" % (address, prefix), version=version)
    if network.ip != network.network:
        # A live record with host bits set is valid (RFC 7208 5.6 compares the leading bits
        # only), but in the inventory it is ambiguous: a single host with a typo'd prefix, or a
        # network written from one of its hosts. We write records, so we refuse to guess.
        raise SpecError(
            field,
            "%r has host bits set; write %s/%d for the network or %s for the host"
            % (value, network.network, prefix, network.ip),
            domain,
        )
    if prefix == maximum:
        return str(network.ip)
    return "%s/%d" % (network.network, prefix)


def _normalize_mechanism(value, field, domain):
    if not isinstance(value, str):
        raise SpecError(field, "must be a mechanism string such as 'mx' or 'a:host.example', got %s" % kind_of(value), domain)
    text = value.strip()
    errors = []
    warnings = []
    if " " in text or not text:
        raise SpecError(field, "%r must be one term without spaces" % value, domain)
    if _MODIFIER.match(text):
        raise SpecError(field, "%r is a modifier; use spf.redirect" % value, domain)
    entry = _parse_mechanism(text, errors, warnings)
    if entry is None:
        raise SpecError(field, "; ".join(errors), domain)
    moved = {"all": "spf.all", "include": "spf.includes", "ip4": "spf.ip4", "ip6": "spf.ip6"}
    if entry["mechanism"] in moved:
        raise SpecError(field, "%r: use %s for this mechanism" % (value, moved[entry["mechanism"]]), domain)
    if entry["mechanism"] == "ptr":
        raise SpecError(field, "%r: ptr must not be published (RFC 7208 5.5: slow, unreliable)" % value, domain)
    if warnings:
        raise SpecError(field, "; ".join(warnings), domain)
    qualifier = "" if entry["qualifier"] == "+" else entry["qualifier"]
    rendered = qualifier + entry["mechanism"]
    if entry["value"] is not None:
        rendered += ":" + entry["value"]
    if entry["cidr4"] is not None:
        rendered += "/%d" % entry["cidr4"]
    if entry["cidr6"] is not None:
        rendered += "//%d" % entry["cidr6"]
    return rendered


def _normalize_target(value, field, domain):
    """An include or redirect target: a domain name, or a domain-spec with macros (RFC 7208 7).

    A target with a ``%`` is kept as written (macro letters are case-sensitive: ``%{D}`` is
    URL-encoded, 7.3) after a strict syntax check: a bad macro, a letter only ``exp`` may use,
    ``%{p}`` (7.3: should not be used) or a missing top-level label is a SpecError.
    """
    if not isinstance(value, str) or "%" not in value:
        return normalize_domain(value, field, domain, allow_underscore=True)
    text = value.strip()
    errors, warnings = domain_spec_problems(text)
    if " " in text:
        errors = ["%r must be one term without spaces (write a space as %%_)" % value] + errors
    if errors or warnings:
        raise SpecError(field, "not a valid SPF domain-spec: %s" % "; ".join(errors + warnings), domain)
    if text.lower() in ("%{d}", "%{o}", "%{d}.", "%{o}."):
        return domain or text  # the domain itself: the caller reports the loop
    return text


def normalize_spec(spec, domain):
    """Validate an inventory ``spf`` entry and fill defaults; ``None`` means no SPF record.

    ``spec`` is None or True (defaults: ``mx`` and ``-all``), False (off) or a mapping with
    ``mechanisms`` (raw a/mx/exists terms, default ``[mx]``), ``includes``, ``ip4``, ``ip6``,
    ``all`` (fail|softfail|neutral, default fail) and ``redirect`` (then no ``all``).
    Duplicates are dropped. Raises SpecError naming ``spf.<key>[i]``.
    """
    if spec is False:
        return None
    if spec is None or spec is True:
        spec = {}
    spec = require_mapping(spec, "spf", domain)
    reject_unknown_keys(spec, SPEC_KEYS, "spf", domain)
    normalized = {"mechanisms": [], "ip4": [], "ip6": [], "includes": [], "all": None, "redirect": None}

    mechanisms = spec.get("mechanisms")
    mechanisms = list(DEFAULT_MECHANISMS) if mechanisms is None else as_list(mechanisms, "spf.mechanisms", domain)
    for index, value in enumerate(mechanisms):
        rendered = _normalize_mechanism(value, "spf.mechanisms[%d]" % index, domain)
        if rendered.lower() not in [known.lower() for known in normalized["mechanisms"]]:
            normalized["mechanisms"].append(rendered)

    for version in (4, 6):
        key = "ip%d" % version
        for index, value in enumerate(as_list(spec.get(key), "spf." + key, domain)):
            rendered = _normalize_network(value, version, "spf.%s[%d]" % (key, index), domain)
            if rendered not in normalized[key]:
                normalized[key].append(rendered)

    for index, value in enumerate(as_list(spec.get("includes"), "spf.includes", domain)):
        field = "spf.includes[%d]" % index
        target = _normalize_target(value, field, domain)
        if domain and target == domain:
            raise SpecError(field, "%r includes the domain's own record, a loop" % value, domain)
        if target not in normalized["includes"]:
            normalized["includes"].append(target)

    redirect = spec.get("redirect")
    if redirect is not None:
        target = _normalize_target(redirect, "spf.redirect", domain)
        if domain and target == domain:
            raise SpecError("spf.redirect", "%r redirects to the domain itself, a loop" % redirect, domain)
        if spec.get("all") is not None:
            raise SpecError("spf.all", "cannot be combined with spf.redirect: redirect is ignored when 'all' is present (RFC 7208 6.1)", domain)
        normalized["redirect"] = target
    else:
        policy = spec.get("all")
        policy = "fail" if policy is None else policy
        if policy == "pass":
            raise SpecError("spf.all", "'pass' (+all) authorizes every host on the internet to send as this domain", domain)
        if policy not in ALL_QUALIFIER:
            raise SpecError("spf.all", "must be one of fail, softfail, neutral, got %r" % (policy,), domain)
        normalized["all"] = policy

    checked = parse(build(normalized))
    if checked["errors"]:
        raise SpecError("spf", "; ".join(checked["errors"]), domain)
    return normalized


def build(normalized):
    """The canonical record: mechanisms, ip4, ip6, includes, then all or redirect."""
    terms = ["v=spf1"]
    terms.extend(normalized.get("mechanisms") or [])
    terms.extend("ip4:" + value for value in normalized.get("ip4") or [])
    terms.extend("ip6:" + value for value in normalized.get("ip6") or [])
    terms.extend("include:" + value for value in normalized.get("includes") or [])
    if normalized.get("redirect"):
        terms.append("redirect=" + normalized["redirect"])
    else:
        terms.append(ALL_QUALIFIER[normalized.get("all") or "fail"] + "all")
    return " ".join(terms)
