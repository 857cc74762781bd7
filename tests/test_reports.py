"""Reports a person reads: manifest.json, summary.md and a self-contained index.html.

The folder comes from a real plugin run (parameter-count claims and the imported miscited
claim, no checkpoint needed), the catalogue run shared with test_user_views and
test_parameter_claims; the screenshot test renders it in headless Chromium.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
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
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
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
    """Collects tags, the rows of table.claims (cell texts) and every img src."""

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

    def handle_endtag(self, tag):
        if tag == "table" and self._in_claims:
            self._in_claims = False
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data + " ")


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _claim_rows(page: _Page) -> dict[str, list[str]]:
    """Claim id -> its cells (the first cell starts with the id)."""
    return {cells[0].split()[0]: cells for cells in page.rows if cells}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


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

    # the plot: one inline PNG, nothing external, no scripts
    assert "script" not in page.tags and "link" not in page.tags
    assert len(page.imgs) == 1
    src = page.imgs[0]["src"]
    assert src.startswith("data:image/png;base64,")
    width, height = _png_size(base64.b64decode(src.split(",", 1)[1], validate=True))
    assert width > 600 and height > 300
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


@CATALOGUE
@pytest.mark.parametrize("width", [390, 1280])
def test_screenshot_of_the_report(real_reports, tmp_path, width):
    """At phone width the claims table becomes one card per claim; nothing overflows sideways."""
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install -y chromium); the screenshot check needs it")
    pytest.importorskip("PIL", reason="Pillow reads the screenshot's pixels")
    from PIL import Image

    render(real_reports)
    shot = tmp_path / "shot.png"
    proc = subprocess.run(["bash", str(SCRIPT), str(real_reports), str(shot), f"{width}x2000"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with Image.open(shot) as im:
        assert im.size == (width, 2000)
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        # the right-most tenth of the page: ink there at phone width means text ran off a wrapped column
        right = rgb.crop((int(width * 0.97), 0, width, 2000)).getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 100, "the page looks blank"
    inked = sum(n for n, c in colours if sum(c) < 600)
    assert inked > 0.01 * width * 2000, "almost nothing drawn"
    present = {c for _, c in colours}
    wanted = ("reproduced", "not_reproduced", "miscited") if width > 1000 else ("reproduced",)
    for status in wanted:
        want = tuple(int(STATUS_COLOURS[status][i:i + 2], 16) for i in (1, 3, 5))
        assert any(max(abs(a - b) for a, b in zip(c, want)) <= 6 for c in present), f"no {status} badge colour"
    if width < 500:
        dark = sum(n for n, c in right if sum(c) < 300)
        assert dark < 0.002 * (width * 0.03) * 2000, f"text runs into the right edge at {width}px ({dark} dark px)"
        page = (real_reports / "index.html").read_text()
        assert "@media (max-width: 720px)" in page and 'data-label="measured"' in page
