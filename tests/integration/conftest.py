"""Fixtures that start real servers on loopback (see tests/harness/README.md) and run ansible-playbook."""

import contextlib

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import verify_input
from harness import BindServer, NginxServer, SmtpServer, TestCA, UnboundResolver, run_playbook as _run_playbook


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
