# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DKIM key records (RFC 6376 3.6.1, RFC 8301, RFC 8463): build from the spec, parse strictly.

Private to the collection: users may rely only on plugins and modules.
"""

from __future__ import annotations

import base64
import binascii
import re

from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    MailsecError,
    SpecError,
    duplicate_tags,
    join_txt,
    kind_of,
    parse_tag_list,
    reject_unknown_keys,
    require_mapping,
    select_record,
    verdict,
)

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised only without the package
    HAS_CRYPTOGRAPHY = False

KEY_TYPES = ("rsa", "ed25519")
HASH_ALGORITHMS = ("sha1", "sha256")  # RFC 6376 3.6.1 h=; RFC 8301 forbids sha1
SERVICE_TYPES = ("*", "email")  # what a mail-signing key may name (and the inventory may set)
# RFC 8460 3 registers "tlsrpt": the key signs TLS reports. Known, but it verifies no mail.
OTHER_SERVICE_TYPES = ("tlsrpt",)
FLAGS = ("y", "s")
MIN_RSA_BITS = 1024  # RFC 8301 3.2: shorter keys MUST NOT be considered valid
RECOMMENDED_RSA_BITS = 2048  # RFC 8301 3.2: signers SHOULD use at least 2048
MAX_VERIFIED_RSA_BITS = 4096  # RFC 8301 3.2: verifiers must handle keys up to 4096 bits
ED25519_KEY_OCTETS = 32
# key_bits is optional; when given (the mailcow_domains lookup passes it) it must agree with the key.
SPEC_KEYS = ("selector", "public_key", "key_type", "key_bits", "testing", "hash_algorithms", "service_types", "notes")

_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_FWS = re.compile(r"[ \t\r\n]+")
# RFC 6376 3.1: selector = sub-domain *( "." sub-domain ); sub-domain (RFC 5321) = Let-dig [Ldh-str]
_SELECTOR_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_QP_HEX = re.compile(r"^[0-9A-F]{2}$")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise MailsecError("DKIM key checks need the Python library cryptography (pip install cryptography)")


def record_name(selector, domain):
    """``<selector>._domainkey.<domain>`` without a trailing dot (RFC 6376 3.6.2.1)."""
    return "%s._domainkey.%s" % (selector, domain.rstrip("."))


# --- keys -------------------------------------------------------------------------------------

def _decode_base64(text):
    """Bytes of a base64 value with folding white space removed, or MailsecError."""
    compact = _FWS.sub("", text)
    if not _BASE64.match(compact) or len(compact) % 4:
        raise MailsecError("is not valid base64")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise MailsecError("is not valid base64")


def _inspect_key(key_type, data):
    """(bits, note) for DER/raw key ``data``; note names a tolerated oddity. MailsecError if unusable."""
    if key_type == "ed25519":
        if len(data) != ED25519_KEY_OCTETS:
            if len(data) == 44 and data.startswith(b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70"):
                raise MailsecError(
                    "is an Ed25519 SubjectPublicKeyInfo; k=ed25519 needs the raw 32-byte key (RFC 8463 4.2)"
                )
            raise MailsecError("is %d octets; an ed25519 key is exactly 32 (RFC 8463 4.2)" % len(data))
        return 256, None
    _require_cryptography()
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise MailsecError("is not a DER-encoded public key")
    if isinstance(key, ed25519.Ed25519PublicKey):
        raise MailsecError("is an Ed25519 key; publish it with k=ed25519 as the raw 32-byte key")
    if not isinstance(key, rsa.RSAPublicKey):
        raise MailsecError("is not an RSA key")
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if data == spki:
        return key.key_size, None
    pkcs1 = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if data == pkcs1:
        return key.key_size, "is a bare PKCS#1 RSAPublicKey, not SubjectPublicKeyInfo; some verifiers reject it"
    return key.key_size, "is not in canonical DER form"


def key_bits(key_type, value):
    """Size in bits of a base64 DKIM key (RSA from the key itself, ed25519 always 256).

    Raises MailsecError when the value is not base64 or not a key of ``key_type``.
    """
    if key_type not in KEY_TYPES:
        raise MailsecError("unknown key type %r" % key_type)
    return _inspect_key(key_type, _decode_base64(value))[0]


def public_key_from_pem(pem):
    """``(key_type, base64_value)`` for a PEM public key, ready for ``p=``.

    Accepts ``PUBLIC KEY`` (SubjectPublicKeyInfo, RSA or Ed25519) and ``RSA PUBLIC KEY``
    (PKCS#1) blocks; RSA keys come out as SubjectPublicKeyInfo, Ed25519 keys as the raw 32
    octets RFC 8463 wants. A private key is refused without echoing it.
    """
    _require_cryptography()
    if not isinstance(pem, (str, bytes)):
        raise MailsecError("a PEM public key must be text")
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    if "PRIVATE KEY" in text:
        raise MailsecError("is a PRIVATE key; give the public key (it would be published in DNS)")
    match = _PEM_BLOCK.search(text)
    if not match:
        raise MailsecError("is not a PEM block (-----BEGIN PUBLIC KEY----- ...)")
    try:
        key = serialization.load_pem_public_key(match.group(0).encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise MailsecError("is not a readable PEM public key")
    value = _p_value(key)
    if value is None:
        raise MailsecError("is neither an RSA nor an Ed25519 key (DKIM knows only these, RFC 6376, RFC 8463)")
    return value


def _p_value(key):
    """``(key_type, base64_value)`` of a loaded public key as ``p=`` carries it: RSA as
    SubjectPublicKeyInfo, Ed25519 as its raw 32 octets (RFC 8463); None for other key types."""
    if isinstance(key, rsa.RSAPublicKey):
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "rsa", base64.b64encode(der).decode("ascii")
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519", base64.b64encode(raw).decode("ascii")
    return None


# --- parsing ----------------------------------------------------------------------------------

def _blank_fields():
    return {
        "version": None,
        "key_type": None,
        "public_key": None,
        "revoked": False,
        "key_bits": None,
        "hash_algorithms": None,
        "service_types": None,
        "flags": [],
        "notes": None,
    }


def _decode_qp(value):
    """RFC 6376 n= is a qp-section: '=XX' escapes octets; returns (text, ok)."""
    data = bytearray()
    index = 0
    while index < len(value):
        if value[index] == "=":
            escape = value[index + 1:index + 3]
            if not _QP_HEX.match(escape):
                return value, False
            data.append(int(escape, 16))
            index += 3
        else:
            data.extend(value[index].encode("utf-8"))
            index += 1
    return data.decode("utf-8", "replace"), True


def _encode_qp(text):
    """Quoted-printable for n=: visible ASCII except '=' and ';' stays, the rest becomes =XX."""
    out = []
    for octet in text.encode("utf-8"):
        char = chr(octet)
        if 0x21 <= octet <= 0x7E and char not in "=;":
            out.append(char)
        elif char == " ":
            out.append(char)
        else:
            out.append("=%02X" % octet)
    return "".join(out).strip(" ")


def _colon_list(value):
    return [item.strip(" \t\r\n") for item in value.split(":")]


def parse(text):
    """Parse one DKIM key record strictly; returns a verdict (never raises on bad text).

    Fields: ``version`` (``DKIM1`` or None when absent), ``key_type`` (default rsa),
    ``public_key`` (base64 without white space; "" when revoked), ``revoked``, ``key_bits``,
    ``hash_algorithms`` (None when h= is absent: all allowed), ``service_types`` (default
    ``["*"]``), ``flags`` (t=), ``notes`` (n= decoded).
    """
    record = join_txt(text)
    errors = []
    warnings = []
    fields = _blank_fields()
    tags, tag_errors = parse_tag_list(record)
    errors.extend(tag_errors)
    for name in duplicate_tags(tags):
        errors.append("tag %r appears more than once; the whole record is invalid (RFC 6376 3.2)" % name)
    values = {}
    for name, value in tags:
        values.setdefault(name, value)
    if "v" in values:
        if tags[0][0] != "v":
            errors.append("v= must be the first tag (RFC 6376 3.6.1)")
        if values["v"] != "DKIM1":
            errors.append("v=%s: the version must be exactly DKIM1 (RFC 6376 3.6.1)" % values["v"])
        else:
            fields["version"] = "DKIM1"
    for name in values:
        if name not in ("v", "h", "k", "n", "p", "s", "t"):
            warnings.append("unknown tag %r is ignored (tags are case-sensitive, RFC 6376 3.2)" % name)

    key_type = values.get("k", "rsa")
    fields["key_type"] = key_type
    if key_type not in KEY_TYPES:
        errors.append("k=%s: unknown key type; verifiers ignore this key (RFC 6376 3.6.1)" % key_type)

    _check_hashes(values, fields, errors, warnings)
    _check_services(values, fields, errors, warnings)
    if "t" in values:
        fields["flags"] = _colon_list(values["t"])
        for flag in fields["flags"]:
            if flag not in FLAGS:
                warnings.append("t=: unknown flag %r is ignored" % flag)
        if "y" in fields["flags"]:
            warnings.append("t=y: the domain is testing DKIM; verifiers may treat its signatures as absent")
    if "n" in values:
        fields["notes"], ok = _decode_qp(values["n"])
        if not ok:
            warnings.append("n= is not valid quoted-printable")

    if "p" not in values:
        errors.append("p= is required (RFC 6376 3.6.1)")
    else:
        _check_key(values["p"], key_type, fields, errors, warnings)
    return verdict(errors, warnings, **fields)


def _check_hashes(values, fields, errors, warnings):
    if "h" not in values:
        return
    algorithms = _colon_list(values["h"])
    fields["hash_algorithms"] = algorithms
    for algorithm in algorithms:
        if algorithm not in HASH_ALGORITHMS:
            warnings.append("h=: unknown hash algorithm %r is ignored" % algorithm)
    if "sha256" not in algorithms:
        if "sha1" in algorithms:
            errors.append("h= allows only sha1, which RFC 8301 forbids: no signature can verify with this key")
        else:
            errors.append("h= names no known hash algorithm: no signature can verify with this key")
    elif "sha1" in algorithms:
        warnings.append("h= lists sha1, which must not be used (RFC 8301)")


def _check_services(values, fields, errors, warnings):
    services = _colon_list(values["s"]) if "s" in values else ["*"]
    fields["service_types"] = services
    for service in services:
        if service not in SERVICE_TYPES + OTHER_SERVICE_TYPES:
            warnings.append("s=: unknown service type %r is ignored" % service)
    if not set(services) & set(SERVICE_TYPES):
        only_reports = " (s=tlsrpt: it signs only TLS reports, RFC 8460 3)" if "tlsrpt" in services else ""
        errors.append("s= names neither '*' nor 'email': the key cannot verify mail (RFC 6376 3.6.1)%s" % only_reports)


def _check_key(value, key_type, fields, errors, warnings):
    compact = _FWS.sub("", value)
    fields["public_key"] = compact
    if compact == "":
        fields["revoked"] = True
        warnings.append("p= is empty: the key is revoked and every signature made with it fails (RFC 6376 3.6.1)")
        return
    try:
        data = _decode_base64(compact)
    except MailsecError as exc:
        errors.append("p= %s" % exc)
        return
    if key_type not in KEY_TYPES:
        return
    try:
        bits, note = _inspect_key(key_type, data)
    except MailsecError as exc:
        errors.append("p= %s" % exc)
        return
    fields["key_bits"] = bits
    if note:
        warnings.append("p= %s" % note)
    if key_type == "rsa":
        if bits < MIN_RSA_BITS:
            errors.append("RSA key of %d bits: verifiers must reject keys under %d bits (RFC 8301 3.2)" % (bits, MIN_RSA_BITS))
        elif bits < RECOMMENDED_RSA_BITS:
            warnings.append("RSA key of %d bits: use at least %d bits (RFC 8301 3.2)" % (bits, RECOMMENDED_RSA_BITS))
        elif bits > MAX_VERIFIED_RSA_BITS:
            warnings.append("RSA key of %d bits: verifiers need only handle up to %d bits (RFC 8301 3.2)" % (bits, MAX_VERIFIED_RSA_BITS))


def _is_key_record(text):
    # v= is optional in a key record (RFC 6376 3.6.1), so every value that is not blank counts.
    return bool(text.strip())


def select(values):
    """Pick the key record among the TXT values at ``<selector>._domainkey.<domain>``.

    Every non-empty TXT value counts (``v=`` is optional in key records). None is an error;
    several are an error too, because verifiers may use any one of them (RFC 6376 3.6.2.2).
    """
    return select_record(
        values,
        _is_key_record,
        parse,
        _blank_fields,
        missing="no DKIM key record",
        several="{count} TXT records at the selector name; verifiers may pick any one (RFC 6376 3.6.2.2)",
    )


# --- spec and build ---------------------------------------------------------------------------

def _normalize_selector(value, field, domain):
    if not isinstance(value, str) or not value.strip():
        raise SpecError(field, "is required: a selector such as 'dkim' or '2026a'", domain)
    selector = value.strip().lower()
    if not selector.isascii():
        raise SpecError(field, "%r must be ASCII (write internationalized labels as A-labels)" % value, domain)
    for label in selector.split("."):
        if not _SELECTOR_LABEL.match(label):
            raise SpecError(
                field,
                "%r: each label must be letters, digits and inner hyphens, 1-63 octets; no underscores (RFC 6376 3.1)" % value,
                domain,
            )
    if domain and len(record_name(selector, domain)) > 253:
        raise SpecError(field, "%r makes the record name longer than 253 octets" % value, domain)
    return selector


def _key_from_spec(value, field, domain):
    """(key_type, base64) from a PEM block, a base64 key or a pasted key record."""
    if value is not None and not isinstance(value, str):
        raise SpecError(field, "must be a string (base64 or PEM), got %s" % kind_of(value), domain)
    if value is None or not value.strip():
        raise SpecError(field, "is required: the dkim_key module or mailcow provides the key; set it here", domain)
    text = value.strip()
    if "PRIVATE KEY" in text:
        raise SpecError(field, "is a PRIVATE key; give the public key (it is published in DNS)", domain)
    if text.startswith("-----BEGIN"):
        try:
            return public_key_from_pem(text)
        except MailsecError as exc:
            raise SpecError(field, "PEM %s" % exc, domain)
    if re.match(r"^v\s*=\s*DKIM1\s*;", text) or re.match(r"^(k|p)\s*=", text):
        # A whole key record pasted from mailcow's UI: take its key, strictly.
        pasted = parse(text)
        if pasted["errors"] or pasted["revoked"]:
            raise SpecError(field, "pasted key record is unusable: %s" % "; ".join(pasted["errors"] or ["revoked"]), domain)
        return pasted["key_type"], pasted["public_key"]
    try:
        data = _decode_base64(text)
    except MailsecError as exc:
        raise SpecError(field, "%s (expected base64 DER, a raw ed25519 key or PEM)" % exc, domain)
    if len(data) == ED25519_KEY_OCTETS:
        return "ed25519", base64.b64encode(data).decode("ascii")
    _require_cryptography()
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SpecError(field, "is not a DER public key nor a raw 32-byte ed25519 key", domain)
    value = _p_value(key)
    if value is None:
        raise SpecError(field, "is neither an RSA nor an Ed25519 key", domain)
    return value


def _colon_spec_list(value, allowed, field, domain):
    if value is None:
        return None
    items = value.split(":") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise SpecError(field, "must be a non-empty list of %s" % ", ".join(allowed), domain)
    result = []
    for index, item in enumerate(items):
        if item not in allowed:
            raise SpecError("%s[%d]" % (field, index), "must be one of %s, got %r" % (", ".join(allowed), item), domain)
        if item not in result:
            result.append(item)
    return result


def _normalize_entry(entry, prefix, domain, pending=()):
    entry = require_mapping(entry, prefix, domain)
    reject_unknown_keys(entry, SPEC_KEYS, prefix, domain)
    selector = _normalize_selector(entry.get("selector"), prefix + ".selector", domain)
    if entry.get("public_key") is None and selector in pending:
        # A host makes or keeps this key (mailsec_dkim_keys); playbooks/keys.yml fills it in later.
        return {"selector": selector, "pending": True}
    field = prefix + ".public_key"
    detected, public_key = _key_from_spec(entry.get("public_key"), field, domain)
    key_type = entry.get("key_type")
    if key_type is None:
        key_type = detected
    elif key_type not in KEY_TYPES:
        raise SpecError(prefix + ".key_type", "must be one of rsa, ed25519, got %r" % (key_type,), domain)
    elif key_type != detected:
        raise SpecError(prefix + ".key_type", "is %s but public_key holds an %s key" % (key_type, detected), domain)
    bits = key_bits(key_type, public_key)
    stated = entry.get("key_bits")
    if stated is not None and (isinstance(stated, bool) or str(stated).strip() != str(bits)):
        raise SpecError(prefix + ".key_bits", "says %r but public_key holds a %d-bit key" % (stated, bits), domain)
    if key_type == "rsa" and bits < MIN_RSA_BITS:
        raise SpecError(field, "RSA key of %d bits; at least %d are required (RFC 8301 3.2)" % (bits, MIN_RSA_BITS), domain)
    if key_type == "rsa" and bits > MAX_VERIFIED_RSA_BITS:
        raise SpecError(
            field, "RSA key of %d bits; verifiers need only handle up to %d (RFC 8301 3.2)" % (bits, MAX_VERIFIED_RSA_BITS), domain
        )
    testing = entry.get("testing", False)
    if not isinstance(testing, bool):
        raise SpecError(prefix + ".testing", "must be true or false, got %r" % (testing,), domain)
    # Only sha256 is allowed: RFC 8301 forbids sha1, and an h= without sha256 kills the key.
    hashes = _colon_spec_list(entry.get("hash_algorithms"), ("sha256",), prefix + ".hash_algorithms", domain)
    services = _colon_spec_list(entry.get("service_types"), SERVICE_TYPES, prefix + ".service_types", domain)
    notes = entry.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise SpecError(prefix + ".notes", "must be a string", domain)
    return {
        "selector": selector,
        "key_type": key_type,
        "public_key": public_key,
        "key_bits": bits,
        "testing": testing,
        "hash_algorithms": hashes,
        "service_types": services,
        "notes": notes.strip() if notes and notes.strip() else None,
    }


def normalize_spec(spec, domain, pending=()):
    """Validate an inventory ``dkim`` entry: a mapping or a list of them; None/False is ``[]``.

    Each needs ``selector`` and ``public_key`` (base64 DER SubjectPublicKeyInfo, base64 raw
    ed25519, a PEM public key, or a pasted ``v=DKIM1; ... p=...`` record); optional
    ``key_type``, ``testing``, ``hash_algorithms``, ``service_types``, ``notes``. RSA keys
    outside 1024-4096 bits and duplicate selectors are refused. An entry without a public key
    whose selector is in ``pending`` (a key a host will provide) is ``{selector, pending: True}``:
    validated, but with no record until the key is there.
    """
    if spec is None or spec is False:
        return []
    if isinstance(spec, dict):
        entries = [(spec, "dkim")]
    elif isinstance(spec, (list, tuple)):
        entries = [(entry, "dkim[%d]" % index) for index, entry in enumerate(spec)]
    else:
        raise SpecError("dkim", "must be a mapping or a list of mappings, got %s" % kind_of(spec), domain)
    normalized = []
    seen = set()
    for entry, prefix in entries:
        result = _normalize_entry(entry, prefix, domain, pending)
        if result["selector"] in seen:
            raise SpecError(prefix + ".selector", "selector %r is listed twice" % result["selector"], domain)
        seen.add(result["selector"])
        normalized.append(result)
    return normalized


def build(entry):
    """The canonical key record: ``v``, ``k``, then ``h``, ``s``, ``t``, ``n`` when set, ``p`` last."""
    tags = ["v=DKIM1", "k=%s" % entry.get("key_type", "rsa")]
    if entry.get("hash_algorithms"):
        tags.append("h=" + ":".join(entry["hash_algorithms"]))
    if entry.get("service_types"):
        tags.append("s=" + ":".join(entry["service_types"]))
    if entry.get("testing"):
        tags.append("t=y")
    if entry.get("notes"):
        tags.append("n=" + _encode_qp(entry["notes"]))
    tags.append("p=" + entry["public_key"])
    return "; ".join(tags)
