# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real servers for tests and the sandbox: BIND, unbound, nginx, SMTP and a test CA, all on loopback."""

from harness._process import ServerError, free_port
from harness.blackhole import Blackhole
from harness.bind import BindServer
from harness.ca import IssuedCert, TestCA
from harness.dnsclient import DnsAnswer, DnsQueryError, reference_resolver
from harness.nginx import HttpResponse, NginxServer, Site, http_get, insecure_context
from harness.playbook import PlaybookResult, PlaybookTimeout, run_playbook
from harness.smtp import SmtpServer
from harness.unbound import UnboundResolver
from harness.zones import TrustAnchor, txt_presentation

__all__ = [
    "BindServer", "Blackhole", "DnsAnswer", "DnsQueryError", "HttpResponse", "IssuedCert", "NginxServer",
    "PlaybookResult", "PlaybookTimeout", "ServerError", "Site", "SmtpServer", "TestCA", "TrustAnchor",
    "UnboundResolver", "free_port", "http_get", "insecure_context", "reference_resolver", "run_playbook", "txt_presentation",
]
