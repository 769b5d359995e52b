# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DANE for SMTP (RFC 6698, 7671, 7672): TLSA values from certificates and keys, parsing, matching.

Private to the collection: users may rely only on plugins and modules.

A TLSA value is written in presentation form, ``"3 1 1 <lowercase hex>"``: certificate usage,
selector, matching type and the association data. SMTP uses only DANE-TA(2) and DANE-EE(3)
(RFC 7672 3.1.3). The SubjectPublicKeyInfo that selector 1 hashes is cut from the certificate's
own DER, so the digest is exactly what a sender computes, whatever the key type; matching a
presented chain needs only the standard library. Reading PEM certificates and keys needs the
``cryptography`` library.
"""

from __future__ import annotations

import hashlib
import re
import traceback

from ansible_collections.mailsec.posture.plugins.module_utils import names
from ansible_collections.mailsec.posture.plugins.module_utils.common import (
    MailsecError,
    SpecError,
    as_enabled,
    as_int,
    as_list,
    kind_of,
    reject_unknown_keys,
    require_mapping,
    verdict,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only without the package
    x509 = None
    serialization = None
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

USAGES = {0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE"}  # RFC 6698 7.2, names from RFC 7218
SELECTORS = {0: "Cert", 1: "SPKI"}
MATCHING_TYPES = {0: "Full", 1: "SHA2-256", 2: "SHA2-512"}
DIGEST_OCTETS = {1: 32, 2: 64}
SMTP_USAGES = (2, 3)  # RFC 7672 3.1.3: SMTP clients treat PKIX-TA(0) and PKIX-EE(1) as unusable
DEFAULT_RECORDS = ("3 1 1",)  # DANE-EE SPKI SHA2-256: survives certificate renewals that keep the key
DEFAULT_PORT = 25
PROTOCOLS = ("tcp", "udp", "sctp")

_SPEC_KEYS = ("enabled", "certificate", "ca_certificate", "public_key", "next_public_key", "records", "port")
_TRIPLE = re.compile(r"^\s*([0-9]{1,3})\s+([0-9]{1,3})\s+([0-9]{1,3})\s*$")
_NUMBER = re.compile(r"^[0-9]{1,3}$")
_HEX = re.compile(r"^[0-9A-Fa-f]*$")
_ACRONYMS = {}
for _table in (USAGES, SELECTORS, MATCHING_TYPES):
    for _number, _acronym in _table.items():
        _ACRONYMS.setdefault(_acronym.upper(), _number)
_ACRONYMS.update({"PRIVCERT": 255, "PRIVSEL": 255, "PRIVMATCH": 255})


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise MailsecError("the Python library 'cryptography' is required to read certificates and keys for DANE TLSA records")


# ---------------------------------------------------------------------------------------------
# DER: cut the SubjectPublicKeyInfo out of a certificate exactly as it was signed


def _der_element(data, offset):
    """``(tag, content_start, end)`` of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError("high-number DER tags do not occur in a certificate's outer structure")
    first = data[offset + 1]
    if first < 0x80:
        length = first
        start = offset + 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length encoding")
        start = offset + 2 + count
        if start > len(data):
            raise ValueError("truncated DER length")
        length = int.from_bytes(data[offset + 2:start], "big")
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER element")
    return tag, start, end


def spki_from_certificate_der(certificate_der):
    """The DER SubjectPublicKeyInfo of a DER certificate (RFC 5280 4.1), byte for byte."""
    data = bytes(certificate_der)
    tag, start, _end = _der_element(data, 0)
    if tag != 0x30:
        raise ValueError("not a DER certificate (no outer SEQUENCE)")
    tag, position, tbs_end = _der_element(data, start)
    if tag != 0x30:
        raise ValueError("not a DER certificate (no tbsCertificate SEQUENCE)")
    tag, _content, end = _der_element(data, position)
    if tag == 0xA0:  # [0] EXPLICIT version, absent in v1 certificates
        position = end
    # serialNumber, signature, issuer, validity, subject
    for _index in range(5):
        _tag, _content, position = _der_element(data, position)
    tag, _content, end = _der_element(data, position)
    if tag != 0x30 or end > tbs_end:
        raise ValueError("not a DER certificate (no subjectPublicKeyInfo SEQUENCE)")
    return data[position:end]


