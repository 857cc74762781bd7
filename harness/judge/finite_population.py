"""Finite-population inference: a reported dev-set number is a property of that split.

A paper's "MRPC dev F1" is computed on all N examples of the split, so the estimand is the
checkpoint's metric on that split, not a population value. A slice of n of the N examples is
a sample without replacement, and the whole split has no sampling error.

- Accuracy (a count of right answers): the unseen N - n examples hold K more right answers;
  with a Jeffreys prior on the rate, K is beta-binomial, so the split's accuracy has an exact
  posterior ``(k + K) / N``. Its central interval and its band probability come from that one
  distribution: the correction is built into the interval, and it stays honest at 407/408
  (where shrinking a Wilson interval about the estimate covered 76 %).
- Bootstrap metrics (F1, MCC): the interval is rescaled about the estimate by
  ``f = sqrt((N - n) / (N - 1))``, the standard correction of a standard error.
"""

from __future__ import annotations

import math


def factor(n: int, population: int) -> float:
    if population <= 1 or n >= population:
        return 0.0
    return math.sqrt((population - n) / (population - 1))


def shrink(estimate: float, low: float, high: float, f: float) -> tuple[float, float]:
    return estimate - (estimate - low) * f, estimate + (high - estimate) * f


def _unseen(k: int, n: int, population: int):
    from scipy import stats

    return stats.betabinom(population - n, k + 0.5, n - k + 0.5)


def proportion_interval(k: int, n: int, population: int, alpha: float) -> tuple[float, float]:
    """Central 1 - alpha interval for the split's proportion, given k of n right."""
    if n >= population:
        return k / population, k / population
    d = _unseen(k, n, population)
    lo = int(d.ppf(alpha / 2.0))
    hi = int(d.ppf(1.0 - alpha / 2.0))
    return (k + lo) / population, (k + hi) / population


def proportion_probability(k: int, n: int, population: int, low: float, high: float, contains) -> float:
    """P(split proportion in the band) under the same posterior; ``contains`` judges exactly."""
    if n >= population:
        return 1.0 if contains(k / population) else 0.0
    d = _unseen(k, n, population)
    m = population - n
    # The proportions (k + j) / N inside [low, high]: a contiguous run of j; find its ends, then
    # check the ends exactly (the band's edges are decimals, the proportions rationals).
    j_lo = max(0, math.floor(low * population) - k - 1)
    j_hi = min(m, math.ceil(high * population) - k + 1)
    inside = [j for j in range(j_lo, j_hi + 1) if 0 <= j <= m and contains((k + j) / population)]
    if not inside:
        return 0.0
    return float(min(1.0, max(0.0, d.cdf(inside[-1]) - d.cdf(inside[0] - 1))))


def sample_size_to_decide(sd: float, population: int, distance: float, z: float) -> int | None:
    """Smallest slice m whose corrected half-width z * sd * sqrt((N - m) / (m (N - 1))) is
    within ``distance`` of the nearer band edge, from the current estimate.

    ``sd`` is the per-example standard deviation (sqrt(n) times a slice's raw standard error).
    None when nothing can be said (no spread seen, or the estimate sits on an edge).
    """
    if not sd or sd <= 0 or not distance > 0 or population <= 1:
        return None
    s2 = sd * sd
    m = z * z * s2 * population / (distance * distance * (population - 1) + z * z * s2)
    return max(1, math.ceil(m - 1e-9))
