# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stub resolver for the verifiers: given nameservers, bounded waits, exact outcomes, many at once.

Private to the collection: users may rely only on plugins and modules.

Every lookup returns an ``Answer`` whose ``kind`` says exactly what happened, so a check can say it:

==============  ==================================================================================
``ok``          NOERROR with records of the asked type (at the end of any CNAME chain)
``nodata``      NOERROR, the name exists, no records of that type
``nxdomain``    the name does not exist
``servfail``    the nameserver answered SERVFAIL (a broken zone, a bogus DNSSEC signature, ...)
``refused``     the nameserver answered REFUSED (not authoritative, recursion not allowed, ...)
``timeout``     no answer within the time allowed
``unreachable`` no nameserver could be reached (connection refused, no route)
``error``       any other RCODE, an unreadable answer, a referral, a CNAME loop or a bad name
==============  ==================================================================================

By default the queries of an event loop share one TCP connection per nameserver (RFC 7766
pipelining, answers in any order), and every query made in one turn of the loop leaves in one
write. Measured on the 2 shared cores here, 8,000 lookups (1,000 domains x 8) against BIND, best
of several runs: this resolver over one TCP connection 0.4 s wall and 0.4 s CPU; the same over
UDP 1.0 s and 0.7 s (a system call per datagram; at 512 in flight the socket buffers drop
answers); dnspython's messages on a thread pool of 32, 4.3 s and 4.0 s; dnspython's asyncio
queries, 4.3 s and 3.4 s. A server whose TCP port cannot be used, or that stays silent over TCP,
is asked over UDP, with one connected socket per nameserver, so an ICMP "port unreachable" ends
the wait at once; truncated UDP answers are asked again over TCP. Synchronous callers (threads
included) use ``query``, ``query_many``, ``addresses`` and ``map``; code already inside an event
loop awaits ``aquery``, ``agather`` and ``aaddresses``.

Time is bounded three ways: ``timeout`` per attempt at one nameserver, ``lifetime`` per lookup
(every attempt and CNAME hop; counted from when the lookup gets a concurrency slot), and the
``overall_timeout`` of a ``map``/``query_many``/``run`` call, after which every lookup still to
start or finish answers ``timeout`` at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import ipaddress
import os
import random
import socket
import threading
import time

from ansible_collections.mailsec.posture.plugins.module_utils import dnswire
from ansible_collections.mailsec.posture.plugins.module_utils.common import MailsecError, SpecError, join_txt

try:
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype

    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - exercised only without the package
    HAS_DNSPYTHON = False

OK = "ok"
NODATA = "nodata"
NXDOMAIN = "nxdomain"
SERVFAIL = "servfail"
REFUSED = "refused"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
ERROR = "error"
KINDS = (OK, NODATA, NXDOMAIN, SERVFAIL, REFUSED, TIMEOUT, UNREACHABLE, ERROR)
FAILURE_KINDS = (SERVFAIL, REFUSED, TIMEOUT, UNREACHABLE, ERROR)

DEFAULT_PORT = 53
DEFAULT_TIMEOUT = 2.0
DEFAULT_LIFETIME = 5.0
DEFAULT_CONCURRENCY = 100
MAX_CNAME_HOPS = 8  # more than any sane delegation; a longer chain is reported as an error
RESOLV_CONF = "/etc/resolv.conf"
_TCP_LENGTH = 2
_RECEIVE_BUFFER = 1 << 20
_NOT_ASKED = "not asked: the overall time limit was reached first"
_RETRY = "retry"  # internal: the TCP connection closed under a query, which is asked again
TRANSPORTS = ("auto", "tcp", "udp")


class ResolverError(MailsecError):
    """A lookup that could not be answered; ``kind`` is one of ``FAILURE_KINDS``."""

    def __init__(self, answer):
        self.answer = answer
        self.kind = answer.kind
        super().__init__(answer.describe())


# ---------------------------------------------------------------------------------------------
# The cyclic garbage collector

_PAUSES = {"count": 0, "was_enabled": False}
_PAUSES_LOCK = threading.Lock()


@contextlib.contextmanager
def collector_paused():
    """Keep Python's cyclic garbage collector off inside the block (nested and threaded uses count).

    A verification run allocates hundreds of thousands of short-lived containers (coroutines,
    futures, answers, check entries); each allocation burst sets off a collection that walks every
    live object and, measured on 1,000 domains, finds almost nothing (reference counting frees the
    rest): 7 objects after verify_dns, about 7 per HTTPS fetch after verify_mta_sts, and no change
    in peak memory. Those passes cost about a fifth of verify_dns's CPU time and 8 % of
    verify_mta_sts's (perf samples in the collector). The collector's state before the first pause
    comes back when the last one ends.
    """
    with _PAUSES_LOCK:
        if _PAUSES["count"] == 0:
            _PAUSES["was_enabled"] = gc.isenabled()
            gc.disable()
        _PAUSES["count"] += 1
    try:
        yield
    finally:
        with _PAUSES_LOCK:
            _PAUSES["count"] -= 1
            if _PAUSES["count"] == 0 and _PAUSES["was_enabled"]:
                gc.enable()


