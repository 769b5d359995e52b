# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small client of the mailcow API: domains, DKIM keys and native MTA-STS policies.

Private to the collection: users may rely only on plugins and modules.
Plain Python on ``urllib.request``; it never imports Ansible.

Endpoints and JSON shapes are those of mailcow-dockerized's own source (see
``docs/mailcow-api.md``): ``data/web/json_api.php`` (routes and answers),
``data/web/inc/sessions.inc.php`` (``X-API-Key``, 401),
``data/web/inc/functions.dkim.inc.php`` (DKIM), ``data/web/inc/functions.mailbox.inc.php``
(domains and ``mta_sts``) and ``data/web/mta-sts.php`` (the served policy).
"""

from __future__ import annotations

import base64
import binascii
import functools
import http.client
import ipaddress
import json
import math
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mailsec.posture.plugins.module_utils import mailcow
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError, as_choice, as_int, as_list, join_txt
from ansible_collections.mailsec.posture.plugins.module_utils.names import normalize_domain

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30
DEFAULT_WORKERS = 8
MAX_WORKERS = 32
MAX_BODY_OCTETS = 16 * 1024 * 1024
POLICY_PATH = "/.well-known/mta-sts.txt"
USER_AGENT = "mailsec.posture-mailcow-client"

# What mailcow's UI and openapi.yaml offer for key_size (functions.dkim.inc.php passes it to openssl).
DKIM_KEY_SIZES = (1024, 2048, 3072, 4096)
# RFC 8301 3.2: verifiers must accept 1024..4096; signers SHOULD use at least 2048.
DKIM_STRONG_BITS = 2048

MTA_STS_MODES = ("enforce", "testing", "none")
# mailbox('add', 'mta_sts') refuses more than this (edit allows 31557600, RFC 8461's limit).
MAILCOW_MAX_AGE = 31536000
# Column mta_sts.mx is VARCHAR(255) and holds the comma-joined list.
MAILCOW_MX_FIELD_OCTETS = 255

# sessions.inc.php keeps only these characters of a key before looking it up.
_API_KEY = re.compile(r"^[A-Za-z0-9-]+$")
# functions.dkim.inc.php: ctype_alnum after removing '-', '_', '.'; each DNS label 1..63 octets.
_SELECTOR = re.compile(r"^[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*$")
_REDACTED = "<redacted>"


class MailcowApiError(MailsecError):
    """A call to the mailcow API failed; the message names the endpoint and never the key.

    ``kind`` says why, for callers that branch: ``config``, ``auth``, ``forbidden``, ``no_route``,
    ``not_found``, ``redirect``, ``server``, ``http``, ``unreachable``, ``timeout``, ``tls``,
    ``not_json``, ``empty``, ``unexpected``, ``refused`` (mailcow answered ``danger``/``error``),
    ``vanished`` (a domain disappeared between two calls), ``too_large``.
    """

    def __init__(self, endpoint, reason, kind="unexpected", status=None, messages=(), succeeded=()):
        self.endpoint = endpoint
        self.reason = reason
        self.kind = kind
        self.status = status
        self.messages = list(messages)
        # Write routes work per item: what mailcow did before it refused the rest.
        self.succeeded = list(succeeded)
        # Set by ensure_*: whether mailcow was changed before the failure.
        self.changed = False
        super().__init__("mailcow API %s: %s" % (endpoint, reason) if endpoint else "mailcow API: %s" % reason)


class _RefuseRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would carry X-API-Key to another URL: make it an error instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_api_url(api_url):
    """``scheme://host[:port][/path]`` without a trailing ``/`` or ``/api/v1``; raises MailcowApiError.

    Plain ``http`` is accepted only for loopback hosts (mailcow's ``HTTP_BIND`` on the same machine);
    anywhere else the key would cross the network in clear text.
    """
    if not isinstance(api_url, str) or not api_url.strip():
        raise MailcowApiError(None, "api_url must be a URL such as https://mail.example.com", kind="config")
    parsed = urllib.parse.urlsplit(api_url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise MailcowApiError(None, "api_url %r must be an https:// URL with a host name" % api_url, kind="config")
    if parsed.username is not None or parsed.password is not None:
        # Do not echo the URL: its user part may be a secret.
        raise MailcowApiError(None, "api_url must not carry credentials; the key goes in api_key", kind="config")
    if parsed.query or parsed.fragment:
        raise MailcowApiError(None, "api_url %r must not have a query or fragment" % api_url, kind="config")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise MailcowApiError(
            None,
            "api_url %r uses plain http to a host that is not loopback; use https (the API key would travel in clear text)" % api_url,
            kind="config",
        )
    try:
        parsed.port
    except ValueError:
        raise MailcowApiError(None, "api_url %r has an invalid port" % api_url, kind="config")
    path = parsed.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def check_api_key(api_key):
    """Raise MailcowApiError unless ``api_key`` is a key mailcow would look up unchanged.

    The message never contains the key.
    """
    if not isinstance(api_key, str) or not api_key:
        raise MailcowApiError(None, "api_key is empty", kind="config")
    if not _API_KEY.match(api_key):
        raise MailcowApiError(
            None,
            "api_key holds characters other than letters, digits and '-' (mailcow would strip them; check for pasted spaces or quotes)",
            kind="config",
        )


def _snippet(data, limit=80):
    text = data[:limit].decode("utf-8", "replace")
    text = "".join(char if char.isprintable() else " " for char in text).strip()
    return text + ("..." if len(data) > limit else "")


def _message_text(msg):
    """mailcow's ``msg``: a language key, or ``[key, arg, ...]``."""
    if isinstance(msg, (list, tuple)):
        parts = [str(part) for part in msg]
        if not parts:
            return ""
        return parts[0] + (" (%s)" % ", ".join(parts[1:]) if len(parts) > 1 else "")
    return str(msg)


def _flag(value):
    """mailcow's flags arrive as "1"/"0" strings from MySQL, sometimes as numbers or booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1
    if isinstance(value, str):
        return value.strip() == "1"
    return False


def _der_read(data, offset):
    """One DER element at ``offset``: ``(tag, content_start, content_end)``."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise ValueError("DER element runs past the end")
    return tag, offset, end


# 1.2.840.113549.1.1.1 rsaEncryption and 1.3.101.112 Ed25519, DER-encoded.
_OID_RSA = bytes.fromhex("2a864886f70d010101")
_OID_ED25519 = bytes.fromhex("2b6570")


def public_key_bits(public_key):
    """Key size in bits of a base64 SubjectPublicKeyInfo (what DKIM's ``p=`` holds), or None.

    RSA: the bit length of the modulus. Ed25519 (RFC 8463): 256. Anything unreadable: None.
    """
    if not isinstance(public_key, str):
        return None
    try:
        data = base64.b64decode("".join(public_key.split()), validate=True)
        tag, start, end = _der_read(data, 0)  # SubjectPublicKeyInfo
        if tag != 0x30:
            return None
        tag, alg_start, alg_end = _der_read(data, start)  # AlgorithmIdentifier
        if tag != 0x30:
            return None
        tag, oid_start, oid_end = _der_read(data, alg_start)
        oid = data[oid_start:oid_end] if tag == 0x06 else b""
        tag, bits_start, bits_end = _der_read(data, alg_end)  # subjectPublicKey BIT STRING
        if tag != 0x03:
            return None
        if oid == _OID_ED25519:
            return 256 if bits_end - bits_start == 33 else None
        if oid != _OID_RSA:
            return None
        tag, seq_start, _seq_end = _der_read(data, bits_start + 1)  # RSAPublicKey, after unused-bits octet
        if tag != 0x30:
            return None
        tag, mod_start, mod_end = _der_read(data, seq_start)
        if tag != 0x02:
            return None
        return int.from_bytes(data[mod_start:mod_end], "big").bit_length()
    except (ValueError, IndexError, binascii.Error):
        return None


def check_selector(selector, domain=None):
    """``selector`` if mailcow and DNS both accept it as a DKIM selector, else SpecError."""
    if not isinstance(selector, str) or not _SELECTOR.match(selector):
        raise SpecError(
            "selector",
            "%r is not a DKIM selector (letters, digits, '-' and '_', dot-separated labels of 1 to 63)" % (selector,),
            domain,
        )
    return selector


def check_key_size(key_size, allow_weak=False, domain=None):
    """``key_size`` as int if mailcow offers it and it is strong enough (or ``allow_weak``)."""
    size = as_int(key_size, "key_size", domain)
    if size not in DKIM_KEY_SIZES:
        raise SpecError("key_size", "must be one of %s, got %d" % (", ".join(str(s) for s in DKIM_KEY_SIZES), size), domain)
    if size < DKIM_STRONG_BITS and not allow_weak:
        raise SpecError(
            "key_size",
            "%d-bit RSA is weak (RFC 8301 asks signers for at least %d); set allow_weak to use it anyway" % (size, DKIM_STRONG_BITS),
            domain,
        )
    return size


def normalize_mta_sts_policy(policy, domain):
    """The engine seam: validate one domain's MTA-STS policy for mailcow and return its canonical form.

    Returns ``{"mode", "mx", "max_age", "active"}`` with ``mx`` a list of lower-case A-label names
    (a leading ``*.`` allowed, RFC 8461 3.2), de-duplicated in first-seen order, or raises SpecError
    naming the field and the domain. When ``active`` is false the other fields may be left out.

    This is the single place that knows RFC 8461's policy rules here; the engine's
    ``mta_sts.normalize_spec`` can take over the RFC part, while the mailcow limits below stay:
    ``max_age`` 1..31536000 (``mailbox('add', 'mta_sts')`` refuses 0 and more) and the joined MX list
    within 255 characters (column ``mta_sts.mx``).
    """
    if not isinstance(policy, dict):
        raise SpecError("mta_sts", "must be a mapping, got %s" % type(policy).__name__, domain)
    active = policy.get("active", True)
    if not isinstance(active, bool):
        raise SpecError("mta_sts.active", "must be a boolean, got %r" % (active,), domain)
    if not active and all(policy.get(key) is None for key in ("mode", "mx", "max_age")):
        return {"mode": None, "mx": None, "max_age": None, "active": False}
    mode = as_choice(policy.get("mode"), MTA_STS_MODES, "mta_sts.mode", domain)
    if policy.get("max_age") is None:
        raise SpecError("mta_sts.max_age", "is required (seconds, 1 to %d)" % MAILCOW_MAX_AGE, domain)
    max_age = as_int(policy.get("max_age"), "mta_sts.max_age", domain, minimum=1, maximum=MAILCOW_MAX_AGE)
    names = as_list(policy.get("mx"), "mta_sts.mx", domain)
    if not names:
        raise SpecError("mta_sts.mx", "needs at least one MX host name", domain)
    mx = []
    for index, name in enumerate(names):
        field = "mta_sts.mx[%d]" % index
        if not isinstance(name, str):
            raise SpecError(field, "must be a host name string, got %s" % type(name).__name__, domain)
        wildcard = name.strip().startswith("*")
        if wildcard and not name.strip().startswith("*."):
            raise SpecError(field, "%r: a wildcard must be a whole leftmost label '*.' (RFC 8461 3.2)" % name, domain)
        host = normalize_domain(name, field, domain, allow_wildcard=True)
        if host not in mx:
            mx.append(host)
    if len(",".join(mx)) > MAILCOW_MX_FIELD_OCTETS:
        raise SpecError("mta_sts.mx", "the MX list joined with ',' must fit mailcow's %d characters" % MAILCOW_MX_FIELD_OCTETS, domain)
    return {"mode": mode, "mx": mx, "max_age": max_age, "active": active}


def parse_served_policy(text):
    """Fields of a policy as ``data/web/mta-sts.php`` prints it: ``{"version", "mode", "max_age", "mx"}``.

    Lenient on purpose: it reads what mailcow serves so it can be compared; the comparison goes
    through ``normalize_mta_sts_policy`` and anything odd simply compares as different.
    """
    fields = {"version": None, "mode": None, "max_age": None, "mx": []}
    for line in text.replace("\r\n", "\n").split("\n"):
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip()
        value = value.strip()
        if key == "mx":
            fields["mx"].append(value)
        elif key in fields:
            fields[key] = value
    return fields


def render_policy(normalized):
    """Policy text in the order mailcow serves it (version, mode, max_age, mx lines), for diffs."""
    if not normalized or not normalized.get("active"):
        return ""
    lines = ["version: STSv1", "mode: %s" % normalized["mode"], "max_age: %d" % normalized["max_age"]]
    lines.extend("mx: %s" % host for host in normalized["mx"])
    return "\n".join(lines) + "\n"


def same_policy(current, desired):
    """Whether two normalized policies say the same thing (MX compared as a set: RFC 8461 4.1)."""
    if current is None or desired is None:
        return current is desired
    if current["active"] != desired["active"]:
        return False
    if not desired["active"]:
        return True
    return (
        current["mode"] == desired["mode"]
        and current["max_age"] == desired["max_age"]
        and sorted(current["mx"]) == sorted(desired["mx"])
    )


def run_bounded(function, items, workers=DEFAULT_WORKERS):
    """``[function(item) for item in items]`` on at most ``workers`` threads, in order.

    The first exception (in item order) is raised after every call has finished, so no thread is
    left running behind the caller.
    """
    items = list(items)
    workers = max(1, min(int(workers), MAX_WORKERS, len(items) or 1))
    if workers == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(function, item) for item in items]
    return [future.result() for future in futures]


