"""Pearson and Spearman correlation of scores with labels, and their bootstrap interval.

For regression tasks such as GLUE STS-B (a similarity score 0..5 per sentence pair), where a
model card reports e.g. "Pearson 0.906". The values come from ``scipy.stats.pearsonr`` and
``spearmanr``; the interval is a paired non-parametric bootstrap of the (label, score) pairs
(``scipy.stats.bootstrap``), BCa like the project's other non-proportion metrics.

A correlation is undefined when either side is constant (zero variance) and meaningless on
fewer than 3 pairs (two points always lie on a line: r = +-1). The point functions raise
``MeasurementError`` for both rather than return NaN. The vectorized statistics, which
``scipy.stats.bootstrap`` calls on thousands of resamples at once, cannot raise for one
resample: a resample with a constant side gives NaN there, and ``correlation_interval``
says what it does with those (drops and counts them).

numpy and scipy are imported inside the functions: the metric registry imports every
module of this package, and importing it must stay cheap.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

from harness.errors import MeasurementError

#: Metrics this module computes, by the name claims and papers write.
CORRELATIONS = ("pearson", "spearman")

#: A correlation's closed range; intervals are clipped to it.
RANGE = (-1.0, 1.0)

#: Fewest pairs a correlation is measured on.
MIN_PAIRS = 3

#: Replicates this close together are one number: float rounding of a correlation (whose
#: replicates of a perfect relation differ in the last bit), far below any printed digit.
DEGENERATE_SPREAD = 1e-12

# Largest number of array elements one vectorized bootstrap batch may gather (resamples x
# pairs); bounds memory for big slices without slowing small ones (as judge/statistics.py).
_BATCH_ELEMENTS = 4_000_000


def _pairs(y_true, y_pred):
    """Validated float64 arrays (labels, predictions); MeasurementError names what is wrong."""
    import numpy as np

    try:
        t = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MeasurementError(f"labels and predictions must be numbers: {exc}") from None
    if t.ndim != 1 or p.ndim != 1:
        raise MeasurementError(f"labels and predictions must be 1-D, got shapes {t.shape} and {p.shape}")
    if t.shape != p.shape:
        raise MeasurementError(f"{t.shape[0]} labels but {p.shape[0]} predictions: they must pair one to one")
    if t.shape[0] < MIN_PAIRS:
        raise MeasurementError(f"a correlation needs at least {MIN_PAIRS} pairs, got {t.shape[0]} "
                               "(on 2 points it is always +-1)")
    for name, a in (("labels", t), ("predictions", p)):
        bad = int(np.count_nonzero(~np.isfinite(a)))
        if bad:
            raise MeasurementError(f"{bad} of {a.shape[0]} {name} are not finite numbers (NaN or inf)")
        if np.all(a == a[0]):
            raise MeasurementError(f"the correlation is undefined: all {a.shape[0]} {name} are the same "
                                   f"value ({a[0]!r}), so they have no variance")
    return t, p


def pearson(y_true, y_pred) -> float:
    """Pearson's r of predictions with labels (``scipy.stats.pearsonr``), in [-1, 1].

    MeasurementError for fewer than 3 pairs, unequal lengths, non-finite values or a
    constant side (r undefined); never NaN.
    """
    from scipy import stats

    t, p = _pairs(y_true, y_pred)
    return float(stats.pearsonr(t, p).statistic)


def spearman(y_true, y_pred) -> float:
    """Spearman's rho (``scipy.stats.spearmanr``: Pearson of average ranks), in [-1, 1].

    Same errors as ``pearson``.
    """
    from scipy import stats

    t, p = _pairs(y_true, y_pred)
    return float(stats.spearmanr(t, p).statistic)


def pearson_statistic(x, y, axis: int = -1):
    """Pearson's r along ``axis`` of broadcastable arrays: the form scipy.stats.bootstrap calls.

    Each 1-D slice along ``axis`` is one sample of pairs (a bootstrap resample); leading axes
    are independent. Equals ``pearsonr`` on each slice to rounding (tests check 1e-12), and is
    clipped to [-1, 1] as pearsonr is. A slice whose x or y is constant gives NaN (r is
    undefined there); the caller decides what that means (``correlation_interval`` drops and
    counts such replicates). Returns a float for 1-D input, else an array.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x, y = np.broadcast_arrays(x, y)
    x = np.moveaxis(x, axis, -1)
    y = np.moveaxis(y, axis, -1)
    xm = x - x.mean(axis=-1, keepdims=True)
    ym = y - y.mean(axis=-1, keepdims=True)
    # Divide each side by its largest deviation before squaring (as pearsonr does): the sums
    # of squares cannot overflow or underflow for very large or very small scores.
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.max(np.abs(xm), axis=-1, keepdims=True)
        ys = np.max(np.abs(ym), axis=-1, keepdims=True)
        xm = xm / xs
        ym = ym / ys
        sxx = np.sqrt(np.einsum("...i,...i->...", xm, xm))
        syy = np.sqrt(np.einsum("...i,...i->...", ym, ym))
        r = np.einsum("...i,...i->...", xm, ym) / (sxx * syy)
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    r = np.where(constant, np.nan, np.clip(r, -1.0, 1.0))
    return float(r) if r.ndim == 0 else r


