"""Atomic file writes and the one-run-at-a-time folder lock.

Readers see the old file or the new one, never a partial one; two runs never interleave
their writes into one reports folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.errors import HarnessError

LOCK_NAME = ".claims.lock"


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def write_atomic(path: Path, text: str) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    A crash or a refused write leaves either the old file or the new one, and no temporary.
    The file gets the mode a plain ``open`` would give (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


class FolderBusy(HarnessError):
    """Another run holds the folder's lock."""


class FolderUnwritable(HarnessError):
    """The folder cannot hold the lock, so it cannot hold verdicts either."""


class FolderLock:
    """An exclusive ``flock`` on ``folder/.claims.lock``; the kernel drops it if the process dies."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> "FolderLock":
        import fcntl

        path = self.folder / LOCK_NAME
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:   # read-only or full disk: say so before anything runs
            raise FolderUnwritable(f"{self.folder}: cannot write into this folder ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderBusy(f"{self.folder} is in use by another claims run (pid {holder}); "
                             "wait for it to finish or pass another reports folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)   # closing drops the flock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
