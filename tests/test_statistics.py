"""Tests for harness/judge/statistics.py: metric values, intervals, slice sizing.

Property tests (hypothesis, derandomized so the suite is deterministic) check the
vectorized metrics against scikit-learn and the interval's invariants; a seeded
simulation checks that the F1 interval covers the population value at its nominal rate
and that a true claim is almost never called ``not_reproduced``.
Run ``pytest -s`` to see the measured coverage and false-alarm rates.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from harness.errors import MeasurementError
from harness import metrics
from harness.judge import statistics as S
from harness.metrics import binary
from harness.judge.band import NOT_REPRODUCED, REPRODUCED, Band, decide

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples every run: the suite stays deterministic
    database=None,  # and writes no .hypothesis/ example database
    suppress_health_check=[HealthCheck.too_slow],
)
# Resamples in the property tests: enough for the invariants, cheap enough for 40 examples.
B_PROP = 200

LABEL_PAIRS = [(0, 1), (1, 0), (3, 7)]  # (negative, positive) label ids
METRICS = ("f1", "accuracy", "matthews_corrcoef")
BOOTSTRAPPED = ("f1", "matthews_corrcoef")  # accuracy is a proportion: finite_population.py


@st.composite
def slices(draw, min_size=1, max_size=40, true_const=False, pred_const=False):
    """(y_true, y_pred, positive): a binary slice with labels from one of LABEL_PAIRS."""
    neg, pos = draw(st.sampled_from(LABEL_PAIRS))
    n = draw(st.integers(min_size, max_size))
    bits = st.lists(st.booleans(), min_size=n, max_size=n)
    t = np.array(draw(bits), dtype=bool)
    p = np.array(draw(bits), dtype=bool)
    if true_const:
        t[:] = draw(st.booleans())
    if pred_const:
        p[:] = draw(st.booleans())
    return np.where(t, pos, neg), np.where(p, pos, neg), pos


def sklearn_metric(metric, y_true, y_pred, positive):
    """Straight from scikit-learn, independently of S.metric_value."""
    if metric == "f1":
        return skm.f1_score(y_true, y_pred, pos_label=positive, average="binary", zero_division=0.0)
    if metric == "accuracy":
        return skm.accuracy_score(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return skm.matthews_corrcoef(y_true, y_pred)


def check_interval(unc: S.Uncertainty, metric: str) -> None:
    """What holds for every interval, whatever the slice."""
    lo_bound, hi_bound = metrics.range_of(metric)
    values = (unc.estimate, unc.low, unc.high, unc.standard_error)
    assert all(math.isfinite(v) for v in values), unc
    assert lo_bound <= unc.low <= unc.high <= hi_bound, unc
    assert lo_bound <= unc.estimate <= hi_bound
    assert unc.standard_error >= 0
    if unc.method == "degenerate":
        assert unc.low == unc.high == unc.estimate
        assert unc.standard_error == 0.0
    else:
        # Bootstrap intervals are quantiles of the replicates. They need NOT contain the
        # estimate (BCa shifts with the bias correction; discrete replicates can all sit
        # on one side of it), so that is deliberately not asserted.
        assert unc.method in ("bootstrap-bca", "bootstrap-percentile")
        assert unc.low <= unc.high and unc.standard_error > 0   # discrete replicates may share a quantile


# ---------------------------------------------------------------------------------------
# Metric values
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(slices())
def test_vectorized_metrics_equal_sklearn(data):
    y_true, y_pred, pos = data
    t, p = y_true == pos, y_pred == pos
    for metric in METRICS:
        expected = sklearn_metric(metric, y_true, y_pred, pos)
        stat = binary.vectorized_statistic(metric)
        got = stat(t, p)
        assert binary.value(metric, y_true, y_pred, positive=pos) == expected
        if metric == "matthews_corrcoef":  # covariance form vs count form: last bits differ
            assert got == pytest.approx(expected, abs=1e-12)
        else:  # both are one correctly rounded division of the same integers
            assert got == expected
        # Along an axis, as scipy.stats.bootstrap calls it: rows are independent slices.
        rows = np.stack([t, ~t, t])
        cols = np.stack([p, p, ~p])
        row_values = stat(rows, cols, axis=-1)
        for r in range(3):
            want = sklearn_metric(metric, rows[r].astype(int), cols[r].astype(int), 1)
            assert row_values[r] == pytest.approx(want, abs=1e-12)


def test_metric_value_conventions():
    # No positive anywhere: f1 is 0 (zero_division=0.0), MCC 0 (a margin is empty).
    assert binary.value("f1", [0, 0, 0], [0, 0, 0]) == 0.0
    assert binary.value("matthews_corrcoef", [1, 1, 1], [1, 1, 1]) == 0.0
    assert binary.value("accuracy", [1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert binary.value("f1", [1, 1, 0, 0], [1, 0, 1, 0]) == 0.5
    assert binary.value("f1", [0, 0, 1], [0, 1, 1], positive=0) == pytest.approx(2 / 3)
    assert binary.value("matthews_corrcoef", [1, 0, 1, 0], [0, 1, 0, 1]) == -1.0


def test_unknown_metric_and_bad_slices():
    with pytest.raises(ValueError, match="'auroc'"):
        binary.value("auroc", [0, 1], [0, 1])
    with pytest.raises(KeyError, match="'f2'"):
        S.measure_uncertainty("f2", [0, 1], [0, 1])
    with pytest.raises(ValueError, match="not bootstrapped"):
        S.measure_uncertainty("accuracy", [0, 1], [0, 1])
    with pytest.raises(MeasurementError, match="labels but"):
        S.measure_uncertainty("f1", [0, 1, 1], [0, 1])
    with pytest.raises(MeasurementError, match="empty"):
        S.measure_uncertainty("f1", [], [])
    with pytest.raises(MeasurementError, match="other labels"):
        binary.value("f1", [0, 1, 2], [0, 1, 1])
    with pytest.raises(MeasurementError, match="other labels"):
        S.measure_uncertainty("f1", [0, 2, 2], [0, 2, 0], positive=1)
    with pytest.raises(ValueError, match="level"):
        S.measure_uncertainty("f1", [0, 1], [0, 1], level=95)
    with pytest.raises(ValueError, match="resamples"):
        S.measure_uncertainty("f1", [0, 1], [0, 1], resamples=0)


# ---------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(slices(), st.sampled_from(BOOTSTRAPPED), st.sampled_from([0.8, 0.95]))
def test_interval_inside_metric_bounds(data, metric, level):
    y_true, y_pred, pos = data
    unc = S.measure_uncertainty(metric, y_true, y_pred, positive=pos, level=level, resamples=B_PROP)
    check_interval(unc, metric)
    assert unc.n == len(y_true) and unc.level == level
    assert unc.estimate == binary.value(metric, y_true, y_pred, positive=pos)


@PROPERTY
@given(slices(min_size=2), st.sampled_from(BOOTSTRAPPED), st.randoms(use_true_random=False))
def test_invariant_to_order_of_examples(data, metric, rnd):
    y_true, y_pred, pos = data
    order = list(range(len(y_true)))
    rnd.shuffle(order)
    a = S.measure_uncertainty(metric, y_true, y_pred, positive=pos, resamples=B_PROP, seed=3)
    b = S.measure_uncertainty(
        metric, y_true[order], y_pred[order], positive=pos, resamples=B_PROP, seed=3
    )
    assert a == b  # every field, exactly


@PROPERTY
@given(
    st.one_of(
        slices(true_const=True),
        slices(pred_const=True),
        slices(true_const=True, pred_const=True),
    ),
    st.sampled_from(BOOTSTRAPPED),
)
def test_one_class_slices_are_finite(data, metric):
    y_true, y_pred, pos = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak: no warning, no exception
        unc = S.measure_uncertainty(metric, y_true, y_pred, positive=pos, resamples=B_PROP)
        base = binary.baseline(metric, y_true, positive=pos)
    check_interval(unc, metric)
    assert math.isfinite(base["value"])
    json.dumps(unc.to_dict())


@pytest.mark.parametrize("metric", ["f1", "matthews_corrcoef"])
@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_pair_codes_are_the_paired_bootstrap(metric, method):
    """Bootstrapping pair codes gives exactly scipy's paired=True bootstrap of (t, p)."""
    rng = np.random.default_rng(5)
    t = rng.random(120) < 0.6
    p = np.where(rng.random(120) < 0.8, t, ~t)
    codes = binary.pair_codes(t, p)
    np.testing.assert_array_equal(codes >> 1, t)
    np.testing.assert_array_equal(codes & 1, p)
    common = dict(vectorized=True, n_resamples=300, method=method)
    a = stats.bootstrap(
        (t, p), binary.vectorized_statistic(metric), paired=True, rng=np.random.default_rng(9), **common
    )
    b = stats.bootstrap(
        (codes,), binary.pair_code_statistic(metric), rng=np.random.default_rng(9), **common
    )
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    assert tuple(a.confidence_interval) == tuple(b.confidence_interval)


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(7)
    y = (rng.random(200) < 0.6).astype(int)
    yp = np.where(rng.random(200) < 0.85, y, 1 - y)
    for metric in ("f1", "matthews_corrcoef"):
        a = S.measure_uncertainty(metric, y, yp, seed=11)
        b = S.measure_uncertainty(metric, y, yp, seed=11)
        c = S.measure_uncertainty(metric, y, yp, seed=12)
        assert a == b and a.method == "bootstrap-bca"
        assert (a.low, a.high) != (c.low, c.high)
        assert a.low < a.estimate < a.high


