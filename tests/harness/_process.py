# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Process plumbing shared by the test servers: free ports, bounded waits, child processes."""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# How often a start-up wait polls; short, because the servers start in tens of milliseconds.
POLL_INTERVAL = 0.02
# How many times a server is started on a new port after losing a port race to another process.
PORT_ATTEMPTS = 5
LOG_TAIL_LINES = 40


class ServerError(RuntimeError):
    """A test server did not start or answer in time; the message carries its log tail."""


class PortTaken(ServerError):
    """The port chosen for a server was taken by another process before the server bound it."""


def free_port(address="127.0.0.1", udp=False):
    """A port that is free on ``address`` for TCP (and for UDP too when ``udp``) right now.

    Another process may take it before the caller binds it; servers detect that and retry.
    """
    for _attempt in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = tcp.getsockname()[1]
            if not udp:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                try:
                    datagram.bind((address, port))
                except OSError:
                    continue
            return port
    raise ServerError("no port free for TCP and UDP on %s" % address)


def wait_until(predicate, timeout, what, describe_failure=None):
    """Poll ``predicate()`` until it returns a true value, at most ``timeout`` seconds.

    Exceptions from ``predicate`` propagate (a predicate raises when waiting is pointless).
    On timeout raises ServerError naming ``what``, with ``describe_failure()`` appended.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = describe_failure() if describe_failure else ""
            raise ServerError("%s: not ready after %.1f s\n%s" % (what, timeout, detail))
        time.sleep(POLL_INTERVAL)


def on_free_ports(pick, launch):
    """``launch(*pick())``, again with newly picked ports while another process wins the race for them."""
    for attempt in range(PORT_ATTEMPTS):
        try:
            return launch(*pick())
        except PortTaken:
            if attempt == PORT_ATTEMPTS - 1:
                raise
    return None


class ServerBase:
    """``with server:`` starts it and closes it; a start that fails still cleans up."""

    def start(self):
        raise NotImplementedError

    def close(self):
        raise NotImplementedError

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info):
        self.close()


def tail(path, lines=LOG_TAIL_LINES):
    """The last ``lines`` lines of a text file, or a note that it does not exist."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        return "(no log %s: %s)" % (path, exc.strerror)
    return "\n".join(text.splitlines()[-lines:])


def read_from(path, offset):
    """The text of ``path`` from ``offset`` on; empty when the file does not exist yet."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            return handle.read()
    except FileNotFoundError:
        return ""


# Looked up once in the parent: between fork and exec the child should do as little as possible.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child between fork and exec: Linux sends SIGTERM when the thread that
    # started the server ends, so a killed test run leaves no server holding ports.
    _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


class ManagedProcess:
    """One server process with its output in a log file; stopped with terminate, then kill."""

    def __init__(self, name, argv, log_path, cwd):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.process = None

    def _program_link(self):
        # Start the program through a link named mailsec-<program>: the process is then called
        # that, so `pgrep mailsec-` finds test servers and a `pkill -x named` aimed at the
        # system's daemons (several engineers share this machine) leaves them running.
        program = shutil.which(self.argv[0])
        if program is None:
            raise ServerError("%s: program %r not found (tools/bootstrap installs it)" % (self.name, self.argv[0]))
        link = os.path.join(self.cwd, ".bin", "mailsec-" + os.path.basename(program))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.islink(link):
            os.symlink(program, link)
        return link

    def start(self):
        argv = [self._program_link()] + self.argv[1:]
        with open(self.log_path, "ab") as log:
            # pylint: disable-next=consider-using-with,subprocess-popen-preexec-fn
            self.process = subprocess.Popen(
                argv,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self):
        return self.process.pid if self.process is not None else None

    def require_running(self, describe_failure):
        """Raise ServerError when the process has already exited (used inside start-up waits)."""
        if not self.running:
            code = self.process.returncode if self.process is not None else None
            raise ServerError("%s exited during start-up (status %s)\n%s" % (self.name, code, describe_failure()))

    def signal(self, signum):
        if self.running:
            self.process.send_signal(signum)

    def stop(self, timeout=5.0):
        """Terminate, wait at most ``timeout`` seconds, then kill; safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)