# ---------------------------------------------------------------------------------------------
# Reading certificates and keys


def _as_bytes(data):
    if isinstance(data, str):
        return data.strip().encode("ascii", "replace")
    return bytes(data)


def _is_pem(data):
    return b"-----BEGIN " in data


def load_certificates(data):
    """Certificates from PEM text (one or a chain, leaf first) or one DER certificate."""
    _require_cryptography()
    if data is None or (isinstance(data, (str, bytes)) and not data.strip()):
        raise MailsecError("no certificate given")
    raw = _as_bytes(data)
    try:
        if _is_pem(raw):
            if b"PRIVATE KEY-----" in raw and b"CERTIFICATE-----" not in raw:
                raise MailsecError("is a private key, not a certificate")
            return x509.load_pem_x509_certificates(raw)
        return [x509.load_der_x509_certificate(raw)]
    except ValueError as exc:
        raise MailsecError("is not a PEM or DER X.509 certificate: %s" % exc)


def _certificate_der(certificate):
    if isinstance(certificate, (bytes, bytearray, memoryview)) and not _is_pem(bytes(certificate)):
        return bytes(certificate)
    if HAS_CRYPTOGRAPHY and isinstance(certificate, x509.Certificate):
        return certificate.public_bytes(serialization.Encoding.DER)
    return load_certificates(certificate)[0].public_bytes(serialization.Encoding.DER)


