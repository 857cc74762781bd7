"""Faults in one claim never cost the others their verdicts.

Each test is one claims run (a pytester subprocess) with two or more claims, one of them hit
by a fault: an exception inside the measurement, a truncated weights file, NaN logits, an
artifact path that refuses the write, a worker that dies. The faulty claim gets an honest
``error`` artifact (or, for the refused write, a NOT WRITTEN line and a summary entry);
every other artifact is written and valid against the verdict schema.

Broken checkpoints are copies of the session's tiny ALBERT, broken in a tmp mirror that
links the shared datasets, so nothing is rebuilt and nothing is downloaded.

Worker crashes and pytest-xdist 3.8.0: LoadScopeScheduling (under loadgroup, the plugin's
default for -n N) re-queues a dead worker's whole workload, the crashed test still pending
and finished units too (pytest-xdist #1323, #1327, #1371, #1378); harness/plugin_xdist.py marks
the crashed test done and drops finished units first. Every run here has a timeout so a hung
session fails the test instead of the suite.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from harness import schemas
from tests.helpers import claims_folder, read_verdicts, tiny_claim, write_claims

ROOT = Path(__file__).resolve().parents[1]
TINY = Path("models") / "tiny" / "albert-mrpc"


def _mirror(tmp_path: Path, tiny_mirror: Path, *broken: str) -> Path:
    """A mirror whose datasets and tiny/albert-mrpc are links to the session's, plus copies
    of the tiny model at tiny/<name> for each name in ``broken`` (to be broken by the test)."""
    mirror = tmp_path / "mirror"
    (mirror / "models" / "tiny").mkdir(parents=True)
    (mirror / "datasets").symlink_to(tiny_mirror / "datasets", target_is_directory=True)
    (mirror / TINY).symlink_to(tiny_mirror / TINY, target_is_directory=True)
    for name in broken:
        shutil.copytree(tiny_mirror / TINY, mirror / "models" / "tiny" / name)
    return mirror


RUN_TIMEOUT = 240   # seconds; a run takes 15-40 s here (imports dominate), a hung xdist session never ends


def _run(pytester, mirror: Path, *args, timeout: float = RUN_TIMEOUT):
    reports = pytester.path / "reports"
    try:
        result = pytester.runpytest_subprocess("claims", f"--claims-mirror={mirror}", f"--claims-reports={reports}",
                                               "--claims-no-cache", "-p", "no:cacheprovider", "-ra", *args,
                                               timeout=timeout)
    except pytester.TimeoutExpired:
        written = sorted(p.name for p in (reports / "verdicts").glob("*.json"))
        pytest.fail(f"the claims run hung (killed after {timeout:.0f}s); verdicts written before: {written}",
                    pytrace=False)
    return result, reports


def _valid(reports: Path, expected: list[str], ignore_dirs: bool = False) -> dict[str, dict]:
    """Every artifact written, by name, each valid against the verdict schema."""
    arts = read_verdicts(reports) if not ignore_dirs else {
        p.name: json.loads(p.read_text()) for p in sorted((reports / "verdicts").glob("*.json")) if p.is_file()}
    assert sorted(arts) == sorted(expected), sorted(arts)
    schema = schemas.load("verdict")
    for name, art in arts.items():
        jsonschema.validate(art, schema)
    return arts


def _summary(reports: Path) -> dict:
    return json.loads((reports / "summary.json").read_text())


def _assert_fine(art: dict) -> None:
    v = art["verdict"]
    assert v["status"] == "reproduced", v
    assert art["measurement"]["n"] == 40


@pytest.fixture(autouse=True)
def _no_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.delenv("CLAIMS_DOWNLOAD", raising=False)


# ---------------------------------------------------------------------- one run, four faults
@pytest.fixture(scope="module")
def faults_run(tmp_path_factory, tiny_mirror):
    """One claims run shared by the fault tests: a fine claim beside an exception inside a claim
    (a positive label the dataset lacks; a model whose labels are not the dataset's), a truncated
    weights file, NaN logits, and an artifact path that refuses the write."""
    import subprocess
    import sys

    import torch
    from safetensors.torch import load_file, save_file

    tmp = tmp_path_factory.mktemp("faults")
    mirror = _mirror(tmp, tiny_mirror, "albert-other-labels", "albert-truncated", "albert-nan")
    models = mirror / "models" / "tiny"
    config = json.loads((models / "albert-other-labels" / "config.json").read_text())
    config["id2label"] = {"0": "negative", "1": "positive"}
    config["label2id"] = {"negative": 0, "positive": 1}
    (models / "albert-other-labels" / "config.json").write_text(json.dumps(config))
    weights = models / "albert-truncated" / "model.safetensors"
    with weights.open("r+b") as fh:
        fh.truncate(weights.stat().st_size // 2)
    weights = models / "albert-nan" / "model.safetensors"
    tensors = load_file(str(weights))
    assert "classifier.weight" in tensors, sorted(tensors)
    tensors["classifier.weight"] = torch.full_like(tensors["classifier.weight"], float("nan"))
    save_file(tensors, str(weights), metadata={"format": "pt"})

    project = tmp / "project"
    claims = project / "claims"
    claims_folder(claims)
    bad_label = tiny_claim("tiny/bad-positive-label", size=40)
    bad_label["measure"]["dataset"]["positive_label"] = "paraphrase"
    write_claims(claims, "faults.yaml", [
        tiny_claim("tiny/fine", size=40), bad_label,
        tiny_claim("tiny/other-labels", repo="tiny/albert-other-labels", size=40),
        tiny_claim("tiny/truncated", repo="tiny/albert-truncated", size=40),
        tiny_claim("tiny/nan", repo="tiny/albert-nan", size=40),
        tiny_claim("tiny/write-refused", size=40),
    ])
    reports = project / "reports"
    blocker = reports / "verdicts" / "tiny__write-refused.json"
    blocker.mkdir(parents=True)                  # os.replace(tmp, blocker) fails: it is a directory
    (blocker / "keep").write_text("x")
    env = {**os.environ, "HF_HOME": str(tmp / "empty-hf-home")}
    env.pop("CLAIMS_DOWNLOAD", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "claims", f"--claims-mirror={mirror}",
                             f"--claims-reports={reports}", "--claims-no-cache", "-p", "no:cacheprovider", "-ra"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return {"out": result.stdout, "ret": result.returncode, "reports": reports, "blocker": blocker}


FAULT_ARTIFACTS = ["tiny__bad-positive-label.json", "tiny__fine.json", "tiny__nan.json", "tiny__other-labels.json",
                   "tiny__truncated.json", "tiny__write-refused.json"]


@pytest.mark.xdist_group("faults-run")
def test_exception_in_one_claim_is_an_error_verdict(faults_run):
    reports = faults_run["reports"]
    assert "4 failed, 2 passed" in faults_run["out"], faults_run["out"]   # fine and write-refused pass (not written)
    arts = _valid(reports, [a for a in FAULT_ARTIFACTS if a != "tiny__write-refused.json"], ignore_dirs=True)
    _assert_fine(arts["tiny__fine.json"])
    v = arts["tiny__bad-positive-label.json"]["verdict"]
    assert v["status"] == "error" and v["confidence"] is None
    assert "positive_label 'paraphrase' is not a label of nyu-mll/glue" in v["reason"], v["reason"]
    v = arts["tiny__other-labels.json"]["verdict"]
    assert v["status"] == "error"
    assert v["reason"].startswith("MeasurementError: "), v["reason"]
    assert "'negative' is not a dataset label" in v["reason"], v["reason"]
    statuses = {r["claim"]: r["status"] for r in _summary(reports)["claims"]}
    assert statuses == {"tiny/fine": "reproduced", "tiny/bad-positive-label": "error", "tiny/other-labels": "error",
                        "tiny/truncated": "error", "tiny/nan": "error", "tiny/write-refused": "reproduced"}


@pytest.mark.xdist_group("faults-run")
def test_truncated_weights_are_an_error_naming_the_checkpoint(faults_run):
    """safetensors' own exception becomes the MeasurementError that names the checkpoint."""
    v = json.loads((faults_run["reports"] / "verdicts" / "tiny__truncated.json").read_text())["verdict"]
    assert v["status"] == "error", v
    assert "deserializ" in v["reason"].lower(), v["reason"]          # the cause, as safetensors states it
    assert "cannot load checkpoint tiny/albert-truncated" in v["reason"], v["reason"]
    assert not v["reason"].startswith("unexpected"), v["reason"]


@pytest.mark.xdist_group("faults-run")
def test_nan_logits_are_an_error(faults_run):
    art = json.loads((faults_run["reports"] / "verdicts" / "tiny__nan.json").read_text())
    v = art["verdict"]
    assert v["status"] == "error" and v["score"] is None
    assert "non-finite logits for 40 of 40 examples" in v["reason"], v["reason"]
    assert art["measurement"] is None
    out = faults_run["out"]
    assert "test_claim[tiny/nan]" in out and "error: " in out and "non-finite logits for 40 of 40 examples" in out


@pytest.mark.xdist_group("faults-run")
def test_refused_write_is_reported_and_the_rest_are_written(faults_run):
    reports, blocker = faults_run["reports"], faults_run["blocker"]
    verdicts = reports / "verdicts"
    assert sorted(p.name for p in verdicts.iterdir()) == FAULT_ARTIFACTS, "no temporary file may be left behind"
    assert blocker.is_dir() and [p.name for p in blocker.iterdir()] == ["keep"]
    summary = _summary(reports)
    assert set(summary["write_errors"]) == {"tiny/write-refused"}
    err = summary["write_errors"]["tiny/write-refused"]
    assert "IsADirectoryError" in err or "directory" in err.lower(), err
    rows = {r["claim"]: r for r in summary["claims"]}
    assert rows["tiny/fine"]["artifact"] == "verdicts/tiny__fine.json"
    assert rows["tiny/write-refused"]["artifact"] is None and rows["tiny/write-refused"]["status"] == "reproduced"
    assert "NOT WRITTEN tiny/write-refused: " in faults_run["out"]
    assert "NOT WRITTEN tiny/fine" not in faults_run["out"]
    assert faults_run["ret"] != 0


# ---------------------------------------------------------------------- a worker that dies
CRASH_CONFTEST = '''
import os

import pytest


@pytest.fixture(autouse=True)
def _die_on_crash_claims(request):
    if os.environ.get("PYTEST_XDIST_WORKER") and "crash" in request.node.nodeid:
        os._exit(1)
    yield
'''


def test_crashed_worker_gives_an_error_verdict_and_the_rest_are_written(claims_project, tiny_mirror, pytester,
                                                                         tmp_path):
    (pytester.path / "conftest.py").write_text(CRASH_CONFTEST)
    fine = ["tiny/a-fine", "tiny/c-fine", "tiny/d-fine", "tiny/e-fine"]
    ids = [fine[0], "tiny/b-crash", *fine[1:]]           # the crash in the middle of its group
    write_claims(claims_project, "faults.yaml", [tiny_claim(i, size=40) for i in ids])
    result, reports = _run(pytester, _mirror(tmp_path, tiny_mirror), "-n", "2")
    out = result.stdout.str()
    arts = _valid(reports, sorted(i.replace("/", "__") + ".json" for i in [*fine, "tiny/b-crash"]))
    for i in fine:
        _assert_fine(arts[i.replace("/", "__") + ".json"])
    crashed = arts["tiny__b-crash.json"]
    v = crashed["verdict"]
    assert v["status"] == "error", v
    assert "worker" in v["reason"].lower() and "crash" in v["reason"].lower(), v["reason"]
    assert crashed["claim_id"] == "tiny/b-crash" and crashed["measurement"] is None
    summary = _summary(reports)
    assert {r["claim"]: r["status"] for r in summary["claims"]} == {**dict.fromkeys(fine, "reproduced"),
                                                                     "tiny/b-crash": "error"}
    assert summary["write_errors"] == {}
    assert result.ret != 0
    assert "crashed while running 'claims/test_claims.py::test_claim[tiny/b-crash]'" in out, out
    assert out.count("replacing crashed worker") == 1, out   # the crash is not re-run on the next worker


def test_a_crash_after_a_finished_group_is_not_rerun(claims_project, tiny_mirror, pytester, tmp_path):
    """Two checkpoints on one worker: the first group finishes, the second crashes mid-way; the
    replacement runs the rest once (the finished group is not re-queued either)."""
    (pytester.path / "conftest.py").write_text(CRASH_CONFTEST)
    mirror = _mirror(tmp_path, tiny_mirror, "albert-copy")
    write_claims(claims_project, "faults.yaml", [
        tiny_claim("tiny/a-first", size=40, repo="tiny/albert-copy"),
        tiny_claim("tiny/b-crash", size=40), tiny_claim("tiny/c-fine", size=40)])
    result, reports = _run(pytester, mirror, "-n", "1", timeout=180)
    arts = _valid(reports, ["tiny__a-first.json", "tiny__b-crash.json", "tiny__c-fine.json"])
    assert arts["tiny__b-crash.json"]["verdict"]["status"] == "error"
    _assert_fine(arts["tiny__a-first.json"])
    _assert_fine(arts["tiny__c-fine.json"])
    assert result.stdout.str().count("replacing crashed worker") == 1, result.stdout.str()
