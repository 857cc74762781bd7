"""The whole pipeline through the plugin with a real (tiny) ALBERT and the real MRPC mirror.

-n 0 (in this process) and -n 2 give identical verdicts (timestamps aside); each measurement
equals a plain one-pair-at-a-time loop in a fresh process, scored with scikit-learn. (A missing
checkpoint blocked without network: tests/test_offline.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness import schemas
from harness.report.artifacts import without_volatile
from tests.helpers import claims_folder, read_verdicts, tiny_claim, write_claims
from tests.runs import run_pytest


@pytest.fixture(scope="session")
def reference(tiny_mirror, tmp_path_factory) -> dict:
    """The tiny model's prediction and the gold label of every MRPC validation pair, by idx,
    computed independently (tests.test_pipeline._independent)."""
    return _independent(tiny_mirror, tmp_path_factory.mktemp("reference"))


def _f1(reference: dict, idx: list[int]) -> float:
    """scikit-learn's F1 over the pairs ``idx``, from the independent predictions."""
    from sklearn.metrics import f1_score

    return float(f1_score([reference["gold"][i] for i in idx], [reference["preds"][i] for i in idx], pos_label=1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_mirror, reference) -> dict:
    """The same four claims run -n 0 (in this process) and -n 2 (two workers), into r0 and r2."""
    project = tmp_path_factory.mktemp("pipeline") / "project"
    claims = claims_folder(project / "claims")
    whole_f1 = _f1(reference, sorted(reference["preds"]))
    grow = tiny_claim("tiny/mrpc/f1-grow", size=50, value=f"{whole_f1 * 100:.1f}", tolerance=0)
    grow["measure"]["slice"]["grow"] = True
    write_claims(claims, "tiny.yaml", [
        tiny_claim("tiny/mrpc/f1", size=60),
        tiny_claim("tiny/mrpc/acc", metric="accuracy", size=60),
        tiny_claim("tiny/mrpc/f1-whole", size="all"),
        grow,
    ])
    common = ("claims", f"--claims-mirror={tiny_mirror}", "--claims-no-cache", "-ra")
    serial = run_pytest(project, *common, f"--claims-reports={project / 'r0'}", "-n", "0")
    parallel = run_pytest(project, *common, f"--claims-reports={project / 'r2'}", "-n", "2")
    return {"project": project, "serial": serial, "parallel": parallel}


NAMES = ["tiny__mrpc__acc.json", "tiny__mrpc__f1-grow.json", "tiny__mrpc__f1-whole.json", "tiny__mrpc__f1.json"]


@pytest.mark.xdist_group("pipeline-runs")
def test_serial_and_parallel_runs_agree(runs):
    serial, parallel = runs["serial"], runs["parallel"]
    for run in (serial, parallel):       # every claim is reproduced: each band holds the model's score
        assert run.ret == 0 and run.outcomes() == {"passed": 4}, run.tail()
    assert "2 workers" in parallel.stdout or "created: 2/2 workers" in parallel.stdout
    a, b = read_verdicts(runs["project"] / "r0"), read_verdicts(runs["project"] / "r2")
    assert sorted(a) == sorted(b) == NAMES
    for name in a:
        jsonschema.validate(a[name], schemas.load("verdict"))
        assert a[name]["verdict"]["status"] == "reproduced", (name, a[name]["verdict"])
        assert without_volatile(a[name]) == without_volatile(b[name]), name
    summary = json.loads((runs["project"] / "r2" / "summary.json").read_text())
    assert {r["claim"] for r in summary["claims"]} == {"tiny/mrpc/f1", "tiny/mrpc/acc", "tiny/mrpc/f1-whole",
                                                       "tiny/mrpc/f1-grow"}


@pytest.mark.xdist_group("pipeline-runs")
def test_measurements_match_an_independent_loop(runs, reference):
    a = read_verdicts(runs["project"] / "r0")
    art = a["tiny__mrpc__f1.json"]
    m = art["measurement"]
    assert m["n"] == 60 and len(m["idx"]) == len(m["predictions"]) == 60
    assert art["statistics"]["trivial_baseline"]["value"] > 0
    assert m["predictions"] == [reference["preds"][i] for i in m["idx"]]
    assert m["value"] == pytest.approx(_f1(reference, m["idx"]), abs=1e-12)
    assert len(set(m["predictions"])) == 2, "the tiny model should predict both classes"
    acc = a["tiny__mrpc__acc.json"]["measurement"]
    gold = [reference["gold"][i] for i in acc["idx"]]
    assert acc["predictions"] == [reference["preds"][i] for i in acc["idx"]]
    assert acc["value"] == pytest.approx(sum(p == g for p, g in zip(acc["predictions"], gold)) / 60, abs=1e-12)
    whole = a["tiny__mrpc__f1-whole.json"]
    assert whole["measurement"]["n"] == 408
    assert whole["measurement"]["value"] == pytest.approx(_f1(reference, sorted(reference["preds"])), abs=1e-12)
    assert whole["statistics"]["finite_population"]["factor"] == 0.0
    assert whole["statistics"]["interval"] == [whole["measurement"]["value"]] * 2
    assert whole["protocol"]["match"] == "exact"
    assert [d["what"] for d in art["protocol"]["deviations"]] == ["micro_slice"]
    assert art["protocol"]["match"] == "proxy"


@pytest.mark.xdist_group("pipeline-runs")
def test_growing_slice_looks_again_until_decided(runs, reference):
    _growing_slice_looks_again_until_decided(read_verdicts(runs["project"] / "r0")["tiny__mrpc__f1-grow.json"],
                                             reference)


def _growing_slice_looks_again_until_decided(art, reference):
    """Printed at the model's own whole-split F1 with no tolerance: micro-slices cannot decide,
    so the slice grows (nested, stratified) to the whole split, which can, and every look is listed."""
    st = art["statistics"]
    assert [lk["n"] for lk in st["looks"]] == st["plan"]["sizes"] == [50, 100, 200, 408]
    assert [lk["status"] for lk in st["looks"]] == ["inconclusive"] * 3 + ["reproduced"]
    assert sum(st["plan"]["alphas"]) == pytest.approx(0.05) and st["plan"]["alphas"][-1] == 0.0
    assert [lk["level"] for lk in st["looks"]][:3] == [round(1 - a, 6) for a in st["plan"]["alphas"][:3]]
    assert art["verdict"]["status"] == "reproduced" and art["verdict"]["confidence"] == 1.0
    idx = sorted(reference["preds"])
    m = art["measurement"]
    assert m["n"] == 408 and m["idx"] == idx and m["predictions"] == [reference["preds"][i] for i in idx]
    assert m["value"] == pytest.approx(_f1(reference, idx), abs=1e-12) and m["slice"]["looks"] == 4
    assert st["components"]["run_spread"]["kind"] == "none" and st["band"]["run_margin"] == 0.0


def _independent(mirror: Path, tmp: Path) -> dict:
    """Reference computation in a fresh process: one pair at a time, every validation pair."""
    code = f"""
import json, datasets, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
path = {str(mirror / 'models' / 'tiny' / 'albert-mrpc')!r}
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path).eval()
ds = datasets.load_dataset({str(mirror / 'datasets' / 'nyu-mll' / 'glue')!r}, 'mrpc', split='validation')
preds, gold = {{}}, {{}}
with torch.no_grad():
    for r in ds:
        enc = tok(r['sentence1'], r['sentence2'], truncation=True, max_length=64,
                  return_token_type_ids=True, return_tensors='pt')
        preds[r['idx']] = int(model(**enc).logits.argmax(-1))
        gold[r['idx']] = r['label']
print(json.dumps([preds, gold]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HOME": str(tmp),
                              "HF_HOME": str(tmp / "hf")})
    preds, gold = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(preds) == 408
    return {"preds": {int(k): v for k, v in preds.items()}, "gold": {int(k): v for k, v in gold.items()}}


def test_plugin_import_is_light():
    code = "import sys, harness.plugin; print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.xdist_group("pipeline-runs")
def test_a_slice_that_grows_further_reuses_the_looks_it_took(tiny_mirror, reference, tmp_path):
    """Night 1 stops the growing slice at a 100-pair cap; night 2 lifts the cap: the two looks
    night 1 took come from the cache, only the rest is inferred, and every prediction is the
    one a fresh run makes (the independent loop's)."""
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    grow = tiny_claim("tiny/mrpc/f1-grow", size=50, value=f"{_f1(reference, sorted(reference['preds'])) * 100:.1f}",
                      tolerance=0)
    grow["measure"]["slice"]["grow"] = {"max_pairs": 100}
    write_claims(claims, "tiny.yaml", [grow])
    args = ("claims", f"--claims-mirror={tiny_mirror}", f"--claims-cache={tmp_path / 'cache'}", "-n", "0")
    run_pytest(project, *args, "--claims-reports=night1")
    grow["measure"]["slice"]["grow"] = True
    write_claims(claims, "tiny.yaml", [grow])
    run = run_pytest(project, *args, "--claims-reports=night2")
    assert run.outcomes() == {"passed": 1}, run.tail()
    first, second = (read_verdicts(project / r)["tiny__mrpc__f1-grow.json"] for r in ("night1", "night2"))
    assert [lk["n"] for lk in first["statistics"]["looks"]] == [50, 100]
    assert first["measurement"]["cache"]["hits"] == [False, False]
    assert [lk["n"] for lk in second["statistics"]["looks"]] == [50, 100, 200, 408]
    cache = second["measurement"]["cache"]
    assert cache["hits"] == [True, True, False, False] and cache["keys"][:2] == first["measurement"]["cache"]["keys"]
    assert (cache["rows_reused"], cache["rows_computed"]) == (100, 308)
    m = second["measurement"]
    assert m["predictions"] == [reference["preds"][i] for i in m["idx"]] and m["n"] == 408
    assert second["verdict"]["status"] == "reproduced"
