# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A contract stand-in of the mailcow API: NOT mailcow, a small HTTPS server that answers like it.

mailcow's own API runs in the tests too (``harness.mailcow``, the real-mailcow tier); this server stays for
what the real one cannot be made to do: faults (malformed answers, delays, redirects, a domain vanishing
mid-run), HTTPS in front, and tests that must run without MAILCOW_SOURCE. It implements just the routes the
collection uses, with the status codes and JSON shapes of mailcow-dockerized (master 06424670f, see
docs/mailcow-api.md), and ``test_the_stand_in_answers_like_the_real_mailcow`` compares its answers with
mailcow's own (integer flags, envelopes, content types, status codes):

- ``data/web/inc/sessions.inc.php``: ``X-API-Key`` (characters outside ``[a-zA-Z0-9-]`` stripped),
  401 ``{"type": "error", "msg": "authentication failed"}`` as ``text/html``; a request without a key gets
  an empty 200 answer on ``get`` routes and 200 ``[{"type": "danger", "msg": "access_denied"}]`` on writes.
- ``data/web/json_api.php``: routes, 403 ``API read/write access denied`` for read-only keys on
  add/edit/delete, 404 ``route not found``, 405, 400 for a body that is not JSON, the answer shapes of
  ``process_get_return`` (``{}`` when empty) and ``process_add/edit/delete_return`` (the message list,
  or ``{"type": "success", "msg": "Task completed"}`` when none was left).
- ``data/web/inc/functions.dkim.inc.php``: ``dkim('add'|'delete'|'details')`` including the
  ``length`` guess from the key text, ``dkim_txt``, ``$SPLIT_DKIM_255`` and ``$SHOW_DKIM_PRIV_KEYS``.
- ``data/web/inc/functions.mailbox.inc.php``: ``domains``/``domain_details`` (alias domains answer
  with their target) and ``mta_sts`` add/edit with mailcow's checks and messages.
- ``data/web/mta-sts.php``: the policy served at ``/.well-known/mta-sts.txt`` to ``Host: mta-sts.<d>``.

State is in memory (``domains``, ``alias_domains``, ``dkim``, ``mta_sts``, ``api_keys``), open for
tests to set up and inspect. Fault knobs: ``add_fault()`` (malformed JSON, HTML, an empty answer, an
HTTP status, a delay, a redirect) and ``vanish_on_dkim()`` (a domain deleted between the domain list
and its DKIM read). It binds 127.0.0.1 on a free port with a certificate from a ``trustme`` CA, runs
in a thread, and stops when its ``with`` block ends; every wait in it is bounded.
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.mailcow import api_request

RW_KEY = "RWKEY-0123456789-abcdef"
RO_KEY = "ROKEY-9876543210-fedcba"
_KEY_CHARS = re.compile(r"[^a-zA-Z0-9-]")
# functions.inc.php is_valid_domain_name (without the IDN step).
_VALID_DOMAIN = re.compile(r"^([a-z\d](-*[a-z\d])*)(\.([a-z\d](-*[a-z\d])*))*$", re.IGNORECASE)
_HANDLER_TIMEOUT = 10
_MAX_DELAY = 30


def _valid_domain(name, allow_wildcard=False):
    if not isinstance(name, str) or not name:
        return False
    if allow_wildcard and name.startswith("*."):
        name = name[2:]
    return bool(_VALID_DOMAIN.match(name)) and 1 <= len(name) <= 253 and all(1 <= len(label) <= 63 for label in name.split("."))


