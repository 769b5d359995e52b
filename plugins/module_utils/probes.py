# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Network probes: the MTA-STS policy over HTTPS (RFC 8461 3.3) and SMTP STARTTLS (RFC 3207).

Private to the collection: users may rely only on plugins and modules.

Both probes connect to an address the caller resolved (through the nameservers it was given,
never the system resolver) and use the host name only for SNI, the certificate check and the
``Host`` header. One deadline bounds each probe as a whole: connect, TLS handshake, every read
and write get the time that is left, so a server that trickles its answer one octet a second
cannot hold a probe past its timeout.

Neither probe raises on a network or protocol failure: each returns a result whose ``error`` is
one of the kinds below (None on success) with a ``detail`` a person can act on.

Certificates are verified by OpenSSL during the handshake (the system store plus ``ca_path``),
never by this module's own code. When that verification fails, the probe makes a second
connection with verification off, only to read the certificate it would have had to accept, so
the failure can say what was presented (its names, its expiry) and DANE can be checked against
the presented chain. A result is never "verified" unless OpenSSL verified it.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import http.client
import io
import os
import re
import socket
import ssl
import time

from ansible_collections.mailsec.posture.plugins.module_utils import dane, mta_sts

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised only without the package
    x509 = None
    NameOID = None
    HAS_CRYPTOGRAPHY = False

DEFAULT_TIMEOUT = 10.0
MAX_POLICY_BYTES = 65536  # RFC 8461 3.3: senders may refuse a policy larger than 64 KiB
POLICY_CONTENT_TYPE = "text/plain"
USER_AGENT = "mailsec.posture (MTA-STS policy check)"
# RFC 5321 4.5.3.1.5 limits a reply line to 512 octets; allow more, but never unbounded.
MAX_SMTP_LINE = 4096
MAX_SMTP_REPLY_LINES = 100

# Error kinds (``result.error``).
DNS = "dns"  # no address to connect to
CONNECT = "connect"  # refused, unreachable, reset before anything was said
TIMEOUT = "timeout"  # the deadline passed
TLS = "tls"  # the handshake failed for a reason other than certificate verification
TLS_VERIFY = "tls-verify"  # the certificate chain or name did not verify (see ``verify_reason``)
HTTP = "http"  # not a well-formed HTTP answer
HTTP_STATUS = "http-status"  # an HTTP status other than 200 (and not a redirect)
REDIRECT = "redirect"  # a 3xx status: RFC 8461 3.3 forbids following it
CONTENT_TYPE = "content-type"  # not text/plain (a warning kind: the body is still read)
TOO_LARGE = "too-large"  # the body is over ``max_bytes``
SMTP = "smtp"  # no 220 greeting, EHLO refused, or a malformed reply
NO_STARTTLS = "no-starttls"  # EHLO does not advertise STARTTLS
STARTTLS_REFUSED = "starttls-refused"  # STARTTLS answered with something other than 220
PROTOCOL = "protocol"  # a warning kind: the server broke the protocol in a way we could step over

# Why a certificate did not verify (``result.verify_reason``).
NAME_MISMATCH = "name-mismatch"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
UNTRUSTED = "untrusted"
OTHER = "invalid"

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) and what they mean for a person.
_VERIFY_CODES = {
    2: UNTRUSTED,  # unable to get issuer certificate
    9: NOT_YET_VALID,
    10: EXPIRED,
    18: UNTRUSTED,  # self-signed certificate
    19: UNTRUSTED,  # self-signed certificate in chain
    20: UNTRUSTED,  # unable to get local issuer certificate
    21: UNTRUSTED,  # unable to verify the first certificate
    24: UNTRUSTED,  # invalid CA certificate
    27: UNTRUSTED,  # certificate not trusted
    62: NAME_MISMATCH,  # hostname mismatch
    64: NAME_MISMATCH,  # IP address mismatch
}


