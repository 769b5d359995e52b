# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publish records with RFC 2136 dynamic updates signed with TSIG (RFC 8945).

Private to the collection: users may rely only on plugins and modules.

The flow, for every zone the records belong to:

1. Ask the primary for the zone's SOA, signed with the key (is the zone served here,
   authoritatively? does the server accept the key?).
2. Read the current RRset of every managed (name, type) pair with ordinary queries over TCP,
   pipelined on one connection. Queries, not a zone transfer: they need no ``allow-transfer``
   grant, cost what the managed set costs whatever the zone's size, see exactly what the primary
   serves (no resolver cache in between), and TCP carries RRsets of any size (4096-bit DKIM keys,
   many TLSA values) without truncation. Each zone gets its own short connections, one to read
   and one to update: servers close idle ones and limit how many are open.
3. Compare with the desired records; a pair whose RRset already holds exactly the wanted values
   and TTL is left alone.
4. Turn every differing pair into prerequisites (RFC 2136 2.4: "RRset exists (value dependent)"
   with exactly the values read, or "RRset does not exist"; "name is not in use" before a CNAME)
   followed by "delete RRset" and "add" updates, and pack as many pairs into one UPDATE as the
   65535-octet DNS message allows (a pair is never split, so each RRset changes atomically).
   A change made by someone else between reading and updating makes the server refuse the
   message (NXRRSET/YXRRSET/YXDOMAIN) instead of being overwritten.

Every zone is read and planned before the first UPDATE is sent, so a problem in any zone (not
served, wrong key, a CNAME in the way) stops the run before anything changes. Server errors
become ``DnsUpdateError`` whose message names the zone and the server.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import socket
import struct
import time

from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError, join_txt, kind_of, split_txt
from ansible_collections.mailsec.posture.plugins.module_utils.names import fqdn, is_subdomain, normalize_domain

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.tsig
    import dns.update
    import dns.wire

    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - exercised only without the package
    HAS_DNSPYTHON = False

MAX_MESSAGE_OCTETS = 65535  # RFC 1035 4.2.2: the two-octet length prefix of DNS over TCP
DEFAULT_PORT = 53
DEFAULT_TIMEOUT = 10.0
DEFAULT_TTL = 3600
MAX_TTL = 2147483647  # RFC 2181 8
PIPELINE_WINDOW = 128  # queries in flight on the read connection
MAX_RENDERINGS = 2  # per UPDATE, to use the room compression leaves
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only

