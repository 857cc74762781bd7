"""What every kind that measures a checkpoint on a dataset split shares.

The schema pieces of its ``measure`` block, resolving the two assets (both missing ones named
in one "blocked" verdict), and the growing slice (``Looking``): the nested order, the look
schedule, inference only on each look's new rows, and the facts every such measurement records.
A kind supplies how to read its split, how to predict a batch of rows and what it keeps per
example; its own loop asks ``Looking`` for rows, predicts them and hands them back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from harness.errors import AssetUnavailable, HarnessError

CHECKPOINT = {"$ref": "#/$defs/checkpoint"}
MAX_LENGTH = {"$ref": "#/$defs/max_length"}
SLICE = {"$ref": "#/$defs/slice"}
NEVER_PUBLISHED = ("No download or mirror can help: the claim stays blocked until a checkpoint is published "
                   "(then name it in measure.checkpoint, or try one with --claims-checkpoint=ORG/NAME@REV)")
BASE_DATASET = {"repo": {"$ref": "#/$defs/repo"}, "config": {"type": "string"}, "split": {"type": "string"},
                "revision": {"type": "string"}}


def schema(kind: str, dataset: dict, required: list[str], extra: dict | None = None) -> dict:
    """The measure block of a model kind: dataset (common fields + ``dataset``), checkpoint, length, slice."""
    return {
        "additionalProperties": False,
        "required": ["kind", "dataset", "checkpoint", "max_length", "slice", *(extra or {}).get("required", [])],
        "properties": {
            "kind": {"const": kind},
            "dataset": {"type": "object", "additionalProperties": False,
                        "required": ["repo", "config", "split", "revision", *required],
                        "properties": {**BASE_DATASET, **dataset}},
            "checkpoint": CHECKPOINT, "max_length": MAX_LENGTH, "slice": SLICE,
            **(extra or {}).get("properties", {}),
        },
    }


def assets(pipeline, claim):
    """(model asset, dataset asset), or one AssetUnavailable naming everything missing."""
    from harness.measure import assets as found

    settings, ckpt, ds = pipeline.settings, claim.checkpoint_ref, claim.measure["dataset"]
    if ckpt.unavailable is not None:   # nothing to fetch, so no fetching advice (and no dataset to look for)
        raise AssetUnavailable("checkpoint (none published)", [ckpt.unavailable.strip()], NEVER_PUBLISHED)
    missing: list[AssetUnavailable] = []
    model = data = None
    try:
        model = found.resolve_model(ckpt.repo, ckpt.revision, mirror=settings.mirror,
                                    allow_download=settings.allow_download)
    except AssetUnavailable as exc:
        missing.append(exc)
    try:
        data = found.resolve_dataset(ds["repo"], ds["config"], ds["revision"], mirror=settings.mirror,
                                     allow_download=settings.allow_download)
    except AssetUnavailable as exc:
        missing.append(exc)
    if missing:
        raise _combine(missing)
    return model, data


def fit(claim, model_asset, head: str, labels=None) -> None:
    """Before any inference: the checkpoint's positions, head, labels and tokenizer fit the claim
    (harness.measure.fitness; AssetUnfit, a blocked verdict, when they do not)."""
    from harness.measure import fitness

    fitness.check(model_asset, head=head, max_length=claim.measure["max_length"], labels=labels)


def _combine(missing: list[AssetUnavailable]) -> AssetUnavailable:
    if len(missing) == 1:
        return missing[0]
    return AssetUnavailable(" and ".join(m.missing for m in missing),
                            list(dict.fromkeys(t for m in missing for t in m.tried)),
                            " ".join(dict.fromkeys(m.hint for m in missing if m.hint)))


@dataclass
class Looked:
    """The outcome of the looks: the judgement, the final slice, its examples, the inference parts."""

    judgement: object
    slice: object
    y_true: list
    y_pred: list
    parts: list = field(default_factory=list)
    data_seconds: float = 0.0


class Looking:
    """Grow the slice along its schedule until a look decides; the kind runs its model in between:

        looking = Looking(pipeline, claim, metric, split, context=..., stratify=...)
        for positions in looking.new_rows():
            looking.predicted(*predict(positions))     # (predictions, part) of those rows
        looked = looking.result()

    ``split``: ``idx``, ``targets`` (one per row: what the metric compares predictions with) and
    ``fingerprint``. ``new_rows()`` gives, for each look, the rows of the nested order the model
    has not seen yet (a look whose rows are all seen asks for none); ``part`` is what that
    inference reports (cache and timings). Stratified slices keep each class's share in every
    prefix (for kinds whose targets are class ids).
    """

    def __init__(self, pipeline, claim, metric, split: dict, *, context: dict | None = None,
                 stratify: bool = False):
        from harness.judge import looks, statistics, verdict
        from harness.measure import slices

        t0 = time.perf_counter()
        m, opts, plan = claim.measure, pipeline.settings, claim.slice_plan
        ds = m["dataset"]
        bands = verdict.bands_of(claim, opts.level)
        targets = split["targets"]
        population = len(split["idx"])
        size = plan.size
        minimum = statistics.resolve(metric).min_slice
        if size == "auto":
            size = statistics.planned_slice_size(min(max(bands[1].reported_natural, 0.01), 0.99), bands[1].half_width,
                                                 level=opts.level)
            size = max(size, minimum)     # never below the metric's smallest valid slice
        size = population if size == "all" else int(size)
        schedule = looks.plan(size, population, alpha=1.0 - opts.level, grow=plan.grow,
                              max_pairs=plan.max_pairs, max_seconds=plan.max_seconds, minimum=minimum)
        self.key = f"{ds['repo']}/{ds['config']}/{ds['split']}"
        self.seed = plan.seed
        self.stratified = stratify and plan.stratified
        self.order = slices.order(split["idx"], targets if self.stratified else None, seed=self.seed,
                                  stratified=self.stratified)
        strata = None
        if stratify:      # the split's rows per class: exact intervals condition on them, stratified or not
            import numpy as np

            strata = {int(k): int(v) for k, v in zip(*np.unique(targets, return_counts=True))}
        self.split, self.targets, self.population, self.progress = split, targets, population, opts.progress
        self.positions: list[int] = []
        self.predictions: list = []
        self.parts: list = []
        self._pending: list[int] = []
        self.data_seconds = time.perf_counter() - t0
        self.judging = verdict.Judging(metric, schedule, bands=bands, context=context, strata=strata,
                                       resamples=opts.resamples)

    def new_rows(self):
        """For each look, the positions the model must predict before it (hand them back with
        ``predicted``); the look is judged once they are in."""
        from harness.measure import slices

        for n in self.judging.sizes():
            new = [int(p) for p in self.order[len(self.positions):n]]
            if new:
                _announce(self.progress, len(self.positions), n, self.population)
                self._pending = new
                yield new
                if self._pending:
                    raise HarnessError(f"the kind predicted none of the {len(new)} rows Looking.new_rows gave it")
            chosen = self.positions[:n]
            sid = slices.slice_id(self.key, sorted(int(self.split["idx"][p]) for p in chosen))
            self.judging.see([self.targets[p] for p in chosen], self.predictions[:n], int(sid[:8], 16))

    def predicted(self, predictions: list, part: dict) -> None:
        """The model's predictions for the rows ``new_rows`` gave last, and what its inference reports."""
        predictions = list(predictions)
        if len(predictions) != len(self._pending):
            raise HarnessError(f"{len(predictions)} predictions for {len(self._pending)} rows")
        self.positions += self._pending
        self.predictions += predictions
        self._pending = []
        self.parts.append(part)

    def result(self) -> Looked:
        from harness.measure import slices

        judgement = self.judging.result()
        n = judgement.looks[-1].n
        sl = slices.from_positions(self.split["idx"], self.positions[:n], seed=self.seed, stratified=self.stratified,
                                   dataset_key=self.key)
        by_position = dict(zip(self.positions[:n], self.predictions[:n]))
        return Looked(judgement, sl, [self.targets[p] for p in sl.positions], [by_position[p] for p in sl.positions],
                      self.parts, self.data_seconds)


