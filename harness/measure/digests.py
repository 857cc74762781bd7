"""File digests computed once per file version, not once per run.

A checkpoint's weights are hashed for the prediction cache key and the artifact's provenance;
for an xxlarge checkpoint that is seconds of reading on every run, even when every prediction
is then served from the cache. A digest is remembered under the file's identity: path, device,
inode, size, mtime_ns and ctime_ns. ctime is in the key because mtime can be set back (``cp -p``,
``touch -d``) while ctime cannot: any write or metadata change moves it, so a file replaced in
place with its old mtime is hashed again (the hole the HF datasets cache has, see run.Pipeline.split).

File times are coarse (a kernel tick): a file written twice within one tick keeps the same
times. As git does with its racily clean index entries, a digest is remembered only for files
whose ctime is at least ``SETTLED`` seconds older than the start of hashing; fresher files are
hashed every time until they settle.

Entries are small JSON files, one per key, written atomically, so several workers can share
the folder; an unreadable or foreign entry is a miss. ``CLAIMS_DIGESTS=off`` turns the memory off.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable

from harness.atomic import write_atomic

FORMAT = "claims-harness/digests/1"
SETTLED = 2.0   # seconds a file must have been left alone before its digest is remembered


def default_dir() -> Path | None:
    """$CLAIMS_DIGESTS, else $XDG_CACHE_HOME (or ~/.cache)/claims-harness/digests; None when "off"."""
    value = os.environ.get("CLAIMS_DIGESTS", "")
    if value.lower() in ("off", "0", "no"):
        return None
    if value:
        return Path(value).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claims-harness" / "digests"


def identity(path: Path) -> list | None:
    """What names one version of a file without reading it; None if it is not a regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    return [str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def remembered(paths: list[Path], compute: Callable[[], str], *, kind: str, folder: Path | None = None) -> str:
    """``compute()``'s digest of ``paths``, reused while none of the files changed.

    ``kind`` separates digests of the same files computed differently. Missing files are part
    of the key too (as None), so a file that appears later is a new key.
    """
    folder = default_dir() if folder is None else folder
    if folder is None:
        return compute()
    key_parts = {"format": FORMAT, "kind": kind, "files": [identity(Path(p)) for p in paths]}
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    entry = Path(folder) / key[:2] / f"{key}.json"
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        if data.get("key") == key and isinstance(data.get("digest"), str) and len(data["digest"]) == 64:
            return data["digest"]
    except (OSError, ValueError, AttributeError):
        pass
    started = time.time_ns()
    digest = compute()
    # Hashing took time during which a file may have changed: remember only a settled version.
    settled = all(f is None or started - f[5] >= SETTLED * 1e9 for f in key_parts["files"])
    if settled and [identity(Path(p)) for p in paths] == key_parts["files"]:
        try:
            write_atomic(entry, json.dumps({"key": key, "digest": digest, **key_parts}))
        except OSError:
            pass   # a memory that cannot be written just hashes again next time
    return digest