# ---------------------------------------------------------------- HTTP transport: one deadline per
# request, no proxy for loopback, the key never in clear text to anything but loopback.


class _ClearTextRefused(OSError):
    """A plain-http connection reached an address that is not loopback: the key is not sent."""


class _RequestBound:
    """The deadline of one request. When it passes, the connection's socket is shut down, so no
    read (of the status line, the headers or the body) waits past it, however slowly bytes come."""

    def __init__(self, timeout, clear_text):
        self.deadline = time.monotonic() + timeout
        self.clear_text = clear_text
        self.expired = False
        self._timer = None
        self._sock = None

    def remaining(self):
        return self.deadline - time.monotonic()

    def hold(self, sock):
        """The connected socket (TLS-wrapped for https): urllib drops its own reference to it once
        the headers are read, and the answer is read from it after that."""
        self._sock = sock

    def watch(self, connection):
        def expire():
            self.expired = True
            sock = self._sock or getattr(connection, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self._timer = threading.Timer(max(self.remaining(), 0), expire)
        self._timer.daemon = True
        self._timer.start()

    def release(self):
        if self._timer is not None:
            self._timer.cancel()


class _BoundedConnection:
    """An http.client connection under a _RequestBound: its connect waits at most what is left of
    the deadline, and a plain-http one refuses a peer that is not loopback before anything is sent."""

    def __init__(self, *args, bound=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._bound = bound
        self._create_connection = self._connect_bounded

    def _connect_bounded(self, address, timeout=None, source_address=None):
        bound = self._bound
        if bound is not None:
            left = bound.remaining()
            if left <= 0:
                raise socket.timeout("timed out")
            timeout = left if timeout is None else min(timeout, left)
        sock = socket.create_connection(address, timeout, source_address)
        if bound is not None and bound.clear_text:
            peer = sock.getpeername()[0]
            if not _is_loopback(peer):
                sock.close()
                raise _ClearTextRefused("%s is not a loopback address, and plain http would carry the API key in clear text" % peer)
        if bound is not None:
            bound.watch(self)
        return sock

    def connect(self):
        super().connect()
        if self._bound is not None:
            self._bound.hold(self.sock)

    def close(self):
        if self._bound is not None:
            self._bound.release()
        super().close()


class _BoundedHTTPConnection(_BoundedConnection, http.client.HTTPConnection):
    pass


class _BoundedHTTPSConnection(_BoundedConnection, http.client.HTTPSConnection):
    pass


class _BoundedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(functools.partial(_BoundedHTTPConnection, bound=getattr(req, "mailsec_bound", None)), req)


class _BoundedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context):
        super().__init__(context=context)
        self._tls_context = context

    def https_open(self, req):
        return self.do_open(functools.partial(_BoundedHTTPSConnection, bound=getattr(req, "mailsec_bound", None)), req, context=self._tls_context)


def _opener(host, context):
    """The urllib opener for ``host``: never a proxy for loopback (``http_proxy`` would carry the
    key off the machine in clear text); elsewhere the environment's proxies, which https tunnels
    through (CONNECT), so the key stays inside TLS."""
    proxies = urllib.request.ProxyHandler({}) if _is_loopback(host) else urllib.request.ProxyHandler()
    return urllib.request.build_opener(proxies, _RefuseRedirect(), _BoundedHTTPHandler(), _BoundedHTTPSHandler(context))


# ---------------------------------------------------------------- end of the HTTP transport


class MailcowClient:
    """The endpoints this collection uses, with every failure turned into MailcowApiError.

    ``timeout`` bounds each request as a whole (connecting, TLS, the status line, headers and body),
    so a server that trickles bytes cannot hold a run. TLS verification cannot be turned off:
    ``ca_path`` names a CA bundle file to trust instead of the system store. A loopback API is
    reached without a proxy; plain http is used only to a loopback address.
    """

    def __init__(self, api_url, api_key, timeout=DEFAULT_TIMEOUT, ca_path=None):
        self.base_url = normalize_api_url(api_url)
        check_api_key(api_key)
        self._api_key = api_key
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            raise MailcowApiError(None, "timeout must be a number of seconds, got %r" % (timeout,), kind="config")
        if not math.isfinite(self.timeout) or self.timeout <= 0:
            raise MailcowApiError(None, "timeout must be a finite number of seconds above 0, got %r" % (timeout,), kind="config")
        self._host = urllib.parse.urlsplit(self.base_url).hostname
        self._clear_text = urllib.parse.urlsplit(self.base_url).scheme == "http"
        self._opener = _opener(self._host, self._tls_context(ca_path))

    @staticmethod
    def _tls_context(ca_path):
        if ca_path is not None:
            if not isinstance(ca_path, str) or not os.path.isfile(ca_path):
                raise MailcowApiError(None, "ca_path %r is not a readable file" % (ca_path,), kind="config")
        try:
            context = ssl.create_default_context(cafile=ca_path)
        except (ssl.SSLError, OSError) as exc:
            raise MailcowApiError(None, "ca_path %r holds no usable CA certificate: %s" % (ca_path, exc), kind="config")
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _redact(self, text):
        return str(text).replace(self._api_key, _REDACTED)

    def _error(self, endpoint, reason, **kwargs):
        messages = [self._redact(message) for message in kwargs.pop("messages", ())]
        succeeded = [self._redact(message) for message in kwargs.pop("succeeded", ())]
        return MailcowApiError(endpoint, self._redact(reason), messages=messages, succeeded=succeeded, **kwargs)

    # ---------------------------------------------------------------- transport

    def _send(self, method, path, body=None, host_header=None, with_key=True):
        """One request; returns ``(status, content_type, body_bytes)`` for any status below 300."""
        endpoint = "%s %s" % (method, path)
        request = urllib.request.Request(self.base_url + path, method=method)
        request.add_header("Accept", "application/json" if with_key else "text/plain")
        request.add_header("User-Agent", USER_AGENT)
        if with_key:
            request.add_unredirected_header("X-API-Key", self._api_key)
        if host_header:
            request.add_header("Host", host_header)
        if body is not None:
            request.add_header("Content-Type", "application/json")
            request.data = json.dumps(body).encode("utf-8")
        bound = request.mailsec_bound = _RequestBound(self.timeout, self._clear_text and with_key)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = self._read_until(response, bound, endpoint)
                return response.status, response.headers.get("Content-Type", ""), payload
        except urllib.error.HTTPError as exc:
            try:
                payload = self._read_until(exc, bound, endpoint)
            except MailcowApiError:
                payload = b""
            finally:
                exc.close()
            raise self._status_error(endpoint, exc.code, exc.headers, payload) from None
        except MailcowApiError:
            raise
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            if bound.expired:
                raise self._timed_out(endpoint) from None
            raise self._transport_error(endpoint, getattr(exc, "reason", exc)) from None
        finally:
            bound.release()

    def _timed_out(self, endpoint):
        return self._error(endpoint, "no complete answer within %g s (timeout)" % self.timeout, kind="timeout")

    def _read_until(self, response, bound, endpoint):
        chunks = []
        total = 0
        while True:
            if bound.expired or bound.remaining() <= 0:
                raise self._timed_out(endpoint)
            try:
                chunk = response.read(65536)
            except (socket.timeout, TimeoutError):
                raise self._timed_out(endpoint)
            except (OSError, http.client.HTTPException) as exc:
                if bound.expired:
                    raise self._timed_out(endpoint)
                raise self._error(endpoint, "connection broke while reading the answer: %s" % exc, kind="unreachable")
            if bound.expired:
                raise self._timed_out(endpoint)  # the end came from our own shutdown, not the server
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > MAX_BODY_OCTETS:
                raise self._error(endpoint, "answer larger than %d octets" % MAX_BODY_OCTETS, kind="too_large")
            chunks.append(chunk)

    def _transport_error(self, endpoint, reason):
        target = self.base_url
        if isinstance(reason, ssl.SSLCertVerificationError):
            return self._error(
                endpoint,
                "TLS certificate of %s not trusted: %s (set ca_path to the CA bundle that issued it)" % (self._host, reason.verify_message or reason),
                kind="tls",
            )
        if isinstance(reason, ssl.SSLError):
            return self._error(endpoint, "TLS handshake with %s failed: %s" % (self._host, reason), kind="tls")
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return self._error(endpoint, "no answer from %s within %g s (timeout)" % (target, self.timeout), kind="timeout")
        if isinstance(reason, _ClearTextRefused):
            return self._error(
                endpoint,
                "refusing to send the API key to %s: %s; use an https:// api_url" % (target, reason),
                kind="config",
            )
        return self._error(endpoint, "cannot reach %s: %s" % (target, reason), kind="unreachable")

    def _status_error(self, endpoint, status, headers, payload):
        """The MailcowApiError for an answer with an HTTP status of 300 or more."""
        said = self._mailcow_says(payload)
        suffix = " (mailcow says: %s)" % said if said else ""
        if status in (301, 302, 303, 307, 308):
            location = headers.get("Location", "") if headers else ""
            return self._error(
                endpoint,
                "redirected (HTTP %d) to %s; not followed, it would carry the API key: set api_url to the final URL" % (status, location or "?"),
                kind="redirect",
                status=status,
            )
        if status == 401:
            return self._error(
                endpoint,
                "authentication failed (HTTP 401): the API key is unknown, inactive, or not allowed from this address%s" % suffix,
                kind="auth",
                status=status,
            )
        if status == 403:
            return self._error(
                endpoint,
                "access denied (HTTP 403): changes need a read-write API key, this one is read-only or lacks access%s" % suffix,
                kind="forbidden",
                status=status,
            )
        if status == 404 and said == "route not found":
            return self._error(endpoint, "this mailcow has no such API route (HTTP 404: route not found)", kind="no_route", status=status)
        if status == 404:
            return self._error(endpoint, "not found (HTTP 404)%s" % suffix, kind="not_found", status=status)
        if status >= 500:
            return self._error(endpoint, "server error (HTTP %d)%s" % (status, suffix), kind="server", status=status)
        return self._error(endpoint, "unexpected HTTP %d%s" % (status, suffix), kind="http", status=status)

    @staticmethod
    def _mailcow_says(payload):
        try:
            data = json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return _snippet(payload) if payload else ""
        if isinstance(data, dict) and "msg" in data:
            return _message_text(data["msg"])
        return ""

    def _json(self, method, path, body=None):
        endpoint = "%s %s" % (method, path)
        status, content_type, payload = self._send(method, path, body)
        if not payload.strip():
            raise self._error(
                endpoint,
                "empty answer (HTTP %d); mailcow answers like this when the X-API-Key header did not reach it (a proxy dropping it?)" % status,
                kind="empty",
                status=status,
            )
        try:
            return json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self._error(
                endpoint,
                "answer is not JSON (HTTP %d, Content-Type %r, %d octets, starts %r)" % (status, content_type, len(payload), _snippet(payload)),
                kind="not_json",
                status=status,
            )

    def _unexpected(self, endpoint, what, data):
        shape = type(data).__name__
        if isinstance(data, dict):
            shape += " with keys %s" % ", ".join(sorted(str(key) for key in data)[:8])
        return self._error(endpoint, "unexpected JSON: expected %s, got %s" % (what, shape), kind="unexpected")

    def _write(self, path, body):
        """POST to a write route; return mailcow's messages, raise on any danger/error."""
        endpoint = "POST %s" % path
        data = self._json("POST", path, body)
        entries = data if isinstance(data, list) else [data]
        messages = []
        failures = []
        for entry in entries:
            if not isinstance(entry, dict) or "type" not in entry:
                raise self._unexpected(endpoint, "a list of {type, msg} objects", data)
            text = _message_text(entry.get("msg", ""))
            messages.append({"type": entry["type"], "msg": self._redact(text)})
            if entry["type"] in ("danger", "error"):
                failures.append(text)
        if failures:
            done = [entry["msg"] for entry in messages if entry["type"] == "success"]
            raise self._error(endpoint, "mailcow refused: %s" % "; ".join(failures), kind="refused", messages=failures, succeeded=done)
        return messages

    # ---------------------------------------------------------------- domains

    def get_domains(self, tags=None):
        """Every mail domain's details (``GET /api/v1/get/domain/all``), as mailcow sends them."""
        path = API_PREFIX + "/get/domain/all"
        if tags:
            path += "?" + urllib.parse.urlencode({"tags": ",".join(tags)})
        data = self._json("GET", path)
        if data == {} or data == []:
            return []  # json_api.php answers {} when there is no domain
        if not isinstance(data, list) or not all(isinstance(item, dict) and isinstance(item.get("domain_name"), str) for item in data):
            raise self._unexpected("GET %s" % path, "a list of domains with domain_name", data)
        return data

    def get_domain(self, name):
        """One domain's details, or None when mailcow does not know it (it answers ``{}``)."""
        path = "%s/get/domain/%s" % (API_PREFIX, urllib.parse.quote(name, safe=""))
        data = self._json("GET", path)
        if data in ({}, [], False, None):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("domain_name"), str):
            raise self._unexpected("GET %s" % path, "a domain with domain_name", data)
        return data

    # ---------------------------------------------------------------- DKIM

    def get_dkim(self, domain):
        """The domain's DKIM key, or None when it has none (``{}``).

        Returns ``{"selector", "public_key", "key_bits", "dkim_txt", "mailcow_length"}``; the
        ``privkey`` field of the answer is dropped here and goes nowhere.
        """
        path = "%s/get/dkim/%s" % (API_PREFIX, urllib.parse.quote(domain, safe=""))
        endpoint = "GET %s" % path
        data = self._json("GET", path)
        if data in ({}, []):
            return None
        if not isinstance(data, dict):
            raise self._unexpected(endpoint, "a DKIM key object", data)
        data.pop("privkey", None)
        public_key = data.get("pubkey")
        selector = data.get("dkim_selector")
        if not isinstance(public_key, str) or not public_key.strip():
            raise self._unexpected(endpoint, "a DKIM key object with pubkey", data)
        if not isinstance(selector, str) or not selector:
            raise self._error(endpoint, "mailcow holds a DKIM key for %s but no selector for it" % domain, kind="unexpected")
        public_key = "".join(public_key.split())
        return {
            "selector": selector,
            "public_key": public_key,
            "key_bits": public_key_bits(public_key),
            "dkim_txt": join_txt(data.get("dkim_txt")) or None,
            "mailcow_length": data.get("length"),
        }

    def add_dkim(self, domains, selector, key_size):
        """Create keys (``POST /api/v1/add/dkim``); mailcow never replaces an existing one here."""
        body = {"domains": ",".join(domains), "dkim_selector": selector, "key_size": int(key_size)}
        return self._write(API_PREFIX + "/add/dkim", body)

    def delete_dkim(self, domains):
        """Delete keys (``POST /api/v1/delete/dkim`` with the list of domains)."""
        return self._write(API_PREFIX + "/delete/dkim", list(domains))

    # ---------------------------------------------------------------- MTA-STS

    def get_mta_sts(self, domain):
        """The policy mailcow serves for ``domain``, normalized, or None when it serves none.

        mailcow has no API route to read a policy; ``data/web/mta-sts.php`` serves it at
        ``/.well-known/mta-sts.txt`` to ``Host: mta-sts.<domain>``, and answers 404 when there is
        no row or the row is inactive. Returns ``(normalized_or_None, text)``; a served policy that
        does not validate comes back as a raw dict that compares unequal to any valid one.
        """
        endpoint = "GET %s (Host: mta-sts.%s)" % (POLICY_PATH, domain)
        try:
            status, _content_type, payload = self._send("GET", POLICY_PATH, host_header="mta-sts.%s" % domain, with_key=False)
        except MailcowApiError as exc:
            if exc.kind in ("not_found", "no_route"):
                return None, ""
            raise MailcowApiError(endpoint, exc.reason, kind=exc.kind, status=exc.status) from None
        if status != 200:
            raise self._error(endpoint, "unexpected HTTP %d for the policy" % status, kind="http", status=status)
        text = payload.decode("utf-8", "replace")
        fields = parse_served_policy(text)
        try:
            normalized = normalize_mta_sts_policy(
                {"mode": fields["mode"], "mx": fields["mx"], "max_age": fields["max_age"], "active": True}, domain
            )
        except SpecError:
            normalized = {"mode": fields["mode"], "mx": fields["mx"], "max_age": fields["max_age"], "active": True, "invalid": True}
        if (fields["version"] or "").lower() != "stsv1":
            normalized["invalid"] = True
        return normalized, text

    @staticmethod
    def _mta_sts_attributes(policy):
        # Every attribute mailcow validates, on add and on edit alike: edit fills a missing one from the row,
        # whose version mailbox('get') returns as "STSv1", and then refuses it (version_invalid).
        return {
            "version": "stsv1",
            "mode": policy["mode"],
            "mx": ",".join(policy["mx"]),
            "max_age": int(policy["max_age"]),
            "active": 1 if policy["active"] else 0,
        }

    def add_mta_sts(self, domain, policy):
        """Create a domain's policy row (``POST /api/v1/add/mta-sts``)."""
        body = {"domain": domain}
        body.update(self._mta_sts_attributes(policy))
        return self._write(API_PREFIX + "/add/mta-sts", body)

    def edit_mta_sts(self, domains, policy):
        """Change existing policy rows (``POST /api/v1/edit/mta-sts``, items + attr)."""
        return self._write(API_PREFIX + "/edit/mta-sts", {"items": list(domains), "attr": self._mta_sts_attributes(policy)})

    def version(self):
        """mailcow's ``MAILCOW_GIT_VERSION`` (``GET /api/v1/get/status/version``), or None."""
        data = self._json("GET", API_PREFIX + "/get/status/version")
        if isinstance(data, dict) and isinstance(data.get("version"), str):
            return data["version"]
        return None


