"""One registry mechanism for metrics and measurement kinds: entries by key, found in a package.

An entry is registered by key; on first use the package's public modules (names not starting
with ``_``, in name order) are imported once and what each defines is registered. ``register``
may come before that (a plugin's own entry): discovery still runs on the first lookup.
Entries found in the package are its built-in ones (``builtin()``); the rest came from plugins
(harness.hookspecs). Every registration moves ``generation()``, so what is built from the
registries (the claim schema) is built again after one.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Callable, Generic, Iterable, TypeVar

T = TypeVar("T")
_generation = [0]


def generation() -> tuple:
    """A number that changes whenever any registry gains an entry."""
    return (_generation[0],)


def modules(package: str, path) -> list[ModuleType]:
    """The package's modules whose names do not start with ``_``, in name order."""
    return [importlib.import_module(f"{package}.{info.name}")
            for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name) if not info.name.startswith("_")]


class Registry(Generic[T]):
    """``what``: the entries' name in messages; ``found(module)``: the entries a module defines;
    ``check(entry, entries)``: raises ValueError for an entry that must not join (called first)."""

    def __init__(self, what: str, package: str, path, found: Callable[[ModuleType], Iterable[T]],
                 key: Callable[[T], str], check: Callable[[T, dict], None] | None = None):
        self.what, self._package, self._path = what, package, path
        self._found, self._key, self._check = found, key, check
        self._entries: dict[str, T] = {}
        self._builtin: set[str] = set()
        self._discovered = False

    def register(self, entry: T) -> None:
        key = self._key(entry)
        if key in self._entries and self._entries[key] is not entry:
            raise ValueError(f"{self.what} {key!r} is registered twice")
        if self._check is not None:
            self._check(entry, self._entries)
        self._entries[key] = entry
        _generation[0] += 1

    def all(self) -> dict[str, T]:
        if not self._discovered:
            for module in modules(self._package, self._path):
                for entry in self._found(module):
                    self.register(entry)
                    self._builtin.add(self._key(entry))
            self._discovered = True     # after: a failed import is tried again on the next lookup
        return dict(self._entries)

    def builtin(self) -> dict[str, T]:
        """The entries the package itself defines (not a plugin's)."""
        return {k: v for k, v in self.all().items() if k in self._builtin}

    def get(self, key: str) -> T:
        found = self.all().get(key)
        if found is None:
            raise KeyError(f"unknown {self.what} {key!r}; known: {', '.join(sorted(self._entries))}")
        return found
