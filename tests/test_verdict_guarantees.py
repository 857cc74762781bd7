"""Issue 17's defects, one test each (each failed before its fix), plus issue 20's rounding note.

Coverage is checked exactly (every slice a draw can give, with its hypergeometric probability),
not by simulation: the guarantee is that each side of an interval misses the split's value at
most alpha / 2 of the time, at every slice size and at 407/408.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats

from harness.claims import spreads
from harness.claims.records import Claim
from harness.errors import ClaimFileError
from harness.judge import looks, verdict
from harness.judge.band import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band

PCT = Decimal("0.01")
MRPC = {0: 129, 1: 279}


def _slice(pos_right, pos_wrong, neg_right, neg_wrong):
    """(labels, predictions) with the given right/wrong counts per label (positive = 1)."""
    y = [1] * (pos_right + pos_wrong) + [0] * (neg_right + neg_wrong)
    p = [1] * pos_right + [0] * pos_wrong + [0] * neg_right + [1] * neg_wrong
    return np.array(y), np.array(p)


# 1. No degenerate interval decides ------------------------------------------------------------
@pytest.mark.parametrize("n_pos, n_neg", [(3, 1), (3, 2), (4, 2), (6, 2), (7, 3)])
def test_an_all_right_tiny_f1_slice_is_never_a_point_that_decides(n_pos, n_neg):
    """Was: every resample F1 1.0 or undefined -> percentile [1, 1] -> not_reproduced vs 89.3 ± 1."""
    y, p = _slice(n_pos, 0, n_neg, 0)
    band = Band.from_printed("89.3", scale=PCT, tolerance="1")
    lk = looks.look("f1", y, p, context={"positive": 1}, population=408, band=band, alpha=0.05, strata=MRPC)
    assert lk.high > lk.low and lk.status != NOT_REPRODUCED, lk


def test_a_slice_below_the_metrics_minimum_is_refused_at_load(tmp_path):
    from harness import metrics
    from harness.claims import records
    from tests.helpers import tiny_claim, write_claims

    assert metrics.get("correlation.pearson").min_slice > 10 and metrics.get("binary.f1").min_slice >= 1
    rec = tiny_claim("t/pearson", metric="pearson", value="0.5", size=10)
    rec["reported"]["scale"] = "fraction"
    rec["measure"] = {"kind": "regression", "dataset": {"repo": "nyu-mll/glue", "config": "stsb", "split": "validation",
                                                        "revision": "main", "text_fields": ["sentence1", "sentence2"],
                                                        "label_field": "label", "score_range": [0, 5]},
                      "checkpoint": {"repo": "a/b", "revision": "main", "origin": "source"}, "max_length": 64,
                      "slice": {"size": 10, "seed": 0}}
    path = write_claims(tmp_path, "c.yaml", [rec])
    with pytest.raises(ClaimFileError, match="smallest") as err:
        records.load_file(path, tmp_path)
    assert err.value.field == "measure.slice.size"


def test_max_pairs_below_the_slice_is_refused_not_shrunk(tmp_path):
    from harness.claims import records
    from tests.helpers import tiny_claim, write_claims

    with pytest.raises(ValueError, match="max_pairs"):
        looks.plan(100, 408, grow=True, max_pairs=50)
    rec = tiny_claim(size=100)
    rec["measure"]["slice"]["grow"] = {"max_pairs": 50}
    with pytest.raises(ClaimFileError, match="max_pairs") as err:
        records.load_file(write_claims(tmp_path, "c.yaml", [rec]), tmp_path)
    assert err.value.field == "measure.slice.grow.max_pairs"


# 2-4. Exact one-sided coverage ------------------------------------------------------------------
def _one_sided_misses(metric, truth_counts, seen, rows, value_of):
    """(P(interval entirely below the truth), P(entirely above)) over every stratified slice."""
    (K1, K2), (n1, n2), (N1, N2) = truth_counts, seen, rows
    truth = value_of(K1, K2)
    below = above = 0.0
    band = Band.from_printed("50", scale=PCT, tolerance="0")
    for k1, k2 in itertools.product(range(n1 + 1), range(n2 + 1)):
        pr = stats.hypergeom.pmf(k1, N1, K1, n1) * stats.hypergeom.pmf(k2, N2, K2, n2)
        if pr < 1e-15:
            continue
        if metric == "f1":        # k1 true positives among n1 positives, k2 false positives among n2 negatives
            y, p = _slice(k1, n1 - k1, n2 - k2, k2)
        else:                     # k1, k2 right among positives, negatives
            y, p = _slice(k1, n1 - k1, k2, n2 - k2)
        lk = looks.look(metric, y, p, context={"positive": 1}, population=N1 + N2, band=band, alpha=0.05,
                        strata={1: N1, 0: N2})
        below += pr * (lk.high < truth - 1e-12)
        above += pr * (lk.low > truth + 1e-12)
    return below, above


@pytest.mark.parametrize("truth", [(40, 20), (36, 17), (39, 20), (30, 12)])
def test_f1_interval_misses_each_side_at_most_alpha_half(truth):
    """Stratified slices of a 60-row split (40 positives): every outcome, exactly."""
    def f1(tp, fp):
        return 2 * tp / (tp + 40 + fp) if tp + fp + 40 else 0.0
    # truth: (true positives, false positives) of the split
    below, above = _one_sided_misses("f1", truth, (10, 5), (40, 20), f1)
    assert below <= 0.025 + 1e-9 and above <= 0.025 + 1e-9, (below, above)


@pytest.mark.parametrize("truth", [(40, 20), (39, 20), (33, 15), (20, 10)])
def test_accuracy_interval_misses_each_side_at_most_alpha_half(truth):
    below, above = _one_sided_misses("accuracy", truth, (10, 5), (40, 20), lambda a, b: (a + b) / 60)
    assert below <= 0.025 + 1e-9 and above <= 0.025 + 1e-9, (below, above)


@pytest.mark.parametrize("K", [351, 366, 390, 407])
def test_accuracy_on_a_simple_slice_of_50_misses_each_side_at_most_alpha_half(K):
    """Was: n = 50 covered 94.3 % with one side missing 4.26 % (the beta-binomial posterior)."""
    band = Band.from_printed("50", scale=PCT, tolerance="0")
    below = above = 0.0
    for k in range(max(0, 50 - (408 - K)), 51):
        pr = stats.hypergeom.pmf(k, 408, K, 50)
        y, p = np.ones(50, int), np.array([1] * k + [0] * (50 - k))
        lk = looks.look("accuracy", y, p, context={"positive": 1}, population=408, band=band, alpha=0.05)
        below += pr * (lk.high < K / 408)
        above += pr * (lk.low > K / 408)
    assert below <= 0.025 + 1e-9 and above <= 0.025 + 1e-9, (below, above)


def test_407_of_408_a_slice_holding_the_error_is_not_a_miss():
    """Was: every 50-pair slice holding the one error read not_reproduced with confidence 0.985."""
    y, p = _slice(33, 1, 16, 0)
    band = Band.from_printed("99.8", scale=PCT, tolerance="0")     # [99.75, 99.85] holds 407/408 = 99.755
    assert band.contains(407 / 408)
    lk = looks.look("accuracy", y, p, context={"positive": 1}, population=408, band=band, alpha=0.05, strata=MRPC)
    assert lk.low <= 407 / 408 <= lk.high and lk.status != NOT_REPRODUCED


# 2. The bound written into the artifact is the one the construction guarantees ------------------
def _judge(metric, y, p, band, *, start=50, grow=True, spread=None, population=408, strata=MRPC):
    plan = looks.plan(start, population, grow=grow)
    order = np.arange(len(y))
    return verdict.judge(metric, plan, lambda n: (y[order[:n]], p[order[:n]], 0), bands=(band, band, spread),
                         context={"positive": 1}, strata=strata)


def test_the_artifact_states_the_guaranteed_false_alarm_rate():
    rng = np.random.default_rng(0)
    y = np.array([1] * 279 + [0] * 129)
    p = np.where(rng.random(408) < 0.9, y, 1 - y)
    j = _judge("accuracy", y, p, Band.from_printed("50", scale=PCT, tolerance="0"))
    rates = j.statistics()["error_rates"]
    assert rates["false_not_reproduced_inside_band"] == pytest.approx(0.05)     # both sides: alpha, not alpha / 2
    assert rates["false_reproduced_outside_band"] == pytest.approx(0.025)
    assert rates["guarantee"].startswith("exact")


# 5-6. Run spreads as their sources give them; no margin turns a clear miss into reproduced -------
def _claim(spread, *, root, metric="accuracy", value="90.0", aggregate=None):
    rec = {"id": "t/c", "reported": {"value": value, "metric": metric, "scale": "percent",
                                     **({"aggregate": aggregate} if aggregate else {})},
           "measure": {"kind": "classification", "dataset": {"repo": "nyu-mll/glue", "config": "mrpc"}},
           "tolerance": {"value": "0", "reason": "none"}, "run_spread": spread}
    return Claim(id="t/c", record=rec, path="c.yaml", root=str(root))


def _table(tmp_path, text):
    (tmp_path / "spreads").mkdir(exist_ok=True)
    (tmp_path / "spreads" / "t.yaml").write_text(text, encoding="utf-8")
    spreads._table.cache_clear()


FIG = """      - {runs: 20, centre: "82.0", sd: "%s", model: bert-base-uncased, recipe: lr 5e-5 batch 256,
         split: MRPC validation, source: "%s"}
