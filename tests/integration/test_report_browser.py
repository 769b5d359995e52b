"""The HTML report as a person sees it, in a real headless browser (Debian's chromium).

playbooks/verify.yml runs against real servers (BIND, nginx, an SMTP server) for three domains: one that
is published, one with a broken SPF record and TLS-RPT switched off in the inventory, and one that does
not exist. Chromium loads the page the role wrote and a few lines of script report what is on screen
(``innerText`` leaves out what a closed <details> hides; a row the filter hides has no layout box).
"""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.mailsec.posture.plugins.module_utils import check_docs, mta_sts
from harness import BindServer, NginxServer, Site, SmtpServer

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "verify.yml")
CHROMIUM = shutil.which("chromium")
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmax_age: 604800\r\n"
# Runs after the page's own script: what is visible, then the filter box typed into, then a fold opened.
OBSERVER = """<script>
(function(){
  function visible(node){return node.offsetParent!==null;}
  function rows(){return Array.prototype.filter.call(document.querySelectorAll('tr[data-domain]'),visible)
                   .map(function(row){return row.getAttribute('data-domain');});}
  var seen={text:document.body.innerText,rows:rows(),
            open:Array.prototype.map.call(document.querySelectorAll('details[data-domain]'),
                 function(node){return [node.getAttribute('data-domain'),node.open];})};
  var find=document.getElementById('find');
  seen.filter_box=find?find.getAttribute('placeholder'):null;
  find.value='bad';find.dispatchEvent(new Event('input'));
  seen.filtered=rows();
  find.value='';find.dispatchEvent(new Event('input'));
  var fold=document.querySelector('details.blocked');
  fold.open=true;
  seen.unfolded=document.body.innerText;
  var out=document.createElement('pre');out.id='observed';out.textContent=JSON.stringify(seen);
  document.body.appendChild(out);
})();
</script>"""

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (tools/bootstrap installs it)")]


@pytest.fixture
def page(test_ca, tmp_path, run_playbook):
    ca_path = str(test_ca.write_ca(tmp_path / "ca.pem"))
    zones = {"good.test": ["@ MX 10 mail.good.test.", '@ TXT "v=spf1 mx -all"', "mail A 127.0.0.1", "mta-sts A 127.0.0.1",
                           '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"',
                           '_mta-sts TXT "v=STSv1; id=%s"' % mta_sts.policy_id(POLICY),
                           '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@good.test"'],
             "bad.test": ["@ MX 10 mail.good.test.", '@ TXT "v=spf1 +all"']}
    with SmtpServer("mail.good.test", test_ca) as smtp, BindServer(zones) as bind, \
            NginxServer([Site("mta-sts.good.test", files={mta_sts.POLICY_PATH: POLICY})], test_ca) as web:
        result = run_playbook(PLAYBOOK, timeout=240, extra_vars={
            "verify_nameservers": ["127.0.0.1:%d" % bind.port], "verify_https_port": web.https_port, "verify_smtp_port": smtp.port,
            "verify_ca_path": ca_path, "verify_timeout": 3, "verify_concurrency": 4, "verify_report_dir": str(tmp_path / "report"),
            "verify_domains": ["good.test", "bad.test", "gone.test"]})
    assert result.rc != 0  # bad.test and gone.test fail
    report = json.loads((tmp_path / "report" / "mailsec-verify.json").read_text())
    html = (tmp_path / "report" / "mailsec-verify.html").read_text()
    observed_page = tmp_path / "observed.html"
    observed_page.write_text(html.replace("</body>", OBSERVER + "</body>"))
    dumped = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--window-size=1400,1000", "--dump-dom", observed_page.as_uri()],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    observed = dumped.split('<pre id="observed">', 1)[1].split("</pre>", 1)[0]
    observed = observed.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return report, json.loads(observed)


def test_a_person_sees_the_fix_the_root_cause_and_the_folds(page):
    report, seen = page
    text = " ".join(seen["text"].split())
    # The fix of a failing check, as docs/checks.md words it, with the link to its section.
    assert [entry["status"] for entry in report["domains"]][1:] == ["fail", "fail"]  # good.test may warn (no DKIM selector known)
    spf_all = next(check for check in report["domains"][1]["checks"] if check["name"] == "spf.all")
    assert spf_all["fix"] == check_docs.CHECKS["spf.all"]["fix"] and spf_all["doc"].endswith("docs/checks.md#the-checks")
    assert " ".join(spf_all["fix"].replace("`", "").split()) in text
    # The domain that does not exist: one line, its blocked checks folded away until the fold is opened.
    gone = report["domains"][2]
    assert gone["domain"] == "gone.test" and gone["root_cause"]["summary"] == "gone.test does not resolve"
    assert "gone.test does not resolve" in text
    assert len(gone["root_cause"]["blocked"]) >= 3
    blocked_detail = next(check["detail"] for check in gone["checks"] if check.get("blocked_by"))
    assert " ".join(blocked_detail.split()) not in text
    assert " ".join(blocked_detail.split()) in " ".join(seen["unfolded"].split())
    # The filter box filters; failing domains start open, the other one closed.
    assert seen["filter_box"] == "filter domains"
    assert seen["rows"] == ["good.test", "bad.test", "gone.test"] and seen["filtered"] == ["bad.test"]
    assert seen["open"] == [["good.test", False], ["bad.test", True], ["gone.test", True]]
