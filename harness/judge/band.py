"""The band a measurement is judged against, and the three-way decision rule.

A printed value such as 89.3 stands for every number that rounds to it, [89.25, 89.35].
The claim's tolerance widens that range on both sides. The rule (docs/verdict-rule.md):

- ``reproduced``: the whole confidence interval lies inside the band (an equivalence test,
  two one-sided tests at half the interval's miss rate each);
- ``not_reproduced``: the interval and the band do not meet;
- ``inconclusive``: they overlap without the interval fitting inside: more data decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not_reproduced"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Band:
    """Closed interval on the metric's natural scale (F1 in [0, 1], parameters in units)."""

    low: float
    high: float
    reported: float
    rounding_half_width: float
    tolerance: float

    @classmethod
    def from_printed(cls, printed: str | float, *, scale: float, tolerance: float) -> "Band":
        """Band for a value as printed in the paper.

        ``printed`` keeps its digits (pass the string "89.30" to mean two decimals);
        ``scale`` converts printed units to natural ones (0.01 for percent, 1e6 for "M");
        ``tolerance`` is in printed units too.
        """
        dec = Decimal(str(printed))
        exponent = dec.as_tuple().exponent
        half_ulp = Decimal(5) * Decimal(10) ** (exponent - 1) if exponent <= 0 else Decimal(0)
        value = float(dec) * scale
        half = float(half_ulp) * scale
        tol = float(tolerance) * scale
        return cls(
            low=value - half - tol,
            high=value + half + tol,
            reported=value,
            rounding_half_width=half,
            tolerance=tol,
        )

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def to_dict(self) -> dict:
        return {
            "low": self.low,
            "high": self.high,
            "reported": self.reported,
            "rounding_half_width": self.rounding_half_width,
            "tolerance": self.tolerance,
        }


def decide(low: float, high: float, band: Band) -> str:
    """Three-way outcome of an interval [low, high] against a band (see module doc)."""
    if high < band.low or low > band.high:
        return NOT_REPRODUCED
    if band.low <= low and high <= band.high:
        return REPRODUCED
    return INCONCLUSIVE
