"""protocol_match, derived from the claim record and the run, never written by hand.

``exact`` only when the checkpoint is the source's own model and the split, metric, length,
dtype and whole split are the source's; anything else is ``proxy`` with its deviations. A
run that measures its claims on other checkpoints (``--claims-checkpoint``) says so here too.
"""

from __future__ import annotations

from harness import kinds

EXACT = "exact"
PROXY = "proxy"


def deviations(claim, *, dtype: str | None = None, slice_=None, checkpoints=()) -> list[dict]:
    """Every way this measurement departs from the protocol behind the reported number.

    ``checkpoints``: the run's ``--claims-checkpoint`` list (RunSettings.checkpoints); a claim
    that runs a model was moved onto one of them (harness.claims.checkpoints), which it names."""
    out = _deviations(claim, dtype=dtype, slice_=slice_)
    ckpt = claim.checkpoint_ref
    if checkpoints and kinds.uses_model(claim.kind) and ckpt is not None and ckpt.published:
        out.append({"what": "checkpoint_override", "source": "the claim record's checkpoint",
                    "here": f"{ckpt.repo}@{ckpt.revision}", "note": "--claims-checkpoint on the command line"})
    return out


def _deviations(claim, *, dtype: str | None, slice_) -> list[dict]:
    rec = claim.record
    paper = rec.get("paper_protocol")
    measure = claim.measure
    out: list[dict] = []

    def add(what, source, here, note=""):
        out.append({"what": what, "source": source, "here": here, **({"note": note} if note else {})})

    kind = kinds.get(measure["kind"])
    if kind.deviations is not None:     # a kind with its own protocol (a count has no split, no checkpoint)
        return kind.deviations(claim)
    if paper is None:
        add("protocol_unrecorded", "unknown", "-", "the claim record has no paper_protocol block")
        return out
    ckpt = claim.checkpoint_ref
    if ckpt.origin != "source":
        add("checkpoint", paper.get("checkpoint", "the source's own model"),
            ckpt.repo or "none", "community checkpoint, not the source's own model")
    if ckpt.revision is not None and len(ckpt.revision) != 40:
        add("checkpoint_revision", "a pinned commit", ckpt.revision, "unpinned: the files may change")
    if paper.get("model_version") and ckpt.model_version and paper["model_version"] != ckpt.model_version:
        add("model_version", paper["model_version"], ckpt.model_version)
    if paper.get("split") and paper["split"] != measure["dataset"]["split"]:
        add("split", paper["split"], measure["dataset"]["split"])
    if paper.get("metric") and paper["metric"] != claim.metric:
        add("metric", paper["metric"], claim.metric)
    if paper.get("max_length") and paper["max_length"] != measure["max_length"]:
        add("max_length", paper["max_length"], measure["max_length"])
    wanted_dtype = paper.get("dtype", "float32")
    if dtype and dtype != wanted_dtype:
        add("dtype", wanted_dtype, dtype)
    if paper.get("whole_split", True):
        if slice_ is not None and not slice_.whole_split:
            add("micro_slice", f"all {slice_.split_size} examples", f"{slice_.size} examples")
        elif slice_ is None and claim.slice_plan.size != "all":
            add("micro_slice", "whole split", f"{claim.slice_plan.size} examples")
    return out


def match(devs: list[dict]) -> str:
    return EXACT if not devs else PROXY
