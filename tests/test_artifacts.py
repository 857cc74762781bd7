"""Artifacts: schema-checked before writing; an interrupted write leaves no partial file."""

from __future__ import annotations

import json

import pytest

from harness.errors import ArtifactError
from harness.report import artifacts


def minimal_artifact(**over):
    verdict = {"id": "6f1d8a4e-3b0c-4f4e-9a51-1909119420aa", "kind": "POST", "status": "blocked", "score": None,
               "confidence": None, "agent_version": "x", "computed_at": "2026-01-01T00:00:00.000Z",
               "is_current": True, "protocol_match": "proxy",
               "claim_citation": {"paper_arxiv_id": None, "section": "s", "row": None, "column": None,
                                  "reported_value": 1.0, "reported_metric": "f1", "pdf_page": None}}
    art = {"schema_version": 1, "claim_id": "a/b", "paper": {"arxiv_id": None, "latest_version": None},
           "latest_version": None, "verdict": verdict, "verdicts": {"pre": None, "post": verdict},
           "measurement": None, "statistics": None, "protocol": {"match": "proxy", "deviations": []},
           "claim": {"id": "a/b"}, "harness": {"version": "0"}}
    art.update(over)
    return art


def test_valid_artifact_is_written_and_reads_back(tmp_path):
    art = minimal_artifact()
    path = artifacts.write(art, tmp_path, "a__b.json")
    assert json.loads(path.read_text()) == art


@pytest.mark.parametrize("breakage", [
    lambda a: a["verdict"].update(status="probably"),
    lambda a: a["verdict"].update(confidence=1.5),
    lambda a: a["verdict"].update(status="reproduced"),      # reproduced needs a score
    lambda a: a.pop("verdicts"),
])
def test_schema_violations_are_refused_and_nothing_written(tmp_path, breakage):
    art = minimal_artifact()
    breakage(art)
    with pytest.raises(ArtifactError, match="a/b"):
        artifacts.write(art, tmp_path, "a__b.json")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "a__b.json"
    artifacts.write(minimal_artifact(), tmp_path, "a__b.json")
    before = target.read_bytes()

    def refuse(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("harness.atomic.os.fsync", refuse)
    with pytest.raises(OSError, match="No space"):
        artifacts.write(minimal_artifact(claim_id="a/b"), tmp_path, "a__b.json")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a__b.json"]


def test_unsafe_names_are_refused(tmp_path):
    with pytest.raises(ArtifactError, match="unsafe"):
        artifacts.write(minimal_artifact(), tmp_path, "../escape.json")


def test_volatile_fields_are_the_only_ones_dropped():
    art = minimal_artifact(measurement={"kind": "parameter_count", "value": 1.0, "timings": {"x": 1.0},
                                        "versions": {}})
    stable = artifacts.without_volatile(art)
    assert "computed_at" not in stable["verdict"] and "timings" not in stable["measurement"]
    assert stable["verdict"]["status"] == "blocked" and stable["measurement"]["value"] == 1.0


def test_inconclusive_has_no_confidence_and_decided_verdicts_need_one(tmp_path):
    art = minimal_artifact()
    art["verdict"].update(status="inconclusive", score=0.8, confidence=None)
    artifacts.write(art, tmp_path, "a__b.json")
    art["verdict"].update(confidence=0.4)          # a probability of an open verdict says nothing
    with pytest.raises(ArtifactError):
        artifacts.write(art, tmp_path, "a__c.json")
    art["verdict"].update(status="not_reproduced", confidence=None)
    with pytest.raises(ArtifactError):
        artifacts.write(art, tmp_path, "a__d.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a__b.json"]
