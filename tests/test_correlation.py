"""Pearson / Spearman values, their vectorized bootstrap statistics, and the interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.errors import MeasurementError
from harness import metrics
from harness.judge import statistics as S
from harness.metrics import correlation as corr


def _metric(name: str):
    return metrics.get(f"correlation.{name}")


def _value(name: str, y_true, y_pred) -> float:
    return _metric(name).value(y_true, y_pred)


def _interval(name: str, y_true, y_pred, **options):
    return S.measure_uncertainty(f"correlation.{name}", y_true, y_pred, **options)


def _related(n: int, seed: int, noise: float = 1.0):
    """STS-B-like pairs: labels on the 0..5 grid of fifths, noisy scores that follow them."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 26, n) / 5
    return labels, labels + rng.normal(0.0, noise, n)


# ----------------------------------------------------------------------------- point values


def test_pearson_of_four_points_by_hand():
    # deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5): sum of products 4, sums of
    # squares 5 and 5, so r = 4 / 5.
    assert corr.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8, abs=1e-15)
    assert corr.pearson([1, 2, 3, 4], [4, 2, 3, 1]) == pytest.approx(-0.8, abs=1e-15)


def test_spearman_with_ties_by_hand():
    # ranks of x with the tie averaged: (1, 2.5, 2.5, 4); of y: (1, 3, 2, 4). Deviations
    # (-1.5, 0, 0, 1.5) and (-1.5, .5, -.5, 1.5): 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    rho = corr.spearman([1, 2, 2, 3], [10, 30, 20, 40])
    assert rho == pytest.approx(3 / math.sqrt(10), abs=1e-15)
    assert rho == stats.spearmanr([1, 2, 2, 3], [10, 30, 20, 40]).statistic


@pytest.mark.parametrize("seed", range(5))
def test_values_are_scipys(seed):
    t, p = _related(60, seed)
    assert corr.pearson(t, p) == stats.pearsonr(t, p).statistic
    assert corr.spearman(t, p) == stats.spearmanr(t, p).statistic
    # the registry's value: the same, on the pairs in canonical order (last bit may differ)
    assert _value("pearson", list(t), list(p)) == pytest.approx(corr.pearson(t, p), abs=1e-14)
    assert isinstance(corr.pearson(t, p), float) and isinstance(corr.spearman(t, p), float)


@pytest.mark.parametrize("metric", ["pearson", "spearman"])
@pytest.mark.parametrize("y_true, y_pred, says", [
    ([2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0], "all 4 labels are the same value"),
    ([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], "all 4 predictions are the same value"),
    ([1.0, 2.0], [2.0, 1.0], "at least 3 pairs, got 2"),
    ([], [], "at least 3 pairs, got 0"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], "3 labels but 2 predictions"),
    ([1.0, 2.0, 3.0], [1.0, float("nan"), 2.0], "1 of 3 predictions are not finite"),
    ([1.0, float("inf"), 3.0], [1.0, 2.0, 2.0], "1 of 3 labels are not finite"),
    ([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]], "must be 1-D"),
])
def test_undefined_or_bad_input_raises_never_nan(metric, y_true, y_pred, says):
    with pytest.raises(MeasurementError, match=says):
        _value(metric, y_true, y_pred)
    with pytest.raises(MeasurementError, match=says):
        _interval(metric, y_true, y_pred, resamples=50)


def test_constant_side_message_says_undefined():
    with pytest.raises(MeasurementError, match="correlation is undefined.*no variance"):
        corr.pearson([3.0] * 5, [1, 2, 3, 4, 5])


def test_unknown_metric_and_bad_options():
    with pytest.raises(KeyError, match="'correlation.kendall'"):
        _value("kendall", [1, 2, 3], [1, 2, 3])
    t, p = _related(20, 0)
    with pytest.raises(ValueError, match="confidence level"):
        _interval("pearson", t, p, level=95)
    with pytest.raises(ValueError, match="resamples must be at least 1"):
        _interval("pearson", t, p, resamples=0)


# ----------------------------------------------------------------- vectorized statistics