"""


def test_a_table_row_listed_twice_is_an_error(tmp_path):
    _table(tmp_path, "entries:\n" + 2 * ("  - task: nyu-mll/glue/mrpc\n    metric: accuracy\n    scale: percent\n"
                                          "    figures:\n" + FIG % ("1.6", "a real table, row std")))
    with pytest.raises(ClaimFileError, match="listed twice") as err:
        _claim({"table": "t"}, root=tmp_path).run_spread
    assert err.value.field == "entries[1]"


def test_a_figure_without_a_source_is_refused(tmp_path):
    _table(tmp_path, "entries:\n  - task: nyu-mll/glue/mrpc\n    metric: accuracy\n    scale: percent\n"
                     "    figures:\n" + FIG % ("1.6", ""))
    with pytest.raises(ClaimFileError) as err:
        _claim({"table": "t"}, root=tmp_path).run_spread
    assert err.value.field.replace("[", ".").replace("]", "") == "entries.0.figures.0.source"


def test_the_shipped_table_uses_nvidias_100_seeds_with_t_on_99_df():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "claims"
    spreads._table.cache_clear()
    s = _claim({"table": "glue-finetuning"}, root=root, aggregate={"statistic": "median", "runs": 5}).run_spread
    assert (s.sd, s.df) == (Decimal("6.01"), 99)
    assert float(s.margin(0.95)) == pytest.approx(stats.t.ppf(0.975, 99) * 6.01 * (1 + 0.2868) ** 0.5, rel=2e-3)
    assert {f["sd"] for f in s.figures} >= {"6.01", "1.225", "1.61"}
    f1 = _claim({"table": "glue-finetuning"}, root=root, metric="f1").run_spread
    assert f1.kind == "unknown" and f1.unknown       # F1 borrows no accuracy figure


@pytest.mark.parametrize("spread", [{"sd": "500", "source": "a hostile spread figure"},
                                    {"measured": ["0", "100"], "source": "two runs measured by the user"},
                                    {"sd": "1.0", "runs": 2, "source": "a two-run SD with t on one df"},
                                    {"table": "glue-finetuning"}])
def test_no_run_margin_turns_a_clear_miss_into_reproduced(spread, tmp_path):
    """Was: 61.5 % measured against a printed 90.0 read reproduced with sd 500, or measured [0, 100]."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "claims"
    spreads._table.cache_clear()
    claim = _claim(spread, root=root)
    y = np.array([1] * 279 + [0] * 129)
    p = y.copy()
    p[:157] = 0                                           # 251/408 = 61.5 % right
    printed, band, sp = verdict.bands_of(claim, 0.95)
    plan = looks.plan(408, 408)
    j = verdict.judge("accuracy", plan, lambda n: (y[:n], p[:n], 0), bands=(printed, band, sp),
                      context={"positive": 1}, strata=MRPC)
    assert j.status != REPRODUCED and j.status == INCONCLUSIVE and j.untestable, j.explanation()
    assert "untestable" in j.explanation()


