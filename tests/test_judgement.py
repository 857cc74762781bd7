"""The judgement with exact expected values: bands, the rule table, finite population, spread,
growing slices and confidence; each bug of issue 9 has a regression test here."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from harness.claims.spreads import RunSpread, aggregate_variance
from harness.judge import finite_population as fpc
from harness.judge import looks
from harness.judge.band import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, decide, exact
from harness.judge.verdict import exact as exact_judgement
from harness.judge.verdict import from_looks, sizing

PCT = Decimal("0.01")


# ------------------------------------------------------------------------------- bands
def test_band_edges_are_exact_decimals():
    b = Band.from_printed("83", scale=PCT, tolerance=0.5)
    assert (b.low_printed, b.high_printed) == (Decimal("82.0"), Decimal("84.0"))
    assert b.to_dict()["printed"] == {"reported": "83", "low": "82.0", "high": "84.0", "scale": "0.01"}
    assert Band.from_printed("89.30", scale=PCT, tolerance=0).half_ulp == Decimal("0.005")
    assert Band.from_printed("89.3", scale=PCT, tolerance=0).half_ulp == Decimal("0.05")
    assert Band.from_printed("12", scale=Decimal(10**6), tolerance=0).low == 11_500_000.0


def test_bug1_a_score_on_the_edge_is_inside():
    """Bug 1: 83 ± 0.5 gave a low edge of 0.8200000000000001 and judged F1 = 0.82 not_reproduced."""
    b = Band.from_printed("83", scale=PCT, tolerance=0.5)
    f1 = 2 * 41 / (2 * 41 + 9 + 9)          # exactly 0.82 as a ratio of counts
    assert b.contains(f1) and b.contains(0.84)
    assert decide(f1, f1, b) == REPRODUCED
    assert decide(0.8199999, 0.8199999, b) == NOT_REPRODUCED


def test_bug1_every_exact_edge_case_is_inside():
    """Ratios of counts that equal an edge printed at one decimal, with tolerances 0 to 2 points."""
    misjudged = tried = 0
    for n in range(20, 421, 8):
        for k in range(n + 1):
            value = Fraction(k, n) * 1000            # in tenths of a percent
            if value.denominator != 1:
                continue
            edge = Decimal(int(value)) / 10          # e.g. 82.5
            for d in ("0.1", "0.5", "1.0", "1.5", "2.0"):
                tol = Decimal(d) - Decimal("0.05")    # printed value d above (or below) the edge
                for reported in (edge + Decimal(d), edge - Decimal(d)):
                    b = Band.from_printed(str(reported), scale=PCT, tolerance=str(tol))
                    assert edge in (b.low_printed, b.high_printed)
                    tried += 1
                    misjudged += decide(k / n, k / n, b) != REPRODUCED
    assert tried > 1000 and misjudged == 0


def test_rule_table():
    b = Band.from_printed("50", scale=PCT, tolerance=1)   # [48.5, 51.5] percent
    cases = [((0.49, 0.51), REPRODUCED), ((0.485, 0.515), REPRODUCED), ((0.40, 0.484), NOT_REPRODUCED),
             ((0.516, 0.6), NOT_REPRODUCED), ((0.40, 0.485), INCONCLUSIVE), ((0.40, 0.49), INCONCLUSIVE),
             ((0.40, 0.60), INCONCLUSIVE), ((0.515, 0.6), INCONCLUSIVE)]
    for (low, high), status in cases:
        assert decide(low, high, b) == status, (low, high)


def test_run_margin_widens_both_sides_exactly():
    b = Band.from_printed("89.3", scale=PCT, tolerance=0).widened(Decimal("3.5"))
    assert (b.low_printed, b.high_printed) == (Decimal("85.75"), Decimal("92.85"))
    assert b.run_margin == Decimal("3.5") and b.to_dict()["run_margin"] == pytest.approx(0.035)


def test_exact_refuses_non_finite():
    with pytest.raises(ValueError):
        exact(float("nan"))
    with pytest.raises(ValueError):
        Band.from_printed("89.3", scale=PCT, tolerance=float("inf"))


# ------------------------------------------------------------------- finite population
def test_finite_population_factor():
    assert fpc.factor(408, 408) == 0.0
    assert fpc.factor(100, 408) == pytest.approx(math.sqrt(308 / 407))
    assert fpc.factor(1, 1) == 0.0
    assert fpc.shrink(0.8, 0.7, 0.9, 0.5) == pytest.approx((0.75, 0.85))


def _accuracy_look(right: int, n: int, population: int = 408, strata=None, positives: int = 0):
    """looks.look on an accuracy slice of n pairs, ``right`` of them right (the claim's own path)."""
    y = np.array([1] * positives + [0] * (n - positives)) if strata else np.ones(n, int)
    p = y.copy()
    p[right:] = 1 - p[right:]
    return looks.look("accuracy", y, p, context={"positive": 1}, population=population,
                      band=Band.from_printed("50", scale=PCT, tolerance=0), alpha=0.05, strata=strata)


def test_bug4_accuracy_near_one_keeps_the_truth():
    """Bug 4: 407/408 right; a 100-pair slice holding the one error gave [0.9513, 0.9972]."""
    lk = _accuracy_look(99, 100)
    assert lk.low <= 407 / 408 <= lk.high
    assert _accuracy_look(100, 100).high == 1.0
    whole = _accuracy_look(300, 408)
    assert (whole.low, whole.high) == (300 / 408, 300 / 408)
    # Stratified: 69 positives seen of 279, all right; the error among the 31 negatives seen of 129.
    lk = _accuracy_look(99, 100, strata={1: 279, 0: 129}, positives=69)
    assert lk.estimate == 0.99 and lk.low <= 407 / 408 <= lk.high


@pytest.mark.parametrize("K", [0, 1, 20, 204, 350, 407, 408])
@pytest.mark.parametrize("n", [20, 100, 300])
def test_accuracy_interval_exact_coverage(K, n):
    """Exact coverage over every slice a simple random sample can give (hypergeometric): each
    side of the interval looks.look builds misses the split's value at most alpha / 2."""
    N = 408
    below = above = 0.0
    for k in range(max(0, n - (N - K)), min(n, K) + 1):
        pr = stats.hypergeom.pmf(k, N, K, n)
        lk = _accuracy_look(k, n, N)
        below += pr * (lk.high < K / N - 1e-12)
        above += pr * (lk.low > K / N + 1e-12)
    assert below <= 0.025 + 1e-9 and above <= 0.025 + 1e-9, (below, above)


def test_proportion_probability_of_the_band():
    b = Band.from_printed("90", scale=PCT, tolerance=0)
    inside = fpc.proportion_probability([(90, 100, 408)], b.contains)
    assert 0 < inside < 1
    assert fpc.proportion_probability([(367, 408, 408)], b.contains) == 1.0   # 0.8995 rounds to 90
    assert fpc.proportion_probability([(300, 408, 408)], b.contains) == 0.0
    assert fpc.proportion_probability([(90, 100, 408)], lambda x: x >= 0.5) == pytest.approx(1.0)


def test_bug3_sizing_uses_the_estimate_and_is_not_capped():
    """Bug 3: slice_size_needed was capped at the split and assumed the estimate at the band's centre."""
    assert fpc.sample_size_to_decide(0.5, 408, 0.05, 1.96) == math.ceil(
        1.96**2 * 0.25 * 408 / (0.05**2 * 407 + 1.96**2 * 0.25))
    big = fpc.sample_size_to_decide(0.5, 10**9, 0.001, 1.96)                  # no cap at 408 or anywhere
    assert big == math.ceil(1.96**2 * 0.25 * 10**9 / (0.001**2 * (10**9 - 1) + 1.96**2 * 0.25)) == 959_479
    assert fpc.sample_size_to_decide(0.5, 408, 0.0, 1.96) is None          # on an edge
    b = Band.from_printed("80", scale=PCT, tolerance=2)
    plan = looks.plan(100, 408)
    centre = looks.Look(100, 0.80, 0.7, 0.9, 0.05, "m", 0.03, 0.4, 0.87, 0.5, INCONCLUSIVE)
    edge = looks.Look(100, 0.815, 0.7, 0.9, 0.05, "m", 0.03, 0.4, 0.87, 0.5, INCONCLUSIVE)
    assert sizing(edge, b, plan)["slice_size_needed"] > sizing(centre, b, plan)["slice_size_needed"]


@pytest.mark.parametrize("metric, y_true, y_pred", [
    ("f1", [1], [1]),                                  # one right answer: the normal formula said 2
    ("f1", [1, 0, 1], [1, 1, 0]),                      # the estimate at the band's centre: far more
    ("accuracy", [1, 0, 1, 1, 0], [1, 0, 0, 1, 1]),
    ("accuracy", [1, 1, 1, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 0, 0, 1, 1, 0, 0, 1]),
])
def test_the_slice_size_that_would_decide_is_the_exact_constructions(metric, y_true, y_pred):
    """An inconclusive exact look's slice_size_needed is where the exact interval itself, on a
    slice that holds the current estimate, first clears the band: that size decides, one less
    does not."""
    from harness.judge.verdict import DECIDED, Judging, held_slice

    band = Band.from_printed("50.0", scale=PCT, tolerance=5)
    strata, population = {1: 279, 0: 129}, 408
    y_true, y_pred = np.array(y_true), np.array(y_pred)
    judging = Judging(metric, looks.plan(len(y_true), population), bands=(band, band, None),
                      context={"positive": 1}, strata=strata)
    for n in judging.sizes():
        judging.see(y_true[:n], y_pred[:n], 0)
    result = judging.result()
    assert result.status == INCONCLUSIVE
    needed = result.extra["slice_size_needed"]
    assert result.extra["slice_size_needed_method"].startswith("exact")

    def status(m):
        return looks.look(judging.metric, *held_slice(y_true, y_pred, m, strata, population), population=population,
                          band=band, alpha=0.05, context={"positive": 1}, strata=strata).status

    assert len(y_true) < needed <= population
    assert status(needed) in DECIDED
    assert needed - 1 == len(y_true) or status(needed - 1) not in DECIDED
    if metric == "f1" and len(y_true) == 1:
        assert sizing(result.looks[-1], band, judging.schedule)["slice_size_needed"] < needed


def test_a_held_slice_keeps_the_split_proportions_and_never_holds_more_rows_than_the_split():
    from harness.judge.verdict import held_slice

    y_true, y_pred = np.array([1, 1, 0]), np.array([1, 0, 0])
    t, p = held_slice(y_true, y_pred, 100, {1: 279, 0: 129}, 408)
    assert len(t) == 100 and int((t == 1).sum()) == 68              # 100 * 279/408 = 68.4
    assert sorted(set(zip(t.tolist(), p.tolist()))) == [(0, 0), (1, 0), (1, 1)]
    only_positives = np.array([1, 1])
    assert held_slice(only_positives, only_positives, 279, {1: 279, 0: 129}, 408) is not None
    assert held_slice(only_positives, only_positives, 280, {1: 279, 0: 129}, 408) is None


# ------------------------------------------------------------------------ run spread
def test_run_spread_margins():
    one = RunSpread(Decimal("1.61"), "stated", "src")
    assert float(one.margin(0.95)) == pytest.approx(stats.norm.ppf(0.975) * 1.61 * math.sqrt(2))
    med5 = RunSpread(Decimal("1.61"), "table", "src", aggregate="median", runs=5)
    assert med5.aggregate_variance == pytest.approx(0.2868, abs=0.003)
    mean4 = RunSpread(Decimal("2"), "measured", "src", df=3, aggregate="mean", runs=4)
    assert float(mean4.margin(0.95)) == pytest.approx(stats.t.ppf(0.975, 3) * 2 * math.sqrt(1.25))
    assert RunSpread(Decimal(0), "none", "same model").margin(0.95) == 0
    assert aggregate_variance("median", 3) == pytest.approx(0.4487, abs=0.003)


# ------------------------------------------------------------------- looks and plans
def test_plan_sizes_and_spending():
    p = looks.plan(50, 408, grow=True)
    assert p.sizes == (50, 100, 200, 408)
    assert p.alphas[-1] == 0.0 and sum(p.alphas) == pytest.approx(0.05)
    assert all(a > 0 for a in p.alphas[:-1])
    assert looks.plan(100, 408).sizes == (100,) and looks.plan(100, 408).alphas == pytest.approx((0.05,))
    assert looks.plan(100, 408, grow=True, max_pairs=150).sizes == (100, 150)
    assert looks.plan(500, 408).sizes == (408,) and looks.plan(500, 408).alphas == (0.0,)


def test_whole_split_look_is_exact():
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([1, 0, 0, 0, 1])
    b = Band.from_printed("80", scale=PCT, tolerance=0)
    lk = looks.look("f1", y, p, context={"positive": 1}, population=5, band=b, alpha=0.0)
    assert (lk.estimate, lk.low, lk.high, lk.status, lk.p_in_band) == (0.8, 0.8, 0.8, REPRODUCED, 1.0)


def test_steps_grow_until_decided_and_list_every_look():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.6).astype(int)
    p = np.where(rng.random(400) < 0.85, y, 1 - y)
    whole = float((y == p).mean())
    b = Band.from_printed(f"{whole * 100:.1f}", scale=PCT, tolerance=0)
    order = np.arange(400)
    plan = looks.plan(25, 400, grow=True)
    steps = looks.Steps(plan)
    while (step := steps.next()) is not None:
        n, alpha = step
        steps.add(looks.look("accuracy", y[order[:n]], p[order[:n]], context={"positive": 1}, population=400, band=b,
                             alpha=alpha))
    taken, stopped = steps.looks, steps.stopped
    assert [lk.n for lk in taken] == [25, 50, 100, 200, 400]
    assert [lk.status for lk in taken][:-1] == [INCONCLUSIVE] * 4 and taken[-1].status == REPRODUCED
    j = from_looks(taken, plan, b, b, stopped=stopped, spread=None)
    assert j.confidence == 1.0 and len(j.statistics()["looks"]) == 5 and stopped == "decided"


