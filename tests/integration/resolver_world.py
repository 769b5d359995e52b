# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run mta-sts-daemon against a small world of domains and ask it, over the socketmap protocol, about each.

    python resolver_world.py WORKDIR DAEMON CONFIG   (inside ``unshare -n -m``, see test_mta_sts_resolver.py)

Not a test by itself: test_mta_sts_resolver.py runs it in a private network namespace (only a
loopback interface, so the fixed ports below collide with nothing) and a private mount namespace
whose /etc/resolv.conf says ``nameserver 127.0.0.1``. That is what the daemon needs: it resolves
``_mta-sts.<domain>`` and ``mta-sts.<domain>`` through c-ares, which reads /etc/resolv.conf and asks
port 53 only, and fetches ``https://mta-sts.<domain>/`` on port 443, verifying the certificate with
OpenSSL's default store, which ``SSL_CERT_FILE`` points at the test CA.

Prints one JSON object ``{domain: answer}`` with the daemon's raw answers (``OK secure match=...``,
``NOTFOUND ``), and the daemon's log on stderr.
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for the harness

from harness import BindServer, NginxServer, Site, TestCA  # noqa: E402  pylint: disable=wrong-import-position

POLICY_PATH = "/.well-known/mta-sts.txt"
DAEMON_PORT = 8461
TIMEOUT = 20.0

ZONES = {
    # enforce: postfix must get "secure" with the policy's MX patterns
    "enforce.test": ['_mta-sts TXT "v=STSv1; id=20260101"', "mta-sts A 127.0.0.1", "@ MX 10 mail", "mail A 127.0.0.1"],
    # testing: RFC 8461 5.2 says a sender must not refuse delivery, so no policy for postfix
    "testing.test": ['_mta-sts TXT "v=STSv1; id=1"', "mta-sts A 127.0.0.1"],
    # no MTA-STS record at all
    "plain.test": ["@ MX 10 mail", "mail A 127.0.0.1"],
    # a record, but the policy host's certificate is from a CA nobody trusts: the policy cannot be had
    "untrusted.test": ['_mta-sts TXT "v=STSv1; id=1"', "mta-sts A 127.0.0.1"],
}
SITES = [
    Site("mta-sts.enforce.test", files={POLICY_PATH: "version: STSv1\r\nmode: enforce\r\nmx: mail.enforce.test\r\n"
                                                     "mx: *.backup.enforce.test\r\nmax_age: 86400\r\n"}),
    Site("mta-sts.testing.test", files={POLICY_PATH: "version: STSv1\r\nmode: testing\r\nmx: mail.testing.test\r\nmax_age: 86400\r\n"}),
    Site("mta-sts.untrusted.test", certificate="untrusted",
         files={POLICY_PATH: "version: STSv1\r\nmode: enforce\r\nmx: mail.untrusted.test\r\nmax_age: 86400\r\n"}),
]


def netstring(data):
    return b"%d:%s," % (len(data), data)


def read_netstring(sock, deadline):
    buffer = b""
    while True:
        length, colon, rest = buffer.partition(b":")
        if colon and len(rest) >= int(length) + 1:
            if rest[int(length):int(length) + 1] != b",":
                raise ValueError("not a netstring: %r" % buffer)
            return rest[:int(length)]
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the daemon closed the connection after %r" % buffer)
        buffer += chunk


def ask(domain):
    """What postfix's ``socketmap:inet:...:postfix`` lookup of ``domain`` gets back."""
    deadline = time.monotonic() + TIMEOUT
    with socket.create_connection(("127.0.0.1", DAEMON_PORT), timeout=TIMEOUT) as sock:
        sock.sendall(netstring(b"postfix " + domain.encode("ascii")))
        return read_netstring(sock, deadline).decode("utf-8")


def wait_for_port(port, process, deadline):
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("mta-sts-daemon exited with %s before listening" % process.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("mta-sts-daemon did not listen on port %d in time" % port)


def main():
    workdir, daemon, config = sys.argv[1:4]
    ca = TestCA()
    ca_path = str(ca.write_ca(os.path.join(workdir, "ca.pem")))
    bind = BindServer(ZONES)
    bind.port = 53
    web = NginxServer(SITES, ca)
    web.https_port, web.http_port = 443, 80
    log_path = os.path.join(workdir, "daemon.log")
    answers = {}
    with bind, web, open(log_path, "wb") as log:
        env = dict(os.environ, SSL_CERT_FILE=ca_path)
        env.pop("SSL_CERT_DIR", None)
        process = subprocess.Popen([daemon, "-c", config, "-v", "debug"], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(DAEMON_PORT, process, time.monotonic() + TIMEOUT)
            for domain in ("enforce.test", "ENFORCE.test.", "testing.test", "plain.test", "untrusted.test"):
                answers[domain] = ask(domain)
        finally:
            process.terminate()
            try:
                process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        sys.stderr.write(handle.read()[-4000:])
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