def spearman_statistic(x, y, axis: int = -1):
    """Spearman's rho along ``axis``: Pearson of ranks, ties given their average rank.

    Each slice along ``axis`` is ranked on its own (``method="average"``), as ``spearmanr``
    ranks its input, so a bootstrap resample's repeated pairs (ties) are ranked exactly as
    spearmanr would rank them. Constant side -> NaN, as ``pearson_statistic``.

    Non-negative integer input (the rank codes ``spearman_samples`` gives) is ranked by
    counting instead of ``scipy.stats.rankdata``: the same average ranks, exactly, about 20x
    faster on bootstrap batches (rankdata spends ~1 s per 2000 resamples of 1500 pairs).
    """
    import numpy as np

    x = np.asarray(x)
    y = np.asarray(y)
    x, y = np.broadcast_arrays(x, y)
    return pearson_statistic(_average_ranks(x, axis), _average_ranks(y, axis), axis=axis)


def _average_ranks(a, axis: int):
    """``scipy.stats.rankdata(a, method="average", axis=axis)``, by counting for small codes."""
    import numpy as np
    from scipy import stats

    if a.dtype.kind not in "iu" or a.size == 0 or a.min() < 0:
        return stats.rankdata(a, method="average", axis=axis)
    a = np.moveaxis(a, axis, -1)
    n, k = a.shape[-1], int(a.max()) + 1
    rows = a.reshape(-1, n)
    m = rows.shape[0]
    if m * k > 2 * _BATCH_ELEMENTS:     # sparse codes: the count table would be too big
        return np.moveaxis(stats.rankdata(a, method="average", axis=-1), -1, axis)
    # counts[r, v]: how often code v occurs in row r; a code's average rank is the number of
    # smaller entries plus (its count + 1) / 2.
    counts = np.bincount((rows + (np.arange(m) * k)[:, None]).ravel(), minlength=m * k).reshape(m, k)
    table = np.cumsum(counts, axis=1) - (counts - 1) / 2.0
    ranks = np.take_along_axis(table, rows, axis=1).reshape(a.shape)
    return np.moveaxis(ranks, -1, axis)


def rank_codes(a):
    """Dense order codes of a 1-D array: 0 for its smallest value, ties share a code (int64).

    An order-preserving map, so every rank (and Spearman's rho) of any resample is the same
    for the codes as for the values.
    """
    import numpy as np

    return np.unique(np.asarray(a), return_inverse=True)[1].astype(np.int64).reshape(-1)


def pearson_samples(y_true, y_pred):
    """What a bootstrap of Pearson's r resamples (``paired=True``): the validated labels and
    predictions as float64 arrays, pairs in a canonical order.

    A correlation depends only on the multiset of pairs, so sorting them (by label, then
    prediction) makes a seeded bootstrap interval independent of the slice's order. Errors
    as ``pearson``.
    """
    import numpy as np

    t, p = _pairs(y_true, y_pred)
    order = np.lexsort((p, t))
    return t[order], p[order]


def spearman_samples(y_true, y_pred):
    """As ``pearson_samples``, each side replaced by its ``rank_codes``: Spearman's rho of
    every resample is unchanged and ``spearman_statistic`` takes its fast counting path."""
    t, p = pearson_samples(y_true, y_pred)
    return rank_codes(t), rank_codes(p)


_VALUES = {"pearson": pearson, "spearman": spearman}
_STATISTICS = {"pearson": pearson_statistic, "spearman": spearman_statistic}
_SAMPLES = {"pearson": pearson_samples, "spearman": spearman_samples}


def _check_metric(metric: str) -> None:
    if metric not in CORRELATIONS:
        raise ValueError(f"unknown correlation {metric!r}; expected one of {', '.join(CORRELATIONS)}")


def value(metric: str, y_true, y_pred) -> float:
    """``pearson`` or ``spearman`` by name."""
    _check_metric(metric)
    return _VALUES[metric](y_true, y_pred)


def statistic(metric: str):
    """The vectorized ``statistic(x, y, axis=-1)`` of ``metric`` (for scipy.stats.bootstrap)."""
    _check_metric(metric)
    return _STATISTICS[metric]


def samples(metric: str, y_true, y_pred):
    """``pearson_samples`` or ``spearman_samples`` by name: the paired arrays to resample."""
    _check_metric(metric)
    return _SAMPLES[metric](y_true, y_pred)