class _ProbeFailure(Exception):
    """Internal: ends a probe with an error kind and a detail."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Deadline:
    """A point in time; ``remaining()`` is the time left, or a timeout failure when none is."""

    def __init__(self, seconds, what):
        self.seconds = float(seconds)
        self.start = time.monotonic()
        self.end = self.start + self.seconds
        self.what = what

    def remaining(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.failure()
        return left

    def failure(self):
        return _ProbeFailure(TIMEOUT, "%s: no complete answer within %s s" % (self.what, _seconds(self.seconds)))

    def recv(self, sock, receive, *args):
        """``receive(*args)`` on ``sock`` with the time left as its timeout; running out is a timeout failure."""
        sock.settimeout(self.remaining())
        try:
            return receive(*args)
        except socket.timeout:
            raise self.failure()

    def elapsed(self):
        return time.monotonic() - self.start


def _seconds(value):
    return ("%.3f" % value).rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# TLS contexts


@functools.lru_cache(maxsize=16)
def verifying_context(ca_path=None):
    """A client context that verifies chains and names against the system store plus ``ca_path``.

    ``ca_path`` is a PEM bundle or an OpenSSL hashed directory; it adds to the system store (a
    fleet may mix a private CA with public ones). Contexts are cached: loading the system store
    costs milliseconds, and a context may serve many threads at once.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_path:
        if os.path.isdir(ca_path):
            context.load_verify_locations(capath=ca_path)
        else:
            context.load_verify_locations(cafile=ca_path)
    return context


