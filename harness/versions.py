"""Versions of the software a measurement ran on, for the artifact and the report."""

from __future__ import annotations

import platform

PACKAGES = ("torch", "transformers", "datasets", "huggingface_hub", "scikit-learn", "scipy", "numpy")


def collect() -> dict:
    from importlib import metadata

    from harness import __version__

    out = {"python": platform.python_version(), "harness": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
