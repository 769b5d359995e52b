# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mailsec.posture contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mailcow's own PHP API, run for real on loopback from a mailcow-dockerized tree (test data, never project code).

``MailcowApi(source)`` takes a mailcow-dockerized directory or a ``git archive`` tarball of one and
runs its ``data/web`` the way mailcow's containers do, with Debian's PHP 8.2, MariaDB 10.11 and Redis:

- MariaDB with ``--skip-networking`` on a socket in the temporary directory; the schema from
  ``inc/init_db.inc.php`` (as the php-fpm entrypoint runs it) and the API keys inserted as that
  entrypoint does for ``API_KEY`` / ``API_KEY_READ_ONLY`` / ``API_ALLOW_FROM``.
- Redis on a unix socket with a password (``--port 0``), reached through ``REDIS_SLAVEOF_IP``.
- ``php -S 127.0.0.1:PORT`` with a router doing what mailcow's nginx does (``/api/v1/<query>`` to
  ``json_api.php``; ``/.well-known/mta-sts.txt`` to ``mta-sts.php`` where the release has it, else
  the static file, as ``try_files`` would).
- mailcow hard-codes ``/run/mysqld/mysqld.sock``, ``tcp://dockerapi:443`` and ``/web``: the PHP
  processes run in their own mount namespace (``unshare -m``) with a private root made of bind
  mounts of the machine's directories plus ``/web``, ``/run/mysqld`` and an ``/etc/hosts`` naming
  ``dockerapi`` (a loopback address where a thread accepts and closes connections, bounded). The
  machine's files are untouched.

Everything lives in one temporary directory and stops on leaving the ``with`` block. A start takes
about 6 s on an idle machine (4 s of it unpacking the tarball): tests share one instance per release
per session.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request

from harness._process import ManagedProcess, ServerBase, ServerError, TempDir, free_port, run_tool, tail, wait_until, write_text

SOURCE_VARIABLE = "MAILCOW_SOURCE"
START_TIMEOUT = 60.0
# What the harness inserts into table `api`, like the php-fpm entrypoint does for API_KEY and API_KEY_READ_ONLY.
RW_KEY = "MAILSEC-RW-0123456789abcdef"
RO_KEY = "MAILSEC-RO-fedcba9876543210"
_TARBALL = re.compile(r"^mailcow-dockerized-(?P<version>[^/]+?)\.tar\.gz$")
_DOCKERAPI_ACCEPTS = 100000  # the accept-and-close loop's bound (mailcow opens one per PHP request)
_DB_NAME = "mailcow"
_DB_USER = "mailcow"

_ROUTER = r"""<?php
// What mailcow's nginx (data/conf/nginx/templates/sites-default.conf.j2) does in front of php-fpm.
// mailcow's scripts must be required at the top level: they share their variables as globals.
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (isset($_SERVER['CONTENT_TYPE'])) {
  $_SERVER['HTTP_CONTENT_TYPE'] = $_SERVER['CONTENT_TYPE'];  // nginx+php-fpm set both; json_api.php reads this one
}
$mailsec_script = null;
if ($path === '/.well-known/mta-sts.txt') {
  if (is_file($_SERVER['DOCUMENT_ROOT'] . '/mta-sts.php')) {  // location ^~ /.well-known/mta-sts.txt (since 2025-09)
    $mailsec_script = '/mta-sts.php';
  } elseif (is_file($_SERVER['DOCUMENT_ROOT'] . $path)) {    // older releases: location / { try_files $uri ... }
    header('Content-Type: text/plain');
    readfile($_SERVER['DOCUMENT_ROOT'] . $path);
    return true;
  } else {
    http_response_code(404);
    header('Content-Type: text/html');
    echo "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
      . "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    return true;
  }
} elseif (preg_match('#^/api/v1/(.*)$#', $path, $mailsec_match)) {  // location ~ ^/api/v1/(.*)$ -> /json_api.php?query=$1&$args
  $_GET['query'] = $_REQUEST['query'] = $mailsec_match[1];
  $mailsec_script = '/json_api.php';
}
if ($mailsec_script === null) {
  return false;
}
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . $mailsec_script;
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = $mailsec_script;
chdir($_SERVER['DOCUMENT_ROOT']);
require $_SERVER['DOCUMENT_ROOT'] . $mailsec_script;
"""