def is_duplicate_row(exc):
    """Whether ``add/mta-sts`` failed because the domain already has a row (the INSERT's PDO error)."""
    return exc.kind == "refused" and any("Duplicate entry" in text or "SQLSTATE[23000]" in text for text in exc.messages)


# -------------------------------------------------------------------- what plugins call


def has_any_tag(details, tags):
    """Whether a domain of ``get/domain/all`` carries one of ``tags`` exactly.

    mailcow's ``?tags=`` matches ``LIKE '%tag%'`` (so ``managed`` also finds ``unmanaged``, and ``_`` is
    a wildcard): its answer is only a superset, filtered here by equal strings.
    """
    carried = details.get("tags")
    return isinstance(carried, list) and any(tag in carried for tag in tags)


def discover_domains(client, tags=None, include_inactive=False, include_backup_mx=False, workers=DEFAULT_WORKERS):
    """mailcow's mail domains with their DKIM keys, ready for ``mailsec_domains``.

    One entry per domain, in mailcow's order::

        {"name": "example.com", "source": "mailcow",
         "dkim": {"selector": "dkim", "public_key": "MIIB...", "key_bits": 2048} | None,
         "mailcow": {"unicode_name", "description", "tags", "active", "backup_mx", "dkim_txt"}}

    Domains that are inactive, or for which mailcow is only a backup MX, are left out unless asked
    for: their records are not this server's to publish. DKIM keys are read on at most ``workers``
    threads. A domain whose key answer is empty is looked up again: if it is gone, the list changed
    under us and MailcowApiError(kind="vanished") says so (a re-run sees the new list).
    """
    selected = []
    for details in client.get_domains(tags=tags):
        if tags and not has_any_tag(details, tags):
            continue
        active = _flag(details.get("active"))
        backup_mx = _flag(details.get("backupmx"))
        if (not active and not include_inactive) or (backup_mx and not include_backup_mx):
            continue
        name = normalize_domain(details["domain_name"], "domain_name", details["domain_name"])
        selected.append((name, details, active, backup_mx))

    def read_key(entry):
        name = entry[0]
        key = client.get_dkim(name)
        if key is None and client.get_domain(name) is None:
            raise MailcowApiError(
                "GET %s/get/dkim/%s" % (API_PREFIX, name),
                "domain %s was listed by GET %s/get/domain/all but is gone now; re-run to use the current list" % (name, API_PREFIX),
                kind="vanished",
            )
        return key

    keys = run_bounded(read_key, selected, workers)
    result = []
    for (name, details, active, backup_mx), key in zip(selected, keys):
        tags_value = details.get("tags") or []
        result.append(
            {
                "name": name,
                "source": "mailcow",
                "dkim": None if key is None else {"selector": key["selector"], "public_key": key["public_key"], "key_bits": key["key_bits"]},
                "mailcow": {
                    "unicode_name": details.get("domain_h_name") or name,
                    "description": details.get("description") or "",
                    "tags": list(tags_value) if isinstance(tags_value, list) else [],
                    "active": active,
                    "backup_mx": backup_mx,
                    "dkim_txt": None if key is None else key["dkim_txt"],
                },
            }
        )
    return result


