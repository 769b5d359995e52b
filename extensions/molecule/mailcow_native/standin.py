# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the mailcow API contract stand-in (tests/harness/mailcow_standin.py) for this molecule scenario.

    python standin.py STATE_FILE LIFETIME_SECONDS

Starts the stand-in on 127.0.0.1 (a free port, a certificate from its own test CA) with the
scenario's mail domains, and old.example already serving a policy, then writes
``{"url", "ca_path", "api_key", "pid"}`` to STATE_FILE. It serves until SIGTERM or SIGINT (destroy.yml
sends SIGTERM to that pid) or until LIFETIME_SECONDS have passed, whichever comes first, and removes
STATE_FILE on the way out.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

SCENARIO_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(SCENARIO_DIR, "..", "..", "..", "tests"))

from harness.mailcow_standin import RW_KEY, MailcowStandin  # noqa: E402  pylint: disable=wrong-import-position

DOMAINS = ("example.com", "example.org", "example.net", "old.example")
RETIRED_POLICY = {"domain": "old.example", "version": "stsv1", "mode": "enforce", "mx": "mail.example.com", "max_age": 86400, "active": 1}


def main(state_file, lifetime):
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with MailcowStandin() as standin:
        for name in DOMAINS:
            standin.add_domain(name, dkim_bits=None)
        standin.mta_sts_add(RETIRED_POLICY)
        temporary = state_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"url": standin.url, "ca_path": standin.ca_path, "api_key": RW_KEY, "pid": os.getpid()}, handle)
        os.replace(temporary, state_file)
        try:
            stop.wait(lifetime)
        finally:
            os.unlink(state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
