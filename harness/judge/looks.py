"""Growing slices: look at n pairs, and look again at more only while the verdict is open.

A micro-slice is the first look, not the last. The looks follow a schedule fixed before any
prediction is seen (start, doubled, then the whole split once doubling passes 3/4 of it), and
each slice is a prefix of one nested, stratified order, so every earlier pair is reused.

Error spending: the whole split has no sampling error (its interval is a point and its verdict
cannot be wrong about the split), so the miss rate alpha is spent only on the looks before it,
alpha_j = alpha * (g(t_j) - g(t_{j-1})) with Pocock's shape g(t) = ln(1 + (e - 1) t) on the
share t of the sampling looks' pairs. By the union bound the chance that any look's interval
misses the split's value is at most alpha, so a claim whose value lies inside the band is called
``not_reproduced`` at most alpha / 2 of the time however many looks it takes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness.judge import finite_population as fpc
from harness.judge.band import DECIDED, INCONCLUSIVE, Band, decide


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    alphas: tuple[float, ...]      # per look; 0.0 at the whole split (no sampling error left)
    population: int
    alpha: float
    max_seconds: float | None = None

    @property
    def grows(self) -> bool:
        return len(self.sizes) > 1

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "alphas": [round(a, 6) for a in self.alphas], "alpha": self.alpha,
                "spending": "Pocock-type on the sampling looks' share of pairs; none at the whole split",
                "max_seconds": self.max_seconds}


def plan(start: int, population: int, *, alpha: float = 0.05, grow: bool = False,
         max_pairs: int | None = None, max_seconds: float | None = None) -> Plan:
    """The look schedule for a slice of ``start`` pairs of a split of ``population``."""
    if population < 1:
        raise ValueError("the split is empty")
    cap = population if max_pairs is None else max(1, min(int(max_pairs), population))
    sizes = [max(1, min(int(start), cap))]
    while grow and sizes[-1] < cap:
        nxt = 2 * sizes[-1]
        sizes.append(cap if nxt >= 0.75 * cap or nxt > cap else nxt)
    sampling = [n for n in sizes if n < population]
    if not sampling:
        return Plan(tuple(sizes), (0.0,) * len(sizes), population, alpha, max_seconds)
    total = sampling[-1]

    def g(t: float) -> float:
        return math.log(1.0 + (math.e - 1.0) * t)

    alphas, spent = [], 0.0
    for n in sizes:
        if n >= population:
            alphas.append(0.0)
            continue
        cum = alpha * g(n / total)
        alphas.append(cum - spent)
        spent = cum
    return Plan(tuple(sizes), tuple(alphas), population, alpha, max_seconds)


@dataclass(frozen=True)
class Look:
    """One look: the metric on the first n pairs, its interval, and what it decides."""

    n: int
    estimate: float
    low: float
    high: float
    alpha: float
    method: str
    standard_error: float          # finite-population corrected
    per_example_sd: float | None   # for sizing the next slice
    fpc_factor: float
    p_in_band: float | None        # None: the slice says nothing about it (no spread seen)
    status: str
    resamples: int | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        return {"n": self.n, "estimate": self.estimate, "interval": [self.low, self.high],
                "level": round(1.0 - self.alpha, 6), "method": self.method,
                "standard_error": self.standard_error, "finite_population_factor": self.fpc_factor,
                "p_in_band": None if self.p_in_band is None else round(self.p_in_band, 6), "status": self.status}


def _z(alpha: float) -> float:
    from scipy import special

    return float(special.ndtri(1.0 - alpha / 2.0)) if alpha > 0 else math.inf


def look(metric, y_true, y_pred, *, population: int, band: Band, alpha: float, context: dict | None = None,
         resamples: int = 2000, seed: int = 0, strata: dict | None = None) -> Look:
    """Judge one slice: its estimate, its interval at 1 - alpha, and the band's verdict on it.

    ``metric``: a registry Metric; its uncertainty picks the interval (exact finite-population
    posterior for a proportion, corrected bootstrap otherwise). ``context``: what the metric's
    functions need (the positive label). ``strata``: the split's row count per label when the
    slice is stratified by label.
    """
    from harness import metrics as registry
    from harness.judge import statistics as st

    metric = st.resolve(metric)
    context = context or {}
    estimate = float(metric.value(y_true, y_pred, **context))
    n = len(y_true)
    f = fpc.factor(n, population)
    if n >= population:
        return Look(n, estimate, estimate, estimate, 0.0, "whole split (exact)", 0.0, None, 0.0,
                    1.0 if band.contains(estimate) else 0.0, decide(estimate, estimate, band))
    if metric.uncertainty == registry.PROPORTION:
        (right,) = metric.samples(y_true, y_pred, **context)
        right = np.asarray(right, dtype=bool)
        k = int(np.count_nonzero(right))
        stratified = strata if metric.stratified else None
        parts = fpc.strata_of(right, np.asarray(y_true) if stratified else None, stratified, population)
        low, high = fpc.proportion_interval(parts, alpha)
        prob = fpc.proportion_probability(parts, band.contains)
        smooth = (k + 0.5) / (n + 1.0)
        sd = math.sqrt(smooth * (1.0 - smooth))
        method = "beta-binomial (Jeffreys, finite population" + (", by label)" if stratified else ")")
        return Look(n, estimate, low, high, alpha, method, sd * f / math.sqrt(n), sd, f, prob, decide(low, high, band))
    unc = st.measure_uncertainty(metric, y_true, y_pred, level=1.0 - alpha, resamples=resamples, seed=seed,
                                 **context)
    if unc.method == "degenerate":
        # Every resample equal (e.g. no error in the slice): the slice shows no spread, which
        # says nothing about the unseen rows. Claim nothing rather than a zero-width interval.
        lo_b, hi_b = metric.range
        return Look(n, estimate, lo_b, hi_b, alpha, "degenerate slice (no spread seen): the metric's range",
                    (hi_b - lo_b) / 4, None, f, None, decide(lo_b, hi_b, band), unc.resamples, unc.seed)
    low, high = fpc.shrink(unc.estimate, unc.low, unc.high, f)
    se = unc.standard_error * f
    prob = _two_piece_probability(estimate, low, high, _z(alpha), band)
    sd = unc.standard_error * math.sqrt(n)
    return Look(n, estimate, low, high, alpha, unc.method + " (finite-population corrected)", se, sd, f, prob,
                decide(low, high, band), unc.resamples, unc.seed)


def _two_piece_probability(estimate: float, low: float, high: float, z: float, band: Band) -> float:
    """P(value in band) under the two-piece normal whose central 1 - alpha range is the interval.

    Built from the interval itself, so a verdict and its probability never disagree: an interval
    clear of the band gives at least 1 - alpha / 2 outside it.
    """
    from scipy import stats

    m = min(max(estimate, low), high)
    sl, sr = (m - low) / z, (high - m) / z
    if sl == 0 and sr == 0:
        return 1.0 if band.contains(m) else 0.0

    def below_or_at(x: float) -> float:     # P(value <= x)
        if x < m:
            return float(stats.norm.cdf((x - m) / sl)) if sl > 0 else 0.0
        return float(stats.norm.cdf((x - m) / sr)) if sr > 0 else 1.0

    below_low = (0.5 if sl > 0 else 0.0) if band.low == m else below_or_at(band.low)
    return float(min(1.0, max(0.0, below_or_at(band.high) - below_low)))


def sequential(schedule: Plan, observe: Callable[[int], tuple], judge_look: Callable[..., Look]) -> tuple[list[Look], str]:
    """Look at each planned size until a look decides; returns the looks and why it stopped.

    ``observe(n)`` gives (labels, predictions, seed) of the first n pairs of the nested order
    (running inference on the new ones); ``judge_look(y_true, y_pred, seed, alpha=..)`` judges them.
    """
    looks: list[Look] = []
    start = time.monotonic()
    for j, (n, alpha) in enumerate(zip(schedule.sizes, schedule.alphas)):
        looks.append(judge_look(*observe(n), alpha=alpha))
        if looks[-1].status in DECIDED:
            return looks, "decided"
        last = j == len(schedule.sizes) - 1
        if not last and schedule.max_seconds is not None and time.monotonic() - start > schedule.max_seconds:
            return looks, f"stopped: the {schedule.max_seconds:g} s cap was reached"
    if looks and looks[-1].status == INCONCLUSIVE and schedule.sizes[-1] < schedule.population:
        return looks, f"stopped: the cap of {schedule.sizes[-1]} pairs was reached" if schedule.grows \
            else "fixed slice"
    return looks, "schedule ended"