TSIG_ALGORITHMS = {
    "hmac-md5": "HMAC-MD5.SIG-ALG.REG.INT",
    "hmac-md5.sig-alg.reg.int": "HMAC-MD5.SIG-ALG.REG.INT",
    "hmac-sha1": "hmac-sha1",
    "hmac-sha224": "hmac-sha224",
    "hmac-sha256": "hmac-sha256",
    "hmac-sha384": "hmac-sha384",
    "hmac-sha512": "hmac-sha512",
}
# Types a server maintains itself (SOA serials, DNSSEC signing) or that are no data at all.
_UNMANAGEABLE_TYPES = ("SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "TSIG", "TKEY", "OPT", "ANY", "AXFR", "IXFR", "MAILA", "MAILB")
# TXT values that are mail policy records; with keep_other_txt the others at a name stay.
_POLICY_TXT = re.compile(r"^\s*v\s*=\s*(spf1|DMARC1|DKIM1|STSv1|TLSRPTv1)(\s|;|$)", re.IGNORECASE)


class DnsUpdateError(MailsecError):
    """Reading or updating a zone failed; the message names the zone, the server and what to check."""

    def __init__(self, zone, server, message):
        self.zone = zone
        self.server = server
        self.reason = message
        # Set by publish when it fails after UPDATEs were sent: what the server now holds differently.
        self.changed = False
        self.applied = []  # change reports of the UPDATEs the server confirmed
        self.uncertain = []  # change reports of an UPDATE sent but never answered: maybe applied
        self.zones_changed = []
        super().__init__("zone %s on %s: %s" % (zone, server, message))

    def restate(self, reason):
        self.reason = reason
        self.args = ("zone %s on %s: %s" % (self.zone, self.server, reason),)


def _require_dnspython():
    if not HAS_DNSPYTHON:
        raise MailsecError("publishing DNS records needs the Python library dnspython (pip install dnspython)")


# ---------------------------------------------------------------------------------------------
# Input: the TSIG key and the records


def tsig_key(name, secret, algorithm="hmac-sha256"):
    """A dnspython TSIG key from its name, base64 secret and algorithm; SpecError names the bad option.

    The secret is never part of a message.
    """
    _require_dnspython()
    if not isinstance(name, str) or not name.strip():
        raise SpecError("key_name", "is required: the name of the TSIG key the server accepts updates with")
    try:
        key_name = dns.name.from_text(name.strip())
    except dns.exception.DNSException as exc:
        raise SpecError("key_name", "%r is not a valid key name: %s" % (name, exc))
    canonical = TSIG_ALGORITHMS.get(str(algorithm or "").strip().lower())
    if canonical is None:
        raise SpecError("key_algorithm", "must be one of %s, got %r" % (", ".join(sorted(set(TSIG_ALGORITHMS) - {"hmac-md5.sig-alg.reg.int"})), algorithm))
    if not isinstance(secret, str) or not secret.strip():
        raise SpecError("key_secret", "is required: the base64 secret of the TSIG key")
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", secret), validate=True)
    except (binascii.Error, ValueError):
        raise SpecError("key_secret", "is not valid base64 (copy the secret from the key file, e.g. tsig-keygen's output)") from None
    if not raw:
        raise SpecError("key_secret", "decodes to an empty secret")
    return dns.tsig.Key(key_name, raw, canonical)


def _record_value(record, field, domain):
    value = record.get("value")
    if isinstance(value, (list, tuple)):
        value = join_txt(list(value))
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SpecError(field, "must be the record's value as text, got %s" % kind_of(value), domain)
    return str(value)


def _make_rdata(rtype, value, field, domain):
    if rtype == "TXT":
        strings = [part.encode("utf-8") for part in split_txt(value)]
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
    try:
        # Names inside values are absolute whether or not they end in a dot.
        return dns.rdata.from_text(dns.rdataclass.IN, rtype, value, origin=dns.name.root, relativize=False)
    except (dns.exception.DNSException, ValueError, TypeError) as exc:
        raise SpecError(field, "%r is not a valid %s value: %s" % (value, rtype, exc), domain) from None


def comparable(rdata):
    """What makes two values the same record: TXT by the joined text (how its character-strings are
    split does not matter to any reader, RFC 7208 3.3, RFC 6376 3.6.2.2), others by canonical wire form."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return ("TXT", b"".join(rdata.strings))
    return (dns.rdatatype.to_text(rdata.rdtype), rdata.to_digestable(dns.name.root))


def value_text(rdata):
    """A value as people read it: TXT joined and unquoted, others in presentation form."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return join_txt(list(rdata.strings))
    return rdata.to_text()


def desired_rrsets(records, zone=None):
    """Group records (the ``mail_records`` lookup's shape) into ``{zone: {(name, type): rrset}}``.

    ``rrset`` is ``{"ttl", "rdatas", "domains"}``; names are fully qualified with a trailing dot.
    ``zone`` overrides each record's own ``zone``. Duplicate values are merged; values of one RRset
    share its lowest TTL (RFC 2181 5.2). Raises SpecError naming ``records[i].<field>``.
    """
    _require_dnspython()
    if records is None:
        records = []
    if not isinstance(records, (list, tuple)):
        raise SpecError("records", "must be a list of records, got %s" % kind_of(records))
    zone_override = normalize_domain(zone, "zone") if zone else None
    grouped = {}
    for index, record in enumerate(records):
        prefix = "records[%d]" % index
        if not isinstance(record, dict):
            raise SpecError(prefix, "must be a mapping with name, type and value, got %s" % kind_of(record))
        domain = record.get("domain") if isinstance(record.get("domain"), str) else None
        for key in ("name", "type", "value"):
            if record.get(key) is None:
                raise SpecError("%s.%s" % (prefix, key), "is required", domain)
        name = normalize_domain(record["name"], prefix + ".name", domain, allow_wildcard=True, allow_underscore=True)
        rtype = str(record["type"]).strip().upper()
        if rtype in _UNMANAGEABLE_TYPES:
            raise SpecError(prefix + ".type", "%s records are maintained by the server itself, not published here" % rtype, domain)
        try:
            dns.rdatatype.from_text(rtype)
        except dns.exception.DNSException:
            raise SpecError(prefix + ".type", "%r is not a DNS record type" % record["type"], domain) from None
        ttl = record.get("ttl")
        if ttl is None:
            ttl = DEFAULT_TTL
        if isinstance(ttl, str) and ttl.strip().isdigit():
            ttl = int(ttl.strip())
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
            raise SpecError(prefix + ".ttl", "must be an integer from 0 to %d, got %r" % (MAX_TTL, ttl), domain)
        if zone_override:
            record_zone = zone_override
        elif record.get("zone"):
            record_zone = normalize_domain(record["zone"], prefix + ".zone", domain)
        else:
            raise SpecError(prefix + ".zone", "is missing: give each record a zone, or set the zone option", domain)
        if not is_subdomain(name, record_zone):
            raise SpecError(prefix + ".name", "%s is not inside zone %s" % (fqdn(name), record_zone), domain)
        rdata = _make_rdata(rtype, _record_value(record, prefix + ".value", domain), prefix + ".value", domain)

        pairs = grouped.setdefault(record_zone, {})
        rrset = pairs.setdefault((fqdn(name), rtype), {"ttl": ttl, "rdatas": [], "domains": [], "first": index})
        rrset["ttl"] = min(rrset["ttl"], ttl)
        if all(comparable(existing) != comparable(rdata) for existing in rrset["rdatas"]):
            rrset["rdatas"].append(rdata)
        if domain and domain not in rrset["domains"]:
            rrset["domains"].append(domain)

    for pairs in grouped.values():
        types_by_name = {}
        for (name, rtype), rrset in pairs.items():
            types_by_name.setdefault(name, set()).add(rtype)
            if rtype == "CNAME" and len(rrset["rdatas"]) > 1:
                raise SpecError("records[%d].value" % rrset["first"], "%s would get %d CNAME targets; a name has at most one" % (name, len(rrset["rdatas"])))
        for (name, rtype), rrset in pairs.items():
            if rtype == "CNAME" and len(types_by_name[name]) > 1:
                others = ", ".join(sorted(types_by_name[name] - {"CNAME"}))
                raise SpecError(
                    "records[%d].type" % rrset["first"], "%s would have a CNAME and %s records; a CNAME excludes other data (RFC 2181 10.1)" % (name, others)
                )
    return grouped


# ---------------------------------------------------------------------------------------------
# Talking to the primary: one TCP connection, pipelined queries, bounded waits


def _describe_server(address, port):
    return "%s port %d" % (address, port)


class Connection:
    """A TCP connection to one server for one zone; every wait is bounded by ``timeout`` seconds."""

    def __init__(self, address, port, key, zone, timeout=DEFAULT_TIMEOUT):
        self.address = address
        self.port = port
        self.key = key
        self.zone = zone
        self.timeout = float(timeout)
        self.server = _describe_server(address, port)
        self._sock = None
        self._next_id = random.randint(0, 0xFFFF)

    def _fail(self, message):
        self.close()
        return DnsUpdateError(self.zone, self.server, message)

    def open(self):
        if self._sock is not None:
            return
        try:
            self._sock = socket.create_connection((self.address, self.port), timeout=self.timeout)
        except socket.gaierror as exc:
            raise self._fail("cannot resolve the server name %r: %s" % (self.address, exc.strerror or exc)) from None
        except socket.timeout:
            raise self._fail("no TCP connection within %g s: the server is unreachable (address, port, firewall?)" % self.timeout) from None
        except ConnectionRefusedError:
            raise self._fail("connection refused: no DNS server listens on TCP there (is it running? right address and port?)") from None
        except OSError as exc:
            raise self._fail("the server is unreachable: %s" % (exc.strerror or exc)) from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _take_id(self):
        self._next_id = (self._next_id + 1) & 0xFFFF
        return self._next_id

    def _send(self, wires, what):
        try:
            self._sock.sendall(b"".join(struct.pack("!H", len(wire)) + wire for wire in wires))
        except socket.timeout:
            raise self._fail("timed out after %g s sending %s" % (self.timeout, what)) from None
        except OSError as exc:
            raise self._fail("the connection broke while sending %s: %s" % (what, exc.strerror or exc)) from None

    def _read_exact(self, count, deadline, what):
        chunks = []
        remaining = count
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail("timed out after %g s waiting for the answer to %s" % (self.timeout, what))
            self._sock.settimeout(left)
            if _QUICKACK is not None:
                # Acknowledge at once: servers that do not set TCP_NODELAY (BIND) hold each further
                # answer until the previous one is acknowledged, and a delayed ACK waits 40 ms.
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            try:
                chunk = self._sock.recv(remaining)
            except socket.timeout:
                raise self._fail("timed out after %g s waiting for the answer to %s" % (self.timeout, what)) from None
            except OSError as exc:
                raise self._fail("the connection broke while waiting for %s: %s" % (what, exc.strerror or exc)) from None
            if not chunk:
                raise self._fail("the server closed the connection before answering %s" % what)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _receive(self, what, deadline):
        (length,) = struct.unpack("!H", self._read_exact(2, deadline, what))
        return self._read_exact(length, deadline, what)

    def _parse(self, wire, request, what):
        try:
            return dns.message.from_wire(wire, keyring=self.key, request_mac=request.mac)
        except dns.tsig.PeerBadSignature:
            raise self._fail(
                "the server rejected the TSIG signature of %s (BADSIG): key_secret or key_algorithm does not match the server's key %s"
                % (what, self.key.name.to_text(omit_final_dot=True))
            ) from None
        except dns.tsig.PeerBadKey:
            raise self._fail(
                "the server does not know the TSIG key %s with algorithm %s (BADKEY): check key_name and key_algorithm"
                % (self.key.name.to_text(omit_final_dot=True), self.key.algorithm.to_text().rstrip("."))
            ) from None
        except dns.tsig.PeerBadTime:
            raise self._fail("the server rejected the TSIG time of %s (BADTIME): the clocks of this host and the server differ too much" % what) from None
        except dns.tsig.PeerError as exc:
            raise self._fail("the server rejected the TSIG signature of %s: %s" % (what, exc)) from None
        except (dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadAlgorithm, dns.message.UnknownTSIGKey):
            raise self._fail("the server's answer to %s is signed with another key or secret than key_name/key_secret" % what) from None
        except dns.exception.DNSException as exc:
            if "requires a TSIG" in str(exc):
                raise self._fail(
                    "the server answered %s without a TSIG signature; it may not know the key %s" % (what, self.key.name.to_text(omit_final_dot=True))
                ) from None
            raise self._fail("the server sent a malformed answer to %s: %s" % (what, exc)) from None

    def exchange(self, message, what):
        """Send one signed message and return the server's (verified) answer."""
        wire = self.exchange_many([message], what)[0]
        return self._parse(wire, message, what)

    def exchange_many(self, messages, what):
        """Send ``messages`` pipelined (at most PIPELINE_WINDOW in flight); raw answers in the same order."""
        self.open()
        answers = [None] * len(messages)
        for start in range(0, len(messages), PIPELINE_WINDOW):
            window = messages[start:start + PIPELINE_WINDOW]
            pending = {}
            wires = []
            for offset, message in enumerate(window):
                message.id = self._take_id()
                wires.append(message.to_wire(max_size=MAX_MESSAGE_OCTETS))
                pending[message.id] = start + offset
            self._send(wires, what)
            # One deadline for the whole window: answers to other message IDs (late, or a server
            # that keeps talking) do not buy more time.
            deadline = time.monotonic() + self.timeout
            while pending:
                wire = self._receive(what, deadline)
                if len(wire) < 12:
                    raise self._fail("the server sent a truncated answer to %s" % what)
                (answer_id,) = struct.unpack("!H", wire[:2])
                position = pending.pop(answer_id, None)
                if position is not None:  # else a late answer to something abandoned: not ours
                    answers[position] = wire
        return answers

    def read_answers(self, pairs, what):
        """``[(rcode, {rdtype: (ttl, [rdata])})]`` for unsigned queries of ``pairs`` ((name, type) tuples)."""
        queries = []
        for name, rtype in pairs:
            query = dns.message.make_query(name, rtype, use_edns=False)
            query.flags &= ~dns.flags.RD  # the primary's own data, never recursion
            queries.append(query)
        results = []
        for (name, _rtype), wire in zip(pairs, self.exchange_many(queries, what)):
            try:
                results.append(_answer_at(wire, dns.name.from_text(name)))
            except dns.exception.DNSException as exc:
                raise self._fail("the server sent a malformed answer to the query for %s: %s" % (name, exc)) from None
        return results


def _answer_at(wire, owner):
    """``(rcode, {rdtype: (ttl, [rdata])})`` of the answer records at ``owner`` in a response.

    Only the header and the answer section are decoded: authority and additional data (the
    zone's NS and their addresses, which a primary adds to every answer) are not needed here,
    and decoding them would cost more than the rest of the read.
    """
    _id, flags, qdcount, ancount = struct.unpack("!HHHH", wire[:8])
    parser = dns.wire.Parser(wire, 12)
    for _index in range(qdcount):
        parser.get_name(decompress=True)
        parser.get_struct("!HH")
    found = {}
    for _index in range(ancount):
        name = parser.get_name(decompress=True)
        rdtype, rdclass, ttl, rdlength = parser.get_struct("!HHIH")
        if name != owner:
            parser.seek(parser.current + rdlength)
            continue
        with parser.restrict_to(rdlength):
            rdata = dns.rdata.from_wire_parser(rdclass, rdtype, parser)
        entry = found.setdefault(rdtype, [ttl, []])
        entry[0] = min(entry[0], ttl)
        entry[1].append(rdata)
    return flags & 0x000F, found


def _signed_query(name, rtype, key):
    query = dns.message.make_query(name, rtype, use_edns=False)
    query.flags &= ~dns.flags.RD  # ask the primary about its own data, never for recursion
    query.use_tsig(key)
    return query


def _rcode_name(message):
    return dns.rcode.to_text(message.rcode())


def check_zone(connection, zone):
    """Raise DnsUpdateError unless the server answers authoritatively for ``zone``'s SOA."""
    answer = connection.exchange(_signed_query(fqdn(zone), "SOA", connection.key), "the SOA query")
    rcode = answer.rcode()
    if rcode == dns.rcode.REFUSED:
        raise DnsUpdateError(
            zone, connection.server, "the server REFUSED a query for the zone's SOA: it does not serve this zone (or does not let this host query it)"
        )
    if rcode == dns.rcode.NOTAUTH:
        raise DnsUpdateError(zone, connection.server, "the server is not authoritative for the zone (NOTAUTH)")
    if rcode != dns.rcode.NOERROR:
        raise DnsUpdateError(zone, connection.server, "the server answered %s to a query for the zone's SOA: it does not serve this zone" % _rcode_name(answer))
    origin = dns.name.from_text(fqdn(zone))
    has_soa = any(rrset.name == origin and rrset.rdtype == dns.rdatatype.SOA for rrset in answer.answer)
    if not has_soa or not answer.flags & dns.flags.AA:
        raise DnsUpdateError(
            zone,
            connection.server,
            "the server is not authoritative for the zone (no SOA at %s in its answer): point server at the zone's primary" % fqdn(zone),
        )


def read_rrsets(connection, zone, pairs):
    """The current RRsets of ``pairs`` ((name, type) tuples) as ``{pair: {"ttl", "rdatas"} or None}``,
    and ``{pair: cname_target}`` for names that hold a CNAME where another type was asked for.

    The reads are not signed: the prerequisites of every UPDATE make the server check each value
    read here, so a wrong read can make an UPDATE fail but never overwrite anything. (The SOA
    query before them is signed and proves the key.)
    """
    pairs = list(pairs)
    current = {}
    cnames = {}
    for (name, rtype), (rcode, found) in zip(pairs, connection.read_answers(pairs, "the queries for the current records")):
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise DnsUpdateError(
                zone, connection.server, "the server answered %s to a query for %s %s" % (dns.rcode.to_text(rcode), name, rtype)
            )
        wanted = dns.rdatatype.from_text(rtype)
        if wanted in found:
            ttl, rdatas = found[wanted]
            current[(name, rtype)] = {"ttl": ttl, "rdatas": rdatas}
        else:
            current[(name, rtype)] = None
        if wanted != dns.rdatatype.CNAME and dns.rdatatype.CNAME in found:
            cnames[(name, rtype)] = found[dns.rdatatype.CNAME][1][0].target.to_text()
    return current, cnames


# ---------------------------------------------------------------------------------------------
# Planning: what changes, and the UPDATE messages that make the change


def _is_owned(rdata, keep_other_txt):
    if not keep_other_txt or rdata.rdtype != dns.rdatatype.TXT:
        return True
    return bool(_POLICY_TXT.match(join_txt(list(rdata.strings))))


def _unique(rdatas):
    seen = set()
    result = []
    for rdata in rdatas:
        key = comparable(rdata)
        if key not in seen:
            seen.add(key)
            result.append(rdata)
    return result


def _canonical_order(pair):
    # Parents before children, siblings together (RFC 4034 6.1 order, near enough for reading).
    name, rtype = pair
    return tuple(reversed(name.rstrip(".").lower().split("."))), rtype


def plan_zone(zone, desired, current, state="present", keep_other_txt=True):
    """The changes that make ``current`` match ``desired`` (both keyed by (name, type)).

    ``state=present``: each managed RRset becomes exactly the desired values (with
    ``keep_other_txt``, the default, TXT values that are not mail policy records stay beside them).
    A change whose values are already there and only the TTL differs (someone set it on the
    server) carries a ``detail`` saying so, since it is set back.
    ``state=absent``: each managed RRset is removed (with ``keep_other_txt``, only its
    policy TXT values). Returns ``(changes, unchanged_count)``; a change is
    ``{zone, name, type, action, before, after, domains}`` with ``before``/``after`` as
    ``{"ttl", "rdatas"}`` or None.
    """
    changes = []
    unchanged = 0
    for (name, rtype) in sorted(desired, key=_canonical_order):
        wanted = desired[(name, rtype)]
        found = current.get((name, rtype))
        found_rdatas = found["rdatas"] if found else []
        kept = [rdata for rdata in found_rdatas if not _is_owned(rdata, keep_other_txt)]
        if state == "present":
            target = _unique(kept + wanted["rdatas"])
            ttl = wanted["ttl"]
        else:
            target = kept
            ttl = found["ttl"] if found else wanted["ttl"]
        same_values = {comparable(rdata) for rdata in found_rdatas} == {comparable(rdata) for rdata in target}
        if same_values and (not target or found["ttl"] == ttl):
            unchanged += 1
            continue
        detail = None
        if not found_rdatas:
            action = "add"
        elif not target:
            action = "remove"
        else:
            action = "change"
            if same_values:
                detail = (
                    "only the TTL differs: the server has %d, the records say %d (someone may have set it on the server on purpose); "
                    "it is set to %d (give the records that TTL to keep it)" % (found["ttl"], ttl, ttl)
                )
        changes.append(
            {
                "zone": zone,
                "name": name,
                "type": rtype,
                "action": action,
                "before": {"ttl": found["ttl"], "rdatas": found_rdatas} if found_rdatas else None,
                "after": {"ttl": ttl, "rdatas": target} if target else None,
                "domains": list(wanted.get("domains") or []),
                "detail": detail,
            }
        )
    return changes, unchanged


def _apply_change(message, change):
    """Add one change's prerequisites and updates to ``message`` (an UpdateMessage)."""
    name = dns.name.from_text(change["name"])
    rdtype = dns.rdatatype.from_text(change["type"])
    before = change["before"]
    after = change["after"]
    if before:
        # RFC 2136 2.4.2: the RRset must still hold exactly the values we read.
        message.present(name, *before["rdatas"])
    elif rdtype == dns.rdatatype.CNAME:
        # RFC 2136 2.4.5: a CNAME needs a name with no data at all (RFC 2181 10.1).
        message.absent(name)
    else:
        # RFC 2136 2.4.3: nobody created the RRset meanwhile.
        message.absent(name, rdtype)
    if rdtype != dns.rdatatype.CNAME and after:
        # A CNAME added meanwhile would make the server ignore our data silently (RFC 2136 3.4.2.2).
        message.absent(name, dns.rdatatype.CNAME)
    if before:
        message.delete(name, rdtype)
    if after:
        message.add(name, after["ttl"], *after["rdatas"])


def _new_message(zone, key):
    message = dns.update.UpdateMessage(fqdn(zone))
    message.use_tsig(key)
    return message


def _wire_octets(message, limit=MAX_MESSAGE_OCTETS):
    """The rendered size of ``message``, or ``limit + 1`` when it is larger than ``limit``."""
    try:
        return len(message.to_wire(max_size=limit))
    except dns.exception.TooBig:
        return limit + 1


def _change_octets(zone, change):
    """``(octets, movable)``: an upper bound of the octets ``change`` adds to a message of ``zone``,
    wherever it lands, and how many of them compression may save by pointing into the update section.

    Every owner name lies in the zone, which the message's zone section holds at offset 12, so an
    owner costs at most its labels below the zone plus a 2-octet pointer; values are counted
    uncompressed. ``movable`` is what the new values' names (MX exchanges, CNAME targets) save when
    an earlier copy can be pointed to: that saving can be lost again when later prerequisites push
    the copy past the 16 KiB that pointers reach.
    """
    name = dns.name.from_text(change["name"])
    relative = name.relativize(dns.name.from_text(fqdn(zone)))
    owner = 2 + sum(1 + len(label) for label in relative.labels)
    before = change["before"]["rdatas"] if change["before"] else []
    after = change["after"]["rdatas"] if change["after"] else []
    # The RRs _apply_change writes: prerequisites (the values read, or one "does not exist"),
    # the CNAME guard, one "delete RRset" when something was there, then one RR per new value.
    with_data = before + after
    without_data = (0 if before else 1) + (1 if after and change["type"] != "CNAME" else 0) + (1 if before else 0)
    count = len(with_data) + without_data
    octets = count * (owner + 10)  # owner, then type, class, TTL, RDLENGTH
    for rdata in with_data:
        octets += _rdata_octets(rdata)
    movable = 0
    for rdata in after:
        if rdata.rdtype != dns.rdatatype.TXT:
            movable += len(rdata.to_wire()) - len(rdata.to_wire(compress=_EveryNameKnown()))
    return octets, movable


class _EveryNameKnown(dict):
    """A compression table that has every name: renders each compressible name as a pointer."""

    def get(self, key, default=None):
        return 12

    def __setitem__(self, key, value):
        pass


def _rdata_octets(rdata):
    if rdata.rdtype == dns.rdatatype.TXT:
        return sum(1 + len(part) for part in rdata.strings)
    return len(rdata.to_wire())  # uncompressed: at least what the message holds


def build_messages(zone, changes, key, max_octets=MAX_MESSAGE_OCTETS):
    """Pack ``changes`` into as few UPDATE messages for ``zone`` as ``max_octets`` allows.

    Each change's size is measured as it is added (``_change_octets``, an upper bound wherever the
    change lands) and summed. When the next change would not fit, the message is rendered: its real
    size, plus what compression of the update section's value names could still lose (pointers
    reach only the first 16 KiB, and new prerequisites move the update section), is again an upper
    bound, usually well below the sum, and filling goes on from there. A change, one RRset's
    prerequisites and updates, is never split. Returns ``[(message, changes_in_it)]``.
    """
    empty = _wire_octets(_new_message(zone, key))
    sizes = []
    for change in changes:
        octets, movable = _change_octets(zone, change)
        if empty + octets > max_octets:
            raise DnsUpdateError(
                zone,
                "(not sent)",
                "%s %s alone needs about %d octets, more than one DNS message holds (%d)" % (change["name"], change["type"], empty + octets, max_octets),
            )
        sizes.append((octets, movable))

    messages = []
    index = 0
    while index < len(changes):
        message = _new_message(zone, key)
        start = index
        used = empty
        movable = 0
        renderings = 0
        while index < len(changes):
            octets, change_movable = sizes[index]
            if used + octets <= max_octets:
                _apply_change(message, changes[index])
                used += octets
                movable += change_movable
                index += 1
                continue
            if renderings == MAX_RENDERINGS or index == start:
                break
            renderings += 1
            bound = _wire_octets(message, max_octets) + movable
            if bound >= used:
                break
            used = bound
        messages.append((message, changes[start:index]))
    return messages


# ---------------------------------------------------------------------------------------------
# Sending, and errors a user can act on


def _update_error(zone, server, message, answer, key):
    rcode = answer.rcode()
    text = _rcode_name(answer)
    if rcode == dns.rcode.REFUSED:
        return (
            "the server REFUSED the update (%s): either the key %s may not update this zone (allow-update/update-policy), "
            "or a record failed the server's own checks, such as BIND's check-integrity refusing an MX or NS whose target "
            "inside the zone has no A/AAAA record; the server's log names the reason" % (text, key.name.to_text(omit_final_dot=True))
        )
    if rcode == dns.rcode.NOTAUTH:
        return "the server is not authoritative for the zone or does not accept the key %s for it (NOTAUTH)" % key.name.to_text(omit_final_dot=True)
    if rcode == dns.rcode.NOTZONE:
        return "a name in the update is not inside the zone (NOTZONE): check the zone of each record"
    if rcode == dns.rcode.SERVFAIL:
        return "the server failed to apply the update (SERVFAIL): its log says why (journal, disk, zone not loaded)"
    if rcode == dns.rcode.FORMERR:
        return "the server could not parse the update (FORMERR)"
    if rcode == dns.rcode.NOTIMP:
        return "the server does not implement dynamic updates (NOTIMP)"
    return "the server answered %s to the update" % text


_PREREQUISITE_RCODES = ("NXRRSET", "YXRRSET", "NXDOMAIN", "YXDOMAIN")


def _concurrent_change_error(connection, zone, batch, rcode_text):
    """Re-read the RRsets of a refused message and say which changed since they were read."""
    pairs = [(change["name"], change["type"]) for change in batch]
    try:
        now, cnames = read_rrsets(connection, zone, pairs)
    except DnsUpdateError:
        now, cnames = {}, {}
    moved = []
    for change in batch:
        pair = (change["name"], change["type"])
        before = {comparable(rdata) for rdata in (change["before"] or {}).get("rdatas", [])}
        seen = {comparable(rdata) for rdata in ((now.get(pair) or {}).get("rdatas") or [])}
        if pair in now and before != seen:
            moved.append("%s %s (read: %s; now: %s)" % (change["name"], change["type"], _values_summary(change["before"]), _values_summary(now.get(pair))))
        elif pair in cnames:
            moved.append("%s now has a CNAME to %s" % (change["name"], cnames[pair]))
    if moved:
        detail = "; ".join(moved[:5]) + ("; and %d more" % (len(moved) - 5) if len(moved) > 5 else "")
        return (
            "a prerequisite failed (%s): the records changed on the server after they were read, so this update was "
            "not applied and nothing was overwritten: %s. Run again to update from the current state" % (rcode_text, detail)
        )
    if rcode_text == "YXDOMAIN":
        names = ", ".join(change["name"] for change in batch if change["type"] == "CNAME" and not change["before"])
        return (
            "a prerequisite failed (YXDOMAIN): a name that should get a CNAME (%s) already holds other records; "
            "remove them first (state: absent with those records), since a CNAME excludes other data" % (names or "?")
        )
    return (
        "a prerequisite failed (%s) although the records read the same as before: another client may have changed "
        "and restored them meanwhile, or a wildcard answers for a name that does not exist; nothing was applied" % rcode_text
    )


def _values_summary(rrset):
    if not rrset or not rrset.get("rdatas"):
        return "none"
    values = [value_text(rdata) for rdata in rrset["rdatas"]]
    shown = [value if len(value) <= 60 else value[:57] + "..." for value in values[:3]]
    return ", ".join(repr(value) for value in shown) + (" and %d more" % (len(values) - 3) if len(values) > 3 else "")


def send_messages(connection, zone, messages):
    """Send the UPDATEs of one zone in order; stop at the first refusal with a DnsUpdateError.

    The error's ``applied`` holds the changes of the UPDATEs the server confirmed, ``uncertain``
    those of an UPDATE that was sent but not answered (it timed out or the connection broke), which
    the server may have applied: a run after it reads the zone afresh and converges either way.
    """
    sent = 0
    for message, batch in messages:
        what = "UPDATE %d of %d" % (sent + 1, len(messages))
        try:
            answer = connection.exchange(message, what)
        except DnsUpdateError as exc:
            exc.restate(
                exc.reason + "; the UPDATE was sent, so the server may have applied it (%d earlier UPDATE(s) of this zone were applied): "
                "run again, which reads the zone afresh and finishes the job" % sent
            )
            exc.applied = [change for _message, done in messages[:sent] for change in done]
            exc.uncertain = list(batch)
            raise
        rcode_text = _rcode_name(answer)
        if answer.rcode() != dns.rcode.NOERROR:
            if rcode_text in _PREREQUISITE_RCODES:
                reason = _concurrent_change_error(connection, zone, batch, rcode_text)
            else:
                reason = _update_error(zone, connection.server, message, answer, connection.key)
            if sent:
                reason += " (%d earlier UPDATE(s) of this zone were applied; run again to finish)" % sent
            error = DnsUpdateError(zone, connection.server, "%s refused: %s" % (what, reason))
            error.applied = [change for _message, done in messages[:sent] for change in done]
            raise error
        sent += 1
    return sent


# ---------------------------------------------------------------------------------------------
# Reporting


def _zone_lines(name, rrset, rtype):
    if not rrset:
        return []
    return ["%s %d IN %s %s" % (name, rrset["ttl"], rtype, rdata.to_text()) for rdata in rrset["rdatas"]]


def zone_diff(zone, server, changes):
    """An Ansible diff of one zone's changes: the RRsets before and after, in zone-file lines."""
    before = []
    after = []
    for change in changes:
        before.extend(_zone_lines(change["name"], change["before"], change["type"]))
        after.extend(_zone_lines(change["name"], change["after"], change["type"]))
    return {
        "before_header": "zone %s on %s (changed RRsets, now)" % (zone, server),
        "after_header": "zone %s on %s (changed RRsets, after the update)" % (zone, server),
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def change_report(change):
    """A change as returned to the user: values as readable text."""

    def side(rrset):
        if not rrset:
            return None
        return {"ttl": rrset["ttl"], "values": [value_text(rdata) for rdata in rrset["rdatas"]]}

    return {
        "zone": change["zone"],
        "name": change["name"],
        "type": change["type"],
        "action": change["action"],
        "before": side(change["before"]),
        "after": side(change["after"]),
        "domains": change["domains"],
        "detail": change.get("detail"),
    }


# ---------------------------------------------------------------------------------------------
# The whole operation


def publish(records, server, key, port=DEFAULT_PORT, state="present", zone=None, timeout=DEFAULT_TIMEOUT,
            check_mode=False, keep_other_txt=True, max_octets=MAX_MESSAGE_OCTETS):
    """Make the server's zones hold ``records`` (``state=present``) or not hold them (``absent``).

    ``key`` is a ``tsig_key``. Every zone is checked, read and planned before any UPDATE is sent.
    In check mode nothing is sent; ``messages`` then counts the UPDATEs that would be sent.
    Returns ``{changed, changes, messages, zones, diff}``; raises DnsUpdateError or SpecError.
    """
    _require_dnspython()
    if state not in ("present", "absent"):
        raise SpecError("state", "must be present or absent, got %r" % (state,))
    desired = desired_rrsets(records, zone)
    try:
        return _publish(desired, server, key, port, state, timeout, check_mode, keep_other_txt, max_octets)
    except dns.exception.DNSException as exc:  # pragma: no cover - every expected case is mapped where it happens
        raise MailsecError("publishing to %s failed in dnspython: %s" % (_describe_server(server, port), exc)) from None


def _partial_failure(exc, updated, applied):
    """Say in ``exc`` what was changed before it: the zones updated, and which changes of its own
    zone were applied or may have been, so that the task reports ``changed`` truthfully."""
    if updated:
        exc.restate(exc.reason + " (%d other zone(s) were updated before this one: %s)" % (
            len(updated), ", ".join(updated[:5]) + (", ..." if len(updated) > 5 else "")))
    own = list(exc.applied)
    exc.applied = [change_report(change) for change in applied + own]
    exc.uncertain = [change_report(change) for change in exc.uncertain]
    exc.zones_changed = list(updated) + ([exc.zone] if own or exc.uncertain else [])
    exc.changed = bool(exc.applied or exc.uncertain)


def _publish(desired, server, key, port, state, timeout, check_mode, keep_other_txt, max_octets):
    server_text = _describe_server(server, port)
    plans = []
    # One short connection per zone and phase: servers close idle TCP connections (BIND after
    # tcp-idle-timeout) and limit how many are open (tcp-clients), so none is kept while other
    # zones are read.
    for zone_name in sorted(desired):
        with Connection(server, port, key, zone_name, timeout) as connection:
            check_zone(connection, zone_name)
            current, cnames = read_rrsets(connection, zone_name, desired[zone_name])
        if state == "present" and cnames:
            (name, rtype), target = sorted(cnames.items())[0]
            raise DnsUpdateError(
                zone_name,
                server_text,
                "%s has a CNAME (to %s), so it cannot also hold %s records: remove the CNAME first "
                "(state: absent with that record), since a CNAME excludes other data" % (name, target, rtype),
            )
        changes, unchanged = plan_zone(zone_name, desired[zone_name], current, state, keep_other_txt)
        messages = build_messages(zone_name, changes, key, max_octets) if changes else []
        plans.append((zone_name, changes, unchanged, messages))

    sent_total = 0
    summary = {}
    updated = []
    applied = []
    for zone_name, changes, unchanged, messages in plans:
        if messages and not check_mode:
            try:
                with Connection(server, port, key, zone_name, timeout) as connection:
                    sent_total += send_messages(connection, zone_name, messages)
            except DnsUpdateError as exc:
                _partial_failure(exc, updated, applied)
                raise
            updated.append(zone_name)
            applied.extend(changes)
        elif check_mode:
            sent_total += len(messages)
        summary[zone_name] = {
            "added": sum(1 for change in changes if change["action"] == "add"),
            "changed": sum(1 for change in changes if change["action"] == "change"),
            "removed": sum(1 for change in changes if change["action"] == "remove"),
            "unchanged": unchanged,
            "messages": len(messages),
        }

    all_changes = [change for _zone, changes, _unchanged, _messages in plans for change in changes]
    return {
        "changed": bool(all_changes),
        "changes": [change_report(change) for change in all_changes],
        "messages": sent_total,
        "zones": summary,
        "diff": [zone_diff(zone_name, server_text, changes) for zone_name, changes, _unchanged, _messages in plans if changes],
    }
