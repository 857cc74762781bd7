"""Extractive question answering: (question, context) pairs in, answer texts out.

The steps and their rules are those of Hugging Face's ``run_qa.py`` / ``utils_qa.py``
(``prepare_validation_features`` and ``postprocess_qa_predictions``), the script behind most
published SQuAD numbers of encoder models, so that a claim measured here is measured the way
it was made:

* a context longer than the window is cut into overlapping features (``doc_stride`` tokens of
  overlap), question first, only the context truncated;
* per question, the best span over all its features: top ``n_best`` starts x top ``n_best``
  ends, both inside the context, end >= start, at most ``max_answer_length`` tokens; score =
  start logit + end logit;
* SQuAD 2.0: the null score is start + end logit at position 0 (``[CLS]``) of the feature where
  it is smallest; the answer is ``""`` when null score - best span score > ``null_threshold``.

One deliberate difference: logits are cut to each feature's own length before ranking, so the
padding a batch happens to need never takes one of the ``n_best`` places (with run_qa's dynamic
padding it can, which makes answers depend on batch composition).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import MeasurementError
from harness.measure import inference

#: run_qa's stand-in answer when a question has no valid span at all (its "very rare edge
#: case"): kept so a measurement matches the script's; it scores 0 against real golds.
NO_SPAN_TEXT = "empty"


@dataclass
class Features:
    """Model inputs, one row per window, and the way back from tokens to context characters."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    offsets: list[list[tuple[int, int] | None]]  # (start, end) chars in the context; None outside it
    example: list[int]                            # index of the question each feature belongs to

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.input_ids], dtype=np.int64)


def encode_questions(tokenizer, questions: Sequence[str], contexts: Sequence[str], *,
                     max_length: int, doc_stride: int) -> Features:
    """Tokenise (question, context) pairs into windows of at most ``max_length`` tokens.

    run_qa's ``prepare_validation_features``: leading spaces of questions stripped (some SQuAD
    questions have many, and they would eat the window), ``truncation="only_second"``,
    ``stride=doc_stride``, overflowing windows kept, offsets kept for context tokens only.
    Segment ids are always asked for: transformers 5 drops them otherwise, which changes
    ALBERT's and BERT's outputs.
    """
    if len(questions) != len(contexts):
        raise MeasurementError(f"{len(questions)} questions but {len(contexts)} contexts")
    if not getattr(tokenizer, "is_fast", False):
        raise MeasurementError(f"{type(tokenizer).__name__} is not a fast tokenizer: answer spans need "
                               "its character offsets (install `tokenizers`, or ship tokenizer.json)")
    if getattr(tokenizer, "padding_side", "right") != "right":
        raise MeasurementError("question-first windows need a right-padding tokenizer; "
                               f"{type(tokenizer).__name__} pads on the left")
    if not 0 <= doc_stride < max_length:
        raise MeasurementError(f"doc_stride {doc_stride} must be at least 0 and below max_length {max_length}")
    try:
        enc = tokenizer([q.lstrip() for q in questions], list(contexts), truncation="only_second",
                        max_length=max_length, stride=doc_stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True, return_token_type_ids=True,
                        return_attention_mask=False, padding=False)
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exceptions for a question too long
        raise MeasurementError(f"cannot cut the contexts into windows of {max_length} tokens with stride "
                               f"{doc_stride}: {exc}") from None
    example = list(enc["overflow_to_sample_mapping"])
    offsets = []
    for i, row in enumerate(enc["offset_mapping"]):
        seq = enc.sequence_ids(i)
        offsets.append([tuple(o) if seq[k] == 1 else None for k, o in enumerate(row)])
    missing = set(range(len(questions))) - set(example)
    if missing:
        raise MeasurementError(f"{len(missing)} questions got no window (first: #{min(missing)})")
    return Features(list(enc["input_ids"]), list(enc["token_type_ids"]), offsets, example)