def test_degenerate_and_fallback_methods():
    # No positive label anywhere in the slice: F1 is 0 in every resample.
    unc = S.measure_uncertainty("f1", [0, 0, 0, 0], [0, 1, 0, 1])
    assert unc.method == "degenerate" and unc.low == unc.high == unc.estimate == 0.0
    # Single example.
    unc = S.measure_uncertainty("matthews_corrcoef", [1], [1])
    assert unc.method == "degenerate" and unc.resamples == 2000
    # Perfect predictions on [1, 1, 0]: replicates are 1 except where a resample draws no
    # positive (F1 = 0), but every jackknife value is 1, so BCa's acceleration is 0/0 and
    # the interval falls back to the percentile one.
    unc = S.measure_uncertainty("f1", [1, 1, 0], [1, 1, 0])
    assert unc.method == "bootstrap-percentile"
    assert unc.high == 1.0 and 0.0 <= unc.low < 1.0


def test_to_dict_is_json_ready():
    y = [1, 0, 1, 1, 0, 1, 0, 1]
    yp = [1, 0, 0, 1, 1, 1, 0, 1]
    for metric in BOOTSTRAPPED:
        d = S.measure_uncertainty(metric, np.array(y), np.array(yp)).to_dict()
        assert set(d) == {
            "estimate", "low", "high", "level", "method",
            "resamples", "standard_error", "seed", "n", "undefined",
        }
        for value in d.values():
            assert type(value) in (int, float, str)
        assert json.loads(json.dumps(d)) == d