def _is_ca(certificate):
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def public_key_spki(data):
    """The DER SubjectPublicKeyInfo of a PEM public key, an unencrypted PEM private key (only its
    public half is used), a PEM certificate (its leaf's key) or a DER SubjectPublicKeyInfo."""
    _require_cryptography()
    if data is None or (isinstance(data, (str, bytes)) and not data.strip()):
        raise MailsecError("no public key given")
    raw = _as_bytes(data)
    if _is_pem(raw) and b"CERTIFICATE-----" in raw:
        return spki_from_certificate_der(_certificate_der(raw))
    try:
        if not _is_pem(raw):
            key = serialization.load_der_public_key(raw)
        elif b"PRIVATE KEY-----" in raw:
            if b"ENCRYPTED PRIVATE KEY-----" in raw or b"Proc-Type: 4,ENCRYPTED" in raw:
                raise MailsecError("is an encrypted private key; give the public key instead")
            key = serialization.load_pem_private_key(raw, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise MailsecError("is not a PEM public key: %s" % exc)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ---------------------------------------------------------------------------------------------
# Computing TLSA values


def _check_numbers(usage, selector, matching_type):
    for name, value, table in (("usage", usage, USAGES), ("selector", selector, SELECTORS), ("matching type", matching_type, MATCHING_TYPES)):
        if isinstance(value, bool) or not isinstance(value, int) or value not in table:
            raise MailsecError("TLSA %s must be one of %s, got %r" % (name, ", ".join(str(key) for key in table), value))


def _association(data, matching_type):
    if matching_type == 1:
        return hashlib.sha256(data).digest()
    if matching_type == 2:
        return hashlib.sha512(data).digest()
    return bytes(data)


def _presentation(usage, selector, matching_type, association):
    return "%d %d %d %s" % (usage, selector, matching_type, association.hex())


def tlsa_from_certificate(pem, usage=3, selector=1, matching_type=1, ca_certificate=None):
    """The TLSA value for a certificate, e.g. ``"3 1 1 <hex>"``.

    ``pem`` is the MX's leaf certificate, optionally followed by its chain (PEM, or one DER
    certificate). Selector 0 uses the whole certificate's DER, 1 its SubjectPublicKeyInfo;
    matching type 0 the data itself, 1 SHA-256, 2 SHA-512.

    Usage 3 (DANE-EE) and 1 use the leaf (the first certificate). Usage 2 (DANE-TA) and 0 use
    the trust anchor: ``ca_certificate`` when given, else the *last* certificate of ``pem``
    when it holds a chain, else ``pem`` itself when that is a CA certificate. The server must
    send that certificate in its chain (RFC 7672 3.1.2), so prefer the issuing CA it sends over
    a root it leaves out.
    """
    _check_numbers(usage, selector, matching_type)
    certificates = load_certificates(pem)
    if usage in (0, 2):
        if ca_certificate is not None:
            anchor = load_certificates(ca_certificate)[0]
        elif len(certificates) > 1:
            anchor = certificates[-1]
        elif _is_ca(certificates[0]):
            anchor = certificates[0]
        else:
            raise MailsecError(
                "usage %d (%s) hashes a CA certificate: give the chain after the leaf or a CA certificate" % (usage, USAGES[usage])
            )
        target = anchor
    else:
        target = certificates[0]
    der = target.public_bytes(serialization.Encoding.DER)
    data = der if selector == 0 else spki_from_certificate_der(der)
    return _presentation(usage, selector, matching_type, _association(data, matching_type))


def tlsa_from_public_key(pem, matching_type=1, usage=3):
    """The selector-1 TLSA value for a public key, e.g. ``"3 1 1 <hex>"`` (see ``public_key_spki``)."""
    _check_numbers(usage, 1, matching_type)
    return _presentation(usage, 1, matching_type, _association(public_key_spki(pem), matching_type))


def record_name(mx_host, port=DEFAULT_PORT, protocol="tcp"):
    """The owner name of an MX host's TLSA records: ``_25._tcp.<mx host>`` (RFC 6698 3)."""
    host = names.normalize_domain(mx_host, "mx_host")
    port = as_int(port, "dane.port", minimum=1, maximum=65535)
    if protocol not in PROTOCOLS:
        raise SpecError("protocol", "must be one of %s, got %r" % (", ".join(PROTOCOLS), protocol))
    return "_%d._%s.%s" % (port, protocol, host)


# ---------------------------------------------------------------------------------------------
# Inventory spec


def _parse_triple(value, field, domain):
    if isinstance(value, (list, tuple)):
        text = " ".join(str(part) for part in value)
    else:
        text = value if isinstance(value, str) else ""
    found = _TRIPLE.match(text)
    if not found:
        raise SpecError(field, "must be 'usage selector matching-type', e.g. '3 1 1', got %r" % (value,), domain)
    usage, selector, matching_type = (int(part) for part in found.groups())
    if usage in (0, 1):
        raise SpecError(
            field,
            "usage %d (%s) is not used for SMTP: senders treat it as unusable (RFC 7672 3.1.3); use 3 (DANE-EE) or 2 (DANE-TA)"
            % (usage, USAGES[usage]),
            domain,
        )
    if usage not in SMTP_USAGES:
        raise SpecError(field, "usage must be 3 (DANE-EE) or 2 (DANE-TA), got %d" % usage, domain)
    if selector not in SELECTORS:
        raise SpecError(field, "selector must be 0 (whole certificate) or 1 (public key), got %d" % selector, domain)
    if matching_type == 0:
        raise SpecError(
            field,
            "matching type 0 (Full) publishes the whole certificate or key; RFC 7672 3.1.2 asks for a digest: use 1 (SHA-256) or 2 (SHA-512)",
            domain,
        )
    if matching_type not in DIGEST_OCTETS:
        raise SpecError(field, "matching type must be 1 (SHA-256) or 2 (SHA-512), got %d" % matching_type, domain)
    return "%d %d %d" % (usage, selector, matching_type)


def _pem_option(spec, key, domain):
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, bytes)):
        raise SpecError("dane.%s" % key, "must be PEM text, got %s" % kind_of(value), domain)
    value = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return value.strip() or None


