"""Fixtures of the engine's unit tests: a scripted DNS responder and a port nobody listens on."""

import socket

import pytest

from unit.scripted_dns import ScriptedDns


@pytest.fixture
def scripted_dns():
    """``scripted_dns(handler, tcp=True)`` starts a ScriptedDns; all of them stop when the test ends."""
    servers = []

    def start(handler, **options):
        server = ScriptedDns(handler, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def closed_port():
    """A loopback UDP port nothing listens on (ICMP port unreachable answers there)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return "127.0.0.1:%d" % port