# ---------------------------------------------------------------------------------------------
# Nameservers


def parse_nameserver(text, field="nameservers", default_port=DEFAULT_PORT):
    """``"127.0.0.1"``, ``"127.0.0.1:5353"``, ``"::1"``, ``"[::1]:53"`` -> ``(address, port)``.

    Only IP addresses: naming a nameserver by host name would need a resolver to find it.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError(field, "must be an IP address with an optional port, got %r" % (text,))
    value = text.strip()
    port = default_port
    host = value
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise SpecError(field, "%r opens '[' without closing it" % value)
        host = value[1:close]
        rest = value[close + 1:]
        if rest:
            if not rest.startswith(":"):
                raise SpecError(field, "%r: expected ':<port>' after ']'" % value)
            port = _port(rest[1:], value, field)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = _port(port_text, value, field)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SpecError(field, "%r is not an IP address (write IPv6 with a port as '[::1]:53')" % value)
    return str(address), port


def _port(text, value, field):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SpecError(field, "%r: the port must be a number from 1 to 65535" % value)
    return int(text)


def format_nameserver(server):
    address, port = server
    return ("[%s]:%d" if ":" in address else "%s:%d") % (address, port)


def system_nameservers(path=RESOLV_CONF):
    """The ``nameserver`` lines of resolv.conf as ``(address, port)`` pairs."""
    servers = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    try:
                        servers.append(parse_nameserver(fields[1].split("%")[0]))
                    except SpecError:
                        continue
    except OSError:
        return []
    return servers


# ---------------------------------------------------------------------------------------------
# Answers


class Answer:
    """The outcome of one lookup of ``name``/``rtype``.

    ``records`` holds the values of the asked type at the end of the CNAME chain: addresses as
    text, names in lower case without the trailing dot (RFC 1035 text: an octet other than a letter,
    digit or plain punctuation as ``\\DDD``, so ``dnswire.name_from_text`` gives the octets back),
    MX as ``(preference, exchange)``, TXT as the joined string (``common.join_txt``), TLSA as
    ``(usage, selector, matching_type, hex)``, SOA and SRV as tuples, other types in presentation form. ``chain`` lists the CNAME targets followed
    (empty when none); ``canonical_name`` is where the records were found. ``authenticated`` is the
    AD bit (set only by a validating resolver, and only when every response in the chain had it).
    """

    __slots__ = ("name", "rtype", "kind", "records", "rcode", "chain", "authenticated", "nameserver", "elapsed", "detail", "ttl")

    def __init__(self, name, rtype, kind, records=(), rcode=None, chain=(), authenticated=False, nameserver=None,
                 elapsed=0.0, detail="", ttl=None):
        self.name = name
        self.rtype = rtype
        self.kind = kind
        self.records = list(records)
        self.rcode = rcode
        self.chain = list(chain)
        self.authenticated = authenticated
        self.nameserver = nameserver
        self.elapsed = elapsed
        self.detail = detail
        self.ttl = ttl

    @property
    def ok(self):
        """Records of the asked type were found."""
        return self.kind == OK

    @property
    def exists(self):
        """The lookup succeeded, with records or without (NODATA)."""
        return self.kind in (OK, NODATA)

    @property
    def empty(self):
        """A definite "nothing here": NODATA or NXDOMAIN (RFC 7208 4.6.4 calls these void lookups)."""
        return self.kind in (NODATA, NXDOMAIN)

    @property
    def failed(self):
        """The nameservers could not say: SERVFAIL, REFUSED, timeout, unreachable or error."""
        return self.kind in FAILURE_KINDS

    @property
    def canonical_name(self):
        return self.chain[-1] if self.chain else self.name

    def describe(self):
        """One line for a check's detail, e.g. ``TXT _dmarc.example.com: SERVFAIL from 127.0.0.1:53``."""
        where = self.name
        if self.chain:
            where += " (CNAME -> %s)" % " -> ".join(self.chain)
        return "%s %s: %s" % (self.rtype, where, self.detail or self.kind)

    def raise_for_failure(self):
        """Raise ResolverError when the lookup failed; return the answer otherwise."""
        if self.failed:
            raise ResolverError(self)
        return self

    def as_dict(self):
        return {
            "name": self.name,
            "type": self.rtype,
            "kind": self.kind,
            "records": [list(value) if isinstance(value, tuple) else value for value in self.records],
            "rcode": self.rcode,
            "chain": list(self.chain),
            "authenticated": self.authenticated,
            "nameserver": self.nameserver,
            "elapsed": round(self.elapsed, 4),
            "detail": self.detail,
            "ttl": self.ttl,
        }

    def __repr__(self):
        return "Answer(%r, %r, %r, %r)" % (self.name, self.rtype, self.kind, self.records)


