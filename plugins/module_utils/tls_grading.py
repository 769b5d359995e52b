# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grade an MX host's STARTTLS against published guidance: protocol versions, cipher suites, key
exchange groups, the certificate's key and signature, the chain sent; and its reachability over
each address family.

Private to the collection: users may rely only on plugins and modules.

The guidance is Mozilla's server-side TLS recommendations, guidelines version 5.7
(https://ssl-config.mozilla.org/guidelines/5.7.json), configuration ``intermediate`` (the
default, what Mozilla recommends for general-purpose servers) or ``modern`` (TLS 1.3 only).
Mail differs from the web in one way that sets the severities: a sender that cannot agree on TLS
with an MX falls back to clear text (RFC 3207, RFC 7435), so an old protocol or cipher the
server *also* offers is a warning, and only what protects nothing (SSL 3, NULL, export, RC4,
single DES, MD5 ciphers) or what leaves no acceptable choice fails.

Everything here is computed once per distinct MX host and port (``grade_host``): several
STARTTLS sessions, each with a client context that offers exactly one protocol version, one set
of cipher suites or one key exchange group. OpenSSL's security level forbids some of them in a
client (TLS 1.0 and 1.1 need ``@SECLEVEL=0``; a build without SSL 3 cannot offer it at all): the
client tries each context locally first, and a version it cannot offer is reported as "not
tested" with that reason, never as refused by the server.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
import warnings

from ansible_collections.mailsec.posture.plugins.module_utils import probes
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised only without the package
    x509 = None
    HAS_CRYPTOGRAPHY = False

# The TLS 1.2 cipher suites of Mozilla's intermediate configuration, 5.7, in OpenSSL's names.
_INTERMEDIATE_TLS12 = frozenset((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
))


class Guidance:
    """One configuration of one published guidance, and what it accepts."""

    def __init__(self, key, title, versions, tls12_ciphers, groups, rsa_bits, ecdsa_curves, signatures):
        self.key = key
        self.title = title
        self.versions = versions
        self.tls12_ciphers = tls12_ciphers
        self.groups = groups
        self.rsa_bits = rsa_bits
        self.ecdsa_curves = ecdsa_curves
        self.signatures = signatures


_MOZILLA = "Mozilla server-side TLS guidelines 5.7"
GUIDANCES = {
    "mozilla-intermediate-5.7": Guidance(
        "mozilla-intermediate-5.7", _MOZILLA + ", intermediate", ("TLSv1.2", "TLSv1.3"), _INTERMEDIATE_TLS12,
        ("X25519", "prime256v1", "secp384r1"), 2048, ("secp256r1", "secp384r1"),
        ("sha256WithRSAEncryption", "ecdsa-with-SHA256", "ecdsa-with-SHA384", "ecdsa-with-SHA512")),
    "mozilla-modern-5.7": Guidance(
        "mozilla-modern-5.7", _MOZILLA + ", modern", ("TLSv1.3",), frozenset(),
        ("X25519", "prime256v1", "secp384r1"), 2048, ("secp256r1", "secp384r1"),
        ("ecdsa-with-SHA256", "ecdsa-with-SHA384", "ecdsa-with-SHA512")),
}
DEFAULT_GUIDANCE = "mozilla-intermediate-5.7"
NO_GRADING = "none"
GUIDANCE_CHOICES = tuple(GUIDANCES) + (NO_GRADING,)

# Protocol versions probed, oldest first: (name, ssl.TLSVersion member name).
VERSIONS = (("SSLv3", "SSLv3"), ("TLSv1", "TLSv1"), ("TLSv1.1", "TLSv1_1"), ("TLSv1.2", "TLSv1_2"), ("TLSv1.3", "TLSv1_3"))
_BROKEN_VERSIONS = ("SSLv3",)
# Cipher suites that protect nothing worth the name: a server that accepts one fails.
_BROKEN_CIPHER_MARKERS = ("NULL", "EXP", "RC4", "MD5")
# At most this many cipher suites outside the guidance are collected (one handshake each).
MAX_CIPHER_ROUNDS = 6
# Signature algorithms whose hash is broken for certificates.
_BROKEN_SIGNATURES = ("md5", "sha1", "md2")


