"""The judgement: looks, band and run spread in; status, confidence and their reasons out.

``confidence`` is one minus the status's p-value, with the stopping rule accounted for: a
checkpoint for which the status is wrong (its whole-split score outside the band for
``reproduced``, inside it for ``not_reproduced``) receives that status with a confidence of at
least c at most 1 - c of the time, whatever its score and however many looks it took. The
deciding look's p-value (the smallest alpha at which its interval reaches the status) is scaled
by alpha / alpha_j, the share of the error budget that look was given, and ``not_reproduced``
counts both sides of the band. So a decided sampled verdict states at least 1 - alpha / 2
(``reproduced``) or 1 - alpha (``not_reproduced``), which are the procedure's guaranteed error
rates (exact for the exact intervals, approximate for bootstrap ones; the artifact says which).
It is a frequentist statement about the procedure, not a probability that this one verdict is
right: the latter needs a prior, and ``decision.rule.p_in_band`` is that probability under a flat
prior on the split's counts, kept for readers who want one. ``inconclusive`` has no confidence.
A count or a whole-split measurement is exact: confidence 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from harness import units
from harness.judge.band import DECIDED, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, decide
from harness.judge.looks import Look, Plan

from harness.statuses import BLOCKED, ERROR, MISCITED  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Judgement:
    """Everything the verdict says and everything that decided it."""

    estimate: float
    low: float
    high: float
    status: str
    p_in_band: float | None
    band: Band                     # with the run margin
    printed_band: Band             # rounding and tolerance only
    looks: tuple[Look, ...] = ()
    plan: Plan | None = None
    stopped: str = "decided"
    method: str = "exact"
    spread: dict | None = None
    extra: dict = field(default_factory=dict)
    untestable: str | None = None  # why no verdict can be drawn against this band (then inconclusive)

    @property
    def p_value(self) -> float | None:
        """The status's p-value for the whole procedure (stopping included); None if undecided."""
        if self.status not in (REPRODUCED, NOT_REPRODUCED) or self.untestable:
            return None
        last = self.looks[-1] if self.looks else None
        if last is None or last.alpha == 0.0:
            return 0.0      # exact: a count, or the whole split
        if last.p_wrong is None:
            return None
        overall = self.plan.alpha if self.plan else last.alpha
        return min(1.0, last.p_wrong * overall / last.alpha)

    @property
    def confidence(self) -> float | None:
        p = self.p_value
        if p is None:
            return None
        return round(1.0 - (p / 2.0 if self.status == REPRODUCED else p), 6)

    @property
    def level(self) -> float | None:
        """The final interval's level (a spent level on a growing slice; 1 on the whole split)."""
        if not self.looks:
            return 1.0 if self.low == self.high else None
        return self.looks[-1].level if self.looks[-1].alpha > 0 else 1.0

    def explanation(self) -> str:
        from harness.judge.band import coarser_reading

        scale, places = units.for_band(self.band, (self.estimate, self.low, self.high))
        lv = self.level
        what = "value" if self.low == self.high else (f"{lv:.1%} interval" if lv is not None else "interval")
        iv = units.number(self.low, scale, places) if self.low == self.high else \
            units.interval((self.low, self.high), scale, places)
        bd = units.interval((self.band.low, self.band.high), scale, places)
        n = f" after {len(self.looks)} looks (n = {', '.join(str(lk.n) for lk in self.looks)})" \
            if len(self.looks) > 1 else ""
        if self.untestable:
            return f"untestable: {self.untestable} ({what} {iv}){n}"
        if self.status == REPRODUCED:
            return f"{what} {iv} lies inside band {bd}{n}"
        if self.status == NOT_REPRODUCED:
            hint = coarser_reading(self.printed_band, self.band, self.low, self.high)
            return f"{what} {iv} does not meet band {bd}{n}" + (f"; {hint}" if hint else "")
        undecidable = self.looks[-1].undecidable if self.looks else None
        why = f"; the slice cannot decide: {undecidable}" if undecidable else ""
        return f"{what} {iv} overlaps band {bd} without fitting inside it{n}; {self.stopped}{why}"

    def decision(self) -> dict:
        return {
            "status": self.status,
            "confidence": self.confidence,
            "rule": {"name": "interval-vs-band", "estimate": self.estimate, "interval": [self.low, self.high],
                     "level": self.level, "band": [self.band.low, self.band.high],
                     "p_value": None if self.p_value is None else round(float(self.p_value), 8),
                     "confidence_meaning": CONFIDENCE_MEANING,
                     "p_in_band": None if self.p_in_band is None else round(float(self.p_in_band), 6),
                     "p_in_band_meaning": "P(whole-split score in band) under a flat prior on the split's counts "
                                          "(not a frequency guarantee)",
                     "explanation": self.explanation(),
                     **({"untestable": self.untestable} if self.untestable else {})},
        }

    def error_rates(self) -> dict:
        """What the construction guarantees (harness.judge.looks): exact where every look was."""
        from harness.judge import looks as lk

        sampled = [x for x in self.looks if x.alpha > 0]
        exact = all(x.exact for x in sampled)
        alpha = self.plan.alpha if self.plan else None
        return {
            "false_not_reproduced_inside_band": None if alpha is None else alpha * lk.FALSE_NOT_REPRODUCED_SHARE,
            "false_reproduced_outside_band": None if alpha is None else alpha * lk.FALSE_REPRODUCED_SHARE,
            "guarantee": "none needed (exact value)" if not sampled else (
                "exact: finite-population test inversion at every look" if exact
                else "approximate: bootstrap intervals have no guaranteed level"),
            "run_spread_prediction_level": None if not self.spread else self.spread.get("level"),
        }

    def post(self) -> dict:
        """The POST verdict's fields."""
        return {"status": self.status, "confidence": self.confidence, "reason": self.explanation()}

    def statistics(self) -> dict:
        last = self.looks[-1] if self.looks else None
        out = {
            "method": self.method,
            "level": self.level,
            "interval": [self.low, self.high],
            "band": self.band.to_dict(),
            "printed_band": self.printed_band.to_dict(),
            "components": {
                "rounding_half_width": float(self.band.half_ulp * self.band.scale),
                "tolerance": float(self.band.tolerance * self.band.scale),
                "run_spread": self.spread,
                "sampling": None if last is None else {
                    "standard_error": last.standard_error, "finite_population_factor": last.fpc_factor,
                    "n": last.n, "population": self.plan.population if self.plan else None},
            },
            "decision": self.decision(),
            "looks": [lk.to_dict() for lk in self.looks],
            "plan": self.plan.to_dict() if self.plan else None,
            "stopped": self.stopped,
            "error_rates": self.error_rates(),
        }
        if last is not None:
            out["standard_error"] = last.standard_error
            out["finite_population"] = {"n": last.n, "population": self.plan.population if self.plan else last.n,
                                        "factor": last.fpc_factor}
        out.update(self.extra)
        return out


CONFIDENCE_MEANING = ("1 - p-value of the status (stopping rule included): a checkpoint for which this status "
                      "is wrong gets it with at least this confidence at most 1 - confidence of the time")


def exact(value: float, band: Band, printed_band: Band, *, method: str = "exact count (deterministic)") -> Judgement:
    """A deterministic measurement: the interval is the point, the status exact."""
    status = decide(value, value, band)
    return Judgement(value, value, value, status, 1.0 if band.contains(value) else 0.0, band, printed_band,
                     method=method, extra={"minimum_detectable_difference": 0.0, "slice_size_needed": None,
                                           "slice_size_needed_fits_split": None, "trivial_baseline": None})


def from_looks(looks: list[Look], plan: Plan, band: Band, printed_band: Band, *, stopped: str,
               spread: dict | None, extra: dict | None = None, metric=None) -> Judgement:
    last = looks[-1]
    judged = Judgement(last.estimate, last.low, last.high, last.status, last.p_in_band, band, printed_band,
                       looks=tuple(looks), plan=plan, stopped=stopped, method=last.method, spread=spread,
                       extra={**sizing(last, band, plan), **(extra or {})})
    why = (spread or {}).get("untestable") or (untestable(band, printed_band, metric) if metric is not None else None)
    return replace(judged, status=INCONCLUSIVE, untestable=why) if why else judged


def untestable(band: Band, printed_band: Band, metric) -> str | None:
    """Why no verdict can be drawn against ``band``: wider, run-to-run margin included, than the
    judgeable share of the metric's range (harness.metrics.MAX_BAND_SHARE). A miss of any size
    would read reproduced against it, so it is inconclusive, never reproduced."""
    from decimal import Decimal

    from harness.metrics import MAX_BAND_SHARE

    if band.run_margin == 0:
        return None      # the printed band alone was checked when the claim was loaded
    low, high = metric.range
    span = Decimal(repr(high - low)) if high is not None else abs(band.reported * band.scale)
    width = (band.high_printed - band.low_printed) * band.scale
    if span != 0 and width < MAX_BAND_SHARE * span:
        return None
    return (f"the band is {float(width):g} wide with the run-to-run margin of ±{float(band.run_margin * band.scale):g}, "
            f"more than {float(MAX_BAND_SHARE):.0%} of {metric.label}'s range: the recipe's spread is too wide to "
            "judge a single checkpoint against the printed number")


