"""The command line a user meets: help and --version, list, check, new, compare, audit and
import-verdict (validated before anything is written). In-process through harness.cli.main;
nothing here imports torch."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from harness.claims.records import load_tree
from harness.cli import main
from harness.report.render import render, safe_url
from tests.helpers import verdict_artifact

ROOT = Path(__file__).resolve().parents[1]
REVISION = "86655e0ce120f86e1e60ce94a602908bb9a4e128"


@pytest.fixture
def catalogue(tmp_path) -> Path:
    root = tmp_path / "claims"
    shutil.copytree(ROOT / "claims", root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def _run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:   # argparse: usage errors, --help, --version
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_and_version(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.startswith("claims-harness ")
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "examples:" in out and "compare" in out and "exit codes" in out
    for command in ("import-verdict", "audit", "merge", "gate", "prefetch", "clear-cache", "list", "check", "new",
                    "compare"):
        code, out, _ = _run(capsys, command, "--help")
        assert code == 0 and "example" in out, command
    code, out, _ = _run(capsys, "audit", "--help")
    assert "claims folder (default: claims)" in out   # positional arguments have help


def _verdict(tmp_path) -> Path:
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps({"verdict": {"id": "v1", "status": "reproduced", "claim_citation": {
        "paper_arxiv_id": "1909.11942", "section": "Table 2", "row": "ALBERT base", "column": "MRPC F1",
        "reported_value": 89.3, "reported_metric": "f1", "pdf_page": 7,
        "notes": "checkpoint `textattack/albert-base-v2-MRPC`"}}}))
    return path


def test_import_verdict_writes_nothing_on_error(tmp_path, capsys):
    src, out = _verdict(tmp_path), tmp_path / "x.yaml"
    code, _, err = _run(capsys, "import-verdict", src, "--revision", REVISION, "--expect", "bogus", "-o", out)
    assert code == 2 and "bogus" in err and not out.exists()
    code, _, err = _run(capsys, "import-verdict", src, "--revision", "main", "-o", out)
    assert code == 2 and "40-hex" in err and not out.exists()
    code, _, err = _run(capsys, "import-verdict", src, "--revision", REVISION, "--max-length", "4", "-o", out)
    assert code == 2 and "max_length" in err and not out.exists()
    assert not list(tmp_path.glob(".*.tmp"))
    code, out_text, _ = _run(capsys, "import-verdict", src, "--revision", REVISION, "--expect", "miscited", "-o", out)
    assert code == 0 and yaml.safe_load(out.read_text())["claims"][0]["expect"] == "miscited"


def test_new_on_a_checkpoint_cites_the_spread_table_that_lists_the_task_or_says_none_does(catalogue, capsys):
    """The run spread of a scaffolded claim follows the catalogue's spread tables, for any task."""
    cell = ("new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 2", "--row", "ALBERT base",
            "--checkpoint", "org/model@main")
    out = catalogue / "mine" / "sst2.yaml"
    code, _, err = _run(capsys, *cell, "--column", "SST-2", "-o", out)
    assert code == 0, err
    assert yaml.safe_load(out.read_text())["claims"][0]["run_spread"] == {"table": "glue-finetuning"}
    out = catalogue / "mine" / "squad.yaml"          # no spread table lists SQuAD: a claim that loads all the same
    code, _, err = _run(capsys, *cell, "--column", "SQuAD1.1", "--metric", "f1", "-o", out)
    assert code == 0, err
    spread = yaml.safe_load(out.read_text())["claims"][0]["run_spread"]
    assert list(spread) == ["unknown"] and "rajpurkar/squad/plain_text, f1" in spread["unknown"], spread
    code, text, _ = _run(capsys, "check", catalogue)
    assert code == 0, text


def test_audit_exit_codes(catalogue, tmp_path, capsys):
    code, out, _ = _run(capsys, "audit", catalogue)
    assert code == 0 and "citation_mismatch (expected)" in out     # the imported claim declares it
    path = catalogue / "albert-1909.11942" / "table1-parameters.yaml"
    path.write_text(path.read_text().replace('reported: {value: "12"}', 'reported: {value: "13"}'))
    code, out, _ = _run(capsys, "audit", catalogue)
    assert code == 1 and "1 unexpected citation mismatch" in out
    code, _, err = _run(capsys, "audit", tmp_path / "nowhere")
    assert code == 2 and "nowhere" in err


def test_audit_fails_a_declared_mismatch_that_no_longer_happens(catalogue, capsys):
    """Strict, as the pytest case is (an xpass fails): a claim that declares expect: miscited
    while its citation now verifies is a stale declaration, not a pass."""
    path = catalogue / "albert-1909.11942" / "table1-parameters.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["claims"][0]["expect"] = "miscited"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, _ = _run(capsys, "audit", catalogue)
    assert code == 1, out
    assert out.count(": citation_verified (declared expect: miscited, which no longer holds)") == 1, out
    assert "0 unexpected citation mismatch(es), 1 declared mismatch(es) no longer found" in out


