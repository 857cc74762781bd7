"""Table 1 parameter-count claims run through the plugin (pytester), offline, on the meta device."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema

from harness import schemas

ROOT = Path(__file__).resolve().parents[1]
# Independent figures: AlbertModel with pooler as given in the project's reference notes, and
# bert-base-uncased's well-known 109,482,240 (BertModel with pooler).
KNOWN = {"albert-base": 11_683_584, "bert-base": 109_482_240}


def test_parameter_claims_give_real_verdicts(claims_project, pytester):
    shutil.copy(ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml", claims_project)
    result = pytester.runpytest_subprocess("claims", "-q")
    verdicts = {p.name: json.loads(p.read_text()) for p in (pytester.path / "reports" / "verdicts").glob("*.json")}
    assert len(verdicts) == 6
    for art in verdicts.values():
        jsonschema.validate(art, schemas.load("verdict"))
        assert art["verdicts"]["pre"]["status"] == "citation_verified"
        assert art["measurement"]["device"] == "meta"
        counted = art["measurement"]["value"]
        band = art["statistics"]["band"]
        expected = "reproduced" if band["low"] <= counted <= band["high"] else "not_reproduced"
        assert art["verdict"]["status"] == expected
        assert art["verdict"]["confidence"] == 1.0
    for name, count in KNOWN.items():
        art = verdicts[f"1909.11942__table1__{name}__parameters.json"]
        assert art["measurement"]["value"] == count
    albert_base = verdicts["1909.11942__table1__albert-base__parameters.json"]
    assert albert_base["verdict"]["status"] == "reproduced"
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 6
    summary = json.loads((pytester.path / "reports" / "summary.json").read_text())
    assert [r["claim"] for r in summary["claims"]] == sorted(r["claim"] for r in summary["claims"])
    result.stdout.fnmatch_lines(["*claim verdicts*", "*albert-base/parameters*11.68M*reproduced*"])
