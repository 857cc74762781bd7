"""Fail closed: integrity checks (cache, dataset files, file modes, lock, time limit, options)
and the runs that prove the plugin keeps out of other runs and out of the user's home.

Unit tests first; the end-to-end runs are few and shared (a module-scoped claims run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from harness.atomic import FolderBusy, FolderLock, write_atomic
from harness.measure.cache import CacheWarning, PredictionCache, default_dir
from harness.measure.offline import OFFLINE_FLAGS, Switch
from harness.timelimit import ClaimTimeout, time_limit
from tests.helpers import claims_folder, read_verdicts, tiny_claim, verdict_artifact, write_claims
from tests.runs import run_pytest

# Its module-scoped runs are built once: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("fail-closed")

ROOT = Path(__file__).resolve().parents[1]
KEY = "ab" * 32
MRPC = Path("datasets") / "nyu-mll" / "glue" / "mrpc" / "validation-00000-of-00001.parquet"


# ---------------------------------------------------------------------- the prediction cache
def _entry(folder: Path) -> Path:
    return folder / KEY[:2] / f"{KEY}.json"


def test_an_edited_cache_entry_is_a_miss_and_a_warning(tmp_path):
    cache = PredictionCache(tmp_path)
    cache.put(KEY, {}, {"logits": [[0.1, 0.9], [0.8, 0.2]]})
    assert cache.get(KEY)["logits"] == [[0.1, 0.9], [0.8, 0.2]]
    data = json.loads(_entry(tmp_path).read_text())
    data["payload"]["logits"][0] = [0.9, 0.1]            # edited logits flip a prediction
    _entry(tmp_path).write_text(json.dumps(data))
    with pytest.warns(CacheWarning, match="does not match its digest"):
        assert cache.get(KEY) is None


def test_an_entry_moved_to_another_key_is_a_miss(tmp_path):
    cache = PredictionCache(tmp_path)
    cache.put(KEY, {}, {"logits": [[1.0, 0.0]]})
    other = "cd" * 32
    (tmp_path / other[:2]).mkdir()
    shutil.copy(_entry(tmp_path), tmp_path / other[:2] / f"{other}.json")
    with pytest.warns(CacheWarning, match="written under another key"):
        assert cache.get(other) is None


def test_nan_logits_are_never_stored_nor_served(tmp_path):
    cache = PredictionCache(tmp_path)
    cache.put(KEY, {}, {"logits": [[float("nan"), 0.0]]})
    assert not _entry(tmp_path).exists()
    # an entry whose digest is right but whose logits are NaN (written by hand or by an old version)
    from harness.measure import cache as mod

    payload = {"logits": [[float("nan"), 0.0]]}
    _entry(tmp_path).parent.mkdir(parents=True)
    _entry(tmp_path).write_text(json.dumps({"format": mod.FORMAT, "key": KEY, "payload": payload,
                                            "digest": cache.digest(KEY, payload)}))
    with pytest.warns(CacheWarning, match="non-finite"):
        assert cache.get(KEY) is None


def test_a_cached_entry_that_does_not_fit_the_slice_is_a_miss():
    from harness.run import _usable

    fields = ("logits", "id2label", "batch_size", "tokens")
    hit = {"logits": [[0.0, 1.0]] * 3, "id2label": {}, "batch_size": 8, "tokens": {}}
    assert _usable(hit, 3, fields) is hit
    with pytest.warns(CacheWarning):
        assert _usable(hit, 4, fields) is None
    with pytest.warns(CacheWarning):                        # a field the kind needs is missing
        assert _usable({k: v for k, v in hit.items() if k != "tokens"}, 3, fields) is None


def test_clear_cache_removes_only_its_own_entries(tmp_path, monkeypatch, capsys):
    from harness import cli

    cache = PredictionCache(tmp_path)
    cache.put(KEY, {}, {"logits": [[1.0, 0.0]]})
    foreign = [tmp_path / "ab" / "notes.json", tmp_path / "zz" / f"{'ef' * 32}.json", tmp_path / "x.json"]
    for path in foreign:
        path.parent.mkdir(exist_ok=True)
        path.write_text('{"mine": true}')
    monkeypatch.setenv("CLAIMS_CACHE", str(tmp_path))
    assert default_dir() == tmp_path
    assert cli.main(["clear-cache"]) == 0                 # $CLAIMS_CACHE is the default folder
    assert "removed 1 cached predictions" in capsys.readouterr().out
    assert not _entry(tmp_path).exists() and all(p.exists() for p in foreign)


# ---------------------------------------------------------------------- dataset identity
def test_a_dataset_file_replaced_in_place_with_its_mtime_kept_changes_the_fingerprint(tmp_path, mrpc_mirror):
    import pyarrow.parquet as pq

    from harness.measure.datafiles import load_split

    folder = tmp_path / "glue"
    (folder / "mrpc").mkdir(parents=True)
    target = folder / "mrpc" / MRPC.name
    shutil.copy2(mrpc_mirror / MRPC, target)
    ds = {"repo": "nyu-mll/glue", "config": "mrpc", "split": "validation", "label_field": "label",
          "text_fields": ["sentence1", "sentence2"]}
    first = load_split(folder, ds)
    stat = target.stat()
    table = pq.read_table(target)
    flipped = table.set_column(table.column_names.index("label"), table.schema.field("label"),
                               [[1 - v for v in table.column("label").to_pylist()]])
    pq.write_table(flipped.replace_schema_metadata(table.schema.metadata), target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))      # what cp -p / rsync -t do
    second = load_split(folder, ds)
    assert second["fingerprint"] != first["fingerprint"]
    assert second["labels"] == [1 - v for v in first["labels"]]    # the new rows, not a cached copy


# ---------------------------------------------------------------------- files, lock, limits, env
def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert write_atomic(tmp_path / "a.json", "{}").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert write_atomic(tmp_path / "b.json", "{}").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_second_run_on_one_reports_folder_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from harness.atomic import FolderLock; FolderLock(sys.argv[1]).acquire();"
        "print('held', flush=True); sys.stdin.read()"), str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy, match=f"in use by another claims run \\(pid {holder.pid}\\)"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.stdin.close()
        holder.wait()
    FolderLock(tmp_path).acquire().release()      # the holder died: the lock went with it


def test_a_claims_run_removes_an_earlier_gate_before_it_starts(tmp_path):
    from harness.session import ClaimsSession

    (tmp_path / "gate.json").write_text('{"exit_code": 0, "passed": true}')
    cs = ClaimsSession(tmp_path, writer=True)
    cs.begin()
    try:
        assert not (tmp_path / "gate.json").exists()
    finally:
        cs.end()


def test_the_time_limit_interrupts_a_claim_that_never_ends():
    with pytest.raises(ClaimTimeout, match="time limit of 0.2 s"):
        with time_limit(0.2):
            while True:
                pass


def test_the_time_limit_survives_code_that_swallows_the_first_alarm():
    swallowed = []
    with pytest.raises(ClaimTimeout):
        with time_limit(0.2):
            try:
                while True:
                    pass
            except ClaimTimeout:
                swallowed.append("first")      # lost, as in a weakref callback during garbage collection
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pass
    assert swallowed == ["first"]


def test_offline_flags_are_put_back(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    switch = Switch(allow_download=False)
    switch.apply()
    assert all(os.environ[f] == "1" for f in OFFLINE_FLAGS)
    switch.restore()
    assert "HF_HUB_OFFLINE" not in os.environ and os.environ["TRANSFORMERS_OFFLINE"] == "0"


# ---------------------------------------------------------------------- end to end (shared runs)
# Runs in this process (tests/runs.py) with the environment each names: the offline flags and
# the mirror unset, HOME and the caches under tmp.
CLEAN = {**dict.fromkeys(OFFLINE_FLAGS), "CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}

OTHER_TEST = '''
import os
def test_sees_the_environment_it_was_given():
    assert os.environ.get("HF_HUB_OFFLINE") is None, "a claims run leaked its offline flag"
'''


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, tiny_mirror):
    """One claims run: a fine claim, a GLUE-style unlabelled test split, a corrupt baseline, a
    stale gate.json, a test that is not a claim; HOME empty, the cache under tmp, umask 022."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = tmp_path_factory.mktemp("hostile-run")
    mirror = tmp / "mirror"
    (mirror / "models").mkdir(parents=True)
    (mirror / "models" / "tiny").symlink_to(tiny_mirror / "models" / "tiny", target_is_directory=True)
    (mirror / "datasets").mkdir()
    (mirror / "datasets" / "nyu-mll").symlink_to(tiny_mirror / "datasets" / "nyu-mll", target_is_directory=True)
    hidden = mirror / "datasets" / "hostile" / "glue-test" / "mrpc"
    hidden.mkdir(parents=True)
    (hidden.parent / "README.md").write_text("a GLUE-style test split: labels hidden (-1)\n")
    table = pq.read_table(tiny_mirror / MRPC)
    labels = pa.array([-1] * len(table), table.schema.field("label").type)
    pq.write_table(table.set_column(table.column_names.index("label"), table.schema.field("label"), labels)
                   .replace_schema_metadata(table.schema.metadata), hidden / "test-00000-of-00001.parquet")

    project = tmp / "project"
    claims = project / "claims"
    claims_folder(claims)
    test_split = tiny_claim("hostile/test-split", size=40)
    test_split["measure"]["dataset"].update(repo="hostile/glue-test", split="test")
    write_claims(claims, "tiny.yaml", [tiny_claim("hostile/fine", size=40), test_split])
    (project / "test_other.py").write_text(OTHER_TEST)
    reports = project / "reports"
    reports.mkdir()
    (reports / "gate.json").write_text('{"exit_code": 0, "passed": true, "failures": []}')
    baseline = tmp / "baseline" / "verdicts"
    baseline.mkdir(parents=True)
    (baseline / "hostile__fine.json").write_text('{"claim_id": "hostile/fine", "verdict": ')   # torn

    home, cache = tmp / "home", tmp / "cache"
    home.mkdir()
    old = os.umask(0o022)
    try:
        result = run_pytest(project, "claims", "test_other.py", f"--claims-mirror={mirror}",
                            f"--claims-baseline={baseline.parent}", "-ra", "-n", "0",
                            env={**CLEAN, "HOME": str(home), "CLAIMS_CACHE": str(cache)})
    finally:
        os.umask(old)
    return {"result": result, "reports": reports, "home": home, "cache": cache}


