"""Tests of the deployment engine: which policy, which file write, which domains a server serves."""

import os
import stat

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.mailsec.posture.plugins.module_utils import files, mta_sts, mta_sts_deploy as deploy
from ansible_collections.mailsec.posture.plugins.module_utils.common import SpecError
from unit.immutable_paths import immutable_paths

MAIL = "mail.example.com"
# RFC 8461 3.2's own example policy.
RFC_POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"


def error_of(function, *args, **kwargs):
    with pytest.raises(SpecError) as caught:
        function(*args, **kwargs)
    return caught.value


# ----- desired_policy -------------------------------------------------------------------------

def test_fields_build_the_canonical_policy():
    policy, domain = deploy.desired_policy(mode="enforce", mx=["Mail.Example.com.", "*.example.net"], max_age=86400)
    assert domain is None
    assert policy == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n"
    assert mta_sts.parse_policy(policy)["valid"]


def test_fields_default_max_age_is_a_week_and_mode_none_needs_no_mx():
    assert deploy.desired_policy(mode="testing", mx=["a.example"])[0].endswith("max_age: 604800\r\n")
    assert deploy.desired_policy(mode="none")[0] == "version: STSv1\r\nmode: none\r\nmax_age: 604800\r\n"


@pytest.mark.parametrize(
    "kwargs, field, reason",
    [
        ({"mode": "enforce", "mx": ["*"]}, "mx[0]", "'*' alone is not an mx pattern"),
        ({"mode": "enforced", "mx": ["a.example"]}, "mode", "must be one of enforce, testing, none, got 'enforced'"),
        ({"mode": "enforced"}, "mode", "got 'enforced'"),
        ({"mode": "ENFORCE", "mx": ["a.example"]}, "mode", "got 'ENFORCE'"),
        ({"mode": "enforce"}, "mx", "is required with mode enforce"),
        ({"mode": "testing", "mx": []}, "mx", "is required with mode testing"),
        ({"mode": "enforce", "mx": ["a.example"], "max_age": -1}, "max_age", "at least 0"),
        ({"mode": "enforce", "mx": ["a.example"], "max_age": 31557601}, "max_age", "at most 31557600"),
        ({"mode": "enforce", "mx": ["a.example", "mail.*.example"]}, "mx[1]", "left-most label"),
        ({"mode": "enforce", "mx": ["*mail.example"]}, "mx[0]", "whole left-most label"),
        ({"mode": "enforce", "mx": ["bad host.example"]}, "mx[0]", ""),
        ({"mx": ["a.example"]}, "policy", "got none"),
        ({"mode": "enforce", "mx": ["a"], "policy": RFC_POLICY}, "policy", "got mode, policy"),
        ({"policy": RFC_POLICY, "mx": ["a.example"]}, "mx", "goes with mode"),
        ({"domain": "example.com", "max_age": 5}, "max_age", "goes with mode"),
    ],
)
def test_invalid_fields_name_the_option(kwargs, field, reason):
    error = error_of(deploy.desired_policy, **kwargs)
    assert error.field == field
    assert reason in error.reason
    assert error.domain is None or "domain" in kwargs
    assert "policy.invalid" not in str(error)


def test_a_valid_text_is_kept_byte_for_byte():
    assert deploy.desired_policy(policy=RFC_POLICY) == (RFC_POLICY, None)
    crlf = RFC_POLICY.replace("\n", "\r\n")
    assert deploy.desired_policy(policy=crlf)[0] == crlf


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("version: STSv1\nmode: enforce\nmax_age: 172800\nmx: *\n", "'*' alone"),  # the mailcow guide's policy
        ("version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n", "mode must be one of"),
        ("version: STSv1\nmode: enforce\nmx: a.example\n", "max_age is required"),
        ("mode: enforce\nmx: a.example\nmax_age: 1\n", "version is required"),
        ("", "version is required"),
        ("\ufeffversion: STSv1\nmode: none\nmax_age: 1\n", "byte order mark"),
    ],
)
def test_invalid_texts_are_refused_with_the_parser_reasons(text, fragment):
    error = error_of(deploy.desired_policy, policy=text)
    assert error.field == "policy"
    assert fragment in error.reason


