"""SQuAD exact match and F1, per question, by the official evaluation scripts' rules.

Two scripts define these numbers, and papers quote one or the other:

* ``evaluate-v1.1.py`` (SQuAD 1.1): ``exact_match_score``, ``f1_score`` and
  ``metric_max_over_ground_truths``;
* ``evaluate-v2.0.py`` (SQuAD 2.0): ``compute_exact``, ``compute_f1`` and ``get_raw_scores``.

Both share ``normalize_answer``. They differ only where a gold answer normalises to nothing
(v2.0 drops such golds and, for a question with no gold left, scores against ``[""]``; v1.1
keeps them) and where an answer has no tokens (v2.0: F1 is 1 when both sides are empty, else 0;
v1.1: F1 is 0 whenever no token is shared). ``version`` picks the script; "2.0" is the default
because it is a superset: on SQuAD 1.1 data (every question answered, no gold normalising to
nothing) the two agree exactly.

Pure Python (numpy when scoring): importable by every layer; no torch, no ``evaluate`` package
(whose copies of these rules have drifted between releases).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness.metrics import BOOTSTRAP, BOOTSTRAP_MIN_SLICE, PROPORTION, Metric

if TYPE_CHECKING:
    import numpy as np

VERSIONS = ("1.1", "2.0")

#: Both scripts: ``exclude = set(string.punctuation)`` (ASCII only: ``“`` or ``—`` stay).
_PUNCTUATION = frozenset(string.punctuation)
#: Both scripts: ``re.sub(r'\b(a|an|the)\b', ' ', text)`` (v2.0 adds ``re.UNICODE``, the
#: default for ``str`` patterns in Python 3, so the two are the same pattern).
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(s: str) -> str:
    """``normalize_answer`` of both scripts: lower, drop punctuation, drop articles, fix spaces.

    The order is the scripts' ``white_space_fix(remove_articles(remove_punc(lower(s))))``;
    it matters: punctuation goes before articles, so ``"a-b"`` becomes the one word ``"ab"``.
    """
    text = s.lower()                                           # lower(text)
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)  # remove_punc(text)
    text = _ARTICLES.sub(" ", text)                            # remove_articles(text)
    return " ".join(text.split())                              # white_space_fix(text)


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"SQuAD evaluation version {version!r} is not one of {', '.join(VERSIONS)}")


def _tokens(s: str) -> list[str]:
    """v2.0 ``get_tokens``: ``[]`` for an empty string, else the normalised words.

    v1.1 has no such function but splits ``normalize_answer(s)`` the same way; ``"".split()``
    is ``[]`` too, so one function serves both.
    """
    if not s:
        return []
    return normalize_answer(s).split()


def _exact_one(gold: str, prediction: str) -> float:
    """v2.0 ``compute_exact`` / v1.1 ``exact_match_score``: the normalised strings are equal."""
    return float(normalize_answer(gold) == normalize_answer(prediction))


def _f1_one(gold: str, prediction: str, version: str) -> float:
    """v2.0 ``compute_f1`` / v1.1 ``f1_score``: harmonic mean of token precision and recall.

    Shared tokens count with multiplicity (``Counter`` intersection: each side's copies are
    matched at most once).
    """
    gold_toks = _tokens(gold)
    pred_toks = _tokens(prediction)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if version == "2.0" and (len(gold_toks) == 0 or len(pred_toks) == 0):
        # v2.0: "If either is no-answer, then F1 is 1 if they agree, 0 otherwise".
        return float(gold_toks == pred_toks)
    if num_same == 0:
        # Both scripts; in v1.1 this also covers empty token lists (so empty vs empty is 0).
        return 0.0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def gold_answers(golds: Sequence[str], *, version: str = "2.0") -> list[str]:
    """The gold answers a prediction is scored against.

    v2.0 ``get_raw_scores``: golds that normalise to nothing are dropped, and a question left
    with none (SQuAD 2.0's unanswerable ones) is scored against ``[""]``, so only an answer
    that normalises to nothing is right. v1.1 (``evaluate``): every gold as given; the script
    has no rule for a question without golds (its ``max`` of nothing fails), so we refuse one.
    """
    _check_version(version)
    if version == "1.1":
        if not golds:
            raise ValueError("SQuAD v1.1 rules score a question against its gold answers, and this one "
                             "has none (an unanswerable SQuAD 2.0 question? score with version='2.0')")
        return list(golds)
    kept = [a for a in golds if normalize_answer(a)]
    return kept or [""]


def exact_match(prediction: str, golds: Sequence[str], *, version: str = "2.0") -> float:
    """1.0 when the prediction equals some gold answer after normalisation, else 0.0.

    Max over golds: v1.1 ``metric_max_over_ground_truths``, v2.0 ``max(compute_exact(a, a_pred)
    for a in gold_answers)``.
    """
    return max(_exact_one(g, prediction) for g in gold_answers(golds, version=version))


def f1(prediction: str, golds: Sequence[str], *, version: str = "2.0") -> float:
    """Best token-level F1 of the prediction against any gold answer, in 0..1 (max over golds)."""
    return max(_f1_one(g, prediction, version) for g in gold_answers(golds, version=version))


def scores(predictions: Sequence[str], gold_lists: Sequence[Sequence[str]], *,
           version: str = "2.0") -> tuple[np.ndarray, np.ndarray]:
    """Per-question (exact match, F1) as two float64 arrays in 0..1, in the input order.

    The scripts' reported numbers are ``100 * mean`` of these (``make_eval_dict`` /
    ``evaluate``); keeping per-question values lets the judge resample them. A question the
    model did not answer must be passed as ``""`` (v2.0 skips missing ids, v1.1 scores them 0:
    the caller decides, not this function).
    """
    import numpy as np

    if len(predictions) != len(gold_lists):
        raise ValueError(f"{len(predictions)} predictions for {len(gold_lists)} questions")
    _check_version(version)
    em = np.empty(len(predictions), dtype=np.float64)
    f = np.empty(len(predictions), dtype=np.float64)
    for i, (prediction, golds) in enumerate(zip(predictions, gold_lists)):
        kept = gold_answers(golds, version=version)
        em[i] = max(_exact_one(g, prediction) for g in kept)
        f[i] = max(_f1_one(g, prediction, version) for g in kept)
    return em, f


# ---------------------------------------------------------------------- registry entries
# A claim's examples are (gold answers, predicted text) pairs; the kind passes the script version.

def _mean(values, axis=-1):
    import numpy as np

    return np.mean(values, axis=axis)


def _em_samples(gold_lists, predictions, *, version: str = "2.0"):
    return (scores(predictions, gold_lists, version=version)[0] > 0.5,)


def _f1_samples(gold_lists, predictions, *, version: str = "2.0"):
    import numpy as np

    return (np.sort(scores(predictions, gold_lists, version=version)[1]),)   # canonical order


EXACT_MATCH = Metric(
    key="squad.exact_match", name="exact_match", label="EM", range=(0.0, 1.0), aliases=("em",),
    summary="share of questions whose normalised answer equals a gold answer (official SQuAD script)",
    uncertainty=PROPORTION, samples=_em_samples,
    value=lambda gold_lists, predictions, version="2.0": float(
        scores(predictions, gold_lists, version=version)[0].mean()))
F1 = Metric(
    key="squad.f1", name="f1", label="F1", range=(0.0, 1.0),
    summary="mean over questions of the best token-overlap F1 against the gold answers (official SQuAD script)",
    uncertainty=BOOTSTRAP, samples=_f1_samples, statistic=_mean, min_slice=BOOTSTRAP_MIN_SLICE,
    value=lambda gold_lists, predictions, version="2.0": float(
        scores(predictions, gold_lists, version=version)[1].mean()))
METRICS = (EXACT_MATCH, F1)