def _require_domain(client, name, allow_alias=True):
    endpoint = "GET %s/get/domain/%s" % (API_PREFIX, name)
    details = client.get_domain(name)
    if details is None:
        raise MailcowApiError(endpoint, "domain %s is not a mail domain in this mailcow; add it in mailcow first" % name, kind="not_found")
    if not allow_alias and details["domain_name"].lower() != name:
        # domain_details answers an alias domain with its target, and mta-sts.php serves the target's policy.
        raise MailcowApiError(
            endpoint,
            "%s is an alias domain of %s; mailcow serves the policy of %s for it, so set that one" % (name, details["domain_name"], details["domain_name"]),
            kind="not_found",
        )


def plan_dkim(client, domains, selector, key_size, force=False, workers=DEFAULT_WORKERS):
    """What ``ensure_dkim`` would do per domain, read from mailcow and changing nothing.

    Each entry: ``{"domain", "action": "keep"|"create"|"replace", "current": key|None,
    "mismatch": reason|None}``. An existing key is kept unless ``force`` and it differs from the
    request (selector or size); a key that matches is kept even with ``force``, so re-runs are
    idempotent.
    """
    def plan(name):
        current = client.get_dkim(name)
        if current is None:
            _require_domain(client, name)
            return {"domain": name, "action": "create", "current": None, "mismatch": None}
        reasons = []
        if current["selector"] != selector:
            reasons.append("selector is %r, not %r" % (current["selector"], selector))
        if current["key_bits"] != key_size:
            reasons.append("key is %s bits, not %d" % (current["key_bits"] or "an unreadable number of", key_size))
        mismatch = "; ".join(reasons) or None
        action = "replace" if (mismatch and force) else "keep"
        return {"domain": name, "action": action, "current": current, "mismatch": mismatch}

    return run_bounded(plan, domains, workers)


