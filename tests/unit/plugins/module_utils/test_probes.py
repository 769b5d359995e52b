"""Unit tests of the probes' pieces: SMTP replies, HTTP framing, deadlines, certificate facts, error kinds.

The probes against real servers (nginx, aiosmtpd) are in tests/integration; here the protocol
readers run in an event loop over a socket pair, so a silent or trickling peer is real and every
wait is bounded.
"""

import asyncio
import datetime
import hashlib
import socket
import ssl
import threading
import time

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ansible_collections.mailsec.posture.plugins.module_utils import dane, probes
from harness import Blackhole

# ---------------------------------------------------------------------------------------------
# SMTP replies (RFC 5321 4.2)


def lines(*items):
    return list(items)


def test_single_line_reply():
    assert probes.parse_reply_lines(lines(b"220 mail.example.com ESMTP ready")) == (220, ["mail.example.com ESMTP ready"])


def test_multi_line_reply_keeps_every_text_line():
    code, texts = probes.parse_reply_lines(lines(b"250-mail.example.com greets you", b"250-SIZE 10240000", b"250-STARTTLS", b"250 HELP"))
    assert code == 250
    assert texts == ["mail.example.com greets you", "SIZE 10240000", "STARTTLS", "HELP"]
    assert probes.ehlo_keywords(texts) == ["SIZE", "STARTTLS", "HELP"]


def test_bare_code_is_a_complete_reply():
    # RFC 5321 4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
    assert probes.parse_reply_lines(lines(b"250")) == (250, [""])
    assert probes.parse_reply_lines(lines(b"250-", b"250 ok")) == (250, ["", "ok"])


@pytest.mark.parametrize(
    "reply, message",
    [
        ((b"HTTP/1.1 400 Bad Request",), "not an SMTP reply line"),
        ((b"25 short",), "not an SMTP reply line"),
        ((b"650 no such class",), "not an SMTP reply line"),
        ((b"250-first", b"251 second"), "changed its code from 250 to 251"),
        ((b"220x no separator",), "not an SMTP reply line"),
    ],
)
def test_malformed_replies_fail_with_the_smtp_kind(reply, message):
    with pytest.raises(probes._ProbeFailure) as caught:  # pylint: disable=protected-access
        probes.parse_reply_lines(lines(*reply), "mx.example")
    assert caught.value.kind == probes.SMTP
    assert message in caught.value.detail


def test_a_reply_cannot_go_on_forever():
    endless = [b"250-more"] * (probes.MAX_SMTP_REPLY_LINES + 5)
    with pytest.raises(probes._ProbeFailure, match="more than 100 lines"):  # pylint: disable=protected-access
        probes.parse_reply_lines(endless)


def test_a_reply_without_its_last_line_is_incomplete():
    with pytest.raises(probes._ProbeFailure, match="no last line"):  # pylint: disable=protected-access
        probes.parse_reply_lines([b"250-first", b"250-second"])


def test_ehlo_keywords_are_upper_case_and_unique_and_skip_the_greeting():
    texts = ["mx.example.com Hello client [192.0.2.1]", "starttls", "8BITMIME", "AUTH PLAIN LOGIN", "STARTTLS"]
    assert probes.ehlo_keywords(texts) == ["STARTTLS", "8BITMIME", "AUTH"]
    assert probes.ehlo_keywords(["only a greeting"]) == []


def test_default_helo_name_is_the_fqdn_or_an_address_literal(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "client.example.net")
    assert probes.default_helo_name("127.0.0.1") == "client.example.net"
    monkeypatch.setattr(socket, "gethostname", lambda: "localhost")
    assert probes.default_helo_name("127.0.0.1") == "[127.0.0.1]"
    assert probes.default_helo_name("2001:db8::25") == "[IPv6:2001:db8::25]"
    monkeypatch.setattr(socket, "gethostname", lambda: "box.localdomain")
    assert probes.default_helo_name("192.0.2.1") == "[192.0.2.1]"


# ---------------------------------------------------------------------------------------------
# Reading in an event loop over a real socket pair


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


