"""The verdict simulation (benchmarks/verdict_simulation.py) as a benchmark, in its short form.

It drives the real claim path (run_looks, bands_of, the spread table, looks.plan, verdict.judge)
with a few repetitions per row, so it stays well under a minute on a 2-core machine; the full
run (``nice -n 10 python benchmarks/verdict_simulation.py``) gives the figures in
docs/verdict-rule.md. Its figures go to pytest-benchmark's ``extra_info`` and the terminal. The
assertions are the rule's hard targets, the ones a few repetitions can check: each side of the
exact coverage (no noise) misses at most 2.5 %, a 10-point miss
never reads reproduced, a claim against an untestable band never reads reproduced, and the
whole split decides a true same-checkpoint claim.
"""

from __future__ import annotations

import io
import os

import pytest

from benchmarks import verdict_simulation as sim
from harness.judge.band import NOT_REPRODUCED, REPRODUCED

REPEATS = int(os.environ.get("CLAIMS_SIM_REPEATS", "3"))
ROUNDS = 3                   # a round is about 2 s: enough rounds for a spread


@pytest.mark.benchmark(group="verdict simulation")
def test_verdict_simulation(benchmark, request):
    mirror = request.config.getoption("claims_mirror", None) or os.environ.get("CLAIMS_MIRROR")
    texts: list[io.StringIO] = []

    def once():
        texts.append(io.StringIO())
        return sim.run(repeats=REPEATS, resamples=999, mirror=mirror, out=texts[-1], quick=True)

    figures = benchmark.pedantic(once, rounds=ROUNDS, iterations=1)    # seeded: every round the same figures
    print("\n" + texts[-1].getvalue())
    benchmark.extra_info["figures"] = {k: v for k, v in figures.items() if k != "rows"}
    for r in figures["rows"]:
        if "10-point miss" in r["row"]:
            assert r["rates"][REPRODUCED] == 0.0, r
        if r["untestable"]:
            assert r["rates"][REPRODUCED] == 0.0 and r["rates"][NOT_REPRODUCED] == 0.0, r
        if r["row"].startswith("same checkpoint") and ": true" in r["row"]:
            assert r["rates"][REPRODUCED] >= 0.5, r
    for name, c in figures["coverage"].items():
        assert 0.0 <= c["coverage"] <= 1.0, name
    for name, c in figures["exact_coverage"].items():     # no sampling noise: the bound itself
        assert c["miss_below"] <= 0.025 + 1e-9 and c["miss_above"] <= 0.025 + 1e-9, (name, c)
        assert abs(c["mass"] - 1.0) < 1e-6, (name, c)
