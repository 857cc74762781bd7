"""The whole pipeline through the plugin with a real (tiny) ALBERT and the real MRPC mirror.

-n 0 and -n 2 give identical verdicts (timestamps aside); the artifact's F1 equals a plain
one-pair-at-a-time loop with scikit-learn; a missing checkpoint is blocked without network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness import schemas
from harness.report.artifacts import without_volatile
from tests.helpers import NET_AUDIT_HOOK, read_verdicts, tiny_claim, write_claims


def _run(pytester, mirror: Path, reports: Path, *args):
    return pytester.runpytest_subprocess("claims", f"--claims-mirror={mirror}", f"--claims-reports={reports}",
                                         "--claims-no-cache", "-ra", *args)


@pytest.fixture(scope="session")
def whole_split(tiny_mirror):
    """The tiny model's predictions and F1 on every MRPC validation pair, computed independently."""
    import datasets

    idx = sorted(datasets.load_dataset(str(tiny_mirror / "datasets" / "nyu-mll" / "glue"), "mrpc",
                                       split="validation")["idx"])
    preds, f1 = _independent(tiny_mirror, idx)
    return idx, preds, f1


@pytest.fixture
def tiny_claims(claims_project, whole_split):
    grow = tiny_claim("tiny/mrpc/f1-grow", size=50, value=f"{whole_split[2] * 100:.1f}", tolerance=0)
    grow["measure"]["slice"]["grow"] = True
    write_claims(claims_project, "tiny.yaml", [
        tiny_claim("tiny/mrpc/f1", size=60),
        tiny_claim("tiny/mrpc/acc", metric="accuracy", size=60),
        tiny_claim("tiny/mrpc/f1-whole", size="all"),
        grow,
    ])
    return claims_project


def test_serial_and_parallel_runs_agree_and_match_an_independent_loop(tiny_claims, tiny_mirror, whole_split,
                                                                     pytester):
    serial = _run(pytester, tiny_mirror, pytester.path / "r0", "-n", "0")
    parallel = _run(pytester, tiny_mirror, pytester.path / "r2", "-n", "2")
    a, b = read_verdicts(pytester.path / "r0"), read_verdicts(pytester.path / "r2")
    assert sorted(a) == sorted(b) == ["tiny__mrpc__acc.json", "tiny__mrpc__f1-grow.json", "tiny__mrpc__f1-whole.json",
                                      "tiny__mrpc__f1.json"]
    for name in a:
        jsonschema.validate(a[name], schemas.load("verdict"))
        assert without_volatile(a[name]) == without_volatile(b[name]), name
    assert "2 workers" in parallel.stdout.str() or "created: 2/2 workers" in parallel.stdout.str()
    assert serial.ret in (0, 1)

    art = a["tiny__mrpc__f1.json"]
    m = art["measurement"]
    assert m["n"] == 60 and len(m["idx"]) == len(m["predictions"]) == 60
    assert art["statistics"]["trivial_baseline"]["value"] > 0
    expected_preds, expected_f1 = _independent(tiny_mirror, m["idx"])
    assert m["predictions"] == expected_preds
    assert m["value"] == pytest.approx(expected_f1, abs=1e-12)
    assert len(set(m["predictions"])) == 2, "the tiny model should predict both classes"
    whole = a["tiny__mrpc__f1-whole.json"]
    assert whole["measurement"]["n"] == 408
    assert whole["statistics"]["finite_population"]["factor"] == 0.0
    assert whole["statistics"]["interval"] == [whole["measurement"]["value"]] * 2
    assert whole["protocol"]["match"] == "exact"
    assert [d["what"] for d in art["protocol"]["deviations"]] == ["micro_slice"]
    assert art["protocol"]["match"] == "proxy"
    summary = json.loads((pytester.path / "r2" / "summary.json").read_text())
    assert {r["claim"] for r in summary["claims"]} == {"tiny/mrpc/f1", "tiny/mrpc/acc", "tiny/mrpc/f1-whole",
                                                       "tiny/mrpc/f1-grow"}


    _growing_slice_looks_again_until_decided(a["tiny__mrpc__f1-grow.json"], whole_split)


def _growing_slice_looks_again_until_decided(art, whole_split):
    """Printed at the model's own whole-split F1 with no tolerance: micro-slices cannot decide,
    so the slice grows (nested, stratified) to the whole split, which can, and every look is listed."""
    st = art["statistics"]
    assert [lk["n"] for lk in st["looks"]] == st["plan"]["sizes"] == [50, 100, 200, 408]
    assert [lk["status"] for lk in st["looks"]] == ["inconclusive"] * 3 + ["reproduced"]
    assert sum(st["plan"]["alphas"]) == pytest.approx(0.05) and st["plan"]["alphas"][-1] == 0.0
    assert [lk["level"] for lk in st["looks"]][:3] == [round(1 - a, 6) for a in st["plan"]["alphas"][:3]]
    assert art["verdict"]["status"] == "reproduced" and art["verdict"]["confidence"] == 1.0
    idx, preds, f1 = whole_split
    m = art["measurement"]
    assert m["n"] == 408 and m["idx"] == idx and m["predictions"] == preds
    assert m["value"] == pytest.approx(f1, abs=1e-12) and m["slice"]["looks"] == 4
    assert st["components"]["run_spread"]["kind"] == "none" and st["band"]["run_margin"] == 0.0


def _independent(mirror: Path, idx: list[int]):
    """Reference computation in a fresh process: one pair at a time, sklearn's F1."""
    code = f"""
import json, datasets, torch
from sklearn.metrics import f1_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer
path = {str(mirror / 'models' / 'tiny' / 'albert-mrpc')!r}
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path).eval()
ds = datasets.load_dataset({str(mirror / 'datasets' / 'nyu-mll' / 'glue')!r}, 'mrpc', split='validation')
rows = {{r['idx']: r for r in ds}}
preds, gold = [], []
with torch.no_grad():
    for i in {idx!r}:
        r = rows[i]
        enc = tok(r['sentence1'], r['sentence2'], truncation=True, max_length=64,
                  return_token_type_ids=True, return_tensors='pt')
        preds.append(int(model(**enc).logits.argmax(-1)))
        gold.append(r['label'])
print(json.dumps([preds, f1_score(gold, preds, pos_label=1)]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    preds, f1 = json.loads(out.stdout.strip().splitlines()[-1])
    return preds, f1




def test_missing_checkpoint_is_blocked_without_network(claims_project, mrpc_mirror, pytester, tmp_path, monkeypatch):
    write_claims(claims_project, "missing.yaml", [tiny_claim("tiny/missing", repo="nobody/no-such-model")])
    (pytester.path / "conftest.py").write_text(NET_AUDIT_HOOK)
    log = tmp_path / "net.log"
    monkeypatch.setenv("CLAIMS_NET_LOG", str(log))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    result = _run(pytester, mrpc_mirror, pytester.path / "reports")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*blocked*nobody/no-such-model@0000000000000000000000000000000000000000*"])
    art = read_verdicts(pytester.path / "reports")["tiny__missing.json"]
    jsonschema.validate(art, schemas.load("verdict"))
    assert art["verdict"]["status"] == "blocked"
    assert "nobody/no-such-model" in art["verdict"]["missing"]
    assert any("mirror" in t for t in art["verdict"]["tried"])
    assert not log.exists() or log.read_text() == "", log.read_text()


def test_plugin_import_is_light():
    code = "import sys, harness.plugin; print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