async def channel_over(sock):
    _transport, channel = await asyncio.get_running_loop().create_connection(probes._Channel, sock=sock)  # pylint: disable=protected-access
    return channel


def in_loop(sock, use, timeout=2.0):
    """``await use(channel)`` over ``sock``, bounded by ``timeout`` (asyncio.TimeoutError past it)."""
    async def main():
        channel = await channel_over(sock)
        try:
            return await asyncio.wait_for(use(channel), timeout)
        finally:
            channel.abort()
    return asyncio.run(main())


def send_later(sock, pieces, pause=0.01):
    def send():
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                return
            time.sleep(pause)
    sender = threading.Thread(target=send)
    sender.start()
    return sender


def test_reply_split_across_packets_is_joined(pair):
    ours, theirs = pair
    sender = send_later(theirs, [b"250-mx.exa", b"mple.com\r\n250-STA", b"RTTLS\r\n250 HELP\r\n221 bye\r\n"])

    async def use(channel):
        first = await probes._read_reply(channel, "pair")  # pylint: disable=protected-access
        second = await probes._read_reply(channel, "pair")  # pylint: disable=protected-access
        return first, second, bytes(channel.buffer)

    try:
        assert in_loop(ours, use) == ((250, ["mx.example.com", "STARTTLS", "HELP"]), (221, ["bye"]), b"")
    finally:
        sender.join(2)


def test_octets_that_follow_a_reply_stay_in_the_buffer(pair):
    ours, theirs = pair
    theirs.sendall(b"220 go ahead\r\nsmuggled")

    async def use(channel):
        return await probes._read_reply(channel, "pair"), bytes(channel.buffer)  # pylint: disable=protected-access

    # The SMTP probe warns about such octets after the 220 to STARTTLS and never reads them as TLS.
    assert in_loop(ours, use) == ((220, ["go ahead"]), b"smuggled")


def test_a_trickling_peer_is_cut_off_at_the_deadline(pair):
    """One octet every 50 ms never lets a per-read timeout fire; the probe's deadline still ends the read."""
    ours, theirs = pair
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            try:
                theirs.send(b"x")
            except OSError:
                return
            time.sleep(0.05)

    sender = threading.Thread(target=trickle)
    sender.start()
    began = time.monotonic()
    try:
        with pytest.raises(asyncio.TimeoutError):
            in_loop(ours, lambda channel: probes._read_reply(channel, "trickle"), timeout=0.5)  # pylint: disable=protected-access
        assert time.monotonic() - began < 1.5
    finally:
        stop.set()
        sender.join(2)


def test_an_endless_line_is_refused(pair):
    ours, theirs = pair
    theirs.sendall(b"220 " + b"a" * (probes.MAX_SMTP_LINE + 10))
    with pytest.raises(probes._ProbeFailure, match="longer than 4096 octets"):  # pylint: disable=protected-access
        in_loop(ours, lambda channel: probes._read_reply(channel, "pair"))  # pylint: disable=protected-access


def test_a_closed_connection_ends_a_reply(pair):
    ours, theirs = pair
    theirs.sendall(b"220-first line\r\n")
    theirs.shutdown(socket.SHUT_WR)
    with pytest.raises(probes._ProbeFailure, match="closed the connection"):  # pylint: disable=protected-access
        in_loop(ours, lambda channel: probes._read_reply(channel, "pair"))  # pylint: disable=protected-access


def test_a_silent_smtp_server_times_out_within_the_timeout():
    with Blackhole() as silent:
        began = time.monotonic()
        result = probes.probe_smtp("mx.example.com", silent.address, silent.port, timeout=0.5)
        assert time.monotonic() - began < 1.5
    assert result.error == probes.TIMEOUT
    assert result.detail.endswith("no complete answer within 0.5 s (waiting for the greeting)")
    assert result.stage == "greeting" and result.verified is None