# 7. confidence: a frequency guarantee at the band's edge -----------------------------------------
def test_confidence_holds_its_word_for_a_score_exactly_on_the_edge():
    """Every slice of 20 from a 100-row split whose accuracy is exactly the band's low edge: the
    status not_reproduced is wrong there, and it may come with confidence >= c at most 1 - c of
    the time. (Was: a flat-prior posterior, right 88 % when it stated 0.984.)"""
    K, N, n = 70, 100, 20
    band = Band.from_printed("70.5", scale=PCT, tolerance="0.45")   # [70, 71]: the edge is 70/100
    plan = looks.plan(n, N)
    wrong_at = {0.95: 0.0, 0.975: 0.0, 0.99: 0.0}
    for k in range(n + 1):
        pr = stats.hypergeom.pmf(k, N, K, n)
        lk = looks.look("accuracy", np.ones(n, int), np.array([1] * k + [0] * (n - k)), context={"positive": 1},
                        population=N, band=band, alpha=plan.alphas[0])
        j = verdict.from_looks([lk], plan, band, band, stopped="decided", spread=None)
        if j.status == NOT_REPRODUCED:
            for c in wrong_at:
                wrong_at[c] += pr * (j.confidence >= c)
    assert all(w <= 1 - c + 1e-9 for c, w in wrong_at.items()), wrong_at