def test_check_names_file_claim_and_field(catalogue, capsys):
    code, out, _ = _run(capsys, "check", catalogue)
    assert code == 0 and "ok" in out
    bad = catalogue / "albert-1909.11942" / "bad.yaml"
    bad.write_text(yaml.safe_dump({"claims": [{"id": "x/y", "citation": {"source": "model_card", "url": "u"},
                                               "reported": {"value": "1", "metric": "bogus", "scale": "percent"},
                                               "measure": {"kind": "parameter_count", "include_pooler": True,
                                                           "architecture": {"family": "bert", "config": {}}},
                                               "tolerance": {"value": 0, "reason": "long enough reason"}}]}))
    code, out, err = _run(capsys, "check", catalogue)
    assert code == 1 and "1 problem(s)" in out
    assert "bad.yaml" in err and "claim 'x/y'" in err and "field 'reported.metric'" in err


def test_new_scaffolds_a_valid_claim_or_writes_nothing(catalogue, tmp_path, capsys):
    out = catalogue / "mine" / "new.yaml"      # inside the claims folder: `new -o` writes nowhere else
    code, _, err = _run(capsys, "new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 2",
                        "--row", "ALBERT base", "--column", "SQuAD1.1", "-o", out)
    assert code == 2 and "pass --metric" in err and "field 'metric'" in err and not out.exists()
    code, _, err = _run(capsys, "new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 2",
                        "--row", "albert-base", "--column", "SST-2", "--checkpoint", "bad checkpoint", "-o", out)
    assert code == 2 and not out.exists()
    code, msg, err = _run(capsys, "new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 2",
                          "--row", "albert-base", "--column", "SST-2", "-o", out)
    assert code == 0, err
    (record,) = yaml.safe_load(out.read_text())["claims"]
    assert record["reported"] == {"value": "90.3", "metric": "accuracy", "scale": "percent"}
    assert record["citation"]["page"] == 7 and record["citation"]["row"] == "ALBERT base"
    assert record["measure"]["dataset"]["config"] == "sst2"
    code, out_text, _ = _run(capsys, "check", catalogue)
    assert code == 0, out_text
    code, _, err = _run(capsys, "new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 2",
                        "--row", "albert-base", "--column", "SST-2", "-o", catalogue / "again.yaml")
    assert code == 2 and "already" in err and not (catalogue / "again.yaml").exists()
    code, _, err = _run(capsys, "new", "--claims", catalogue, "--paper", "1909.11942", "--table", "Table 1",
                        "--row", "ALBERT base", "--column", "Parameters", "--id", "p/x", "-o", out)
    assert code == 2 and "exists" in err


def _artifact(claim_id: str, status: str, score, expect=None) -> dict:
    claim = {"reported": {"value": "89.3", "metric": "f1", "scale": "percent"},
             "citation": {"source": "model_card", "url": "javascript:alert(1)"}}
    if expect:
        claim["expect"] = expect
    return verdict_artifact(
        claim_id, status, score=score, confidence=0.9, reason="see [x](javascript:alert(1))", claim=claim,
        statistics={"interval": None if score is None else [score - 0.01, score + 0.01], "band": {
            "low": 0.88, "high": 0.90, "reported": 0.893, "tolerance": 0.01},
            "looks": [{"n": 100, "interval": [0.8, 0.95], "status": "inconclusive", "estimate": 0.87,
                       "level": 0.975},
                      {"n": 408, "interval": None, "status": status}],
            "slice_size_needed": 812},
        protocol={"match": "proxy", "deviations": [{"what": "dtype", "source": "float32", "here": "bf16"}]})


def _reports(folder: Path, arts: list[dict]) -> Path:
    (folder / "verdicts").mkdir(parents=True)
    for a in arts:
        (folder / "verdicts" / (a["claim_id"].replace("/", "__") + ".json")).write_text(json.dumps(a))
    return folder