def test_a_silent_web_server_times_out_within_the_timeout():
    with Blackhole() as silent:
        began = time.monotonic()
        result = probes.fetch_policy("mta-sts.example.com", silent.address, silent.port, timeout=0.5)
        assert time.monotonic() - began < 1.5
    assert result.error == probes.TIMEOUT
    assert result.detail.endswith("no complete answer within 0.5 s (waiting for the TLS handshake)")


# ---------------------------------------------------------------------------------------------
# HTTP details


@pytest.mark.parametrize(
    "value, expected",
    [
        ("text/plain", "text/plain"),
        ("Text/Plain; charset=UTF-8", "text/plain"),
        (" text/plain ;format=flowed", "text/plain"),
        ("text/html; charset=utf-8", "text/html"),
        ("", None),
        (None, None),
    ],
)
def test_media_type(value, expected):
    assert probes.media_type(value) == expected


def test_request_names_the_port_only_when_it_is_not_443():
    request = probes._request_bytes("mta-sts.example.com", 443, "/.well-known/mta-sts.txt")  # pylint: disable=protected-access
    assert request.startswith(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n")
    assert b"Connection: close\r\n" in request and request.endswith(b"\r\n\r\n")
    assert b"Host: mta-sts.example.com:8443\r\n" in probes._request_bytes("mta-sts.example.com", 8443, "/x")  # pylint: disable=protected-access


def test_fetch_without_an_address_is_a_dns_failure():
    result = probes.fetch_policy("mta-sts.example.com", None, timeout=1)
    assert (result.ok, result.error) == (False, probes.DNS)
    assert result.as_dict()["url"] == "https://mta-sts.example.com/.well-known/mta-sts.txt"


def test_fetch_from_a_closed_port_is_a_connect_failure():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    result = probes.fetch_policy("mta-sts.example.com", "127.0.0.1", port, timeout=2)
    assert result.error == probes.CONNECT
    assert "127.0.0.1 port %d" % port in result.detail
    smtp = probes.probe_smtp("mx.example.com", ["127.0.0.1"], port, timeout=2)
    assert smtp.error == probes.CONNECT and smtp.verified is None and smtp.chain_der == []


# ---------------------------------------------------------------------------------------------
# Certificates


@pytest.fixture(scope="module")
def authority():
    return trustme.CA()


def der_of(issued):
    return x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)


def test_certificate_facts(authority):
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    issued = authority.issue_cert(
        "mx.example.com", "*.mail.example.com", "192.0.2.7",
        not_before=datetime.datetime(2029, 12, 1, tzinfo=datetime.timezone.utc),
        not_after=datetime.datetime(2030, 1, 11, 12, 0, tzinfo=datetime.timezone.utc),
    )
    der = der_of(issued)
    facts = probes.certificate_facts(der, now=now)
    assert facts["dns_names"] == ["mx.example.com", "*.mail.example.com"]
    assert facts["ip_addresses"] == ["192.0.2.7"]
    assert facts["not_after"] == "2030-01-11T12:00:00Z"
    assert facts["days_to_expiry"] == 10
    assert facts["self_signed"] is False
    assert facts["spki_sha256"] == dane.tlsa_from_certificate(issued.cert_chain_pems[0].bytes()).split()[3]
    assert probes.name_matches("mx.example.com", facts)
    assert probes.name_matches("a.mail.example.com", facts)
    assert not probes.name_matches("a.b.mail.example.com", facts)
    assert not probes.name_matches("example.com", facts)
    text = probes.describe_certificate(facts)
    assert "for mx.example.com, *.mail.example.com" in text and "in 10 day(s)" in text


def test_expired_certificate_days_are_negative(authority):
    issued = authority.issue_cert(
        "mx.example.com",
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        not_after=datetime.datetime(2020, 2, 1, tzinfo=datetime.timezone.utc),
    )
    facts = probes.certificate_facts(der_of(issued), now=datetime.datetime(2020, 2, 3, 1, tzinfo=datetime.timezone.utc))
    assert facts["days_to_expiry"] == -3  # 2 days and 1 hour ago, rounded down
    assert "expired 3 day(s) ago" in probes.describe_certificate(facts)


