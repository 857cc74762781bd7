"""The judgement: looks, band and run spread in; status, confidence and their reasons out.

``confidence`` is the probability, under the stated model, that the status is right, where
"right" is a statement about the checkpoint's score on the whole split: for ``reproduced`` that
it lies in the band (the printed value's rounding, the tolerance and the run-to-run margin),
for ``not_reproduced`` that it lies outside. The model is a flat prior on that score and the
final look's own sampling distribution (the finite-population beta-binomial for accuracy, the
two-piece normal of the corrected bootstrap interval otherwise), so a verdict and its confidence
never disagree. ``inconclusive`` states nothing about the score and has no confidence; its
``p_in_band`` is in the rule. A count or a whole-split measurement is exact: confidence 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness import units
from harness.judge.band import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, decide
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

    @property
    def confidence(self) -> float | None:
        if self.p_in_band is None:
            return None
        if self.status == REPRODUCED:
            return round(self.p_in_band, 6)
        if self.status == NOT_REPRODUCED:
            return round(1.0 - self.p_in_band, 6)
        return None

    def explanation(self) -> str:
        scale, places = units.for_band(self.band, (self.estimate, self.low, self.high))
        iv = units.interval((self.low, self.high), scale, places)
        bd = units.interval((self.band.low, self.band.high), scale, places)
        n = f" after {len(self.looks)} looks (n = {', '.join(str(lk.n) for lk in self.looks)})" \
            if len(self.looks) > 1 else ""
        if self.status == REPRODUCED:
            return f"interval {iv} lies inside band {bd}{n}"
        if self.status == NOT_REPRODUCED:
            return f"interval {iv} does not meet band {bd}{n}"
        return f"interval {iv} overlaps band {bd} without fitting inside it{n}; {self.stopped}"

    def decision(self) -> dict:
        return {
            "status": self.status,
            "confidence": self.confidence,
            "rule": {"name": "interval-vs-band", "estimate": self.estimate, "interval": [self.low, self.high],
                     "band": [self.band.low, self.band.high],
                     "p_in_band": None if self.p_in_band is None else round(float(self.p_in_band), 6),
                     "explanation": self.explanation()},
        }

    def post(self) -> dict:
        """The POST verdict's fields."""
        return {"status": self.status, "confidence": self.confidence, "reason": self.explanation()}

    def statistics(self) -> dict:
        last = self.looks[-1] if self.looks else None
        out = {
            "method": self.method,
            "level": None if last is None else round(1.0 - last.alpha, 6),
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
            "error_rates": {
                "false_not_reproduced_inside_band": None if self.plan is None else self.plan.alpha / 2,
                "run_spread_prediction_level": None if not self.spread else self.spread.get("level"),
            },
        }
        if last is not None:
            out["standard_error"] = last.standard_error
            out["finite_population"] = {"n": last.n, "population": self.plan.population if self.plan else last.n,
                                        "factor": last.fpc_factor}
        out.update(self.extra)
        return out


def exact(value: float, band: Band, printed_band: Band, *, method: str = "exact count (deterministic)") -> Judgement:
    """A deterministic measurement: the interval is the point, the status exact."""
    status = decide(value, value, band)
    return Judgement(value, value, value, status, 1.0 if band.contains(value) else 0.0, band, printed_band,
                     method=method, extra={"minimum_detectable_difference": 0.0, "slice_size_needed": None,
                                           "slice_size_needed_fits_split": None, "trivial_baseline": None})


def from_looks(looks: list[Look], plan: Plan, band: Band, printed_band: Band, *, stopped: str,
               spread: dict | None, extra: dict | None = None) -> Judgement:
    last = looks[-1]
    return Judgement(last.estimate, last.low, last.high, last.status, last.p_in_band, band, printed_band,
                     looks=tuple(looks), plan=plan, stopped=stopped, method=last.method, spread=spread,
                     extra={**sizing(last, band, plan), **(extra or {})})


def bands_of(claim, level: float) -> tuple[Band, Band, dict | None]:
    """The printed band (rounding and tolerance), the judged one (plus the run margin), and the
    run spread as the artifact states it."""
    printed = Band.from_printed(claim.reported["value"], scale=claim.scale_exact,
                                tolerance=claim.record["tolerance"]["value"])
    spread = claim.run_spread
    if spread is None:
        return printed, printed, None
    return printed, printed.widened(spread.margin(level)), dict(spread.to_dict(level, claim.scale_exact), level=level)


def judge(metric, schedule: Plan, observe, *, bands: tuple, context: dict | None = None,
          strata: dict | None = None, resamples: int = 2000) -> Judgement:
    """The whole judgement of a sampled claim: looks along the schedule until one decides.

    ``observe(n) -> (y_true, y_pred, seed)`` gives the first n examples of the nested order (the
    caller runs the model on the new ones); ``bands``: ``bands_of(claim, level)``. The result
    carries the estimate, the interval, its components, the decision, the sizing of a slice that
    would decide, and the metric's trivial baseline on the final slice.
    """
    from harness.judge import looks

    printed, band, spread = bands
    finals: dict = {}

    def judge_look(y_true, y_pred, seed, *, alpha):
        finals["y_true"] = y_true
        return looks.look(metric, y_true, y_pred, population=schedule.population, band=band, alpha=alpha,
                          context=context, resamples=resamples, seed=seed, strata=strata)

    taken, stopped = looks.sequential(schedule, observe, judge_look)
    baseline = metric.baseline(finals["y_true"], **(context or {})) if metric.baseline else None
    return from_looks(taken, schedule, band, printed, stopped=stopped, spread=spread,
                      extra={"trivial_baseline": baseline})


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


__all__ = ["BLOCKED", "ERROR", "INCONCLUSIVE", "MISCITED", "NOT_REPRODUCED", "REPRODUCED", "Judgement",
           "bands_of", "exact", "from_looks", "judge"]
