"""A synthetic reports folder of thousands of verdicts, for the report-rendering benchmark.

    python -m benchmarks.report_folder DEST [CLAIMS] [RUNS]

Writes DEST/verdicts/*.json (artifacts in the layout the harness writes, each checked against
harness/schemas/verdict.schema.json), DEST/summary.json and DEST/manifest.json as a run writes
them, and DEST/history.sqlite with RUNS earlier runs of every claim. The mix is a model zoo's:
mostly parameter counts (exact), scores measured on a slice with growing looks (per-example
``idx`` and ``predictions`` in the artifact, as a classification claim carries them), blocked
claims naming the checkpoint they miss, and a few misses.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

NAMESPACE = uuid.UUID("0c6b5d1e-9f1a-4c1e-8a7e-5000c1a1e5aa")
CITATION = {"paper_arxiv_id": None, "section": "model card", "row": None, "column": None, "reported_value": 0.0,
            "reported_metric": "parameter_count", "reported_scale": "millions", "quoted_text": None,
            "pdf_page": None, "notes": None, "source": "model_card", "url": "https://example.invalid/card"}


def _verdict(cid: str, kind: str, status: str, score, confidence, reason: str, citation: dict, extra=None) -> dict:
    return {"id": str(uuid.uuid5(NAMESPACE, f"{cid}|{kind}|{status}")), "kind": kind, "status": status,
            "score": score, "confidence": confidence, "agent_version": "claims-harness/0.1.0",
            "computed_at": "2026-12-05T21:00:00.000Z", "is_current": True, "claim_citation": citation,
            "protocol_match": "proxy", "reason": reason, **(extra or {})}


def _band(reported: float, low: float, high: float, scale: str) -> dict:
    return {"low": low, "high": high, "reported": reported, "tolerance": 0.0, "run_margin": 0.0,
            "rounding_half_width": (high - low) / 2, "printed": {"low": str(low), "high": str(high),
                                                                  "reported": str(reported), "scale": scale}}


def parameter_count(i: int) -> dict:
    cid = f"zoo/model-{i:05d}/parameters"
    total = 10_000_000 + 37_731 * (i % 997)
    printed = round(total / 1e6, 1) + (0.5 if i % 97 == 5 else 0.0)   # about 1 in 97 printed wrong
    low, high = (printed - 0.05) * 1e6, (printed + 0.05) * 1e6
    status = "reproduced" if low <= total <= high else "not_reproduced"
    reason = (f"interval [{total / 1e6:.2f}M, {total / 1e6:.2f}M] {'lies inside' if status == 'reproduced' else 'does not meet'}"
              f" band [{low / 1e6:.2f}M, {high / 1e6:.2f}M]")
    citation = dict(CITATION, reported_value=printed)
    post = _verdict(cid, "POST", status, float(total), 1.0, reason, citation)
    stats = {"method": "exact count (deterministic)", "level": None, "interval": [float(total), float(total)],
             "band": _band(printed * 1e6, low, high, "1000000"), "looks": [], "slice_size_needed": None,
             "stopped": "decided"}
    measurement = {"kind": "parameter_count", "value": float(total), "device": "meta", "dtype": "none",
                   "metrics": {"parameter_count": float(total)}, "timings": {"count_seconds": 0.01},
                   "versions": {"torch": "2.13.0", "transformers": "5.25.0"},
                   "counted": {"total": total, "model_class": "AlbertModel",
                               "by_module": {"embeddings": total // 3, "encoder": total - total // 3}}}
    claim = {"id": cid, "citation": {"source": "model_card", "url": "https://example.invalid/card"},
             "reported": {"value": f"{printed:.1f}", "metric": "parameter_count", "scale": "millions"},
             "tolerance": {"value": 0, "reason": "a count is exact"}}
    return _artifact(cid, post, measurement, stats, claim,
                     [{"what": "counting_convention", "here": "pooler included", "source": "not stated"}])


def score(i: int, n: int = 408) -> dict:
    cid = f"zoo/model-{i:05d}/mrpc-f1"
    est = 0.80 + (i % 13) / 100
    reported = 0.893
    status = "reproduced" if abs(est - reported) < 0.02 else "not_reproduced" if est < 0.85 else "inconclusive"
    lo, hi = est - 0.03, est + 0.03
    citation = dict(CITATION, reported_value=89.3, reported_metric="f1", reported_scale="percent")
    reason = f"interval [{lo * 100:.2f} %, {hi * 100:.2f} %] against band [88.80 %, 89.80 %] on n = {n}"
    post = _verdict(cid, "POST", status, est, None if status == "inconclusive" else 0.97, reason, citation)
    looks = [{"n": k, "interval": [est - 0.06 * 100 / k, est + 0.06 * 100 / k], "estimate": est,
              "status": "inconclusive", "level": 0.975} for k in (100, 200)]
    looks.append({"n": n, "interval": [lo, hi], "estimate": est, "status": status, "level": 0.95})
    stats = {"method": "bootstrap", "level": 0.95, "interval": [lo, hi],
             "band": _band(reported, 0.888, 0.898, "0.01"), "looks": looks,
             "slice_size_needed": 1200 if status == "inconclusive" else None, "stopped": "decided",
             "finite_population": {"n": n, "population": 408, "factor": 0.0}}
    measurement = {"kind": "classification", "value": est, "n": n, "device": "cpu", "dtype": "float32",
                   "slice_id": f"{i:016x}"[-16:], "idx": list(range(n)), "predictions": [j % 2 for j in range(n)],
                   "metrics": {"f1": est}, "timings": {"inference_seconds": 1.0},
                   "versions": {"torch": "2.13.0", "transformers": "5.25.0"}}
    claim = {"id": cid, "citation": {"source": "model_card", "url": "https://example.invalid/card"},
             "reported": {"value": "89.3", "metric": "f1", "scale": "percent"},
             "tolerance": {"value": 0, "reason": "printed rounding"}}
    return _artifact(cid, post, measurement, stats, claim, [])


def blocked(i: int) -> dict:
    cid = f"zoo/model-{i:05d}/rte-acc"
    missing = f"checkpoint zoo/model-{i:05d}@main"
    citation = dict(CITATION, reported_value=77.6, reported_metric="accuracy", reported_scale="percent")
    reason = f"{missing} is not available (looked in: mirror /mirror/models/zoo/model-{i:05d} (no config.json))"
    post = _verdict(cid, "POST", "blocked", None, None, reason, citation,
                    {"missing": missing, "tried": [f"mirror /mirror/models/zoo/model-{i:05d} (no config.json)"]})
    claim = {"id": cid, "citation": {"source": "model_card", "url": "https://example.invalid/card"},
             "reported": {"value": "77.6", "metric": "accuracy", "scale": "percent"},
             "tolerance": {"value": 0, "reason": "printed rounding"}}
    return _artifact(cid, post, None, None, claim, [])


def _artifact(cid, post, measurement, stats, claim, deviations) -> dict:
    return {"schema_version": 1, "claim_id": cid, "claim_file": "claims/zoo.yaml",
            "paper": {"arxiv_id": None, "title": None, "latest_version": None},
            "latest_version": {"version": None, "source_url": "https://example.invalid/card"},
            "verdict": post, "verdicts": {"pre": None, "post": post}, "measurement": measurement,
            "statistics": stats, "protocol": {"match": "proxy", "deviations": deviations}, "claim": claim,
            "harness": {"version": "0.1.0"}}


def artifact(i: int) -> dict:
    """Claim i of the zoo: 7 in 10 parameter counts, 2 in 10 scores on a slice, 1 in 10 blocked."""
    kind = i % 10
    return blocked(i) if kind == 9 else score(i) if kind >= 7 else parameter_count(i)


def write(dest: Path, claims: int = 5000, runs: int = 10) -> Path:
    """The reports folder: artifacts (schema-checked), summary.json, manifest.json, history of ``runs``."""
    from harness.report import artifacts, history, summary

    dest = Path(dest)
    folder = dest / "verdicts"
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for i in range(claims):
        art = artifact(i)
        name = art["claim_id"].replace("/", "__") + ".json"
        artifacts.validate(art)                        # the schema a run's artifacts meet
        (folder / name).write_text(artifacts.dumps(art), encoding="utf-8")   # no fsync: setup, not the run
        rows[art["claim_id"]] = summary.row(art, f"verdicts/{name}")
    manifest = {"command": ["pytest", "claims/"], "started": "2026-12-05T21:00:00+00:00",
                "finished": "2026-12-05T21:01:00+00:00", "device": "cpu", "harness": "0.1.0",
                "packages": {"torch": "2.13.0", "transformers": "5.25.0"}}
    db = dest / "history.sqlite"
    for r in range(runs):   # earlier runs, recorded the way a run records itself
        past = dest / "past" / f"run-{r}"
        past.mkdir(parents=True, exist_ok=True)
        doc = summary.document(rows, started=f"2026-12-0{1 + r // 60 % 4}T20:{r % 60:02d}:{r % 60:02d}+00:00",
                               command=["pytest"], write_errors={})
        (past / "summary.json").write_text(json.dumps(doc), encoding="utf-8")
        (past / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        history.record_folder(past, db)
    doc = summary.document(rows, started="2026-12-05T21:00:00+00:00", command=["pytest", "claims/"],
                           write_errors={})
    artifacts.write_atomic(dest / "summary.json", artifacts.dumps(doc))
    (dest / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return dest


if __name__ == "__main__":
    args = sys.argv[1:]
    if not 1 <= len(args) <= 3:
        print("usage: python -m benchmarks.report_folder DEST [CLAIMS] [RUNS]", file=sys.stderr)
        sys.exit(2)
    print(write(Path(args[0]), *(int(a) for a in args[1:])))
