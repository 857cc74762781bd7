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


def order(idx, labels, *, seed: int, stratified: bool) -> np.ndarray:
    """Every row position in the order slices take them: each slice is a prefix of this.

    Stratified: each label's rows are shuffled (seeded, from rows sorted by idx), then the
    labels are interleaved by position share ((j + 1/2) / count), so every prefix holds each
    label within one row of its share of the split. Nested by construction: a grown slice
    keeps every pair of the smaller one.
    """
    idx = np.asarray(idx, dtype=np.int64)
    by_idx = np.argsort(idx, kind="stable")          # row positions by idx
    rng = np.random.default_rng(seed)
    if not stratified:
        return by_idx[rng.permutation(len(idx))]
    labels = np.asarray(labels, dtype=np.int64)
    keys, rows = [], []
    for k in np.unique(labels):
        members = by_idx[labels[by_idx] == k]
        shuffled = members[rng.permutation(len(members))]
        keys.append((np.arange(len(members)) + 0.5) / len(members))
        rows.append(shuffled)
    key = np.concatenate(keys)
    row = np.concatenate(rows)
    label = labels[row]
    return row[np.lexsort((label, key))]


def take(idx, labels, *, size: int | str, seed: int, stratified: bool, dataset_key: str) -> Slice:
    """The first ``size`` rows of ``order`` ("all" for the whole split)."""
    idx = np.asarray(idx, dtype=np.int64)
    if len(np.unique(idx)) != len(idx):
        raise ValueError("dataset idx values are not unique; a slice cannot be keyed by them")
    n = len(idx)
    size = n if size == "all" else min(int(size), n)
    chosen = order(idx, labels, seed=seed, stratified=stratified)[:size]
    return from_positions(idx, chosen, seed=seed, stratified=stratified, dataset_key=dataset_key)


def from_positions(idx, positions, *, seed: int, stratified: bool, dataset_key: str) -> Slice:
    """A Slice of the given row positions, listed in ascending idx order."""
    idx = np.asarray(idx, dtype=np.int64)
    chosen = np.asarray(positions, dtype=np.int64)
    chosen = chosen[np.argsort(idx[chosen], kind="stable")]
    chosen_idx = tuple(int(i) for i in idx[chosen])
    return Slice(tuple(int(p) for p in chosen), chosen_idx, slice_id(dataset_key, chosen_idx),
                 len(chosen), len(idx), seed, stratified)
