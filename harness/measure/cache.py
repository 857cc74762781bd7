"""Prediction cache: a re-run with nothing changed skips inference and says so.

The key covers everything that can change a prediction: checkpoint revision and weight
bytes, tokenizer files, dataset content, the slice, dtype, device kind, max length and the
harness version. One file per key, written atomically (temporary file, then rename), so
several workers can share a folder without lock files; a torn or foreign file is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from harness import __version__
from harness.atomic import write_atomic

DEFAULT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "claims-harness" / "predictions"


def key_of(parts: dict) -> str:
    parts = dict(parts, harness=__version__)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class PredictionCache:
    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder else None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.folder is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if data.get("key") == key else None

    def put(self, key: str, parts: dict, payload: dict) -> None:
        if self.folder is None:
            return
        try:
            write_atomic(self._path(key), json.dumps({"key": key, "parts": parts, **payload}))
        except OSError:
            pass  # a cache that cannot be written is a cache that misses next time

    def clear(self) -> int:
        if self.folder is None or not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.glob("*/*.json"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed
