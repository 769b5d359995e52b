# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the mailcow API for this molecule scenario: mailcow's own (tests/harness/mailcow.py) when
MAILCOW_SOURCE names a release that serves MTA-STS itself, else the contract stand-in
(tests/harness/mailcow_standin.py). With CI=true a missing MAILCOW_SOURCE is an error.

    python standin.py STATE_FILE LIFETIME_SECONDS

Starts it on 127.0.0.1 (a free port) with the scenario's mail domains, and old.example already serving
a policy, then writes ``{"url", "ca_path", "api_key", "pid", "server"}`` to STATE_FILE (``ca_path`` empty for
the real API, which is plain http on loopback). It serves until SIGTERM or SIGINT (destroy.yml sends
SIGTERM to that pid) or until LIFETIME_SECONDS have passed, whichever comes first, and removes STATE_FILE
on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading

SCENARIO_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(SCENARIO_DIR, "..", "..", "..", "tests"))

# pylint: disable=wrong-import-position
from harness.mailcow import SOURCE_VARIABLE, MailcowApi, find_sources  # noqa: E402
from harness.mailcow_standin import RW_KEY, MailcowStandin  # noqa: E402

DOMAINS = ("example.com", "example.org", "example.net", "old.example")
RETIRED_POLICY = {"domain": "old.example", "version": "stsv1", "mode": "enforce", "mx": "mail.example.com", "max_age": 86400, "active": 1}


def real_mailcow(stack):
    """mailcow's own API of the newest native release MAILCOW_SOURCE names, or None."""
    value = os.environ.get(SOURCE_VARIABLE)
    if not value:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            raise SystemExit("%s is not set: in CI this scenario runs against mailcow's own API" % SOURCE_VARIABLE)
        print("%s is not set: using the contract stand-in" % SOURCE_VARIABLE, file=sys.stderr)
        return None
    for source in reversed(find_sources(value)):
        mailcow = stack.enter_context(MailcowApi(source))
        if mailcow.native_mta_sts:
            for name in DOMAINS:
                mailcow.add_domain(name)
            answer = mailcow.api("POST", "add/mta-sts", RETIRED_POLICY)
            assert answer.get("type") == "success", answer
            return {"url": mailcow.url, "ca_path": "", "api_key": mailcow.rw_key, "server": "mailcow " + mailcow.version}
    raise SystemExit("%s=%s names no mailcow release with native MTA-STS (data/web/mta-sts.php)" % (SOURCE_VARIABLE, value))


def stand_in(stack):
    standin = stack.enter_context(MailcowStandin())
    for name in DOMAINS:
        standin.add_domain(name, dkim_bits=None)
    standin.mta_sts_add(RETIRED_POLICY)
    return {"url": standin.url, "ca_path": standin.ca_path, "api_key": RW_KEY, "server": "stand-in"}


def main(state_file, lifetime):
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:
        state = real_mailcow(stack) or stand_in(stack)
        state["pid"] = os.getpid()
        temporary = state_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temporary, state_file)
        try:
            stop.wait(lifetime)
        finally:
            os.unlink(state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
