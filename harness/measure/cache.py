"""Prediction cache: a re-run with nothing changed skips inference and says so.

The key covers everything that can change a prediction: checkpoint revision and weight
bytes, tokenizer files, dataset content, the slice, dtype, device kind, max length and the
harness version. One file per key, written atomically (temporary file, then rename), so
several workers can share a folder without lock files.

An entry is trusted only if it proves itself: it carries the key it was written under and a
digest of its content, both checked on read, and its logits must be finite and rectangular.
Anything else (torn, edited, foreign, moved) is a miss with a warning, never a verdict.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from pathlib import Path

from harness import __version__
from harness.atomic import write_atomic

FORMAT = "claims-harness/prediction-cache/2"
ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")


def default_dir() -> Path:
    """$CLAIMS_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/claims-harness/predictions; read when asked."""
    if os.environ.get("CLAIMS_CACHE"):
        return Path(os.environ["CLAIMS_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claims-harness" / "predictions"


class CacheWarning(UserWarning):
    """A cache entry failed its checks and was ignored."""


def key_of(parts: dict) -> str:
    parts = dict(parts, harness=__version__)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _digest(key: str, payload: dict) -> str:
    text = json.dumps({"key": key, "payload": payload}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _bad_logits(logits) -> str | None:
    if logits is None:
        return None
    if not isinstance(logits, list) or not all(isinstance(r, list) for r in logits):
        return "logits are not a list of rows"
    widths = {len(r) for r in logits}
    if len(widths) > 1:
        return "logit rows differ in length"
    for row in logits:
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                return "non-finite or non-numeric logits"
    return None


class PredictionCache:
    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder else None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The payload stored under key, or None (a miss; a failed check also warns)."""
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return self._reject(path, f"unreadable ({type(exc).__name__})")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return self._reject(path, "not an entry of this cache format")
        if data.get("key") != key:
            return self._reject(path, "written under another key")
        payload = data.get("payload")
        if not isinstance(payload, dict) or data.get("digest") != _digest(key, payload):
            return self._reject(path, "content does not match its digest (edited or torn)")
        problem = _bad_logits(payload.get("logits"))
        if problem:
            return self._reject(path, problem)
        return payload

    @staticmethod
    def _reject(path: Path, why: str) -> None:
        warnings.warn(f"prediction cache entry {path} ignored: {why}; recomputing", CacheWarning, stacklevel=3)
        return None

    def put(self, key: str, parts: dict, payload: dict) -> None:
        if self.folder is None or _bad_logits(payload.get("logits")):
            return   # never store what a read would refuse
        entry = {"format": FORMAT, "key": key, "parts": parts, "payload": payload,
                 "digest": _digest(key, payload)}
        try:
            write_atomic(self._path(key), json.dumps(entry, allow_nan=False))
        except (OSError, ValueError):
            pass  # a cache that cannot be written is a cache that misses next time

    def entries(self) -> list[Path]:
        """Files this cache wrote: ``<2 hex>/<64 hex>.json`` holding an entry of our format."""
        if self.folder is None or not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*/*.json")):
            if not ENTRY.match(path.name) or path.parent.name != path.name[:2]:
                continue
            try:
                with path.open(encoding="utf-8") as fh:
                    head = fh.read(200)
            except (OSError, UnicodeDecodeError):
                continue
            if f'"format": "{FORMAT}"' in head or '"key": "' + path.stem in head:
                out.append(path)
        return out

    def clear(self) -> int:
        """Remove this cache's entries only; files that something else made stay."""
        removed = 0
        for path in self.entries():
            path.unlink(missing_ok=True)
            removed += 1
        return removed
