"""Fill a local mirror with every model and dataset the claims need: ``python -m harness prefetch``.

The mirror is the layout ``harness.measure.assets`` reads first:
``<mirror>/models/<org>/<name>/`` and ``<mirror>/datasets/<org>/<name>/``, written with
``snapshot_download(local_dir=...)`` so the commit of each file is recorded next to it
(``.cache/huggingface/download/*.metadata``) and a pinned revision can be checked offline.

One row per asset, deduplicated (a dataset used by several configs is fetched once, with
every config's folder), in sorted order. An asset the mirror already holds at the pinned
revision is ``present`` and not asked for again; a failure is recorded and the rest go on.
With ``HF_HUB_OFFLINE`` set nothing is asked of the hub: every missing asset fails at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness import kinds
from harness.claims.records import Claim
from harness.measure import assets

FETCHED, PRESENT, FAILED, SKIPPED = "fetched", "present", "failed", "skipped"


# ---------------------------------------------------------------------- what the claims need
def _wanted(claims: list[Claim]) -> list[dict]:
    """Deduplicated assets, sorted by (kind, repo, revision); each lists the claims that use it."""
    found: dict[tuple, dict] = {}
    for claim in claims:
        if not kinds.uses_model(claim.kind):
            continue
        ckpt, ds = claim.checkpoint_ref, claim.measure.get("dataset") or {}
        if ckpt is not None and ckpt.published:
            row = found.setdefault(("model", ckpt.repo, ckpt.revision),
                                   {"kind": "model", "repo": ckpt.repo, "revision": ckpt.revision, "claims": []})
            row["claims"].append(claim.id)
        if "repo" in ds:
            row = found.setdefault(("dataset", ds["repo"], ds["revision"]),
                                   {"kind": "dataset", "repo": ds["repo"], "revision": ds["revision"],
                                    "configs": [], "claims": []})
            if ds["config"] not in row["configs"]:
                row["configs"].append(ds["config"])
            row["claims"].append(claim.id)
    rows = [found[k] for k in sorted(found)]
    for row in rows:
        row["claims"] = sorted(set(row["claims"]))
        if row["kind"] == "dataset":
            row["configs"] = sorted(row["configs"])
    return rows


def _folder(mirror: Path, row: dict) -> Path:
    return Path(mirror) / ("models" if row["kind"] == "model" else "datasets") / row["repo"]


def _patterns(row: dict, repo_files: list[str] | None = None) -> list[str]:
    if row["kind"] == "dataset":
        return ["README.md"] + [f"{c}/*" for c in row["configs"]]
    patterns = list(assets.MODEL_PATTERNS)
    if repo_files is not None and any(f in repo_files for f in assets.SAFETENSORS_FILES):
        patterns.remove(assets.PICKLE_WEIGHTS)   # safetensors listed: never fetch the pickle
    return patterns


def _missing_here(folder: Path, row: dict) -> str | None:
    """Why the mirror folder cannot serve the row (None: it can)."""
    if not folder.is_dir():
        return f"no folder {folder}"
    if row["kind"] == "model":
        if not (folder / "config.json").is_file():
            return f"{folder} has no config.json"
        if not any((folder / w).is_file() for w in assets.WEIGHT_FILES):
            return f"{folder} has no weights file ({', '.join(assets.WEIGHT_FILES)})"
    else:
        if not (folder / "README.md").is_file():
            return f"{folder} has no README.md"
        for config in row["configs"]:
            sub = folder / config
            if not sub.is_dir() or not any(p.is_file() for p in sub.rglob("*")):
                return f"{folder} has no files for config {config!r}"
    seen = assets._mirror_revision(folder)
    if seen and len(row["revision"]) == 40 and seen != row["revision"]:
        return f"{folder} holds revision {seen}, the claims pin {row['revision']}"
    return None


def _offline() -> bool:
    """True when huggingface_hub will refuse the network (the env flag, or its constant if imported)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE"):
        return True
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