def test_a_many_name_certificate_is_described_in_a_few_names(authority):
    names = ["mta-sts.d%03d.example" % index for index in range(500)]
    facts = probes.certificate_facts(der_of(authority.issue_cert(*names)))
    text = probes.describe_certificate(facts)
    assert "for mta-sts.d000.example, mta-sts.d001.example, mta-sts.d002.example and 497 more name(s);" in text
    assert "mta-sts.d499.example" not in text and len(text) < 300


def test_the_book_examines_each_distinct_certificate_once(authority):
    names = ["mail.example.com", "*.wild.example.com"] + ["mta-sts.d%03d.example" % index for index in range(300)]
    shared = der_of(authority.issue_cert(*names))
    other = der_of(authority.issue_cert("mx.example.net"))
    book = probes.CertificateBook()
    keys = [book.add(shared) for _domain in range(50)] + [book.add(other), book.add(shared)]
    assert book.examined == 2
    assert set(keys) == {probes.fingerprint(shared), probes.fingerprint(other)}
    key = keys[0]
    assert len(key) == 64 and key == probes.fingerprint(bytes(shared))
    assert book.facts(key) is book.facts(book.add(shared))  # one facts object, however many probes saw it
    assert book.covered_by(key, "MTA-STS.d123.example.") == "mta-sts.d123.example"
    assert book.covered_by(key, "a.wild.example.com") == "*.wild.example.com"
    assert book.covered_by(key, "a.b.wild.example.com") is None  # a wildcard covers one label
    assert book.covered_by(key, "wild.example.com") is None
    assert book.covered_by(key, "mta-sts.d300.example") is None
    assert book.reference(key, "mta-sts.d007.example") == {"sha256": key, "name_covered": True, "covered_by": "mta-sts.d007.example"}
    assert book.reference(key, "nothere.example")["name_covered"] is False
    assert book.reference(None, "nothere.example") is None
    described = book.describe(key)
    assert described["names_count"] == 302 and described["names_shown"] == names[:probes.NAMES_SHOWN]
    assert described["sha256"] == key and described["issuer"] and described["not_after"]
    assert described["spki_sha256"] == hashlib.sha256(dane.spki_from_certificate_der(shared)).hexdigest()
    assert list(book.descriptions()) == [key, probes.fingerprint(other)]
    assert list(book.descriptions([probes.fingerprint(other), "f" * 64])) == [probes.fingerprint(other)]
    assert book.add(b"") is None and book.add(None) is None


def test_the_book_takes_openssls_decoding_when_it_has_one(authority):
    der = der_of(authority.issue_cert("mx.example.com"))
    asked = []

    def decoded():
        asked.append(1)
        return {"subject": ((("commonName", "mx.example.com"),),), "issuer": ((("commonName", "Test CA"),),),
                "notBefore": "Jan  1 00:00:00 2030 GMT", "notAfter": "Feb  1 00:00:00 2030 GMT",
                "subjectAltName": (("DNS", "mx.example.com"),), "serialNumber": "0A"}

    book = probes.CertificateBook()
    key = book.add(der, decoded=decoded)
    book.add(der, decoded=decoded)
    assert asked == [1]  # asked for the new certificate only
    assert book.facts(key)["issuer"] == "CN=Test CA" and book.facts(key)["spki_sha256"]


def test_unreadable_certificates_give_no_facts():
    assert probes.certificate_facts(b"not a certificate") is None
    assert probes.certificate_facts(b"") is None
    assert probes.describe_certificate(None) == "certificate not readable"
    assert not probes.name_matches("mx.example.com", None)


def verification_error(code, message):
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s" % message)
    error.verify_code = code
    error.verify_message = message
    return error