def bands_of(claim, level: float) -> tuple[Band, Band, dict | None]:
    """The printed band (rounding and tolerance), the judged one (plus the run margin), and the
    run spread as the artifact states it. ``reported.rounded_to`` (printed units) states the
    paper's rounding where the digits alone do not (a trailing zero: "110" to the nearest 10)."""
    printed = Band.from_printed(claim.printed.value, scale=claim.scale_exact,
                                tolerance=claim.record["tolerance"]["value"], rounded_to=claim.printed.rounded_to)
    spread = claim.run_spread
    if spread is None:
        return printed, printed, None
    return printed, printed.widened(spread.margin(level)), dict(spread.to_dict(level, claim.scale_exact), level=level)


class Judging:
    """The judgement of a sampled claim, one look at a time; whoever measures drives it:

        judging = Judging(metric, schedule, bands=verdict.bands_of(claim, level), ...)
        for n in judging.sizes():
            judging.see(y_true, y_pred, seed)     # the first n examples of the nested order
        judgement = judging.result()

    ``sizes()`` yields the schedule's sizes until a look decides (or its time cap ends it); a
    band nothing can be decided against gets one look, for the record. The result carries the
    estimate, the interval, its components, the decision, the sizing of a slice that would
    decide, and the metric's trivial baseline on the final slice.
    """

    def __init__(self, metric, schedule: Plan, *, bands: tuple, context: dict | None = None,
                 strata: dict | None = None, resamples: int = 2000):
        from harness.judge import looks

        self.printed, self.band, self.spread = bands
        self.metric = looks_metric(metric)
        self.context, self.strata, self.resamples = context, strata, resamples
        why = (self.spread or {}).get("untestable") or untestable(self.band, self.printed, self.metric)
        if why:     # nothing can be decided against this band: one look for the record, no more inference
            schedule = looks.Plan(schedule.sizes[:1], schedule.alphas[:1], schedule.population, schedule.alpha,
                                  schedule.max_seconds)
        self.schedule = schedule
        self._steps = looks.Steps(schedule)
        self._alpha: float | None = None
        self._y_true = self._y_pred = None

    def sizes(self):
        """The next look's size, while the looks go on."""
        while (step := self._steps.next()) is not None:
            n, self._alpha = step
            yield n

    def see(self, y_true, y_pred, seed) -> Look:
        """Judge the look at the size ``sizes()`` gave last: its labels, predictions and bootstrap seed."""
        from harness.judge import looks

        self._y_true, self._y_pred = y_true, y_pred
        taken = looks.look(self.metric, y_true, y_pred, population=self.schedule.population, band=self.band,
                           alpha=self._alpha, context=self.context, resamples=self.resamples, seed=seed,
                           strata=self.strata)
        self._steps.add(taken)
        return taken

    def result(self) -> Judgement:
        """The judgement, once ``sizes()`` has ended."""
        baseline = self.metric.baseline(self._y_true, **(self.context or {})) if self.metric.baseline else None
        extra = {"trivial_baseline": baseline, **self._exact_sizing()}
        return from_looks(self._steps.looks, self.schedule, self.band, self.printed, stopped=self._steps.stopped,
                          spread=self.spread, extra=extra, metric=self.metric)

    def _exact_sizing(self) -> dict:
        """``slice_size_needed`` by the exact construction itself, where the last look was exact and
        undecided: the smallest slice, holding the current estimate, whose exact interval at the
        plan's level clears the band (``exact_size_needed``). The normal approximation
        (``sizing``) is the planning formula for the rest, and is far off on a slice of a few
        pairs (it said 2 where the exact interval needs 7 for a slice of one right answer)."""
        from harness.judge import looks

        last = self._steps.looks[-1] if self._steps.looks else None
        if last is None or not last.exact or last.status != INCONCLUSIVE or last.n >= self.schedule.population:
            return {}
        start = sizing(last, self.band, self.schedule)["slice_size_needed"]

        def decides(m: int) -> bool | None:
            held = held_slice(self._y_true, self._y_pred, m, self.strata, self.schedule.population)
            if held is None:
                return None
            taken = looks.look(self.metric, *held, population=self.schedule.population, band=self.band,
                               alpha=self.schedule.alpha, context=self.context, resamples=self.resamples,
                               strata=self.strata)
            return taken.status in DECIDED

        needed = exact_size_needed(decides, last.n, start, self.schedule.population)
        if needed is False:
            return {"slice_size_needed_method": "normal approximation (no larger slice can hold this estimate)"}
        return {"slice_size_needed": needed, "slice_size_needed_fits_split": None if needed is None else True,
                "slice_size_needed_method": "exact: the slice's examples repeated to that size, judged as a look"}


