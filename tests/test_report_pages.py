"""What each claim's section says, history that tells runs apart, the interval's level, and
the pages a catalogue of thousands is split into (synthetic artifacts checked against the schema)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report import history
from harness.report.render import PAGE_SIZE, render, rich
from tests.helpers import verdict_artifact

ROOT = Path(__file__).resolve().parents[1]


def _write(folder: Path, arts: list[dict], *, summary: bool = True) -> Path:
    (folder / "verdicts").mkdir(parents=True, exist_ok=True)
    for a in arts:
        (folder / "verdicts" / (a["claim_id"].replace("/", "__") + ".json")).write_text(json.dumps(a))
    if summary:
        from harness.report import summary as sm

        rows = {a["claim_id"]: sm.row(a, None) for a in arts}
        doc = sm.document(rows, started="2026-12-05T21:00:00+00:00", command=["pytest"], write_errors={})
        (folder / "summary.json").write_text(json.dumps(doc))
    return folder


def _blocked(cid: str) -> dict:
    art = verdict_artifact(cid, "blocked", reason="checkpoint org/model@main is not available (looked in: mirror)",
                           claim={"reported": {"value": "89.3", "metric": "f1", "scale": "percent"}})
    art["verdicts"]["post"].update(missing="checkpoint org/model@main", tried=["mirror"])
    art["verdict"].update(missing="checkpoint org/model@main", tried=["mirror"])
    return art


def _score(cid: str, status: str, est: float, iv: list[float], *, level=None, look_level=0.9) -> dict:
    claim = {"reported": {"value": "89.3", "metric": "f1", "scale": "percent"}}
    stats = {"interval": iv, "level": level, "band": {"low": 0.888, "high": 0.898, "reported": 0.893,
                                                      "tolerance": 0.0},
             "looks": [{"n": 100, "interval": iv, "status": status, "estimate": est, "level": look_level}]}
    return verdict_artifact(cid, status, score=est, reason=f"{status} on n = 100", claim=claim, statistics=stats)


def _section(page: str, cid: str) -> str:
    anchor = "claim-" + re.sub(r"[^A-Za-z0-9_-]+", "-", cid)
    m = re.search(rf'<details class="claim" id="{anchor}".*?</details>', page, re.S)
    assert m, f"no section for {cid}"
    return m.group()


def _record(db: Path, tmp: Path, started: str, claims: list[dict]) -> None:
    folder = tmp / f"run-{started.replace(':', '')}"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"started": started, "claims": claims}))
    assert history.record_folder(folder, db) is not None


def test_a_blocked_claims_section_says_why_and_what_next(tmp_path):
    """Nothing measured in three recorded runs: the section repeats the reason and the next step
    and does not promise a plot 'with two runs'."""
    folder = _write(tmp_path / "r", [_blocked("p/blocked")])
    db = folder / "history.sqlite"
    for i in range(3):
        _record(db, tmp_path, f"2026-12-05T21:0{i}:00+00:00",
                [{"claim": "p/blocked", "status": "blocked", "measured": None, "scale": "percent"}])
    page = render(folder)["index.html"].read_text()
    section = _section(page, "p/blocked")
    assert "<b>Why:</b> checkpoint org/<wbr>model<wbr>@main is not available" in section
    assert "<b>Next step:</b> put checkpoint org/<wbr>model<wbr>@main in the mirror" in section
    assert "prefetch" in section
    assert "plot starts with two" not in page and "run(s) recorded; the plot" not in page
    assert "nothing measured in the 3 recorded run(s)" in section
    assert "Slice looks" not in section           # nothing was measured: no empty measurement tables
    md = (folder / "summary.md").read_text()
    assert "next: put checkpoint org/model@main in the mirror" in md


def test_history_tells_two_runs_in_one_minute_apart(tmp_path):
    cid = "p/score"
    folder = _write(tmp_path / "r", [_score(cid, "reproduced", 0.893, [0.889, 0.897])])
    db = folder / "history.sqlite"
    for started, value in (("2026-12-05T21:10:05+00:00", 0.890), ("2026-12-05T21:10:41+00:00", 0.894)):
        _record(db, tmp_path, started, [{"claim": cid, "status": "reproduced", "measured": value,
                                         "interval": [value - 0.004, value + 0.004], "reported": 0.893,
                                         "band": [0.888, 0.898], "scale": "percent"}])
    section = _section(render(folder)["index.html"].read_text(), cid)
    svg = re.search(r'<svg class="hist".*?</svg>', section, re.S).group()
    titles = re.findall(r"<title>(run #\d+, [^<]*)</title>", svg)
    assert titles == ["run #1, 2026-12-05 21:10:05 UTC: reproduced, 89.00 %",
                      "run #2, 2026-12-05 21:10:41 UTC: reproduced, 89.40 %"]
    assert re.findall(r'text-anchor="middle">(#\d)</text>', svg) == ["#1", "#2"]
    xs = [float(x) for x in re.findall(r'<circle cx="([0-9.]+)%"', svg)]
    assert len(xs) == 2 and xs[0] < xs[1]


def test_two_runs_of_one_folder_in_one_second_are_two_runs(tmp_path):
    """A run's start is kept to the millisecond (the history keys runs by start and folder: two
    quick runs into one folder once read as one); pages show it to the second."""
    from harness.report import plots
    from harness.session import ClaimsSession

    started = ClaimsSession(tmp_path / "any", writer=False).started
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", started), started
    folder, db = tmp_path / "r", tmp_path / "history.sqlite"
    folder.mkdir()
    for started in ("2026-12-05T21:10:05.120+00:00", "2026-12-05T21:10:05.870+00:00"):
        (folder / "summary.json").write_text(json.dumps({"started": started, "claims": [
            {"claim": "p/c", "status": "reproduced", "measured": 0.9}]}))
        assert history.record_folder(folder, db) is not None
    assert history.record_folder(folder, db) is None          # the same run again: recorded once
    assert [p["started"] for p in history.load(db)["p/c"]] == ["2026-12-05T21:10:05.120+00:00",
                                                              "2026-12-05T21:10:05.870+00:00"]
    assert plots._when("2026-12-05T21:10:05.870+00:00") == "2026-12-05 21:10:05 UTC"


def test_the_interval_is_shown_at_its_level(tmp_path):
    """statistics.level when the artifact carries it, else the level of the look the verdict used."""
    folder = _write(tmp_path / "r", [_score("p/at-look", "inconclusive", 0.87, [0.84, 0.90], level=None, look_level=0.9),
                                     _score("p/at-stat", "reproduced", 0.893, [0.889, 0.897], level=0.99,
                                            look_level=0.99)])
    page = render(folder)["index.html"].read_text()
    strip = re.search(r'data-claim="p/at-look">.*?</svg>', page, re.S).group()
    assert "at 90 %" in strip and "95" not in strip
    assert "at 99 %" in re.search(r'data-claim="p/at-stat">.*?</svg>', page, re.S).group()
    assert "interval at 90 % or 99 %" in re.sub(r"<[^>]+>", "", page)   # the panel's axis names the levels it draws
    assert "<th>interval level</th><td><span class=\"n\">90 %</span></td>" in _section(page, "p/at-look")


def test_numbers_keep_their_unit_and_words_are_not_split(tmp_path):
    assert str(rich("interval [31.86 %, 61.03 %] on n = 408 at reports/a_b")) == (
        'interval [<span class="n">31.86 %</span>, <span class="n">61.03 %</span>] on n = 408 at '
        "reports/<wbr>a_b")
    assert str(rich("<b>1 %</b>")) == '&lt;/<wbr>b&gt;'.join(['&lt;b&gt;<span class="n">1 %</span>', ""])
    page = render(_write(tmp_path / "r", [_score("p/x", "reproduced", 0.893, [0.889, 0.897])]))["index.html"]
    css = page.read_text().split("</style>")[0]
    assert "anywhere" not in css and "break-all" not in css and "min-width: 720px" not in css
    assert ".n { white-space: nowrap; }" in css


def _catalogue(n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 50 == 7:
            out.append(_score(f"cat/{i:05d}", "not_reproduced", 0.5, [0.45, 0.55]))
        elif i % 10 == 3:
            out.append(_blocked(f"cat/{i:05d}"))
        else:
            out.append(_score(f"cat/{i:05d}", "reproduced", 0.893, [0.889, 0.897]))
    return out


def test_a_large_catalogue_is_paged_with_failures_first(tmp_path):
    n = PAGE_SIZE * 2 + 17
    folder = _write(tmp_path / "r", _catalogue(n))
    out = render(folder)
    assert set(out) == {"summary.md", "index.html", "pages/claims-2.html", "pages/claims-3.html"}
    seen: dict[str, str] = {}
    for name, path in out.items():
        if not name.endswith(".html"):
            continue
        text = path.read_text()
        ids = re.findall(r'<tr data-claim="([^"]+)">', text)
        assert len(ids) <= PAGE_SIZE
        for cid in ids:
            assert cid not in seen, f"{cid} on {seen.get(cid)} and {name}"
            seen[cid] = name
        # every claim listed on a page has its section on that page; links stay inside the folder
        assert all(f'id="claim-cat-{cid[4:]}"' in text for cid in ids)
        if name != "index.html":
            assert 'href="../index.html"' in text and 'href="../verdicts/' in text
            assert "Run manifest" not in text
    assert len(seen) == n
    index = out["index.html"].read_text()
    failing = [f"cat/{i:05d}" for i in range(n) if i % 50 == 7]
    assert all(seen[cid] == "index.html" for cid in failing)
    assert re.findall(r'<a href="(pages/claims-\d\.html)">', index)[:2] == ["pages/claims-2.html",
                                                                            "pages/claims-3.html"]
    assert len(index) < 2_000_000
    # a smaller run into the same folder: the pages it no longer needs are gone
    for path in (folder / "verdicts").glob("*.json"):
        if path.name > "cat__00050":
            path.unlink()
    (folder / "summary.json").unlink()
    assert set(render(folder)) == {"summary.md", "index.html"}
    assert not list((folder / "pages").glob("*.html"))


def test_rendering_imports_no_plotting_library(tmp_path):
    folder = _write(tmp_path / "r", [_score("p/x", "not_reproduced", 0.5, [0.45, 0.55]), _blocked("p/b")])
    code = ("import sys\nfrom pathlib import Path\nfrom harness.report.render import render\n"
            f"render(Path({str(folder)!r}))\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL', 'torch'))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
    assert "<svg" in (folder / "index.html").read_text()


def test_per_example_arrays_are_still_checked_item_by_item():
    """artifacts.validate checks idx and predictions outside jsonschema (the report reads
    thousands of verdicts): a wrong item is refused as before, a right artifact passes."""
    from harness.errors import ArtifactError
    from harness.report import artifacts
    from benchmarks import report_folder

    good = report_folder.score(7)
    assert len(good["measurement"]["idx"]) == 408
    artifacts.validate(good)
    for key, bad in (("idx", "3"), ("idx", True), ("idx", 1.5), ("predictions", None), ("predictions", [1])):
        art = json.loads(json.dumps(good))
        art["measurement"][key][200] = bad
        with pytest.raises(ArtifactError, match="breaks the schema at measurement"):
            artifacts.validate(art)
    art = json.loads(json.dumps(good))
    art["measurement"]["value"] = "high"       # outside the arrays: jsonschema still sees it
    with pytest.raises(ArtifactError, match="breaks the schema"):
        artifacts.validate(art)