def presentation(rtype, value):
    """A record value (as in ``Answer.records``) in zone-file presentation form.

    Names get their trailing dot and TXT stays one unquoted joined string, as
    ``records.desired_records`` writes values, so the two compare directly.
    """
    if rtype in ("CNAME", "NS", "PTR", "DNAME"):
        return value + "."
    if rtype == "MX":
        return "%d %s." % (value[0], value[1])
    if rtype == "SRV":
        return "%d %d %d %s." % (value[0], value[1], value[2], value[3])
    if rtype == "TLSA":
        return "%d %d %d %s" % value
    if rtype == "SOA":
        return "%s. %s. %d %d %d %d %d" % value
    if rtype == "CAA":
        return '%d %s "%s"' % value
    return str(value)


def _type_code(rtype):
    code = dnswire.TYPES.get(rtype) if isinstance(rtype, str) else None
    if code is not None:
        return code
    try:
        return dnswire.type_code(rtype)
    except ValueError:
        if not HAS_DNSPYTHON or isinstance(rtype, int):
            raise
        try:
            return dns.rdatatype.from_text(str(rtype).strip().upper())
        except dns.rdatatype.UnknownRdatatype:
            raise ValueError("unknown record type %r" % (rtype,))


def _record_value(rtype_code, value):
    """A record's value (``dnswire.decode_rdata``) as ``Answer.records`` holds it: names as text."""
    if rtype_code == 16:
        return join_txt(b"".join(value))
    if isinstance(value, dnswire.Opaque):
        return _opaque_text(rtype_code, value)
    if rtype_code in (2, 5, 12, 39):
        return dnswire.name_to_text(value)
    if rtype_code == 15:
        return (value[0], dnswire.name_to_text(value[1]))
    if rtype_code == 33:
        return value[:3] + (dnswire.name_to_text(value[3]),)
    if rtype_code == 6:
        return (dnswire.name_to_text(value[0]), dnswire.name_to_text(value[1])) + value[2:]
    if rtype_code == 257:
        return (value[0], value[1], "".join(chr(octet) if 0x20 <= octet < 0x7F and octet not in (0x22, 0x5C) else "\\%03d" % octet
                                            for octet in value[2]))
    return value


def _opaque_text(rtype_code, data):
    if HAS_DNSPYTHON:
        try:  # from the whole message, so compression pointers inside the RDATA resolve
            return dns.rdata.from_wire(dns.rdataclass.IN, rtype_code, data.wire, data.offset, len(data)).to_text()
        except Exception:  # pylint: disable=broad-exception-caught  # any bad RDATA falls back to RFC 3597
            pass
    return "\\# %d %s" % (len(data), data.hex())  # RFC 3597 5 generic form


# ---------------------------------------------------------------------------------------------
# Transport


