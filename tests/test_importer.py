"""Importing a reference-format verdict: the seed verdict becomes a claim that the audit catches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.claims.audit import MISMATCH, audit
from harness.claims.importer import import_file
from harness.claims.papers import load_papers
from harness.claims.records import load_file
from harness.errors import ClaimFileError
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]
REVISION = "86655e0ce120f86e1e60ce94a602908bb9a4e128"


@pytest.fixture(scope="session")
def seed_verdict() -> Path:
    shared = Path(os.environ.get("CLAIMS_SHARED", ROOT.parent / "shared"))
    path = shared / "reference" / "seed-verdict-1909.11942.json"
    if not path.is_file():
        pytest.skip(f"the reference seed verdict is not at {path} (set CLAIMS_SHARED)")
    return path


def test_import_maps_the_citation(seed_verdict):
    record = import_file(seed_verdict, revision=REVISION, papers=load_papers(ROOT / "claims"))
    assert record["id"] == "1909.11942/table2/albert-base/mrpc-f1"
    assert record["citation"]["table"] == "Table 2" and record["citation"]["page"] == 7
    assert record["reported"] == {"value": "89.3", "metric": "f1", "scale": "percent"}
    assert record["measure"]["checkpoint"]["repo"] == "textattack/albert-base-v2-MRPC"
    assert record["citation"]["imported_from"]["status"] == "reproduced"


def test_cli_import_then_run_gives_citation_mismatch(seed_verdict, claims_project, pytester):
    out = claims_project / "seed.yaml"
    proc = subprocess.run([sys.executable, "-m", "harness", "import-verdict", str(seed_verdict),
                           "--revision", REVISION, "-o", str(out), "--claims", str(claims_project)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (claim,) = load_file(out, claims_project)
    assert audit(claim, load_papers(claims_project)).status == MISMATCH
    again = subprocess.run([sys.executable, "-m", "harness", "import-verdict", str(seed_verdict),
                            "--revision", REVISION, "-o", str(out), "--claims", str(claims_project)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr

    result = run_pytest(pytester.path, "claims", env={"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None})
    assert result.outcomes() == {"failed": 1}, result.tail()
    art = json.loads((pytester.path / "reports" / "verdicts" /
                      "1909.11942__table2__albert-base__mrpc-f1.json").read_text())
    assert art["verdicts"]["pre"]["status"] == "citation_mismatch"
    assert art["verdict"]["status"] == "miscited"
    assert art["verdicts"]["post"]["status"] == "blocked"   # no checkpoint here
    assert "Table 2 has no MRPC column" in art["verdicts"]["pre"]["reason"]
    result.fnmatch_lines(["*miscited*Table 2 has no MRPC column*"])


def test_bad_verdict_json_names_the_field(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"verdict": {"claim_citation": {"section": "Table 2"}}}))
    with pytest.raises(ClaimFileError, match=r"v\.json.*verdict\.claim_citation\.paper_arxiv_id"):
        import_file(path, revision=REVISION)
    path.write_text("{not json")
    with pytest.raises(ClaimFileError, match="cannot read verdict JSON"):
        import_file(path, revision=REVISION)


def test_import_takes_the_scale_from_the_paper_record_not_the_value(seed_verdict, tmp_path):
    """Bug: "0.893" was read as a fraction by its size, with a 1-point tolerance in percent."""
    data = json.loads(seed_verdict.read_text())
    data["verdict"]["claim_citation"]["reported_value"] = 0.893
    path = tmp_path / "fraction.json"
    path.write_text(json.dumps(data))
    papers = load_papers(ROOT / "claims")
    record = import_file(path, revision=REVISION, papers=papers)
    assert record["reported"]["scale"] == "percent"          # Table 2 prints F1 in percent
    assert record["citation"]["scale_from"].startswith("Table 2")
    with pytest.raises(ClaimFileError, match="pass --scale"):
        import_file(path, revision=REVISION, papers={})       # no record: refused, never guessed
    out = tmp_path / "claims" / "x.yaml"
    out.parent.mkdir()
    import yaml
    out.write_text(yaml.safe_dump({"claims": [dict(record, tolerance={"value": 60, "reason": "far too wide a band"})]}))
    with pytest.raises(ClaimFileError, match=r"x\.yaml.*field 'tolerance\.value'.*would call any model reproduced"):
        load_file(out)