# Run in the new mount namespace: a private root of bind mounts, then chroot and exec the command.
_NAMESPACE_SCRIPT = r"""set -eu
root=$1 web=$2 mysqld=$3 hosts=$4
shift 4
mount --make-rprivate /
mount -t tmpfs mailsec-mailcow-root "$root"
for entry in /*; do
  name=${entry#/}
  if [ -L "$entry" ]; then cp -P "$entry" "$root/$name"
  elif [ -d "$entry" ]; then mkdir "$root/$name"; mount --rbind "$entry" "$root/$name"
  fi
done
mkdir "$root/web"
mount --bind "$web" "$root/web"
mount -t tmpfs mailsec-mailcow-run "$root/run"
mkdir "$root/run/mysqld"
mount --bind "$mysqld" "$root/run/mysqld"
mount --bind "$hosts" "$root/etc/hosts"
exec chroot "$root" "$@"
"""


class MailcowSource:
    """One release of mailcow-dockerized: where its tree or tarball is and what it is called."""

    def __init__(self, path, version):
        self.path = path
        self.version = version

    @property
    def is_tarball(self):
        return os.path.isfile(self.path)

    def __repr__(self):
        return "MailcowSource(%r, %r)" % (self.path, self.version)


def find_sources(value):
    """The releases named by ``value`` (the value of MAILCOW_SOURCE), oldest first.

    ``value`` is a mailcow-dockerized directory (with ``data/web``), a ``mailcow-dockerized-<v>.tar.gz``
    tarball, or a directory holding such tarballs (every one of them is a release to test).
    Raises ServerError when it names none of these.
    """
    path = os.path.abspath(os.path.expanduser(value))
    if os.path.isfile(path):
        match = _TARBALL.match(os.path.basename(path))
        return [MailcowSource(path, match.group("version") if match else os.path.basename(path))]
    if os.path.isdir(os.path.join(path, "data", "web")):
        name = os.path.basename(path.rstrip("/"))
        version = os.environ.get("MAILCOW_VERSION") or (name[len("mailcow-dockerized-"):] if name.startswith("mailcow-dockerized-") else name)
        return [MailcowSource(path, version)]
    if os.path.isdir(path):
        found = [
            MailcowSource(os.path.join(path, name), _TARBALL.match(name).group("version"))
            for name in sorted(os.listdir(path))
            if _TARBALL.match(name)
        ]
        if found:
            return found
    raise ServerError(
        "%s=%s is neither a mailcow-dockerized directory (with data/web), a mailcow-dockerized-<release>.tar.gz, "
        "nor a directory holding such tarballs" % (SOURCE_VARIABLE, value)
    )


def _extract_web(source, target):
    """Put the release's ``data/web`` at ``target`` (PHP writes app_info.inc.php there: never in the source)."""
    if not source.is_tarball:
        shutil.copytree(os.path.join(source.path, "data", "web"), target, symlinks=True)
        return
    with tarfile.open(source.path, "r:gz") as archive:
        members = []
        prefix = None
        for member in archive:
            parts = member.name.split("/")
            if "data" in parts[:2] and parts.index("data") + 1 < len(parts) and parts[parts.index("data") + 1] == "web":
                at = parts.index("data")
                prefix = "/".join(parts[: at + 2])
                member.name = "/".join(parts[at + 2:]) or "."
                members.append(member)
        if prefix is None:
            raise ServerError("%s holds no data/web: not a mailcow-dockerized tarball" % source.path)
        os.makedirs(target)
        archive.extractall(target, members=members, filter="data")


def _write_app_info(web, version):
    # As generate_config.sh writes it for a tree without git metadata (its `else` branch).
    text = (
        "<?php\n"
        '  $MAILCOW_GIT_VERSION="%s";\n'
        '  $MAILCOW_LAST_GIT_VERSION="";\n'
        '  $MAILCOW_GIT_OWNER="mailcow";\n'
        '  $MAILCOW_GIT_REPO="mailcow-dockerized";\n'
        '  $MAILCOW_GIT_URL="https://github.com/mailcow/mailcow-dockerized";\n'
        '  $MAILCOW_GIT_COMMIT="";\n'
        '  $MAILCOW_GIT_COMMIT_DATE="";\n'
        '  $MAILCOW_BRANCH="master";\n'
        "  $MAILCOW_UPDATEDAT=%d;\n"
        "?>\n"
    ) % (version, int(time.time()))
    write_text(os.path.join(web, "inc", "app_info.inc.php"), text)