@functools.lru_cache(maxsize=1)
def capturing_context():
    """A client context that verifies nothing: used only to read a certificate that failed verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def check_ca_path(ca_path):
    """An error message when ``ca_path`` cannot be used as a CA bundle or directory, else None."""
    if not ca_path:
        return None
    if not os.path.exists(ca_path):
        return "ca_path %s does not exist" % ca_path
    try:
        verifying_context(ca_path)
    except (ssl.SSLError, OSError) as exc:
        return "ca_path %s holds no usable CA certificates: %s" % (ca_path, exc)
    return None


def verify_reason(exc):
    """The kind of certificate failure behind an ``ssl.SSLCertVerificationError``."""
    code = getattr(exc, "verify_code", None)
    if code in _VERIFY_CODES:
        return _VERIFY_CODES[code]
    message = (getattr(exc, "verify_message", None) or str(exc)).lower()
    if "mismatch" in message:
        return NAME_MISMATCH
    if "expired" in message:
        return EXPIRED
    if "not yet valid" in message:
        return NOT_YET_VALID
    if "issuer" in message or "self-signed" in message or "self signed" in message:
        return UNTRUSTED
    return OTHER


def _verify_message(exc):
    return getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)


def presented_chain(tls_socket):
    """The certificates the server sent, leaf first, as DER.

    Python 3.13 has ``get_unverified_chain()``; 3.10 to 3.12 have it on the private SSL object.
    Older versions give the leaf only (DANE-EE needs no more; DANE-TA matching then finds nothing).
    """
    getter = getattr(tls_socket, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(tls_socket, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter() or []
            return [_certificate_bytes(certificate) for certificate in chain]
        except (ssl.SSLError, ValueError, AttributeError):
            pass
    leaf = tls_socket.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _certificate_bytes(certificate):
    if isinstance(certificate, bytes):
        return certificate
    return certificate.public_bytes(ssl._ssl.ENCODING_DER)  # pylint: disable=protected-access


# ---------------------------------------------------------------------------------------------
# Certificate facts


def _utc(moment):
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _iso(moment):
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_between(now, moment):
    """Whole days from ``now`` to ``moment``, rounded down (negative once ``moment`` has passed)."""
    return int((_utc(moment) - _utc(now)).total_seconds() // 86400)


def certificate_facts(der, now=None):
    """What a person needs to know about a DER certificate, or None when it cannot be read.

    ``{subject, issuer, common_names, dns_names, ip_addresses, not_before, not_after,
    days_to_expiry, self_signed, serial, spki_sha256}``; times in ISO 8601 UTC.
    """
    if not der or not HAS_CRYPTOGRAPHY:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        certificate = x509.load_der_x509_certificate(bytes(der))
    except ValueError:
        return None
    try:
        alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = list(alternative.get_values_for_type(x509.DNSName))
        ip_addresses = [str(address) for address in alternative.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns_names, ip_addresses = [], []
    except ValueError:  # a malformed extension is the server's problem, not a reason to crash
        dns_names, ip_addresses = [], []
    not_before = getattr(certificate, "not_valid_before_utc", None) or certificate.not_valid_before
    not_after = getattr(certificate, "not_valid_after_utc", None) or certificate.not_valid_after
    try:
        spki = hashlib.sha256(dane.spki_from_certificate_der(der)).hexdigest()
    except ValueError:
        spki = None
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "common_names": [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)],
        "dns_names": dns_names,
        "ip_addresses": ip_addresses,
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_to_expiry": days_between(now, not_after),
        "self_signed": certificate.subject == certificate.issuer,
        "serial": "%x" % certificate.serial_number,
        "spki_sha256": spki,
    }


def _facts_from_peercert(peercert, now=None):
    """Fallback facts from ``getpeercert()`` (available only after a verified handshake)."""
    if not peercert:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    not_after = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(peercert["notAfter"]), datetime.timezone.utc)
    not_before = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(peercert["notBefore"]), datetime.timezone.utc)
    alternative = peercert.get("subjectAltName", ())
    return {
        "subject": ", ".join("%s=%s" % pair for entry in peercert.get("subject", ()) for pair in entry),
        "issuer": ", ".join("%s=%s" % pair for entry in peercert.get("issuer", ()) for pair in entry),
        "common_names": [value for entry in peercert.get("subject", ()) for key, value in entry if key == "commonName"],
        "dns_names": [value for key, value in alternative if key == "DNS"],
        "ip_addresses": [value for key, value in alternative if key == "IP Address"],
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_to_expiry": days_between(now, not_after),
        "self_signed": peercert.get("subject") == peercert.get("issuer"),
        "serial": peercert.get("serialNumber", "").lower(),
        "spki_sha256": None,
    }


def _leaf_facts(tls_socket, chain):
    facts = certificate_facts(chain[0]) if chain else None
    if facts is None:
        try:
            facts = _facts_from_peercert(tls_socket.getpeercert())
        except (ValueError, KeyError):
            facts = None
    return facts


def name_matches(host, facts):
    """True when ``host`` is one of the certificate's DNS names (a wildcard covers one left-most label).

    For explaining a failure only: the verdict on a certificate is always OpenSSL's.
    """
    if not facts:
        return False
    names = facts.get("dns_names") or facts.get("common_names") or []
    return mta_sts.matching_pattern(host, names) is not None


def describe_certificate(facts):
    """``"for a.example, b.example; issued by CN=...; expires 2026-09-01T00:00:00Z (in 90 days)"``."""
    if not facts:
        return "certificate not readable"
    names = facts.get("dns_names") or facts.get("common_names") or ["no names"]
    days = facts["days_to_expiry"]
    when = "expired %d day(s) ago" % -days if days < 0 else "in %d day(s)" % days
    return "for %s; issued by %s; expires %s (%s)" % (", ".join(names), facts.get("issuer") or "?", facts["not_after"], when)


def _verify_detail(host, reason, message, facts):
    lead = {
        NAME_MISMATCH: "the certificate is not valid for %s" % host,
        EXPIRED: "the certificate has expired",
        NOT_YET_VALID: "the certificate is not valid yet",
        UNTRUSTED: "the certificate chain does not lead to a trusted CA",
    }.get(reason, "the certificate did not verify")
    return "%s (%s); presented certificate: %s" % (lead, message, describe_certificate(facts))


# ---------------------------------------------------------------------------------------------
# Connections under a deadline


def _addresses(address):
    if not address:
        return []
    if isinstance(address, (list, tuple)):
        return [str(item) for item in address if item]
    return [str(address)]


def _connect(addresses, port, deadline, what):
    """A TCP connection to the first of ``addresses`` that accepts; ``(socket, address)``."""
    if not addresses:
        raise _ProbeFailure(DNS, "%s: no address to connect to" % what)
    failures = []
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=deadline.remaining())
            return sock, address
        except _ProbeFailure:
            raise
        except socket.timeout:
            raise _ProbeFailure(TIMEOUT, "%s: connecting to %s port %d timed out after %s s" % (what, address, port, _seconds(deadline.seconds)))
        except OSError as exc:
            failures.append("%s port %d: %s" % (address, port, exc.strerror or exc))
    raise _ProbeFailure(CONNECT, "%s: cannot connect to %s" % (what, "; ".join(failures)))


def _handshake(sock, context, host, deadline, what):
    """TLS over ``sock``: the handshake as a whole gets the time left (CPython bounds it in total)."""
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        tls.settimeout(deadline.remaining())
        tls.do_handshake()
        return tls
    except BaseException:
        tls.close()
        raise


def _tls_failure(exc, deadline, what):
    if isinstance(exc, _ProbeFailure):
        return exc
    if isinstance(exc, socket.timeout) or deadline.end <= time.monotonic():
        return _ProbeFailure(TIMEOUT, "%s: the TLS handshake did not finish within %s s" % (what, _seconds(deadline.seconds)))
    if isinstance(exc, ssl.SSLError):
        return _ProbeFailure(TLS, "%s: TLS handshake failed: %s" % (what, exc.reason or exc))
    return _ProbeFailure(TLS, "%s: the connection failed during the TLS handshake: %s" % (what, exc))


class _DeadlineStream(io.RawIOBase):
    """A raw stream over a socket whose every read gets only the time left before the deadline."""

    def __init__(self, sock, deadline):
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._deadline.recv(self._sock, self._sock.recv_into, buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs from a socket: ``makefile`` over a deadline stream."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode="rb", buffering=-1):  # pylint: disable=unused-argument
        return io.BufferedReader(_DeadlineStream(self._sock, self._deadline))


# ---------------------------------------------------------------------------------------------
# The MTA-STS policy over HTTPS


def media_type(content_type):
    """The media type of a Content-Type value, lower case without parameters (``text/plain``)."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