class _Failure(Exception):
    """One attempt at one nameserver that got no usable answer."""

    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class _Channel:
    """Queries in flight to one nameserver over one socket, matched to answers by ID and question."""

    transport_name = ""
    stream = False  # TCP: an answer is never cut to fit

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.pending = {}  # query id -> (future, qname, qtype, deadline, timeout)
        self.closed = None
        self._timer = None
        self._timer_at = None

    def watch(self, message_id, future, qname, qtype, timeout, loop):
        """Wait for the answer to ``message_id`` at most ``timeout`` seconds (``loop``: the running loop).

        One timer per channel, set for the earliest deadline, instead of one per query: with
        thousands of queries in flight, creating and cancelling their timers costs more than the
        rare expiry does."""
        deadline = loop.time() + timeout
        self.pending[message_id] = (future, qname, qtype, deadline, timeout)
        if self._timer_at is None or deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = loop.call_at(deadline, self._expire_due)

    def _expire_due(self):
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._timer = self._timer_at = None
        earliest = None
        for message_id, (future, _qname, _qtype, deadline, timeout) in list(self.pending.items()):
            if deadline <= now:
                del self.pending[message_id]
                if not future.done():
                    future.set_exception(_Failure(TIMEOUT, "%s: no answer within %.1f s" % (format_nameserver(self.server), timeout)))
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self._timer_at = earliest
            self._timer = loop.call_at(earliest, self._expire_due)

    def _dispatch(self, data):
        if len(data) < 12:
            return
        message_id = (data[0] << 8) | data[1]
        entry = self.pending.get(message_id)
        if entry is None:
            return  # a late answer to a query that already gave up
        qname, qtype = entry[1], entry[2]
        try:
            message = dnswire.decode_message(data)
        except dnswire.WireError as exc:
            reason = "unreadable answer from %s%s: %s" % (format_nameserver(self.server), self.transport_name, exc)
            self._settle(message_id, error=_Failure(ERROR, reason))
            return
        if not message.is_response or message.question is None or message.question[0] != qname or message.question[1] != qtype \
                or message.opcode != dnswire.OPCODE_QUERY:
            return  # not the answer to this question: ignore it, as RFC 5452 9.1 asks
        if message.truncated and self.stream:
            # TC over TCP: the server could not send every record even without a size limit (RFC 7766
            # 8), so what came is incomplete and "no records" would be a wrong verdict: a failed lookup.
            reason = "truncated answer (TC) from %s over TCP: its records are incomplete" % format_nameserver(self.server)
            self._settle(message_id, error=_Failure(ERROR, reason))
            return
        self._settle(message_id, result=message)

    def _settle(self, message_id, result=None, error=None):
        entry = self.pending.pop(message_id, None)
        if entry is None or entry[0].done():
            return
        if error is not None:
            entry[0].set_exception(error)
        else:
            entry[0].set_result(result)

    def _fail_all(self, failure):
        for message_id in list(self.pending):
            self._settle(message_id, error=failure)

    def forget(self, message_id, future):
        # Only this query's entry: once answered, its ID may already carry a newer query.
        entry = self.pending.get(message_id)
        if entry is not None and entry[0] is future:
            del self.pending[message_id]

    def new_id(self):
        while True:
            message_id = random.getrandbits(16)
            if message_id not in self.pending:
                return message_id

    def close(self):
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None:
            self.transport.close()


class _UdpChannel(_Channel, asyncio.DatagramProtocol):
    """One connected UDP socket to one nameserver, shared by every query of an event loop."""

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                # Hundreds of answers may arrive between two turns of the event loop; the default
                # buffer (about 200 small datagrams here) drops some, which then cost a timeout each.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            except OSError:
                pass

    def datagram_received(self, data, addr):
        self._dispatch(data)

    def error_received(self, exc):
        # An ICMP error on a connected socket (port unreachable, no route): the server is not there,
        # so every query waiting on it fails now instead of timing out.
        self._fail_all(_Failure(UNREACHABLE, "%s: %s" % (format_nameserver(self.server), _reason(exc))))

    def connection_lost(self, exc):
        self.closed = exc or True
        self._fail_all(_Failure(UNREACHABLE, "%s: connection lost" % format_nameserver(self.server)))

    def send(self, wire):
        self.transport.sendto(wire)


class _TcpChannel(_Channel, asyncio.Protocol):
    """One TCP connection to one nameserver carrying every query of an event loop (RFC 7766 6.2.1.1
    pipelining; answers may come in any order). The queries made in one turn of the event loop
    leave in one write: on this machine a system call costs as much as encoding a dozen queries,
    so a thousand domains' lookups cost a handful of writes instead of thousands of datagrams."""

    transport_name = " over TCP"
    stream = True

    def __init__(self, server):
        super().__init__(server)
        self.outgoing = []
        self.received = bytearray()

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def send(self, wire):
        if not self.outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self.outgoing.append(len(wire).to_bytes(_TCP_LENGTH, "big") + wire)

    def _flush(self):
        data = b"".join(self.outgoing)
        self.outgoing = []
        if self.closed or self.transport is None:
            return
        self.transport.write(data)

    def data_received(self, data):
        received = self.received
        received += data
        offset = 0
        size = len(received)
        while size - offset >= _TCP_LENGTH:
            length = (received[offset] << 8) | received[offset + 1]
            end = offset + _TCP_LENGTH + length
            if end > size:
                break
            self._dispatch(bytes(received[offset + _TCP_LENGTH:end]))
            offset = end
        if offset:
            del received[:offset]

    def connection_lost(self, exc):
        # The server closed the connection (idle or query limits, a restart): the queries still
        # waiting are asked again, on a new connection or over UDP.
        self.closed = exc or True
        self._fail_all(_Failure(_RETRY, "%s closed the TCP connection" % format_nameserver(self.server)))


