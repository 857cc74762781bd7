"""What each metric is: its range and how it is printed. Data only, importable by every layer.

Claim loading checks bands against these ranges, the statistics clip intervals to them, and
reports label them; one table, so a new metric is added here once.
"""

from __future__ import annotations

from decimal import Decimal

#: Closed range each metric can take (None: unbounded above, e.g. a parameter count).
RANGES: dict[str, tuple[float, float | None]] = {
    "f1": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "matthews_corrcoef": (-1.0, 1.0),
    "parameter_count": (0.0, None),
}

LABELS = {"f1": "F1", "exact_match": "EM", "accuracy": "accuracy", "matthews_corrcoef": "Matthews corr.",
          "pearson": "Pearson", "parameter_count": "parameters"}

#: Natural units per printed unit, exact (percent: 89.3 printed is 0.893).
SCALES: dict[str, Decimal] = {"percent": Decimal("0.01"), "fraction": Decimal(1), "millions": Decimal(1_000_000),
                              "units": Decimal(1)}

#: Widest band (rounding + tolerance, both sides) a claim may have, as a share of its metric's
#: range (of the reported value for unbounded metrics). A wider band judges nothing: any model
#: would be "reproduced" (the reference system's 0.893-read-as-percent failure).
MAX_BAND_SHARE = Decimal("0.2")
