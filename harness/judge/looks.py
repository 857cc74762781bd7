"""Growing slices: look at n pairs, and look again at more only while the verdict is open.

A micro-slice is the first look, not the last. The looks follow a schedule fixed before any
prediction is seen (start, doubled, then the whole split once doubling passes 3/4 of it), and
each slice is a prefix of one nested, stratified order, so every earlier pair is reused.

Error spending: the whole split has no sampling error (its interval is a point and its verdict
cannot be wrong about the split), so the miss rate alpha is spent only on the looks before it,
alpha_j = alpha * (g(t_j) - g(t_{j-1})) with Pocock's shape g(t) = ln(1 + (e - 1) t) on the
share t of the sampling looks' pairs. Each look's interval misses the split's value on either
side with probability at most alpha_j / 2 (exactly so for the exact intervals of
harness.judge.inversion), so by the union bound over looks and sides:

- a claim whose value lies inside the band is called ``not_reproduced`` at most alpha of the
  time (an interval clear of the band on either side misses the value), whatever the slice
  size, the start and the number of looks;
- a claim whose value lies outside the band is called ``reproduced`` at most alpha / 2 of the
  time (only a miss on the side of the value can put the interval inside the band).

``GUARANTEE`` names those figures; bootstrap intervals (metrics that are no function of label
counts) only approximate them, and the artifact says which holds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from harness.judge import finite_population as fpc
from harness.judge.band import DECIDED, INCONCLUSIVE, Band, decide


#: What the construction guarantees, as a share of alpha (see the module doc).
FALSE_NOT_REPRODUCED_SHARE = 1.0
FALSE_REPRODUCED_SHARE = 0.5


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
         max_pairs: int | None = None, max_seconds: float | None = None, minimum: int = 1) -> Plan:
    """The look schedule for a slice of ``start`` pairs of a split of ``population``.

    ``minimum``: the metric's smallest valid slice; a slice below it is refused (ValueError),
    and so is a cap below the start (it would silently shrink the slice).
    """
    if population < 1:
        raise ValueError("the split is empty")
    if int(start) < minimum and int(start) < population:
        raise ValueError(f"a slice of {int(start)} is below the metric's smallest valid slice ({minimum})")
    if max_pairs is not None and int(max_pairs) < min(int(start), population):
        raise ValueError(f"max_pairs {int(max_pairs)} is below the slice size {int(start)}: the slice would "
                         "silently shrink; raise max_pairs or lower the size")
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
    p_in_band: float | None        # flat prior on the split's value; None: the slice says nothing
    status: str
    resamples: int | None = None
    seed: int | None = None
    #: Smallest alpha at which this look's construction reaches its status (its p-value);
    #: None when undecided. 0 on the whole split.
    p_wrong: float | None = None
    exact: bool = False            # the interval's level is guaranteed, not approximate
    undecidable: str | None = None  # why this look cannot decide anything (then the interval is the range)

    @property
    def level(self) -> float:
        return round(1.0 - self.alpha, 6)

    def to_dict(self) -> dict:
        return {"n": self.n, "estimate": self.estimate, "interval": [self.low, self.high],
                "level": self.level, "method": self.method, "level_guaranteed": self.exact,
                "standard_error": self.standard_error, "finite_population_factor": self.fpc_factor,
                "p_in_band": None if self.p_in_band is None else round(self.p_in_band, 6),
                "p_value": None if self.p_wrong is None else round(self.p_wrong, 8), "status": self.status,
                **({"undecidable": self.undecidable} if self.undecidable else {})}


def _z(alpha: float) -> float:
    from scipy import special

    return float(special.ndtri(1.0 - alpha / 2.0)) if alpha > 0 else math.inf


def look(metric, y_true, y_pred, *, population: int, band: Band, alpha: float, context: dict | None = None,
         resamples: int = 2000, seed: int = 0, strata: dict | None = None) -> Look:
    """Judge one slice: its estimate, its interval at 1 - alpha, and the band's verdict on it.

    ``metric``: a registry Metric. Proportions, and metrics of the binary confusion counts when
    the split's label counts are known (``strata``: rows per label), get the exact
    finite-population interval (harness.judge.inversion); anything else the corrected bootstrap,
    which decides nothing below the metric's smallest valid slice or where it collapses.
    ``context``: what the metric's functions need (the positive label).
    """
    from harness.judge import statistics as st

    metric = st.resolve(metric)
    context = context or {}
    estimate = float(metric.value(y_true, y_pred, **context))
    n = len(y_true)
    f = fpc.factor(n, population)
    if n >= population:
        status = decide(estimate, estimate, band)
        return Look(n, estimate, estimate, estimate, 0.0, "whole split (exact)", 0.0, None, 0.0,
                    1.0 if band.contains(estimate) else 0.0, status, p_wrong=0.0, exact=True)
    found = _exact(metric, y_true, y_pred, population, strata, context, alpha)
    if found is not None:
        return _exact_look(found, n, estimate, alpha, f, band)
    return _bootstrap_look(metric, y_true, y_pred, n, estimate, f, band, alpha, resamples, seed, context)


def _exact(metric, y_true, y_pred, population, strata, context, alpha):
    """(method, Inversion or (low, high)) for an exactly judged metric, else None."""
    from harness import metrics as registry
    from harness.judge import inversion

    if metric.uncertainty == registry.PROPORTION:
        (right,) = metric.samples(y_true, y_pred, **context)
        stratified = strata if metric.stratified else None
        parts = fpc.strata_of(right, np.asarray(y_true) if stratified else None, stratified, population)
        if len(parts) == 1:
            return "hypergeometric", inversion.one_stratum(parts[0][2], parts[0][1], parts[0][0])
        if len(parts) == 2:
            (k1, n1, N1), (k2, n2, N2) = parts

            def metric_of(a, b):
                return (a + b) / (N1 + N2)

            def statistic(a, b):
                est = (N1 * np.divide(a, n1) if n1 else 0 * a) + (N2 * np.divide(b, n2) if n2 else 0 * b)
                return est / (N1 + N2)

            return "by label", inversion.two_strata(parts, metric_of, statistic, monotone=(1, 1), alpha=alpha)
        return "by label, Bonferroni", tuple(parts)
    if metric.from_counts is None or not strata or len(strata) != 2:
        return None
    positive = context.get("positive", 1)
    if positive not in strata:
        return None
    t = np.asarray(y_true) == positive
    p = np.asarray(y_pred) == positive
    (negative,) = [lab for lab in strata if lab != positive]
    n1, n2 = int(t.sum()), int((~t).sum())
    N1, N2 = int(strata[positive]), int(strata[negative])
    parts = ((int((t & p).sum()), n1, N1), (int((~t & p).sum()), n2, N2))
    of = metric.from_counts

    def metric_of(tp, fp):
        return of(tp, fp, N1 - tp, N2 - fp)

    def statistic(tp, fp):
        return of(tp, fp, n1 - tp, n2 - fp)

    found = inversion.two_strata(parts, metric_of, statistic, monotone=(1, -1) if metric.monotone else None,
                                 alpha=alpha)
    return None if found is None else ("by label", found)


def _exact_look(found, n, estimate, alpha, f, band) -> Look:
    method, result = found
    z = _z(alpha)
    if isinstance(result, tuple):     # three or more strata: Bonferroni, no grid
        from harness.judge import inversion

        low, high = inversion.bonferroni(result, alpha)
        status = decide(low, high, band)
        p_wrong = _bisect_p(lambda a: decide(*inversion.bonferroni(result, a), band), status) \
            if status in DECIDED else None
        prob = fpc.proportion_probability(list(result), band.contains)
    else:
        low, high = result.interval(alpha)
        status = decide(low, high, band)
        p_wrong = result.p_wrong(status, band.low, band.high) if status in DECIDED else None
        prob = result.probability_in(band.low, band.high)
    se = (high - low) / (2.0 * z) if math.isfinite(z) and z > 0 else 0.0
    sd = se / f * math.sqrt(n) if f > 0 else None
    return Look(n, estimate, low, high, alpha, f"exact finite-population ({method})", se, sd, f, prob, status,
                p_wrong=p_wrong, exact=True)


def _bisect_p(decides_at, status: str) -> float:
    """Smallest alpha whose interval still reaches ``status`` (intervals nest as alpha grows)."""
    lo, hi = 0.0, 1.0
    if decides_at(hi) != status:
        return 1.0
    for _ in range(30):
        mid = (lo + hi) / 2.0
        if decides_at(mid) == status:
            hi = mid
        else:
            lo = mid
    return hi


def _bootstrap_look(metric, y_true, y_pred, n, estimate, f, band, alpha, resamples, seed, context) -> Look:
    """The corrected bootstrap: approximate; it decides nothing on a slice below the metric's
    smallest valid one, and nothing where it collapses (every replicate equal, or BCa undefined
    and the percentile interval a point): such a look reports the metric's range."""
    from harness.judge import statistics as st
    from harness.metrics import BOOTSTRAP_MIN_SLICE

    def undecidable(why, unc=None, label="undecidable slice"):
        lo_b, hi_b = metric.range
        hi_b = max(1.0, abs(estimate)) * 10 if hi_b is None else hi_b
        return Look(n, estimate, lo_b, hi_b, alpha, f"{label}: {why}; undecidable, the interval is the metric's range",
                    (hi_b - lo_b) / 4, None, f, None, decide(lo_b, hi_b, band),
                    None if unc is None else unc.resamples, None if unc is None else unc.seed, undecidable=why)

    smallest = max(metric.min_slice, BOOTSTRAP_MIN_SLICE)
    if n < smallest:
        return undecidable(f"{n} examples, below the {smallest} a bootstrap interval needs")
    unc = st.measure_uncertainty(metric, y_true, y_pred, level=1.0 - alpha, resamples=resamples, seed=seed,
                                 **context)
    if unc.method == "degenerate":
        return undecidable("no spread seen (every resample gives the same value)", unc, "degenerate slice")
    if unc.method != "bootstrap-bca" and unc.high - unc.low <= st.DEGENERATE_SPREAD:
        return undecidable("BCa undefined and the percentile interval is a point", unc, "degenerate slice")
    low, high = fpc.shrink(unc.estimate, unc.low, unc.high, f)
    se = unc.standard_error * f
    z = _z(alpha)
    prob = _two_piece_probability(estimate, low, high, z, band)
    status = decide(low, high, band)
    p_wrong = _two_piece_p(estimate, low, high, z, band, status) if status in DECIDED else None
    sd = unc.standard_error * math.sqrt(n)
    return Look(n, estimate, low, high, alpha, unc.method + " (finite-population corrected; approximate)", se, sd,
                f, prob, status, unc.resamples, unc.seed, p_wrong=p_wrong)