@pytest.mark.parametrize(
    "code, message, reason",
    [
        (62, "Hostname mismatch, certificate is not valid for 'mx.example.com'.", probes.NAME_MISMATCH),
        (10, "certificate has expired", probes.EXPIRED),
        (9, "certificate is not yet valid", probes.NOT_YET_VALID),
        (20, "unable to get local issuer certificate", probes.UNTRUSTED),
        (18, "self-signed certificate", probes.UNTRUSTED),
        (19, "self-signed certificate in certificate chain", probes.UNTRUSTED),
        (None, "certificate has expired", probes.EXPIRED),
        (26, "unsupported certificate purpose", probes.OTHER),
    ],
)
def test_verify_reason(code, message, reason):
    assert probes.verify_reason(verification_error(code, message)) == reason


def test_verify_detail_names_the_host_and_the_presented_names(authority):
    facts = probes.certificate_facts(der_of(authority.issue_cert("other.example.net")))
    detail = probes._verify_detail("mx.example.com", probes.NAME_MISMATCH, "Hostname mismatch", facts)  # pylint: disable=protected-access
    assert detail.startswith("the certificate is not valid for mx.example.com (Hostname mismatch)")
    assert "for other.example.net" in detail


def test_verifying_context_is_never_off_and_is_shared(tmp_path, authority):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(authority.cert_pem.bytes())
    context = probes.verifying_context(str(bundle))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert probes.verifying_context(str(bundle)) is context
    assert probes.check_ca_path(str(bundle)) is None
    assert "does not exist" in probes.check_ca_path(str(tmp_path / "missing.pem"))
    (tmp_path / "empty.pem").write_text("no certificates here\n")
    assert "no usable CA certificates" in probes.check_ca_path(str(tmp_path / "empty.pem"))


# ---------------------------------------------------------------------------------------------
# TLS inside the channel, against a server-side SSLObject in memory: every write is visible


class RecordingTransport(asyncio.Transport):
    """A transport that keeps what the channel writes, one entry per write."""

    def __init__(self):
        super().__init__()
        self.writes = []
        self.aborted = False

    def write(self, data):
        self.writes.append(bytes(data))

    def is_closing(self):
        return self.aborted

    def abort(self):
        self.aborted = True

    def pause_reading(self):
        pass

    def get_extra_info(self, name, default=None):
        return default


class MemoryServer:
    """The server end of a TLS connection, driven by hand."""

    def __init__(self, authority, name):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        authority.issue_cert(name).configure_cert(context)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def receive(self, data):
        """Feed the client's octets; the server's answer (flight, alert or nothing)."""
        self.incoming.write(data)
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def read(self):
        try:
            return self.tls.read(4096)
        except ssl.SSLWantReadError:
            return b""


def client_context(authority):
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    authority.configure_trust(context)
    return context