def run_looks(pipeline, claim, metric, split: dict, predict: Callable[[list], tuple[list, dict]], *,
              context: dict | None = None, stratify: bool = False) -> Looked:
    """``Looking`` with the loop written out: ``predict(positions) -> (predictions, part)``."""
    looking = Looking(pipeline, claim, metric, split, context=context, stratify=stratify)
    for positions in looking.new_rows():
        looking.predicted(*predict(positions))
    return looking.result()


def _announce(progress, before: int, n: int, population: int) -> None:
    """Tell a progress display (harness.plugin_reporting.Progress) which look the next rows belong to,
    so it counts the slice (100/100 of 408), not the look's new rows alone (50/50)."""
    look = getattr(progress, "look", None)
    if callable(look):
        look(before, n, population)


def cache_facts(parts: list[dict]) -> dict:
    """The cache's part in a measurement: one entry per look's new rows, each hit or computed.

    A slice that grows further than on an earlier night reuses every look it took then (the
    looks' rows are a prefix of one fixed order) and computes only the rest; rows are not
    shared between looks of other sizes, so that a reused prediction is bit-identical to a
    fresh one (batch composition moves logits in the last digits)."""
    hits = [bool(p["cache"]["hit"]) for p in parts]
    return {"hit": all(hits), "key": parts[0]["cache"]["key"], "keys": [p["cache"]["key"] for p in parts],
            "hits": hits, "rows_reused": sum(p["rows"] for p, h in zip(parts, hits) if h),
            "rows_computed": sum(p["rows"] for p, h in zip(parts, hits) if not h)}


def facts(pipeline, claim, looked: Looked, model_asset, data_asset, split: dict) -> dict:
    """What every model measurement records: slice, device, files, cache, timings, tokens."""
    from harness.measure import devices

    m = claim.measure
    sl, parts, judgement = looked.slice, looked.parts, looked.judgement
    first = parts[0]
    timings = {"data_seconds": round(looked.data_seconds, 4)}
    for part in parts:
        for name, value in part["timings"].items():
            if name.endswith("_seconds"):
                timings[name] = round(timings.get(name, 0.0) + value, 4)
    if timings.get("inference_seconds"):
        timings["pairs_per_second"] = round(sum(p["rows"] for p in parts) / timings["inference_seconds"], 2)
    return {
        "kind": claim.kind,
        "value": judgement.estimate,
        "n": sl.size,
        "slice_id": sl.slice_id,
        "slice": {"size": sl.size, "split_size": sl.split_size, "seed": sl.seed, "stratified": sl.stratified,
                  "whole_split": sl.whole_split, "looks": len(judgement.looks), "grows": judgement.plan.grows},
        "idx": list(sl.idx),
        "device": pipeline.device,
        "device_name": devices.describe(pipeline.device),
        "dtype": pipeline.settings.dtype,
        "max_length": m["max_length"],
        "batch_size": first["batch_size"],
        "checkpoint": dict(model_asset.to_dict(), **first["files"]),
        "cache": cache_facts(parts),
        "dataset": dict(data_asset.to_dict(), config=m["dataset"]["config"], split=m["dataset"]["split"],
                        fingerprint=split["fingerprint"]),
        "tokens": {"real": sum(p["tokens"]["real"] for p in parts), "padded": sum(p["tokens"]["padded"] for p in parts)},
        "timings": timings,
    }