# ---------------------------------------------------------------------------------------
# Sizes and baselines
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(st.floats(0.01, 0.99), st.floats(0.002, 0.2), st.sampled_from([0.9, 0.95, 0.99]))
def test_planned_slice_size_is_the_least_sufficient(p, half_width, level):
    n = S.planned_slice_size(p, half_width, level=level)
    z = stats.norm.ppf(0.5 + level / 2)
    assert z * math.sqrt(p * (1 - p) / n) <= half_width * (1 + 1e-9)
    if n > 1:
        assert z * math.sqrt(p * (1 - p) / (n - 1)) > half_width * (1 - 1e-9)


def test_planned_slice_size_values():
    assert S.planned_slice_size(0.5, 0.05) == 385  # the textbook 384.1 rounded up
    assert S.planned_slice_size(0.9, 0.01) == 3458
    assert S.planned_slice_size(1.0, 0.01) == 1
    with pytest.raises(ValueError, match="proportion"):
        S.planned_slice_size(89.3, 0.01)
    with pytest.raises(ValueError, match="half_width"):
        S.planned_slice_size(0.9, 0)


def test_trivial_baseline():
    assert binary.baseline("accuracy", [0, 0, 1]) == {
        "predictor": "majority class 0", "value": pytest.approx(2 / 3)
    }
    assert binary.baseline("f1", [0, 0, 1])["value"] == 0.0
    assert binary.baseline("f1", [1, 1, 0])["value"] == pytest.approx(0.8)
    assert binary.baseline("matthews_corrcoef", [1, 1, 0])["value"] == 0.0
    tie = binary.baseline("accuracy", np.array([7, 3, 7, 3]), positive=7)
    assert tie["predictor"] == "majority class 3" and tie["value"] == 0.5
    assert type(tie["value"]) is float
    with pytest.raises(ValueError, match="'bleu'"):
        binary.baseline("bleu", [0, 1])