def test_compare_and_list(tmp_path, catalogue, capsys):
    a = _reports(tmp_path / "a", [_artifact("p/one", "reproduced", 0.891), _artifact("p/two", "blocked", None),
                                  _artifact("p/three", "not_reproduced", 0.5, expect="not_reproduced")])
    b = _reports(tmp_path / "b", [_artifact("p/one", "reproduced", 0.892), _artifact("p/two", "reproduced", 0.89),
                                  _artifact("p/three", "not_reproduced", 0.5, expect="not_reproduced")])
    code, out, _ = _run(capsys, "compare", a, b)
    assert code == 0 and "0 regression(s)" in out and "89.10 %" in out and "89.20 %" in out
    c = _reports(tmp_path / "c", [_artifact("p/one", "not_reproduced", 0.8), _artifact("p/two", "blocked", None)])
    code, out, _ = _run(capsys, "compare", a, c)
    assert code == 1 and "REGRESSION: reproduced -> not_reproduced" in out and "missing in B" in out
    assert "2 regression(s)" in out
    code, out, _ = _run(capsys, "list", catalogue, "--reports", tmp_path / "none", "--marker", "needs_gpu", "--json")
    rows = json.loads(out)
    # QQP's 40k pairs at base size, SQuAD v2.0's 11,873 questions at xlarge size, and Table 2's
    # whole SQuAD splits (10,570 and 11,873 questions) whatever the model's size
    listed = [r["claim"] for r in rows]
    assert listed[-3:] == ["model-card/ktrapeznikov-albert-xlarge-v2-squad-v2/squad20-em",
                           "model-card/ktrapeznikov-albert-xlarge-v2-squad-v2/squad20-f1",
                           "model-card/textattack-albert-base-v2-qqp/qqp-acc"]
    assert listed[:-3] and all(c.startswith("1909.11942/table2/") and "/squad" in c for c in listed[:-3]), listed
    assert not any("mrpc" in c or "/table1/" in c for c in listed)
    code, out, _ = _run(capsys, "list", catalogue, "--reports", tmp_path / "none", "--paper", "1909.11942",
                        "--kind", "parameter_count")
    total = len(load_tree(catalogue))
    assert code == 0 and f"6 of {total} claims" in out and "12M" in out and "not run" in out


def test_report_drops_unsafe_links_and_shows_the_detail(tmp_path):
    folder = _reports(tmp_path / "r", [_artifact("p/one", "reproduced", 0.891)])
    out = render(folder)
    md, page = out["summary.md"].read_text(), out["index.html"].read_text()
    assert not re.search(r"(?<!\\)\]\(<?javascript:", md) and "\\[x\\]" in md
    assert 'href="javascript:' not in page.lower()
    assert "[x](javascript:alert(1))" in page          # shown as text, escaped by the template
    assert "slice size that would decide" not in page    # decided: no slice size is offered
    assert "<td>87.00 %</td><td>[80.00 %, 95.00 %] at 97.5 %</td><td>inconclusive</td>" in page and "dtype: bf16 (source: float32)" in page
    assert safe_url("https://arxiv.org/abs/1909.11942v6") and safe_url("verdicts/a.json")
    assert not any(safe_url(u) for u in ("javascript:alert(1)", "JavaScript:x", "data:text/html,x", "//evil.example",
                                         " java\nscript:x", "vbscript:x"))


def test_an_earlier_runs_gate_is_not_shown_as_this_runs(tmp_path):
    folder = _reports(tmp_path / "r", [_artifact("p/one", "reproduced", 0.891)])
    gate = folder / "gate.json"
    gate.write_text(json.dumps({"exit_code": 0, "passed": True}))
    os.utime(gate, (1_700_000_000, 1_700_000_000))          # 2023: before the run below
    (folder / "summary.json").write_text(json.dumps({"started": "2026-01-01T00:00:00+00:00", "claims": []}))
    page = render(folder)["index.html"].read_text()
    assert "Gate:" not in page and "gate.json predates this run" in page
    (folder / "summary.json").write_text(json.dumps({"started": "2020-01-01T00:00:00+00:00", "claims": []}))
    page = render(folder)["index.html"].read_text()
    assert "Gate:" in page and "PASS" in page


def test_inconclusive_row_names_the_slice_size_that_would_decide(tmp_path):
    folder = _reports(tmp_path / "r", [_artifact("p/one", "inconclusive", 0.895)])
    out = render(folder)
    md = out["summary.md"].read_text()
    line = next(ln for ln in md.splitlines() if ln.startswith("| `p/one`"))
    assert "slice size that would decide: 812" in line and "89.50 % \\[88.50 %, 90.50 %\\]" in line
    page = out["index.html"].read_text()
    assert "slice size that would decide" in page and "812" in page


def test_needs_gpu_counts_a_whole_split_by_its_dataset_and_an_unknown_one_as_large(tmp_path):
    """A whole SQuAD v1.1 split (10,570 questions) on a base checkpoint needs a GPU; it read as 0
    pairs when only GLUE's sizes were known. MRPC's whole split (408) does not; a split of a size
    the harness does not know counts as large."""
    from harness.claims.records import Claim
    from harness.plugin_reporting import needs_gpu
    from tests.helpers import tiny_claim

    def claim(repo, config):
        rec = tiny_claim(size="all")
        rec["measure"]["dataset"].update(repo=repo, config=config)
        return Claim(id="t/c", record=rec, path=str(tmp_path / "c.yaml"), root=str(tmp_path))

    assert not needs_gpu(claim("nyu-mll/glue", "mrpc"))
    assert needs_gpu(claim("nyu-mll/glue", "qqp"))
    assert needs_gpu(claim("rajpurkar/squad", "plain_text"))
    assert needs_gpu(claim("someorg/unknown-set", "default"))