class TempDir:
    """A temporary directory owned by one server; removed on cleanup unless the caller gave it."""

    def __init__(self, prefix, directory=None):
        self._owned = directory is None
        self.path = tempfile.mkdtemp(prefix=prefix) if directory is None else str(directory)
        os.makedirs(self.path, exist_ok=True)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        if self._owned:
            shutil.rmtree(self.path, ignore_errors=True)


def write_text(path, text, mode=0o644):
    """Write ``text`` to ``path`` with ``mode`` (secrets get 0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def run_tool(argv, cwd, timeout=30.0):
    """Run a short command-line tool, returning its stdout; raise ServerError with its output on failure."""
    try:
        # No stdin: under pytest-xdist it is the worker's channel to the controller.
        completed = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ServerError("%s: no result after %.0f s" % (" ".join(argv), timeout)) from exc
    except FileNotFoundError as exc:
        raise ServerError("%s: program not found (tools/bootstrap installs it)" % argv[0]) from exc
    if completed.returncode != 0:
        raise ServerError("%s failed (status %d):\n%s%s" % (" ".join(argv), completed.returncode, completed.stdout, completed.stderr))
    return completed.stdout


class ProcessServer(ServerBase):
    """A server run as one child process from a configuration in its own temporary directory.

    The life cycle every such server shares: on the first start pick free ports (again with new
    ones while another process wins the race for them), write the configuration, start the
    process and wait, bounded by ``start_timeout``, until it answers; a later start reuses the
    ports. ``stop()`` ends the process and keeps the directory, ``close()`` removes it too.

    A subclass sets ``name`` (the program, also the process's name in messages) and provides:
    ``_command()`` writes the configuration for the current ports and returns ``(argv, output
    path)``; ``_ready(log_offset)`` says whether it answers yet (raising PortTaken when a port was
    taken, with ``log_offset`` where its log stood before this start); ``log_path`` and
    ``log_tail()``. A server with other ports than one ``port`` (UDP and TCP) overrides
    ``_ports``, ``_set_ports``, ``_free_ports`` and ``_endpoint``.
    """

    name = None

    def __init__(self, prefix, address, directory, start_timeout):
        self.address = address
        self._set_ports(None)
        self.start_timeout = start_timeout
        self.startup_seconds = None
        self._dir = TempDir(prefix, directory)
        # A value only this server knows: start-up checks it in the answers, so they come from this server.
        self._token = prefix + secrets.token_hex(6)
        self._process = None

    @property
    def directory(self):
        """The temporary directory with the configuration, the logs and the server's data."""
        return self._dir.path

    @property
    def running(self):
        return self._process is not None and self._process.running

    def _ports(self):
        """The ports chosen, as a tuple, or None before the first start."""
        return None if self.port is None else (self.port,)

    def _set_ports(self, ports):
        self.port = ports[0] if ports else None

    def _free_ports(self):
        return (free_port(self.address, udp=True),)

    def _endpoint(self):
        return "%s#%d" % (self.address, self.port)

    def start(self):
        """Start the server; on the first start pick free ports (retrying if another process takes one)."""
        if self.running:
            return self
        began = time.monotonic()
        ports = self._ports()
        if ports is not None:
            self._launch(*ports)
        else:
            try:
                on_free_ports(self._free_ports, self._launch)
            except ServerError:
                self._set_ports(None)
                raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _launch(self, *ports):
        self._set_ports(ports)
        argv, output_path = self._command()
        log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self._process = ManagedProcess(self.name, argv, output_path, self._dir.path)
        self._process.start()
        try:
            wait_until(lambda: self._ready(log_offset), self.start_timeout, "%s on %s" % (self.name, self._endpoint()), self.log_tail)
        except ServerError:
            self._process.stop()
            raise

    def stop(self):
        """Stop the process (the directory stays; ``start()`` brings it back on the same ports)."""
        if self._process is not None:
            self._process.stop()
            self._process = None

    def close(self):
        """Stop the process and remove the temporary directory."""
        self.stop()
        self._dir.cleanup()
