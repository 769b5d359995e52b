# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``ansible-playbook`` as a subprocess and read its JSON output (ansible.posix.json callback)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_TIMEOUT = 300.0
# Structured results instead of screen text: every task's return values, and the stats per host.
STDOUT_CALLBACK = "ansible.posix.json"
# ``namespace.collection.playbook``: ansible-playbook looks it up in the collection's playbooks/ directory.
_PLAYBOOK_FQCN = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_.]+")


class PlaybookTimeout(TimeoutError):
    """ansible-playbook did not finish in time; the message holds the output so far."""


@dataclasses.dataclass
class PlaybookResult:
    """The outcome of one ansible-playbook run.

    ``data`` is the JSON callback's document (``plays``, ``stats``), None when ansible-playbook
    printed none (a syntax error, a missing collection); ``stderr`` then says why.
    """

    argv: list
    rc: int
    stdout: str
    stderr: str
    data: dict = None

    @property
    def stats(self):
        """``{host: {ok, changed, failures, unreachable, skipped, rescued, ignored}}`` (the PLAY RECAP)."""
        return (self.data or {}).get("stats", {})

    def _total(self, key):
        return sum(counts.get(key, 0) for counts in self.stats.values())

    @property
    def changed(self):
        return self._total("changed")

    @property
    def failed(self):
        """Failed tasks plus unreachable hosts, over all hosts."""
        return self._total("failures") + self._total("unreachable")

    @property
    def ok(self):
        return self._total("ok")

    def task_results(self, name):
        """``{host: result}`` of every task called ``name`` (later runs of the name win)."""
        found = {}
        for play in (self.data or {}).get("plays", []):
            for task in play.get("tasks", []):
                if task.get("task", {}).get("name") == name:
                    found.update(task.get("hosts", {}))
        return found

    def task_result(self, name, host=None):
        """The result of task ``name`` on ``host`` (or on the only host that ran it)."""
        results = self.task_results(name)
        if host is not None:
            return results[host]
        if len(results) != 1:
            raise KeyError("task %r ran on %d hosts: %s" % (name, len(results), ", ".join(results) or "none"))
        return next(iter(results.values()))

    def failure_messages(self):
        """``host: task: msg`` for every failed task result."""
        messages = []
        for play in (self.data or {}).get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("failed") or result.get("unreachable"):
                        messages.append("%s: %s: %s" % (host, task.get("task", {}).get("name"), result.get("msg")))
        return messages

    def describe(self):
        """A summary for assertion messages: status, counts, failures, the end of stderr."""
        lines = ["ansible-playbook exited %d; changed=%d failed=%d" % (self.rc, self.changed, self.failed)]
        lines += self.failure_messages()
        if self.data is None:
            lines.append("stdout (no JSON):\n" + self.stdout[-3000:])
        lines.append("stderr:\n" + self.stderr[-3000:])
        return "\n".join(lines)

    def assert_ok(self, changed=None):
        """Fail (AssertionError with the details) unless the run succeeded, with ``changed`` changes if given."""
        assert self.rc == 0 and self.failed == 0, self.describe()
        if changed is not None:
            assert self.changed == changed, "expected changed=%d\n%s" % (changed, self.describe())
        return self


def ansible_environment(workdir, env=None):
    """The environment for ansible-playbook: collection path, interpreter, JSON output, temp dirs in ``workdir``."""
    environment = dict(os.environ)
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPOSITORY, ".build", "collections"))
    environment.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    config = os.path.join(workdir, "ansible.cfg")
    if not os.path.exists(config):
        with open(config, "w", encoding="utf-8") as handle:
            handle.write("[defaults]\n")
    environment.update({
        # Only this configuration: never an ansible.cfg from /etc or the current directory.
        "ANSIBLE_CONFIG": config,
        "ANSIBLE_HOME": os.path.join(workdir, "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(workdir, "ansible-remote"),
        "ANSIBLE_STDOUT_CALLBACK": STDOUT_CALLBACK,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    environment.update(env or {})
    return environment


def _write_json(workdir, stem, data):
    # JSON is YAML, so playbooks, inventories and variables all go through json.dump.
    descriptor, path = tempfile.mkstemp(prefix=stem + "-", suffix=".yml", dir=workdir)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    return path


def local_inventory(interpreter=None):
    """An inventory with ``localhost`` on the local connection and the given (default: this) Python."""
    return {"all": {"hosts": {"localhost": {
        "ansible_connection": "local",
        "ansible_python_interpreter": interpreter or os.environ.get("ANSIBLE_PYTHON_INTERPRETER") or sys.executable,
    }}}}


def run_playbook(playbook, *, workdir, inventory=None, extra_vars=None, check=False, diff=False, limit=None,
                 tags=None, args=(), env=None, timeout=DEFAULT_TIMEOUT):
    """Run ``playbook`` (a path, a collection playbook's FQCN such as ``mailsec.posture.records``, or a list of
    plays written to ``workdir``) and return a PlaybookResult.

    ``inventory``: a path or a mapping (default: localhost, local connection). ``extra_vars``: a
    mapping passed as ``-e @file``. ``timeout`` bounds the run; on expiry the whole process group
    is killed and PlaybookTimeout raised with the output so far.
    """
    workdir = str(workdir)
    os.makedirs(workdir, exist_ok=True)
    # Paths are relative to the caller's directory, not to workdir where ansible-playbook runs.
    if isinstance(playbook, (str, os.PathLike)):
        if os.path.exists(playbook) or not _PLAYBOOK_FQCN.fullmatch(str(playbook)):
            playbook = os.path.abspath(playbook)
    else:
        playbook = _write_json(workdir, "playbook", playbook)
    if inventory is None:
        inventory = local_inventory()
    if isinstance(inventory, (str, os.PathLike)):
        inventory = os.path.abspath(inventory)
    else:
        inventory = _write_json(workdir, "inventory", inventory)
    argv = ["ansible-playbook", "-i", str(inventory)]
    if extra_vars:
        argv += ["-e", "@" + _write_json(workdir, "vars", extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if limit:
        argv += ["--limit", limit]
    if tags:
        argv += ["--tags", ",".join([tags] if isinstance(tags, str) else tags)]
    argv += list(args) + [str(playbook)]
    # pylint: disable-next=consider-using-with
    process = subprocess.Popen(argv, cwd=workdir, env=ansible_environment(workdir, env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # ansible-playbook forks workers: stop the whole group.
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise PlaybookTimeout("%s: no result after %.0f s\nstdout:\n%s\nstderr:\n%s"
                              % (" ".join(argv), timeout, stdout[-3000:], stderr[-3000:])) from None
    return PlaybookResult(argv=argv, rc=process.returncode, stdout=stdout, stderr=stderr, data=_parse_json(stdout))


def _parse_json(stdout):
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    # Anything printed before the document (a plugin's stray print) is skipped.
    start = text.find("\n{")
    if start >= 0:
        try:
            return json.loads(text[start + 1:])
        except ValueError:
            return None
    return None
