"""Prediction cache: a re-run with nothing changed skips inference and says so.

The key covers everything that can change a prediction: checkpoint revision and weight
bytes, tokenizer files, dataset content, the slice, dtype, device kind, max length and the
harness version. One file per key, written atomically (temporary file, then rename), so
several workers can share a folder without lock files.

An entry is trusted only if it proves itself: it carries the key it was written under and a
keyed digest of its content (HMAC-SHA256 with the cache's own secret, ``.key`` in the cache
folder, created 0600 on first use), both checked on read, and its logits must be finite and
rectangular. An entry edited and given a recomputed plain digest fails the check: forging one
needs the secret. Anything else (torn, edited, foreign, moved, a key file that is not ours to
trust) is a miss with a warning, never a verdict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import warnings
from pathlib import Path

from harness import __version__
from harness.atomic import write_atomic

FORMAT = "claims-harness/prediction-cache/3"   # 3: the digest is an HMAC with the cache's secret
SECRET_NAME = ".key"
SECRET_BYTES = 32
ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")


def default_dir() -> Path:
    """$CLAIMS_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/claims-harness/predictions; read when asked."""
    if os.environ.get("CLAIMS_CACHE"):
        return Path(os.environ["CLAIMS_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claims-harness" / "predictions"


class CacheWarning(UserWarning):
    """A cache entry failed its checks and was ignored."""


def key_of(parts: dict) -> str:
    """The entry's name: its parts, this harness's version and the kernels the model ran with
    (``harness.measure.models.FUSED_ACTIVATIONS``)."""
    from harness.measure.models import FUSED_ACTIVATIONS

    parts = dict(parts, harness=__version__, fused_activations=FUSED_ACTIVATIONS)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _digest(secret: bytes, key: str, payload: dict) -> str:
    text = json.dumps({"key": key, "payload": payload}, sort_keys=True, allow_nan=True)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def _read_secret(path: Path) -> bytes:
    """The secret in ``path``: a regular file of ours, readable by nobody else, of SECRET_BYTES."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_mode & 0o077 or info.st_uid != os.getuid():
            raise ValueError(f"mode {stat.S_IMODE(info.st_mode):04o}, owner {info.st_uid}: others could read "
                             "or replace it (it must be 0600 and the user's own)")
        data = os.read(fd, SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != SECRET_BYTES:
        raise ValueError(f"{len(data)} bytes, not {SECRET_BYTES}")
    return data


def _make_secret(path: Path) -> bytes:
    """Create the secret once: written whole to a 0600 temporary, then linked into place, so a
    reader never sees half a key and two workers starting together end up with the same one."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".key.", suffix=".tmp", dir=path.parent)   # mkstemp: mode 0600
    try:
        os.write(fd, os.urandom(SECRET_BYTES))
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass   # another worker was first: use its secret
    finally:
        os.unlink(tmp)
    return _read_secret(path)


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
        self._secret: bytes | None = None
        self._secret_problem: str | None = None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def secret(self) -> bytes | None:
        """The cache's HMAC secret, read (or created) once; None, with one warning, when it cannot be
        had or trusted: the cache then neither serves nor stores anything."""
        if self._secret is None and self._secret_problem is None and self.folder is not None:
            path = self.folder / SECRET_NAME
            try:
                self._secret = _read_secret(path) if os.path.lexists(path) else _make_secret(path)
            except (OSError, ValueError) as exc:
                self._secret_problem = f"{path}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
                warnings.warn(f"prediction cache {self.folder} not used: its secret {self._secret_problem}; "
                              f"remove {path} to start a new one", CacheWarning, stacklevel=3)
        return self._secret

    def digest(self, key: str, payload: dict) -> str | None:
        """The keyed digest an entry under ``key`` must carry (None: no secret, nothing is trusted)."""
        secret = self.secret()
        return None if secret is None else _digest(secret, key, payload)

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
        if not isinstance(payload, dict):
            return self._reject(path, "content does not match its digest (edited or torn)")
        want = self.digest(key, payload)
        if want is None:
            return None
        if not isinstance(data.get("digest"), str) or not hmac.compare_digest(data["digest"], want):
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
        digest = self.digest(key, payload)
        if digest is None:
            return
        entry = {"format": FORMAT, "key": key, "parts": parts, "payload": payload, "digest": digest}
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
