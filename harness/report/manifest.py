"""The run manifest: what ran, where, with which packages; ``reports/manifest.json``.

Versions come from ``harness.versions`` (installed distribution metadata), the collector the
measurement records use too; building a manifest imports neither torch nor transformers.
"""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from pathlib import Path

from harness.report.artifacts import dumps, write_atomic
from harness.versions import package_versions

MANIFEST_NAME = "manifest.json"


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(cwd: Path | None = None) -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository holding ``cwd``."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    commit = _git("rev-parse", "HEAD", cwd=cwd) or None
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def build_manifest(command: list[str], started: str, finished: str | None, device: str | None,
                   facts: dict | None = None) -> dict:
    """Everything needed to say which software produced a reports folder.

    ``command``: the command line (pytest's invocation args); ``started``/``finished``: ISO
    timestamps (``finished`` may be None for a run still going); ``device``: what the claims ran
    on (e.g. "cuda:0 (NVIDIA H100)"), None when unknown or nothing was measured; ``facts``: what
    plugins add about the machine (hook ``pytest_claims_machine_facts``).
    """
    from harness import __version__

    git = git_state()
    return {
        "command": [str(c) for c in command],
        "started": started,
        "finished": finished,
        "device": device,
        "harness": __version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "packages": package_versions(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "cwd": str(Path.cwd()),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "machine_facts": dict(facts or {}),
    }


def write_manifest(reports_dir: Path, manifest: dict) -> Path:
    """Write ``reports_dir/manifest.json`` atomically; returns its path."""
    return write_atomic(Path(reports_dir) / MANIFEST_NAME, dumps(manifest))
