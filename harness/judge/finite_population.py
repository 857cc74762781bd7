"""Finite-population correction: a reported dev-set number is a property of that split.

A paper's "MRPC dev F1" is computed on all N examples of the split, so the estimand is that
split's metric, not a population value. A slice of n of those N examples is a sample
without replacement: its uncertainty shrinks by f = sqrt((N - n) / (N - 1)), and a slice of
the whole split has none (f = 0). We rescale the interval (and the bootstrap replicates,
for the band probability) about the estimate by f. Model-to-model variation (re-training)
is not sampling error; the claim's tolerance carries it.
"""

from __future__ import annotations

import math


def factor(n: int, population: int) -> float:
    if population <= 1 or n >= population:
        return 0.0
    return math.sqrt((population - n) / (population - 1))


def shrink(estimate: float, low: float, high: float, f: float) -> tuple[float, float]:
    return estimate - (estimate - low) * f, estimate + (high - estimate) * f


def prob_in_band(unc, band_low: float, band_high: float, f: float) -> float:
    """P(corrected replicate in band) = P(raw replicate in the band mapped back by 1/f)."""
    est = unc.estimate
    if f == 0.0:
        return 1.0 if band_low <= est <= band_high else 0.0
    return unc.prob_within(est + (band_low - est) / f, est + (band_high - est) / f)


def slice_size_needed(se_raw: float, n: int, population: int, half_width: float, z: float) -> int | None:
    """Smallest slice whose corrected interval half-width z*SE fits in half_width.

    Per-example variance s^2 = n * SE_raw^2; solve z^2 s^2 (N - m) / (m (N - 1)) <= w^2 for m.
    """
    if half_width <= 0 or se_raw is None or se_raw <= 0:
        return None
    s2 = n * se_raw ** 2
    m = z * z * s2 * population / (half_width ** 2 * (population - 1) + z * z * s2)
    return min(population, math.ceil(m))
