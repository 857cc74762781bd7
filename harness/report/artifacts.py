"""Verdict artifacts: validated against the schema, written atomically, one file per claim."""

from __future__ import annotations

import json
from pathlib import Path

from harness import schemas
from harness.atomic import write_atomic
from harness.errors import ArtifactError

VOLATILE = ("computed_at", "timings", "cache")


def validate(artifact: dict) -> None:
    errors = sorted(schemas.validator("verdict").iter_errors(artifact), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ArtifactError(f"artifact for {artifact.get('claim_id')!r} breaks the schema at "
                            f"{schemas.field_path(e)}: {e.message}")


def dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write(artifact: dict, folder: Path, name: str) -> Path:
    """Validate, then write ``folder/name`` atomically."""
    validate(artifact)
    if "/" in name or name.startswith("."):
        raise ArtifactError(f"unsafe artifact name {name!r}")
    return write_atomic(Path(folder) / name, dumps(artifact))


def without_volatile(data):
    """The artifact minus timestamps and timings: what must be identical across runs."""
    if isinstance(data, dict):
        return {k: without_volatile(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [without_volatile(v) for v in data]
    return data
