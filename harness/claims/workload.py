"""How much model work a catalogue holds, read from the records alone (no torch, no network).

``pytest -n auto`` asks before collection how many workers to start; each worker pays the
torch and transformers imports again, so workers only pay off for checkpoints that will really
run. A claim needs a worker when it measures a checkpoint that is likely here: in the mirror,
in the HF cache, or downloadable. Blocked claims and parameter counts need none.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.claims.records import load_tree


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    return Path(home) / "hub"


def likely_available(repo: str, mirror: Path | None, allow_download: bool) -> bool:
    if allow_download:
        return True
    if mirror is not None and (Path(mirror) / "models" / repo / "config.json").is_file():
        return True
    return (_hf_cache() / ("models--" + repo.replace("/", "--"))).is_dir()


def model_groups(roots: list[Path], mirror: Path | None, allow_download: bool) -> int:
    """Checkpoint groups under ``roots`` whose model will likely load."""
    groups = set()
    for root in roots:
        for claim in load_tree(root):
            ckpt = claim.checkpoint or {}
            if claim.kind != "parameter_count" and "repo" in ckpt and \
                    likely_available(ckpt["repo"], mirror, allow_download):
                groups.add(claim.group)
    return len(groups)


def claim_roots(args: list[str], claims_dir: str | None) -> list[Path]:
    """Claim folders a run will collect: --claims-dir, or argument folders that hold a claims test module."""
    if claims_dir:
        return [Path(claims_dir)]
    roots = []
    for arg in args:
        path = Path(arg.split("::")[0])
        folder = path if path.is_dir() else path.parent
        if (folder / "test_claims.py").is_file():
            roots.append(folder)
    return roots