def check_guidance(value):
    """The guidance key for the ``tls_guidance`` option (None: the default)."""
    if value is None:
        return DEFAULT_GUIDANCE
    if value not in GUIDANCE_CHOICES:
        raise SpecError("tls_guidance", "must be one of %s, got %r" % (", ".join(GUIDANCE_CHOICES), value))
    return value


# ---------------------------------------------------------------------------------------------
# Client contexts, one per question


def _base_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # what is graded here is the offer, not the certificate's validity
    return context


def _offers_something(context):
    """``None`` when OpenSSL would send a ClientHello with ``context``, else its reason."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        context.wrap_bio(incoming, outgoing, server_hostname="probe.invalid").do_handshake()
    except ssl.SSLWantReadError:
        return None
    except ssl.SSLError as exc:
        return exc.reason or str(exc)
    return None


@functools.lru_cache(maxsize=None)
def version_context(version):
    """``(context or None, why not)``: a client offering only ``version`` (a VERSIONS name)."""
    member = dict(VERSIONS)[version]
    tls_version = getattr(ssl.TLSVersion, member, None)
    if tls_version is None:
        return None, "this Python's ssl module has no %s" % version
    context = _base_context()
    try:
        # OpenSSL 3 allows SHA-1 handshake signatures (and so TLS 1.0/1.1) only at security level 0.
        context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
        with warnings.catch_warnings():  # Python deprecates naming the old versions; testing for them is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = tls_version
            context.maximum_version = tls_version
    except (ValueError, ssl.SSLError) as exc:
        return None, "this OpenSSL cannot offer %s: %s" % (version, exc)
    reason = _offers_something(context)
    if reason is not None:
        return None, "this OpenSSL (%s) cannot offer %s: %s" % (ssl.OPENSSL_VERSION, version, reason)
    return context, None


@functools.lru_cache(maxsize=1)
def _cipher_names():
    """Every TLS 1.2-and-older cipher suite this OpenSSL can offer at security level 0."""
    context = _base_context()
    context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return [entry["name"] for entry in context.get_ciphers() if entry.get("protocol") != "TLSv1.3"]


def cipher_context(names):
    """A client offering only the TLS 1.2-and-older cipher suites ``names`` (TLS 1.0 to 1.2), or None."""
    context = _base_context()
    try:
        context.set_ciphers(":".join(names) + ":@SECLEVEL=0")
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError):
        return None
    return context if _offers_something(context) is None else None


@functools.lru_cache(maxsize=None)
def group_context(group):
    """A client offering only the key exchange group ``group`` (TLS 1.2 and 1.3), or None."""
    context = _base_context()
    try:
        context.set_ecdh_curve(group)  # OpenSSL 3: the client's supported_groups and key share
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    except (ValueError, ssl.SSLError):
        return None
    return context if _offers_something(context) is None else None


# ---------------------------------------------------------------------------------------------
# The probes of one host


class HostGrade:
    """What the extra handshakes of one MX host found (``grade_host``)."""

    def __init__(self, guidance):
        self.guidance = guidance
        self.versions = {}  # version -> True (accepted), False (refused), None (not tested), with notes
        self.version_notes = {}
        self.weak_ciphers = []  # cipher suites outside the guidance the server accepted
        self.cipher_note = None
        self.groups = {}  # group -> True/False/None
        self.families = {}  # "IPv4"/"IPv6" -> Handshake (the first address of that family)

    def facts(self):
        return {
            "guidance": self.guidance.title,
            "versions": dict(self.versions),
            "weak_ciphers": list(self.weak_ciphers),
            "groups": dict(self.groups),
            "families": {family: {"address": shake.address, "accepted": shake.accepted, "detail": shake.detail}
                         for family, shake in self.families.items()},
        }


def family(address):
    return "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"


async def grade_host(host, addresses, port, probe, guidance_key=DEFAULT_GUIDANCE, timeout=probes.DEFAULT_TIMEOUT, helo_name=None):
    """The HostGrade of one MX host whose main probe (``probe``, an SmtpProbe) made a handshake.

    Versions, groups and the other address family are asked at once; the cipher suites outside
    the guidance one after the other (each round offers what the previous ones did not find).
    ``timeout`` bounds all of it together: what is still unanswered then is "not tested".
    """
    guidance = GUIDANCES[guidance_key]
    grade = HostGrade(guidance)
    address = probe.address if isinstance(probe.address, str) else addresses[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    async def shake(context, at=None):
        return await probes.astarttls_handshake(host, at or address, port, context, max(0.001, deadline - loop.time()), helo_name)

    jobs, keys = [], []
    for version, _member in VERSIONS:
        context, why_not = version_context(version)
        if context is None:
            grade.versions[version] = None
            grade.version_notes[version] = why_not
        else:
            jobs.append(shake(context))
            keys.append(("version", version))
    for group in guidance.groups:
        context = group_context(group)
        if context is None:
            grade.groups[group] = None
        else:
            jobs.append(shake(context))
            keys.append(("group", group))
    probed = family(address)
    for other in addresses:
        if family(other) != probed and family(other) not in [key for kind, key in keys if kind == "family"]:
            jobs.append(shake(probes.capturing_context(), other))
            keys.append(("family", family(other)))
    for (kind, key), outcome in zip(keys, await asyncio.gather(*jobs)):
        if kind == "version":
            grade.versions[key] = outcome.accepted
            if outcome.accepted is None:
                grade.version_notes[key] = "not tested: %s" % outcome.detail
        elif kind == "group":
            grade.groups[key] = outcome.accepted
        else:
            grade.families[key] = outcome
    grade.families.setdefault(probed, _main_handshake(probe))

    candidates = [name for name in _cipher_names() if name not in guidance.tls12_ciphers]
    for _round in range(MAX_CIPHER_ROUNDS):
        context = cipher_context(candidates)
        if loop.time() >= deadline:
            grade.cipher_note = "not tested to the end: the timeout of %s s ran out" % timeout
            break
        if context is None:
            break
        outcome = await shake(context)
        if not outcome.accepted or outcome.cipher not in candidates:
            if outcome.accepted is None:
                grade.cipher_note = "not tested to the end: %s" % outcome.detail
            break
        grade.weak_ciphers.append(outcome.cipher)
        candidates.remove(outcome.cipher)
    else:
        grade.cipher_note = "stopped after %d" % MAX_CIPHER_ROUNDS
    return grade


def _main_handshake(probe):
    shake = probes.Handshake(probe.address)
    shake.accepted = probe.handshake
    shake.tls_version = probe.tls_version
    shake.cipher = probe.cipher
    shake.detail = probe.detail
    return shake


# ---------------------------------------------------------------------------------------------
# Checks (``result``: a checks.DomainChecks; ``subject``: the MX host)


def check_host(result, subject, grade, probe):
    """tls.versions, tls.ciphers, tls.groups, tls.certificate_key, tls.chain and smtp.ipv6 of one MX host."""
    _check_versions(result, subject, grade)
    _check_ciphers(result, subject, grade, probe)
    _check_groups(result, subject, grade)
    check_certificate(result, subject, grade.guidance, probe)
    _check_families(result, subject, grade)


def _check_versions(result, subject, grade):
    guidance = grade.guidance
    accepted = [version for version, _member in VERSIONS if grade.versions.get(version)]
    untested = ["%s (%s)" % (version, grade.version_notes.get(version, "not tested")) for version, _member in VERSIONS
                if grade.versions.get(version) is None]
    note = "; not tested: %s" % "; ".join(untested) if untested else ""
    broken = [version for version in accepted if version in _BROKEN_VERSIONS]
    good = [version for version in accepted if version in guidance.versions]
    old = [version for version in accepted if version not in guidance.versions and version not in _BROKEN_VERSIONS]
    listed = "accepts %s" % (", ".join(accepted) or "none of the versions tested")
    if broken:
        return result.failed("tls.versions", "%s: %s is broken (RFC 7568); disable it%s" % (listed, ", ".join(broken), note), subject)
    if not good:
        return result.failed("tls.versions", "%s: none of %s (%s), so senders that follow it cannot use TLS%s"
                             % (listed, ", ".join(guidance.versions), guidance.title, note), subject)
    if old:
        return result.warned("tls.versions", "%s: %s outside %s (RFC 8996 deprecates TLS 1.0 and 1.1); disable them%s"
                             % (listed, ", ".join(old), guidance.title, note), subject)
    return result.passed("tls.versions", "%s, as %s recommends%s" % (listed, guidance.title, note), subject)


def _check_ciphers(result, subject, grade, probe):
    guidance = grade.guidance
    weak = grade.weak_ciphers
    note = " (%s)" % grade.cipher_note if grade.cipher_note else ""
    negotiated = "negotiated %s with %s" % (probe.cipher, probe.tls_version)
    broken = [name for name in weak if any(marker in name for marker in _BROKEN_CIPHER_MARKERS) or _single_des(name)]
    if broken:
        return result.failed("tls.ciphers", "%s; accepts %s, which protect nothing; accepts outside %s: %s%s"
                             % (negotiated, ", ".join(broken), guidance.title, ", ".join(weak), note), subject)
    if weak:
        forward = [name for name in weak if not _forward_secret(name)]
        secrecy = "; without forward secrecy: %s" % ", ".join(forward) if forward else ""
        return result.warned("tls.ciphers", "%s; accepts cipher suites outside %s: %s%s%s"
                             % (negotiated, guidance.title, ", ".join(weak), secrecy, note), subject)
    return result.passed("tls.ciphers", "%s; no TLS 1.2 (or older) cipher suite outside %s accepted%s" % (negotiated, guidance.title, note),
                         subject)


def _single_des(name):
    return "DES-CBC-" in name or name.endswith("-DES-CBC-SHA") or name == "DES-CBC-SHA"


def _forward_secret(name):
    return name.startswith(("ECDHE-", "DHE-", "EDH-", "AECDH-", "ADH-")) or name.startswith("TLS_")


def _check_groups(result, subject, grade):
    guidance = grade.guidance
    accepted = [group for group in guidance.groups if grade.groups.get(group)]
    untested = [group for group in guidance.groups if grade.groups.get(group) is None]
    note = "; this OpenSSL cannot offer %s" % ", ".join(untested) if untested else ""
    if accepted:
        return result.passed("tls.groups", "accepts key exchange with %s (%s: %s)%s"
                             % (", ".join(accepted), guidance.title, ", ".join(guidance.groups), note), subject)
    return result.warned("tls.groups", "accepts none of the key exchange groups of %s (%s)%s: configure X25519 and prime256v1"
                         % (guidance.title, ", ".join(guidance.groups), note), subject)


def _check_families(result, subject, grade):
    """smtp.address_family: one check per address family the MX host has (IPv4, IPv6)."""
    for name in ("IPv4", "IPv6"):
        shake = grade.families.get(name)
        if shake is None:
            continue
        if shake.accepted:
            result.passed("smtp.address_family", "%s: STARTTLS at %s" % (name, shake.address), subject)
        else:
            result.failed("smtp.address_family", "%s: the MX has an %s record, but STARTTLS at %s failed: %s"
                          % (name, "AAAA" if name == "IPv6" else "A", shake.address, shake.detail), subject)


def check_certificate(result, subject, guidance, probe):
    """tls.certificate_key (the leaf's key size and signature) and tls.chain (the chain sent) of one MX host."""
    chain = probe.chain_der
    if not chain or not HAS_CRYPTOGRAPHY:
        return
    try:
        certificates = [x509.load_der_x509_certificate(bytes(der)) for der in chain]
    except ValueError as exc:
        result.failed("tls.certificate_key", "the certificate cannot be read: %s" % exc, subject)
        return
    _check_key(result, subject, guidance, certificates[0])
    _check_chain(result, subject, certificates, probe)


def _check_key(result, subject, guidance, leaf):
    key = leaf.public_key()
    problems, notes = [], []
    if isinstance(key, rsa.RSAPublicKey):
        kind = "RSA %d bits" % key.key_size
        if key.key_size < guidance.rsa_bits:
            problems.append("an RSA key under %d bits can be broken; %s asks for %d" % (guidance.rsa_bits, guidance.title, guidance.rsa_bits))
    elif isinstance(key, ec.EllipticCurvePublicKey):
        kind = "ECDSA %s" % key.curve.name
        if key.curve.name not in guidance.ecdsa_curves:
            notes.append("curve %s is outside %s (%s)" % (key.curve.name, guidance.title, ", ".join(guidance.ecdsa_curves)))
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        kind = "EdDSA"
        notes.append("few senders accept EdDSA certificates; %s uses RSA or ECDSA" % guidance.title)
    elif isinstance(key, dsa.DSAPublicKey):
        kind = "DSA %d bits" % key.key_size
        problems.append("DSA certificates are obsolete; use RSA (2048 bits or more) or ECDSA")
    else:
        kind = type(key).__name__
        notes.append("unknown key type")
    signature = leaf.signature_algorithm_oid._name  # pylint: disable=protected-access
    self_signed = leaf.issuer == leaf.subject
    if not self_signed:
        if any(marker in signature.lower() for marker in _BROKEN_SIGNATURES):
            problems.append("signed with %s, a broken hash" % signature)
        elif signature not in guidance.signatures:
            notes.append("signature %s is outside %s" % (signature, guidance.title))
    detail = "%s, signature %s%s" % (kind, signature, " (self-signed: only DANE-EE senders can trust it)" if self_signed else "")
    if problems:
        return result.failed("tls.certificate_key", "%s: %s" % (detail, "; ".join(problems + notes)), subject)
    if notes:
        return result.warned("tls.certificate_key", "%s: %s" % (detail, "; ".join(notes)), subject)
    return result.passed("tls.certificate_key", detail, subject)


def _check_chain(result, subject, certificates, probe):
    """Each certificate sent must be issued by the next one; the last must be self-signed, or
    issued by a CA the verifier trusts (shown by a verified handshake)."""
    names = [certificate.subject.rfc4514_string() for certificate in certificates]
    for index in range(len(certificates) - 1):
        if certificates[index].issuer != certificates[index + 1].subject:
            return result.warned("tls.chain", "the chain sent is out of order or holds a stranger: %s is issued by %s, but the next "
                                 "certificate is %s" % (names[index], certificates[index].issuer.rfc4514_string(), names[index + 1]),
                                 subject)
    last = certificates[-1]
    if last.issuer == last.subject:
        if len(certificates) == 1:
            return result.passed("tls.chain", "one self-signed certificate (DANE-EE only)", subject)
        return result.passed("tls.chain", "%d certificates up to the root %s" % (len(certificates), names[-1]), subject)
    if probe.verified or (probe.verified is False and probe.verify_reason in (probes.NAME_MISMATCH, probes.EXPIRED, probes.NOT_YET_VALID)):
        # A name or date failure means OpenSSL did build the chain to a trusted CA.
        return result.passed("tls.chain", "%d certificate(s), the last issued by %s, which the verifier trusts"
                             % (len(certificates), last.issuer.rfc4514_string()), subject)
    detail = ("%d certificate(s) sent; the last, %s, is issued by %s, which was not sent and is not trusted here: send the intermediate "
              "certificates (the full chain file)" % (len(certificates), names[-1], last.issuer.rfc4514_string()))
    return result.warned("tls.chain", detail, subject)


def check_banner(result, subject, probe, reverse_names=()):
    """smtp.banner: the name in the 220 greeting and in the EHLO reply against the MX name (or
    the address's forward-confirmed PTR names)."""
    banner_name = _greeting_name(probe.banner)
    ehlo_name = (probe.ehlo_name or "").rstrip(".").lower() or None
    known = [subject] + [name for name in reverse_names if name != subject]
    said = "greets as %s, EHLO as %s" % (banner_name or "(no name)", ehlo_name or "(no name)")
    strangers = [name for name in (banner_name, ehlo_name) if name not in known]
    if not strangers:
        return result.passed("smtp.banner", "%s: the MX name%s" % (said, " or its reverse DNS name" if len(known) > 1 else ""), subject)
    names = ", ".join(sorted(set(name or "(no name)" for name in strangers)))
    return result.warned("smtp.banner", "%s: %s is neither the MX name %s nor a forward-confirmed reverse DNS name of its address; set "
                         "the server's host name (postfix: myhostname) to the MX name" % (said, names, subject), subject)


def _greeting_name(banner):
    if not banner:
        return None
    parts = banner.split()
    return parts[1].rstrip(".").lower() if len(parts) > 1 else None
