"""The verdict simulation (benchmarks/verdict_simulation.py) as a benchmark, at a smaller size.

Its figures go to pytest-benchmark's ``extra_info`` and the terminal; the full-size run and its
figures are in docs/verdict-rule.md. The assertions are the targets of the verdict rule, with
slack for the smaller repetition count.
"""

from __future__ import annotations

import io
import os

import pytest

from benchmarks import verdict_simulation as sim
from harness.judge.band import NOT_REPRODUCED, REPRODUCED

REPEATS = int(os.environ.get("CLAIMS_SIM_REPEATS", "60"))


@pytest.mark.benchmark(group="verdict simulation")
def test_verdict_simulation(benchmark, request):
    text = io.StringIO()
    mirror = request.config.getoption("claims_mirror", None) or os.environ.get("CLAIMS_MIRROR")
    figures = benchmark.pedantic(sim.run, kwargs={"repeats": REPEATS, "resamples": 999, "mirror": mirror,
                                                  "out": text}, rounds=1, iterations=1)
    print("\n" + text.getvalue())
    benchmark.extra_info["figures"] = {k: v for k, v in figures.items() if k != "scenarios"}
    rows = {(r["metric"], r["scenario"]): r for r in figures["scenarios"]}
    for (metric, name), r in rows.items():
        if r["inside"]:
            assert r["rates"][NOT_REPRODUCED] <= 0.05 + 2 * (0.05 * 0.95 / REPEATS) ** 0.5, (metric, name, r["rates"])
        if "true claim" in name:
            assert r["rates"][REPRODUCED] >= 0.8, (metric, name, r["rates"])
        if "same checkpoint" in name and ("3-point" in name or "5-point" in name):
            assert r["rates"][NOT_REPRODUCED] >= 0.8, (metric, name, r["rates"])
            assert r["mean_pairs"] < 408
    assert all(0.85 <= c <= 1.0 for c in figures["coverage"].values()), figures["coverage"]
