"""What the claims plugin's modules share (harness.plugin, plugin_reporting, plugin_xdist), so
that none of them imports another: the stash keys of the run's session and of a claim case's
artifact, the catalogue read once per process, and the run options they all read the same way.

The catalogue is the claims under a folder, read and validated once per process and kept in the
config; the run measures them on its own checkpoints when ``--claims-checkpoint`` names any
(harness.claims.checkpoints). Imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import RecordError
from harness.session import ClaimsSession

ARTIFACT_KEY = pytest.StashKey[dict]()
SESSION_KEY = pytest.StashKey[ClaimsSession]()
CATALOGUE_KEY = pytest.StashKey[dict]()
PROGRESS_KEY = pytest.StashKey[object]()   # the live progress line (harness.plugin_reporting.Progress)


def catalogue(config, root) -> list:
    """The claims under ``root``, read and validated once per process and kept in the config.

    Markers (configure), worker count, parametrize, the gate's catalogue and a crashed worker's
    verdict all ask; a catalogue of thousands is parsed once, not once per question. A broken
    record raises the same RecordError to every caller."""
    from harness.claims.records import load_tree

    cache = config.stash.setdefault(CATALOGUE_KEY, {})
    key = str(Path(root).resolve())
    if key not in cache:
        try:
            cache[key] = load_tree(Path(root))
        except RecordError as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, RecordError):
        raise found
    return found


def run_checkpoints(config) -> list[tuple[str, str]]:
    """--claims-checkpoint (repeatable) and --claims-checkpoints FILE, each checkpoint once."""
    from harness.claims import checkpoints

    return checkpoints.chosen(config.getoption("claims_checkpoint"), config.getoption("claims_checkpoints"))


def expand_claims(config, claims: list) -> list:
    """The claims this run measures: on the run's checkpoints when it names any (one case per
    claim and checkpoint when it names several; harness.claims.checkpoints)."""
    from harness.claims import checkpoints

    return checkpoints.expand(claims, run_checkpoints(config))[0]


def download_allowed(config) -> bool:
    opt = config.getoption("claims_download")
    return bool(opt) or os.environ.get("CLAIMS_DOWNLOAD", "") not in ("", "0")


def mirror(config) -> Path | None:
    value = config.getoption("claims_mirror") or os.environ.get("CLAIMS_MIRROR")
    return Path(value).expanduser().resolve() if value else None