def _resamples(n: int, batch: int, seed: int):
    t, p = _related(n, seed)
    rows = np.random.default_rng(seed + 100).integers(0, n, (batch, n))
    return t, p, rows


@pytest.mark.parametrize("seed", range(3))
def test_pearson_statistic_is_pearsonr_on_every_resample(seed):
    t, p, rows = _resamples(30, 200, seed)
    got = corr.pearson_statistic(t[rows], p[rows], axis=-1)
    want = np.array([stats.pearsonr(t[r], p[r]).statistic for r in rows])
    assert got.shape == (200,)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # the examples on axis 0 instead: the same numbers
    np.testing.assert_allclose(corr.pearson_statistic(t[rows].T, p[rows].T, axis=0), got, rtol=0, atol=1e-15)
    assert corr.pearson_statistic(t, p) == pytest.approx(corr.pearson(t, p), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_spearman_statistic_is_spearmanr_on_every_resample(seed):
    t, p, rows = _resamples(30, 200, seed)   # labels on a grid of 26 values: ties in every resample
    want = np.array([stats.spearmanr(t[r], p[r]).statistic for r in rows])
    np.testing.assert_allclose(corr.spearman_statistic(t[rows], p[rows]), want, rtol=0, atol=1e-12)
    # the rank codes spearman_samples resamples: ranked by counting, the same rho
    ct, cp = corr.rank_codes(t), corr.rank_codes(p)
    assert ct.dtype == np.int64
    np.testing.assert_allclose(corr.spearman_statistic(ct[rows], cp[rows]), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(corr.spearman_statistic(ct[rows].T, cp[rows].T, axis=0), want, rtol=0, atol=1e-12)


def test_counting_ranks_equal_rankdata_with_ties():
    codes = np.random.default_rng(3).integers(0, 7, (50, 40))
    np.testing.assert_array_equal(corr._average_ranks(codes, -1), stats.rankdata(codes, axis=-1))
    np.testing.assert_array_equal(corr._average_ranks(codes, 0), stats.rankdata(codes, axis=0))


def test_constant_resample_gives_nan_and_others_are_unaffected():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    y = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [3.0, 1.0, 2.0]])
    for statistic, last in ((corr.pearson_statistic, -0.5), (corr.spearman_statistic, -0.5)):
        got = statistic(x, y)
        assert np.isnan(got[0]) and np.isnan(got[1])
        assert got[2] == pytest.approx(last, abs=1e-15)
    got = corr.spearman_statistic(x.astype(np.int64), y.astype(np.int64))
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == pytest.approx(-0.5, abs=1e-15)


