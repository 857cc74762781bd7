"""Turn an interval and a band into a status, a confidence and the numbers that decided it.

``confidence`` is the bootstrap probability that the verdict's statement holds: for
``reproduced`` and ``inconclusive`` the share of resamples whose metric lies inside the band,
for ``not_reproduced`` the share outside it. A deterministic measurement (a parameter count)
has a single resample, so its confidence is 0 or 1.
"""

from __future__ import annotations

from harness.judge.band import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Band, decide

BLOCKED = "blocked"
ERROR = "error"
MISCITED = "miscited"
POST_STATUSES = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, BLOCKED, ERROR)


def judge(estimate: float, low: float, high: float, p_in_band: float, band: Band) -> dict:
    status = decide(low, high, band)
    confidence = 1.0 - p_in_band if status == NOT_REPRODUCED else p_in_band
    return {
        "status": status,
        "confidence": round(float(confidence), 6),
        "rule": {
            "name": "interval-vs-band",
            "estimate": estimate,
            "interval": [low, high],
            "band": [band.low, band.high],
            "p_in_band": round(float(p_in_band), 6),
            "explanation": _explain(status, low, high, band),
        },
    }


def _explain(status: str, low: float, high: float, band: Band) -> str:
    iv = f"[{low:.4g}, {high:.4g}]"
    bd = f"[{band.low:.4g}, {band.high:.4g}]"
    if status == REPRODUCED:
        return f"interval {iv} lies inside band {bd}"
    if status == NOT_REPRODUCED:
        return f"interval {iv} does not meet band {bd}"
    return f"interval {iv} overlaps band {bd} without fitting inside it"