def test_tls_finished_and_first_request_leave_in_one_write(authority):
    async def main():
        transport = RecordingTransport()
        channel = probes._Channel()  # pylint: disable=protected-access
        channel.connection_made(transport)
        server = MemoryServer(authority, "mta-sts.example.com")

        async def client():
            await channel.start_tls(client_context(authority), "mta-sts.example.com")
            channel.write(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n\r\n")

        task = asyncio.ensure_future(client())
        await asyncio.sleep(0)
        hello = transport.writes.pop()
        channel.data_received(server.receive(hello))
        await asyncio.wait_for(task, 2)
        await asyncio.sleep(0)  # the deferred flush, which must find nothing left
        written = list(transport.writes)
        server.receive(written[0])
        return written, server.read(), channel.tls_object().version()

    written, request, version = asyncio.run(main())
    assert len(written) == 1, "the client's Finished and its request take one write"
    assert request == b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n\r\n"
    assert version in ("TLSv1.2", "TLSv1.3")


def test_tls_handshake_is_finished_even_when_the_client_writes_nothing(authority):
    async def main():
        transport = RecordingTransport()
        channel = probes._Channel()  # pylint: disable=protected-access
        channel.connection_made(transport)
        server = MemoryServer(authority, "mx.example.com")
        task = asyncio.ensure_future(channel.start_tls(client_context(authority), "mx.example.com"))
        await asyncio.sleep(0)
        channel.data_received(server.receive(transport.writes.pop()))
        await asyncio.wait_for(task, 2)
        await asyncio.sleep(0)
        for data in transport.writes:
            server.receive(data)
        return server.tls.version(), len(transport.writes)

    version, writes = asyncio.run(main())
    assert writes == 1 and version is not None


def test_tls_verification_failure_is_openssls_and_the_alert_is_sent(authority):
    async def main():
        transport = RecordingTransport()
        channel = probes._Channel()  # pylint: disable=protected-access
        channel.connection_made(transport)
        server = MemoryServer(authority, "other.example.net")
        task = asyncio.ensure_future(channel.start_tls(client_context(authority), "mta-sts.example.com"))
        await asyncio.sleep(0)
        channel.data_received(server.receive(transport.writes.pop()))
        with pytest.raises(ssl.SSLCertVerificationError) as failure:
            await asyncio.wait_for(task, 2)
        return failure.value, transport.writes

    error, writes = asyncio.run(main())
    assert probes.verify_reason(error) == probes.NAME_MISMATCH
    assert len(writes) == 1, "the alert telling the server why"


def test_tls_over_a_connection_the_server_closes_is_a_tls_failure(authority):
    async def main():
        channel = probes._Channel()  # pylint: disable=protected-access
        channel.connection_made(RecordingTransport())
        task = asyncio.ensure_future(probes._start_tls(channel, client_context(authority), "mx.example.com", "mx port 25"))  # pylint: disable=protected-access
        await asyncio.sleep(0)
        channel.eof_received()
        with pytest.raises(probes._ProbeFailure) as failure:  # pylint: disable=protected-access
            await asyncio.wait_for(task, 2)
        return failure.value

    failure = asyncio.run(main())
    assert failure.kind == probes.TLS
    assert failure.detail == "mx port 25: the connection failed during the TLS handshake: the server closed the connection"


def test_tls_close_notify_ends_the_stream_after_the_data(authority):
    async def main():
        transport = RecordingTransport()
        channel = probes._Channel()  # pylint: disable=protected-access
        channel.connection_made(transport)
        server = MemoryServer(authority, "mta-sts.example.com")
        task = asyncio.ensure_future(channel.start_tls(client_context(authority), "mta-sts.example.com"))
        await asyncio.sleep(0)
        channel.data_received(server.receive(transport.writes.pop()))
        await asyncio.wait_for(task, 2)
        await asyncio.sleep(0)
        tickets = server.receive(b"".join(transport.writes))  # TLS 1.3 servers send session tickets here
        server.tls.write(b"version: STSv1\r\n")
        try:
            server.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        channel.data_received(tickets + server.outgoing.read())
        return await asyncio.wait_for(channel.until_closed(1024), 2), channel.closed

    assert asyncio.run(main()) == (b"version: STSv1\r\n", True)


# ---------------------------------------------------------------------------------------------
# The HTTP exchange of a policy fetch, over a socket pair (the TLS part is tested with nginx)


def exchange(pair, answer, max_bytes=probes.MAX_POLICY_BYTES, timeout=2.0):
    """Run the probe's HTTP exchange against a peer that reads the request and sends ``answer``."""
    ours, theirs = pair

    def serve():
        theirs.recv(65536)
        try:
            theirs.sendall(answer)
            theirs.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the client stopped reading: that is what a size limit does

    server = threading.Thread(target=serve)
    server.start()
    result = probes.PolicyFetch("mta-sts.example.com", "127.0.0.1", 443, "/.well-known/mta-sts.txt")

    async def use(channel):
        try:
            await probes._exchange(result, channel, max_bytes, 0.0)  # pylint: disable=protected-access
        except probes._ProbeFailure as failure:  # pylint: disable=protected-access
            result.fail(failure.kind, failure.detail)

    try:
        in_loop(ours, use, timeout)
    finally:
        server.join(2)
    return result


POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 604800\r\n"


def test_exchange_reads_a_policy_and_its_headers(pair):
    result = exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s" % (len(POLICY), POLICY))
    assert result.ok and result.body == POLICY and result.warnings == []
    assert result.headers["content-type"] == "text/plain; charset=utf-8"


def test_exchange_warns_about_another_content_type_but_keeps_the_body(pair):
    result = exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(POLICY), POLICY))
    assert result.ok and result.body == POLICY
    assert [warning["kind"] for warning in result.warnings] == [probes.CONTENT_TYPE]
    assert "Content-Type is text/html" in result.warnings[0]["detail"]