# ---------------------------------------------------------------------- fetching
def _fetch(row: dict, folder: Path) -> None:
    """Download one asset into ``folder``; raises with the cause."""
    import huggingface_hub

    repo_type = "model" if row["kind"] == "model" else "dataset"
    if row["kind"] == "model":
        files = huggingface_hub.HfApi().list_repo_files(row["repo"], repo_type=repo_type,
                                                         revision=row["revision"])
        if not any(w in files for w in assets.WEIGHT_FILES):
            raise RuntimeError(f"{row['repo']}@{row['revision']} has no weights file the harness loads "
                               f"({', '.join(assets.WEIGHT_FILES)})")
        row["allow_patterns"] = _patterns(row, files)
    folder.mkdir(parents=True, exist_ok=True)
    huggingface_hub.snapshot_download(row["repo"], repo_type=repo_type, revision=row["revision"],
                                      local_dir=folder, allow_patterns=row["allow_patterns"])


def prefetch(claims: list[Claim], mirror: Path, *, dry_run: bool = False) -> list[dict]:
    """Fetch every model and dataset the claims pin into ``mirror``; one row per asset.

    Rows: ``{kind, repo, revision, status, error, path, allow_patterns, claims}`` (datasets
    also ``configs``); ``status`` is ``fetched``, ``present`` (the mirror already serves it),
    ``failed`` (``error`` says why) or ``skipped`` (``dry_run``: it would be fetched).
    """
    mirror = Path(mirror).expanduser()
    rows = _wanted(claims)
    revisions: dict[tuple, list[str]] = {}
    for row in rows:
        revisions.setdefault((row["kind"], row["repo"]), []).append(row["revision"])
    offline = _offline()
    for row in rows:
        folder = _folder(mirror, row)
        row.update(path=str(folder), allow_patterns=_patterns(row), status=None, error=None)
        pinned = revisions[(row["kind"], row["repo"])]
        if len(pinned) > 1:
            row.update(status=FAILED, error=f"claims pin {row['repo']} at {len(pinned)} revisions "
                                            f"({', '.join(pinned)}); the mirror holds one revision per repo")
            continue
        why = _missing_here(folder, row)
        if why is None:
            row["status"] = PRESENT
        elif dry_run:
            row.update(status=SKIPPED, error=f"dry run: would fetch ({why})")
        elif offline:
            row.update(status=FAILED, error="HF_HUB_OFFLINE is set, so nothing can be downloaded "
                                            f"(unset it to prefetch); {why}")
        else:
            try:
                _fetch(row, folder)
                after = _missing_here(folder, row)
                if after:
                    raise RuntimeError(f"downloaded, but the mirror still cannot serve it: {after}")
                row["status"] = FETCHED
            except Exception as exc:  # one asset's trouble must not stop the others
                row.update(status=FAILED, error=_short(exc))
    return rows


# ---------------------------------------------------------------------- command line
def run_prefetch(claims_dir, mirror, *, dry_run: bool = False, out=None) -> int:
    """``python -m harness prefetch --mirror DIR [claims_dir]``: 0 when every asset is fetched
    or present (or, with ``dry_run``, listed), 1 when any failed. Bad claim files raise
    ``RecordError`` (the CLI prints it and exits 2)."""
    from harness.claims.records import load_tree

    out = out or sys.stdout
    claims = load_tree(Path(claims_dir))
    rows = prefetch(claims, Path(mirror), dry_run=dry_run)
    if not rows:
        print(f"no model or dataset to fetch for the claims in {claims_dir}", file=out)
        return 0
    width = max(len(r["status"]) for r in rows)
    for r in rows:
        what = f"{r['kind']:<7} {r['repo']}@{r['revision']}"
        if r["kind"] == "dataset":
            what += f" ({', '.join(r['configs'])})"
        print(f"{r['status']:<{width}}  {what}  -> {r['path']}", file=out)
        if r["error"]:
            print(f"{'':<{width}}  {r['error']}", file=out)
    counts = {s: sum(r["status"] == s for r in rows) for s in (FETCHED, PRESENT, SKIPPED, FAILED)}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n), file=out)
    return 1 if counts[FAILED] else 0
