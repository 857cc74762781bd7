"""Pearson and Spearman correlation of scores with labels, and their bootstrap interval.

For regression tasks such as GLUE STS-B (a similarity score 0..5 per sentence pair), where a
model card reports e.g. "Pearson 0.906". The values come from ``scipy.stats.pearsonr`` and
``spearmanr``; the interval is a paired non-parametric bootstrap of the (label, score) pairs
(``scipy.stats.bootstrap``), BCa like the project's other non-proportion metrics.

A correlation is undefined when either side is constant (zero variance) and meaningless on
fewer than 3 pairs (two points always lie on a line: r = +-1). The point functions raise
``MeasurementError`` for both rather than return NaN. The vectorized statistics, which
``scipy.stats.bootstrap`` calls on thousands of resamples at once, cannot raise for one
resample: a resample with a constant side gives NaN there, and the interval
(harness.judge.statistics.measure_uncertainty) drops and counts those.

numpy and scipy are imported inside the functions: the metric registry imports every
module of this package, and importing it must stay cheap.
"""

from __future__ import annotations

from harness.errors import MeasurementError
from harness.metrics import BOOTSTRAP, BOOTSTRAP_MIN_SLICE, Metric

#: A correlation's closed range; intervals are clipped to it.
RANGE = (-1.0, 1.0)

#: Fewest pairs a correlation is measured on.
MIN_PAIRS = 3


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
    undefined there); the caller decides what that means (``statistics.measure_uncertainty``
    drops and counts such replicates). Returns a float for 1-D input, else an array.
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
    if m * k > 8_000_000:     # sparse codes: the count table would be too big
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


def _canonical(function):
    """The value on the pairs in canonical order: a sum's last bit depends on its terms' order."""
    def value(y_true, y_pred):
        return function(*pearson_samples(y_true, y_pred))
    return value


PEARSON = Metric(key="correlation.pearson", name="pearson", label="Pearson", range=RANGE,
                 summary="Pearson correlation of predicted scores with labels (scipy.stats.pearsonr)",
                 uncertainty=BOOTSTRAP, value=_canonical(pearson), samples=pearson_samples,
                 statistic=pearson_statistic, min_slice=BOOTSTRAP_MIN_SLICE)
SPEARMAN = Metric(key="correlation.spearman", name="spearman", label="Spearman", range=RANGE,
                  summary="Spearman rank correlation of predicted scores with labels (scipy.stats.spearmanr)",
                  uncertainty=BOOTSTRAP, value=_canonical(spearman), samples=spearman_samples,
                  statistic=spearman_statistic, min_slice=BOOTSTRAP_MIN_SLICE)
METRICS = (PEARSON, SPEARMAN)