def apply_dkim(client, plans, selector, key_size, workers=DEFAULT_WORKERS, done=None):
    """Carry out ``plans`` (from ``plan_dkim``): delete the keys to replace, add the missing ones in one
    call, and read every new key back. Returns the per-domain key as mailcow now holds it.

    ``done`` (a list) collects the writes mailcow accepted, so a caller can tell after a failure
    whether anything changed.
    """
    done = [] if done is None else done
    to_replace = [entry["domain"] for entry in plans if entry["action"] == "replace"]
    to_add = [entry["domain"] for entry in plans if entry["action"] in ("create", "replace")]
    try:
        if to_replace:
            client.delete_dkim(to_replace)
            done.append("delete %s" % ", ".join(to_replace))
        if to_add:
            client.add_dkim(to_add, selector, key_size)
            done.append("add %s" % ", ".join(to_add))
    except MailcowApiError as exc:
        done.extend(exc.succeeded)
        raise

    def read_back(name):
        key = client.get_dkim(name)
        if key is None:
            raise MailcowApiError(
                "GET %s/get/dkim/%s" % (API_PREFIX, name),
                "mailcow reported the key of %s as created but does not return it" % name,
                kind="vanished",
            )
        return key

    created = dict(zip(to_add, run_bounded(read_back, to_add, workers)))
    return [created.get(entry["domain"], entry["current"]) for entry in plans]