class PolicyFetch:
    """The outcome of one policy fetch.

    ``ok`` is True when a policy body was received by RFC 8461's rules (verified certificate,
    status 200, not redirected, at most ``max_bytes``); ``warnings`` may still hold a
    ``content-type`` complaint. ``timing`` holds seconds from the start: ``connect``, ``tls``,
    ``headers``, ``total``.
    """

    def __init__(self, host, address, port, path):
        self.host = host
        self.port = port
        self.path = path
        self.address = address
        self.addresses = _addresses(address)
        self.url = "https://%s%s%s" % (host, "" if port == 443 else ":%d" % port, path)
        self.status = None
        self.reason = None
        self.headers = {}
        self.content_type = None
        self.location = None
        self.body = None
        self.error = None
        self.detail = None
        self.verify_reason = None
        self.warnings = []
        self.certificate = None
        self.tls_version = None
        self.timing = {}

    @property
    def ok(self):
        return self.error is None and self.body is not None

    def fail(self, kind, detail):
        self.error = kind
        self.detail = detail
        return self

    def warn(self, kind, detail):
        self.warnings.append({"kind": kind, "detail": detail})

    def as_dict(self, body=False):
        result = {
            "url": self.url,
            "host": self.host,
            "address": self.address if isinstance(self.address, str) else None,
            "port": self.port,
            "ok": self.ok,
            "status": self.status,
            "reason": self.reason,
            "content_type": self.content_type,
            "location": self.location,
            "size": None if self.body is None else len(self.body),
            "error": self.error,
            "detail": self.detail,
            "verify_reason": self.verify_reason,
            "warnings": list(self.warnings),
            "certificate": self.certificate,
            "tls_version": self.tls_version,
            "timing": dict(self.timing),
        }
        if body:
            result["body"] = None if self.body is None else self.body.decode("utf-8", "replace")
        return result


