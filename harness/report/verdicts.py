"""The one reader of verdict folders: gate, merge, compare, render, list and the shard costs.

A verdict folder is a reports folder (``DIR/verdicts/*.json``, with ``DIR/run.json``, the run
record) or a plain folder of verdict files. Every reader applies the same checks:

- each file is a readable JSON object of this harness's ``schema_version`` (a newer one is
  refused, not read as ours) that passes the verdict schema;
- one file per claim (two files for one claim are an error, never a silent pick);
- the run record says whether the run finished: one that was interrupted, or is still marked
  running while nothing holds the folder (killed), is cut short, and its verdicts are not a
  whole night.

Strict readers (gate, merge, compare) raise ``ArtifactError`` naming the file; lenient ones
(the report, shard costs) get the same findings as ``problems`` and go on with the rest.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ArtifactError

SCHEMA_VERSION = 1            # of verdict artifacts (harness/schemas/verdict.schema.json)
RUN_SCHEMA_VERSION = 1        # of the run record, run.json
RUN_RECORD = "run.json"
REPORT_FILES = ("summary.json", "gate.json", "manifest.json", RUN_RECORD)
MAX_VERDICT_BYTES = 256 * 2**20   # a verdict holds per-example predictions, never gigabytes

RUNNING, FINISHED, INTERRUPTED = "running", "finished", "interrupted"


@dataclass
class Folder:
    """What one verdict folder holds."""

    path: Path
    verdicts: dict[str, dict] = field(default_factory=dict)     # claim id -> artifact
    files: dict[str, Path] = field(default_factory=dict)        # claim id -> its file
    run: dict | None = None                                     # run.json, when there is one
    dropped: list[str] = field(default_factory=list)            # verdicts of claims not in the catalogue
    problems: list[str] = field(default_factory=list)           # lenient reading only
    texts: dict[str, str] = field(default_factory=dict)         # claim id -> its file's text (``keep_text``)
    sources: dict[str, tuple] = field(default_factory=dict)     # claim id -> identity() of the file read (``keep_text``)

    @property
    def cut_short(self) -> str | None:
        """Why the run that wrote this folder did not finish, or None."""
        return cut_short(self.path, self.run)

    @property
    def shard(self) -> dict | None:
        shard = (self.run or {}).get("shard")
        return shard if isinstance(shard, dict) else None


# ---------------------------------------------------------------------- one verdict
def _json_object(path: Path, what: str, text_out: list | None = None) -> dict:
    """One JSON object from a regular file of a sane size, or ArtifactError naming the file.

    Opened once and checked on the open file (a file swapped after a check is still caught;
    a FIFO never blocks the open). ``text_out``: ``(text, identity)`` is appended to it, the
    file's text as read and the (device, inode, size, mtime) of the file it came from."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ArtifactError(f"{path}: unreadable {what} ({type(exc).__name__}: {exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{path}: not a regular file")
        if info.st_size > MAX_VERDICT_BYTES:
            raise ArtifactError(f"{path}: {info.st_size} bytes, more than a {what} holds ({MAX_VERDICT_BYTES})")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(MAX_VERDICT_BYTES + 1)
        if len(raw) > MAX_VERDICT_BYTES:
            raise ArtifactError(f"{path}: more than a {what} holds ({MAX_VERDICT_BYTES} bytes)")
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:   # UnicodeDecodeError is a ValueError
        raise ArtifactError(f"{path}: unreadable {what} ({type(exc).__name__}: {exc})") from None
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: not a {what} (a JSON {type(data).__name__}, expected an object)")
    if text_out is not None:
        text_out.append((text, identity(info)))
    return data


def identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """Which file, and which version of it: (device, inode, size, mtime in ns)."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _check_version(path: Path, version, expected: int, what: str) -> None:
    if isinstance(version, int) and not isinstance(version, bool) and version == expected:
        return
    if isinstance(version, int) and not isinstance(version, bool) and version > expected:
        raise ArtifactError(f"{path}: {what} schema_version {version} is newer than this harness reads "
                            f"({expected}); read it with the harness that wrote it, or upgrade")
    raise ArtifactError(f"{path}: {what} schema_version {version!r}; this harness reads {expected}")


def load_artifact(path: Path, text_out: list | None = None) -> dict:
    """One verdict file, checked (readable, an object, our schema version, the verdict schema);
    ``text_out``: the file's text, as read, and its identity are appended to it (merge places the
    file it checked, unchanged)."""
    from harness.report import artifacts

    path = Path(path)
    art = _json_object(path, "verdict", text_out)
    _check_version(path, art.get("schema_version"), SCHEMA_VERSION, "verdict")
    try:
        artifacts.validate(art)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None
    return art


# ---------------------------------------------------------------------- the run record
def read_run(folder: Path) -> dict | None:
    """``folder/run.json`` (None when the folder has none: an older run or a hand-made folder)."""
    path = Path(folder) / RUN_RECORD
    if not os.path.lexists(path):
        return None
    data = _json_object(path, "run record")
    _check_version(path, data.get("schema_version"), RUN_SCHEMA_VERSION, "run record")
    if data.get("state") not in (RUNNING, FINISHED, INTERRUPTED):
        raise ArtifactError(f"{path}: run record state {data.get('state')!r} is not one of "
                            f"{RUNNING}, {FINISHED}, {INTERRUPTED}")
    return data


def lock_held(folder: Path) -> bool:
    """Whether a claims run holds ``folder``'s lock now (a run marked running but not holding
    the lock was killed)."""
    import fcntl

    from harness.atomic import LOCK_NAME

    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def cut_short(folder: Path, run: dict | None) -> str | None:
    """Why the run recorded in ``folder`` did not finish (None when it did, or nothing says)."""
    if not run:
        return None
    state = run.get("state")
    if state == INTERRUPTED:
        return f"the run that wrote {folder} was interrupted ({run.get('why') or 'stopped before the end'})"
    if state == RUNNING:
        if lock_held(folder):
            return f"the run that writes {folder} is still going (pid {run.get('pid', '?')})"
        return (f"the run that wrote {folder} never finished (killed, or its machine stopped; "
                f"started {run.get('started', '?')}, pid {run.get('pid', '?')})")
    return None


# ---------------------------------------------------------------------- a folder
def read(folder: Path, *, role: str = "reports", catalogue: set[str] | None = None,
         lenient: bool = False, run_record: bool = True, keep_text: bool = False) -> Folder:
    """Every verdict of ``folder`` (``folder/verdicts/*.json`` or ``folder/*.json``), by claim id.

    With ``catalogue``, verdicts of claims not in it are left out and listed in ``dropped``
    (``within``). ``lenient``: a bad file, a second file for a claim or an unreadable run record
    is listed in ``problems`` (the first file kept) instead of raising. ``keep_text``: each
    file's text too (``Folder.texts``), as read and checked, and which file version it was
    (``Folder.sources``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{role} folder {folder} does not exist")
    out = Folder(folder)
    try:
        out.run = read_run(folder) if run_record else None
    except ArtifactError as exc:
        if not lenient:
            raise
        out.problems.append(str(exc))
    nested = (folder / "verdicts").is_dir()
    source = folder / "verdicts" if nested else folder
    text: list[tuple] | None = [] if keep_text else None
    for path in sorted(source.glob("*.json")):
        if not nested and path.name in REPORT_FILES:
            continue
        if text:
            text.clear()
        try:
            art = load_artifact(path, text)
            cid = art["claim_id"]
            if cid in out.verdicts:
                raise ArtifactError(f"{path}: claim {cid!r} has a second verdict file ({out.files[cid]}); "
                                    "one claim, one verdict: remove the one that is not this run's")
        except ArtifactError as exc:
            if not lenient:
                raise
            out.problems.append(str(exc))
            continue
        out.verdicts[cid], out.files[cid] = art, path
        if text:
            out.texts[cid], out.sources[cid] = text[0]
    return within(out, catalogue) if catalogue is not None else out


def within(found: Folder, catalogue: set[str]) -> Folder:
    """``found`` less the verdicts of claims not in ``catalogue`` (listed in ``dropped``): what a
    strict reader with a catalogue sees, from a folder read once for the report as well."""
    out = Folder(found.path, run=found.run, dropped=list(found.dropped), problems=list(found.problems))
    for cid, art in found.verdicts.items():
        base = (art.get("claim") or {}).get("id", cid)   # a claims x checkpoints case names its claim there
        if cid not in catalogue and base not in catalogue:
            out.dropped.append(f"{cid} ({found.files[cid].name})")
            continue
        out.verdicts[cid], out.files[cid] = art, found.files[cid]
        if cid in found.texts:
            out.texts[cid], out.sources[cid] = found.texts[cid], found.sources[cid]
    return out


def read_verdicts(folder: Path, *, role: str = "reports", catalogue: set[str] | None = None,
                  dropped: list[str] | None = None) -> dict[str, dict]:
    """The verdicts of ``folder`` by claim id (strict; see ``read``)."""
    found = read(folder, role=role, catalogue=catalogue)
    if dropped is not None:
        dropped.extend(found.dropped)
    return found.verdicts


def read_baseline(folder: Path) -> dict[str, dict]:
    """A baseline's verdicts: a finished run's, not empty (an empty baseline is a wrong path more
    often than a real night)."""
    found = read(folder, role="baseline")
    if not found.verdicts:
        raise ArtifactError(f"baseline folder {folder} holds no verdicts")
    why = found.cut_short
    if why:
        raise ArtifactError(f"baseline folder {folder}: {why}; a baseline must be a whole night")
    return found.verdicts


# ---------------------------------------------------------------------- writing the run record
def new_record(*, run_id: str, started: str, pid: int, command: list[str]) -> dict:
    """The run record a claims run writes when it starts (state ``running``, until it ends)."""
    return {"schema_version": RUN_SCHEMA_VERSION, "run_id": run_id, "state": RUNNING, "started": started,
            "finished": None, "pid": pid, "command": [str(c) for c in command], "claims": [], "deselected": [],
            "shard": None}


def merged_record(folders: list[Folder], claims: list[str]) -> dict:
    """The run record of a merge: finished, the shards it came from, every claim they measured."""
    import datetime as _dt

    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    deselected = {c for f in folders for c in (f.run or {}).get("deselected") or []}
    return {"schema_version": RUN_SCHEMA_VERSION, "run_id": "merge-" + "+".join(
                str((f.run or {}).get("run_id") or f.path.name) for f in folders),
            "state": FINISHED, "started": now, "finished": now, "pid": os.getpid(),
            "command": ["merge", *(str(f.path) for f in folders)], "claims": claims,
            "deselected": sorted(deselected - set(claims)), "shard": None,
            "merged_from": [str(f.path) for f in folders]}


def write_record(folder: Path, record: dict) -> Path:
    """``folder/run.json``, atomically."""
    from harness.report.artifacts import dumps, write_atomic

    return write_atomic(Path(folder) / RUN_RECORD, dumps(record))