def test_a_text_must_be_a_string():
    assert error_of(deploy.policy_from_text, ["version: STSv1"]).field == "policy"


def test_an_inventory_entry_gives_the_engine_policy():
    policy, domain = deploy.desired_policy(domain={"name": "Bücher.example", "mta_sts": {"mode": "enforce"}}, mail_host=MAIL)
    assert domain == "xn--bcher-kva.example"
    assert policy == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"


def test_an_entry_reads_only_its_mta_sts_inputs_and_takes_defaults():
    entry = {"name": "example.org", "dane": {"enabled": True, "certificate": "/a/path/on/the/controller.pem"}, "dkim": "garbage"}
    policy, domain = deploy.desired_policy(domain=entry, mail_host=MAIL, defaults={"mta_sts": {"mode": "enforce", "max_age": 86400}, "spf": 1})
    assert policy == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"
    assert domain == "example.org"


@pytest.mark.parametrize(
    "entry, mail_host, field",
    [
        ({"name": "example.com", "mta_sts": False}, MAIL, "mta_sts.enabled"),
        ({"name": "example.com", "mta_sts": {"enabled": False}}, MAIL, "mta_sts.enabled"),
        ({"name": "example.com", "mta_sts": {"mode": "strict"}}, MAIL, "mta_sts.mode"),
        ({"name": "example.com"}, None, "mx"),
        ({"name": "example.com", "mx": ["mx.example.net"], "mta_sts": {"mx": ["mail.example.com"]}}, None, "mta_sts.mx"),
        ({"mta_sts": {}}, MAIL, "name"),
    ],
)
def test_invalid_entries_name_domain_and_field(entry, mail_host, field):
    error = error_of(deploy.desired_policy, domain=entry, mail_host=mail_host)
    assert error.field == field
    if "name" in entry:
        assert error.domain == "example.com"


def test_published_id_and_txt_follow_the_content():
    first = deploy.published(RFC_POLICY)
    assert first["txt"] == "v=STSv1; id=%s" % first["id"]
    assert mta_sts.parse_txt(first["txt"])["valid"]
    assert deploy.published(RFC_POLICY.replace("\n", "\r\n")) == first
    assert deploy.published(RFC_POLICY.replace("enforce", "testing"))["id"] != first["id"]


# ----- ensure_policy_file ---------------------------------------------------------------------

def test_check_mode_predicts_and_writes_nothing(tmp_path):
    path = tmp_path / "mta-sts.txt"
    outcome = deploy.ensure_policy_file(str(path), RFC_POLICY, check_mode=True)
    assert outcome == {"changed": True, "created": True, "before": "", "after": RFC_POLICY, "backup_file": None}
    assert os.listdir(tmp_path) == []


def test_write_then_unchanged(tmp_path):
    path = tmp_path / "mta-sts.txt"
    assert deploy.ensure_policy_file(str(path), RFC_POLICY)["changed"] is True
    assert path.read_bytes() == RFC_POLICY.encode()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    inode = os.stat(path).st_ino
    again = deploy.ensure_policy_file(str(path), RFC_POLICY)
    assert again["changed"] is False and again["created"] is False and again["before"] == RFC_POLICY
    assert os.stat(path).st_ino == inode


def test_replacing_keeps_mode_and_backs_up(tmp_path):
    path = tmp_path / "mta-sts.txt"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o600)
    outcome = deploy.ensure_policy_file(str(path), RFC_POLICY, backup=True)
    assert outcome["before"] == "old\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(outcome["backup_file"], "rb").read() == b"old\n"