def _request_bytes(host, port, path):
    authority = host if port == 443 else "%s:%d" % (host, port)
    lines = [
        "GET %s HTTP/1.1" % path,
        "Host: %s" % authority,
        "User-Agent: %s" % USER_AGENT,
        "Accept: text/plain",
        "Accept-Encoding: identity",
        "Cache-Control: no-cache",  # RFC 8461 3.3: HTTP caching must not be used
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def fetch_policy(host, address, port=443, timeout=DEFAULT_TIMEOUT, ca_path=None, max_bytes=MAX_POLICY_BYTES, path=mta_sts.POLICY_PATH):
    """GET ``https://<host>/.well-known/mta-sts.txt`` from ``address`` by RFC 8461 3.3's rules.

    ``address`` is an IP address (or a list, tried in order while connections are refused) that
    the caller resolved; ``host`` (``mta-sts.<domain>``) is used for SNI, the certificate check and
    ``Host``. The certificate must verify against the system store plus ``ca_path``; only status
    200 is a policy; a 3xx is a ``redirect`` failure naming its Location, never followed; a
    Content-Type other than ``text/plain`` (parameters such as charset allowed) is a warning; a
    body over ``max_bytes`` is ``too-large`` (at most ``max_bytes + 1`` octets are read).
    ``timeout`` bounds the whole fetch. Returns a PolicyFetch; never raises on network failure.
    """
    result = PolicyFetch(host, address, port, path)
    deadline = Deadline(timeout, result.url)
    raw = tls = None
    try:
        raw, result.address = _connect(result.addresses, port, deadline, result.url)
        result.timing["connect"] = round(deadline.elapsed(), 4)
        try:
            tls = _handshake(raw, verifying_context(ca_path), host, deadline, result.url)
        except ssl.SSLCertVerificationError as exc:
            result.verify_reason = verify_reason(exc)
            result.certificate = _capture_https_certificate(result, deadline)
            raise _ProbeFailure(TLS_VERIFY, "%s: %s" % (result.url, _verify_detail(host, result.verify_reason, _verify_message(exc), result.certificate)))
        except (OSError, ssl.SSLError) as exc:
            raise _tls_failure(exc, deadline, result.url)
        result.timing["tls"] = round(deadline.elapsed(), 4)
        result.tls_version = tls.version()
        result.certificate = _leaf_facts(tls, presented_chain(tls)[:1])
        _exchange(result, tls, deadline, max_bytes)
    except _ProbeFailure as failure:
        result.fail(failure.kind, failure.detail)
    except socket.timeout:
        result.fail(TIMEOUT, "%s: no complete answer within %s s" % (result.url, _seconds(timeout)))
    except (OSError, ssl.SSLError) as exc:
        if deadline.end <= time.monotonic():
            result.fail(TIMEOUT, "%s: no complete answer within %s s" % (result.url, _seconds(timeout)))
        else:
            result.fail(CONNECT, "%s: the connection failed: %s" % (result.url, exc))
    finally:
        for sock in (tls, raw):
            if sock is not None:
                sock.close()
        result.timing["total"] = round(deadline.elapsed(), 4)
    return result


def _capture_https_certificate(result, deadline):
    """The leaf's facts from a second, unverified handshake (to explain a failed verification)."""
    try:
        sock, _address = _connect([result.address], result.port, deadline, result.url)
    except _ProbeFailure:
        return None
    try:
        tls = _handshake(sock, capturing_context(), result.host, deadline, result.url)
    except (_ProbeFailure, OSError, ssl.SSLError):
        sock.close()
        return None
    try:
        return _leaf_facts(tls, presented_chain(tls)[:1])
    finally:
        tls.close()


def _exchange(result, tls, deadline, max_bytes):
    tls.settimeout(deadline.remaining())
    tls.sendall(_request_bytes(result.host, result.port, result.path))
    response = http.client.HTTPResponse(_DeadlineSocket(tls, deadline), method="GET")
    try:
        response.begin()
    except http.client.HTTPException as exc:
        raise _ProbeFailure(HTTP, "%s: not a valid HTTP response: %s" % (result.url, type(exc).__name__ if not str(exc) else exc))
    result.timing["headers"] = round(deadline.elapsed(), 4)
    result.status = response.status
    result.reason = response.reason
    result.headers = {}
    for name, value in response.getheaders():
        key = name.lower()
        result.headers[key] = "%s, %s" % (result.headers[key], value) if key in result.headers else value
    result.content_type = result.headers.get("content-type")
    if 300 <= response.status < 400:
        result.location = result.headers.get("location")
        raise _ProbeFailure(
            REDIRECT,
            "%s: HTTP %d redirect to %s; RFC 8461 3.3 forbids following redirects, so senders see no policy"
            % (result.url, response.status, result.location or "(no Location header)"),
        )
    if response.status != 200:
        raise _ProbeFailure(
            HTTP_STATUS, "%s: HTTP %d %s; senders accept only 200 (RFC 8461 3.3)" % (result.url, response.status, response.reason or "")
        )
    declared = result.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes:
        raise _ProbeFailure(TOO_LARGE, "%s: the policy is %s octets; senders may refuse more than %d" % (result.url, declared.strip(), max_bytes))
    try:
        body = response.read(max_bytes + 1)
    except http.client.IncompleteRead as exc:
        raise _ProbeFailure(HTTP, "%s: the body ended after %d octets, before its declared length" % (result.url, len(exc.partial)))
    except http.client.HTTPException as exc:
        raise _ProbeFailure(HTTP, "%s: the body is not valid HTTP: %s" % (result.url, exc))
    if response.length and len(body) <= max_bytes:
        # read(amt) returns what came before the end of the stream without complaint.
        raise _ProbeFailure(HTTP, "%s: the body ended after %d octets, before its declared length" % (result.url, len(body)))
    if len(body) > max_bytes:
        raise _ProbeFailure(TOO_LARGE, "%s: the policy is over %d octets; senders may refuse it (RFC 8461 3.3)" % (result.url, max_bytes))
    result.body = body
    kind = media_type(result.content_type)
    if kind != POLICY_CONTENT_TYPE:
        result.warn(
            CONTENT_TYPE,
            "%s: Content-Type is %s; RFC 8461 3.3 serves the policy as text/plain and strict senders ignore anything else"
            % (result.url, result.content_type or "missing"),
        )


# ---------------------------------------------------------------------------------------------
# SMTP STARTTLS


class SmtpProbe:
    """The outcome of one SMTP STARTTLS probe.

    ``verified`` is True only when OpenSSL accepted the chain and the MX name; False when it
    rejected them (``verify_reason``, ``verify_detail``); None when no handshake was made.
    ``chain_der`` holds the presented certificates (leaf first) for DANE, also when verification
    failed. ``error`` is set when the STARTTLS handshake itself could not be made.
    """

    def __init__(self, host, address, port):
        self.host = host
        self.address = address
        self.addresses = _addresses(address)
        self.port = port
        self.banner = None
        self.ehlo_keywords = []
        self.starttls = None
        self.tls_version = None
        self.cipher = None
        self.verified = None
        self.verify_reason = None
        self.verify_detail = None
        self.certificate = None
        self.chain_der = []
        self.error = None
        self.detail = None
        self.warnings = []
        self.timing = {}

    @property
    def handshake(self):
        """True when a TLS handshake completed (verified or captured)."""
        return bool(self.chain_der) or self.tls_version is not None

    def fail(self, kind, detail):
        self.error = kind
        self.detail = detail
        return self

    def as_dict(self):
        return {
            "host": self.host,
            "address": self.address if isinstance(self.address, str) else None,
            "port": self.port,
            "banner": self.banner,
            "ehlo_keywords": list(self.ehlo_keywords),
            "starttls": self.starttls,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "verified": self.verified,
            "verify_reason": self.verify_reason,
            "verify_detail": self.verify_detail,
            "certificate": self.certificate,
            "chain_length": len(self.chain_der),
            "error": self.error,
            "detail": self.detail,
            "warnings": list(self.warnings),
            "timing": dict(self.timing),
        }


# A reply line: the code, then "-" (more lines follow), or " " and text, or nothing (the last line).
_REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])(?:([ -])(.*))?$")