def test_hostile_run_gives_each_claim_an_honest_verdict(hostile_run):
    out = hostile_run["result"].out
    arts = read_verdicts(hostile_run["reports"])
    assert sorted(arts) == ["hostile__fine.json", "hostile__test-split.json"], out
    assert arts["hostile__fine.json"]["verdict"]["status"] == "reproduced"
    hidden = arts["hostile__test-split.json"]["verdict"]
    assert hidden["status"] == "error" and "have no label" in hidden["reason"], hidden
    assert "INTERNALERROR" not in out and "1 failed, 2 passed" in out   # test_other.py saw its own environment


def test_a_claim_that_never_ends_is_stopped_by_the_time_limit(tmp_path):
    """A parameter count of a config with 10**9 layers spins in Python until SIGALRM stops it
    (in this process: the main thread, as in pytest and its xdist workers).

    The same count with one layer first, so every import it needs is done before the clock starts:
    an alarm inside an import (a 1 s limit in a fresh process lands there) would leave a
    half-registered torch module behind in this process."""
    from harness.measure import params

    assert threading.current_thread() is threading.main_thread(), "the time limit needs the main thread"
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    forever = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml").read_text())
    record = next(c for c in forever["claims"] if c["id"] == "1909.11942/table1/bert-base/parameters")
    record["id"] = "hostile/billion-layers"
    record["measure"]["architecture"]["config"]["num_hidden_layers"] = 10**9
    record.pop("expect")
    params.count("bert", {**record["measure"]["architecture"]["config"], "num_hidden_layers": 1}, include_pooler=True)
    forever["claims"] = [record]
    (claims / "forever.yaml").write_text(yaml.safe_dump(forever, sort_keys=False))
    result = run_pytest(project, "claims", "--claims-timeout=1", "-ra", "-n", "0", env=CLEAN)
    outcomes = result.outcomes()      # (a first alarm lost in a weakref callback is a warning)
    assert result.ret == 1 and outcomes["failed"] == 1 and "passed" not in outcomes, result.tail()
    (art,) = read_verdicts(project / "reports").values()
    slow = art["verdict"]
    assert slow["status"] == "error" and "time limit of 1 s per claim exceeded" in slow["reason"], slow