def _two_piece_probability(estimate: float, low: float, high: float, z: float, band: Band) -> float:
    """P(value in band) under the two-piece normal whose central 1 - alpha range is the interval."""
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


def _two_piece_p(estimate: float, low: float, high: float, z: float, band: Band, status: str) -> float:
    """The smallest alpha at which the two-piece normal's interval reaches ``status``."""
    from scipy import stats

    m = min(max(estimate, low), high)
    sl, sr = max((m - low) / z, 1e-300), max((high - m) / z, 1e-300)
    below = float(stats.norm.cdf((band.low - m) / sl))      # alpha/2 at which the low end meets band.low
    above = float(stats.norm.sf((band.high - m) / sr))
    if status == "reproduced":
        return min(1.0, 2.0 * max(below, above))
    # not_reproduced: the interval sits above (low end past band.high) or below the band.
    if m > band.high:
        return min(1.0, 2.0 * float(stats.norm.cdf((band.high - m) / sl)))
    return min(1.0, 2.0 * float(stats.norm.sf((band.low - m) / sr)))


class Steps:
    """The looks of one schedule, taken one at a time by whoever measures them:

        steps = Steps(schedule)
        while (step := steps.next()) is not None:
            n, alpha = step
            steps.add(look(...first n examples..., alpha=alpha))
        steps.looks, steps.stopped

    A look that decides ends them, so does the schedule's time cap (counted from here) before
    its last size; ``stopped`` then says why."""

    def __init__(self, schedule: Plan):
        self.schedule = schedule
        self.looks: list[Look] = []
        self.stopped: str | None = None
        self._start = time.monotonic()

    def next(self) -> tuple[int, float] | None:
        """(n, alpha) of the next look, or None once the looks are over."""
        if self.stopped is None and len(self.looks) == len(self.schedule.sizes):
            self.stopped = self._ended()
        if self.stopped is not None:
            return None
        j = len(self.looks)
        return self.schedule.sizes[j], self.schedule.alphas[j]

    def add(self, taken: Look) -> None:
        schedule = self.schedule
        self.looks.append(taken)
        if taken.status in DECIDED:
            self.stopped = "decided"
            return
        last = len(self.looks) == len(schedule.sizes)
        if not last and schedule.max_seconds is not None and time.monotonic() - self._start > schedule.max_seconds:
            self.stopped = f"stopped: the {schedule.max_seconds:g} s cap was reached"

    def _ended(self) -> str:
        schedule, looks = self.schedule, self.looks
        if looks and looks[-1].status == INCONCLUSIVE and schedule.sizes[-1] < schedule.population:
            return f"stopped: the cap of {schedule.sizes[-1]} pairs was reached" if schedule.grows else "fixed slice"
        return "schedule ended"