def plan_mta_sts(client, policies, workers=DEFAULT_WORKERS, reader=None):
    """Read what mailcow serves for each ``{"domain", "policy"}`` (policy normalized) and plan.

    Each entry: ``{"domain", "action": "none"|"add"|"edit", "before": normalized|None,
    "before_text", "desired": normalized}``. ``add`` means "no active policy is served": the row may
    be absent or inactive (mailcow cannot tell us which), ``apply_mta_sts`` handles both. ``reader`` (a
    MailcowClient on ``policy_url``) reads the served policies when the API's URL does not reach
    ``mta-sts.php`` with a ``Host`` header (a reverse proxy in front); default ``client``.
    """
    def plan(item):
        name = item["domain"]
        desired = item["policy"]
        if not desired["active"] and client.get_domain(name) is None:
            # Deleting a domain in mailcow deletes its policy row: a retired domain that is gone is done.
            return {"domain": name, "action": "none", "before": None, "before_text": "", "desired": desired}
        _require_domain(client, name, allow_alias=False)
        current, text = (reader or client).get_mta_sts(name)
        if desired["active"]:
            if current is None:
                action = "add"
            elif current.get("invalid") or not same_policy(current, desired):
                action = "edit"
            else:
                action = "none"
        else:
            action = "edit" if current is not None else "none"
        return {"domain": name, "action": action, "before": current, "before_text": text, "desired": desired}

    return run_bounded(plan, policies, workers)


