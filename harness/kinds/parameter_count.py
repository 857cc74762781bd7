"""Parameter counts: build the architecture from its config on the meta device and count.

Exact and deterministic: no data, no weights, no sampling; the verdict's confidence is 1.
"""

from __future__ import annotations

import time

from harness.kinds import Kind, Measured


def measure(pipeline, claim) -> Measured:
    from harness.judge import verdict
    from harness.measure import params

    arch = claim.measure["architecture"]
    start = time.perf_counter()
    counted = params.count(arch["family"], arch["config"], include_pooler=claim.measure["include_pooler"])
    band = verdict.bands_of(claim, pipeline.options.level)[0]
    total = float(counted["total"])
    measurement = {"kind": KIND.name, "value": total, "metrics": {"parameter_count": total}, "counted": counted,
                   "device": "meta", "dtype": "none", "timings": {"count_seconds": round(time.perf_counter() - start, 3)}}
    return Measured(measurement, verdict.exact(total, band, band))


def deviations(claim) -> list[dict]:
    """What a count departs from: only the counting convention (with or without the pooler)."""
    m = claim.measure
    return [{"what": "counting_convention", "source": "not stated",
             "here": "pooler included" if m["include_pooler"] else "pooler excluded",
             **({"note": m["convention"]} if m.get("convention") else {})}]


SCHEMA = {
    "additionalProperties": False,
    "required": ["kind", "architecture", "include_pooler"],
    "properties": {
        "kind": {"const": "parameter_count"},
        "architecture": {"type": "object", "additionalProperties": False, "required": ["family", "config"],
                         "properties": {"family": {"enum": ["albert", "bert"]}, "config": {"type": "object"}}},
        "include_pooler": {"type": "boolean"},
        "convention": {"type": "string"},
    },
}

KIND = Kind(name="parameter_count", summary="parameters of an architecture, counted exactly on the meta device",
            metrics={"parameter_count": "count.parameters"}, schema=SCHEMA, measure=measure, uses_model=False, deviations=deviations,
            example={"kind": "parameter_count", "architecture": {"family": "albert", "config": {}},
                     "include_pooler": True})