def normalize_spec(spec, domain):
    """Validate a domain's ``dane`` inventory entry; None means DANE is off.

    ``spec`` None or False turns DANE off, True gives the defaults. A mapping may hold:
    ``enabled`` (bool, default true), ``records`` (record types, default ``["3 1 1"]``;
    usage 2 or 3, selector 0 or 1, matching type 1 or 2), ``port`` (default 25),
    ``certificate`` (PEM of the MX's leaf certificate, optionally followed by its chain),
    ``ca_certificate`` (PEM of the trust anchor for usage-2 records; default: the last
    certificate of ``certificate``'s chain), ``public_key`` (PEM of the MX's key) and
    ``next_public_key`` (PEM of the key a rollover will switch to: its ``3 1 x`` records are
    published next to the current ones so that senders already know it).

    With no certificate or key the spec is valid but ``build`` returns no values: the material
    comes later (e.g. from the MX host). When material is given, every record type must be
    computable from it.
    """
    if spec is None or spec is False:
        return None
    if spec is True:
        spec = {}
    domain = names.normalize_domain(domain, "name")
    spec = require_mapping(spec, "dane", domain)
    reject_unknown_keys(spec, _SPEC_KEYS, "dane", domain)
    if not as_enabled(spec, "dane.enabled", domain):
        return None

    port = spec.get("port")
    port = DEFAULT_PORT if port is None else as_int(port, "dane.port", domain, 1, 65535)
    raw_records = DEFAULT_RECORDS if spec.get("records") is None else spec["records"]
    records = []
    for index, value in enumerate(as_list(raw_records, "dane.records", domain)):
        triple = _parse_triple(value, "dane.records[%d]" % index, domain)
        if triple not in records:
            records.append(triple)
    if not records:
        raise SpecError("dane.records", "needs at least one record type, e.g. '3 1 1'", domain)

    normalized = {
        "enabled": True,
        "domain": domain,
        "port": port,
        "records": records,
        "certificate": _pem_option(spec, "certificate", domain),
        "ca_certificate": _pem_option(spec, "ca_certificate", domain),
        "public_key": _pem_option(spec, "public_key", domain),
        "next_public_key": _pem_option(spec, "next_public_key", domain),
    }
    _check_material(normalized, domain)
    return normalized


def _load_or_fail(loader, value, field, domain):
    try:
        return loader(value)
    except MailsecError as exc:
        if not HAS_CRYPTOGRAPHY:
            raise
        raise SpecError(field, str(exc), domain)


def _check_material(normalized, domain):
    certificates = None
    anchor = None
    current_key = None
    if normalized["certificate"]:
        certificates = _load_or_fail(load_certificates, normalized["certificate"], "dane.certificate", domain)
        current_key = spki_from_certificate_der(_certificate_der(certificates[0]))
        if len(certificates) > 1:
            anchor = certificates[-1]
    if normalized["ca_certificate"]:
        anchor = _load_or_fail(load_certificates, normalized["ca_certificate"], "dane.ca_certificate", domain)[0]
    elif certificates and len(certificates) == 1 and _is_ca(certificates[0]):
        anchor = certificates[0]
    if normalized["public_key"]:
        key = _load_or_fail(public_key_spki, normalized["public_key"], "dane.public_key", domain)
        if current_key is not None and key != current_key:
            raise SpecError("dane.public_key", "is not the public key of the leaf certificate in dane.certificate", domain)
        current_key = key
    next_key = None
    if normalized["next_public_key"]:
        next_key = _load_or_fail(public_key_spki, normalized["next_public_key"], "dane.next_public_key", domain)
        if next_key == current_key:
            raise SpecError("dane.next_public_key", "is the current key; a rollover needs a different key", domain)
        if not any(triple.startswith("3 1 ") for triple in normalized["records"]):
            raise SpecError("dane.next_public_key", "is published only with a '3 1 1' or '3 1 2' record type in dane.records", domain)

    if not (certificates or anchor or current_key or next_key):
        return  # no material yet: build() gives nothing until there is
    for index, triple in enumerate(normalized["records"]):
        field = "dane.records[%d]" % index
        if triple.startswith("3 0 ") and not certificates:
            raise SpecError(field, "%r hashes the whole leaf certificate: give dane.certificate" % triple, domain)
        if triple.startswith("3 1 ") and current_key is None and next_key is None:
            raise SpecError(field, "%r hashes the MX's public key: give dane.certificate or dane.public_key" % triple, domain)
        if triple.startswith("2 ") and anchor is None:
            raise SpecError(
                field,
                "%r hashes the trust anchor: give dane.ca_certificate or the chain after the leaf in dane.certificate" % triple,
                domain,
            )