def _top(logits: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` largest logits, largest first (utils_qa: ``argsort[-1:-n-1:-1]``)."""
    return np.argsort(logits, kind="stable")[-1:-n - 1:-1].tolist()


def _answer(cands: list[tuple], null: tuple | None, context: str, *, n_best: int, version_2: bool,
            null_threshold: float) -> str:
    """utils_qa's choice among one question's candidates ``(score, start_char, end_char)``."""
    if version_2 and null is not None:
        cands = [*cands, null]
    ranked = sorted(cands, key=lambda c: c[0], reverse=True)[:n_best]   # stable, as in utils_qa
    if version_2 and null is not None and not any((a, b) == (0, 0) for _, a, b in ranked):
        ranked.append(null)
    texts = [(score, context[a:b]) for score, a, b in ranked]
    if not texts or (len(texts) == 1 and texts[0][1] == ""):
        texts.insert(0, (0.0, NO_SPAN_TEXT))
    if not version_2:
        return texts[0][1]
    best = next(((s, t) for s, t in texts if t != ""), (0.0, NO_SPAN_TEXT))
    return "" if null[0] - best[0] > null_threshold else best[1]


def best_answers(start_logits: Sequence[np.ndarray], end_logits: Sequence[np.ndarray], features: Features,
                 contexts: Sequence[str], *, n_best: int = 20, max_answer_length: int = 30,
                 version_2: bool = False, null_threshold: float = 0.0) -> list[str]:
    """One answer text per question (``""`` = no answer, SQuAD 2.0 only), in question order.

    ``start_logits[i]``/``end_logits[i]`` are feature ``i``'s logits (1-D; longer than the
    feature, e.g. a padded batch row, is fine: the tail is cut). ``contexts[j]`` is question
    ``j``'s context, the string the offsets point into.
    """
    if not (len(start_logits) == len(end_logits) == len(features)):
        raise MeasurementError(f"{len(start_logits)} start and {len(end_logits)} end logit rows "
                               f"for {len(features)} features")
    covered = set(features.example)
    if covered != set(range(len(contexts))):
        span = f"#{min(covered)}..#{max(covered)}" if covered else "none"
        raise MeasurementError(f"the features cover {len(covered)} questions ({span}), not the {len(contexts)} "
                               "given: were they encoded from these contexts?")
    cands: list[list[tuple]] = [[] for _ in contexts]
    nulls: list[tuple | None] = [None] * len(contexts)
    for i, (starts, ends, offsets) in enumerate(zip(start_logits, end_logits, features.offsets)):
        j, n = features.example[i], len(offsets)
        starts, ends = np.asarray(starts)[:n], np.asarray(ends)[:n]
        null = (starts[0] + ends[0], 0, 0)
        if nulls[j] is None or nulls[j][0] > null[0]:      # the feature with the smallest null score
            nulls[j] = null
        top_ends = _top(ends, n_best)
        for s in _top(starts, n_best):
            for e in top_ends:
                if offsets[s] is None or offsets[e] is None:    # outside the context
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                cands[j].append((starts[s] + ends[e], offsets[s][0], offsets[e][1]))
    return [_answer(c, nulls[j], contexts[j], n_best=n_best, version_2=version_2, null_threshold=null_threshold)
            for j, c in enumerate(cands)]


def logits(model, features: Features, *, device: str, pad_id: int, batch_size: int | None = None) -> dict:
    """Start and end logits of every feature (each cut to its own length), and what it cost.

    The pass is inference.forward's (longest first, padded per batch, halved on CUDA
    out-of-memory); the model is expected on ``device`` already."""
    starts: list[np.ndarray | None] = [None] * len(features)
    ends: list[np.ndarray | None] = [None] * len(features)

    def take(outputs, rows):
        s, e = outputs.start_logits.float().cpu().numpy(), outputs.end_logits.float().cpu().numpy()
        for r, i in enumerate(rows):
            n = len(features.input_ids[i])
            starts[i], ends[i] = s[r, :n].copy(), e[r, :n].copy()

    done = inference.forward(model, features, device=device, pad_id=pad_id, take=take, batch_size=batch_size)
    bad = sum(1 for s, e in zip(starts, ends) if not (np.isfinite(s).all() and np.isfinite(e).all()))
    if bad:
        raise MeasurementError(f"the model produced non-finite logits for {bad} of {len(features)} windows")
    return {"start": starts, "end": ends, "tokens": done.tokens, "padded_tokens": done.padded_tokens,
            "batches": done.batches, "batch_size": done.batch_size, "seconds": done.seconds}


def predict(model, tokenizer, questions: Sequence[str], contexts: Sequence[str], *, device: str,
            max_length: int, doc_stride: int, version_2: bool, batch_size: int | None = None, n_best: int = 20,
            max_answer_length: int = 30, null_threshold: float = 0.0) -> dict:
    """Answers of an ``AutoModelForQuestionAnswering`` model to every question, and the cost.

    Returns ``answers`` (one str per question, input order), ``features`` (windows run),
    ``tokens`` (real tokens), ``padded_tokens``, ``batches``, ``batch_size`` (the one that fit;
    default by device) and ``seconds`` (model time only).
    """
    features = encode_questions(tokenizer, questions, contexts, max_length=max_length, doc_stride=doc_stride)
    out = logits(model, features, device=device, pad_id=tokenizer.pad_token_id, batch_size=batch_size)
    answers = best_answers(out["start"], out["end"], features, contexts, n_best=n_best,
                           max_answer_length=max_answer_length, version_2=version_2,
                           null_threshold=null_threshold)
    return {"answers": answers, "features": len(features), "tokens": out["tokens"],
            "padded_tokens": out["padded_tokens"], "batches": out["batches"], "batch_size": out["batch_size"],
            "seconds": out["seconds"]}