def test_no_backup_of_a_file_that_did_not_exist(tmp_path):
    assert deploy.ensure_policy_file(str(tmp_path / "new.txt"), RFC_POLICY, backup=True)["backup_file"] is None
    assert os.listdir(tmp_path) == ["new.txt"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_missing_directory_fails_in_both_modes(tmp_path, check_mode):
    with pytest.raises(files.FileMissingError) as caught:
        deploy.ensure_policy_file(str(tmp_path / "nope" / "mta-sts.txt"), RFC_POLICY, check_mode=check_mode)
    assert "does not exist" in str(caught.value)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_directory_in_the_way_fails_in_both_modes(tmp_path, check_mode):
    (tmp_path / "mta-sts.txt").mkdir()
    with pytest.raises(files.FileError) as caught:
        deploy.ensure_policy_file(str(tmp_path / "mta-sts.txt"), RFC_POLICY, check_mode=check_mode)
    assert "not a regular file" in str(caught.value)


def test_a_link_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real.txt").write_bytes(b"old\n")
    os.symlink("real.txt", tmp_path / "mta-sts.txt")
    deploy.ensure_policy_file(str(tmp_path / "mta-sts.txt"), RFC_POLICY)
    assert os.path.islink(tmp_path / "mta-sts.txt")
    assert (tmp_path / "real.txt").read_bytes() == RFC_POLICY.encode()


# ----- sites and shared_policy ----------------------------------------------------------------

FLEET = [
    {"name": "delegated.example", "mta_sts": {"mode": "enforce", "delegate_to": MAIL}},
    {"name": "plain.example", "mta_sts": {"mode": "enforce"}},
    {"name": "container.example", "mta_sts": {"mode": "testing", "policy_host": "web.example.net"}},
    {"name": "addresses.example", "mta_sts": {"mode": "enforce", "policy_host_addresses": ["192.0.2.1"]}},
    {"name": "off.example", "mta_sts": False},
    "defaults.example",
]


def names_of(sites):
    return [site["domain"] for site in sites]


def test_sites_by_serving_host_follow_the_record_engine():
    assert names_of(deploy.sites(FLEET, mail_host=MAIL, serving_host="Mail.Example.com.")) == [
        "delegated.example", "plain.example", "defaults.example"]
    assert names_of(deploy.sites(FLEET, mail_host=MAIL, serving_host="web.example.net")) == ["container.example"]
    assert names_of(deploy.sites(FLEET, mail_host=MAIL)) == [
        "delegated.example", "plain.example", "container.example", "addresses.example", "defaults.example"]


def test_site_fields():
    site = deploy.sites(FLEET, mail_host=MAIL, names=["container.example"])[0]
    assert site["policy_host"] == "mta-sts.container.example"
    assert site["target"] == "web.example.net"
    assert site["policy"] == "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
    assert site["id"] == mta_sts.policy_id(site["policy"])
    assert site["txt"] == mta_sts.build_txt(site["id"])
    assert (site["mode"], site["mx"], site["max_age"]) == ("testing", [MAIL], 604800)
    assert deploy.sites(FLEET, mail_host=MAIL, names=["addresses.example"])[0]["target"] is None


def test_sites_agree_with_the_records_the_engine_publishes():
    from ansible_collections.mailsec.posture.plugins.module_utils import records, spec
    entries = [entry for entry in FLEET if entry != FLEET[3]]
    published = {
        record["name"]: record["value"]
        for record in records.desired_records(spec.normalize_model(entries, mail_host=MAIL))
        if record["standard"] == "mta_sts"
    }
    for site in deploy.sites(entries, mail_host=MAIL):
        assert published["%s." % site["policy_host"]] == "%s." % site["target"]
        txt_owner = "_mta-sts.%s." % site["domain"]
        if published.get(txt_owner, "").startswith("v=STSv1"):
            assert published[txt_owner] == site["txt"]


def test_explicit_names_keep_their_order_and_refuse_unknown_or_off_domains():
    assert names_of(deploy.sites(FLEET, mail_host=MAIL, names=["PLAIN.example.", "delegated.example", "plain.example"])) == [
        "plain.example", "delegated.example"]
    unknown = error_of(deploy.sites, FLEET, mail_host=MAIL, names=["missing.example"])
    assert (unknown.field, unknown.domain) == ("names[0]", "missing.example")
    off = error_of(deploy.sites, FLEET, mail_host=MAIL, names=["plain.example", "off.example"])
    assert off.field == "names[1]" and "MTA-STS is off" in off.reason


def test_sites_ignore_other_standards_but_validate_their_own():
    assert names_of(deploy.sites([{"name": "a.example", "dane": {"certificate": "/controller/path.pem"}}], mail_host=MAIL)) == ["a.example"]
    bad = error_of(deploy.sites, [{"name": "a.example", "mta_sts": {"mx": ["*"]}}], mail_host=MAIL)
    assert (bad.field, bad.domain) == ("mta_sts.mx[0]", "a.example")
    twice = error_of(deploy.sites, ["a.example", "A.example."], mail_host=MAIL)
    assert "listed twice" in twice.reason
    assert error_of(deploy.sites, {"name": "a.example"}).field == "mailsec_domains"


def test_sites_of_nothing():
    assert deploy.sites(None) == []
    assert deploy.sites([], mail_host=MAIL, serving_host=MAIL) == []


def test_shared_policy_names_every_disagreeing_domain():
    sites = deploy.sites(FLEET, mail_host=MAIL, serving_host=MAIL)
    error = error_of(deploy.shared_policy, sites, "mailcow at /opt/mailcow-dockerized")
    assert error.field == "mta_sts"
    assert "mailcow at /opt/mailcow-dockerized serves one policy file" in error.reason
    assert "2 different policies" in error.reason
    assert "delegated.example, plain.example: mode enforce, max_age 604800, mx mail.example.com" in error.reason
    assert "defaults.example: mode testing" in error.reason


def test_shared_policy_of_agreeing_domains_is_their_policy():
    sites = deploy.sites(FLEET, mail_host=MAIL, names=["delegated.example", "plain.example"])
    shared = deploy.shared_policy(sites)
    assert shared["domains"] == ["delegated.example", "plain.example"]
    assert shared["policy"] == sites[0]["policy"] == sites[1]["policy"]
    assert (shared["id"], shared["txt"]) == (sites[0]["id"], sites[0]["txt"])


def test_shared_policy_needs_a_domain():
    assert "no domain with MTA-STS is served by mailcow" in str(error_of(deploy.shared_policy, [], "mailcow"))


_LABEL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_LABEL, min_size=1, max_size=6, unique=True),
    st.sampled_from(["enforce", "testing", "none"]),
    st.integers(min_value=0, max_value=31557600),
)
def test_property_every_site_policy_parses_and_sharing_domains_share_an_id(labels, mode, max_age):
    domains = [{"name": "%s.example" % label, "mta_sts": {"mode": mode, "max_age": max_age}} for label in labels]
    sites = deploy.sites(domains, mail_host=MAIL, serving_host=MAIL)
    assert names_of(sites) == [entry["name"] for entry in domains]
    for site in sites:
        verdict = mta_sts.parse_policy(site["policy"])
        assert verdict["valid"], verdict["errors"]
        assert (verdict["mode"], verdict["max_age"]) == (mode, max_age)
    shared = deploy.shared_policy(sites)
    assert {site["id"] for site in sites} == {shared["id"]}