class SmtpReader:
    """Reads SMTP replies from a socket, every read bounded by the deadline."""

    def __init__(self, sock, deadline, what):
        self._sock = sock
        self._deadline = deadline
        self._what = what
        self.buffer = b""

    def _line(self):
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_SMTP_LINE:
                raise _ProbeFailure(SMTP, "%s: a reply line is longer than %d octets" % (self._what, MAX_SMTP_LINE))
            data = self._deadline.recv(self._sock, self._sock.recv, 4096)
            if not data:
                raise _ProbeFailure(SMTP, "%s: the server closed the connection" % self._what)
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > MAX_SMTP_LINE:
            raise _ProbeFailure(SMTP, "%s: a reply line is longer than %d octets" % (self._what, MAX_SMTP_LINE))
        return line.rstrip(b"\r")

    def reply(self):
        """``(code, [text lines])`` of one (possibly multi-line) reply."""
        return parse_reply_lines(self._line, self._what)


def parse_reply_lines(next_line, what="SMTP"):
    """One SMTP reply (RFC 5321 4.2) from ``next_line()`` calls: ``(code, [texts])``.

    Every line must be ``code`` then ``-`` (more follow) or space (last) or end of line, with
    the same code throughout; anything else is a protocol failure.
    """
    code = None
    texts = []
    while True:
        line = next_line()
        found = _REPLY_LINE.match(line)
        if not found:
            raise _ProbeFailure(SMTP, "%s: not an SMTP reply line: %r" % (what, line[:80]))
        if code is not None and int(found.group(1)) != code:
            raise _ProbeFailure(SMTP, "%s: a multi-line reply changed its code from %d to %s" % (what, code, found.group(1).decode()))
        code = int(found.group(1))
        texts.append((found.group(3) or b"").decode("utf-8", "replace"))
        if found.group(2) != b"-":
            return code, texts
        if len(texts) >= MAX_SMTP_REPLY_LINES:
            raise _ProbeFailure(SMTP, "%s: a reply has more than %d lines" % (what, MAX_SMTP_REPLY_LINES))