def retiring(served):
    """The edit that switches a served policy off: its own fields (mailcow validates them all) with active 0."""
    return {"mode": served["mode"], "mx": list(served["mx"]), "max_age": served["max_age"], "active": False}


def apply_mta_sts(client, plans, workers=DEFAULT_WORKERS, done=None, reader=None, warnings=None):
    """Carry out ``plans`` (from ``plan_mta_sts``) and check that mailcow now serves what was asked.

    ``done`` (a list) collects the domains mailcow accepted a change for.
    """
    done = [] if done is None else done
    for entry in plans:
        if entry["action"] == "none":
            continue
        name = entry["domain"]
        desired = entry["desired"]
        if entry["action"] == "add":
            try:
                client.add_mta_sts(name, desired)
            except MailcowApiError as exc:
                if not is_duplicate_row(exc):
                    raise
                client.edit_mta_sts([name], desired)  # an inactive row: switch it on with our values
        else:
            client.edit_mta_sts([name], desired if desired["active"] else retiring(entry["before"]))
        done.append(name)

    warnings = [] if warnings is None else warnings

    def confirm(entry):
        if entry["action"] == "none":
            return entry["before"]
        wanted = entry["desired"] if entry["desired"]["active"] else None
        # mailcow accepted the write: what the read-back sees cannot undo it, so a difference (often a
        # reverse proxy that does not pass Host: mta-sts.<domain> on to mailcow) is a warning, not a failure.
        try:
            served, _text = (reader or client).get_mta_sts(entry["domain"])
        except MailcowApiError as exc:
            warnings.append("%s: mailcow accepted the policy, but reading it back failed: %s" % (entry["domain"], exc))
            return wanted
        if not same_policy(served, wanted) or (served is not None and served.get("invalid")):
            warnings.append(
                "%s: mailcow accepted the policy, but GET %s with Host: mta-sts.%s answers %s; if a reverse proxy is in "
                "front of mailcow, set policy_url to an address that reaches mailcow's mta-sts.php"
                % (entry["domain"], POLICY_PATH, entry["domain"], render_policy(served).strip().replace("\n", "; ") or "no policy (404)")
            )
            return wanted
        return served

    return run_bounded(confirm, plans, workers)


# -------------------------------------------------------------------- what modules call


def _dkim_text(key):
    if not key:
        return ""
    return "selector: %s\nkey_bits: %s\npublic_key: %s\n" % (key["selector"], key["key_bits"], key["public_key"])


def ensure_dkim(client, domains, selector="dkim", key_size=DKIM_STRONG_BITS, allow_weak=False, force=False, check_mode=False):
    """Make every domain in ``domains`` have a DKIM key in mailcow; the body of ``mailcow_dkim``.

    Check mode runs the same plan and stops before the first write. Returns
    ``{"changed", "keys": [...], "diff": [...], "warnings": [...]}``. SpecError for bad input;
    MailcowApiError (with ``changed`` set) for API failures.
    """
    selector = check_selector(selector)
    key_size = check_key_size(key_size, allow_weak)
    names = []
    for index, name in enumerate(as_list(domains, "domains")):
        normalized = normalize_domain(name, "domains[%d]" % index)
        if normalized not in names:
            names.append(normalized)
    plans = plan_dkim(client, names, selector, key_size, force=force)
    warnings = [
        "%s: keeping the existing DKIM key (%s); set force to replace it" % (entry["domain"], entry["mismatch"])
        for entry in plans
        if entry["action"] == "keep" and entry["mismatch"]
    ]
    changing = any(entry["action"] != "keep" for entry in plans)
    keys = [entry["current"] for entry in plans]
    if changing and not check_mode:
        done = []
        try:
            keys = apply_dkim(client, plans, selector, key_size, done=done)
        except MailcowApiError as exc:
            exc.changed = bool(done)
            raise
    results = []
    diffs = []
    for entry, key in zip(plans, keys):
        action = entry["action"]
        predicted = action != "keep" and check_mode
        results.append(
            {
                "domain": entry["domain"],
                "action": action,
                "changed": action != "keep",
                "created": action == "create",
                "replaced": action == "replace",
                "selector": selector if predicted else key["selector"],
                "public_key": None if predicted else key["public_key"],
                "key_bits": key_size if predicted else key["key_bits"],
                "dkim_txt": None if predicted else key["dkim_txt"],
                "mismatch": entry["mismatch"],
            }
        )
        if action != "keep":
            after = "selector: %s\nkey_bits: %d\npublic_key: (new key, made by mailcow)\n" % (selector, key_size) if predicted else _dkim_text(key)
            diffs.append(
                {
                    "before": _dkim_text(entry["current"]),
                    "after": after,
                    "before_header": "mailcow DKIM key of %s (before)" % entry["domain"],
                    "after_header": "mailcow DKIM key of %s (after)" % entry["domain"],
                }
            )
    return {"changed": changing, "keys": results, "diff": diffs, "warnings": warnings}


