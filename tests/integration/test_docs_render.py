"""The collection's documentation renders: antsibull-docs writes a page for every module, plugin and role, and
Sphinx (with antsibull-docs' own extension) builds HTML from them without a warning.

The one kind of warning allowed is a reference to documentation outside this collection (ansible.builtin
modules, community.docker, Ansible's common return values and configuration settings): a real docsite
resolves those through intersphinx from docs.ansible.com, which is out of reach here. The Ansible theme
is not installed, so the HTML uses Sphinx's default theme; the pages and the extension are what is tested.
"""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TIMEOUT = 300
SPHINX_CONF = """
project = "mailsec.posture"
root_doc = "collections/index"
extensions = ["sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "alabaster"
"""
OUTSIDE_REFERENCE = re.compile(
    r"WARNING: undefined label: '(ansible_collections\.(?!mailsec\.posture\.)[^']+|common_return_values|"
    r"ansible_configuration_settings)'"
)


def _run(argv, cwd):
    result = subprocess.run(argv, cwd=str(cwd), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, "%s exited %d\n%s\n%s" % (
        " ".join(argv), result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    return result


def documented():
    """``{(name, type)}`` of the collection's modules, lookups, filters (one .yml per filter) and roles."""
    found = set()
    for kind, directory, suffix in (("module", "plugins/modules", ".py"), ("lookup", "plugins/lookup", ".py"),
                                    ("filter", "plugins/filter", ".yml")):
        found |= {(name[:-len(suffix)], kind) for name in os.listdir(os.path.join(ROOT, directory))
                  if name.endswith(suffix) and not name.startswith("_")}
    found |= {(name, "role") for name in os.listdir(os.path.join(ROOT, "roles"))}
    return found


def sphinx_warnings(stderr):
    return [line for line in stderr.splitlines() if "WARNING:" in line or "ERROR:" in line]


def test_the_allowed_warnings_are_only_references_outside_the_collection():
    assert OUTSIDE_REFERENCE.search("x.rst:3: WARNING: undefined label: 'ansible_collections.ansible.builtin.file_module'")
    assert not OUTSIDE_REFERENCE.search("x.rst:3: WARNING: undefined label: 'ansible_collections.mailsec.posture.dns_role'")
    assert not OUTSIDE_REFERENCE.search("x.rst:9: WARNING: Unknown interpreted text role \"ansopt\"")


def test_collection_docs_render_to_html(tmp_path):
    rst = tmp_path / "rst"
    rst.mkdir(mode=0o700)
    bindir = os.path.dirname(sys.executable)
    _run([os.path.join(bindir, "antsibull-docs"), "collection", "--use-current", "--dest-dir", str(rst), "mailsec.posture"],
         cwd=tmp_path)
    pages = rst / "collections" / "mailsec" / "posture"
    missing = [(name, kind) for name, kind in sorted(documented()) if not (pages / ("%s_%s.rst" % (name, kind))).is_file()]
    assert not missing

    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "conf.py").write_text(SPHINX_CONF, encoding="utf-8")
    html = tmp_path / "html"
    result = _run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(conf), str(rst), str(html)], cwd=tmp_path)
    unexpected = [line for line in sphinx_warnings(result.stderr) if not OUTSIDE_REFERENCE.search(line)]
    assert not unexpected
    page = (html / "collections" / "mailsec" / "posture" / "verify_dns_module.html").read_text(encoding="utf-8")
    assert "Verify the mail DNS records of many domains in live DNS" in page
