"""Finite-population inference: a reported dev-set number is a property of that split.

A paper's "MRPC dev F1" is computed on all N examples of the split, so the estimand is the
checkpoint's metric on that split, not a population value. A slice of n of the N examples is
a sample without replacement, and the whole split has no sampling error.

- Accuracy (a count of right answers): its interval is the exact hypergeometric inversion
  (harness.judge.inversion), per label stratum where the slice is stratified. What this module
  adds is the band probability of a slice in three or more strata (``proportion_probability``):
  the unseen N - n examples hold K more right answers, beta-binomial under a Jeffreys prior on
  each stratum's rate, the strata's counts added by convolution.
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


def _unseen_total(strata) -> tuple[int, "np.ndarray"]:
    """Right answers seen, and the distribution of right answers among the unseen rows.

    ``strata``: (right, seen, rows in the split) per stratum; each stratum's unseen count is
    beta-binomial (Jeffreys), and the strata add up (a convolution).
    """
    import numpy as np
    from scipy import stats

    seen_right, pmf = 0, np.ones(1)
    for k, n, rows in strata:
        seen_right += k
        if rows > n:
            pmf = np.convolve(pmf, stats.betabinom(rows - n, k + 0.5, n - k + 0.5).pmf(np.arange(rows - n + 1)))
    return seen_right, pmf / pmf.sum()


def proportion_probability(strata, contains) -> float:
    """P(split proportion in the band) under the posterior above; ``contains`` judges exactly."""
    population = sum(rows for _, _, rows in strata)
    seen, pmf = _unseen_total(strata)
    mass = sum(float(p) for j, p in enumerate(pmf) if contains((seen + j) / population))
    return float(min(1.0, max(0.0, mass)))


def strata_of(correct, labels, split_counts: dict | None, population: int) -> list[tuple[int, int, int]]:
    """(right, seen, rows) per label for a stratified slice; one stratum for a simple one."""
    import numpy as np

    correct = np.asarray(correct, dtype=bool)
    if not split_counts:
        return [(int(correct.sum()), int(correct.size), int(population))]
    labels = np.asarray(labels)
    return [(int(correct[labels == lab].sum()), int((labels == lab).sum()), int(rows))
            for lab, rows in sorted(split_counts.items())]


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
