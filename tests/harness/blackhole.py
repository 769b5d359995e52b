# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A port that takes packets and connections and never answers: the server that times out."""

from __future__ import annotations

import socket

from harness._process import PORT_ATTEMPTS, ServerBase, ServerError, free_port


class Blackhole(ServerBase):
    """UDP and TCP on one port of ``address``: datagrams are never read, connections never accepted.

    TCP clients connect (the kernel completes the handshake into the backlog) and then wait
    for a first byte that never comes, so every client-side timeout fires.
    """

    def __init__(self, address="127.0.0.1"):
        self.address = address
        self.port = None
        self._sockets = []

    def start(self):
        for _attempt in range(PORT_ATTEMPTS):
            port = free_port(self.address, udp=True)
            datagram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                datagram.bind((self.address, port))
                stream.bind((self.address, port))
                stream.listen(64)
            except OSError:
                datagram.close()
                stream.close()
                continue
            self.port = port
            self._sockets = [datagram, stream]
            return self
        raise ServerError("blackhole: no free port on %s after %d attempts" % (self.address, PORT_ATTEMPTS))

    def stop(self):
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    def close(self):
        self.stop()