def ehlo_keywords(texts):
    """The extension keywords of an EHLO reply's text lines (upper case; the first line is the greeting)."""
    keywords = []
    for text in texts[1:]:
        word = text.strip().split(" ", 1)[0].upper()
        if word and word not in keywords:
            keywords.append(word)
    return keywords


def default_helo_name(sock=None):
    """The name to greet with: this host's FQDN, else the address literal of the local end (RFC 5321 4.1.3)."""
    name = socket.getfqdn()
    if "." in name and not name.endswith(".localdomain") and name != "localhost.localdomain":
        return name
    if sock is not None:
        local = sock.getsockname()[0]
        return "[IPv6:%s]" % local if ":" in local else "[%s]" % local
    return "[127.0.0.1]"


def _send(sock, deadline, line):
    sock.settimeout(deadline.remaining())
    sock.sendall(line.encode("ascii") + b"\r\n")


def _smtp_session(result, context, deadline, helo_name, record):
    """One session up to a completed handshake; returns the TLS socket (the caller closes it).

    ``record``: store banner, EHLO keywords and timing in ``result`` (the first session only).
    """
    what = "%s port %d" % (result.host, result.port)
    sock, address = _connect(result.addresses if record else [result.address], result.port, deadline, what)
    try:
        if record:
            result.address = address
            result.timing["connect"] = round(deadline.elapsed(), 4)
        reader = SmtpReader(sock, deadline, what)
        code, texts = reader.reply()
        if record:
            result.banner = ("%d %s" % (code, " ".join(texts))).strip()
        if code != 220:
            raise _ProbeFailure(SMTP, "%s: the greeting is %d %s, not 220; the server does not accept mail" % (what, code, " ".join(texts)))
        _send(sock, deadline, "EHLO %s" % (helo_name or default_helo_name(sock)))
        code, texts = reader.reply()
        if code != 250:
            raise _ProbeFailure(SMTP, "%s: EHLO answered %d %s" % (what, code, " ".join(texts)))
        keywords = ehlo_keywords(texts)
        if record:
            result.ehlo_keywords = keywords
            result.starttls = "STARTTLS" in keywords
            result.timing["ehlo"] = round(deadline.elapsed(), 4)
        if "STARTTLS" not in keywords:
            _quit(sock, reader, deadline)
            raise _ProbeFailure(NO_STARTTLS, "%s: EHLO does not offer STARTTLS (%s), so mail to it travels in clear text"
                                % (what, ", ".join(keywords) or "no extensions"))
        _send(sock, deadline, "STARTTLS")
        code, texts = reader.reply()
        if code != 220:
            raise _ProbeFailure(STARTTLS_REFUSED, "%s: STARTTLS answered %d %s" % (what, code, " ".join(texts)))
        if reader.buffer and record:
            # RFC 3207 5: nothing may follow the 220; text sent here is the STARTTLS injection pattern.
            result.warnings.append({"kind": PROTOCOL, "detail": "%s: the server sent %d octet(s) after its 220 reply to STARTTLS; they were discarded"
                                    % (what, len(reader.buffer))})
        try:
            return _handshake(sock, context, result.host, deadline, what)
        except ssl.SSLCertVerificationError:
            raise
        except (OSError, ssl.SSLError) as exc:
            raise _tls_failure(exc, deadline, what)
    except BaseException:
        sock.close()  # after a wrap the socket is detached and this does nothing
        raise


