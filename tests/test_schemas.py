"""The schemas as files: complete, versioned, in step with the registries, and enough on their own.

A consumer outside the harness validates against the JSON file on disk with plain jsonschema:
the tests that say so read the files by path and import nothing from the harness to validate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness import kinds, metrics, schemas
from harness.claims.records import load_tree
from tests.runs import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "harness" / "schemas"


def _file(name: str) -> dict:
    return json.loads((FILES / f"{name}.schema.json").read_text(encoding="utf-8"))


def test_the_committed_files_hold_what_the_registries_contribute():
    """Fails when a kind or metric changes and `claims-harness schemas --write` was not run."""
    assert schemas.stale() == [], "run `claims-harness schemas --write`"
    claim, verdict, spread = _file("claim"), _file("verdict"), _file("spread")
    assert claim["properties"]["measure"]["properties"]["kind"]["enum"] == sorted(kinds.builtin())
    assert claim["properties"]["reported"]["properties"]["metric"]["enum"] == \
        sorted({m.name for m in metrics.builtin().values()})
    assert {f"kind_{k}" for k in kinds.builtin()} <= set(claim["$defs"])
    assert verdict["properties"]["measurement"]["anyOf"][1]["properties"]["kind"]["enum"] == sorted(kinds.builtin())
    assert spread["$defs"]["entry"]["properties"]["metric"]["enum"] == claim["properties"]["reported"]["properties"][
        "metric"]["enum"]


def test_a_file_that_disagrees_with_the_registries_is_named(tmp_path):
    assert schemas.write(tmp_path) and schemas.stale(tmp_path) == []
    claim = json.loads((tmp_path / "claim.schema.json").read_text())
    claim["properties"]["measure"]["properties"]["kind"]["enum"].remove("parameter_count")
    (tmp_path / "claim.schema.json").write_text(schemas.dumps(claim))
    (tmp_path / "paper.schema.json").unlink()
    assert schemas.stale(tmp_path) == ["claim", "paper"]
    assert schemas.write(tmp_path) == [tmp_path / "claim.schema.json", tmp_path / "paper.schema.json"]
    assert schemas.stale(tmp_path) == []


def test_writing_is_idempotent_and_keeps_the_hand_written_parts(monkeypatch):
    shipped = schemas.shipped("claim")
    hand = {"if": {"required": ["expect"]}, "then": {"required": ["title"]}}
    shipped["allOf"].insert(0, hand)
    monkeypatch.setattr(schemas, "shipped", lambda name: json.loads(json.dumps(shipped)))
    once = schemas.generate("claim", builtin_only=True)
    monkeypatch.setattr(schemas, "shipped", lambda name: json.loads(json.dumps(once)))
    twice = schemas.generate("claim", builtin_only=True)
    assert once == twice and once["allOf"][0] == hand
    assert sum(e == hand for e in once["allOf"]) == 1
    assert len([e for e in once["allOf"] if e.get("$comment") == schemas.GENERATED]) == \
        len([e for e in _file("claim")["allOf"] if e.get("$comment") == schemas.GENERATED])


@pytest.mark.parametrize("name", schemas.NAMES)
def test_every_schema_is_versioned_and_a_valid_schema(name):
    schema = _file(name)
    assert schema["version"] == schemas.VERSION
    assert schema["$id"] == f"https://claims-harness.invalid/schemas/v{schemas.VERSION}/{name}.schema.json"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_shipped_paper_records_and_spread_tables_validate_against_the_files_alone():
    for path in sorted((ROOT / "claims" / "papers").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), _file("paper"))
    for path in sorted((ROOT / "claims" / "spreads").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), _file("spread"))


def test_every_claim_record_validates_against_the_file_alone():
    schema = _file("claim")
    claims = load_tree(ROOT / "claims")
    assert claims
    for claim in claims:
        jsonschema.validate(claim.record, schema)


@CATALOGUE
def test_verdict_artifacts_of_a_real_run_validate_against_the_file_alone(catalogue_run):
    """What a run writes, read back from disk, against the file on disk: no harness code involved."""
    schema = _file("verdict")
    found = sorted(Path(catalogue_run["reports"], "verdicts").glob("*.json"))
    assert len(found) >= 3
    kinds_seen = set()
    for path in found:
        artifact = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(artifact, schema)
        if artifact.get("measurement"):
            kinds_seen.add(artifact["measurement"]["kind"])
    assert "parameter_count" in kinds_seen


def test_a_record_that_breaks_the_file_is_refused_by_it():
    """The file is a real contract: a wrong kind or a missing field fails against it alone."""
    schema = _file("verdict")
    validator = jsonschema.Draft202012Validator(schema)
    art = {"schema_version": 1, "claim_id": "x", "paper": {"arxiv_id": None, "latest_version": None},
           "latest_version": None, "verdict": {}, "verdicts": {"pre": None, "post": None},
           "measurement": {"kind": "translation", "value": 1.0, "timings": {}, "versions": {}},
           "protocol": {"match": None, "deviations": []}, "claim": {"id": "x"}, "harness": {"version": "0"}}
    messages = " ".join(e.message for e in validator.iter_errors(art))
    assert "'translation'" in messages and "'id' is a required property" in messages


def test_a_registration_after_the_schema_was_used_is_seen():
    """The claim schema is not fixed at first use: a kind registered later validates at once."""
    code = """
