"""A DNS responder whose every answer the test writes, for the wire-level cases BIND cannot produce
(truncation, referrals, wrong IDs, garbage, CNAMEs left for the client). The real servers for
everything else are in tests/harness."""

import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def reply(query, answer=(), authority=(), rcode=dns.rcode.NOERROR, flags=0):
    """A response to ``query``; ``answer``/``authority`` hold ``(owner, type, rdata text)`` triples."""
    message = dns.message.make_response(query)
    message.set_rcode(rcode)
    message.flags |= flags
    for section, items in ((message.answer, answer), (message.authority, authority)):
        for owner, rtype, text in items:
            section.append(dns.rrset.from_text(owner, 300, "IN", rtype, text))
    return message


SOA = ("example.com.", "SOA", "ns.example.com. hostmaster.example.com. 1 3600 600 86400 300")


def zone(records):
    """A handler answering from ``{(name, type): [rdata text]}``: NODATA for other types of a known name, else NXDOMAIN."""
    names = {name for name, _rtype in records}

    def handle(query, _transport):
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        if (name, rtype) in records:
            return reply(query, [(name + ".", rtype, text) for text in records[(name, rtype)]], flags=dns.flags.AA)
        rcode = dns.rcode.NOERROR if name in names else dns.rcode.NXDOMAIN
        return reply(query, authority=[SOA], rcode=rcode, flags=dns.flags.AA)
    return handle


class ScriptedDns:
    """UDP and TCP on one loopback port; ``handler(query, transport)`` returns a dns.message.Message,
    raw bytes, a list of those (sent in order) or None (stay silent). ``delay`` holds every answer
    back that many seconds without blocking the server. TCP connections stay open for many queries
    (pipelined, RFC 7766) unless ``close_after`` closes each after that many answers; ``tcp=False``
    listens on UDP only, so TCP connections are refused."""

    def __init__(self, handler, tcp=True):
        self.handler = handler
        self.delay = 0.0
        self.close_after = None
        self.queries = []  # (name without the final dot, type text, transport, query)
        self.tcp_connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.udp, self.tcp = self._bind_pair(tcp)
        self.port = self.udp.getsockname()[1]
        self.udp.settimeout(0.1)
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True)]
        if self.tcp is not None:
            self.tcp.settimeout(0.1)
            self._threads.append(threading.Thread(target=self._serve_tcp, daemon=True))
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _bind_pair(with_tcp, attempts=20):
        # A free UDP port whose TCP twin is free too (another process may hold that one).
        for _attempt in range(attempts):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            if not with_tcp:
                return udp, None
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            return udp, tcp
        raise OSError("no free UDP+TCP port pair on 127.0.0.1")

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def names(self, transport=None):
        return [(name, rtype) for name, rtype, used, _query in self.queries if transport in (None, used)]

    def transports(self):
        return [used for _name, _rtype, used, _query in self.queries]

    def _answers(self, data, transport):
        query = dns.message.from_wire(data)
        question = query.question[0]
        with self._lock:
            self.queries.append((question.name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(question.rdtype), transport, query))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        result = self.handler(query, transport)
        if result is None:
            return []
        items = result if isinstance(result, list) else [result]
        return [item if isinstance(item, bytes) else item.to_wire(max_size=65535) for item in items]

    def _answer(self, wires, send):
        if self.delay:
            time.sleep(self.delay)
        with self._lock:  # before sending: the client may ask again as soon as it has the answer
            self.in_flight -= 1
        for wire in wires:
            if not self._closed.is_set():
                try:
                    send(wire)
                except OSError:
                    return

    def _later(self, wires, send):
        if self.delay:
            threading.Thread(target=self._answer, args=(wires, send), daemon=True).start()
        else:
            self._answer(wires, send)

    def _serve_udp(self):
        while not self._closed.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            self._later(self._answers(data, "udp"), lambda wire, peer=peer: self.udp.sendto(wire, peer))

    def _serve_tcp(self):
        while not self._closed.is_set():
            try:
                connection, _peer = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.tcp_connections += 1
            threading.Thread(target=self._serve_connection, args=(connection,), daemon=True).start()

    def _serve_connection(self, connection):
        writing = threading.Lock()

        def send(wire):
            with writing:
                connection.sendall(len(wire).to_bytes(2, "big") + wire)
        answered = 0
        with connection:
            connection.settimeout(0.2)
            buffer = b""
            while not self._closed.is_set():
                try:
                    chunk = connection.recv(65535)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                    length = int.from_bytes(buffer[:2], "big")
                    data, buffer = buffer[2:2 + length], buffer[2 + length:]
                    self._later(self._answers(data, "tcp"), send)
                    answered += 1
                    if self.close_after is not None and answered >= self.close_after:
                        time.sleep(self.delay + 0.05)  # let the answers leave, then hang up
                        return

    def close(self):
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