def test_rank_codes_keep_every_resample_rho():
    """The interval resamples codes, not scores: scipy's replicates are the same either way."""
    t, p = _related(80, 4)
    draw = dict(paired=True, vectorized=True, n_resamples=300, method="percentile")
    on_values = stats.bootstrap(corr.pearson_samples(t, p), corr.spearman_statistic,
                                rng=np.random.default_rng(9), **draw).bootstrap_distribution
    on_codes = stats.bootstrap(corr.spearman_samples(t, p), corr.spearman_statistic,
                               rng=np.random.default_rng(9), **draw).bootstrap_distribution
    np.testing.assert_allclose(on_codes, on_values, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ interval


@pytest.mark.parametrize("metric", ["pearson", "spearman"])
def test_interval_contains_the_estimate_and_narrows_with_n(metric):
    widths = []
    for n in (50, 200, 800):
        t, p = _related(n, 1)
        ci = _interval(metric, t, p, resamples=1000, seed=0)
        assert ci.estimate == pytest.approx(_value(metric, t, p), abs=1e-14)
        assert -1.0 <= ci.low < ci.estimate < ci.high <= 1.0
        assert ci.method == "bootstrap-bca" and ci.n == n and ci.undefined == 0
        assert ci.standard_error > 0
        widths.append(ci.high - ci.low)
    # a width shrinks as 1 / sqrt(n): quartering n twice halves it twice (give or take)
    assert widths[0] > 1.5 * widths[1] > 2.25 * widths[2]


def test_pearson_standard_error_matches_theory():
    """Bivariate normal, rho 0.8: the sampling sd of r is about (1 - rho^2) / sqrt(n - 1)."""
    n, rho = 600, 0.8
    xy = np.random.default_rng(5).multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    ci = _interval("pearson", xy[:, 0], xy[:, 1], resamples=2000, seed=0)
    assert ci.standard_error == pytest.approx((1 - rho ** 2) / math.sqrt(n - 1), rel=0.15)
    assert ci.low < rho < ci.high


@pytest.mark.parametrize("metric", ["pearson", "spearman"])
def test_interval_is_deterministic_for_a_seed_and_ignores_example_order(metric):
    t, p = _related(120, 2)
    first = _interval(metric, t, p, resamples=500, seed=3)
    assert _interval(metric, t, p, resamples=500, seed=3) == first
    order = np.random.default_rng(0).permutation(len(t))
    assert _interval(metric, t[order], p[order], resamples=500, seed=3) == first
    other = _interval(metric, t, p, resamples=500, seed=4)
    assert other.estimate == first.estimate and (other.low, other.high) != (first.low, first.high)


def test_monotone_relation_gives_a_degenerate_spearman_interval():
    t = np.arange(10.0)
    ci = _interval("spearman", t, np.exp(t), resamples=500)
    assert ci.method == "degenerate"
    assert ci.low == ci.high == ci.estimate == pytest.approx(1.0, abs=1e-12)
    assert ci.standard_error == 0.0


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")   # scipy's own interval of NaNs
def test_undefined_replicates_are_dropped_and_counted():
    # 4 distinct pairs: a resample draws one pair 4 times (both sides constant) with
    # probability 4 / 4**4 = 1/64, under the 2.5 % tail share at level 0.95.
    t, p = [0.0, 1.0, 2.0, 3.0], [0.3, 0.1, 2.5, 2.0]
    ci = _interval("pearson", t, p, resamples=2000, seed=1)
    replicates = stats.bootstrap(corr.pearson_samples(t, p), corr.pearson_statistic, paired=True,
                                 vectorized=True, n_resamples=2000, method="percentile",
                                 rng=np.random.default_rng(1)).bootstrap_distribution
    assert ci.undefined == int(np.isnan(replicates).sum()) > 0
    assert math.isfinite(ci.low) and math.isfinite(ci.high) and math.isfinite(ci.standard_error)
    assert ci.standard_error == pytest.approx(np.nanstd(replicates, ddof=1), rel=1e-12)
    assert ci.low <= ci.estimate <= ci.high


def test_too_many_undefined_replicates_is_an_error():
    # 3 distinct pairs: 3 / 27 = 11 % of resamples are constant, more than the 2.5 % tail
    with pytest.raises(MeasurementError, match=r"undefined on \d+ of 2000 bootstrap resamples.*too small"):
        _interval("pearson", [0.0, 1.0, 2.0], [0.0, 2.0, 1.0], resamples=2000)


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")   # scipy's own interval of NaNs
@pytest.mark.parametrize("metric", ["pearson", "spearman"])
def test_percentile_interval_where_bca_is_undefined(metric):
    # Four points on the axes, twice: leaving any one out leaves a set symmetric about that
    # axis, so every jackknife value is r = 0, the acceleration is 0/0 and BCa undefined.
    x, y = [1.0, 0.0, -1.0, 0.0] * 2, [0.0, 1.0, 0.0, -1.0] * 2
    ci = _interval(metric, x, y, resamples=2000, seed=0)
    assert ci.method == "bootstrap-percentile" and ci.estimate == 0.0
    replicates = stats.bootstrap(_metric(metric).samples(x, y), _metric(metric).statistic, paired=True, vectorized=True,
                                 n_resamples=2000, method="percentile",
                                 rng=np.random.default_rng(0)).bootstrap_distribution
    defined = replicates[np.isfinite(replicates)]
    assert ci.undefined == replicates.size - defined.size > 0
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(defined, [0.025, 0.975])), abs=1e-12)
    assert ci.low == pytest.approx(-ci.high, abs=1e-12)      # the data's symmetry
