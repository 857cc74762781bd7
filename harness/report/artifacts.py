"""Verdict artifacts: validated against the schema, written atomically, one file per claim."""

from __future__ import annotations

import json
from pathlib import Path

from harness import schemas
from harness.atomic import write_atomic
from harness.errors import ArtifactError

VOLATILE = ("computed_at", "timings", "cache")


# Per-example arrays (measurement.idx, .predictions: one entry per example, thousands on a
# whole split) are most of a verdict's validation time when jsonschema descends into every
# item. Their items are checked here with the schema's own item types and type checker; the
# rest of the artifact goes through jsonschema; any doubt falls back to the whole check.
PER_EXAMPLE = ("idx", "predictions")


def _item_types(validator) -> dict[str, list[str]]:
    """measurement.<array> -> the item types the schema allows, for arrays whose items say only a type."""
    out = {}
    for branch in validator.schema.get("properties", {}).get("measurement", {}).get("anyOf", []):
        for key in PER_EXAMPLE:
            spec = (branch.get("properties") or {}).get(key) or {}
            items = spec.get("items")
            if spec.get("type") == "array" and isinstance(items, dict) and set(items) == {"type"}:
                out[key] = items["type"] if isinstance(items["type"], list) else [items["type"]]
    return out


def _fast(validator, artifact: dict) -> bool:
    """True when the artifact passes, checked with its per-example arrays' items outside jsonschema;
    False when that cannot say (a bad item, an unexpected shape): the caller checks it whole."""
    m = artifact.get("measurement")
    types = _item_types(validator)
    if not isinstance(m, dict) or not types:
        return False
    moved = {k: m[k] for k in types if isinstance(m.get(k), list)}
    if not moved:
        return False
    is_type = validator.TYPE_CHECKER.is_type
    for key, values in moved.items():
        allowed = types[key]
        if not all(any(is_type(v, t) for t in allowed) for v in values):
            return False
    light = dict(artifact, measurement={k: ([] if k in moved else v) for k, v in m.items()})
    return validator.is_valid(light)


def validate(artifact: dict) -> None:
    if schemas.fast_check("verdict")(artifact):   # compiled whole-schema check; a refusal is decided below
        return
    validator = schemas.validator("verdict")
    if _fast(validator, artifact):
        return
    errors = sorted(validator.iter_errors(artifact), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ArtifactError(f"artifact for {artifact.get('claim_id')!r} breaks the schema at "
                            f"{schemas.field_path(e)}: {e.message}")


def dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write(artifact: dict, folder: Path, name: str, *, sync: bool = True) -> Path:
    """Validate, then write ``folder/name`` atomically (``sync``: see ``harness.atomic.write_atomic``)."""
    validate(artifact)
    if "/" in name or name.startswith("."):
        raise ArtifactError(f"unsafe artifact name {name!r}")
    return write_atomic(Path(folder) / name, dumps(artifact), sync=sync)


def without_volatile(data):
    """The artifact minus timestamps and timings: what must be identical across runs."""
    if isinstance(data, dict):
        return {k: without_volatile(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [without_volatile(v) for v in data]
    return data