# ----- policy_set and ensure_policy_directory -------------------------------------------------

POLICY_A = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
POLICY_B = "version: STSv1\nmode: testing\nmx: *.example.net\nmax_age: 86400\n"


def test_policy_set_takes_the_sites_output_as_it_is():
    site_list = deploy.sites(
        [{"name": "Bücher.example", "mta_sts": {"mode": "enforce"}}, {"name": "plain.example", "mta_sts": {"mode": "testing"}}],
        mail_host=MAIL,
    )
    assert deploy.policy_set(site_list) == [(site["domain"], site["policy"]) for site in site_list]
    assert deploy.policy_set(site_list)[0][0] == "xn--bcher-kva.example"


def test_policy_set_normalizes_names_and_keeps_texts_byte_for_byte():
    given = [{"domain": "Example.COM.", "policy": POLICY_B}, {"domain": "b\u00fccher.example", "policy": POLICY_A, "id": "ignored"}]
    assert deploy.policy_set(given) == [("example.com", POLICY_B), ("xn--bcher-kva.example", POLICY_A)]
    assert deploy.policy_set([]) == [] == deploy.policy_set(None)


@pytest.mark.parametrize(
    "policies, field, fragment, domain",
    [
        ({"domain": "a.example", "policy": POLICY_A}, "policies", "must be a list", None),
        (["a.example"], "policies[0]", "must be a mapping with a domain, got a string", None),
        ([{"policy": POLICY_A}], "policies[0].domain", "is required", None),
        ([{"domain": "a.example"}], "policies[0].policy", "is required", "a.example"),
        ([{"domain": "a.example", "policy": None}], "policies[0].policy", "is required", "a.example"),
        ([{"domain": "../../etc/cron.d/x", "policy": POLICY_A}], "policies[0].domain", "", None),
        ([{"domain": "a.example/b", "policy": POLICY_A}], "policies[0].domain", "", None),
        ([{"domain": "a.example", "policy": POLICY_A}, {"domain": "A.example.", "policy": POLICY_A}],
         "policies[1].domain", "a.example is already at policies[0]", "a.example"),
        ([{"domain": "a.example", "policy": POLICY_A}, {"domain": "b.example", "policy": "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n"}],
         "policies[1].policy", "is not a valid MTA-STS policy: line 3: '*' alone", "b.example"),
        ([{"domain": "a.example", "policy": ["version: STSv1"]}], "policies[0].policy", "must be the policy text, got a list", "a.example"),
    ],
)
def test_policy_set_refuses_bad_entries_naming_the_entry(policies, field, fragment, domain):
    error = error_of(deploy.policy_set, policies)
    assert error.field == field
    assert fragment in error.reason
    assert error.domain == domain


