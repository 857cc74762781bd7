"""Exact finite-population intervals for metrics of counts, by inverting exact tests.

A dev-set number is a property of the split (finite_population.py). For a metric that is a
function of per-label counts (accuracy: right answers per label; binary F1 and MCC: true and
false positives), the split is described by one unknown count per label stratum, ``K_h`` of
the stratum's ``N_h`` rows, and a slice that takes ``n_h`` rows of stratum ``h`` sees ``k_h``
of them: hypergeometric, exactly, whether the slice was stratified (``n_h`` fixed by design)
or drawn at random (conditional on the ``n_h`` it happened to hold).

For every candidate split ``theta = (K_1, K_2)`` the chance of a slice statistic at least (at
most) as large as the one seen is an exact sum, ``P_up(theta)`` (``P_lo(theta)``); for all
candidates at once it is a product of two matrices of hypergeometric probabilities. The
interval at ``1 - alpha`` is ``[min F(theta) over P_up > alpha/2, max F(theta) over P_lo >
alpha/2]`` (F: the metric of the split). Whatever the split is, its value lies below the lower
end with probability at most alpha/2, and above the upper end at most alpha/2: a guarantee,
not an approximation, at every slice size (a slice of 2 pairs gets a wide, valid interval,
never a point). The statistic is the slice's own metric, so the interval is as narrow as an
exact one can be made without giving up the guarantee.

Splits too large for the full grid are pruned to each stratum's plausible range (at a cost of
at most ``PRUNE_SHARE`` of alpha, which the tests are run without) and, where the metric is
monotone in both counts, coarsened with each cell judged by its most favourable corner (so
the interval can only widen). Three or more strata (accuracy of a many-class task) combine
per-stratum exact intervals at alpha / H each (Bonferroni): valid, and wider.

``p_wrong(status, band)`` is the smallest alpha at which the same construction reaches the
same status (the status's exact p-value); ``looks`` turns it into ``confidence``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Share of alpha spent to restrict a large grid to each stratum's plausible counts.
PRUNE_SHARE = 1e-3
#: Largest grid (candidate splits) evaluated in full; larger ones are pruned, then coarsened.
MAX_GRID = 1_500_000
#: Largest side of a coarsened grid.
MAX_SIDE = 1200
#: Statistics this close are one value (ratios of counts computed in floats).
TIE = 1e-12


def _log_factorials(upto: int) -> np.ndarray:
    from scipy import special

    return special.gammaln(np.arange(upto + 2, dtype=np.float64) + 1.0)


def _pmf(population: int, seen: int, candidates: np.ndarray) -> np.ndarray:
    """P(k right among ``seen`` | K right among ``population``) for each candidate K: (len, seen + 1).

    From a table of log factorials (scipy's hypergeom.pmf is ten times slower on grids)."""
    lf = _log_factorials(population)
    K = np.asarray(candidates, dtype=np.int64)[:, None]
    k = np.arange(seen + 1, dtype=np.int64)[None, :]
    rest = population - K
    ok = (k <= K) & (seen - k <= rest)
    kk, rr = np.where(ok, k, 0), np.where(ok, seen - k, 0)
    log = (lf[K] - lf[kk] - lf[np.maximum(K - kk, 0)] + lf[rest] - lf[rr] - lf[np.maximum(rest - rr, 0)]
           - (lf[population] - lf[seen] - lf[population - seen]))
    return np.where(ok, np.exp(log), 0.0)


def _plausible(population: int, seen: int, right: int, tail: float) -> np.ndarray:
    """Candidate counts K whose one-sided exact p-values both exceed ``tail`` (all feasible ones if 0)."""
    from scipy import stats

    cand = np.arange(right, population - (seen - right) + 1)
    if tail <= 0 or cand.size < 3:
        return cand
    up = stats.hypergeom.sf(right - 1, population, cand, seen)
    lo = stats.hypergeom.cdf(right, population, cand, seen)
    keep = (up > tail) & (lo > tail)
    if not keep.any():
        return cand
    idx = np.flatnonzero(keep)
    return cand[max(0, idx[0] - 1): idx[-1] + 2]


@dataclass(frozen=True)
class Inversion:
    """Every candidate split's metric value and the exact tail probabilities of what was seen.

    ``value``: F(theta) per candidate (a lower corner when coarsened); ``value_hi``: an upper
    corner; ``up``/``lo``: P(statistic >= / <= seen | theta); ``weight``: the likelihood of the
    slice under theta (for the flat-prior probability); ``spent``: alpha already used to prune.
    """

    estimate: float
    value: np.ndarray
    value_hi: np.ndarray
    up: np.ndarray
    lo: np.ndarray
    weight: np.ndarray
    spent: float = 0.0
    method: str = "exact finite-population (test inversion)"

    def interval(self, alpha: float) -> tuple[float, float]:
        cut = max(alpha / 2.0 - self.spent, 0.0)
        keep_low = self.up > cut
        keep_high = self.lo > cut
        low = float(self.value[keep_low].min()) if keep_low.any() else float(self.value.min())
        high = float(self.value_hi[keep_high].max()) if keep_high.any() else float(self.value_hi.max())
        return low, high

    def p_wrong(self, status: str, low: float, high: float) -> float:
        """Smallest alpha at which this construction reaches ``status`` against band [low, high]."""
        from harness.judge.band import NOT_REPRODUCED, REPRODUCED

        def sup(mask, tail):
            return float(tail[mask].max()) if mask.any() else 0.0

        if status == REPRODUCED:
            below = sup(self.value < low - TIE, self.up)
            above = sup(self.value_hi > high + TIE, self.lo)
            return min(1.0, 2.0 * (max(below, above) + self.spent))
        if status == NOT_REPRODUCED:
            # Wrong when the split's value is in the band: the worst such split's tail.
            inside_lo = self.value <= high + TIE
            inside_hi = self.value_hi >= low - TIE
            a_above = sup(inside_lo, self.up)        # the interval sits above the band
            a_below = sup(inside_hi, self.lo)        # ... or below it
            return min(1.0, 2.0 * (min(a_above, a_below) + self.spent))
        return 1.0

    def probability_in(self, low: float, high: float) -> float:
        """P(split value in [low, high]) under a flat prior on the candidate splits."""
        total = float(self.weight.sum())
        if total <= 0:
            return 0.0
        mid = (self.value + self.value_hi) / 2.0
        inside = (mid >= low - TIE) & (mid <= high + TIE)
        return float(min(1.0, max(0.0, self.weight[inside].sum() / total)))


def one_stratum(population: int, seen: int, right: int) -> Inversion:
    """A proportion of a simple random slice: K right among the split's rows, hypergeometric."""
    from scipy import stats

    cand = np.arange(right, population - (seen - right) + 1)
    up = stats.hypergeom.sf(right - 1, population, cand, seen)
    lo = stats.hypergeom.cdf(right, population, cand, seen)
    weight = stats.hypergeom.pmf(right, population, cand, seen)
    value = cand / population
    return Inversion(right / seen, value, value, np.nan_to_num(up), np.nan_to_num(lo), np.nan_to_num(weight),
                     method="exact finite-population (hypergeometric)")


def two_strata(strata, metric: Callable, statistic: Callable, *, monotone: tuple[int, int] | None,
               alpha: float) -> Inversion | None:
    """Two label strata, each (seen right, seen, rows); ``metric(K1, K2)`` the split's value,
    ``statistic(k1, k2)`` the slice's (both vectorized). ``monotone``: the signs in which both
    increase with (K1, K2), or None. None when the split is too large for an exact answer.
    """
    (k1, n1, N1), (k2, n2, N2) = strata
    spent = 0.0
    c1 = np.arange(k1, N1 - (n1 - k1) + 1)
    c2 = np.arange(k2, N2 - (n2 - k2) + 1)
    if c1.size * c2.size > MAX_GRID:
        tail = alpha * PRUNE_SHARE / 4.0
        c1, c2 = _plausible(N1, n1, k1, tail), _plausible(N2, n2, k2, tail)
        spent = alpha * PRUNE_SHARE / 2.0
    step1 = step2 = 1
    if c1.size * c2.size > MAX_GRID:
        if monotone is None:
            return None
        step1, step2 = max(1, math.ceil(c1.size / MAX_SIDE)), max(1, math.ceil(c2.size / MAX_SIDE))
    # Each grid point starts a cell of ``step`` counts; a cell is judged at its corners: the
    # upper tail where the statistic is largest, the lower tail where it is smallest, and the
    # metric's extremes the same way, so coarsening can only widen the interval.
    (top1, bottom1), (top2, bottom2) = _corners(c1, step1, monotone, 0), _corners(c2, step2, monotone, 1)
    s = statistic(np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :])
    seen_stat = float(statistic(np.asarray(k1), np.asarray(k2)))
    up = _pmf(N1, n1, top1) @ (s >= seen_stat - TIE).astype(float) @ _pmf(N2, n2, top2).T
    lo = _pmf(N1, n1, bottom1) @ (s <= seen_stat + TIE).astype(float) @ _pmf(N2, n2, bottom2).T
    from scipy import stats

    weight = np.outer(stats.hypergeom.pmf(k1, N1, top1, n1), stats.hypergeom.pmf(k2, N2, top2, n2))
    shape = (top1.size, top2.size)
    value = np.broadcast_to(metric(bottom1[:, None], bottom2[None, :]), shape)
    value_hi = np.broadcast_to(metric(top1[:, None], top2[None, :]), shape)
    return Inversion(seen_stat, value.ravel(), value_hi.ravel(), np.clip(up, 0, 1).ravel(),
                     np.clip(lo, 0, 1).ravel(), np.nan_to_num(weight).ravel(), spent)


def _corners(cand: np.ndarray, step: int, monotone, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(count where the statistic is largest, where smallest) for each cell of ``step`` counts."""
    if step == 1:
        return cand, cand
    starts = cand[::step]
    ends = np.minimum(starts + step - 1, cand[-1])
    return (ends, starts) if monotone[axis] > 0 else (starts, ends)


def bonferroni(strata, alpha: float) -> tuple[float, float]:
    """Three or more strata: per-stratum exact intervals at alpha / H, summed."""
    h = len(strata)
    population = sum(rows for _, _, rows in strata)
    low = high = 0.0
    for k, n, rows in strata:
        if n == 0:
            high += rows
            continue
        lo, hi = one_stratum(rows, n, k).interval(alpha / h)
        low += lo * rows
        high += hi * rows
    return low / population, high / population