def _quit(sock, reader, deadline):
    """Say QUIT and read the answer if it comes in time; a failure here changes nothing."""
    try:
        _send(sock, deadline, "QUIT")
        reader.reply()
    except (_ProbeFailure, OSError, ssl.SSLError):
        pass


def probe_smtp(host, address, port=25, timeout=DEFAULT_TIMEOUT, ca_path=None, helo_name=None):
    """Connect to ``address`` (resolved by the caller) for MX ``host``, EHLO, STARTTLS, handshake, QUIT.

    The handshake verifies the chain and ``host`` against the system store plus ``ca_path`` (SNI
    ``host``): what an MTA-STS sender requires. Only when that fails does a second session with
    verification off read the presented chain, so that the certificate can be described and DANE
    (which does not depend on PKIX validity for DANE-EE records) can still be evaluated. One
    connection suffices when the certificate is valid. ``timeout`` bounds both sessions together.
    Returns an SmtpProbe; never raises on network or protocol failure.
    """
    result = SmtpProbe(host, address, port)
    deadline = Deadline(timeout, "%s port %d" % (host, port))
    what = deadline.what
    tls = None
    message = None
    try:
        try:
            tls = _smtp_session(result, verifying_context(ca_path), deadline, helo_name, record=True)
            result.verified = True
        except ssl.SSLCertVerificationError as exc:
            result.verified = False
            result.verify_reason = verify_reason(exc)
            message = _verify_message(exc)
            result.timing["tls"] = round(deadline.elapsed(), 4)
            try:
                tls = _smtp_session(result, capturing_context(), deadline, helo_name, record=False)
            except (_ProbeFailure, OSError, ssl.SSLError) as capture_exc:
                tls = None
                result.warnings.append({"kind": TLS, "detail": "%s: could not reconnect to read the rejected certificate: %s"
                                        % (what, getattr(capture_exc, "detail", None) or capture_exc)})
            result.verify_detail = _verify_detail(host, result.verify_reason, message, None)
        if tls is not None:
            result.timing.setdefault("tls", round(deadline.elapsed(), 4))
            result.tls_version = tls.version()
            cipher = tls.cipher()
            result.cipher = cipher[0] if cipher else None
            result.chain_der = presented_chain(tls)
            result.certificate = _leaf_facts(tls, result.chain_der)
            if result.verified is False:
                result.verify_detail = _verify_detail(host, result.verify_reason, message, result.certificate)
            _quit(tls, SmtpReader(tls, deadline, what), deadline)
    except _ProbeFailure as failure:
        result.fail(failure.kind, failure.detail)
    except socket.timeout:
        result.fail(TIMEOUT, "%s: no complete answer within %s s" % (what, _seconds(timeout)))
    except (OSError, ssl.SSLError) as exc:
        if deadline.end <= time.monotonic():
            result.fail(TIMEOUT, "%s: no complete answer within %s s" % (what, _seconds(timeout)))
        else:
            result.fail(CONNECT, "%s: the connection failed: %s" % (what, exc))
    finally:
        if tls is not None:
            tls.close()
        result.timing["total"] = round(deadline.elapsed(), 4)
    return result