@pytest.fixture
def policy_dir(tmp_path):
    """A policy directory as a previous run and its admin left it: a retired domain's file, a backup,
    a hidden file, a README, a directory and a link named like policies."""
    directory = tmp_path / "mta-sts"
    directory.mkdir()
    (directory / "retired.example.txt").write_bytes(b"version: STSv1\nmode: none\nmax_age: 1\n")
    (directory / "a.example.txt.123.2026-01-01@00:00:00~").write_bytes(b"a backup")
    (directory / ".hidden.txt").write_bytes(b"hidden")
    (directory / "README").write_bytes(b"notes")
    (directory / "subdir.txt").mkdir()
    (tmp_path / "elsewhere.txt").write_bytes(b"not in the directory")
    os.symlink(str(tmp_path / "elsewhere.txt"), directory / "link.txt")
    return directory


WANTED = [("a.example", POLICY_A), ("b.example", POLICY_B)]
KEPT = [".hidden.txt", "README", "a.example.txt.123.2026-01-01@00:00:00~", "subdir.txt"]


def snapshot(directory):
    return {name: (os.lstat(directory / name).st_ino, os.lstat(directory / name).st_mtime_ns) for name in os.listdir(directory)}


def test_directory_check_mode_predicts_writes_and_removals_and_touches_nothing(policy_dir):
    before = snapshot(policy_dir)
    outcome = deploy.ensure_policy_directory(str(policy_dir), WANTED, prune=True, check_mode=True)
    assert [(item["domain"], item["path"], item["changed"], item["created"], item["before"], item["after"]) for item in outcome["files"]] == [
        ("a.example", str(policy_dir / "a.example.txt"), True, True, "", POLICY_A),
        ("b.example", str(policy_dir / "b.example.txt"), True, True, "", POLICY_B),
    ]
    assert outcome["removed"] == [
        {"path": str(policy_dir / "link.txt"), "before": "not in the directory"},
        {"path": str(policy_dir / "retired.example.txt"), "before": "version: STSv1\nmode: none\nmax_age: 1\n"},
    ]
    assert snapshot(policy_dir) == before