def test_confidence_is_one_minus_the_procedure_p_value():
    """confidence = 1 - p_wrong * alpha / alpha_j (not_reproduced: both sides), so a decided
    sampled verdict states at least 1 - alpha (not_reproduced) or 1 - alpha / 2 (reproduced);
    the flat-prior probability stays in the rule as p_in_band, not as the confidence."""
    b = Band.from_printed("90", scale=PCT, tolerance=0)
    plan = looks.plan(50, 408, grow=True)
    far = looks.Look(50, 0.70, 0.60, 0.80, plan.alphas[0], "m", 0.05, 0.35, 0.9, 0.001, NOT_REPRODUCED,
                     p_wrong=plan.alphas[0] / 4)
    j = from_looks([far], plan, b, b, stopped="decided", spread=None)
    assert j.confidence == pytest.approx(1 - 0.05 / 4, abs=1e-6)
    assert j.decision()["rule"]["p_in_band"] == 0.001 and j.decision()["rule"]["p_value"] == pytest.approx(0.0125)
    inside = dataclasses.replace(far, low=0.895, high=0.9, status=REPRODUCED, p_wrong=plan.alphas[0])
    assert from_looks([inside], plan, b, b, stopped="decided", spread=None).confidence == pytest.approx(0.975)
    open_ = looks.Look(50, 0.88, 0.80, 0.95, 0.05, "m", 0.04, 0.3, 0.9, 0.3, INCONCLUSIVE)
    assert from_looks([open_], looks.plan(50, 408), b, b, stopped="fixed slice", spread=None).confidence is None


