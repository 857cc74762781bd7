"""History across runs: each run's summary kept in a local SQLite file (stdlib sqlite3).

One row per (run, claim): status, measured value, interval, band, printed scale, and the
library versions of the run, so the report can draw a claim's value over runs and mark where
torch or transformers changed. The file lives next to the reports (``history.sqlite``) or
where ``--claims-history`` says; a run is recorded once (keyed by its start time and folder).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from harness.errors import ArtifactError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL, finished TEXT, reports TEXT NOT NULL, command TEXT,
    versions TEXT, git_commit TEXT,
    UNIQUE (started, reports)
);
CREATE TABLE IF NOT EXISTS results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    claim TEXT NOT NULL, status TEXT NOT NULL, measured REAL, low REAL, high REAL,
    reported REAL, band_low REAL, band_high REAL, scale TEXT,
    PRIMARY KEY (run_id, claim)
);
"""
VERSION_KEYS = ("torch", "transformers", "datasets", "numpy", "harness")


HISTORY_VERSION = 1     # PRAGMA user_version of the file; 0 is a file from before versions (the same layout)


def _check_version(con: sqlite3.Connection, path: Path) -> int:
    """The file's version; one this harness does not know is refused by name, never written over."""
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise ArtifactError(f"history {path}: not a history file this harness can read ({exc}); "
                            "left as it is") from None
    if version > HISTORY_VERSION:
        raise ArtifactError(f"history {path}: schema version {version} is newer than this harness writes "
                            f"({HISTORY_VERSION}); this run is not recorded there and the file is left as it is "
                            "(upgrade the harness, or pass --claims-history with another file)")
    return version


def _connect(path: Path) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=30)
    try:
        version = _check_version(con, path)
        con.executescript(SCHEMA)
        if version < HISTORY_VERSION:
            con.execute(f"PRAGMA user_version = {HISTORY_VERSION}")
    except sqlite3.DatabaseError as exc:
        con.close()
        raise ArtifactError(f"history {path}: cannot be written ({exc}); left as it is") from None
    except BaseException:
        con.close()
        raise
    return con


def _read(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def record_folder(reports_dir: Path, db: Path) -> int | None:
    """Add the run in ``reports_dir`` (summary.json, manifest.json) to ``db``; returns its run id."""
    reports_dir = Path(reports_dir)
    summary = _read(reports_dir / "summary.json")
    if not isinstance(summary, dict) or not summary.get("claims"):
        return None
    manifest = _read(reports_dir / "manifest.json") or {}
    packages = dict(manifest.get("packages") or {}, harness=manifest.get("harness"))
    versions = {k: packages.get(k) for k in VERSION_KEYS if packages.get(k)}
    started = summary.get("started") or manifest.get("started") or summary.get("finished") or "?"
    con = _connect(db)
    try:
        with con:
            cur = con.execute(
                "INSERT OR IGNORE INTO runs (started, finished, reports, command, versions, git_commit) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (started, summary.get("finished"), str(reports_dir.resolve()), json.dumps(summary.get("command")),
                 json.dumps(versions, sort_keys=True), manifest.get("git_commit")))
            if cur.rowcount == 0:
                return None   # this run is already recorded
            run_id = cur.lastrowid
            for r in summary["claims"]:
                iv, band = r.get("interval") or [None, None], r.get("band") or [None, None]
                con.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (run_id, str(r.get("claim")), str(r.get("status")), r.get("measured"), iv[0], iv[1],
                             r.get("reported"), band[0], band[1], r.get("scale")))
        return run_id
    finally:
        con.close()


#: Runs a report draws: the latest ones. Rendering grows with the points drawn (20,000 runs of
#: one claim took 220 s); the file keeps every run, the page shows a bounded window of them.
MAX_RUNS = 100


def load(db: Path, max_runs: int = MAX_RUNS) -> dict[str, list[dict]]:
    """Claim id -> its results over the latest ``max_runs`` runs, oldest first, each with the run's versions."""
    if db is None or not Path(db).is_file():
        return {}
    con = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True, timeout=30)
    try:
        _check_version(con, Path(db))
        rows = con.execute(
            "SELECT r.id, r.started, r.versions, x.claim, x.status, x.measured, x.low, x.high, x.reported, "
            "x.band_low, x.band_high, x.scale FROM results x JOIN runs r ON r.id = x.run_id "
            "WHERE r.id IN (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT ?) "
            "ORDER BY r.started, r.id", (int(max_runs),)).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ArtifactError(f"history {db}: unreadable ({exc}); left as it is") from None
    finally:
        con.close()
    out: dict[str, list[dict]] = {}
    for (run_id, started, versions, claim, status, measured, low, high, reported, blo, bhi, scale) in rows:
        out.setdefault(claim, []).append({
            "run": run_id, "started": started, "versions": json.loads(versions or "{}"), "status": status,
            "measured": measured, "interval": [low, high] if low is not None and high is not None else None,
            "reported": reported, "band": [blo, bhi] if blo is not None and bhi is not None else None,
            "scale": scale})
    return out


def version_changes(points: list[dict]) -> list[tuple[int, str]]:
    """(index, 'torch 2.12 -> 2.13') where a library version differs from the run before."""
    out = []
    for i in range(1, len(points)):
        a, b = points[i - 1]["versions"], points[i]["versions"]
        diff = [f"{k} {a.get(k)}\u2192{b.get(k)}" for k in VERSION_KEYS if a.get(k) != b.get(k)]
        if diff:
            out.append((i, ", ".join(diff)))
    return out