from harness import kinds, metrics, schemas
record = {"id": "x/y", "citation": {"source": "model_card", "url": "https://example.invalid"},
          "reported": {"value": "5", "metric": "words", "scale": "units"},
          "measure": {"kind": "word_count", "text": "a b c d e"},
          "tolerance": {"value": 0, "reason": "a count is exact here"}}
assert not schemas.validator("claim").is_valid(record)
metrics.register(metrics.Metric(key="example.words", name="words", label="words", range=(0.0, None), summary="x",
                                uncertainty=metrics.EXACT))
kinds.register(kinds.Kind(name="word_count", summary="x", metrics={"words": "example.words"}, measure=print,
                          uses_model=False, schema={"required": ["kind", "text"], "properties": {
                              "kind": {"const": "word_count"}, "text": {"type": "string"}}}))
schemas.validator("claim").validate(record)
assert "word_count" in schemas.load("verdict")["properties"]["measurement"]["anyOf"][1]["properties"]["kind"]["enum"]
assert schemas.stale() == []          # the committed files hold the built-in registries only
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_claims_value_for_a_field_with_alternative_forms_replaces_the_defaults(tmp_path):
    """run_spread: {sd, source} in a claim over a file default run_spread: {none}: the claim's form wins."""
    from harness.claims.records import load_file

    assert ("run_spread",) in schemas.alternative_paths("claim")
    assert ("measure", "checkpoint") in schemas.alternative_paths("claim")
    ckpt = {"repo": "org/model", "revision": "a" * 40, "origin": "source"}
    text = {"defaults": {
        "citation": {"source": "model_card", "url": "https://example.invalid"},
        "reported": {"metric": "accuracy", "scale": "percent"},
        "measure": dict(kinds.get("classification").example, checkpoint=ckpt),
        "tolerance": {"value": 0, "reason": "no systematic allowance here"},
        "run_spread": {"none": "the card describes this very checkpoint"}},
        "claims": [{"id": "a/default", "reported": {"value": "80.0"}},
                   {"id": "a/own", "reported": {"value": "80.0"},
                    "run_spread": {"sd": "1.2", "source": "a stated SD across five seeds"},
                    "measure": {"checkpoint": {"unavailable": "withdrawn by its authors"}}}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    default, own = load_file(path)
    assert default.record["run_spread"] == {"none": "the card describes this very checkpoint"}
    assert own.record["run_spread"] == {"sd": "1.2", "source": "a stated SD across five seeds"}
    assert own.record["measure"]["checkpoint"] == {"unavailable": "withdrawn by its authors"}
    assert own.record["measure"]["dataset"] == default.record["measure"]["dataset"]   # the rest still merges
    assert own.run_spread.kind == "stated"
