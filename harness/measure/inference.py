"""Batched inference: sentence(-pair) classification, and the pass other heads share.

Tokenise once per slice; batches of similar length with dynamic padding and attention masks;
segment ids always passed (transformers 5 drops token_type_ids for pairs unless asked, which
silently changes ALBERT's predictions); explicit truncation to the claim's max length.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from harness.errors import MeasurementError

DEFAULT_BATCH = {"cpu": 16, "mps": 32, "cuda": 128}


@dataclass
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.input_ids])


def encode(tokenizer, columns: list[list[str]], max_length: int) -> Encoded:
    """Tokenise every example once; ``columns`` holds one list per text field."""
    enc = tokenizer(*columns, truncation=True, max_length=max_length, padding=False,
                    return_token_type_ids=True, return_attention_mask=False)
    return Encoded(list(enc["input_ids"]), list(enc["token_type_ids"]))


@dataclass
class Output:
    logits: np.ndarray       # float32, in the slice's order
    tokens: int              # real (unpadded) tokens
    padded_tokens: int
    batches: int
    batch_size: int
    seconds: float           # model time, device synchronised


def _batches(order: np.ndarray, size: int):
    for start in range(0, len(order), size):
        yield order[start:start + size]


def pad(enc, rows: np.ndarray, pad_id: int):
    """Token ids, segment ids and attention mask of ``rows``, padded to the longest of them.
    ``enc``: anything with per-row ``input_ids`` and ``token_type_ids`` (pairs or SQuAD features)."""
    width = int(max(len(enc.input_ids[i]) for i in rows))
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for j, i in enumerate(rows):
        n = len(enc.input_ids[i])
        ids[j, :n] = enc.input_ids[i]
        types[j, :n] = enc.token_type_ids[i]
        mask[j, :n] = 1
    return ids, types, mask


@dataclass
class Pass:
    """What one pass over the rows cost: real and padded tokens, batches, the batch size that fit."""

    tokens: int
    padded_tokens: int
    batches: int
    batch_size: int
    seconds: float           # model time, device synchronised


def forward(model, enc, *, device: str, pad_id: int, take, batch_size: int | None = None, progress=None) -> Pass:
    """Every row of ``enc`` through the model: longest first, padded per batch, segment ids and
    attention mask passed; ``take(outputs, rows)`` keeps a batch's outputs (by row, so a pass
    started again after CUDA out-of-memory, with half the batch, overwrites what it kept).

    ``enc``: anything with per-row ``input_ids``, ``token_type_ids`` and ``lengths`` (pairs or
    SQuAD windows). ``progress(done, total, seconds)`` is called after every batch.
    """
    import torch

    size = batch_size or DEFAULT_BATCH.get(device.split(":")[0], 16)
    while True:
        try:
            return _forward(model, enc, device=device, pad_id=pad_id, size=size, take=take, progress=progress)
        except torch.cuda.OutOfMemoryError:
            if size == 1:
                raise
            torch.cuda.empty_cache()
            size //= 2


def run(model, enc: Encoded, *, device: str, pad_id: int, batch_size: int | None = None,
        progress=None) -> Output:
    """Classification (or regression) logits for every encoded example, in ``enc``'s order."""
    n = len(enc.input_ids)
    out = np.zeros((n, model.config.num_labels), dtype=np.float32)

    def take(outputs, rows):
        out[rows] = outputs.logits.float().cpu().numpy()

    done = forward(model, enc, device=device, pad_id=pad_id, take=take, batch_size=batch_size, progress=progress)
    if not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).any(axis=1).sum())
        raise MeasurementError(f"the model produced non-finite logits for {bad} of {n} examples")
    return Output(out, done.tokens, done.padded_tokens, done.batches, done.batch_size, done.seconds)


def _sync(device: str):
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _forward(model, enc, *, device: str, pad_id: int, size: int, take, progress=None) -> Pass:
    import torch

    n = len(enc.input_ids)
    order = np.argsort(-enc.lengths, kind="stable")
    cuda = device.startswith("cuda")
    padded = batches = done = 0
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        for rows in _batches(order, size):
            ids, types, mask = (torch.from_numpy(a) for a in pad(enc, rows, pad_id))
            if cuda:
                ids, types, mask = (t.pin_memory().to(device, non_blocking=True) for t in (ids, types, mask))
            elif device != "cpu":
                ids, types, mask = (t.to(device) for t in (ids, types, mask))
            take(model(input_ids=ids, token_type_ids=types, attention_mask=mask), rows)
            padded += ids.numel()
            batches += 1
            if progress is not None:
                done += len(rows)
                progress(done, n, time.perf_counter() - start)
    _sync(device)
    return Pass(int(enc.lengths.sum()), int(padded), batches, size, time.perf_counter() - start)


def scores_from_logits(logits) -> np.ndarray:
    """One float64 score per example from a regression head's (N, 1) logits.

    A regression checkpoint (``num_labels=1``, ``problem_type="regression"``, as STS-B's)
    gives one output per example, and ``run`` returns it as an (N, 1) array. Anything else is
    the wrong kind of model for a score claim (two or more columns: a classification head)
    and raises MeasurementError naming ``num_labels``, not a silently chosen column.
    """
    out = np.asarray(logits)
    if out.ndim != 2 or out.shape[1] != 1:
        width = out.shape[1] if out.ndim == 2 else None
        what = (f"{width} outputs per example (num_labels={width}): a classification head"
                if width is not None else f"an array of shape {out.shape}")
        raise MeasurementError(f"a regression claim needs one score per example (a head with num_labels=1, "
                               f"problem_type='regression'); the model gave {what}")
    scores = out[:, 0].astype(np.float64)
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise MeasurementError(f"the model produced non-finite scores for {bad} of {len(scores)} examples")
    return scores