class CorrelationInterval(NamedTuple):
    """A correlation on a slice with its two-sided bootstrap interval.

    ``method``: ``"bootstrap-bca"``, ``"bootstrap-percentile"`` (BCa undefined for this
    slice) or ``"degenerate"`` (every defined replicate equal: zero-width interval at the
    estimate, standard error 0). ``standard_error``: sd (ddof 1) of the defined replicates.
    ``undefined``: replicates dropped because the resample had a constant side (NaN).
    ``n``: pairs measured.
    """

    estimate: float
    low: float
    high: float
    standard_error: float
    method: str
    n: int
    undefined: int


def correlation_interval(metric: str, y_true, y_pred, *, level: float = 0.95, resamples: int = 2000,
                         seed: int = 0) -> CorrelationInterval:
    """``metric`` ("pearson" or "spearman") of the slice, with a bootstrap interval at ``level``.

    ``scipy.stats.bootstrap`` over the (label, prediction) pairs (``paired=True``,
    ``vectorized=True``) of ``samples(metric, ...)`` reduced by ``statistic(metric)``,
    ``resamples`` resamples from ``np.random.default_rng(seed)``: deterministic for a seed and
    independent of the order of the examples (the estimate, too, is computed on the pairs in
    that canonical order: it may differ from ``value(metric, y_true, y_pred)`` in the last bit).

    Undefined replicates: a resample can draw pairs whose labels (or predictions) are all
    equal, and the correlation of that resample is NaN. Those replicates are dropped and
    counted (``undefined``), not set to some number: they carry no information about the
    correlation, and any number put in their place would be invented. Dropping them
    conditions the bootstrap on a defined correlation, as the estimate itself is. It only
    happens on tiny slices (with n distinct labels, a resample is constant with probability
    n**(1-n)); when more than the interval's tail share ((1 - level) / 2) of the
    replicates are undefined, dropping them could move an interval edge by a whole tail and
    MeasurementError says the slice is too small instead.

    Interval: BCa on the defined replicates (bias and skew corrected: r near 1 is skewed);
    percentile interval of the same replicates where BCa is undefined (NaN: all replicates on
    one side of the estimate, or a jackknife leave-one-out sample with a constant side);
    "degenerate" where every defined replicate is equal to rounding (spread under
    ``DEGENERATE_SPREAD``; e.g. Spearman of a monotone relation: rho is 1 on every resample,
    give or take the last bit). Clipped to [-1, 1].

    MeasurementError as ``pearson`` for bad input; ValueError for an unknown metric, a
    level outside (0, 1) or resamples < 1.
    """
    import dataclasses

    import numpy as np
    from scipy import stats

    _check_metric(metric)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")
    resamples = int(resamples)
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    # The estimate from the pairs in canonical order too: a sum's last bit depends on the order
    # of its terms, and the result should not.
    estimate = value(metric, *pearson_samples(y_true, y_pred))
    data = samples(metric, y_true, y_pred)
    n = int(data[0].shape[0])
    stat = statistic(metric)
    batch = max(1, min(resamples, _BATCH_ELEMENTS // n))

    def interval(res, method: str):
        # n_resamples=0 with bootstrap_result: scipy's interval of the given replicates.
        return stats.bootstrap(data, stat, paired=True, vectorized=True, n_resamples=0, batch=batch,
                               bootstrap_result=res, confidence_level=level, method=method).confidence_interval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Draw once (the percentile method needs no jackknife); the interval is computed
            # below from the defined replicates only.
            res = stats.bootstrap(data, stat, paired=True, vectorized=True, n_resamples=resamples, batch=batch,
                                  confidence_level=level, method="percentile", rng=np.random.default_rng(seed))
            replicates = np.asarray(res.bootstrap_distribution, dtype=np.float64)
            defined = replicates[np.isfinite(replicates)]
            undefined = int(replicates.size - defined.size)
            if defined.size == 0 or undefined > (1.0 - level) / 2.0 * resamples:
                raise MeasurementError(
                    f"{metric} is undefined on {undefined} of {resamples} bootstrap resamples of these {n} "
                    "pairs (a resample with all labels or all predictions equal): the slice is too small "
                    "for an interval")
            if np.ptp(defined) <= DEGENERATE_SPREAD:
                return CorrelationInterval(estimate, estimate, estimate, 0.0, "degenerate", n, undefined)
            kept = dataclasses.replace(res, bootstrap_distribution=defined)
            low, high = interval(kept, "BCa")
            method = "bootstrap-bca"
            if not (np.isfinite(low) and np.isfinite(high)):
                low, high = interval(kept, "percentile")
                method = "bootstrap-percentile"
    lo, hi = RANGE
    return CorrelationInterval(estimate, float(min(max(low, lo), hi)), float(min(max(high, lo), hi)),
                               float(np.std(defined, ddof=1)), method, n, undefined)
