"""The region a measurement is judged against, in exact decimal arithmetic, and the rule.

A printed value such as 89.3 stands for every number that rounds to it, [89.25, 89.35]. The
claim's tolerance (a stated, systematic allowance) widens that on both sides; the run-to-run
margin (``harness.judge.spread``) widens it again into the region where a faithful re-run of
the recipe lands. Edges are kept as ``Decimal`` in printed units and every comparison is made
there: ``0.82`` measured against an edge printed as ``82`` is on the edge, not below it (the
float edge ``0.8200000000000001`` misjudged 249 of 2,451 exact-edge cases).

The rule (docs/verdict-rule.md): ``reproduced`` when the interval lies inside the region,
``not_reproduced`` when they do not meet, ``inconclusive`` when they overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal

from harness.statuses import DECIDED, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED  # noqa: F401 - re-exported


def exact(x) -> Decimal:
    """A number as the decimal it was written as: floats through their shortest repr.

    A metric that is a ratio of counts (41/50) is computed as the float nearest 0.82, whose
    shortest repr is "0.82"; reading it back through repr recovers the printed decimal.
    """
    if isinstance(x, Decimal):
        return x
    if isinstance(x, int):
        return Decimal(x)
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    return Decimal(repr(x))


@dataclass(frozen=True)
class Band:
    """A closed region on the metric's scale, held exactly in printed units."""

    reported: Decimal          # printed units, as printed
    half_ulp: Decimal          # half a unit in the last printed digit
    tolerance: Decimal         # printed units
    scale: Decimal             # natural units per printed unit
    run_margin: Decimal = Decimal(0)   # printed units; 0 when no run-to-run spread applies

    @classmethod
    def from_printed(cls, printed: str, *, scale, tolerance, rounded_to=None) -> "Band":
        """``printed`` keeps its digits ("89.30" means two decimals); tolerance in printed units.

        ``rounded_to`` (printed units): the unit the paper rounded to, where the digits do not
        say it ("110" printed to two significant figures is ``"10"``: [105, 115]); by default
        the last printed digit's unit.
        """
        dec = Decimal(str(printed))
        if not dec.is_finite():
            raise ValueError(f"reported value {printed!r} is not a finite number")
        exponent = dec.as_tuple().exponent
        half = Decimal(5).scaleb(exponent - 1) if exponent <= 0 else Decimal(0)
        if rounded_to is not None:
            unit = Decimal(str(rounded_to))
            if not unit.is_finite() or unit <= 0:
                raise ValueError(f"rounded_to {rounded_to!r} must be a positive number")
            half = unit / 2
        tol = exact(tolerance)
        if not tol.is_finite() or tol < 0:
            raise ValueError(f"tolerance {tolerance!r} must be a finite number >= 0")
        return cls(reported=dec, half_ulp=half, tolerance=tol, scale=exact(scale))

    def widened(self, margin_printed) -> "Band":
        """The same band with a run-to-run margin (printed units) added on both sides."""
        return replace(self, run_margin=exact(margin_printed))

    # -- edges ------------------------------------------------------------------------
    @property
    def half_width_printed(self) -> Decimal:
        return self.half_ulp + self.tolerance + self.run_margin

    @property
    def low_printed(self) -> Decimal:
        return self.reported - self.half_width_printed

    @property
    def high_printed(self) -> Decimal:
        return self.reported + self.half_width_printed

    @property
    def low(self) -> float:
        return float(self.low_printed * self.scale)

    @property
    def high(self) -> float:
        return float(self.high_printed * self.scale)

    @property
    def reported_natural(self) -> float:
        return float(self.reported * self.scale)

    @property
    def half_width(self) -> float:
        return float(self.half_width_printed * self.scale)

    # -- comparisons (exact) --------------------------------------------------------------
    def printed(self, x) -> Decimal:
        """A natural-scale number in printed units, exactly."""
        return exact(x) / self.scale

    def contains(self, x) -> bool:
        p = self.printed(x)
        return self.low_printed <= p <= self.high_printed

    def distance_to_edge(self, x) -> float:
        """Natural-scale distance from x to the nearer edge (0 on an edge)."""
        p = self.printed(x)
        return float(min(abs(p - self.low_printed), abs(p - self.high_printed)) * self.scale)

    def to_dict(self) -> dict:
        return {
            "low": self.low,
            "high": self.high,
            "reported": self.reported_natural,
            "rounding_half_width": float(self.half_ulp * self.scale),
            "tolerance": float(self.tolerance * self.scale),
            "run_margin": float(self.run_margin * self.scale),
            "printed": {"reported": str(self.reported), "low": str(self.low_printed),
                        "high": str(self.high_printed), "scale": str(self.scale)},
        }


def coarser_reading(printed: Band, band: Band, low, high) -> str | None:
    """What a reader should know when a miss lies within a coarser reading of the printed digits.

    A whole number ending in zeros ("110", "60") may be rounded to its last digit or to a
    coarser unit (two significant figures: "110" for anything in [105, 115]); the digits cannot
    say which. When the measured interval would meet the band under the first coarser reading
    that holds, say so, and how a claim states the paper's rounding.
    """
    rep = printed.reported
    if rep.as_tuple().exponent != 0 or rep == 0 or printed.half_ulp != Decimal("0.5"):
        return None
    digits = str(abs(int(rep)))
    zeros = len(digits) - len(digits.rstrip("0"))
    lo, hi = band.printed(low), band.printed(high)
    for j in range(1, zeros + 1):
        unit = Decimal(10) ** j
        widened = unit / 2 + printed.tolerance + band.run_margin
        if rep - widened <= lo and hi <= rep + widened:
            figures = len(digits) - j
            return (f"the printed {rep} read to {figures} significant figure{'s' * (figures != 1)} (a trailing zero: "
                    f"to the nearest {unit}) stands for [{rep - unit / 2}, {rep + unit / 2}] and would hold; if the "
                    f"paper rounded that way, state it in the claim: reported.rounded_to: \"{unit}\"")
    return None


def decide(low, high, band: Band) -> str:
    """Three-way outcome of an interval [low, high] against a band (see module doc)."""
    lo, hi = band.printed(low), band.printed(high)
    if hi < band.low_printed or lo > band.high_printed:
        return NOT_REPRODUCED
    if band.low_printed <= lo and hi <= band.high_printed:
        return REPRODUCED
    return INCONCLUSIVE
