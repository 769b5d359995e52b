"""Fixtures that start real servers on loopback (see tests/harness/README.md) and run ansible-playbook."""

import contextlib
import os
import re
import warnings

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_input
from harness import BindServer, NginxServer, ServerError, SmtpServer, TestCA, UnboundResolver, run_playbook as _run_playbook


@pytest.fixture(scope="session")
def test_ca():
    """One test CA per test process (``test_ca.untrusted`` is a second one nobody trusts)."""
    return TestCA()


@contextlib.contextmanager
def _factory(make):
    # Every server the test starts is stopped when the test ends, last started first.
    with contextlib.ExitStack() as stack:
        yield lambda *args, **options: stack.enter_context(make(*args, **options))


@pytest.fixture
def bind_server():
    """``bind_server(zones, dnssec_zones=..., ...)`` starts a BindServer for this test."""
    with _factory(BindServer) as start:
        yield start


@pytest.fixture
def unbound_resolver():
    """``unbound_resolver(bind, ...)`` starts a validating UnboundResolver in front of ``bind``."""
    with _factory(UnboundResolver) as start:
        yield start


@pytest.fixture
def nginx_server(test_ca):
    """``nginx_server([Site(...), ...])`` starts an NginxServer with certificates from ``test_ca``."""
    with _factory(lambda sites, ca=test_ca, **options: NginxServer(sites, ca, **options)) as start:
        yield start


@pytest.fixture
def smtp_server(test_ca):
    """``smtp_server(hostname, certificate=..., starttls=..., address=...)`` starts an SmtpServer (test_ca)."""
    with _factory(lambda hostname, ca=test_ca, **options: SmtpServer(hostname, ca, **options)) as start:
        yield start


@pytest.fixture
def run_playbook(tmp_path):
    """``run_playbook(playbook, extra_vars=..., check=..., timeout=...)`` -> PlaybookResult; work files in tmp_path."""
    def run(playbook, **options):
        options.setdefault("workdir", tmp_path / "ansible")
        return _run_playbook(playbook, **options)
    return run


@pytest.fixture
def counted_forks(monkeypatch):
    """The worker processes the verifiers fork, each as the names of its domains, in order; forking is allowed
    here although pytest-xdist keeps a thread in this process (which would keep a run in one process)."""
    forks = []
    real_fork = verify_input._fork_worker  # pylint: disable=protected-access

    def counted(*args):
        forks.append([target.name for target in args[1]])
        return real_fork(*args)

    monkeypatch.setattr(verify_input, "_can_fork", lambda: True)
    monkeypatch.setattr(verify_input, "_fork_worker", counted)
    return forks


# ---------------------------------------------------------------- the real mailcow API (tests/harness/mailcow.py)

def _mailcow_releases():
    """The releases MAILCOW_SOURCE names (tools/env.sh points it at ../shared/mailcow), or a reason why none."""
    from harness.mailcow import SOURCE_VARIABLE, find_sources  # pylint: disable=import-outside-toplevel
    from harness import ServerError  # pylint: disable=import-outside-toplevel

    value = os.environ.get(SOURCE_VARIABLE)
    if not value:
        return [], (
            "%s is not set: the real-mailcow tests need a mailcow-dockerized tree or mailcow-dockerized-<release>.tar.gz "
            "(or a directory of them); tools/env.sh sets it to ../shared/mailcow when that exists" % SOURCE_VARIABLE
        )
    try:
        return find_sources(value), None
    except ServerError as exc:
        return [], str(exc)


MAILCOW_RELEASES, MAILCOW_MISSING = _mailcow_releases()


def _require_mailcow_source():
    if MAILCOW_MISSING is None:
        return
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("real-mailcow tier must run in CI: %s" % MAILCOW_MISSING, pytrace=False)
    pytest.skip(MAILCOW_MISSING)


@pytest.fixture(scope="session")
def _mailcow_instances():
    """The running mailcows by release, stopped when the session ends. pytest tears a parametrized session
    fixture down whenever the next test wants another parameter; the instances outlive that here."""
    with contextlib.ExitStack() as stack:
        yield stack, {}


@pytest.fixture(scope="session", params=[release.version for release in MAILCOW_RELEASES] or ["no-mailcow-source"])
def real_mailcow(request, _mailcow_instances):
    """mailcow's own API of one release (every release MAILCOW_SOURCE names), one instance per release per
    session. Tests share it: each one uses its own domain names."""
    _require_mailcow_source()
    from harness.mailcow import MailcowApi  # pylint: disable=import-outside-toplevel

    stack, running = _mailcow_instances
    if request.param not in running:
        source = {release.version: release for release in MAILCOW_RELEASES}[request.param]
        # One more start when the first fails: MariaDB 10.11 was seen to crash once here (a segfault in
        # create_tmp_table while mailcow's PHP read the schema), in one of several full runs. A second failure
        # is reported by every test of the release, not retried again.
        for attempt in (1, 2):
            try:
                running[request.param] = stack.enter_context(MailcowApi(source))
                break
            except ServerError as exc:
                if attempt == 2:
                    running[request.param] = exc
                    raise
                warnings.warn("mailcow %s did not start, starting it once more: %s" % (request.param, str(exc).splitlines()[0]))
            except Exception as exc:
                running[request.param] = exc
                raise
    if isinstance(running[request.param], Exception):
        raise running[request.param]
    return running[request.param]


@pytest.fixture
def native_mailcow(real_mailcow):
    """``real_mailcow`` where the release serves MTA-STS itself (2025-09 and later); skipped for older ones."""
    if not real_mailcow.native_mta_sts:
        pytest.skip("mailcow %s has no native MTA-STS (data/web/mta-sts.php)" % real_mailcow.version)
    return real_mailcow


@pytest.fixture
def mailcow_domain(request):
    """A domain name of this test only (the session's mailcow is shared): ``mailcow_domain("a")`` -> a-<test>.test."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[-40:].strip("-")
    return lambda label="d": "%s.%s.test" % (label, stem)
