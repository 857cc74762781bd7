"""The measurement-kind registry: what a claim's ``measure.kind`` loads, predicts and stores.

Each module of this package that defines ``KIND`` is one kind (``parameter_count``,
``classification``, ``regression``, ``span_extraction``); ``discover()`` finds them. A kind
names the metrics it can report (claim name -> registry key in harness.metrics), the JSON
schema of its ``measure`` block (the claim schema is assembled from these), whether it loads a
checkpoint, and its ``measure(pipeline, claim) -> Measured``. Kind modules import nothing heavy
at import time, so the plugin, the schema and the importer can read the registry freely.

``split_measurement`` is no kind: it is what the kinds that measure a checkpoint on a dataset
split share (their schema pieces, the two assets, the growing slice and its looks, the facts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from harness import metrics as metric_registry
from harness.discovery import Registry


@dataclass(frozen=True)
class Measured:
    """What a kind hands back: the measurement facts, the judgement, and the slice (or None)."""

    measurement: dict
    judgement: Any
    slice: Any = None


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    metrics: dict[str, str]                 # claim metric name -> metric registry key
    schema: dict                            # JSON schema of the claim's measure block
    measure: Callable[..., Measured]        # measure(pipeline, claim)
    uses_model: bool = True                 # loads a checkpoint and a dataset split
    stratifies: bool = False                # slices may be stratified by a class label
    example: dict = field(default_factory=dict)   # a measure block, for the docs and `harness list`
    deviations: Callable[..., list] | None = None  # its own protocol deviations (default: model kinds')

    def metric(self, name: str) -> metric_registry.Metric:
        """The registry metric this kind computes for a claim's ``reported.metric``."""
        if name not in self.metrics:
            raise KeyError(f"kind {self.name!r} does not measure {name!r} (it measures "
                           f"{', '.join(sorted(self.metrics))})")
        return metric_registry.get(self.metrics[name])


def _check(kind: Kind, entries: dict) -> None:
    for key in kind.metrics.values():
        metric_registry.get(key)       # a kind naming an unknown metric is a bug: fail at import


_KINDS: Registry[Kind] = Registry("measurement kind", __name__, __path__,
                                  lambda module: [module.KIND] if getattr(module, "KIND", None) is not None else [],
                                  key=lambda k: k.name, check=_check)


def register(kind: Kind) -> None:
    _KINDS.register(kind)


def discover() -> dict[str, Kind]:
    return _KINDS.all()


def builtin() -> dict[str, Kind]:
    """The harness's own kinds (the committed schema files list these)."""
    return _KINDS.builtin()


def get(name: str) -> Kind:
    return _KINDS.get(name)


def names() -> list[str]:
    return sorted(discover())


def uses_model(name: str) -> bool:
    """Whether claims of this kind load a checkpoint (unknown kinds: no)."""
    kind = discover().get(name)
    return bool(kind and kind.uses_model)
