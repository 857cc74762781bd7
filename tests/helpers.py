"""Small helpers for the harness's own tests."""

from __future__ import annotations

import json
import shutil
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