def test_a_corrupt_baseline_fails_the_gate_by_name_and_the_report_is_still_written(hostile_run):
    result, reports = hostile_run["result"], hostile_run["reports"]
    assert result.ret == 2, result.tail()
    gate = json.loads((reports / "gate.json").read_text())          # this run's gate, not the stale PASS
    assert gate["exit_code"] == 2 and not gate["passed"]
    assert "hostile__fine.json: unreadable verdict" in gate["failures"][0]["why"]
    assert (reports / "index.html").is_file() and (reports / "summary.json").is_file()


def test_the_run_left_home_alone_used_the_given_cache_and_the_umask(hostile_run):
    assert list(hostile_run["home"].iterdir()) == []
    assert len(PredictionCache(hostile_run["cache"]).entries()) == 1        # the fine claim's predictions
    for path in (hostile_run["reports"] / "verdicts").glob("*.json"):
        assert path.stat().st_mode & 0o777 == 0o644


def test_an_unrelated_project_sees_no_claims_plugin(tmp_path):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "test_other.py").write_text(OTHER_TEST)
    result = run_pytest(project, env={**CLEAN, "HOME": str(tmp_path)})
    assert result.ret == 0 and result.outcomes() == {"passed": 1}, result.tail()
    # pytest-benchmark makes its own .benchmarks folder; nothing else may appear
    assert sorted(p.name for p in project.iterdir() if p.name != ".benchmarks") == ["test_other.py"]


