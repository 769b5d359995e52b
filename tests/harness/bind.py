# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""BIND 9 (``named -g``) as the DNS of a test world: primary zones with RFC 2136 + TSIG, DNSSEC, faults."""

from __future__ import annotations

import re
import signal

import dns.exception
import dns.query
import dns.tsigkeyring
import dns.update
import dns.zone

from harness import zones as zonefiles
from harness._process import PortTaken, ProcessServer, ServerError, read_from, run_tool, tail, wait_until, write_text
from harness.blackhole import Blackhole
from harness.dnsclient import DnsEndpoint, ask, server_identity

TSIG_ALGORITHM = "hmac-sha256"
_SECRET = re.compile(r'secret\s+"([^"]+)"')
# named logs this line once every zone has been loaded (or has failed to load).
_RUNNING = re.compile(r"(^|\s)running$", re.MULTILINE)
# What named logs when its port is taken (it then exits, or runs without that socket).
_PORT_TAKEN = ("address in use", "interface ignored", "unable to listen on any configured interfaces")


def _origin(name):
    origin = name.strip().rstrip(".").lower()
    if not origin:
        raise ValueError("the root zone belongs to the harness; use a zone below it")
    return origin


class BindServer(DnsEndpoint, ProcessServer):
    """BIND on ``127.0.0.1:<free port>`` (UDP and TCP), everything in a temporary directory.

    ``zones``: ``{origin: content}``; content is zone lines (``str``), records
    (``{name, type, value, ttl?}``; TXT values are split into 255-octet strings) or a mix.
    Zones without an SOA get one, with ``ns.<origin>`` at 127.0.0.1. Every zone is a primary that
    accepts RFC 2136 updates signed with the TSIG key (``tsig_name``/``tsig_secret``, hmac-sha256).
    ``dnssec_zones``: origins signed with a KSK and ZSK (trust anchors in ``trust_anchors``);
    BIND signs later updates with the same keys. ``bogus_zones``: signed, but their trust anchor
    is a key that signed nothing, so validating resolvers answer SERVFAIL.
    ``servfail_zones``: zones whose file does not load (SERVFAIL). ``timeout_zones``: names
    forwarded to a port that never answers: clients time out (BIND itself gives up after 30 s).
    ``check_integrity=False`` lets updates add an MX or NS whose in-zone target has no address.
    ``check_names=False`` lets zone files and updates hold names that are not host names where BIND
    wants one (an A record at ``a b%c``, legal in DNS (RFC 2181 11) and in SPF's macro tests).
    Names outside every zone get NXDOMAIN from a stand-in root zone, never a query to the Internet.
    """

    name = "named"

    def __init__(self, zones=None, *, dnssec_zones=(), bogus_zones=(), servfail_zones=(), timeout_zones=(),
                 tsig=True, tsig_name="mailsec-update", check_integrity=True, check_names=True, address="127.0.0.1",
                 directory=None, start_timeout=10.0):
        super().__init__("mailsec-bind-", address, directory, start_timeout)
        self.check_integrity = check_integrity
        self.check_names = check_names
        self._blackhole = None
        self._zones = {}  # origin -> file name BIND loads
        self.trust_anchors = {}
        self.servfail_zones = [_origin(name) for name in servfail_zones]
        self.timeout_zones = [_origin(name) for name in timeout_zones]
        self.tsig_name = tsig_name if tsig else None
        self.tsig_algorithm = TSIG_ALGORITHM if tsig else None
        self.tsig_secret = None
        try:
            self._prepare(zones, dnssec_zones, bogus_zones)
        except BaseException:
            self._dir.cleanup()
            raise

    def _prepare(self, zones, dnssec_zones, bogus_zones):
        if self.tsig_name:
            key_text = run_tool(["tsig-keygen", "-a", TSIG_ALGORITHM, self.tsig_name], self._dir.path)
            self.tsig_secret = _SECRET.search(key_text).group(1)
            write_text(self._dir.join("tsig.key"), key_text, mode=0o600)
        signed = {_origin(name) for name in dnssec_zones} | {_origin(name) for name in bogus_zones}
        bogus = {_origin(name) for name in bogus_zones}
        for origin, content in (zones or {}).items():
            self._write_zone(_origin(origin), content, _origin(origin) in signed, _origin(origin) in bogus)
        missing = signed - set(self._zones)
        if missing:
            raise ValueError("dnssec_zones/bogus_zones name zones not in zones: %s" % ", ".join(sorted(missing)))
        for origin in self.servfail_zones:
            write_text(self._dir.join(zonefiles.file_stem(origin)), zonefiles.broken_zone_text(origin))

    # ----- configuration -----------------------------------------------------------------

    @property
    def zones(self):
        """The origins of the zones BIND serves (without servfail/timeout zones)."""
        return sorted(self._zones)

    @property
    def tsig_key(self):
        """The TSIG key as a mapping ``{name, algorithm, secret}``, or None without TSIG."""
        if not self.tsig_name:
            return None
        return {"name": self.tsig_name, "algorithm": self.tsig_algorithm, "secret": self.tsig_secret}

    def tsig_keyring(self):
        """A dnspython keyring holding the update key."""
        return dns.tsigkeyring.from_text({self.tsig_name: self.tsig_secret})

    def _write_zone(self, origin, content, signed=False, bogus=False):
        stem = zonefiles.file_stem(origin)
        write_text(self._dir.join(stem), zonefiles.render_zone(origin, content))
        if signed:
            anchor = zonefiles.sign_zone(origin, self._dir.join(stem), self._dir.join("keys", stem), self._dir.join(stem + ".signed"))
            self.trust_anchors[origin] = zonefiles.unrelated_anchor(origin) if bogus else anchor
            stem += ".signed"
        self._zones[origin] = stem

    def _root_zone(self):
        lines = ['_mailsec-harness 60 IN TXT "%s"' % self._token]
        for origin in self.timeout_zones:
            # A delegation makes BIND recurse for these names, and the forward zone sends that to the blackhole.
            lines += ["%s. IN NS ns.%s." % (origin, origin), "ns.%s. IN A 127.0.0.1" % origin]
        return zonefiles.render_zone(".", lines)

    def _config(self):
        quote = '"%s"'.__mod__
        lines = []
        if self.tsig_name:
            lines.append("include %s;" % quote(self._dir.join("tsig.key")))
        lines += [
            "options {",
            "  directory %s;" % quote(self._dir.path),
            "  pid-file %s;" % quote(self._dir.join("named.pid")),
            "  session-keyfile %s;" % quote(self._dir.join("session.key")),
            "  managed-keys-directory %s;" % quote(self._dir.path),
            "  dump-file %s;" % quote(self._dir.join("cache.dump")),
            "  statistics-file %s;" % quote(self._dir.join("named.stats")),
            "  listen-on port %d { %s; };" % (self.port, self.address),
            "  listen-on-v6 { none; };",
            # Without this, two servers given the same port would share it silently.
            "  reuseport no;",
            "  server-id %s;" % quote(self._token),
            "  recursion yes;",
            "  allow-recursion { 127.0.0.0/8; };",
            "  allow-query { 127.0.0.0/8; };",
            "  allow-transfer { 127.0.0.0/8; };",
            "  dnssec-validation no;",
            "  notify no;",
            "  empty-zones-enable no;",
            "  resolver-query-timeout 30000;",
            "  max-cache-size 16m;",
            "  check-integrity %s;" % ("yes" if self.check_integrity else "no"),
            "  check-names primary %s;" % ("fail" if self.check_names else "ignore"),
            "};",
            # No rndc channel: the default one on 127.0.0.1#953 would clash between servers.
            "controls { };",
            'zone "." { type primary; file "db.root"; };',
        ]
        update = "allow-update { key %s; };" % quote(self.tsig_name) if self.tsig_name else "allow-update { none; };"
        for origin, stem in sorted(self._zones.items()):
            extra = ""
            if stem.endswith(".signed"):
                extra = " key-directory %s;" % quote(self._dir.join("keys", stem[:-len(".signed")]))
            lines.append('zone "%s" { type primary; file %s; %s%s };' % (origin, quote(stem), update, extra))
        for origin in self.servfail_zones:
            lines.append('zone "%s" { type primary; file %s; };' % (origin, quote(zonefiles.file_stem(origin))))
        for origin in self.timeout_zones:
            lines.append('zone "%s" { type forward; forward only; forwarders { %s port %d; }; };'
                         % (origin, self._blackhole.address, self._blackhole.port))
        return "\n".join(lines) + "\n"

    def _write_config(self):
        write_text(self._dir.join("db.root"), self._root_zone())
        write_text(self._dir.join("named.conf"), self._config())

    # ----- life cycle --------------------------------------------------------------------

    @property
    def log_path(self):
        return self._dir.join("named.log")

    def log_tail(self, lines=40):
        """The last lines of named's log (zone load errors, refused updates and why)."""
        return tail(self.log_path, lines)

    def start(self):
        """Start named; on the first start pick a free port (retrying if another process takes it)."""
        if not self.running and self.timeout_zones and self._blackhole is None:
            self._blackhole = Blackhole(self.address).start()
        return super().start()

    def _command(self):
        self._write_config()
        return ["named", "-g", "-4", "-n", "1", "-c", self._dir.join("named.conf")], self.log_path

    def _ready(self, log_offset):
        log = read_from(self.log_path, log_offset)
        if any(sign in log for sign in _PORT_TAKEN):
            raise PortTaken("named: port %d taken by another process" % self.port)
        self._process.require_running(self.log_tail)
        if not _RUNNING.search(log):
            return False
        # The token proves that this server answers, over both transports (TCP first: a closed
        # TCP port fails at once, a UDP query waits for its timeout); the stand-in root holds it too.
        if not all(server_identity(self.address, self.port, tcp=tcp) == self._token for tcp in (True, False)):
            return False
        try:
            answer = ask(self.address, self.port, "_mailsec-harness.", "TXT", timeout=0.5)
        except (dns.exception.DNSException, OSError):
            return False
        if answer.records != ['"%s"' % self._token]:
            raise ServerError("named: the stand-in root zone did not load\n%s" % self.log_tail())
        return True

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        """Stop everything and remove the temporary directory."""
        self.stop()
        if self._blackhole is not None:
            self._blackhole.stop()
            self._blackhole = None
        super().close()

    # ----- zones at run time -------------------------------------------------------------

    def add_zone(self, origin, content=(), *, dnssec=False, bogus=False, timeout=5.0):
        """Add a primary zone to the running server (config rewritten, SIGHUP) and wait until it answers."""
        origin = _origin(origin)
        if origin in self._zones:
            raise ValueError("zone %s exists already" % origin)
        self._write_zone(origin, content, dnssec or bogus, bogus)
        self._write_config()
        if self.running:
            self._process.signal(signal.SIGHUP)
            wait_until(lambda: self._serves(origin), timeout, "named: new zone %s" % origin, self.log_tail)

    def _serves(self, origin):
        self._process.require_running(self.log_tail)
        try:
            answer = ask(self.address, self.port, origin, "SOA", tcp=True, timeout=0.25)
        except (dns.exception.DNSException, OSError):
            return False
        return answer.rcode == "NOERROR" and answer.authoritative and bool(answer.records)

    def transfer(self, origin, timeout=5.0):
        """The zone as BIND serves it now (AXFR), as a ``dns.zone.Zone``."""
        return dns.zone.from_xfr(dns.query.xfr(self.address, _origin(origin), port=self.port, lifetime=timeout))

    def new_update(self, origin, *, keyname=None, secret=None, algorithm=None):
        """An RFC 2136 UPDATE for ``origin`` signed with the server's key (or the key given)."""
        keyname = keyname or self.tsig_name
        secret = secret or self.tsig_secret
        if not keyname:
            return dns.update.UpdateMessage(_origin(origin))
        return dns.update.UpdateMessage(
            _origin(origin),
            keyring=dns.tsigkeyring.from_text({keyname: secret}),
            keyname=keyname,
            keyalgorithm=algorithm or TSIG_ALGORITHM,
        )

    def send(self, message, timeout=5.0):
        """Send an UPDATE (or any message) over TCP; return the response."""
        return dns.query.tcp(message, self.address, port=self.port, timeout=timeout)
