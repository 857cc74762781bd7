"""What one claim costs beyond its model time, and what -n auto and the cache save.

Run on their own: ``pytest benchmarks/test_claim_cost.py --benchmark-only --claims-mirror DIR``
(about 3 minutes on an idle 2-core CPU). Every figure is measured here, in fresh processes:

- the MRPC model-card claim under pytest (``-n 0``, an empty prediction cache, all 408 pairs)
  against albert-base-v2's shape with random weights in the released file layout
  (``benchmarks/albert_base.py``, built once into a cache folder), wall and CPU seconds, and the
  parts its artifact records (imports, load, tokenise, inference) plus collection;
- the bare model time on the same pairs and files: ``benchmarks/bare_loop.py``, a plain
  length-sorted batch-32 loop in a fresh process (imports and from_pretrained timed apart);
- the same claim again with the cache filled (the rerun's cost over the first run's);
- the offline catalogue (``claims/``, the given mirror) with ``-n 0`` and with ``-n auto``.

Targets (extra_info ``targets``, each with its figure; nothing here asserts a time): claim wall
<= 1.10x the bare loop's time; harness inference at least the bare loop's speed; model load <= 2x a
plain from_pretrained; collection <= 2 s; a cached rerun <= 10% of the uncached run; -n auto
no slower than -n 0.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from benchmarks import albert_base
from benchmarks.conftest import GLUE

ROOT = Path(__file__).resolve().parents[1]
CLAIM = "model-card/textattack-albert-base-v2-mrpc/mrpc-acc"

pytestmark = pytest.mark.benchmark(group="one claim end to end (seconds per run)")


# ---------------------------------------------------------------------- processes
class Run:
    def __init__(self, proc: subprocess.CompletedProcess, wall: float, cpu: float):
        self.proc, self.wall, self.cpu = proc, wall, cpu

    @property
    def output(self) -> str:
        return self.proc.stdout[-3000:] + self.proc.stderr[-3000:]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_ADDOPTS"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _run(cmd: list[str], cwd: Path, env: dict, timeout: int = 1800) -> Run:
    """Wall seconds and the child's CPU seconds (user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(proc, wall, cpu)


def _pytest(cwd: Path, *args: str, env: dict) -> Run:
    return _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd, env)


def _once(benchmark, fn):
    """One round through pytest-benchmark (its table shows seconds per run); returns fn's value."""
    box = []
    benchmark.pedantic(lambda: box.append(fn()), rounds=1, iterations=1, warmup_rounds=0)
    return box[-1]


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def standin(mirror, mrpc, tmp_path_factory) -> tuple[Path, dict]:
    """A mirror holding the stand-in checkpoint where the MRPC claim looks, and the real GLUE data."""
    start = time.perf_counter()
    built, how = albert_base.checkpoint(mirror / GLUE, mrpc)
    how = dict(how, setup_seconds=round(time.perf_counter() - start, 2))
    return albert_base.mirror(mirror, built, tmp_path_factory.mktemp("standin-mirror")), how