def test_directory_run_writes_prunes_only_stale_policy_files_then_is_unchanged(policy_dir):
    outcome = deploy.ensure_policy_directory(str(policy_dir), WANTED, prune=True)
    assert [item["changed"] for item in outcome["files"]] == [True, True]
    assert [item["path"] for item in outcome["removed"]] == [str(policy_dir / "link.txt"), str(policy_dir / "retired.example.txt")]
    assert sorted(os.listdir(policy_dir)) == sorted(KEPT + ["a.example.txt", "b.example.txt"])
    assert (policy_dir / "a.example.txt").read_bytes() == POLICY_A.encode()
    assert (policy_dir / "b.example.txt").read_bytes() == POLICY_B.encode()
    assert stat.S_IMODE(os.stat(policy_dir / "b.example.txt").st_mode) == 0o644
    # The link's target is outside and stays.
    assert (policy_dir.parent / "elsewhere.txt").read_bytes() == b"not in the directory"

    settled = snapshot(policy_dir)
    again = deploy.ensure_policy_directory(str(policy_dir), WANTED, prune=True)
    assert [item["changed"] for item in again["files"]] == [False, False]
    assert again["removed"] == []
    assert snapshot(policy_dir) == settled


def test_directory_without_prune_removes_nothing_and_changes_only_what_differs(policy_dir):
    (policy_dir / "a.example.txt").write_bytes(POLICY_A.encode())
    inode = os.stat(policy_dir / "a.example.txt").st_ino
    outcome = deploy.ensure_policy_directory(str(policy_dir), WANTED)
    assert [(item["changed"], item["created"]) for item in outcome["files"]] == [(False, False), (True, True)]
    assert outcome["removed"] == []
    assert os.stat(policy_dir / "a.example.txt").st_ino == inode
    assert {"retired.example.txt", "link.txt"} <= set(os.listdir(policy_dir))


def test_directory_backs_up_each_replaced_file(tmp_path):
    (tmp_path / "a.example.txt").write_bytes(b"old a")
    outcome = deploy.ensure_policy_directory(str(tmp_path), WANTED, backup=True)
    backup_a = outcome["files"][0]["backup_file"]
    assert open(backup_a, "rb").read() == b"old a"
    assert outcome["files"][1]["backup_file"] is None
    assert sorted(os.listdir(tmp_path)) == sorted(["a.example.txt", "b.example.txt", os.path.basename(backup_a)])


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_directory_in_the_way_of_one_file_fails_before_any_file_is_written(policy_dir, check_mode):
    (policy_dir / "b.example.txt").mkdir()
    before = snapshot(policy_dir)
    with pytest.raises(files.FileError, match="b.example.txt: is not a regular file"):
        deploy.ensure_policy_directory(str(policy_dir), WANTED, prune=True, check_mode=check_mode)
    assert snapshot(policy_dir) == before


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_missing_policy_directory_fails_in_both_modes(tmp_path, check_mode):
    with pytest.raises(files.FileMissingError, match="nope: is not an existing directory"):
        deploy.ensure_policy_directory(str(tmp_path / "nope"), WANTED, check_mode=check_mode)
    assert os.listdir(tmp_path) == []


@pytest.fixture
def immutable():
    """Mark paths immutable (root can then not remove them); undone after."""
    with immutable_paths() as mark:
        yield mark


def test_a_failure_after_writes_names_the_files_already_changed(policy_dir, immutable):
    immutable(policy_dir / "retired.example.txt")
    with pytest.raises(deploy.PartialWriteError) as caught:
        deploy.ensure_policy_directory(str(policy_dir), WANTED, prune=True)
    error = caught.value
    assert error.path == str(policy_dir / "retired.example.txt")
    assert error.done == [str(policy_dir / "a.example.txt"), str(policy_dir / "b.example.txt"), str(policy_dir / "link.txt")]
    assert "cannot remove: Operation not permitted; 3 other file(s) had already been changed: " in str(error)
    assert isinstance(error, files.FileError)
