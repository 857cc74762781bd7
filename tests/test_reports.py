"""Reports a person reads: manifest.json, summary.md and a self-contained index.html.

The folder comes from a real plugin run (parameter-count claims and the imported miscited
claim, no checkpoint needed), the catalogue run shared with test_user_views and
test_parameter_claims; the screenshot test renders it in headless Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.manifest import build_manifest, write_manifest
from harness.report.render import STATUS_COLOURS, render
from harness.versions import PACKAGES
from tests.helpers import verdict_artifact
from tests.runs import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "render-report-screenshot.sh"
NASTY = '<script>alert("x&y")</script> \'quoted\' | a|b & <b>bold</b>'


# ---------------------------------------------------------------------- the real run
@pytest.fixture
def real_reports(catalogue_run, tmp_path_factory) -> Path:
    """A copy of the reports folder the plugin wrote in the shared catalogue run's first run
    (table 1's parameter counts and the imported miscited claim; no mirror, an empty HF cache)."""
    assert catalogue_run["first"].ret == 0, catalogue_run["first"].tail()
    copy = tmp_path_factory.mktemp("reports")
    shutil.copytree(catalogue_run["first_reports"], copy, dirs_exist_ok=True)
    return copy


def _artifacts(reports: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((reports / "verdicts").glob("*.json")):
        art = json.loads(path.read_text(encoding="utf-8"))
        out[art["claim_id"]] = art
    return out


# ---------------------------------------------------------------------- HTML reading
class _Page(HTMLParser):
    """Collects tags, the rows of table.claims (cell texts, as a browser joins them: <wbr> and
    inline spans add no space, block elements do) and every img src."""

    INLINE = {"wbr", "span", "a", "b"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.imgs: list[dict] = []
        self.rows: list[list[str]] = []
        self._in_claims = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(a)
        if tag == "table" and "claims" in (a.get("class") or "").split():
            self._in_claims = True
        if self._in_claims and tag == "tr":
            self.rows.append([])
        if self._in_claims and tag == "td":
            self._cell = []
        elif self._cell is not None and tag not in self.INLINE:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table" and self._in_claims:
            self._in_claims = False
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._cell is not None and tag not in self.INLINE:
            self._cell.append(" ")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _claim_rows(page: _Page) -> dict[str, list[str]]:
    """Claim id -> its cells (the first cell starts with the id)."""
    return {cells[0].split()[0]: cells for cells in page.rows if cells}


# ---------------------------------------------------------------------- tests
@CATALOGUE
def test_report_of_a_real_run(real_reports):
    arts = _artifacts(real_reports)
    assert len(arts) == 7, sorted(arts)
    nasty_claim = "1909.11942/table1/albert-base/parameters"
    path = next(p for p in (real_reports / "verdicts").glob("*.json")
                if json.loads(p.read_text())["claim_id"] == nasty_claim)
    art = json.loads(path.read_text())
    art["verdict"]["reason"] = NASTY
    path.write_text(json.dumps(art), encoding="utf-8")
    arts[nasty_claim] = art
    write_manifest(real_reports, build_manifest(["claims", "--claims-reports=r"], "2026-01-01T00:00:00+00:00",
                                                "2026-01-01T00:01:00+00:00", "cpu"))
    (real_reports / "gate.json").write_text(json.dumps({
        "exit_code": 1, "passed": False,
        "failures": [{"claim": "1909.11942/table1/bert-base/parameters", "why": "not_reproduced: <why & how>"}],
        "changes": [], "notes": ["a note with <angle> brackets"], "something_new": {"k": [1, 2]}}))

    out = render(real_reports)
    assert set(out) == {"summary.md", "index.html"}
    assert not list(real_reports.glob(".*.tmp")), "atomic writes leave no temporary files"
    text, md = out["index.html"].read_text(encoding="utf-8"), out["summary.md"].read_text(encoding="utf-8")

    # statuses: the real ones, and the declared miscited claim is miscited with a blocked POST
    assert arts["1909.11942/table2/albert-base/mrpc-f1"]["verdict"]["status"] == "miscited"
    assert arts["1909.11942/table2/albert-base/mrpc-f1"]["verdicts"]["post"]["status"] == "blocked"
    assert {a["verdict"]["status"] for cid, a in arts.items() if "/table1/" in cid} <= {"reproduced", "not_reproduced"}
    page = _parse(text)
    rows = _claim_rows(page)
    assert set(rows) == set(arts)
    for cid, a in arts.items():
        status = a["verdict"]["status"]
        assert rows[cid][1].split()[0] == status, (cid, rows[cid])
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| `{cid}`"))
        assert f"| **{status}**" in line, line
    assert "post: blocked" in rows["1909.11942/table2/albert-base/mrpc-f1"][1]
    assert "citation_mismatch" in rows["1909.11942/table2/albert-base/mrpc-f1"][4]
    # counts at the top agree with the artifacts
    counts: dict[str, int] = {}
    for a in arts.values():
        counts[a["verdict"]["status"]] = counts.get(a["verdict"]["status"], 0) + 1
    for status, n in counts.items():
        assert f"{status}: {n}</span>" in text
        assert f"{n} {status}" in md

    # measured value and band are shown on the row's scale
    base = rows[nasty_claim]
    assert base[2].startswith("11.68M") and "band [11.50M, 12.50M]" in base[3]

    # the plot: inline SVG sized by the page (no image, nothing external, no scripts), one strip per
    # measured claim with its band, placed in percent of the width
    assert "script" not in page.tags and "link" not in page.tags and not page.imgs
    strips = re.findall(r'<div class="prow" data-claim="([^"]+)">.*?<svg class="strip"(.*?)</svg>', text, re.S)
    measured = {cid for cid, a in arts.items() if (a.get("measurement") or {}).get("value") is not None}
    assert measured and {cid for cid, _ in strips} == measured
    for cid, svg in strips:
        band = re.search(r'<rect x="([0-9.]+)%" width="([0-9.]+)%"', svg)
        assert band and 0 <= float(band[1]) and float(band[1]) + float(band[2]) <= 100.01, (cid, svg)
        assert re.search(r'<circle cx="[0-9.]+%"', svg)
    assert not re.search(r'src="(https?:)?//', text)     # nothing loaded from elsewhere; links out are hrefs
    assert 'href="https://arxiv.org/abs/1909.11942v6"' in text
    assert not re.search(r'href="(?!https://|#|verdicts/)', text), "only https, in-page and artifact links"

    # escaping: the reason reads back verbatim, and never as markup
    assert "<script>" not in text and "<b>bold" not in text and "<angle>" not in text
    assert "&lt;script&gt;" in text
    assert base[-1] == " ".join(NASTY.split())
    assert "<script>" not in md and "&lt;script&gt;" in md and "a\\|b" in md

    # gate and manifest are shown
    assert "Gate:" in text and "FAIL" in text and "not_reproduced: &lt;why &amp; how&gt;" in text
    assert "something new" in text.lower() and "## Gate: FAIL (exit 1)" in md
    for key in ("packages.torch", "packages.scikit-learn", "git_commit", "hostname"):
        assert key in text and key in md


def test_manifest_names_versions_without_importing_torch(tmp_path):
    code = ("import json, sys\n"
            "from harness.report.manifest import build_manifest, write_manifest\n"
            "m = build_manifest(['x', 'y'], 'start', None, 'cpu')\n"
            f"write_manifest({str(tmp_path)!r}, m)\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert set(m["packages"]) == set(PACKAGES)
    assert m["packages"]["numpy"] and m["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["command"] == ["x", "y"] and m["started"] == "start" and m["finished"] is None and m["device"] == "cpu"
    assert m["hostname"] and m["platform"]
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", m["git_commit"] or ""), m["git_commit"]


def test_manifest_outside_a_repository_has_no_commit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    m = build_manifest([], "s", "f", None)
    assert m["git_commit"] is None and m["git_dirty"] is None


def test_render_copes_with_an_untidy_folder(tmp_path):
    """No verdicts folder, then a broken file and an artifact the summary does not list."""
    out = render(tmp_path)
    assert "no verdicts in this folder" in out["index.html"].read_text()
    v = tmp_path / "verdicts"
    v.mkdir()
    (v / "broken.json").write_text("{not json")
    (v / "old.json").write_text(json.dumps(verdict_artifact("old/claim", "error", reason="boom",
                                                            protocol={"match": None, "deviations": []})))
    (tmp_path / "summary.json").write_text(json.dumps({"claims": [
        {"claim": "new/claim", "status": "blocked", "reason": "not written", "metric": "f1"}],
        "write_errors": {"new/claim": "OSError: disk full"}}))
    out = render(tmp_path)
    text, md = out["index.html"].read_text(), out["summary.md"].read_text()
    rows = _claim_rows(_parse(text))
    assert set(rows) == {"old/claim", "new/claim"}
    assert "earlier run" in rows["old/claim"][0] and "disk full" in rows["new/claim"][0]
    assert "broken.json" in text and "broken.json" in md
    assert "no manifest.json" in text
    assert "1 claim</span>" in text  # the stale artifact is not counted


WRONG = "card/albert-base/params-wrong"     # tests/runs.py: the card claim printed wrong on purpose
MARK = (0, 255, 0)                            # the probe paints the failing claim's reason in this colour
ALARM = (255, 0, 255)                         # ... and the whole top of the page in this one on a problem
PROBE = """<style>.attention [data-claim="%(claim)s"] .reason { background: #00ff00 !important; }</style>
<script>
document.addEventListener("DOMContentLoaded", function () {
  var problems = [];
  var W = window.innerWidth, H = window.innerHeight;
  if (document.documentElement.scrollWidth > W) problems.push("page scrolls sideways");
  var reason = document.querySelector('.attention [data-claim="%(claim)s"] .reason');
  var band = document.querySelector('.prow[data-claim="%(claim)s"] svg.strip rect');
  [["reason", reason], ["band", band]].forEach(function (pair) {
    if (!pair[1]) { problems.push(pair[0] + " missing"); return; }
    var r = pair[1].getBoundingClientRect();
    if (r.width < 4 || r.height < 4 || r.left < 0 || r.right > W || r.top < 0 || r.bottom > H)
      problems.push(pair[0] + " outside the viewport");
  });
  if (problems.length) {
    var d = document.createElement("div");
    d.style.cssText = "position:fixed;left:0;top:0;width:100%%;height:200px;background:#ff00ff;z-index:99";
    d.textContent = problems.join("; ");
    document.body.appendChild(d);
  }
});
</script>
"""


@pytest.fixture
def failing_reports(catalogue_run, tmp_path_factory) -> Path:
    """A copy of the catalogue's second run (-n 2, two runs in its history): the card claim
    printed wrong on purpose is an unexpected not_reproduced; the rest as in the first run."""
    assert catalogue_run["second"].ret == 1, catalogue_run["second"].tail()
    copy = tmp_path_factory.mktemp("failing-reports")
    shutil.copytree(catalogue_run["reports"], copy, dirs_exist_ok=True)
    return copy


def _near(c, want, tol=6) -> bool:
    return max(abs(a - b) for a, b in zip(c, want)) <= tol


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@CATALOGUE
@pytest.mark.parametrize("size", [(390, 1400), (1280, 900)], ids=["phone-390", "desktop-1280"])
def test_screenshot_of_the_report(failing_reports, tmp_path, size):
    """Headless Chromium at phone and desktop width: the failing claim's reason (painted by a
    probe) and its band in the plot (the band's own colour) are drawn inside the viewport, and
    nothing makes the page scroll sideways (the probe paints an alarm otherwise)."""
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install -y chromium); the screenshot check needs it")
    pytest.importorskip("PIL", reason="Pillow reads the screenshot's pixels")
    from PIL import Image

    from harness.report.plots import BAND_FILL

    width, height = size
    render(failing_reports)
    page = (failing_reports / "index.html").read_text(encoding="utf-8")
    assert f'data-claim="{WRONG}"' in page
    probe = tmp_path / "probe"
    shutil.copytree(failing_reports, probe)
    (probe / "index.html").write_text(page.replace("</body>", PROBE % {"claim": WRONG} + "</body>"), encoding="utf-8")
    shots = {}
    for name, folder in (("page", failing_reports), ("probe", probe)):
        shot = tmp_path / f"{name}-{width}.png"
        proc = subprocess.run(["bash", str(SCRIPT), str(folder), str(shot), f"{width}x{height}"], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        with Image.open(shot) as im:
            assert im.size == (width, height)
            shots[name] = im.convert("RGB")
    plain, probed = (shots[k].getcolors(maxcolors=1 << 22) for k in ("page", "probe"))
    assert plain is not None and len(plain) > 50, "the page looks blank"
    assert not any(_near(c, ALARM, 2) and n > 1000 for n, c in probed), "the probe found a problem: see the shot"
    marked = sum(n for n, c in probed if _near(c, MARK, 2))
    assert marked > 2000, f"the failing claim's reason is not drawn in the first {height} px ({marked} px)"
    band = sum(n for n, c in plain if _near(c, _hex(BAND_FILL), 3))
    assert band > 1500, f"the plot's bands are not drawn in the first {height} px at {width} px wide ({band} px)"
    red = sum(n for n, c in plain if _near(c, _hex(STATUS_COLOURS["not_reproduced"])))
    assert red > 500, "no not_reproduced colour (badge, marker) on the first screen"
