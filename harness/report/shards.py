"""Reading and merging the verdict folders that runs (and shards) wrote.

Reading fails closed: a missing folder, an unreadable or invalid verdict file, a verdict of
another schema version, or two files for one claim is an error naming the file, never a
verdict silently skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from harness.errors import ArtifactError
from harness.report import artifacts, summary

REPORT_FILES = ("summary.json", "gate.json", "manifest.json")
SCHEMA_VERSION = 1


def _load(path: Path) -> dict:
    try:
        art = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:   # UnicodeDecodeError is a ValueError
        raise ArtifactError(f"{path}: unreadable verdict ({type(exc).__name__}: {exc})") from None
    if not isinstance(art, dict):
        raise ArtifactError(f"{path}: not a verdict (a JSON {type(art).__name__}, expected an object)")
    version = art.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{path}: verdict schema_version {version!r}; this harness reads {SCHEMA_VERSION}")
    try:
        artifacts.validate(art)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None
    return art


def read_verdicts(folder: Path, *, role: str = "reports",
                  catalogue: set[str] | None = None, dropped: list[str] | None = None) -> dict[str, dict]:
    """Artifacts of a reports folder (``folder/verdicts/*.json`` or ``folder/*.json``), by claim id.

    With ``catalogue``, verdicts of claims no longer in it are left out and named in ``dropped``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{role} folder {folder} does not exist")
    nested = (folder / "verdicts").is_dir()
    source = folder / "verdicts" if nested else folder
    out: dict[str, dict] = {}
    where: dict[str, Path] = {}
    for path in sorted(source.glob("*.json")):
        if not nested and path.name in REPORT_FILES:
            continue
        art = _load(path)
        cid = art["claim_id"]
        if cid in out:
            raise ArtifactError(f"{path}: claim {cid!r} has a second verdict file ({where[cid]})")
        if catalogue is not None and cid not in catalogue:
            if dropped is not None:
                dropped.append(f"{cid} ({path.name})")
            continue
        out[cid], where[cid] = art, path
    return out


def read_baseline(folder: Path) -> dict[str, dict]:
    """A baseline's verdicts; an empty baseline is a wrong path more often than a real night."""
    found = read_verdicts(folder, role="baseline")
    if not found:
        raise ArtifactError(f"baseline folder {folder} holds no verdicts")
    return found


def merge(out: Path, inputs: list[Path], *, catalogue: set[str] | None = None,
          dropped: list[str] | None = None) -> dict[str, dict]:
    """Copy every shard's artifacts into ``out/verdicts`` and write one ``summary.json``.

    Every shard must hold verdicts (a shard that collected nothing is an error); the same
    claim in two shards must carry the same verdict (timestamps aside). Everything is built
    in a temporary folder and moved into place at the end: a refused merge leaves nothing."""
    from harness.claims.records import sanitise

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"merge output {out} exists and is not empty; merge into a new folder")
    merged: dict[str, dict] = {}
    origin: dict[str, Path] = {}
    for folder in inputs:
        found = read_verdicts(folder, role="shard", catalogue=catalogue, dropped=dropped)
        if not found:
            raise ArtifactError(f"shard {folder} holds no verdicts (did it collect nothing?)")
        for cid, art in found.items():
            if cid in merged and artifacts.without_volatile(merged[cid]) != artifacts.without_volatile(art):
                raise ArtifactError(f"claim {cid!r} differs between {origin[cid]} and {folder}")
            merged[cid], origin[cid] = art, folder
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        rows, names = {}, {}
        for cid, art in merged.items():
            name = sanitise(cid) + ".json"
            if name.lower() in names:
                raise ArtifactError(f"claims {names[name.lower()]!r} and {cid!r} share the artifact name {name}")
            names[name.lower()] = cid
            path = artifacts.write(art, tmp / "verdicts", name)
            rows[cid] = summary.row(art, str(path.relative_to(tmp)))
        doc = summary.document(rows, started="", command=["merge", *map(str, inputs)], write_errors={})
        artifacts.write_atomic(tmp / "summary.json", artifacts.dumps(doc))
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return merged


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old
