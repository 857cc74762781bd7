"""JSON Schemas shipped with the harness, loaded by name."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The schema ``<name>.schema.json`` as a dict."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))


@lru_cache(maxsize=None)
def validator(name: str):
    """A jsonschema validator for the named schema (compiled once per process)."""
    import jsonschema

    schema = load(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def field_path(error) -> str:
    """Dotted path of the field a jsonschema error is about (the missing one for 'required')."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    elif error.validator == "additionalProperties" and "'" in error.message:
        parts.append(error.message.split("'")[1])
    return ".".join(parts) or "<record>"