def api_request(url, method, body=None, key=None, host=None, timeout=30.0, content_type="application/json", context=None):
    """One HTTP request to a mailcow API (real or stand-in), any status: ``(status, content_type, text)``.

    ``body`` (not str) is sent as JSON; no proxy from the environment is used (loopback only).
    """
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None and content_type:
        request.add_header("Content-Type", content_type)
    if key is not None:
        request.add_header("X-API-Key", key)
    if host is not None:
        request.add_header("Host", host)
    handlers = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode("utf-8", "replace")


class _DockerApiListener:
    """``tcp://dockerapi:443`` as prerequisites.inc.php probes it: accept and close, nothing more."""

    def __init__(self):
        self.address = None
        self._socket = None
        self._thread = None
        self._stop = threading.Event()

    def start(self):
        for _attempt in range(50):
            address = "127.%d.%d.%d" % (random.randint(64, 250), random.randint(0, 255), random.randint(2, 250))
            candidate = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                candidate.bind((address, 443))
            except OSError:
                candidate.close()
                continue
            candidate.listen(64)
            candidate.settimeout(0.2)
            self._socket, self.address = candidate, address
            break
        else:
            raise ServerError("dockerapi stand-in: no free loopback address for port 443")
        self._thread = threading.Thread(target=self._serve, name="mailcow-dockerapi", daemon=True)
        self._thread.start()

    def _serve(self):
        for _accepted in range(_DOCKERAPI_ACCEPTS):
            while not self._stop.is_set():
                try:
                    connection, _peer = self._socket.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                connection.close()
                break
            if self._stop.is_set():
                return

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._socket is not None:
            self._socket.close()