def make_dkim_key(bits):
    """``(public_key_base64, private_pem)`` as mailcow stores them (PEM body lines joined)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    body = "".join(line for line in public_pem.strip().splitlines()[1:-1])
    return body, private_pem


class Fault:
    """One injected misbehaviour for requests whose path contains ``match``; ``times=None`` is forever."""

    def __init__(self, match, kind, times=None, value=None):
        self.match = match
        self.kind = kind
        self.times = times
        self.value = value


class MailcowStandin:
    """The stand-in server. Use as ``with MailcowStandin() as mailcow: ... mailcow.url ...``."""

    def __init__(self, ca=None, native_mta_sts=True):
        self.ca = ca or trustme.CA()
        self.native_mta_sts = native_mta_sts
        self.api_keys = {RW_KEY: "rw", RO_KEY: "ro"}
        self.domains = {}
        self.alias_domains = {}
        self.dkim = {}  # domain -> {"pubkey", "selector", "privkey"}
        self.mta_sts = {}  # domain -> row {"id", "version", "mode", "mx", "max_age", "active"}
        self.split_dkim_255 = False
        self.show_dkim_priv_keys = False
        self.version = "2026-07a"
        self.requests = []  # (method, path, host, key_kind)
        self.max_in_flight = 0
        self.errors = []  # exceptions raised while serving (mostly clients that hung up)
        self._in_flight = 0
        self._faults = []
        self._vanish = set()
        self.refuse_dkim_add = set()  # domains whose key generation fails (mailcow: dkim_domain_or_sel_invalid)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server = None
        self._thread = None
        self._tmp = None
        self.ca_path = None
        self.url = None

    # ------------------------------------------------------------ setup helpers

    def add_domain(self, name, active=True, backupmx=False, description=None, tags=None, dkim_bits=2048, selector="dkim", key=None):
        """A mail domain as mailcow's add does it: with a DKIM key unless ``dkim_bits`` is None."""
        with self._lock:
            flag = 1 if active else 0
            backup = 1 if backupmx else 0
            # The fields and JSON types of mailcow's get/domain (2026-07a): flags are integers.
            details = {
                "max_new_mailbox_quota": 10737418240,
                "def_new_mailbox_quota": 1073741824,
                "quota_used_in_domain": "0",
                "bytes_total": 0,
                "msgs_total": 0,
                "mboxes_in_domain": 0,
                "mboxes_left": 10,
                "domain_name": name,
                "domain_h_name": name,
                "description": description if description is not None else name,
                "max_num_aliases_for_domain": 400,
                "max_num_mboxes_for_domain": 10,
                "def_quota_for_mbox": 1073741824,
                "max_quota_for_mbox": 10737418240,
                "max_quota_for_domain": 10737418240,
                "relayhost": "0",
                "backupmx": backup,
                "backupmx_int": backup,
                "gal": 1,
                "gal_int": 1,
                "rl": False,
                "active": flag,
                "active_int": flag,
                "relay_all_recipients": 0,
                "relay_all_recipients_int": 0,
                "relay_unknown_only": 0,
                "relay_unknown_only_int": 0,
                "created": "2026-01-01 00:00:00",
                "modified": None,
                "aliases_in_domain": 0,
                "aliases_left": 400,
                "domain_admins": "-",
            }
            if tags:
                details["tags"] = list(tags)
            self.domains[name] = details
        if key is not None:
            self.set_dkim(name, key[0], selector, key[1])
        elif dkim_bits:
            public, private = make_dkim_key(dkim_bits)
            self.set_dkim(name, public, selector, private)

    def set_dkim(self, domain, public_key, selector="dkim", private_pem="-----BEGIN PRIVATE KEY-----\nstand-in\n-----END PRIVATE KEY-----"):
        with self._lock:
            self.dkim[domain] = {"pubkey": public_key, "selector": selector, "privkey": private_pem}

    def remove_domain(self, name):
        """mailbox('delete', 'domain'): the domain and its MTA-STS row go; its DKIM key stays."""
        with self._lock:
            self.domains.pop(name, None)
            self.mta_sts.pop(name, None)

    def add_fault(self, match, kind, times=None, value=None):
        """kinds: ``malformed_json``, ``html``, ``empty``, ``json`` (value: any JSON answer), ``status``
        (value: code), ``delay`` (value: seconds, then the normal answer), ``redirect`` (value: Location)."""
        with self._lock:
            self._faults.append(Fault(match, kind, times, value))

    def clear_faults(self):
        with self._lock:
            self._faults = []
            self._vanish = set()

    def vanish_on_dkim(self, domain):
        """The next DKIM read of ``domain`` finds it deleted (and without key), as if an admin just removed it."""
        with self._lock:
            self._vanish.add(domain)

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        self._tmp = tempfile.mkdtemp(prefix="mailcow-standin-")
        self.ca_path = os.path.join(self._tmp, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        standin = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                # Clients that give up (timeouts, refused certificates) are part of the tests: keep
                # what happened for assertions instead of printing tracebacks.
                with standin._lock:
                    standin.errors.append(sys.exc_info()[1])

            def get_request(self):
                sock, address = super().get_request()
                # The handshake runs in the handler thread, so a stalled client cannot block accept().
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

        handler = type("Handler", (_Handler,), {"standin": standin})
        self._server = Server(("127.0.0.1", 0), handler)
        self.url = "https://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        for name in os.listdir(self._tmp):
            os.unlink(os.path.join(self._tmp, name))
        os.rmdir(self._tmp)

    def request(self, method, path, body=None, key=None, host=None, timeout=10.0):
        """One HTTP request as ``harness.mailcow.MailcowApi.request`` makes it: ``(status, content_type, text)``."""
        context = ssl.create_default_context(cafile=self.ca_path)
        return api_request(self.url + path, method, body=body, key=key, host=host, timeout=timeout, context=context)

    # ------------------------------------------------------------ request plumbing

    def _take_fault(self, path):
        with self._lock:
            for fault in self._faults:
                if fault.match in path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _enter(self):
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self):
        with self._lock:
            self._in_flight -= 1

    def sleep(self, seconds):
        self._stop.wait(min(float(seconds), _MAX_DELAY))

    # ------------------------------------------------------------ mailcow logic

    def has_domain_access(self, domain):
        # functions.inc.php hasDomainAccess for role admin: the domain or an alias domain exists.
        return _valid_domain(domain) and (domain in self.domains or domain in self.alias_domains)

    def domain_details(self, name):
        name = self.alias_domains.get(name, name)
        return self.domains.get(name)

    def dkim_details(self, domain):
        entry = self.dkim.get(domain)
        if not entry:
            return {}
        pubkey = entry["pubkey"]
        size = len(pubkey)
        length = "1024" if size < 391 else "2048" if size < 564 else "3072" if size < 736 else "4096" if size < 1416 else ">= 8192"
        txt = "v=DKIM1;k=rsa;t=s;s=email;p=" + pubkey
        if self.split_dkim_255:
            txt = '"%s"' % '" "'.join(txt[i:i + 255] for i in range(0, len(txt), 255))
        privkey = base64.b64encode(entry["privkey"].encode()).decode() if self.show_dkim_priv_keys else ""
        return {"pubkey": pubkey, "length": length, "dkim_txt": txt, "dkim_selector": entry["selector"], "privkey": privkey}

    def dkim_add(self, data):
        returns = []
        try:
            key_length = int(str(data.get("key_size", "0")).strip() or 0)
        except ValueError:
            key_length = 0
        selector = data.get("dkim_selector", "dkim")
        domains = [d.strip() for d in re.split(r"[ ,;\n]", str(data.get("domains", ""))) if d.strip()]
        for domain in domains:
            log = ["dkim", "add", data]
            if not _valid_domain(domain) or domain in self.dkim or not re.sub(r"[-_.]", "", str(selector)).isalnum():
                returns.append({"type": "danger", "log": log, "msg": ["dkim_domain_or_sel_invalid", domain]})
                continue
            if not self.has_domain_access(domain):
                returns.append({"type": "danger", "log": log, "msg": ["access_denied", domain]})
                continue
            if key_length < 1024 or key_length > 8192 or domain in self.refuse_dkim_add:
                returns.append({"type": "danger", "log": log, "msg": ["dkim_domain_or_sel_invalid", domain]})
                continue
            public, private = make_dkim_key(key_length)
            self.set_dkim(domain, public, selector, private)
            returns.append({"type": "success", "log": log, "msg": ["dkim_added", domain]})
        return returns

    def dkim_delete(self, items):
        returns = []
        for domain in items:
            if not _valid_domain(domain):
                returns.append({"type": "danger", "log": ["dkim", "delete", {"domains": items}], "msg": ["dkim_domain_or_sel_invalid", domain]})
                continue
            self.dkim.pop(domain, None)
            returns.append({"type": "success", "log": ["dkim", "delete", {"domains": items}], "msg": ["dkim_removed", domain]})
        return returns

    @staticmethod
    def _check_policy(version, mode, max_age, mx, max_age_limit):
        if not version or version not in ("stsv1",):
            return "version_invalid"
        if not mode or mode not in ("enforce", "testing", "none"):
            return "mode_invalid"
        if not max_age or max_age < 0 or max_age > max_age_limit:
            return "max_age_invalid"
        for host in mx:
            if not _valid_domain(host.strip().lower(), allow_wildcard=True):
                return "mx_invalid"
        return None

    @staticmethod
    def _intval(value):
        match = re.match(r"^\s*(-?\d+)", str(value))
        return int(match.group(1)) if match else 0

    def mta_sts_add(self, data):
        domain = str(data.get("domain", "")).strip().lower()
        log = ["mailbox", "add", "mta_sts", data]
        if not self.has_domain_access(domain):
            return [{"type": "danger", "log": log, "msg": "access_denied"}]
        version = str(data.get("version", "")).lower()
        mode = str(data.get("mode", "")).lower()
        mx = re.sub(r"\s+", "", str(data.get("mx", ""))).split(",")
        max_age = self._intval(data.get("max_age", 0))
        problem = self._check_policy(version, mode, max_age, mx, 31536000)
        if problem:
            return [{"type": "danger", "log": log, "msg": [problem, domain]}]
        if domain in self.mta_sts:
            message = "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry '%s' for key 'PRIMARY'" % domain
            return [{"type": "danger", "log": log, "msg": message}]
        self.mta_sts[domain] = {
            "id": time.strftime("%Y%m%d%H%M%S"),
            "version": version,
            "mode": mode,
            "mx": mx,
            "max_age": str(max_age),
            "active": 1 if self._intval(data.get("active", 0)) == 1 else 0,
        }
        return None  # mailcow leaves no message: the generic "Task completed" answer follows

    def mta_sts_edit(self, items, attr):
        returns = []
        for domain in items if isinstance(items, list) else [items]:
            domain = str(domain).strip().lower()
            log = ["mailbox", "edit", "mta_sts", attr]
            row = self.mta_sts.get(domain)
            if not self.has_domain_access(domain) or row is None:
                returns.append({"type": "danger", "log": log, "msg": "access_denied"})
                continue
            # A missing attribute comes from mailbox('get', 'mta_sts'), which returns the version as "STSv1"
            # (not lowered again): an edit without version fails with version_invalid, as in mailcow.
            version = str(attr["version"]).lower() if "version" in attr else row["version"][:3].upper() + row["version"][3:]
            active = (1 if self._intval(attr["active"]) == 1 else 0) if "active" in attr else row["active"]
            mode = str(attr["mode"]).lower() if "mode" in attr else row["mode"]
            mx = re.sub(r"\s+", "", str(attr["mx"])).split(",") if "mx" in attr else row["mx"]
            max_age = self._intval(attr["max_age"]) if "max_age" in attr else self._intval(row["max_age"])
            problem = self._check_policy(version, mode, max_age, mx, 31557600)
            if problem:
                returns.append({"type": "danger", "log": log, "msg": [problem, domain]})
                continue
            changed = version != row["version"] or mode != row["mode"] or mx != row["mx"] or str(max_age) != row["max_age"]
            row.update({"version": version, "mode": mode, "mx": mx, "max_age": str(max_age), "active": active})
            if changed:
                row["id"] = time.strftime("%Y%m%d%H%M%S")
            returns.append({"type": "success", "log": log, "msg": ["object_modified", domain]})
        return returns

    def served_policy(self, host):
        """data/web/mta-sts.php: (status, text)."""
        host = re.sub(r":[0-9]+$", "", host or "").lower()
        if not host.startswith("mta-sts."):
            return 404, ""
        domain = host[len("mta-sts."):]
        domain = self.alias_domains.get(domain, domain)
        row = self.mta_sts.get(domain)
        if not self.native_mta_sts or not row or row["active"] != 1:
            return 404, ""
        version = row["version"][:3].upper() + row["version"][3:]
        lines = ["version: %s" % version, "mode: %s" % row["mode"], "max_age: %s" % row["max_age"]]
        lines.extend("mx: %s" % host for host in row["mx"])
        return 200, "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    standin = None
    protocol_version = "HTTP/1.1"
    timeout = _HANDLER_TIMEOUT
    server_version = "mailcow-standin"

    def log_message(self, format, *args):  # keep test output quiet
        return

    def _reply(self, status, body, content_type="application/json", extra_headers=None):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _json(self, status, value):
        self._reply(status, json.dumps(value, indent=4))

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method):
        standin = self.standin
        standin._enter()
        try:
            self._dispatch(method)
        finally:
            standin._leave()

    def _dispatch(self, method):
        standin = self.standin
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        key = self.headers.get("X-API-Key")
        kind = standin.api_keys.get(_KEY_CHARS.sub("", key)) if key else None
        with standin._lock:
            standin.requests.append((method, self.path, self.headers.get("Host"), kind or ("none" if key is None else "bad")))
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(min(length, 1 << 20))

        fault = standin._take_fault(self.path)
        if fault is not None:
            if fault.kind == "delay":
                standin.sleep(fault.value or 5)
            elif fault.kind == "malformed_json":
                return self._reply(200, '[{"domain_name": "example.com", "active": "1"')
            elif fault.kind == "html":
                return self._reply(200, "<html><body>502 Bad Gateway</body></html>", "text/html")
            elif fault.kind == "json":
                return self._json(200, fault.value)
            elif fault.kind == "empty":
                return self._reply(200, b"")
            elif fault.kind == "status":
                return self._json(fault.value or 500, {"type": "error", "msg": "stand-in fault"})
            elif fault.kind == "redirect":
                return self._reply(302, b"", "text/html", {"Location": fault.value or "https://elsewhere.example/"})

        if path == "/.well-known/mta-sts.txt" and method == "GET":
            with standin._lock:
                status, text = standin.served_policy(self.headers.get("Host"))
            return self._reply(status, text, "text/plain; charset=utf-8" if status == 200 else "text/html; charset=UTF-8")

        if not path.startswith("/api/v1/"):
            return self._reply(404, "<html>404 Not Found</html>", "text/html")

        # sessions.inc.php: a key that is sent must exist, else 401 (sent before json_api.php sets its JSON type).
        if key is not None and kind is None:
            return self._reply(401, json.dumps({"type": "error", "msg": "authentication failed"}), "text/html; charset=UTF-8")
        query = path[len("/api/v1/"):].split("/")
        action = query[0]
        category = query[1] if len(query) > 1 else None
        obj = urllib.parse.unquote(query[2]) if len(query) > 2 else None

        if action == "get":
            if method != "GET":
                return self._json(405, {"type": "error", "msg": "only GET method is allowed"})
            if kind is None:
                return self._reply(200, b"")  # no session: json_api.php prints nothing
            return self._get(category, obj, urllib.parse.parse_qs(parsed.query))
        if action in ("add", "edit", "delete"):
            if kind is None:
                # No session: the route runs without a role and mailcow's access check refuses, with HTTP 200.
                log = ["mailbox", action, category.replace("-", "_") if category else None, None, None]
                return self._json(200, [{"type": "danger", "log": log, "msg": "access_denied"}])
            if kind != "rw":
                return self._json(403, {"type": "error", "msg": "API read/write access denied"})
            if "application/json" in (self.headers.get("Content-Type") or ""):
                try:
                    decoded = json.loads(body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    return self._json(400, {"type": "error", "msg": "Request body doesn't contain valid json!"})
            else:
                return self._json(200, {"type": "error", "msg": "Cannot find attributes in post data"})
            if method != "POST":
                return self._json(405, {"type": "error", "msg": "only POST method is allowed"})
            return self._write(action, category, decoded)
        return self._json(404, {"type": "error", "msg": "route not found"})

    def _get(self, category, obj, params):
        standin = self.standin
        with standin._lock:
            if category == "domain":
                if obj == "all":
                    names = list(standin.domains)
                    if params.get("tags"):
                        wanted = params["tags"][0].split(",")
                        # functions.mailbox.inc.php: tag_name LIKE '%tag%' for each tag, case-insensitive.
                        names = [
                            n for n in names
                            if any(any(t.lower() in tag.lower() for tag in standin.domains[n].get("tags", [])) for t in wanted)
                        ]
                    data = [dict(standin.domains[n]) for n in names]
                    return self._reply(200, json.dumps(data, indent=4) if data else "{}")
                details = standin.domain_details((obj or "").lower())
                return self._reply(200, json.dumps(details, indent=4) if details else "{}")
            if category == "dkim":
                if obj in standin._vanish:
                    standin._vanish.discard(obj)
                    standin.remove_domain(obj)
                    standin.dkim.pop(obj, None)
                details = standin.dkim_details(obj)
                return self._reply(200, json.dumps(details, indent=4) if details else "{}")
            if category == "status" and obj == "version":
                return self._json(200, {"version": standin.version})
        return self._json(404, {"type": "error", "msg": "route not found"})

    def _write(self, action, category, decoded):
        standin = self.standin
        generic = {
            "add": ({"type": "success", "msg": "Task completed"}, {"type": "error", "msg": "Cannot add item"}),
            "edit": ({"type": "success", "msg": "Task completed"}, {"type": "error", "msg": "Cannot edit item"}),
            "delete": ({"type": "success", "msg": "Task completed"}, {"type": "error", "msg": "Cannot delete item"}),
        }[action]
        with standin._lock:
            if action == "add" and category == "dkim" and isinstance(decoded, dict):
                returns = standin.dkim_add(decoded)
            elif action == "delete" and category == "dkim":
                returns = standin.dkim_delete(decoded if isinstance(decoded, list) else [decoded])
            elif action == "add" and category == "mta-sts" and standin.native_mta_sts and isinstance(decoded, dict):
                returns = standin.mta_sts_add(decoded)
            elif action == "edit" and category == "mta-sts" and standin.native_mta_sts and isinstance(decoded, dict):
                returns = standin.mta_sts_edit(decoded.get("items") or [], decoded.get("attr") or {})
            else:
                return self._json(404, {"type": "error", "msg": "route not found"})
        return self._json(200, returns if returns else generic[0])
