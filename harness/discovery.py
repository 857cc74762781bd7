"""Find the entries of a registry package: every public module of it, imported once."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules(package: str, path) -> list[ModuleType]:
    """The package's modules whose names do not start with ``_``, in name order."""
    return [importlib.import_module(f"{package}.{info.name}")
            for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name) if not info.name.startswith("_")]
