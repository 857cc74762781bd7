"""Match a model's output ids to a dataset's label ids.

Where the model's config names its labels, names must agree with the dataset's; where it
only says LABEL_0, LABEL_1, ids are taken by number and the artifact says so.
"""

from __future__ import annotations

import re

from harness.errors import MeasurementError

_GENERIC = re.compile(r"^LABEL_(\d+)$")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mapping(id2label: dict, dataset_names: list[str]) -> tuple[dict[int, int], str | None]:
    """(model id -> dataset id, assumption or None)."""
    id2label = {int(k): str(v) for k, v in id2label.items()}
    if len(id2label) != len(dataset_names):
        raise MeasurementError(f"the model has {len(id2label)} labels, the dataset {len(dataset_names)} "
                               f"({', '.join(dataset_names)})")
    if all(_GENERIC.match(v) and int(_GENERIC.match(v).group(1)) == k for k, v in id2label.items()):
        return ({k: k for k in id2label},
                "model config names no labels (LABEL_0..); model ids taken as dataset label ids by number: "
                + ", ".join(f"{k}={n}" for k, n in enumerate(dataset_names)))
    by_name = {_norm(n): i for i, n in enumerate(dataset_names)}
    out = {}
    for k, v in id2label.items():
        if _norm(v) not in by_name:
            raise MeasurementError(f"model label {k}={v!r} is not a dataset label ({', '.join(dataset_names)})")
        out[k] = by_name[_norm(v)]
    return out, None
