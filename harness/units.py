"""Numbers as a reader sees them: in the claim's printed units, at the precision its band needs.

One formatter for every place a person reads a number (the judge's reasons, the terminal,
pytest's messages, JUnit, summary.md, the HTML page, gate and compare): a percent claim shows
``89.30 %``, a parameter count ``109.48M``, a model card's fraction ``0.8971``; never ``0.893``
for a percent, ``1.095e+08`` or sixteen digits. The precision is the band's: enough decimals
to resolve its half-width, more where a value and a band edge would otherwise print alike
(109.48M against an edge at 109.50M is not "109.5M against 109.5M"). The JSON keeps full
precision; this is display only. Imports nothing heavy, so the judge can use it.
"""

from __future__ import annotations

import functools
import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from harness.metrics import SCALES

# The units a paper record prints a value in (claims/papers/*.yaml), and their multipliers.
UNIT_SCALE = {"percent": 0.01, "millions": 1e6, "count": 1.0, "ratio": 1.0, "number": 1.0, "bool": 1.0}
SUFFIX = {"percent": " %", "millions": "M", "fraction": "", "units": ""}
# Fewest decimals a scale is shown with (percent 89.30 %, parameter counts 11.68M).
MIN_DECIMALS = {"percent": 2, "millions": 2, "fraction": 0, "units": 0}
# Decimals when there is no band to size them by.
DEFAULT_DECIMALS = {"percent": 2, "millions": 2, "fraction": 4}
MAX_DECIMALS = 12
MAX_EXTRA = 6          # decimals added beyond the band's own to tell a value from an edge


def scale_name(multiplier) -> str:
    """'percent' for 0.01, 'millions' for 1e6, 'fraction' for 1 (a Band's exact ``scale``)."""
    try:
        m = Decimal(str(multiplier))
    except InvalidOperation:
        return "units"
    for name in ("percent", "millions", "fraction"):
        if SCALES[name] == m:
            return name
    return "units"


def _printed(x, scale: str) -> Decimal | None:
    """A natural-scale number in printed units, exactly (floats through their shortest repr)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    d = x if isinstance(x, Decimal) else Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x)
    return d / SCALES.get(scale, Decimal(1))


def _decimals_of(text) -> int | None:
    try:
        d = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return max(0, -d.as_tuple().exponent) if d.is_finite() else None


def _round(d: Decimal, decimals: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def decimals(scale: str, *, low=None, high=None, reported=None, values=()) -> int:
    """Decimals (in printed units) that matter for a claim's band.

    ``low``/``high``: the band in natural units; ``reported``: the printed string; ``values``:
    natural-scale numbers shown beside the band (measured value, interval ends). Without a band,
    the scale's default (4 significant digits for a plain number). Remembered per distinct
    arguments (a report asks once per number it shows; a catalogue's claims share bands)."""
    try:
        key = (scale, _typed(low), _typed(high), _typed(reported), tuple(_typed(v) for v in values))
        return _decimals_of_key(key)
    except TypeError:            # an unhashable argument: worked out, not remembered
        return _decimals(scale, low, high, reported, values)


def _typed(x):
    """A key that tells apart what compares equal but prints apart: 1, 1.0 and True, -0.0 and 0.0,
    Decimal('1.0') and Decimal('1.00')."""
    return type(x), repr(x), x


@functools.lru_cache(maxsize=16384)
def _decimals_of_key(key) -> int:
    scale, (_, _, low), (_, _, high), (_, _, reported), values = key
    return _decimals(scale, low, high, reported, [v for _, _, v in values])


def _decimals(scale: str, low, high, reported, values) -> int:
    lo, hi = _printed(low, scale), _printed(high, scale)
    shown = [v for v in (_printed(x, scale) for x in values) if v is not None]
    if lo is None or hi is None or hi < lo:
        if scale in DEFAULT_DECIMALS:
            return DEFAULT_DECIMALS[scale]
        biggest = max((abs(v) for v in shown if v), default=Decimal(1))
        return min(MAX_DECIMALS, max(0, 3 - math.floor(biggest.log10())))
    half = (hi - lo) / 2
    width = -math.floor(half.log10()) if half > 0 else MIN_DECIMALS.get(scale, 0) + 2
    printed = _decimals_of(reported)
    d = max(MIN_DECIMALS.get(scale, 0), width, min(printed, width + 1) if printed is not None else 0)
    d = min(d, MAX_DECIMALS)
    for _ in range(MAX_EXTRA):       # a value that differs from an edge must not print as that edge
        if d >= MAX_DECIMALS or not any(v != e and _round(v, d) == _round(e, d) for v in shown for e in (lo, hi)):
            break
        d += 1
    return d


def number(x, scale: str, places: int | None = None) -> str:
    """A natural-scale value in printed units: '89.30 %', '109.48M', '0.8971'; '-' for none."""
    p = _printed(x, scale)
    if p is None:
        return "-"
    if places is None:
        places = decimals(scale, values=(x,))
    text = f"{_round(p, places):,.{places}f}" if scale == "millions" else f"{_round(p, places):.{places}f}"
    if text.startswith("-") and _round(p, places) == 0:
        text = text[1:]
    return text + SUFFIX.get(scale, "")


def interval(iv, scale: str, places: int | None = None) -> str:
    """'[88.85 %, 91.55 %]'; '-' when there is no pair."""
    if not (isinstance(iv, (list, tuple)) and len(iv) == 2):
        return "-"
    lo, hi = number(iv[0], scale, places), number(iv[1], scale, places)
    return "-" if "-" in (lo, hi) else f"[{lo}, {hi}]"


def as_printed(text, scale: str, places: int | None = None) -> str:
    """The reported value as the source printed it ('89.3 %', '12M'), shortened to ``places``
    decimals when it carries more digits than matter (a card's 0.8970588235294118 as 0.8971)."""
    got = _decimals_of(text)
    if got is None:
        return f"{text}{SUFFIX.get(scale, '')}"
    if places is not None and got > places:
        return f"{_round(Decimal(str(text)), places):.{places}f}{SUFFIX.get(scale, '')}"
    return f"{text}{SUFFIX.get(scale, '')}"


def for_band(band, values=()) -> tuple[str, int]:
    """(scale name, decimals) for a ``harness.judge.band.Band`` and the values shown against it."""
    scale = scale_name(band.scale)
    return scale, decimals(scale, low=band.low, high=band.high, reported=str(band.reported), values=values)
