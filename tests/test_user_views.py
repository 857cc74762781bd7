"""Where pytest users meet a verdict: JUnit properties, markers and -m, the terminal table,
failure messages in printed units, --claims-checkpoint, and the run history.

Two real plugin runs in one project (parameter counts and the imported miscited claim: no
checkpoint needed, about 10 s each), shared by every test of this module.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.helpers import claims_folder

# Its module-scoped runs are built once: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("user-views")

ROOT = Path(__file__).resolve().parents[1]
OTHER = "someorg/other-model@" + "a" * 40
WRONG = {"id": "card/albert-base/params-wrong",
         "citation": {"source": "model_card", "url": "https://example.invalid/card"},
         "reported": {"value": "13", "metric": "parameter_count", "scale": "millions"},
         "measure": {"kind": "parameter_count", "include_pooler": True,
                     "architecture": {"family": "albert", "config": {
                         "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768, "num_hidden_layers": 12,
                         "num_attention_heads": 12, "intermediate_size": 3072}}},
         "tolerance": {"value": 0, "reason": "a count is exact; this one is printed wrong on purpose"}}


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "CLAIMS_"))}
    env.update(HF_HOME=str(project / "hf"), HF_HUB_CACHE=str(project / "hf" / "hub"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    if "-n" not in args:
        args = ("-n", "0", *args)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    project = tmp_path_factory.mktemp("views")
    claims = project / "claims"
    claims_folder(claims)
    for name in ("table1-parameters.yaml", "imported-seed-verdict.yaml"):
        shutil.copy(ROOT / "claims" / "albert-1909.11942" / name, claims / name)
    (claims / "wrong.yaml").write_text(yaml.safe_dump({"claims": [WRONG]}), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    reports, cache = project / "reports", project / "cache"
    common = ("claims", f"--claims-reports={reports}", f"--claims-cache={cache}", "-rA")
    first = _pytest(project, *common, f"--junitxml={project / 'first.xml'}", "-m", "paper_1909_11942 and not needs_gpu")
    second = _pytest(project, *common, f"--junitxml={project / 'second.xml'}", f"--claims-checkpoint={OTHER}",
                     "-n", "2")   # under xdist: properties travel from the workers with the reports
    markers = _pytest(project, "--markers")
    return {"project": project, "reports": reports, "first": first, "second": second, "markers": markers}


def _cases(xml: Path) -> dict[str, dict[str, str]]:
    out = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        out[case.get("name")] = props
    return out


def test_junit_carries_the_verdict(runs):
    cases = _cases(runs["project"] / "first.xml")
    base = cases["test_claim[1909.11942/table1/albert-base/parameters]"]
    assert base["claim_status"] == "reproduced"
    assert base["claim_measured"] == "11.68M" and base["claim_reported"] == "12M"
    assert base["claim_band"] == "[11.50M, 12.50M]" and base["claim_interval"] == "[11.68M, 11.68M]"
    assert float(base["claim_confidence"]) == 1.0
    assert Path(base["claim_artifact"]).is_file()
    assert json.loads(Path(base["claim_artifact"]).read_text())["claim_id"] == "1909.11942/table1/albert-base/parameters"
    mis = cases["test_claim[1909.11942/table2/albert-base/mrpc-f1]"]
    assert mis["claim_status"] == "miscited" and mis["claim_expected"] == "miscited" and mis["claim_post"] == "blocked"
    assert mis["claim_reported"] == "89.3 %"
    # the big artifact JSON stays off the XML
    assert "claims_artifact" not in (runs["project"] / "first.xml").read_text()


def test_markers_select_and_are_listed(runs):
    first = runs["first"]
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    cases = _cases(runs["project"] / "first.xml")
    assert len(cases) == 7 and not any("card/" in c for c in cases), sorted(cases)
    assert "1 deselected" in first.stdout
    listed = runs["markers"].stdout
    for name in ("needs_gpu:", "source_paper:", "kind_parameter_count:", "paper_1909_11942:",
                 "checkpoint_textattack_albert_base_v2_mrpc:"):
        assert f"@pytest.mark.{name}" in listed, listed[-2000:]


def test_terminal_table_and_failure_message_in_printed_units(runs):
    out = runs["second"].stdout
    assert runs["second"].returncode == 1, out[-3000:]
    line = next(ln for ln in out.splitlines() if ln.startswith("1909.11942/table1/bert-base/parameters "))
    assert "109.48M" in line and "108M; band [107.50M, 108.50M]" in line and "not_reproduced (expected)" in line
    mis = next(ln for ln in out.splitlines() if ln.startswith("1909.11942/table2/albert-base/mrpc-f1 "))
    assert "89.3 %" in mis and "miscited (post: blocked; expected)" in mis
    fail = next(ln for ln in out.splitlines() if ln.startswith("not_reproduced: measured"))
    figures = fail.split(";")[0]   # ours; the rule's own explanation follows
    assert figures.startswith("not_reproduced: measured 11.68M, 95% interval [11.68M, 11.68M], reported 13M, "
                              "band [12.50M, 13.50M]"), fail
    assert "e+07" not in figures


def test_junit_under_xdist(runs):
    cases = _cases(runs["project"] / "second.xml")
    assert len(cases) == 8
    wrong = cases["test_claim[card/albert-base/params-wrong]"]
    assert wrong["claim_status"] == "not_reproduced" and wrong["claim_reported"] == "13M"
    assert cases["test_claim[1909.11942/table2/albert-base/mrpc-f1]"]["claim_status"] == "miscited"


def test_checkpoint_override_is_a_recorded_deviation(runs):
    path = runs["reports"] / "verdicts" / "1909.11942__table2__albert-base__mrpc-f1.json"
    art = json.loads(path.read_text())
    assert art["claim"]["measure"]["checkpoint"]["repo"] == "someorg/other-model"
    devs = [d for d in art["protocol"]["deviations"] if d["what"] == "checkpoint_override"]
    assert devs and devs[0]["here"] == OTHER and art["protocol"]["match"] == "proxy"
    assert "someorg/other-model" in art["verdicts"]["post"]["reason"]   # the override is what was looked for
    params = json.loads((runs["reports"] / "verdicts" / "1909.11942__table1__albert-base__parameters.json").read_text())
    assert not any(d["what"] == "checkpoint_override" for d in params["protocol"]["deviations"])


def test_history_keeps_both_runs_and_the_report_draws_it(runs):
    db = runs["reports"] / "history.sqlite"
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
        rows = con.execute("SELECT measured, status FROM results WHERE claim = ?",
                           ("1909.11942/table1/albert-base/parameters",)).fetchall()
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0][1] == "reproduced" and 11.6e6 < rows[0][0] < 11.7e6
    page = (runs["reports"] / "index.html").read_text()
    assert "history: 2 run(s) recorded" in page
    assert 'alt="measured value with interval over runs"' in page
    assert 'href="https://arxiv.org/abs/1909.11942v6"' in page


def test_progress_line_during_inference(claims_project, tiny_mirror, pytester):
    """With -v, each claim that runs a model shows pairs done and pairs/s (tiny ALBERT, 48 pairs)."""
    from tests.helpers import tiny_claim, write_claims

    write_claims(claims_project, "tiny.yaml", [tiny_claim("tiny/mrpc/f1", size=48)])
    result = pytester.runpytest_subprocess("claims", f"--claims-mirror={tiny_mirror}", "--claims-no-cache",
                                           f"--claims-reports={pytester.path / 'r'}", "--claims-batch-size=8",
                                           "-v", "-n", "0")
    lines = [ln for ln in result.stdout.lines if "tiny/mrpc/f1:" in ln and "pairs/s" in ln]
    assert lines, result.stdout.str()[-3000:]
    assert lines[-1].strip().startswith("tiny/mrpc/f1: 48/48 pairs, ")
    assert float(lines[-1].split(", ")[1].split()[0]) > 0
    # pytest's own line for the case still carries its outcome
    result.stdout.fnmatch_lines(["*test_claim?tiny/mrpc/f1? PASSED*"])


def test_history_marks_library_changes(tmp_path):
    from harness.report import history

    db = tmp_path / "h.sqlite"
    for i, torch in enumerate(("2.12.0", "2.13.0")):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"started": f"2026-01-0{i + 1}T00:00:00+00:00", "claims": [
            {"claim": "a/b", "status": "reproduced", "measured": 0.9, "interval": [0.88, 0.92],
             "reported": 0.9, "band": [0.89, 0.91], "scale": "percent"}]}))
        (folder / "manifest.json").write_text(json.dumps({"packages": {"torch": torch, "transformers": "5.1"}}))
        assert history.record_folder(folder, db) is not None
        assert history.record_folder(folder, db) is None        # a run is recorded once
    points = history.load(db)["a/b"]
    assert [p["versions"]["torch"] for p in points] == ["2.12.0", "2.13.0"]
    assert history.version_changes(points) == [(1, "torch 2.12.0\u21922.13.0")]
