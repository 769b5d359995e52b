"""The resolver the role deploys, for real: postfix-mta-sts-resolver with the configuration the role rendered.

The daemon comes from PyPI (``postfix-mta-sts-resolver[sqlite]`` at the version the role pins) in a
temporary virtualenv (PyPI is reachable wherever the tests run; a failed install fails the test). It runs in a
private network and mount namespace (``unshare -n -m``: only a loopback interface, and a
resolv.conf of its own bind-mounted over /etc/resolv.conf; the machine's files are never touched),
with BIND on 127.0.0.1:53 and nginx on 127.0.0.1:443 from tests/harness (see resolver_world.py).
It is asked over the socketmap protocol exactly as postfix asks ``socketmap:inet:...:postfix``.

The compose file the role merged is also checked with docker compose (the plugin, else the
standalone docker-compose 1.29) together with a stand-in of mailcow's docker-compose.yml.
"""

import json
import os
import shutil
import subprocess
import sys
import venv

import pytest
import yaml

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE_DEFAULTS = os.path.join(HERE, "..", "..", "roles", "mailcow_mta_sts_resolver", "defaults", "main.yml")
with open(ROLE_DEFAULTS, encoding="utf-8") as _handle:
    VERSION = yaml.safe_load(_handle)["mailcow_mta_sts_resolver_version"]
MAIN_CF = """\
smtp_tls_security_level = dane
smtp_tls_policy_maps = proxy:mysql:/opt/postfix/conf/sql/mysql_tls_policy_override_maps.cf
# DO NOT EDIT ANYTHING BELOW #
# Overrides #
"""
# What the override needs from mailcow's docker-compose.yml: its network, unbound with a health check, postfix.
MAILCOW_COMPOSE = """\
services:
  unbound-mailcow:
    image: ghcr.io/mailcow/unbound:1.24
    healthcheck:
      test: ["CMD", "true"]
    networks:
      mailcow-network:
        aliases: [unbound]
  postfix-mailcow:
    image: ghcr.io/mailcow/postfix:1.80
    networks:
      mailcow-network:
        aliases: [postfix]
networks:
  mailcow-network:
    driver: bridge
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """Path of mta-sts-daemon installed from PyPI into a temporary virtualenv (a failed install is a failure)."""
    home = tmp_path_factory.mktemp("resolver-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    python = str(home / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "postfix-mta-sts-resolver[sqlite]==%s" % VERSION],
                             capture_output=True, text=True, timeout=600, check=False)
    if install.returncode != 0:
        pytest.fail("postfix-mta-sts-resolver==%s did not install: %s" % (VERSION, install.stderr.strip()[-500:]))
    return str(home / "bin" / "mta-sts-daemon")


@pytest.fixture
def mailcow(tmp_path, run_playbook):
    """A mailcow tree before 2025-09, converged by the role (no Docker engine: handlers off)."""
    root = tmp_path / "mailcow-dockerized"
    (root / "data" / "conf" / "postfix").mkdir(parents=True)
    (root / "data" / "conf" / "postfix" / "main.cf").write_text(MAIN_CF)
    (root / "docker-compose.yml").write_text(MAILCOW_COMPOSE)
    (root / "mailcow.conf").write_text("MAILCOW_HOSTNAME=mail.example.test\nIPV4_NETWORK=172.22.1\nTZ=Europe/Berlin\n")
    os.symlink("mailcow.conf", root / ".env")
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "mailsec.posture.mailcow_mta_sts_resolver"}],
             "vars": {"mailcow_mta_sts_resolver_dir": str(root), "mailcow_mta_sts_resolver_docker": False}}]
    run_playbook(play).assert_ok()
    return root


def can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    probe = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


def test_daemon_with_the_rendered_config_answers_postfix(mailcow, daemon, tmp_path):
    # The tests run as root (CI does); util-linux's unshare and iproute2 are on every Debian.
    assert can_unshare(), "needs root, unshare and ip (a private network and mount namespace)"
    with open(mailcow / "data" / "conf" / "mta-sts-resolver" / "mta-sts-daemon.yml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["port"] == 8461 and config["cache"]["type"] == "sqlite"
    # The only change: the cache file's path inside the container does not exist here.
    config["cache"]["options"]["filename"] = str(tmp_path / "cache.db")
    config_path = tmp_path / "mta-sts-daemon.yml"
    config_path.write_text(yaml.safe_dump(config))
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")

    script = 'ip link set lo up && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    world = subprocess.run(["unshare", "-n", "-m", "sh", "-c", script, "resolver-world", str(resolv),
                            sys.executable, os.path.join(HERE, "resolver_world.py"), str(tmp_path), daemon, str(config_path)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert world.returncode == 0, world.stderr[-4000:]
    answers = json.loads(world.stdout.strip().splitlines()[-1])

    verdict, policy, *attributes = answers["enforce.test"].split()
    fields = dict(attribute.split("=", 1) for attribute in attributes)
    assert (verdict, policy) == ("OK", "secure")
    assert set(fields["match"].split(":")) == {"mail.enforce.test", ".backup.enforce.test"}
    assert fields["servername"] == "hostname"
    assert answers["ENFORCE.test."] == answers["enforce.test"]  # postfix may ask with any case, with a final dot
    assert answers["testing.test"] == "NOTFOUND "   # RFC 8461 5.2: testing never blocks delivery
    assert answers["plain.test"] == "NOTFOUND "
    assert answers["untrusted.test"] == "NOTFOUND "  # the policy was not fetched: its certificate did not verify
    assert os.path.getsize(tmp_path / "cache.db") > 0


def compose_command():
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_merged_override_is_valid_compose_with_mailcows_file(mailcow):
    # tools/bootstrap installs Debian's docker-compose where the docker CLI has no compose plugin.
    assert compose_command(), "no docker compose plugin and no docker-compose (tools/bootstrap installs docker-compose)"

    def config(override):
        return subprocess.run(compose_command() + ["-f", "docker-compose.yml", "-f", override, "config"], cwd=mailcow,
                              capture_output=True, text=True, timeout=60, check=False,
                              env=dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock"))

    broken = mailcow / "broken.yml"
    broken.write_text("services:\n  mta-sts-resolver-mailcow:\n    depends_on: {nowhere: {condition: service_healthy}}\n    image: x\n")
    assert config("broken.yml").returncode != 0  # the validator does refuse a bad file

    merged = config("docker-compose.override.yml")
    assert merged.returncode == 0, merged.stderr
    service = yaml.safe_load(merged.stdout)["services"]["mta-sts-resolver-mailcow"]
    assert service["dns"] == ["172.22.1.254"]  # mailcow's unbound, interpolated from mailcow.conf (.env)
    assert service["environment"] == {"TZ": "Europe/Berlin"}
    assert "mailcow-network" in service["networks"]