class MailcowApi(ServerBase):
    """The real mailcow API of one release on ``http://127.0.0.1:<port>``.

    ``url``, ``rw_key``, ``ro_key``, ``version`` (the release), ``native_mta_sts`` (whether the
    release serves MTA-STS itself), ``directory`` (laid out as a mailcow-dockerized directory: ``web``
    is its ``data/web``, writable and served, so a legacy static ``.well-known/mta-sts.txt`` written
    there is what mailcow serves), ``sql(statement)`` (mailcow's database, as root), and
    ``request(method, path, body=, key=, host=)`` -> ``(status, content_type, text)``.
    ``startup_seconds`` says how long the start took.
    """

    def __init__(self, source, start_timeout=START_TIMEOUT):
        self.source = source
        self.version = source.version
        self.start_timeout = start_timeout
        self.rw_key = RW_KEY
        self.ro_key = RO_KEY
        self.url = None
        self.port = None
        self.startup_seconds = None
        self._dir = TempDir("mailsec-mailcow-")
        self._db_password = secrets.token_hex(12)
        self._redis_password = secrets.token_hex(12)
        self._processes = []
        self._dockerapi = _DockerApiListener()
        # Laid out as a mailcow-dockerized directory (``directory``): a test can put mailcow.conf beside data/web
        # and point the role's mailcow_mta_sts_dir at it.
        self.web = self._dir.join("data", "web")
        self._mysqld_dir = self._dir.join("mysqld")
        self._socket = os.path.join(self._mysqld_dir, "mysqld.sock")
        self._redis_socket = self._dir.join("redis.sock")

    @property
    def native_mta_sts(self):
        return os.path.isfile(os.path.join(self.web, "mta-sts.php"))

    @property
    def directory(self):
        return self._dir.path

    # ------------------------------------------------------------------ life cycle

    def start(self):
        began = time.monotonic()
        _extract_web(self.source, self.web)
        _write_app_info(self.web, self.version)
        os.makedirs(self._mysqld_dir)
        os.makedirs(self._dir.join("root"))
        os.makedirs(self._dir.join("sessions"))
        self._dockerapi.start()
        write_text(
            self._dir.join("hosts"),
            "127.0.0.1 localhost\n::1 localhost\n%s dockerapi\n127.0.0.1 memcached\n" % self._dockerapi.address,
        )
        write_text(self._dir.join("router.php"), _ROUTER)
        write_text(self._dir.join("namespace.sh"), _NAMESPACE_SCRIPT)
        self._start_redis()
        self._start_database()
        self._start_php()
        self.startup_seconds = time.monotonic() - began
        return self

    def close(self):
        for process in reversed(self._processes):
            process.stop()
        self._processes = []
        self._dockerapi.stop()
        self._dir.cleanup()

    def log_tail(self):
        return "\n".join(
            "--- %s\n%s" % (name, tail(self._dir.join(name))) for name in ("php.log", "mariadb.log", "redis.log", "init_db.log")
            if os.path.exists(self._dir.join(name))
        )

    def _spawn(self, name, argv, log):
        process = ManagedProcess(name, argv, self._dir.join(log), self._dir.path)
        process.start()
        self._processes.append(process)
        return process

    def _start_redis(self):
        process = self._spawn("redis-server", [
            "redis-server", "--port", "0", "--unixsocket", self._redis_socket, "--unixsocketperm", "700",
            "--requirepass", self._redis_password, "--save", "", "--appendonly", "no", "--dir", self._dir.path,
            "--daemonize", "no", "--logfile", "",
        ], "redis.log")

        def ready():
            process.require_running(self.log_tail)
            return os.path.exists(self._redis_socket)

        wait_until(ready, self.start_timeout, "redis on %s" % self._redis_socket, self.log_tail)

    def _mysql(self, statements, database=None, timeout=30.0):
        argv = ["mariadb", "--no-defaults", "--socket=" + self._socket, "-u", "root", "--batch", "--skip-column-names"]
        if database:
            argv.append(database)
        completed = subprocess.run(argv + ["-e", statements], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=timeout, check=False)
        if completed.returncode != 0:
            raise ServerError("mariadb: %s\n%s" % (statements[:200], completed.stderr))
        return completed.stdout

    def sql(self, statement):
        """Run SQL on mailcow's database as root; returns the rows as lists of strings (tab-separated output)."""
        return [line.split("\t") for line in self._mysql(statement, _DB_NAME).splitlines()]

    def _start_database(self):
        data = self._dir.join("db")
        run_tool(["mariadb-install-db", "--no-defaults", "--datadir=" + data, "--user=root",
                  "--skip-test-db", "--auth-root-authentication-method=socket"], self._dir.path, timeout=120)
        process = self._spawn("mariadbd", [
            "mariadbd", "--no-defaults", "--datadir=" + data, "--socket=" + self._socket, "--skip-networking",
            "--user=root", "--pid-file=" + self._dir.join("mariadb.pid"), "--log-error=" + self._dir.join("mariadb.log"),
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--skip-log-bin", "--character-set-server=utf8mb4",
            "--innodb-flush-log-at-trx-commit=2", "--skip-name-resolve",
        ], "mariadb.out")

        def ready():
            process.require_running(self.log_tail)
            if not os.path.exists(self._socket):
                return False
            try:
                self._mysql("SELECT 1", timeout=5)
            except ServerError:
                return False
            return True

        wait_until(ready, self.start_timeout, "mariadb on %s" % self._socket, self.log_tail)
        self._mysql(
            "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;"
            "CREATE OR REPLACE USER '%s'@'localhost' IDENTIFIED BY '%s';"
            "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'localhost';" % (_DB_NAME, _DB_USER, self._db_password, _DB_NAME, _DB_USER)
        )
        # As the php-fpm entrypoint does: the web path alone cannot create the schema (prerequisites.inc.php
        # queries tables before it calls init_db_schema(), and its exception handler answers an empty 200).
        self._in_namespace(["php", "-f", "/web/inc/init_db.inc.php"], "init_db.log", timeout=120)
        if not self.sql("SHOW TABLES LIKE 'api'"):
            raise ServerError("init_db.inc.php did not create the schema\n%s" % self.log_tail())
        # data/Dockerfiles/phpfpm/docker-entrypoint.sh, for API_KEY / API_KEY_READ_ONLY with API_ALLOW_FROM.
        self.sql(
            "DELETE FROM api;"
            "INSERT INTO api (api_key, active, allow_from, access) VALUES ('%s', '1', '127.0.0.1,::1', 'rw');"
            "INSERT INTO api (api_key, active, allow_from, access) VALUES ('%s', '1', '127.0.0.1,::1', 'ro');" % (RW_KEY, RO_KEY)
        )

    def _environment(self):
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DBNAME": _DB_NAME, "DBUSER": _DB_USER, "DBPASS": self._db_password,
            "REDISPASS": self._redis_password, "REDIS_SLAVEOF_IP": self._redis_socket, "REDIS_SLAVEOF_PORT": "0",
            "MASTER": "y", "MAILCOW_HOSTNAME": "mail.mailcow.test", "TZ": "UTC",
            "API_KEY": RW_KEY, "API_KEY_READ_ONLY": RO_KEY, "API_ALLOW_FROM": "127.0.0.1,::1",
        }

    def _namespace_argv(self, command):
        env = ["env", "-i"] + ["%s=%s" % item for item in sorted(self._environment().items())]
        return ["unshare", "-m", "sh", self._dir.join("namespace.sh"), self._dir.join("root"), self.web,
                self._mysqld_dir, self._dir.join("hosts")] + env + command

    def _in_namespace(self, command, log, timeout):
        argv = self._namespace_argv(command)
        with open(self._dir.join(log), "ab") as output:
            completed = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        if completed.returncode != 0:
            raise ServerError("%s failed (status %d)\n%s" % (" ".join(command), completed.returncode, self.log_tail()))

    def _start_php(self):
        sessions = self._dir.join("sessions")

        def launch(port):
            command = ["php", "-d", "session.save_path=" + sessions, "-d", "display_errors=stderr", "-d", "log_errors=0",
                       "-S", "127.0.0.1:%d" % port, "-t", "/web", self._dir.join("router.php")]
            process = self._spawn("unshare", self._namespace_argv(command), "php.log")

            def ready():
                process.require_running(self.log_tail)
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        return True
                except OSError:
                    return False

            wait_until(ready, self.start_timeout, "php -S on 127.0.0.1:%d" % port, self.log_tail)
            self.port = port
            self.url = "http://127.0.0.1:%d" % port

        launch(free_port())
        # The first request builds nothing, but it proves the whole stack (namespace, DB, Redis, dockerapi).
        status, _type, text = self.request("GET", "/api/v1/get/status/version", key=self.ro_key, timeout=self.start_timeout)
        if status != 200 or self.version not in text:
            raise ServerError("mailcow API on %s answers %s %r\n%s" % (self.url, status, text[:300], self.log_tail()))

    # ------------------------------------------------------------------ requests

    def request(self, method, path, body=None, key=None, host=None, timeout=30.0, content_type="application/json"):
        """One HTTP request: ``(status, content_type, text)``; ``body`` (not str) is sent as JSON."""
        return api_request(self.url + path, method, body=body, key=key, host=host, timeout=timeout, content_type=content_type)

    def api(self, method, route, body=None, key=None):
        """``request`` on ``/api/v1/<route>`` with the read-write key, the answer decoded from JSON."""
        status, _type, text = self.request(method, "/api/v1/" + route, body=body, key=self.rw_key if key is None else key)
        if status != 200:
            raise ServerError("mailcow %s %s: HTTP %d %s" % (method, route, status, text[:300]))
        return json.loads(text) if text.strip() else None

    def add_domain(self, name, tags=(), active=True, backupmx=False, description=None):
        """``POST /api/v1/add/domain`` as an admin would; raises unless mailcow says success.

        mailcow then makes the domain's DKIM key itself (2048 bits, selector ``dkim``) where the
        release does so on add (``dkim_key_length`` and ``dkim_selector`` below).
        """
        body = {
            "domain": name, "description": description or name, "active": 1 if active else 0,
            "backupmx": 1 if backupmx else 0, "relay_all_recipients": 0, "restart_sogo": 0,
            "aliases": 400, "mailboxes": 10, "defquota": 1024, "maxquota": 10240, "quota": 10240,
            "dkim_selector": "dkim", "key_size": 2048, "tags": list(tags),
        }
        answer = self.api("POST", "add/domain", body)
        entries = answer if isinstance(answer, list) else [answer]
        if not any(isinstance(entry, dict) and entry.get("type") == "success" for entry in entries):
            raise ServerError("mailcow add/domain %s: %r" % (name, answer))
        return answer

    def delete_domain(self, name):
        """``POST /api/v1/delete/domain`` (mailcow deletes the domain's MTA-STS row with it)."""
        return self.api("POST", "delete/domain", [name])
