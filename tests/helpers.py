"""Small helpers for the harness's own tests."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_REVISION = "0" * 40

# Python source that logs every network attempt of the process it runs in to $CLAIMS_NET_LOG;
# prepend it to a conftest or a script to prove that a run opens no socket.
NET_AUDIT_HOOK = '''
import json as _json, os as _os, sys as _sys
def _claims_net_hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        with open(_os.environ["CLAIMS_NET_LOG"], "a") as fh:
            fh.write(_json.dumps([event, repr(args)[:200]]) + "\\n")
_sys.addaudithook(_claims_net_hook)
'''


def tiny_claim(claim_id: str = "tiny/mrpc/f1", *, repo: str = "tiny/albert-mrpc", size=60, metric="f1",
               value="50.0", tolerance=50.0, **extra) -> dict:
    """A classification claim against the tiny ALBERT; wide tolerance unless a test says otherwise."""
    record = {
        "id": claim_id,
        "citation": {"source": "model_card", "url": "https://example.invalid/tiny"},
        "reported": {"value": value, "metric": metric, "scale": "percent"},
        "measure": {
            "kind": "classification",
            "dataset": {"repo": "nyu-mll/glue", "config": "mrpc", "split": "validation", "revision": "main",
                        "text_fields": ["sentence1", "sentence2"], "label_field": "label",
                        "positive_label": "equivalent"},
            "checkpoint": {"repo": repo, "revision": TINY_REVISION, "origin": "source"},
            "max_length": 64,
            "slice": {"size": size, "seed": 0, "stratified": True},
        },
        "tolerance": {"value": tolerance, "reason": "test claim: any value near the reported one",
                      "allow_wide_band": True},
        "run_spread": {"none": "the tiny model under test is the one the number describes"},
        "paper_protocol": {"split": "validation", "metric": metric, "max_length": 64, "whole_split": True},
    }
    record.update(extra)
    return record


def write_claims(folder: Path, name: str, records: list[dict], defaults: dict | None = None) -> Path:
    data = {"claims": records}
    if defaults:
        data["defaults"] = defaults
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def read_verdicts(reports: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((Path(reports) / "verdicts").glob("*.json"))}


def claims_folder(claims: Path) -> Path:
    """A claims folder laid out like ours: test_claims.py, the paper record and the spread tables."""
    (claims / "papers").mkdir(parents=True)
    shutil.copy(ROOT / "claims" / "test_claims.py", claims / "test_claims.py")
    shutil.copy(ROOT / "claims" / "papers" / "1909.11942.yaml", claims / "papers" / "1909.11942.yaml")
    shutil.copytree(ROOT / "claims" / "spreads", claims / "spreads")
    return claims


NEEDS_SCORE = ("reproduced", "not_reproduced", "inconclusive")


def verdict_artifact(claim_id: str, status: str, *, post_status: str | None = None, score: float | None = None,
                     confidence: float | None = None, reason: str = "r", statistics: dict | None = None,
                     claim: dict | None = None, protocol: dict | None = None, measurement: dict | None = None) -> dict:
    """A verdict artifact as the harness writes it, for tests of what reads artifacts (gate,
    reports, merge); checked against harness/schemas/verdict.schema.json before it is returned.

    Where the schema needs a score (reproduced, not_reproduced, inconclusive) and none is given,
    it is the middle of ``statistics["interval"]`` or 0.5; a decided call's confidence defaults to 1."""
    import jsonschema

    from harness import schemas

    post_status = post_status or status
    interval = (statistics or {}).get("interval")
    if score is None and (status in NEEDS_SCORE or post_status in NEEDS_SCORE):
        score = sum(interval) / 2 if interval else 0.5
    if confidence is None and status in ("reproduced", "not_reproduced"):
        confidence = 1.0
    match = (protocol or {}).get("match", "proxy")
    citation = {"paper_arxiv_id": None, "section": "model card", "row": None, "column": None,
                "reported_value": 50.0, "reported_metric": "f1", "pdf_page": None}

    def verdict(kind: str, st: str) -> dict:
        conf = confidence if st in ("reproduced", "not_reproduced") else None
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{claim_id}|{kind}|{st}")), "kind": kind, "status": st,
                "score": score, "confidence": conf if st != "inconclusive" else None, "agent_version": "test",
                "computed_at": "2026-01-01T00:00:00.000Z", "is_current": True, "claim_citation": citation,
                "protocol_match": match, "reason": reason}

    post = verdict("POST", post_status)
    top = post if post_status == status else verdict("POST", status)
    art = {"schema_version": 1, "claim_id": claim_id, "claim_file": None,
           "paper": {"arxiv_id": None, "title": None, "latest_version": None},
           "latest_version": {"version": None, "source_url": "https://example.invalid/card"},
           "verdict": top, "verdicts": {"pre": None, "post": post}, "measurement": measurement,
           "statistics": statistics, "protocol": protocol or {"match": match, "deviations": []},
           "claim": {"id": claim_id, **(claim or {})}, "harness": {"version": "test"}}
    jsonschema.validate(art, schemas.load("verdict"))
    return art
