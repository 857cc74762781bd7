"""Micro-slices: deterministic, order-free, stratified, keyed by the dataset's idx values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from harness.measure.slices import take

labelled = st.lists(st.integers(0, 1), min_size=2, max_size=200).flatmap(
    lambda labels: st.tuples(st.just(labels), st.permutations(range(len(labels)))))


@given(labelled, st.integers(1, 250), st.integers(0, 2**32 - 1))
def test_slice_ignores_row_order(data, size, seed):
    labels, perm = data
    idx = list(range(1000, 1000 + len(labels)))
    a = take(idx, labels, size=size, seed=seed, stratified=True, dataset_key="k")
    shuffled_idx = [idx[i] for i in perm]
    shuffled_labels = [labels[i] for i in perm]
    b = take(shuffled_idx, shuffled_labels, size=size, seed=seed, stratified=True, dataset_key="k")
    assert a.idx == b.idx and a.slice_id == b.slice_id
    assert a.size == min(size, len(labels)) == len(set(a.idx))
    assert list(a.idx) == sorted(a.idx)


@given(labelled, st.integers(1, 200))
def test_stratified_quota_is_proportional(data, size):
    labels, _ = data
    idx = list(range(len(labels)))
    sl = take(idx, labels, size=size, seed=0, stratified=True, dataset_key="k")
    chosen = np.asarray(labels)[list(sl.positions)]
    for k in (0, 1):
        share = sl.size * labels.count(k) / len(labels)
        assert abs((chosen == k).sum() - share) <= 1


def test_seed_and_data_change_the_slice_id():
    labels = [0, 1] * 50
    idx = list(range(100))
    a = take(idx, labels, size=10, seed=0, stratified=True, dataset_key="k")
    assert take(idx, labels, size=10, seed=0, stratified=True, dataset_key="k") == a
    assert take(idx, labels, size=10, seed=1, stratified=True, dataset_key="k").slice_id != a.slice_id
    assert take(idx, labels, size=10, seed=0, stratified=True, dataset_key="other").slice_id != a.slice_id
    whole = take(idx, labels, size="all", seed=0, stratified=True, dataset_key="k")
    assert whole.whole_split and whole.idx == tuple(idx)
