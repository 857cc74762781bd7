"""The verdict document: one claim's artifact, in the reference verdict's layout, extended.

Built here and nowhere else, complete when built (nothing edits it afterwards but the
``pytest_claims_artifact`` hook): the pipeline calls ``build`` for every measured claim and
``error_artifact`` for a claim whose worker never reported back; reports read what it wrote.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from pathlib import Path

from harness import AGENT_VERSION, __version__
from harness.claims.audit import MISMATCH, audit
from harness.claims.papers import load_papers
from harness import protocol
from harness.statuses import ERROR, MISCITED

NAMESPACE = uuid.UUID("6f1d8a4e-3b0c-4f4e-9a51-1909119420aa")


def error_artifact(claim, reason: str, *, checkpoints=()) -> dict:
    """An artifact for a claim whose measurement never reported back (a crashed worker, a time
    limit); ``checkpoints``: the run's --claims-checkpoint list (harness.protocol.deviations)."""
    papers = load_papers(Path(claim.root)) if claim.root else {}
    post = {"status": ERROR, "confidence": None, "reason": reason}
    return build(claim, papers, audit(claim, papers), post, None, None,
                 protocol.deviations(claim, checkpoints=checkpoints), now())


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def citation_block(claim) -> dict:
    """The claim's citation in the reference verdict's ``claim_citation`` layout."""
    c = claim.cited
    value = float(claim.printed.value)
    return {
        "paper_arxiv_id": c.paper,
        "section": c.table or c.section or c.url,
        "row": c.row,
        "column": c.column,
        "reported_value": value,
        "reported_metric": claim.metric,
        "reported_scale": claim.printed.scale,
        "quoted_text": c.quote,
        "pdf_page": c.page,
        "notes": c.notes,
        "source": c.source,
        "url": c.url,
    }


def _verdict_of(claim, kind: str, status: str, score, confidence, computed_at, pm, extra: dict) -> dict:
    vid = uuid.uuid5(NAMESPACE, f"{claim.id}|{kind}|{status}|{score!r}")
    return {"id": str(vid), "kind": kind, "status": status, "score": score, "confidence": confidence,
            "agent_version": AGENT_VERSION, "computed_at": computed_at, "is_current": True,
            "claim_citation": citation_block(claim), "protocol_match": pm, **extra}


def build(claim, papers, pre, post, measurement, stats, devs, computed_at) -> dict:
    """The artifact: top verdict (MISCITED when the citation fails), PRE and POST, measurement, statistics."""
    pm = protocol.match(devs)
    score = measurement["value"] if measurement else None
    post_extra = {k: v for k, v in post.items() if k not in ("status", "confidence")}
    post_v = _verdict_of(claim, "POST", post["status"], score, post["confidence"], computed_at, pm, post_extra)
    pre_v = None
    if pre is not None:
        pre_v = _verdict_of(claim, "PRE", pre.status, None, None, computed_at, None,
                            {"reason": "; ".join(pre.findings), "findings": pre.findings, "found": pre.found})
    if pre_v and pre.status == MISMATCH:
        top = dict(pre_v, status=MISCITED, score=score, protocol_match=pm,
                   reason="citation does not hold: " + pre_v["reason"] +
                          f" (measurement kept as POST: {post['status']})")
        top["id"] = str(uuid.uuid5(NAMESPACE, f"{claim.id}|FINAL|{MISCITED}|{score!r}"))
    else:
        top = post_v
    cited = claim.cited
    paper = papers.get(cited.paper or "")
    return {
        "schema_version": 1,
        "claim_id": claim.id,
        "claim_file": claim.path or None,
        "paper": {"arxiv_id": cited.paper,
                  "title": paper.title if paper else None,
                  "latest_version": paper.version if paper else cited.version},
        "latest_version": {"version": paper.version if paper else cited.version,
                           "source_url": paper.source_url if paper else cited.url},
        "verdict": top,
        "verdicts": {"pre": pre_v, "post": post_v},
        "measurement": measurement,
        "statistics": stats,
        "protocol": {"match": pm, "deviations": devs},
        "claim": claim.record,
        "harness": {"version": __version__},
    }
