"""JSON Schemas shipped with the harness, loaded by name.

The claim schema's kind-specific parts are not written in the JSON file: the metric names and
each kind's ``measure`` block come from the registries (harness.metrics, harness.kinds), so a
new kind or metric is valid in claim files as soon as it is registered.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The schema ``<name>.schema.json`` as a dict."""
    schema = json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))
    if name == "claim":
        _fill_claim(schema)
    elif name == "verdict":
        from harness import kinds

        schema["properties"]["measurement"]["anyOf"][1]["properties"]["kind"]["enum"] = kinds.names()
    return schema


def _fill_claim(schema: dict) -> None:
    """Metric names, one ``measure`` branch per kind, and run_spread where a trained checkpoint is measured."""
    from harness import kinds, metrics

    schema["properties"]["reported"]["properties"]["metric"]["enum"] = metrics.names()
    measure = schema["properties"]["measure"]
    measure["properties"]["kind"]["enum"] = kinds.names()
    for kind in kinds.discover().values():
        branch = {"$ref": f"#/$defs/kind_{kind.name}"}
        schema["$defs"][f"kind_{kind.name}"] = kind.schema
        measure["allOf"].append({"if": {"properties": {"kind": {"const": kind.name}}}, "then": branch})
        by_kind = {"properties": {"measure": {"properties": {"kind": {"const": kind.name}}}},
                   "required": ["measure"]}
        metric_names = {"properties": {"reported": {"properties": {"metric": {"enum": sorted(kind.metrics)}}}}}
        schema["allOf"].append({"if": by_kind, "then": metric_names})
        if kind.uses_model:   # a trained model's score varies run to run: say by how much (once one is named)
            measured = {"properties": {"measure": {"properties": {"kind": {"const": kind.name},
                                                                  "checkpoint": {"required": ["repo"]}}}},
                        "required": ["measure"]}
            schema["allOf"].append({"if": measured, "then": {"required": ["run_spread"]}})


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
