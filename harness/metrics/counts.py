"""Counted quantities: exact numbers with no sampling (a model's parameter count)."""

from __future__ import annotations

from harness.metrics import EXACT, Metric

PARAMETER_COUNT = Metric(key="count.parameters", name="parameter_count", label="parameters", range=(0.0, None),
                         summary="parameters of the architecture, counted on the meta device", uncertainty=EXACT,
                         scale="millions", aliases=("params", "parameters"))
METRICS = (PARAMETER_COUNT,)
