"""Merging the verdict folders that shards wrote, and checking that they cover the catalogue.

Reading is ``harness.report.verdicts`` (the one reader: schema version, one file per claim,
cut-short runs). Here: the shards must be one plan's shards, all of them, each finished, and
together cover the catalogue; a claim in no shard fails the gate by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from harness.errors import ArtifactError
from harness.report import artifacts, summary
from harness.report.verdicts import (REPORT_FILES, RUN_RECORD, SCHEMA_VERSION, Folder, identity, read,  # noqa: F401
                                     read_baseline, read_verdicts)


def coverage(folders: list[Folder], measured: set[str], catalogue: set[str] | None, *,
             whole: bool) -> tuple[dict[str, str], list[str]]:
    """Claims that should have a verdict and have none (claim id -> why), and notes.

    ``folders``: the shards (``whole``: all of them, as merge has) or one reports folder;
    ``measured``: the claim ids that have a verdict. Each run records its shard (I/N and the
    plan of every claim) in its run.json; shards of different plans, a shard missing or given
    twice are errors (``ArtifactError``); a catalogue claim in no shard's plan, a planned claim
    with no verdict, and (at merge, with a catalogue at hand) a catalogue claim in no shard's
    verdicts are returned. Folders without a run record are noted when nothing else can check."""
    missing: dict[str, str] = {}
    notes: list[str] = []
    # a claims x checkpoints run measures a catalogue claim as cases of its own ids (the artifact's claim.id)
    measured = set(measured) | {str((a.get("claim") or {}).get("id")) for f in folders for a in f.verdicts.values()}
    runs = [f.run or {} for f in folders]
    on_purpose = {c for r in runs for c in r.get("deselected") or []}   # -k, -m: not measured on purpose
    sharded = [(f, f.shard) for f in folders if f.shard]
    plan: dict[str, int] = {}
    if sharded:
        first, info = sharded[0]
        count, plan = info.get("count"), dict(info.get("plan") or {})
        for f, other in sharded[1:]:
            if other.get("count") != count or dict(other.get("plan") or {}) != plan:
                differ = sorted(c for c in set(plan) | set(other.get("plan") or {})
                                if plan.get(c) != (other.get("plan") or {}).get(c))
                raise ArtifactError(
                    f"shards {first.path} and {f.path} were planned differently (shard count {count} vs "
                    f"{other.get('count')}; {len(differ)} claim(s) placed differently, e.g. {', '.join(differ[:5])}): "
                    "every shard must see the same catalogue, selection and --claims-shard-costs, or some "
                    "claims run in no shard")
        present: dict[int, Path] = {}
        for f, info in sharded:
            index = info.get("index")
            if index in present:
                raise ArtifactError(f"shard {index}/{count} is given twice: {present[index]} and {f.path}")
            present[index] = f.path
        absent = [i for i in range(1, int(count or 0) + 1) if i not in present]
        if whole and absent:
            lost = sorted(c for c, i in plan.items() if i in absent)
            raise ArtifactError(f"shard(s) {', '.join(f'{i}/{count}' for i in absent)} missing from the merge "
                                f"({len(lost)} claim(s) would have no verdict, e.g. {', '.join(lost[:5]) or '-'})")
        for cid, index in sorted(plan.items()):
            if cid in measured or cid in on_purpose:
                continue
            if index in present:
                missing[cid] = f"planned for shard {index}/{count} ({present[index]}) but has no verdict"
        if not whole and absent:
            notes.append(f"shard {', '.join(f'{i}' for i in sorted(present))} of {count}: the claims of shard(s) "
                         f"{', '.join(map(str, absent))} are judged when the shards are merged")
    if catalogue is not None:
        for cid in sorted(catalogue - measured - on_purpose - set(missing)):
            if sharded and cid not in plan:
                missing[cid] = "in the catalogue but in no shard's plan (the shards saw another catalogue)"
            elif whole and not sharded:
                missing[cid] = "in the catalogue but in none of the shards' verdicts"
            elif not sharded and any(f.run for f in folders):
                missing[cid] = "in the catalogue but has no verdict in this run"
    if not any(f.run for f in folders) and (catalogue is None or not whole):
        names = ", ".join(str(f.path) for f in folders)
        notes.append(f"no run record (run.json) in {names}" + ("" if catalogue is not None else " and no catalogue "
                     "at hand") + ": whether every claim of the catalogue has a verdict (no shard missing) "
                     "cannot be checked")
    return missing, notes


def cut_short(folders: list[Folder]) -> None:
    """A shard whose run did not finish holds part of a night: refused by name."""
    for f in folders:
        why = f.cut_short
        if why:
            raise ArtifactError(f"shard {f.path}: {why}; rerun the shard")


def merge(out: Path, inputs: list[Path], *, catalogue: set[str] | None = None,
          dropped: list[str] | None = None, missing_out: dict[str, str] | None = None,
          notes_out: list[str] | None = None, folder_out: list[Folder] | None = None,
          link: bool = True) -> dict[str, dict]:
    """Place every shard's artifacts in ``out/verdicts`` and write one ``summary.json``.

    Every shard must hold verdicts (a shard that collected nothing is an error) and be finished;
    the shards must be one plan's, all of them (``coverage``); the same claim in two shards must
    carry the same verdict (timestamps aside). Claims that should have a verdict and have none go
    into ``missing_out`` (the gate fails them), what could not be checked into ``notes_out``. Everything is built
    in a temporary folder and moved into place at the end: a refused merge leaves nothing.
    Each artifact is placed as the file the reader checked (``_place``: not re-validated, not
    re-encoded); ``folder_out`` gets the merged folder as a reader of ``out`` would see it (for
    the report). ``link=False``: every verdict is a new file, none shared with a shard."""
    from harness.claims.records import sanitise

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"merge output {out} exists and is not empty; merge into a new folder")
    merged: dict[str, dict] = {}
    texts: dict[str, str] = {}
    origin: dict[str, Path] = {}
    sources: dict[str, tuple[Path, tuple]] = {}
    folders = []
    for folder in inputs:
        found = read(folder, role="shard", catalogue=catalogue, keep_text=True)
        if dropped is not None:
            dropped.extend(found.dropped)
        if not found.verdicts:
            raise ArtifactError(f"shard {folder} holds no verdicts (did it collect nothing?)")
        folders.append(found)
        for cid, art in found.verdicts.items():
            if cid in merged and artifacts.without_volatile(merged[cid]) != artifacts.without_volatile(art):
                raise ArtifactError(f"claim {cid!r} differs between {origin[cid]} and {folder}")
            merged[cid], origin[cid], texts[cid] = art, folder, found.texts[cid]
            sources[cid] = (found.files[cid], found.sources[cid])
    cut_short(folders)
    missing, notes = coverage(folders, set(merged), catalogue, whole=True)
    if missing_out is not None:
        missing_out.update(missing)
    if notes_out is not None:
        notes_out.extend(notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        rows, names, files = {}, {}, {}
        (tmp / "verdicts").mkdir()
        for cid, art in merged.items():
            name = sanitise(cid) + ".json"
            if name.lower() in names:
                raise ArtifactError(f"claims {names[name.lower()]!r} and {cid!r} share the artifact name {name}")
            names[name.lower()] = cid
            files[cid] = _place(texts[cid], *sources[cid], tmp / "verdicts" / name, link=link)   # synced below
            rows[cid] = summary.row(art, f"verdicts/{name}")
        from harness.atomic import sync_all

        sync_all()
        doc = summary.document(rows, started="", command=["merge", *map(str, inputs)], write_errors={})
        artifacts.write_atomic(tmp / "summary.json", artifacts.dumps(doc))
        from harness.report.verdicts import merged_record

        record = merged_record(folders, sorted(merged))
        artifacts.write_atomic(tmp / RUN_RECORD, artifacts.dumps(record))
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if folder_out is not None:
        folder_out.append(Folder(out, verdicts=dict(merged), run=record,
                                 files={cid: out / "verdicts" / path.name for cid, path in files.items()}))
    return merged


def _place(text: str, source: Path, seen: tuple, path: Path, *, link: bool) -> Path:
    """The verdict file at ``path``: a hard link to the shard's file where that is the very file
    the reader checked (same device, inode, size and mtime after linking), else a new file
    holding the checked text.

    Why a link: creating 5,000 files costs this project's disk 0.1 to 3 s of kernel time, linking
    them 0.05 s. A link cannot let either side change the other through the harness, which never
    writes a verdict file in place (every write is a new file renamed over the old one: the
    other name keeps the old file). A shard on another filesystem, a file that may not be linked
    or one replaced since it was read gets a copy of the text that was checked."""
    if link:
        try:
            os.link(source, path, follow_symlinks=True)
        except OSError:
            pass                # another filesystem (EXDEV), no right to link (EPERM), no links here
        else:
            try:
                placed = os.stat(path, follow_symlinks=False)
                if stat.S_ISREG(placed.st_mode) and identity(placed) == seen:
                    return path
            except OSError:
                pass
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # not the file that was checked: the checked text instead
    return _copy(text, path)


def _copy(text: str, path: Path) -> Path:
    """A new file in the merge's own temporary folder (moved into place whole at the end, so no
    file of it needs its own atomic rename), with the mode a plain ``open`` gives."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    return path


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old