class _Slots:
    """A bound on lookups in progress. Like asyncio.Semaphore, but a freed slot goes straight to the
    longest waiter: with thousands of lookups queued, asyncio's wake-up-and-retry costs more CPU
    than the lookups' own DNS work."""

    def __init__(self, limit):
        self.free = limit
        self.waiters = collections.deque()

    def take(self):
        """Take a slot at once if one is free and nobody waits for one; False otherwise."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def __aenter__(self):
        if self.take():
            return
        await self.wait()

    async def wait(self):
        """Wait for a slot (in turn)."""
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot arrived as the waiter was cancelled: pass it on
            raise

    async def __aexit__(self, *exc_info):
        self.release()

    def release(self):
        while self.waiters:
            future = self.waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.free += 1


class _LoopState:
    """What a Resolver keeps per event loop: channels, the concurrency bound, lookups in flight."""

    def __init__(self, concurrency, deadline):
        self.channels = {}  # (server, "udp" or "tcp") -> channel
        self.channel_locks = {}
        self.udp_only = set()  # servers whose TCP port could not be used in this loop
        self.slots = _Slots(concurrency)
        self.in_flight = {}
        self.deadline = deadline

    def close(self):
        for channel in self.channels.values():
            channel.close()
        self.channels.clear()


# ---------------------------------------------------------------------------------------------
# The resolver


class Resolver:
    """Ask the given nameservers (default: resolv.conf's), with bounded waits, many lookups at once.

    ``nameservers``: addresses with optional ports (``"127.0.0.1:5353"``, ``"[::1]:53"``) or
    ``(address, port)`` pairs, tried in order. ``timeout``: seconds per attempt at one nameserver.
    ``lifetime``: seconds per lookup in all. ``want_dnssec``: set the DO bit (DNSSEC records in
    answers); the AD bit is asked for and reported either way. ``concurrency``: lookups in progress
    at once. ``cache``: remember answers for the life of this object (one verification run), so
    names several domains share, such as an SPF include, are asked once. ``transport``: ``auto``
    (one pipelined TCP connection per nameserver, UDP for a server whose TCP port cannot be used),
    ``tcp`` or ``udp`` (with TCP for truncated answers).
    """

    def __init__(self, nameservers=None, timeout=DEFAULT_TIMEOUT, lifetime=DEFAULT_LIFETIME, want_dnssec=False,
                 concurrency=DEFAULT_CONCURRENCY, port=DEFAULT_PORT, cache=True, transport="auto"):
        if nameservers:
            self.nameservers = [
                server if isinstance(server, tuple) else parse_nameserver(server, "nameservers[%d]" % index, port)
                for index, server in enumerate(nameservers)
            ]
        else:
            self.nameservers = system_nameservers()
            if not self.nameservers:
                raise SpecError("nameservers", "none given and none found in %s" % RESOLV_CONF)
        if not timeout or timeout <= 0:
            raise SpecError("timeout", "must be a positive number of seconds, got %r" % (timeout,))
        if not lifetime or lifetime <= 0:
            raise SpecError("lifetime", "must be a positive number of seconds, got %r" % (lifetime,))
        if not isinstance(concurrency, int) or concurrency < 1:
            raise SpecError("concurrency", "must be a positive integer, got %r" % (concurrency,))
        if transport not in TRANSPORTS:
            raise SpecError("transport", "must be one of %s, got %r" % (", ".join(TRANSPORTS), transport))
        self.transport = transport
        self.timeout = float(timeout)
        self.lifetime = float(lifetime)
        self.want_dnssec = bool(want_dnssec)
        self.concurrency = concurrency
        self._cache = {} if cache else None
        self.checking_disabled = False  # the CD bit (RFC 4035 3.2.2): see ``without_validation``
        self._states = {}
        self._states_lock = threading.Lock()
        self.queries_sent = 0

    def divided(self, parts):
        """This resolver for one of ``parts`` processes that share a run: the same nameservers,
        bounds and transport, ``1/parts`` of the concurrency (at least 1) and a cache of its own."""
        if parts <= 1:
            return self
        return Resolver(list(self.nameservers), timeout=self.timeout, lifetime=self.lifetime, want_dnssec=self.want_dnssec,
                        concurrency=max(1, self.concurrency // parts), cache=self._cache is not None, transport=self.transport)

    def without_validation(self):
        """This resolver asking with the CD bit set: a validating resolver then answers data whose
        signatures do not validate, which tells a bogus chain from a zone that is broken."""
        twin = Resolver(list(self.nameservers), timeout=self.timeout, lifetime=self.lifetime, want_dnssec=self.want_dnssec,
                        concurrency=self.concurrency, cache=False, transport=self.transport)
        twin.checking_disabled = True
        return twin

    # ----- per event loop ------------------------------------------------------------------

    def _state(self):
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.get(loop)
            if state is None:
                state = self._states[loop] = _LoopState(self.concurrency, None)
            return state

    async def _run_bounded(self, awaitable, overall_timeout):
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + overall_timeout if overall_timeout else None
        with self._states_lock:
            self._states[loop] = _LoopState(self.concurrency, deadline)
        try:
            return await awaitable
        finally:
            with self._states_lock:
                state = self._states.pop(loop, None)
            if state is not None:
                state.close()

    def run(self, awaitable, overall_timeout=None):
        """Run a coroutine that awaits this resolver in a new event loop; lookups still unanswered
        after ``overall_timeout`` seconds answer ``timeout``. Not callable from inside a running loop.
        The garbage collector is paused meanwhile (see ``collector_paused``)."""
        with collector_paused():
            return asyncio.run(self._run_bounded(awaitable, overall_timeout))

    async def aclose(self):
        """Close this event loop's sockets (``run`` and the synchronous calls do it themselves)."""
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.pop(loop, None)
        if state is not None:
            state.close()

    # ----- synchronous API -----------------------------------------------------------------

    def query(self, name, rtype):
        """Look up ``name``/``rtype``; always returns an Answer (see ``Answer.kind``).

        ``name`` is RFC 1035 text (``dnswire.name_from_text``): ``\\.``, ``\\\\`` and ``\\DDD`` stand for
        octets, other characters for themselves (spaces too); it is asked and matched as octets."""
        return self.run(self.aquery(name, rtype))

    def query_many(self, pairs, overall_timeout=None):
        """Answers to ``[(name, rtype), ...]`` in order, looked up concurrently."""
        return self.run(self.agather(pairs), overall_timeout)

    def addresses(self, host):
        """The A and AAAA addresses of ``host`` (CNAMEs followed); ``[]`` when it has none.

        Raises ResolverError when neither lookup could be answered.
        """
        return self.run(self.aaddresses(host))

    def map(self, function, items, overall_timeout=None):
        """``[await function(item) for item in items]``, concurrently, in order.

        ``function`` is a coroutine function that looks things up with ``aquery``/``agather``.
        """
        async def every():
            return await asyncio.gather(*(function(item) for item in items))
        return self.run(every(), overall_timeout)

    # ----- asynchronous API ----------------------------------------------------------------

    async def agather(self, pairs):
        """Answers to ``[(name, rtype), ...]`` in order, looked up concurrently."""
        prepared = [self._prepare(name, rtype) for name, rtype in pairs]
        waiting = [self._lookup(*item) for item in prepared if not isinstance(item, Answer)]
        if not waiting:
            return prepared
        found = iter(await asyncio.gather(*waiting) if len(waiting) > 1 else [await waiting[0]])
        return [item if isinstance(item, Answer) else next(found) for item in prepared]

    async def aaddresses(self, host):
        answers = await self.agather([(host, "A"), (host, "AAAA")])
        if all(answer.failed for answer in answers):
            raise ResolverError(answers[0])
        return [address for answer in answers if answer.ok for address in answer.records]

    async def aquery(self, name, rtype):
        """Look up ``name``/``rtype`` inside a running event loop; returns an Answer."""
        prepared = self._prepare(name, rtype)
        if isinstance(prepared, Answer):
            return prepared
        return await self._lookup(*prepared)

    def _prepare(self, name, rtype):
        """The cached Answer (or one for a question that cannot be asked), else what ``_lookup`` needs."""
        try:
            code = _type_code(rtype)
        except ValueError as exc:
            return Answer(str(name), str(rtype), ERROR, detail=str(exc))
        rtype_name = dnswire.TYPE_NAMES.get(code) or (dns.rdatatype.to_text(code) if HAS_DNSPYTHON else dnswire.type_name(code))
        text = name if isinstance(name, str) else str(name)
        try:
            qname = dnswire.name_from_text(text).lower()
        except dnswire.WireError as exc:
            return Answer(text, rtype_name, ERROR, detail=str(exc))
        if self._cache is not None:
            cached = self._cache.get((qname, code))
            if cached is not None:
                return cached
        return qname, code, rtype_name, dnswire.lowered_text(text, qname)

    async def _lookup(self, qname, code, rtype_name, name):
        key = (qname, code)
        state = self._state()
        waiters = state.in_flight.get(key)
        if waiters is not None:  # the same question is being asked: wait for its answer
            future = asyncio.get_running_loop().create_future()
            waiters.append(future)
            return await future
        waiters = state.in_flight[key] = []
        try:
            answer = await self._resolve(state, qname, code, rtype_name, name)
        except BaseException:  # a cancelled lookup must not leave others waiting on it forever
            for future in waiters:
                future.cancel()
            raise
        finally:
            state.in_flight.pop(key, None)
        if self._cache is not None:
            self._cache[key] = answer
        for future in waiters:
            if not future.done():
                future.set_result(answer)
        return answer

    async def _resolve(self, state, qname, code, rtype_name, name):
        if state.deadline is not None and time.monotonic() >= state.deadline:
            return Answer(name, rtype_name, TIMEOUT, detail=_NOT_ASKED)
        slots = state.slots
        if not slots.take():  # ``async with slots`` costs two coroutines per lookup; most find a slot free
            await slots.wait()
        try:
            began = time.monotonic()
            deadline = began + self.lifetime
            if state.deadline is not None:
                deadline = min(deadline, state.deadline)
            answer = await self._follow(state, qname, code, rtype_name, name, deadline)
            answer.elapsed = time.monotonic() - began
            return answer
        finally:
            slots.release()

    async def _follow(self, state, qname, code, rtype_name, name, deadline):
        """Ask, then follow CNAMEs the answer does not resolve itself (an authoritative server
        answers only for its own zones), up to MAX_CNAME_HOPS. Names are compared in wire form
        (``dnswire``); the Answer shows them as text (``name``: the question's)."""
        chain = []
        seen = {qname}
        current = qname
        authenticated = True
        for _hop in range(MAX_CNAME_HOPS + 1):
            try:
                message, server = await self._ask(state, current, code, deadline)
            except _Failure as failure:
                return Answer(name, rtype_name, failure.kind, chain=chain, detail=failure.detail)
            where = format_nameserver(server)
            authenticated = authenticated and message.authenticated
            target = current
            records = []
            ttl = None
            for record in message.answer:
                if record.rclass != dnswire.CLASS_IN:
                    continue
                if record.rtype == code and record.owner == target:
                    records.append(_record_value(code, record.value))
                    ttl = record.ttl if ttl is None else min(ttl, record.ttl)
            # Walk the CNAMEs in the order the chain goes, whatever order the answer lists them in.
            cnames = {record.owner: record.value for record in message.answer if record.rtype == 5 and record.rclass == dnswire.CLASS_IN}
            while code != 5 and not records and target in cnames:
                target = cnames[target]
                chain.append(dnswire.name_to_text(target))
                if target in seen:
                    return Answer(name, rtype_name, ERROR, chain=chain, nameserver=where,
                                  detail="CNAME loop at %s (from %s)" % (chain[-1], where))
                seen.add(target)
                if len(chain) > MAX_CNAME_HOPS:
                    return Answer(name, rtype_name, ERROR, chain=chain, nameserver=where,
                                  detail="more than %d CNAMEs in a row (from %s)" % (MAX_CNAME_HOPS, where))
                for record in message.answer:
                    if record.rtype == code and record.owner == target and record.rclass == dnswire.CLASS_IN:
                        records.append(_record_value(code, record.value))
                        ttl = record.ttl if ttl is None else min(ttl, record.ttl)
            rcode = dnswire.rcode_name(message.rcode)
            if records:
                return Answer(name, rtype_name, OK, records, rcode, chain, authenticated, where, detail="%d record(s) from %s"
                              % (len(records), where), ttl=ttl)
            if message.rcode == dnswire.NXDOMAIN:
                missing = chain[-1] if target != qname else "the name"
                return Answer(name, rtype_name, NXDOMAIN, (), rcode, chain, authenticated, where,
                              detail="NXDOMAIN: %s does not exist (from %s)" % (missing, where))
            soa_in_authority = any(record.rtype == 6 for record in message.authority)
            if target != current and not soa_in_authority:
                current = target  # the server stopped at a CNAME out of its zones: ask for the target
                continue
            shown = chain[-1] if chain else name
            if not soa_in_authority and not message.authoritative and not message.recursion_available and \
                    any(record.rtype == 2 for record in message.authority):
                return Answer(name, rtype_name, ERROR, (), rcode, chain, False, where,
                              detail="%s sent a referral: it neither serves %s nor resolves it" % (where, shown))
            return Answer(name, rtype_name, NODATA, (), rcode, chain, authenticated, where,
                          detail="no %s records at %s (NOERROR, from %s)" % (rtype_name, shown, where))
        return Answer(name, rtype_name, ERROR, chain=chain, detail="more than %d CNAMEs in a row" % MAX_CNAME_HOPS)

    async def _ask(self, state, name, code, deadline):
        """One answer to ``name``/``code`` with a usable RCODE, trying the nameservers in order and
        again after timeouts until ``deadline``; raises _Failure describing every attempt."""
        failures = {}
        waited = {}  # the seconds each silent server was given, attempt by attempt
        resets = {}  # TCP connections each server closed under this lookup
        candidates = list(self.nameservers)
        while candidates and deadline - time.monotonic() > 0:
            for server in list(candidates):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                attempt = min(self.timeout, remaining)
                # With transport auto, a server silent over TCP is asked over UDP next time (and back).
                udp = self.transport == "auto" and server in waited and len(waited.get(server, ())) % 2 == 1
                try:
                    message = await self._exchange(state, server, name, code, attempt, udp)
                except _Failure as failure:
                    if failure.kind == _RETRY:
                        resets[server] = resets.get(server, 0) + 1
                        if resets[server] > 1:  # the connection keeps closing: the rest of this run goes over UDP
                            state.udp_only.add(server)
                        failures.setdefault(server, failure)
                        continue
                    if failure.kind == TIMEOUT:
                        waited.setdefault(server, []).append(attempt)
                        failure = _Failure(TIMEOUT, "%s: no answer within %.1f s" % (format_nameserver(server), sum(waited[server])))
                    else:
                        candidates.remove(server)
                    failures[server] = failure
                    continue
                if message.rcode in (dnswire.NOERROR, dnswire.NXDOMAIN):
                    return message, server
                kind = {dnswire.SERVFAIL: SERVFAIL, dnswire.REFUSED: REFUSED}.get(message.rcode, ERROR)
                failures[server] = _Failure(kind, "%s from %s" % (dnswire.rcode_name(message.rcode), format_nameserver(server)))
                candidates.remove(server)
        raise _summarize(failures)

    async def _channel(self, state, server, kind, timeout):
        key = (server, kind)
        channel = state.channels.get(key)
        if channel is not None and not channel.closed:
            return channel
        lock = state.channel_locks.setdefault(key, asyncio.Lock())
        async with lock:
            channel = state.channels.get(key)
            if channel is None or channel.closed:
                channel = await self._open(server, kind, timeout)
                state.channels[key] = channel
        return channel

    @staticmethod
    async def _open(server, kind, timeout):
        loop = asyncio.get_running_loop()
        where = format_nameserver(server)
        try:
            if kind == "udp":
                _transport, channel = await loop.create_datagram_endpoint(lambda: _UdpChannel(server), remote_addr=server)
            else:
                _transport, channel = await asyncio.wait_for(loop.create_connection(lambda: _TcpChannel(server), server[0], server[1]), timeout)
        except asyncio.TimeoutError:
            raise _Failure(TIMEOUT, "%s: no TCP connection within %.1f s" % (where, timeout))
        except OSError as exc:
            raise _Failure(UNREACHABLE, "%s%s: %s" % (where, " over TCP" if kind == "tcp" else "", _reason(exc)))
        return channel

    async def _exchange(self, state, server, name, code, timeout, udp=False):
        """One attempt at one nameserver: over the pipelined TCP connection unless the transport is
        UDP (or ``udp`` is set, or TCP failed for this server, with ``transport="auto"``), over UDP
        then, and again over TCP when a UDP answer is truncated."""
        began = time.monotonic()
        if self.transport != "udp" and not udp and server not in state.udp_only:
            try:
                channel = state.channels.get((server, "tcp"))
                if channel is None or channel.closed:  # the open channel is used without a coroutine of its own
                    channel = await self._channel(state, server, "tcp", timeout)
            except _Failure:
                if self.transport == "tcp":
                    raise
                state.udp_only.add(server)  # e.g. a firewall that lets only UDP through
            else:
                return await self._ask_channel(channel, server, name, code, timeout)
        remaining = timeout - (time.monotonic() - began)
        if remaining <= 0:
            raise _Failure(TIMEOUT, "%s: no answer within %.1f s" % (format_nameserver(server), timeout))
        channel = await self._channel(state, server, "udp", remaining)
        message = await self._ask_channel(channel, server, name, code, remaining)
        if message.truncated:
            tcp_channel = await self._channel(state, server, "tcp", remaining)
            return await self._ask_channel(tcp_channel, server, name, code, remaining)
        return message

    async def _ask_channel(self, channel, server, name, code, timeout):
        loop = asyncio.get_running_loop()
        message_id = channel.new_id()
        wire = dnswire.encode_query(message_id, name, code, dnssec_ok=self.want_dnssec, checking_disabled=self.checking_disabled,
                                    payload=65535 if isinstance(channel, _TcpChannel) else dnswire.EDNS_PAYLOAD)
        future = loop.create_future()
        channel.watch(message_id, future, name, code, timeout, loop)
        try:
            self.queries_sent += 1
            channel.send(wire)
            return await future
        except OSError as exc:
            raise _Failure(UNREACHABLE, "%s: %s" % (format_nameserver(server), _reason(exc)))
        finally:
            channel.forget(message_id, future)


def _reason(exc):
    """``Connection refused`` for an OSError, whatever text asyncio wrapped around it."""
    if getattr(exc, "errno", None):
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def _summarize(failures):
    """One failure for a lookup that every nameserver failed: the most telling kind, every reason."""
    if not failures:
        return _Failure(TIMEOUT, _NOT_ASKED)
    kinds = [TIMEOUT if failure.kind == _RETRY else failure.kind for failure in failures.values()]
    for kind in (SERVFAIL, REFUSED, ERROR, TIMEOUT, UNREACHABLE):
        if kind in kinds:
            break
    details = "; ".join(failure.detail for failure in failures.values())
    if kind == UNREACHABLE:
        details = "no nameserver reachable: " + details
    return _Failure(kind, details)
