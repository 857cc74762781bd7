"""Deterministic micro-slices of an eval split.

The slice depends only on the dataset's ``idx`` values, labels, size and seed, never on row
order, worker or process; its id is a hash of the chosen ``idx`` values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slice:
    positions: tuple[int, ...]   # row positions in the loaded split, in ascending idx order
    idx: tuple[int, ...]         # the dataset's own idx values of those rows
    slice_id: str
    size: int
    split_size: int
    seed: int
    stratified: bool

    @property
    def whole_split(self) -> bool:
        return self.size == self.split_size


def slice_id(dataset_key: str, idx) -> str:
    text = dataset_key + ":" + ",".join(str(int(i)) for i in idx)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _allocate(counts: dict[int, int], size: int) -> dict[int, int]:
    """Per-label quota proportional to the split (largest remainder, ties to the smaller label)."""
    total = sum(counts.values())
    exact = {k: size * c / total for k, c in counts.items()}
    quota = {k: min(counts[k], int(v)) for k, v in exact.items()}
    order = sorted(counts, key=lambda k: (-(exact[k] - int(exact[k])), k))
    i = 0
    while sum(quota.values()) < size:
        k = order[i % len(order)]
        if quota[k] < counts[k]:
            quota[k] += 1
        i += 1
    return quota


def take(idx, labels, *, size: int | str, seed: int, stratified: bool, dataset_key: str) -> Slice:
    """Choose ``size`` rows ("all" for the whole split), stratified by label if asked."""
    idx = np.asarray(idx, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(np.unique(idx)) != len(idx):
        raise ValueError("dataset idx values are not unique; a slice cannot be keyed by them")
    n = len(idx)
    size = n if size == "all" else min(int(size), n)
    order = np.argsort(idx, kind="stable")          # row positions by idx
    rng = np.random.default_rng(seed)
    if size == n:
        chosen = order
    elif stratified:
        counts = {int(k): int((labels == k).sum()) for k in np.unique(labels)}
        quota = _allocate(counts, size)
        parts = []
        for k in sorted(counts):
            members = order[labels[order] == k]
            parts.append(members[np.sort(rng.permutation(len(members))[: quota[k]])])
        chosen = np.concatenate(parts)
    else:
        chosen = order[np.sort(rng.permutation(n)[:size])]
    chosen = chosen[np.argsort(idx[chosen], kind="stable")]
    chosen_idx = tuple(int(i) for i in idx[chosen])
    return Slice(tuple(int(p) for p in chosen), chosen_idx, slice_id(dataset_key, chosen_idx),
                 size, n, seed, stratified)
