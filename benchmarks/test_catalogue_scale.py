"""A catalogue of thousands: 5,000 parameter-count claims in 50 files, end to end, fresh processes.

Run on their own: ``pytest benchmarks/test_catalogue_scale.py --benchmark-only --claims-mirror=DIR``.
The catalogue is written by ``benchmarks/catalogue.py`` (25 ALBERT and BERT architectures, each
claim reproduced). Figures, one benchmark row each in one group (seconds per process), every one
also in ``extra_info`` with its target (issue 21) and the machine's load average:

- collect: ``pytest claims --collect-only``: <= 5 s
- run: ``pytest claims -n auto`` (the README's command; no checkpoint to load, so no workers;
  CLAIMS_BENCH_SCALE_RUN_ROUNDS rounds, default 2, each into a reports folder of its own): <= 60 s
- gate: ``python -m harness gate REPORTS`` on that run's folder: <= 5 s
- merge: ``python -m harness merge OUT REPORTS`` (one folder, as one shard; OUT beside it, so
  each verdict is a hard link to the shard's file): <= 5 s
- merge --copy: the same with every verdict written as a new file (a shard on another
  filesystem costs the same): its row shows what creating 5,000 files costs this disk

collect, gate and merge run CLAIMS_BENCH_SCALE_ROUNDS rounds each (default 3). Each row's
extra_info holds every round's wall, CPU, user and system seconds and the load average; its
targets are judged on the best wall and on the median CPU seconds.

gate and merge re-render the report (index.html), whose size and paging are benchmarked apart;
their figures include it. CLAIMS_BENCH_SCALE_CLAIMS and _FILES change the size (default 5000, 50).
"""

from __future__ import annotations

import os
import statistics
import sys

import pytest

from benchmarks import catalogue
from benchmarks.test_claim_cost import _env, _pytest, _run

CLAIMS = int(os.environ.get("CLAIMS_BENCH_SCALE_CLAIMS") or 5000)
FILES = int(os.environ.get("CLAIMS_BENCH_SCALE_FILES") or 50)
ROUNDS = int(os.environ.get("CLAIMS_BENCH_SCALE_ROUNDS") or 3)     # collect, gate and merge
RUN_ROUNDS = int(os.environ.get("CLAIMS_BENCH_SCALE_RUN_ROUNDS") or 2)   # 20 s a round
TARGETS = {"collect": 5.0, "run": 60.0, "gate": 5.0, "merge": 5.0, "merge --copy": 5.0}
GROUP = f"catalogue of {CLAIMS} parameter-count claims in {FILES} files (seconds per process)"

pytestmark = pytest.mark.benchmark(group=GROUP)


@pytest.fixture(scope="session")
def big_catalogue(tmp_path_factory):
    """(project folder, environment, figures shared by the steps)."""
    project = catalogue.write(tmp_path_factory.mktemp("catalogue"), CLAIMS, FILES)
    env = _env(XDG_CACHE_HOME=project / "xdg")
    warm = _pytest(project, "claims", "--collect-only", env=env)     # untimed: page cache, bytecode
    assert warm.proc.returncode == 0, warm.output
    return project, env, {}


def _figures(benchmark, step: str, runs: list) -> None:
    """Every round's wall, CPU (user + system of the process) and the load it ran under; the
    targets judged on the best wall and on the median CPU (on a shared machine others only add
    wall time; CPU seconds move far less, but file creation's system time follows the disk)."""
    walls, cpus = [r.wall for r in runs], [r.cpu for r in runs]
    key = step.replace(" --", "_")
    best, cpu = min(walls), statistics.median(cpus)
    benchmark.extra_info.update({
        "step": step, "claims": CLAIMS, "files": FILES, "rounds": len(runs),
        "wall_seconds": [round(w, 3) for w in walls], "cpu_seconds": [round(c, 3) for c in cpus],
        "user_seconds": [round(r.user, 3) for r in runs], "system_seconds": [round(r.system, 3) for r in runs],
        "load_average": list(os.getloadavg()), "cpu_count": os.cpu_count(),
        "targets": {f"{key}_seconds": [round(best, 2), f"<= {TARGETS[step]:g}", best <= TARGETS[step]],
                    f"{key}_cpu_seconds": [round(cpu, 2), f"<= {TARGETS[step]:g}", cpu <= TARGETS[step]]},
    })


def _timed(benchmark, fn, rounds: int) -> list:
    runs: list = []
    benchmark.pedantic(lambda: runs.append(fn()), rounds=rounds, iterations=1, warmup_rounds=0)
    return runs


def test_collect(benchmark, big_catalogue):
    project, env, _ = big_catalogue
    runs = _timed(benchmark, lambda: _pytest(project, "claims", "--collect-only", env=env), ROUNDS)
    assert all(r.proc.returncode == 0 for r in runs), runs[-1].output
    assert f"{CLAIMS} tests collected" in runs[-1].proc.stdout, runs[-1].output
    _figures(benchmark, "collect", runs)


def test_run(benchmark, big_catalogue):
    project, env, shared = big_catalogue
    folders = iter(project / f"reports-{i}" for i in range(100))

    def run_once():
        shared["reports"] = reports = next(folders)
        return _pytest(project, "claims", "-n", "auto", f"--claims-reports={reports}", env=env)

    runs = _timed(benchmark, run_once, RUN_ROUNDS)
    for run in runs:
        assert run.proc.returncode == 0, run.output
        assert f"{CLAIMS} passed" in run.proc.stdout, run.output
    assert len(list((shared["reports"] / "verdicts").glob("*.json"))) == CLAIMS
    _figures(benchmark, "run", runs)
    benchmark.extra_info["per_claim_ms"] = round(min(r.wall for r in runs) / CLAIMS * 1000, 2)


@pytest.mark.parametrize("step", ["gate", "merge", "merge --copy"])
def test_gate_and_merge(benchmark, big_catalogue, step):
    project, env, shared = big_catalogue
    reports = shared.get("reports")
    if reports is None:
        pytest.skip("needs test_run's reports folder (same session)")
    outs = iter(project / f"merged-{step.replace(' --', '-')}-{i}" for i in range(100))
    if step == "gate":
        cmd = lambda: [sys.executable, "-m", "harness", "gate", str(reports), "--claims", "claims"]  # noqa: E731
    else:
        cmd = lambda: [sys.executable, "-m", "harness", "merge", str(next(outs)), str(reports),  # noqa: E731
                       "--claims", "claims", *step.split()[1:]]
    runs = _timed(benchmark, lambda: _run(cmd(), project, env), ROUNDS)
    assert all(r.proc.returncode == 0 for r in runs), runs[-1].output
    _figures(benchmark, step, runs)