def certificate_warnings(conf_text, domains, acme_service="acme-mailcow"):
    """Why mailcow's ACME client will not (yet) certify ``mta-sts.<domain>`` for newly served ``domains``.

    Read from mailcow.conf, as ``data/Dockerfiles/acme/acme.sh`` reads its environment: nothing at all
    with ``SKIP_LETS_ENCRYPT=y`` or ``ONLY_MAILCOW_HOSTNAME=y``; ``mta-sts.<domain>`` only with
    ``AUTODISCOVER_SAN=y`` (compose's default when unset) and, since 2026-07a, only for a domain with an
    active policy row; after a successful run it sleeps a day, so a new name waits for the next run.
    """
    if not domains:
        return []

    def is_yes(key, default="n"):
        try:
            values = mailcow.get_values(conf_text, key)
        except MailsecError:
            values = None  # a value over several lines: not one acme.sh would read as "y"
        value = ",".join(values) if values else default
        return bool(re.match(r"^([yY][eE][sS]|[yY])+$", value))

    names = ", ".join("mta-sts.%s" % name for name in domains)
    for key, default, reason in (
        ("SKIP_LETS_ENCRYPT", "n", "SKIP_LETS_ENCRYPT=y"),
        ("ONLY_MAILCOW_HOSTNAME", "n", "ONLY_MAILCOW_HOSTNAME=y"),
    ):
        if is_yes(key, default):
            return ["mailcow's ACME client will not request a certificate for %s (%s in mailcow.conf): senders cannot fetch the "
                    "policy over HTTPS unless another certificate covers it" % (names, reason)]
    if not is_yes("AUTODISCOVER_SAN", "y"):
        return ["mailcow's ACME client requests %s only with AUTODISCOVER_SAN=y, and mailcow.conf says otherwise: set it, then "
                "run `docker compose up -d %s` in the mailcow directory (or cover the names with a certificate of your own)"
                % (names, acme_service)]
    return ["mailcow's ACME client asks for %s on its next run, which can be a day away (it sleeps a day after a successful "
            "one): run `docker compose restart %s` in the mailcow directory to get the certificate now" % (names, acme_service)]


def ensure_mta_sts(client, policies, check_mode=False, reader=None, mailcow_conf=None, acme_service="acme-mailcow"):
    """Make mailcow serve each ``{"domain", "mode", "mx", "max_age", "active"}`` policy; the body of
    ``mailcow_mta_sts_policy``. Check mode runs the same plan and stops before the first write.

    Returns ``{"changed", "policies": [...], "diff": [...], "warnings": [...]}``. SpecError for bad input
    (field and domain named); MailcowApiError (with ``changed`` set) for API failures. ``reader``: see
    ``plan_mta_sts``. ``mailcow_conf`` (the text of mailcow.conf) adds ``certificate_warnings`` for the
    domains whose policy is switched on.
    """
    items = []
    seen = set()
    for index, policy in enumerate(policies or []):
        if not isinstance(policy, dict):
            raise SpecError("policies[%d]" % index, "must be a mapping, got %s" % type(policy).__name__)
        name = normalize_domain(policy.get("domain"), "policies[%d].domain" % index)
        if name in seen:
            raise SpecError("policies[%d].domain" % index, "%s appears more than once" % name, name)
        seen.add(name)
        fields = {key: policy.get(key) for key in ("mode", "mx", "max_age")}
        fields["active"] = True if policy.get("active") is None else policy.get("active")
        items.append({"domain": name, "policy": normalize_mta_sts_policy(fields, name)})
    plans = plan_mta_sts(client, items, reader=reader)
    changing = any(entry["action"] != "none" for entry in plans)
    served = [entry["before"] for entry in plans]
    warnings = []
    if changing and not check_mode:
        done = []
        try:
            served = apply_mta_sts(client, plans, done=done, reader=reader, warnings=warnings)
        except MailcowApiError as exc:
            exc.changed = bool(done)
            raise
    results = []
    diffs = []
    for entry, now in zip(plans, served):
        after = entry["desired"] if entry["action"] != "none" and check_mode else now
        after_text = render_policy(after if entry["desired"]["active"] else None)
        results.append(
            {
                "domain": entry["domain"],
                "action": entry["action"],
                "changed": entry["action"] != "none",
                "active": entry["desired"]["active"],
                "before": entry["before_text"],
                "policy": after_text,
            }
        )
        if entry["action"] != "none":
            diffs.append(
                {
                    "before": entry["before_text"],
                    "after": after_text,
                    "before_header": "mta-sts.%s/.well-known/mta-sts.txt served by mailcow (before)" % entry["domain"],
                    "after_header": "mta-sts.%s/.well-known/mta-sts.txt served by mailcow (after)" % entry["domain"],
                }
            )
    if mailcow_conf is not None:
        switched_on = [entry["domain"] for entry in plans if entry["action"] == "add"]
        warnings.extend(certificate_warnings(mailcow_conf, switched_on, acme_service))
    return {"changed": changing, "policies": results, "diff": diffs, "warnings": warnings}