def held_slice(y_true, y_pred, m: int, strata: dict | None, population: int):
    """(labels, predictions) of ``m`` examples on which the current estimate holds, or None.

    Where the split's label counts are known and the slice saw every label, the ``m`` rows are
    allocated to labels in the split's proportions (a stratified slice of ``m``), each label's
    rows repeating the slice's own rows of that label; otherwise the slice is repeated as it is,
    and None when that would hold more rows of a label than the split has."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = [lab for lab, count in (strata or {}).items() if count > 0]
    if labels and all(np.any(y_true == lab) for lab in labels):
        quotas = [m * strata[lab] / population for lab in labels]
        counts = [int(q) for q in quotas]
        for i in sorted(range(len(labels)), key=lambda i: counts[i] - quotas[i])[:m - sum(counts)]:
            counts[i] += 1
        parts = [np.flatnonzero(y_true == lab) for lab in labels]
        idx = np.concatenate([rows[np.arange(c) % len(rows)] for rows, c in zip(parts, counts) if c])
    else:
        idx = np.arange(m) % len(y_true)
        if any(int(np.sum(y_true[idx] == lab)) > count for lab, count in (strata or {}).items()):
            return None
    return y_true[idx], y_pred[idx]


def exact_size_needed(decides, n: int, start: int | None, population: int):
    """The smallest size above ``n`` at which ``decides(m)`` holds: from ``start`` (the normal
    approximation), growing by half until it decides, then bisected down. None when even the
    whole split does not decide (the estimate on an edge); False when ``decides`` says no
    slice that large can hold the estimate (None from it)."""
    lo, hi = n, min(population, max(n + 1, start or n + 1))
    while True:
        verdict = decides(hi)
        if verdict is None:
            return False
        if verdict:
            break
        if hi >= population:
            return None
        lo, hi = hi, min(population, max(hi + 1, math.ceil(hi * 1.5)))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        verdict = decides(mid)
        if verdict is None:
            return False
        lo, hi = (lo, mid) if verdict else (mid, hi)
    return hi


def judge(metric, schedule: Plan, observe, *, bands: tuple, context: dict | None = None,
          strata: dict | None = None, resamples: int = 2000) -> Judgement:
    """``Judging`` with the loop written out, for callers that hold all the examples already:
    ``observe(n) -> (y_true, y_pred, seed)`` gives the first n of the nested order."""
    judging = Judging(metric, schedule, bands=bands, context=context, strata=strata, resamples=resamples)
    for n in judging.sizes():
        judging.see(*observe(n))
    return judging.result()


def looks_metric(metric):
    from harness.judge import statistics as st

    return st.resolve(metric)


def sizing(last: Look, band: Band, plan: Plan) -> dict:
    """What a larger slice would buy, from the last look's estimate (not the band's centre).

    ``slice_size_needed``: the smallest slice whose corrected interval at the nominal level would
    clear the nearer edge of the band around the current estimate (None: no spread seen yet, or
    the estimate sits on an edge); never capped, so ``slice_size_needed_fits_split`` can say no.
    ``minimum_detectable_difference``: (z_{1-alpha/2} + z_0.8) times the corrected standard error.
    """
    from scipy import special

    from harness.judge import finite_population as fpc

    z = float(special.ndtri(1.0 - plan.alpha / 2.0))
    needed = fpc.sample_size_to_decide(last.per_example_sd or 0.0, plan.population,
                                       band.distance_to_edge(last.estimate), z)
    return {"minimum_detectable_difference": (z + float(special.ndtri(0.8))) * last.standard_error,
            "slice_size_needed": needed,
            "slice_size_needed_fits_split": None if needed is None else needed <= plan.population}


__all__ = ["BLOCKED", "ERROR", "INCONCLUSIVE", "MISCITED", "NOT_REPRODUCED", "REPRODUCED", "Judgement", "Judging",
           "bands_of", "exact", "from_looks", "judge"]