def build(normalized):
    """The TLSA values of a normalized spec, deduplicated, in a stable order.

    For each record type in order: usage 3 hashes the leaf (its key from ``public_key`` or
    ``certificate``), followed by ``next_public_key`` for ``3 1 x``; usage 2 hashes the trust
    anchor (see ``tlsa_from_certificate``). No certificate or key given means no values.
    """
    if not normalized:
        return []
    certificate = normalized.get("certificate")
    ca_certificate = normalized.get("ca_certificate")
    public_key = normalized.get("public_key")
    next_public_key = normalized.get("next_public_key")
    values = []
    for triple in normalized.get("records") or DEFAULT_RECORDS:
        usage, selector, matching_type = (int(part) for part in triple.split())
        if usage == 3 and selector == 1:
            if public_key:
                values.append(tlsa_from_public_key(public_key, matching_type))
            elif certificate:
                values.append(tlsa_from_certificate(certificate, 3, 1, matching_type))
            if next_public_key:
                values.append(tlsa_from_public_key(next_public_key, matching_type))
        elif usage == 3 and certificate:
            values.append(tlsa_from_certificate(certificate, 3, selector, matching_type))
        elif usage == 2 and (ca_certificate or certificate):
            values.append(tlsa_from_certificate(certificate or ca_certificate, 2, selector, matching_type, ca_certificate=ca_certificate))
    unique = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


# ---------------------------------------------------------------------------------------------
# Parsing and matching


def _number_field(token, name, errors):
    if _NUMBER.match(token) and int(token) <= 255:
        return int(token)
    acronym = _ACRONYMS.get(token.upper().replace("_", "-"))
    if acronym is not None:
        errors.append("%s %r: write the number %d; RFC 7218 acronyms are not the presentation format" % (name, token, acronym))
    else:
        errors.append("%s must be a number from 0 to 255, got %r" % (name, token))
    return None


def parse(text):
    """Parse one TLSA value in presentation form (``"3 1 1 <hex>"``), strictly.

    White space inside the hex data is allowed and removed. Returns ``verdict(errors,
    warnings, usage, selector, matching_type, data)`` with ``data`` lowercase hex (None when
    invalid). Usages 0 and 1 are valid TLSA but unusable for SMTP (a warning, RFC 7672 3.1.3);
    unassigned or private-use values are errors.
    """
    errors = []
    warnings = []
    fields = {"usage": None, "selector": None, "matching_type": None, "data": None}
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    tokens = str(text if text is not None else "").split()
    if tokens[:1] == ["\\#"]:
        errors.append("the RFC 3597 generic form is not supported; give 'usage selector matching-type hex'")
        return verdict(errors, warnings, **fields)
    if len(tokens) < 4:
        errors.append("a TLSA value needs usage, selector, matching type and data, got %r" % (text,))
        return verdict(errors, warnings, **fields)

    usage = _number_field(tokens[0], "usage", errors)
    selector = _number_field(tokens[1], "selector", errors)
    matching_type = _number_field(tokens[2], "matching type", errors)
    if usage is not None:
        if usage in (0, 1):
            warnings.append("usage %d (%s) is not used for SMTP: senders treat the record as unusable (RFC 7672 3.1.3)" % (usage, USAGES[usage]))
        elif usage not in USAGES:
            errors.append("usage %d is %s; SMTP uses 3 (DANE-EE) or 2 (DANE-TA)" % (usage, "for private use" if usage == 255 else "not assigned"))
    if selector is not None and selector not in SELECTORS:
        errors.append("selector %d is %s; use 0 (Cert) or 1 (SPKI)" % (selector, "for private use" if selector == 255 else "not assigned"))
    if matching_type is not None:
        if matching_type == 0:
            warnings.append("matching type 0 (Full) is discouraged; RFC 7672 3.1.2 asks for a digest (1 or 2)")
        elif matching_type not in MATCHING_TYPES:
            errors.append(
                "matching type %d is %s; use 1 (SHA2-256) or 2 (SHA2-512)" % (matching_type, "for private use" if matching_type == 255 else "not assigned")
            )
    fields.update(usage=usage, selector=selector, matching_type=matching_type)

    data = "".join(tokens[3:])
    if not _HEX.match(data):
        errors.append("the data must be hexadecimal, got %r" % data[:40])
        return verdict(errors, warnings, **fields)
    if len(data) % 2:
        errors.append("the data has an odd number (%d) of hex digits" % len(data))
        return verdict(errors, warnings, **fields)
    octets = bytes.fromhex(data)
    expected = DIGEST_OCTETS.get(matching_type)
    if expected and len(octets) != expected:
        errors.append("%s data must be %d octets (%d hex digits), got %d" % (MATCHING_TYPES[matching_type], expected, expected * 2, len(octets)))
        return verdict(errors, warnings, **fields)
    if matching_type == 0 and selector in SELECTORS and HAS_CRYPTOGRAPHY:
        try:
            if selector == 0:
                x509.load_der_x509_certificate(octets)
            else:
                serialization.load_der_public_key(octets)
        except (ValueError, TypeError):
            errors.append("the data is not a DER %s" % ("certificate" if selector == 0 else "SubjectPublicKeyInfo"))
            return verdict(errors, warnings, **fields)
    fields["data"] = data.lower()
    return verdict(errors, warnings, **fields)


