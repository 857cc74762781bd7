"""How often the verdict is right: a simulation of the real judging path on MRPC validation.

Drives the production code (``slices.order``, ``looks.plan``/``look``/``sequential``, the exact
bands, the finite-population intervals and the run spread) on MRPC validation's own labels with
prediction vectors whose whole-split score is known exactly; only the model is replaced. Each
repetition draws a new nested stratified slice order and new error positions (same counts, so
the same whole-split score).

    python benchmarks/verdict_simulation.py [--repeats 400] [--resamples 2000]

(CLAIMS_MIRROR, or --mirror, points at the GLUE mirror for the real labels; without it a label
vector with MRPC validation's balance, 279 of 408 positive, stands in and the output says so.)
Figures are in docs/verdict-rule.md; ``pytest benchmarks/test_verdict_simulation.py
--benchmark-only`` runs a smaller version.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from harness.claims.spreads import RunSpread
from harness.judge import looks
from harness.judge.band import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band
from harness.judge.verdict import from_looks
from harness.measure import slices

LEVEL = 0.95


def mrpc_labels(mirror: str | None) -> tuple[np.ndarray, str]:
    """MRPC validation labels (1 = equivalent) from the mirror, else a vector of the same balance."""
    if mirror:
        folder = Path(mirror) / "datasets" / "nyu-mll" / "glue"
        if (folder / "mrpc").is_dir():
            import datasets

            ds = datasets.load_dataset(str(folder), "mrpc", split="validation")
            return np.asarray(ds["label"], dtype=np.int64), f"MRPC validation from {folder}"
    y = np.zeros(408, dtype=np.int64)
    y[np.random.default_rng(0).permutation(408)[:279]] = 1
    return y, "a stand-in with MRPC validation's balance (279 of 408 positive): no mirror given"


def predictions(y: np.ndarray, fp: int, fn: int, rng) -> np.ndarray:
    """Predictions with exactly ``fp`` false positives and ``fn`` false negatives, placed at random."""
    p = y.copy()
    neg, pos = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    p[rng.choice(neg, fp, replace=False)] = 1
    p[rng.choice(pos, fn, replace=False)] = 0
    return p


def score(metric: str, y, p) -> float:
    from harness.metrics import binary

    return binary.value(metric, y, p, positive=1)


def errors_for(metric: str, y: np.ndarray, target: float) -> tuple[int, int]:
    """(FP, FN), split evenly, whose whole-split score is closest to ``target``."""
    best = None
    for e in range(0, len(y) // 2):
        fp, fn = e - e // 2, e // 2
        if fp > (y == 0).sum() or fn > (y == 1).sum():
            break
        p = y.copy()
        p[np.flatnonzero(y == 0)[:fp]] = 1
        p[np.flatnonzero(y == 1)[:fn]] = 0
        gap = abs(score(metric, y, p) - target)
        if best is None or gap < best[0]:
            best = (gap, fp, fn)
    return best[1], best[2]


@dataclass
class Scenario:
    name: str
    metric: str
    delta_points: float | None   # reported - true, in points; None: true value on the band's low edge
    spread: RunSpread | None
    tolerance: str                # printed units (points)
    start: int = 50


def build_band(scenario: Scenario, theta: float) -> tuple[Band, Band]:
    """Printed value at one decimal, placed ``delta`` points above the true score (or the edge on it)."""
    scale = Decimal("0.01")
    margin = scenario.spread.margin(LEVEL) if scenario.spread else Decimal(0)
    if scenario.delta_points is None:
        printed = Band.from_printed("89.3", scale=scale, tolerance=scenario.tolerance)
        # Move the reported value so that the low edge (with margin) is exactly the true score.
        edge = Decimal(repr(theta)) / scale
        reported = edge + printed.half_ulp + printed.tolerance + margin
        printed = Band(reported=reported, half_ulp=printed.half_ulp, tolerance=printed.tolerance, scale=scale)
    else:
        value = (Decimal(repr(theta)) / scale + Decimal(repr(scenario.delta_points))).quantize(Decimal("0.1"))
        printed = Band.from_printed(str(value), scale=scale, tolerance=scenario.tolerance)
    return printed, printed.widened(margin)


def run_scenario(scenario: Scenario, y: np.ndarray, theta_target: float, *, repeats: int, resamples: int,
                 seed0: int = 0) -> dict:
    fp, fn = errors_for(scenario.metric, y, theta_target)
    rng0 = np.random.default_rng(seed0)
    theta = score(scenario.metric, y, predictions(y, fp, fn, rng0))
    printed, band = build_band(scenario, theta)
    inside = band.contains(theta)
    idx = np.arange(len(y))
    strata = {0: int((y == 0).sum()), 1: int((y == 1).sum())}
    counts = {REPRODUCED: 0, NOT_REPRODUCED: 0, INCONCLUSIVE: 0}
    pairs, records = [], []
    for r in range(repeats):
        rng = np.random.default_rng(10_000 + r)
        p = predictions(y, fp, fn, rng)
        order = slices.order(idx, y, seed=r, stratified=True)
        plan = looks.plan(scenario.start, len(y), alpha=1 - LEVEL, grow=True)

        def observe(n, order=order, p=p):
            rows = order[:n]
            return y[rows], p[rows], r

        def judge(yt, yp, seed, *, alpha):
            return looks.look(scenario.metric, yt, yp, context={"positive": 1}, population=len(y), band=band, alpha=alpha,
                              resamples=resamples, seed=seed, strata=strata)

        taken, stopped = looks.sequential(plan, observe, judge)
        j = from_looks(taken, plan, band, printed, stopped=stopped, spread=None)
        counts[j.status] += 1
        pairs.append(taken[-1].n)
        if j.confidence is not None:
            right = (j.status == REPRODUCED) == inside
            records.append((j.confidence, right))
    return {"scenario": scenario.name, "metric": scenario.metric, "theta": theta, "band": [band.low, band.high],
            "inside": inside, "rates": {k: v / repeats for k, v in counts.items()},
            "mean_pairs": float(np.mean(pairs)), "calibration": records}


def coverage(metric: str, y: np.ndarray, theta_target: float, n: int, *, repeats: int, resamples: int) -> float:
    """Share of fixed-slice (one look, 95 %) intervals that contain the whole-split score."""
    fp, fn = errors_for(metric, y, theta_target)
    idx = np.arange(len(y))
    band = Band.from_printed("50", scale=Decimal("0.01"), tolerance="0")
    hit = 0
    for r in range(repeats):
        p = predictions(y, fp, fn, np.random.default_rng(20_000 + r))
        theta = score(metric, y, p)
        rows = slices.order(idx, y, seed=r, stratified=True)[:n]
        lk = looks.look(metric, y[rows], p[rows], context={"positive": 1}, population=len(y), band=band, alpha=1 - LEVEL,
                        resamples=resamples, seed=r, strata={0: int((y == 0).sum()), 1: int((y == 1).sum())})
        hit += lk.low <= theta <= lk.high
    return hit / repeats


def scenarios() -> list[Scenario]:
    table = RunSpread(Decimal("1.61"), "table", "glue-finetuning.yaml (MRPC)", aggregate="median", runs=5)
    out = []
    for metric in ("f1", "accuracy"):
        for name, delta in (("true claim (delta 0)", 0.0), ("on the band's edge", None),
                            ("2-point miss", 2.0), ("3-point miss", 3.0), ("5-point miss", 5.0)):
            out.append(Scenario(f"same checkpoint, tolerance 1: {name}", metric, delta, None, "1.0"))
        for name, delta in (("true claim (delta 0)", 0.0), ("on the band's edge", None), ("3-point miss", 3.0),
                            ("5-point miss", 5.0)):
            out.append(Scenario(f"paper median of 5, run spread 1.61: {name}", metric, delta, table, "0"))
    return out


def flat_prior_calibration(metric: str, y: np.ndarray, *, repeats: int, resamples: int) -> list[tuple[float, bool]]:
    """Confidence under the stated model: the whole-split score drawn from a flat range
    (here +-6 points around the printed value), the claim fixed; (confidence, right) per decided verdict."""
    printed = Band.from_printed("89.3" if metric == "f1" else "86.0", scale=Decimal("0.01"), tolerance="1.0")
    idx = np.arange(len(y))
    strata = {0: int((y == 0).sum()), 1: int((y == 1).sum())}
    centre = printed.reported_natural
    grid = {}
    for e in range(0, len(y) // 2):
        p = y.copy()
        p[np.flatnonzero(y == 0)[:e - e // 2]] = 1
        p[np.flatnonzero(y == 1)[:e // 2]] = 0
        theta = score(metric, y, p)
        if abs(theta - centre) <= 0.06:
            grid[e] = theta
    errors = sorted(grid)
    out = []
    for r in range(repeats):
        rng = np.random.default_rng(30_000 + r)
        e = errors[int(rng.integers(len(errors)))]
        p = predictions(y, e - e // 2, e // 2, rng)
        order = slices.order(idx, y, seed=r, stratified=True)
        plan = looks.plan(50, len(y), alpha=1 - LEVEL, grow=True)
        taken, stopped = looks.sequential(
            plan, lambda n, order=order, p=p, r=r: (y[order[:n]], p[order[:n]], r),
            lambda yt, yp, seed, alpha: looks.look(metric, yt, yp, context={"positive": 1}, population=len(y), band=printed,
                                                  alpha=alpha, resamples=resamples, seed=seed, strata=strata))
        j = from_looks(taken, plan, printed, printed, stopped=stopped, spread=None)
        if j.confidence is not None and taken[-1].n < len(y):   # decided on a slice, not the whole split
            out.append((j.confidence, (j.status == REPRODUCED) == printed.contains(grid[e])))
    return out


def calibration_table(records: list[tuple[float, bool]]) -> list[str]:
    bins = [(0.5, 0.9), (0.9, 0.975), (0.975, 0.99), (0.99, 0.999), (0.999, 1.0000001)]
    lines = []
    for lo, hi in bins:
        sel = [right for c, right in records if lo <= c < hi]
        if sel:
            stated = np.mean([c for c, _ in records if lo <= c < hi])
            lines.append(f"  stated confidence in [{lo:.3f}, {min(hi, 1):.3f}): {len(sel)} verdicts, "
                         f"mean stated {stated:.3f}, right {np.mean(sel):.3f}")
    return lines


def run(repeats: int = 400, resamples: int = 2000, mirror: str | None = None, out=sys.stdout) -> dict:
    y, source = mrpc_labels(mirror)
    start = time.perf_counter()
    print(f"labels: {source}; {repeats} repetitions per row, {resamples} bootstrap resamples", file=out)
    figures = {"coverage": {}, "scenarios": []}
    targets = {"f1": 0.893, "accuracy": 0.860}
    for metric in ("f1", "accuracy"):
        for n in (50, 100, 200):
            c = coverage(metric, y, targets[metric], n, repeats=repeats, resamples=resamples)
            figures["coverage"][f"{metric}@{n}"] = c
            print(f"coverage {metric:8s} n={n:3d}: {c:.3f} (nominal 0.95)", file=out)
    records = []
    for sc in scenarios():
        res = run_scenario(sc, y, targets[sc.metric], repeats=repeats, resamples=resamples)
        records += res["calibration"]
        figures["scenarios"].append({k: v for k, v in res.items() if k != "calibration"})
        r = res["rates"]
        print(f"{sc.metric:8s} {sc.name:58s} true {res['theta']:.4f} band [{res['band'][0]:.4f}, "
              f"{res['band'][1]:.4f}] {'in ' if res['inside'] else 'out'}: reproduced {r[REPRODUCED]:.3f}, "
              f"not_reproduced {r[NOT_REPRODUCED]:.3f}, inconclusive {r[INCONCLUSIVE]:.3f}, "
              f"mean pairs {res['mean_pairs']:.0f}", file=out)
    print("confidence of the verdicts above (fixed scores, many on an edge by design):", file=out)
    figures["calibration_rows"] = calibration_table(records)
    for line in figures["calibration_rows"]:
        print(line, file=out)
    print("calibration under the stated model (flat prior on the whole-split score, +-6 points; "
          "verdicts decided on a slice):", file=out)
    flat = []
    for metric in ("f1", "accuracy"):
        flat += flat_prior_calibration(metric, y, repeats=repeats * 2, resamples=resamples)
    figures["calibration"] = calibration_table(flat)
    for line in figures["calibration"]:
        print(line, file=out)
    figures["seconds"] = time.perf_counter() - start
    print(f"{figures['seconds']:.0f} s", file=out)
    return figures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=400)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--mirror", default=os.environ.get("CLAIMS_MIRROR"))
    args = ap.parse_args(argv)
    run(args.repeats, args.resamples, args.mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main())