@pytest.fixture(scope="session")
def claim_project(tmp_path_factory) -> Path:
    """A project whose claims folder holds the MRPC model-card claim only."""
    project = tmp_path_factory.mktemp("claim-project")
    claims = project / "claims"
    (claims / "papers").mkdir(parents=True)
    shutil.copy(ROOT / "claims" / "test_claims.py", claims / "test_claims.py")
    shutil.copytree(ROOT / "claims" / "papers", claims / "papers", dirs_exist_ok=True)
    shutil.copytree(ROOT / "claims" / "spreads", claims / "spreads")
    data = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "textattack-model-cards.yaml").read_text())
    data["claims"] = [c for c in data["claims"] if c["id"] == CLAIM]
    (claims / "mrpc.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (project / "pytest.ini").write_text("[pytest]\n")
    return project


@pytest.fixture(scope="session")
def costs() -> dict:
    """Figures shared between the benchmarks of this module (the cached rerun needs the first run)."""
    return {}


def _artifact(reports: Path) -> dict:
    (path,) = sorted((reports / "verdicts").glob("*.json"))
    return json.loads(path.read_text())


# ---------------------------------------------------------------------- benchmarks
def test_claim_against_bare_model_time(benchmark, standin, claim_project, mirror, costs, tmp_path):
    """The claim under pytest, then the bare loop on the same pairs and files, each in a fresh process."""
    mirror_dir, how = standin
    env = _env(CLAIMS_DIGESTS=tmp_path / "digests", XDG_CACHE_HOME=tmp_path / "xdg")
    cache = tmp_path / "predictions"
    common = ("claims", f"--claims-mirror={mirror_dir}", f"--claims-cache={cache}", "-n", "0")
    collect = _pytest(claim_project, "claims", "--collect-only", f"--claims-mirror={mirror_dir}", env=env)
    assert collect.proc.returncode == 0, collect.output
    run = _once(benchmark, lambda: _pytest(claim_project, *common, f"--claims-reports={tmp_path / 'r1'}", env=env))
    art = _artifact(tmp_path / "r1")
    m = art["measurement"]
    assert m is not None and m["n"] == 408 and m["cache"]["hit"] is False, art["verdict"]
    parquet = next((mirror / GLUE / "mrpc").glob("validation-*.parquet"))
    folder = mirror_dir / "models" / albert_base.REPO
    bare_run = _run([sys.executable, str(ROOT / "benchmarks" / "bare_loop.py"), str(folder), str(parquet), "32"],
                    ROOT, _env(HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1))
    assert bare_run.proc.returncode == 0, bare_run.output
    bare = json.loads(bare_run.proc.stdout.strip().splitlines()[-1])
    # Same pairs, same files, the same function: predictions agree (up to near-ties).
    by_idx = dict(zip(m["idx"], m["predictions"]))
    to_dataset = {int(k): v for k, v in m["label_mapping"]["model_to_dataset"].items()}
    same = sum(to_dataset[p] == by_idx[i] for i, p in zip(bare.pop("idx"), bare.pop("predictions")))
    assert same >= 0.99 * 408, f"the harness and the bare loop agree on {same}/408 pairs"

    t = m["timings"]
    known = sum(t.get(k, 0.0) for k in ("data_seconds", "model_import_seconds", "model_load_seconds",
                                         "tokenize_seconds", "inference_seconds"))
    figures = {
        "claim_wall_seconds": round(run.wall, 2), "claim_cpu_seconds": round(run.cpu, 2),
        "claim_timings": t, "collection_wall_seconds": round(collect.wall, 2),
        "rest_seconds": round(run.wall - collect.wall - known, 2),   # statistics, artifact, reports (residual)
        "bare": bare, "bare_wall_seconds": round(bare_run.wall, 2),
        "predictions_agreeing_with_bare": same, "standin": how,
    }
    ratio_wall = run.wall / bare["loop_seconds"]
    speed = bare["loop_seconds"] / t["inference_seconds"]
    load = t["model_load_seconds"] / bare["from_pretrained_seconds"]
    figures["targets"] = {
        "claim_wall_over_bare_loop": [round(ratio_wall, 3), "<= 1.10", ratio_wall <= 1.10],
        "harness_inference_speed_over_bare_loop": [round(speed, 3), ">= 1.00", speed >= 1.0],
        "model_load_over_plain_from_pretrained": [round(load, 3), "<= 2", load <= 2.0],
        "collection_seconds": [round(collect.wall, 2), "<= 2", collect.wall <= 2.0],
    }
    costs["uncached"] = {"wall": run.wall, "env": env, "common": common, "cache": cache}
    benchmark.extra_info.update(figures)
    print(json.dumps(figures, indent=1))


def test_cached_rerun(benchmark, claim_project, costs, tmp_path):
    """The same claim again with the prediction cache the first run filled: nothing left to infer."""
    first = costs.get("uncached")
    if first is None:
        pytest.skip("needs test_claim_against_bare_model_time's run (same session) to fill the cache")
    run = _once(benchmark, lambda: _pytest(claim_project, *first["common"], f"--claims-reports={tmp_path / 'r2'}",
                                           env=first["env"]))
    art = _artifact(tmp_path / "r2")
    assert art["measurement"]["cache"]["hit"] is True, art["verdict"]
    share = run.wall / first["wall"]
    benchmark.extra_info.update({"cached_wall_seconds": round(run.wall, 2), "cached_cpu_seconds": round(run.cpu, 2),
                                 "uncached_wall_seconds": round(first["wall"], 2),
                                 "targets": {"cached_over_uncached": [round(share, 3), "<= 0.10", share <= 0.10]}})


@pytest.mark.parametrize("workers", ["0", "auto"])
def test_catalogue_workers(benchmark, workers, mirror, costs, tmp_path):
    """The offline catalogue (claims/) with -n 0 and -n auto: model-free claims start no workers."""
    env = _env(XDG_CACHE_HOME=tmp_path / "xdg")
    run = _once(benchmark, lambda: _pytest(ROOT, "claims", "-n", workers, f"--claims-mirror={mirror}",
                                           "--claims-no-cache", f"--claims-reports={tmp_path / 'r'}",
                                           env=env))
    assert run.proc.returncode in (0, 1), run.output            # 1: a claim's verdict failed, as expected offline
    started = re.search(r"\b\d+ workers? \[", run.proc.stdout) is not None
    costs[f"n_{workers}"] = run.wall
    info = {"wall_seconds": round(run.wall, 2), "cpu_seconds": round(run.cpu, 2), "workers_started": started}
    if "n_0" in costs and workers == "auto":
        ratio = run.wall / costs["n_0"]
        info["targets"] = {"n_auto_over_n_0": [round(ratio, 3), "<= 1 (noise aside)", ratio <= 1.05]}
    benchmark.extra_info.update(info)
