"""What the roles deploy is what senders get: a real nginx serves the files each role wrote.

The roles run for real through ansible-playbook on a temporary mailcow tree and a temporary compose
project; then the harness nginx (test CA, loopback) serves those very directories, and each
``https://mta-sts.<domain>/.well-known/mta-sts.txt`` is fetched with certificate validation:
status 200, ``text/plain``, a policy the strict parser accepts and that equals, byte for byte, the
one the role deployed (its module's return value) and the one the engine builds for the domain.

* legacy mailcow: nginx serves ``data/web`` as mailcow's does for every ``mta-sts.*`` name (its
  ``server_name`` list), with the Content-Type from Debian's ``mime.types`` as mailcow's nginx
  includes it, not forced by the test;
* container: nginx includes the role's own ``nginx/mta-sts-hosts.conf`` (the ``map``) and
  ``nginx/mta-sts.locations`` and serves the role's ``mta-sts/`` directory, so the per-domain
  selection that runs in the container runs here; only the ``listen`` and ``root`` lines of the
  container's ``default.conf`` are the harness's own. A name outside the map, and the files'
  own paths, must get 404.
"""

import os
import shutil

import pytest

from harness import Site
from ansible_collections.mailsec.posture.plugins.module_utils import mta_sts, records
from ansible_collections.mailsec.posture.plugins.module_utils.spec import normalize_domain_entry

pytestmark = pytest.mark.slow

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "mailcow")
POLICY_PATH = mta_sts.POLICY_PATH
MAIL_HOST = "mail.example.test"
MIME_TYPES = "/etc/nginx/mime.types"

LEGACY_DOMAINS = [
    {"name": "example.test", "mta_sts": {"mode": "enforce", "delegate_to": MAIL_HOST}},
    {"name": "example.org.test", "mta_sts": {"mode": "enforce"}},
]
CONTAINER_DOMAINS = [
    {"name": "example.test", "mta_sts": {"mode": "enforce"}},
    {"name": "other.test", "mx": ["mx1.other.test", "mx2.other.test"], "mta_sts": {"mode": "testing", "max_age": 86400}},
    {"name": "xn--bcher-kva.test", "mta_sts": {"mode": "enforce", "mx": ["*.example.test"], "max_age": 1209600}},
]


def engine_policy(entry):
    return records.mta_sts_policy(normalize_domain_entry(entry, mail_host=MAIL_HOST))


def role_play(role, variables):
    return [{
        "name": "Deploy",
        "hosts": "localhost",
        "gather_facts": False,
        "vars": dict({"mailsec_mail_host": MAIL_HOST}, **variables),
        "roles": [{"role": role}],
    }]


def fetch(web, host, path=POLICY_PATH):
    return web.get(host, path, timeout=5.0)


def assert_served(response, expected):
    assert response.status == 200, response
    assert response.headers["content-type"].split(";")[0].strip() == "text/plain"
    verdict = mta_sts.parse_policy(response.body)
    assert verdict["valid"], verdict["errors"]
    assert response.body == expected.encode("utf-8")


@pytest.fixture
def mailcow_tree(tmp_path):
    """A legacy mailcow install as acme leaves it: mailcow.conf, .env link, data/web with .well-known/acme-challenge."""
    root = tmp_path / "mailcow-dockerized"
    (root / "data" / "web" / ".well-known" / "acme-challenge").mkdir(parents=True)
    (root / "data" / "web" / "index.php").write_text("<?php // mailcow UI\n")
    shutil.copy(os.path.join(FIXTURES, "mailcow.conf"), root / "mailcow.conf")
    os.chmod(root / "mailcow.conf", 0o600)
    os.symlink("mailcow.conf", root / ".env")
    return root


def test_legacy_mailcow_policy_is_served_over_https(mailcow_tree, run_playbook, nginx_server):
    run = run_playbook(role_play("mailsec.posture.mailcow_mta_sts", {
        "mailsec_domains": LEGACY_DOMAINS,
        "mailcow_mta_sts_dir": str(mailcow_tree),
        "mailcow_mta_sts_docker": False,
    }))
    run.assert_ok()
    written = run.task_result("mailsec.posture.mailcow_mta_sts : Write the policy file")
    deployed = written["policy"]
    assert deployed == engine_policy(LEGACY_DOMAINS[0]) == engine_policy(LEGACY_DOMAINS[1])
    web_root = mailcow_tree / "data" / "web"
    assert (web_root / ".well-known" / "mta-sts.txt").read_bytes() == deployed.encode("utf-8")

    # mailcow's nginx: one server for all mta-sts.* names, root /web, types from mime.types.
    names = ["mta-sts." + entry["name"] for entry in LEGACY_DOMAINS]
    web = nginx_server([Site(
        names[0],
        aliases=tuple(names[1:]),
        root=str(web_root),
        content_type="application/octet-stream",
        locations="    location / { include %s; try_files $uri =404; }" % MIME_TYPES,
    )])
    for name in names:
        assert_served(fetch(web, name), deployed)
    assert mta_sts.build_txt(written["id"]) == written["txt"] == "v=STSv1; id=%s" % mta_sts.policy_id(deployed)


def test_container_serves_each_domain_its_own_policy(tmp_path, run_playbook, nginx_server):
    project = tmp_path / "mta-sts-container"
    run = run_playbook(role_play("mailsec.posture.mta_sts_container", {
        "mailsec_domains": CONTAINER_DOMAINS,
        "mta_sts_container_dir": str(project),
        "mta_sts_container_docker": False,
    }))
    run.assert_ok()
    written = run.task_result(
        "mailsec.posture.mta_sts_container : Write each domain's policy file and remove those of domains no longer served")
    deployed = {item["domain"]: item["policy"] for item in written["policies"]}
    assert written["removed"] == []
    assert set(deployed) == {entry["name"] for entry in CONTAINER_DOMAINS}
    assert len(set(deployed.values())) == len(CONTAINER_DOMAINS), "the test needs a different policy per domain"

    nginx_dir = project / "nginx"
    locations = "    include %s;" % (nginx_dir / "mta-sts.locations")
    names = ["mta-sts." + entry["name"] for entry in CONTAINER_DOMAINS] + ["mta-sts.unlisted.test"]
    web = nginx_server(
        [Site(name, root=str(project / "mta-sts"), locations=locations, content_type="application/octet-stream") for name in names],
        http_config="  include %s;" % (nginx_dir / "mta-sts-hosts.conf"),
    )
    for entry in CONTAINER_DOMAINS:
        expected = engine_policy(entry)
        assert deployed[entry["name"]] == expected
        assert_served(fetch(web, "mta-sts." + entry["name"]), expected)
        # The policy files are reachable only as /.well-known/mta-sts.txt of their own host.
        assert fetch(web, "mta-sts." + entry["name"], "/%s.txt" % entry["name"]).status == 404
        assert fetch(web, "mta-sts." + entry["name"], "/.well-known/%s.txt" % entry["name"]).status == 404
    assert fetch(web, "mta-sts.unlisted.test").status == 404