def test_a_malformed_claim_with_workers_stops_the_run_and_writes_nothing(tmp_path):
    """A NaN tolerance was an INTERNALERROR; with -n 2 no verdict at all was written."""
    project = tmp_path / "project"
    write_claims(claims_folder(project / "claims"), "bad.yaml", [tiny_claim("hostile/nan", tolerance=float("nan"))])
    result = run_pytest(project, "claims", "-n", "2", "--claims-reports=reports", env=CLEAN)
    out = result.out
    assert result.ret == 2, out[-3000:]
    assert "INTERNALERROR" not in out and "bad.yaml" in out and "tolerance.value" in out
    assert not (project / "reports").exists()


def test_a_second_claims_run_into_a_busy_reports_folder_stops_before_anything_runs(claims_project, pytester):
    params = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml").read_text())
    params["claims"] = params["claims"][:1]
    (claims_project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    reports = pytester.path / "reports"
    (reports / "verdicts").mkdir(parents=True)
    (reports / "verdicts" / "earlier.json").write_text("{}")
    with FolderLock(reports):
        result = pytester.runpytest_inprocess("claims", f"--claims-reports={reports}", "-p", "no:cacheprovider")
    assert result.ret == 4
    assert "is in use by another claims run" in result.stdout.str() + result.stderr.str()
    assert sorted(p.name for p in (reports / "verdicts").iterdir()) == ["earlier.json"]


def test_a_mirror_repo_id_cannot_climb_out_of_the_mirror(tmp_path):
    from harness.measure.assets import _from_mirror

    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "config.json").write_text("{}")
    mirror = tmp_path / "mirror"
    (mirror / "models").mkdir(parents=True)
    tried: list[str] = []
    assert _from_mirror("models", "../outside", "main", mirror, tried) is None
    assert "refused" in tried[0]


def test_a_verdict_that_could_not_be_written_fails_the_gate(tmp_path):
    from harness.session import ClaimsSession

    cs = ClaimsSession(tmp_path, writer=True)
    cs.artifacts["a"] = verdict_artifact("a", "reproduced", statistics={})
    cs.write_errors["a"] = "OSError: [Errno 28] No space left on device"
    assert cs.gate(baseline=None, strict_blocked=False, fdr=0.05) == 1
    assert cs.gate_result.failures == [{"claim": "a", "why": "verdict not written: OSError: [Errno 28] "
                                                             "No space left on device"}]


def test_a_passing_gate_does_not_hide_a_failing_test_that_is_not_a_claim(tmp_path):
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    params = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml").read_text())
    params["claims"] = [c for c in params["claims"] if c["id"] == "1909.11942/table1/albert-base/parameters"]
    (claims / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (project / "test_other.py").write_text("def test_other():\n    assert False, 'not a claim'\n")
    result = run_pytest(project, "claims", "test_other.py", "--claims-gate", "--claims-reports=reports", env=CLEAN)
    result.fnmatch_lines(["gate: PASS (exit 0)"])
    assert result.ret == 1
    assert result.outcomes() == {"failed": 1, "passed": 1}