def test_registry_entries_for_binary_metrics():
    """Each classification metric: its registry entry computes sklearn's value and its interval kind."""
    y, yp = [1, 0, 1, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 1, 0, 1]
    for name, uncertainty in (("f1", "bootstrap"), ("accuracy", "proportion"), ("matthews_corrcoef", "bootstrap")):
        entry = metrics.get(f"binary.{name}")
        assert (entry.name, entry.uncertainty) == (name, uncertainty)
        assert entry.value(y, yp, positive=1) == pytest.approx(sklearn_metric(name, np.array(y), np.array(yp), 1))
        assert entry.baseline(y, positive=1) == binary.baseline(name, y, positive=1)
    (right,) = metrics.get("binary.accuracy").samples(y, yp, positive=1)
    assert right.tolist() == [True, True, False, True, False, True, True, True]


# ---------------------------------------------------------------------------------------
# Calibration: does the F1 interval cover the population F1 at its nominal rate?
# ---------------------------------------------------------------------------------------

P_POSITIVE, TPR, FPR = 0.684, 0.90, 0.20
# Population confusion rates and F1 = 2TP / (2TP + FP + FN): the value a sample F1
# converges to, and what a claim printed from a very large test set would state.
_TP, _FN, _FP = P_POSITIVE * TPR, P_POSITIVE * (1 - TPR), (1 - P_POSITIVE) * FPR
TRUE_F1 = 2 * _TP / (2 * _TP + _FP + _FN)  # 0.90343...
REPEATS = 1000  # coverage SE = sqrt(.95 * .05 / 1000) = 0.69 %
SIM_RESAMPLES = 999


@pytest.mark.parametrize("n", [50, 100, 408])
def test_f1_interval_coverage_and_false_alarms(n, record_property):
    band = Band.from_printed(f"{round(TRUE_F1 * 100, 1):.1f}", scale=0.01, tolerance=1.0)
    assert band.contains(TRUE_F1)
    rng = np.random.default_rng(20_000 + n)
    covered = false_alarm = reproduced = 0
    methods: dict[str, int] = {}
    for r in range(REPEATS):
        y = rng.random(n) < P_POSITIVE
        hit = rng.random(n)
        yp = np.where(y, hit < TPR, hit < FPR)
        unc = S.measure_uncertainty(
            "f1", y.astype(np.int64), yp.astype(np.int64), resamples=SIM_RESAMPLES, seed=r
        )
        methods[unc.method] = methods.get(unc.method, 0) + 1
        covered += unc.low <= TRUE_F1 <= unc.high
        outcome = decide(unc.low, unc.high, band)
        false_alarm += outcome == NOT_REPRODUCED
        reproduced += outcome == REPRODUCED
    coverage = covered / REPEATS
    alarm_rate = false_alarm / REPEATS
    se = math.sqrt(coverage * (1 - coverage) / REPEATS)
    line = (
        f"n={n} R={REPEATS} B={SIM_RESAMPLES} true F1={TRUE_F1:.4f} "
        f"band=[{band.low:.4f}, {band.high:.4f}]: coverage {coverage:.2%} (SE {se:.2%}), "
        f"not_reproduced {alarm_rate:.2%}, reproduced {reproduced / REPEATS:.2%}, "
        f"methods {methods}"
    )
    print("\n" + line)
    record_property("coverage", coverage)
    record_property("false_alarm_rate", alarm_rate)
    record_property("summary", line)
    assert 0.93 <= coverage <= 0.97, line
    assert alarm_rate <= 0.05, line
