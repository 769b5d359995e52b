"""The compose file the container role writes is one docker compose accepts.

No Docker engine runs here, but ``config`` needs none: it reads, interpolates and validates the file
against the Compose Specification offline. The docker CLI here has no compose plugin
(``docker compose`` is an unknown command), so the test uses the plugin when present and the
standalone ``docker-compose`` (Debian package ``docker-compose``, 1.29, which validates files without
``version:`` against its bundled Compose Specification schema) otherwise; without either it is
skipped, saying which package to install. The validator is first shown to reject a broken file, so
a pass means something.

The role's own ``validate`` hook is exercised too: with a validator that refuses, the role fails and
writes no compose file.
"""

import os
import shutil
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.slow

TIMEOUT = 60
DOMAINS = [
    {"name": "example.test", "mta_sts": {"mode": "enforce"}},
    {"name": "Bücher.test", "mta_sts": {"mode": "testing"}},
    {"name": "a-b.test", "mta_sts": {"mode": "enforce"}},
    {"name": "a.b-test.test", "mta_sts": {"mode": "enforce"}},
]


def compose_command():
    """argv prefix of a compose implementation that works here, or None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


COMPOSE = compose_command()
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="no docker compose plugin and no docker-compose (apt-get install docker-compose)")


def compose_config(path):
    return subprocess.run(COMPOSE + ["-f", str(path), "config", "--quiet"], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False, env=dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock"))


def play(project, **variables):
    role_vars = {"mailsec_mail_host": "mail.example.test", "mailsec_domains": DOMAINS, "mta_sts_container_dir": str(project),
                 "mta_sts_container_docker": False}
    role_vars.update(variables)
    return [{"name": "Deploy", "hosts": "localhost", "gather_facts": False, "vars": role_vars,
             "roles": [{"role": "mailsec.posture.mta_sts_container"}]}]


@needs_compose
def test_docker_compose_accepts_the_compose_file(tmp_path, run_playbook):
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  web:\n    image: nginx:alpine\n    labels: 5\n    no_such_option: 1\n")
    assert compose_config(broken).returncode != 0, "the validator must reject an invalid file"

    project = tmp_path / "project"
    validate = " ".join(COMPOSE) + " -f %s config --quiet"
    run_playbook(play(project, mta_sts_container_compose_validate=validate, mta_sts_container_image_tag="1.27-alpine",
                      mta_sts_container_certresolver="le")).assert_ok()
    checked = compose_config(project / "docker-compose.yml")
    assert checked.returncode == 0, checked.stderr
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert "version" not in compose
    labels = compose["services"]["mta-sts-server"]["labels"]
    routers = sorted({label.split(".")[3] for label in labels if label.startswith("traefik.http.routers.")})
    # Dots become '_', so a-b.test and a.b-test.test cannot share a router.
    assert routers == ["mta-sts-a-b_test", "mta-sts-a_b-test_test", "mta-sts-example_test", "mta-sts-xn--bcher-kva_test"]


def test_a_refused_compose_file_is_not_installed(tmp_path, run_playbook):
    project = tmp_path / "project"
    run = run_playbook(play(project, mta_sts_container_compose_validate="false %s"))
    assert run.rc != 0
    assert "failed to validate" in " ".join(run.failure_messages())
    assert not (project / "docker-compose.yml").exists()
