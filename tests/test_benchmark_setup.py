"""`pytest --benchmark-only` as the README writes it: the mirror option is honoured, a missing
mirror is a usage error (never a silent all-skip), and pytest-benchmark's table is per pair.

Real pytest runs (in this process: tests/runs.py) of the benchmarks' own conftest with a stand-in benchmark; a counting timer
(one tick per call) makes every round last exactly one "second", so nothing here is timed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.runs import Run, run_pytest

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = '''
from benchmarks.conftest import per_pair

def test_stand_in(benchmark, mirror):
    benchmark.pedantic(lambda: None, rounds=3, iterations=1)
    per_pair(benchmark, 100)
'''
TIMER = "import itertools\n_ticks = itertools.count()\ndef tick():\n    return float(next(_ticks))\n"


def _project(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir(parents=True)
    for name in ("__init__.py", "conftest.py"):
        shutil.copy(ROOT / "benchmarks" / name, tmp_path / "benchmarks" / name)
    (tmp_path / "benchmarks" / "test_stand_in.py").write_text(STAND_IN)
    (tmp_path / "countertimer.py").write_text(TIMER)
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\ntestpaths = benchmarks\n")
    return tmp_path


def _pytest(project: Path, *args: str, mirror_env: str | None = None) -> Run:
    return run_pytest(project, "--benchmark-only", *args, env={"CLAIMS_MIRROR": mirror_env, "CLAIMS_DOWNLOAD": None})


def test_missing_mirror_is_a_usage_error_naming_it(tmp_path):
    project = _project(tmp_path)
    proc = _pytest(project)
    assert proc.ret == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--claims-mirror" in proc.stderr and "CLAIMS_MIRROR" in proc.stderr
    proc = _pytest(project, f"--claims-mirror={tmp_path}")
    assert proc.ret == 4 and "datasets/nyu-mll/glue/mrpc" in proc.stderr, proc.stderr[-2000:]


def test_mirror_option_or_variable_and_a_per_pair_table(tmp_path):
    project = _project(tmp_path / "p")
    mirror = tmp_path / "m"
    (mirror / "datasets" / "nyu-mll" / "glue" / "mrpc").mkdir(parents=True)
    out = tmp_path / "b.json"
    common = ("--benchmark-timer=countertimer.tick", f"--benchmark-json={out}")
    proc = _pytest(project, f"--claims-mirror={mirror}", *common)
    assert proc.ret == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (bench,) = json.loads(out.read_text())["benchmarks"]
    assert bench["stats"]["rounds"] == 3
    assert bench["stats"]["min"] == bench["stats"]["max"] == 0.01      # one tick per round, over 100 pairs
    assert bench["stats"]["ops"] == 100.0                               # ops = pairs per second
    assert "seconds per pair" in bench["extra_info"]["stats_unit"]
    proc = _pytest(project, *common, mirror_env=str(mirror))
    assert proc.ret == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:]
