"""Which claims folder a sub-folder or a single claim file belongs to.

A catalogue keeps its shared data beside its claims: paper records in ``papers/`` and
run-spread tables in ``spreads/``. A claim in ``claims/mine/x.yaml`` (where ``harness new -o``
may put it) cites the same papers and spreads as one in ``claims/``: whether it is loaded as
part of ``claims/``, of ``claims/mine`` or as the one file, its data is found by walking up
(never above the project's root).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIRS = ("papers", "spreads")
#: Files that mark a project's root: the walk up for papers/ and spreads/ ends there, so a folder
#: named papers/ somewhere above the project is never read as its paper records.
PROJECT_MARKERS = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", ".git")


def holds_data(folder: Path) -> bool:
    """A folder with paper records or run-spread tables (YAML files in papers/ or spreads/)."""
    for name in DATA_DIRS:
        sub = Path(folder) / name
        if sub.is_dir() and any(sub.glob("*.yaml")):
            return True
    return False


def up_to_project(folder: Path):
    """``folder``, then each folder above it, up to and including the project's root (the first
    with one of PROJECT_MARKERS; the file system's root when none has)."""
    folder = Path(folder)
    for candidate in (folder, *folder.resolve().parents):
        yield candidate
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return


def data_root(folder: Path) -> Path:
    """The nearest folder at or above ``folder``, up to the project's root, that holds papers/ or
    spreads/; else ``folder``."""
    return next((candidate for candidate in up_to_project(folder) if holds_data(candidate)), Path(folder))


def collection_hints(args: list[str]) -> list[str]:
    """Why ``pytest PATH`` collected nothing when PATH holds claim files (claims/mine, or one
    claim file) but no test module, and the command that runs them: pytest collects test
    modules, and a catalogue's claims run through its ``test_claims.py`` (``--claims-dir`` picks
    the folder whose records it runs)."""
    from harness.claims.records import claim_files

    out = []
    for arg in args:
        path = Path(str(arg).split("::")[0])
        folder = path if path.is_dir() else path.parent
        if not folder.is_dir() or (path.is_file() and path.suffix not in (".yaml", ".yml")):
            continue
        if any(folder.rglob("test_*.py")) or not claim_files(folder):
            continue
        module = next((p / "test_claims.py" for p in up_to_project(folder) if (p / "test_claims.py").is_file()), None)
        if module is None:
            out.append(f"claims: {arg} holds claim files but no test module, and no folder above it has a "
                       f"test_claims.py: copy one from a claims folder into {folder}")
            continue
        there = Path(os.path.relpath(module.parent))
        out.append(f"claims: {arg} holds claim files but no test module, so pytest collected nothing there: "
                   f"claims run through {Path(os.path.relpath(module))}. Run them with "
                   f"`pytest {there} --claims-dir={folder}`")
    return out