def test_exact_judgement_for_counts():
    b = Band.from_printed("12", scale=Decimal(10**6), tolerance=0)
    j = exact_judgement(11_683_584.0, b, b)
    assert (j.status, j.confidence, j.low, j.high) == (REPRODUCED, 1.0, 11_683_584.0, 11_683_584.0)
    j = exact_judgement(12_500_001.0, b, b)
    assert (j.status, j.confidence) == (NOT_REPRODUCED, 1.0)


# --------------------------------------------------------------------------- protocol
def test_protocol_deviations_exact():
    from harness.claims.records import Claim
    from harness import protocol
    from harness.measure.slices import take
    from tests.helpers import tiny_claim

    rec = tiny_claim(size=100)
    rec["measure"]["checkpoint"].update(origin="community", revision="main")
    rec["paper_protocol"].update(max_length=512, dtype="float32", split="validation")
    claim = Claim(id=rec["id"], record=rec)
    sl = take(list(range(408)), [0, 1] * 204, size=100, seed=0, stratified=True, dataset_key="k")
    devs = protocol.deviations(claim, dtype="bfloat16", slice_=sl)
    assert devs == [
        {"what": "checkpoint", "source": "the source's own model", "here": "tiny/albert-mrpc",
         "note": "community checkpoint, not the source's own model"},
        {"what": "checkpoint_revision", "source": "a pinned commit", "here": "main",
         "note": "unpinned: the files may change"},
        {"what": "max_length", "source": 512, "here": 64},
        {"what": "dtype", "source": "float32", "here": "bfloat16"},
        {"what": "micro_slice", "source": "all 408 examples", "here": "100 examples"},
    ]
    assert protocol.match(devs) == "proxy" and protocol.match([]) == "exact"
    rec2 = tiny_claim(size="all")
    whole = take(list(range(408)), [0, 1] * 204, size="all", seed=0, stratified=True, dataset_key="k")
    assert protocol.deviations(Claim(id="x", record=rec2), dtype="float32", slice_=whole) == []


def test_a_slice_without_spread_claims_nothing():
    """A 20-pair slice with no error has a zero-width bootstrap; it must not read reproduced.
    Without the split's label counts F1 falls back to the bootstrap, which decides nothing on 20."""
    y = np.array([1] * 14 + [0] * 6)
    b = Band.from_printed("99.9", scale=PCT, tolerance=0)
    lk = looks.look("f1", y, y.copy(), context={"positive": 1}, population=408, band=b, alpha=0.05)
    assert (lk.low, lk.high, lk.status) == (0.0, 1.0, INCONCLUSIVE)
    assert lk.p_in_band is None and "undecidable" in lk.method and lk.undecidable
    j = from_looks([lk], looks.plan(20, 408), b, b, stopped="fixed slice", spread=None)
    assert j.confidence is None and j.decision()["rule"]["p_in_band"] is None
    whole = looks.look("f1", y, y.copy(), context={"positive": 1}, population=20, band=b, alpha=0.0)
    assert whole.status == NOT_REPRODUCED and whole.low == whole.high == 1.0   # 100 > 99.95: exact