def match(tlsa_text, chain_der):
    """True when the TLSA value matches the presented chain (DER certificates, leaf first).

    Usage 3 (DANE-EE) matches the leaf only; its expiry and names do not matter (RFC 7672
    3.1.1). Usage 2 (DANE-TA) matches any certificate of the chain after the leaf. Invalid
    values and usages 0 and 1 (unusable for SMTP) match nothing.
    """
    parsed = parse(tlsa_text)
    if not parsed["valid"] or parsed["usage"] not in SMTP_USAGES:
        return False
    expected = bytes.fromhex(parsed["data"])
    chain = [_certificate_der(certificate) for certificate in chain_der or []]
    candidates = chain[:1] if parsed["usage"] == 3 else chain[1:]
    for der in candidates:
        try:
            data = der if parsed["selector"] == 0 else spki_from_certificate_der(der)
        except ValueError:
            continue
        if _association(data, parsed["matching_type"]) == expected:
            return True
    return False


def matching_records(tlsa_values, chain_der):
    """The values of ``tlsa_values`` that match the presented chain, in their order."""
    chain = [_certificate_der(certificate) for certificate in chain_der or []]
    return [value for value in tlsa_values or [] if match(value, chain)]


def rollover(usable, matched=()):
    """``(status, detail)`` for a key change: a single usable TLSA record leaves no room for one.

    Two schemes make room (RFC 7671 8.1, RFC 7672 3.1): ``current + next`` (a record for the key
    in use and one for the key that replaces it, published at least two TTLs ahead), or
    ``3 1 1 + 2 1 1`` (the server's key and its issuing CA's, so a new key from the same CA still
    matches). ``usable``: the usable records (usages 2 and 3); ``matched``: those the presented
    chain matches. A DANE-TA (2) record counts only when it matches: it needs the server to send
    the CA certificate, and one that matches nothing the server sends will not match after a
    key change either.
    """
    matched_keys = set(_record_key(value) for value in matched)
    distinct, idle_ta = [], []
    for value in usable:
        key = _record_key(value)
        if key in distinct or key in idle_ta:
            continue
        if key[0] == 2 and key not in matched_keys:
            idle_ta.append(key)
        else:
            distinct.append(key)
    idle = ("; %d DANE-TA record(s) match no certificate the server sends, so they give no room: send the CA certificate in the "
            "chain" % len(idle_ta)) if idle_ta else ""
    if len(distinct) >= 2:
        usages = sorted(set(key[0] for key in distinct))
        scheme = "3 x x + 2 x x (the key and its issuing CA)" if usages == [2, 3] else "current + next (%d records)" % len(distinct)
        return "pass", "rollover scheme %s%s" % (scheme, idle)
    return "warn", ("a single usable TLSA record leaves no room for a key change: a new key breaks DANE delivery until its record has "
                    "spread; publish the next key's 3 1 1 record beside it (dane.next_public_key), or a 2 1 1 record of the issuing CA "
                    "that the server sends in its chain%s" % idle)


def _record_key(value):
    parsed = parse(value)
    return (parsed["usage"], parsed["selector"], parsed["matching_type"], parsed["data"])
