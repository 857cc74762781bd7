"""Claims measured on other checkpoints: ``--claims-checkpoint`` (repeatable) and ``--claims-checkpoints FILE``.

With one checkpoint every claim that runs a model is measured on it instead of its own and
keeps its id (as lm-eval's ``--model_args pretrained=...``). With several, the catalogue becomes
a matrix: each (claim, checkpoint) pair is its own case with its own id, ``<claim id>@<org>/
<name>@<revision, 12 characters>``, and its own verdict artifact, so a run, its shards and its
reports hold one verdict per cell. A claim that runs no model (a parameter count) is measured
once. The cases of one checkpoint share its xdist group, so they stay on one worker.
"""

from __future__ import annotations

import copy
import dataclasses

from harness.errors import RecordError


def chosen(single, from_file) -> list[tuple[str, str]]:
    """The checkpoints of a run, in the order given, each once: ``--claims-checkpoint`` values
    (a list; a bare tuple is one) then those of ``--claims-checkpoints``."""
    if isinstance(single, tuple):
        single = [single]
    out: list[tuple[str, str]] = []
    for pair in [*(single or []), *(from_file or [])]:
        if tuple(pair) not in out:
            out.append(tuple(pair))
    return out


def label(repo: str, revision: str) -> str:
    """How a checkpoint is named in ids, columns and deviations: 'org/name@86655e0ce120'."""
    return f"{repo}@{revision[:12]}"


def cell_id(claim_id: str, repo: str, revision: str) -> str:
    return f"{claim_id}@{label(repo, revision)}"


def with_checkpoint(claim, repo: str, revision: str, *, cell: bool = False):
    """The claim measured on another checkpoint, also where its own is unavailable; a claim that
    runs no model is returned as it is. ``cell``: the (claim, checkpoint) pair gets its own id."""
    from harness import kinds

    ckpt = claim.checkpoint_ref
    if not kinds.uses_model(claim.kind) or ckpt is None:
        return claim
    record = copy.deepcopy(claim.record)
    record["measure"]["checkpoint"] = {"repo": repo, "revision": revision, "origin": "community",
                                       **({"model_version": ckpt.model_version} if ckpt.model_version is not None
                                          else {})}
    return dataclasses.replace(claim, record=record, **({"id": cell_id(claim.id, repo, revision)} if cell else {}))


def expand(claims: list, checkpoints: list[tuple[str, str]]) -> tuple[list, dict[str, str]]:
    """(claims to run, claim id -> the checkpoint it was moved to, as 'repo@revision').

    Raises RecordError when two cells would write one artifact file (ids that differ only in
    characters a file name cannot keep)."""
    if not checkpoints:
        return list(claims), {}
    out, moved, names = [], {}, {}
    for claim in claims:
        variants = [with_checkpoint(claim, repo, rev, cell=len(checkpoints) > 1) for repo, rev in checkpoints]
        if variants[0] is claim:                # runs no model: once, as it is
            variants = [claim]
        for (repo, rev), variant in zip(checkpoints, variants):
            if variant is claim:
                continue
            moved[variant.id] = f"{repo}@{rev}"
        for variant in variants:
            other = names.setdefault(variant.artifact_name.lower(), variant.id)
            if other != variant.id:
                raise RecordError(variant.path, f"the cells {other!r} and {variant.id!r} would share the artifact "
                                                f"{variant.artifact_name!r}", record=claim.id, field="id")
            out.append(variant)
    return out, moved
