"""Turn a verdict in the reference JSON layout into a claim record, so that another system's
verdicts are re-checked by ours (citation audit first, then the measurement)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness import kinds
from harness.claims import tasks
from harness.errors import ClaimFileError

_HUB_ID = re.compile(r"`([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)`")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", str(text).lower()).strip("-") or "x"


PRINTED_SCALE = {"percent": "percent", "millions": "millions", "count": "units", "ratio": "fraction",
                 "number": "fraction"}


def scale_from_paper(cit: dict, papers: dict, metric: str, source: str) -> tuple[str, str]:
    """The printed scale of the cited cell, from the paper record, never guessed from the value.

    The cited column's unit when the record has that column; else the one unit the cited table
    prints ``metric`` in (a miscited column still sits in a table whose units are known).
    """
    from harness.claims.audit import _split_column

    paper = papers.get(str(cit["paper_arxiv_id"]))
    table = paper.table(str(cit["section"])) if paper else None
    if table is not None:
        column = table.column(cit["column"]) or table.column(_split_column(cit["column"])[0])
        if column is not None:
            units = {u for m, u in column.values if m == metric}
            if len(units) == 1:
                return PRINTED_SCALE[units.pop()], f"{table.id}, column {column.name}"
        units = {u for c in table.columns for m, u in c.values if m == metric}
        if len(units) == 1:
            return PRINTED_SCALE[units.pop()], f"{table.id} (every {metric} value it prints)"
    raise ClaimFileError(source, f"the paper record does not say how {cit['section']!r}, {cit['column']!r} prints "
                         f"{metric}; the scale is never guessed from the value: pass --scale",
                         field="verdict.claim_citation.column")


def verdict_to_claim(data: dict, *, source: str, revision: str, slice_size: int | str = 100,
                     max_length: int = 128, tolerance: float = 0.0, checkpoint: str | None = None,
                     split: str = "validation", scale: str | None = None, papers: dict | None = None,
                     run_spread: dict | None = None) -> dict:
    """A claim record (dict) from a reference-format verdict; raises ClaimFileError naming the field.

    ``scale`` (percent, fraction, ...) is taken from the paper record unless stated; ``run_spread``
    defaults to the shared GLUE fine-tuning table.
    """
    verdict = data.get("verdict") or (data.get("verdicts") or {}).get("post")
    if not isinstance(verdict, dict):
        raise ClaimFileError(source, "no verdict object", field="verdict")
    cit = verdict.get("claim_citation")
    if not isinstance(cit, dict):
        raise ClaimFileError(source, "missing", field="verdict.claim_citation")
    for key in ("paper_arxiv_id", "section", "row", "column", "reported_value", "reported_metric", "pdf_page"):
        if cit.get(key) in (None, ""):
            raise ClaimFileError(source, "missing", field=f"verdict.claim_citation.{key}")
    notes = cit.get("notes") or ""
    if checkpoint is None:
        found = _HUB_ID.search(notes)
        if not found:
            raise ClaimFileError(source, "names no checkpoint; pass --checkpoint", field="verdict.claim_citation.notes")
        checkpoint = found.group(1)
    task = tasks.find(cit["column"])
    if task is None:
        raise ClaimFileError(source, f"cannot tell the dataset from column {cit['column']!r} (known tasks: "
                             f"{', '.join(tasks.TASKS)})", field="verdict.claim_citation.column")
    try:
        kinds.get(task["kind"]).metric(cit["reported_metric"])
    except KeyError as exc:
        raise ClaimFileError(source, str(exc).strip('"'), field="verdict.claim_citation.reported_metric") from None
    value = cit["reported_value"]
    if scale is None:
        scale, scale_from = scale_from_paper(cit, papers or {}, cit["reported_metric"], source)
    else:
        scale_from = "stated on import"
    version = (data.get("latest_version") or {}).get("version") or (data.get("paper") or {}).get("latest_version")
    claim_id = "/".join([cit["paper_arxiv_id"], _slug(cit["section"]).replace("-", ""), _slug(cit["row"]),
                         _slug(cit["column"])])
    citation = {"source": "paper", "paper": str(cit["paper_arxiv_id"]), "table": cit["section"],
                "row": cit["row"], "column": cit["column"], "page": int(cit["pdf_page"]),
                "quote": cit.get("quoted_text") or "", "notes": notes,
                "imported_from": {"file": Path(source).name, "verdict_id": verdict.get("id"),
                                  "status": verdict.get("status"), "score": verdict.get("score"),
                                  "confidence": verdict.get("confidence"),
                                  "agent_version": verdict.get("agent_version"),
                                  "protocol_match": verdict.get("protocol_match")},
                "scale_from": scale_from}
    if version:
        citation["version"] = int(version)
    return {
        "id": claim_id,
        "title": f"imported from {Path(source).name}",
        "citation": citation,
        "reported": {"value": str(value), "metric": cit["reported_metric"], "scale": scale},
        "measure": tasks.measure_block(
            {**task, "dataset": {**task["dataset"], "split": split}},
            checkpoint={"repo": checkpoint, "revision": revision, "origin": "community"},
            max_length=max_length, slice_={"size": slice_size, "seed": 0, "stratified": True}),
        "tolerance": {"value": tolerance,
                      "reason": "imported: the source verdict states no tolerance; re-run variation is the run spread"},
        "run_spread": run_spread or {"table": "glue-finetuning"},
    }


def import_file(path: Path, **options) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ClaimFileError(path, f"cannot read verdict JSON: {exc}") from None
    return verdict_to_claim(data, source=str(path), **options)
