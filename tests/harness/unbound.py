# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""unbound as a validating resolver in front of the test BIND: AD for signed zones, SERVFAIL for bogus ones."""

from __future__ import annotations

from harness._process import PortTaken, ProcessServer, tail, write_text
from harness.dnsclient import DnsEndpoint, server_identity
from harness.zones import unrelated_anchor

# RFC 6761/6762/7686/8375 names unbound answers itself by default; tests use them for their zones.
_SPECIAL_ZONES = ("test.", "invalid.", "example.", "local.", "onion.", "home.arpa.",
                  # Reverse zones of loopback (RFC 6303): tests publish PTR records for 127.0.0.x and ::1 there.
                  "127.in-addr.arpa.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.")


class UnboundResolver(DnsEndpoint, ProcessServer):
    """unbound on ``127.0.0.1:<free port>``, forwarding every query to ``forward_to`` and validating.

    ``forward_to``: a BindServer (its ``trust_anchors`` are used unless ``trust_anchors`` is given)
    or an ``(address, port)`` pair. ``trust_anchors``: ``{zone: anchor}``, an anchor being a
    TrustAnchor or DNSKEY/DS presentation text; there is none for the root, so only those zones
    validate (AD set), the rest are insecure (no AD). ``insecure_zones``: zones validation skips
    (their anchors are left out). ``bogus_zones``: zones given an anchor that signed nothing, so
    this resolver answers SERVFAIL for them. Nothing is cached, so a test sees every update at once.
    """

    name = "unbound"

    def __init__(self, forward_to, *, trust_anchors=None, insecure_zones=(), bogus_zones=(), address="127.0.0.1", directory=None,
                 start_timeout=10.0):
        if isinstance(forward_to, tuple):
            self.upstream = forward_to
            anchors = {}
        else:
            self.upstream = (forward_to.address, forward_to.port)
            anchors = forward_to.trust_anchors
        self.trust_anchors = {zone.rstrip("."): anchor for zone, anchor in (anchors if trust_anchors is None else trust_anchors).items()}
        for zone in bogus_zones:
            self.trust_anchors[zone.rstrip(".")] = unrelated_anchor(zone)
        self.insecure_zones = [zone.rstrip(".") for zone in insecure_zones]
        super().__init__("mailsec-unbound-", address, directory, start_timeout)

    def _anchor_lines(self):
        lines = []
        for zone, anchor in self.trust_anchors.items():
            # unbound lets an anchor win over domain-insecure; an insecure zone gets none.
            if zone in self.insecure_zones:
                continue
            for text in _anchor_texts(anchor):
                lines.append('  trust-anchor: "%s"' % text)
        return lines

    def _config(self):
        upstream_address, upstream_port = self.upstream
        lines = [
            "server:",
            "  interface: %s@%d" % (self.address, self.port),
            "  port: %d" % self.port,
            "  do-ip6: no",
            # The upstream BIND is on loopback; unbound refuses to ask loopback by default.
            "  do-not-query-localhost: no",
            "  so-reuseport: no",
            '  username: ""',
            '  chroot: ""',
            '  directory: "%s"' % self._dir.path,
            '  pidfile: "%s"' % self._dir.join("unbound.pid"),
            '  logfile: ""',
            "  use-syslog: no",
            "  log-time-ascii: yes",
            "  verbosity: 1",
            "  val-log-level: 2",
            "  num-threads: 1",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "validator iterator"',
            '  identity: "%s"' % self._token,
            "  hide-identity: no",
            "  trust-anchor-signaling: no",
            "  root-key-sentinel: no",
            "  qname-minimisation: no",
            "  cache-max-ttl: 0",
            "  cache-max-negative-ttl: 0",
            "  val-bogus-ttl: 0",
            "  infra-host-ttl: 1",
            "  infra-keep-probing: yes",
            "  prefetch: no",
        ]
        lines += ['  local-zone: "%s" nodefault' % zone for zone in _SPECIAL_ZONES]
        lines += ['  domain-insecure: "%s"' % zone for zone in self.insecure_zones]
        lines += self._anchor_lines()
        lines += [
            "remote-control:",
            "  control-enable: no",
            "forward-zone:",
            '  name: "."',
            "  forward-addr: %s@%d" % (upstream_address, upstream_port),
            "  forward-no-cache: yes",
        ]
        return "\n".join(lines) + "\n"

    @property
    def log_path(self):
        return self._dir.join("unbound.log")

    def log_tail(self, lines=40):
        """The last lines of unbound's log (with val-log-level 2 it says why an answer is bogus)."""
        return tail(self.log_path, lines)

    def _command(self):
        config = write_text(self._dir.join("unbound.conf"), self._config())
        return ["unbound", "-d", "-c", config], self.log_path

    def _ready(self, _log_offset):
        # unbound exits when its port is taken, and the end of its log says why: no offset is needed.
        if not self._process.running:
            if "address already in use" in self.log_tail(10).lower():
                raise PortTaken("unbound: port %d taken by another process" % self.port)
            self._process.require_running(self.log_tail)
        return all(server_identity(self.address, self.port, tcp=tcp) == self._token for tcp in (True, False))


def _anchor_texts(anchor):
    if isinstance(anchor, str):
        return [anchor]
    if isinstance(anchor, (list, tuple)) and not hasattr(anchor, "dnskey"):
        return list(anchor)
    # A TrustAnchor: the DNSKEY alone is enough, and a bogus anchor has no DS.
    return [anchor.dnskey]