# 8. Every interval shows its actual level ---------------------------------------------------------
def test_reasons_and_headers_state_the_intervals_level():
    from harness.report import summary

    band = Band.from_printed("50", scale=PCT, tolerance="0")
    lk = looks.Look(100, 0.6, 0.55, 0.65, 0.0179, "m", 0.02, 0.3, 0.8, 0.0, NOT_REPRODUCED)
    j = verdict.from_looks([lk], looks.plan(100, 408), band, band, stopped="decided", spread=None)
    assert j.explanation().startswith("98.2% interval [")
    assert j.statistics()["level"] == pytest.approx(0.9821)
    assert "95%" not in summary.table({})[0]


# issue 20, 4. Rounding a reader can follow -------------------------------------------------------
def test_a_trailing_zero_miss_names_the_coarser_reading_and_rounded_to_states_it():
    b = Band.from_printed("60", scale=Decimal(10**6), tolerance=0)
    j = verdict.exact(58_720_000.0, b, b)
    assert j.status == NOT_REPRODUCED and 'reported.rounded_to: "10"' in j.explanation()
    stated = Band.from_printed("60", scale=Decimal(10**6), tolerance=0, rounded_to="10")
    assert (stated.low_printed, stated.high_printed) == (Decimal(55), Decimal(65))
    assert verdict.exact(58_720_000.0, stated, stated).status == REPRODUCED
    far = verdict.exact(40_000_000.0, b, b)
    assert "rounded_to" not in far.explanation()           # only where the coarser reading would hold
    assert "rounded_to" not in verdict.exact(107e6, *2 * [Band.from_printed("108", scale=Decimal(10**6),
                                                                             tolerance=0)]).explanation()