def test_exchange_never_follows_a_redirect_and_names_its_location(pair):
    result = exchange(pair, b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.example.com/.well-known/mta-sts.txt\r\nContent-Length: 0\r\n\r\n")
    assert (result.ok, result.error, result.status) == (False, probes.REDIRECT, 301)
    assert result.location == "https://www.example.com/.well-known/mta-sts.txt"
    assert "redirect to https://www.example.com/.well-known/mta-sts.txt" in result.detail


def test_exchange_accepts_only_200(pair):
    result = exchange(pair, b"HTTP/1.1 204 No Content\r\n\r\n")
    assert (result.error, result.status) == (probes.HTTP_STATUS, 204)


def test_exchange_stops_reading_a_chunked_body_over_the_limit(pair):
    body = b"x" * 5000
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body), body) for _chunk in range(20)) + b"0\r\n\r\n"
    result = exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, max_bytes=65536)
    assert result.error == probes.TOO_LARGE and result.body is None


def test_exchange_refuses_a_declared_length_over_the_limit_without_reading_it(pair):
    result = exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n" + b"x" * 100)
    assert result.error == probes.TOO_LARGE and "65537 octets" in result.detail


def test_exchange_reports_a_body_cut_short(pair):
    result = exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nversion: STSv1\r\n")
    assert result.error == probes.HTTP and "ended after 16 octets" in result.detail


def test_exchange_reports_something_that_is_not_http(pair):
    result = exchange(pair, b"SSH-2.0-OpenSSH_9.2\r\n")
    assert result.error == probes.HTTP and "not an HTTP/1.1 response" in result.detail


def test_exchange_reads_a_chunked_policy_and_skips_an_interim_answer(pair):
    result = exchange(pair, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"10;name=value\r\nversion: STSv1\r\n\r\nc\r\nmode: none\r\n\r\n0\r\nTrailer: x\r\n\r\n")
    assert result.ok and result.status == 200
    assert result.body == b"version: STSv1\r\nmode: none\r\n"


def test_exchange_reads_until_the_end_without_a_length(pair):
    result = exchange(pair, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + POLICY)
    assert result.ok and result.body == POLICY


def test_exchange_stops_reading_an_unframed_body_over_the_limit(pair):
    result = exchange(pair, b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 70000, max_bytes=65536)
    assert result.error == probes.TOO_LARGE and "over 65536 octets" in result.detail


def test_a_policy_that_never_finishes_is_cut_off(pair):
    ours, theirs = pair
    result = probes.PolicyFetch("mta-sts.example.com", "127.0.0.1", 443, "/.well-known/mta-sts.txt")
    theirs.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nversion: ")
    began = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        in_loop(ours, lambda channel: probes._exchange(result, channel, probes.MAX_POLICY_BYTES, 0.0), timeout=0.4)  # pylint: disable=protected-access
    assert time.monotonic() - began < 1.0
    assert result.stage == "body" and result.status == 200


@pytest.mark.parametrize("answer, message", [
    (b"HTTP/1.1 200 OK\r\n folded: header\r\n\r\n", "folded header line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not a header field"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nabcde", "is not one number"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "only chunked is expected"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", "the body is encoded"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not a chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", "longer than its size line says"),
])
def test_exchange_refuses_malformed_framing(pair, answer, message):
    result = exchange(pair, answer)
    assert result.error == probes.HTTP and message in result.detail, result.detail


def test_too_many_header_fields(pair):
    result = exchange(pair, b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % index for index in range(101)) + b"\r\n")
    assert result.error == probes.HTTP and "more than 100 header fields" in result.detail
