"""Shards by checkpoint group, and merging the verdict folders that shards wrote."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import ArtifactError
from harness.report import artifacts, summary


def shard_of(group: str, groups: list[str], n: int) -> int:
    """1-based shard of a group: groups in sorted order, dealt round-robin."""
    return sorted(groups).index(group) % n + 1


def read_verdicts(folder: Path) -> dict[str, dict]:
    """Artifacts of a reports folder (``folder/verdicts/*.json`` or ``folder/*.json``), by claim id."""
    folder = Path(folder)
    source = folder / "verdicts" if (folder / "verdicts").is_dir() else folder
    out = {}
    for path in sorted(source.glob("*.json")):
        try:
            art = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path}: unreadable verdict ({exc})") from None
        if isinstance(art, dict) and "claim_id" in art and "verdict" in art:
            out[art["claim_id"]] = art
    return out


def merge(out: Path, inputs: list[Path]) -> dict[str, dict]:
    """Copy every shard's artifacts into ``out/verdicts`` and write one ``summary.json``.

    The same claim in two shards must carry the same verdict (timestamps aside)."""
    merged: dict[str, dict] = {}
    origin: dict[str, Path] = {}
    for folder in inputs:
        for cid, art in read_verdicts(folder).items():
            if cid in merged and artifacts.without_volatile(merged[cid]) != artifacts.without_volatile(art):
                raise ArtifactError(f"claim {cid!r} differs between {origin[cid]} and {folder}")
            merged[cid], origin[cid] = art, folder
    rows = {}
    for cid, art in merged.items():
        from harness.claims.records import sanitise

        path = artifacts.write(art, Path(out) / "verdicts", sanitise(cid) + ".json")
        rows[cid] = summary.row(art, str(path.relative_to(out)))
    doc = summary.document(rows, started="", command=["merge", *map(str, inputs)], write_errors={})
    artifacts.write_atomic(Path(out) / "summary.json", artifacts.dumps(doc))
    return merged
