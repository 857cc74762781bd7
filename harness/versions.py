"""Which software produced a result: Python, the harness and the libraries a measurement uses.

One collector for the run manifest and the per-claim measurement record, so both name the same
packages. Versions come from installed distribution metadata (``importlib.metadata``): asking
imports neither torch nor transformers.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

from harness import __version__

#: Distribution names as pip knows them.
PACKAGES = ("torch", "transformers", "datasets", "huggingface_hub", "numpy", "scipy", "scikit-learn")


def package_versions() -> dict[str, str | None]:
    """Every package of PACKAGES with its installed version, None where it is not installed."""
    return dict(_installed())


@lru_cache(maxsize=1)
def _installed() -> tuple:
    """Read once per process: each metadata lookup scans the installed distributions (30 ms here),
    and every claim's measurement records the versions."""
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


def versions() -> dict[str, str]:
    """Python, the harness and the installed packages (those not installed left out)."""
    out = {"python": platform.python_version(), "harness": __version__}
    out.update({k: v for k, v in package_versions().items() if v is not None})
    return out
