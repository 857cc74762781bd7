"""Benchmark tasks as papers name them, and the measure block each implies. Data, not behaviour.

A paper's column ("MRPC", "STS-B", "SQuAD1.1") names a task; the task fixes the measurement
kind (harness.kinds), the hub dataset and its fields. The verdict importer and ``harness new``
read this table, so a new task is one entry here (and a new kind one module in harness/kinds).
"""

from __future__ import annotations

import re

_GLUE_PAIR = ["sentence1", "sentence2"]


def _glue(config: str, text_fields: list[str], positive: str) -> dict:
    return {"kind": "classification",
            "dataset": {"repo": "nyu-mll/glue", "config": config, "split": "validation", "revision": "main",
                        "text_fields": text_fields, "label_field": "label", "positive_label": positive}}


TASKS: dict[str, dict] = {
    "mrpc": _glue("mrpc", _GLUE_PAIR, "equivalent"),
    "rte": _glue("rte", _GLUE_PAIR, "entailment"),
    "qqp": _glue("qqp", ["question1", "question2"], "duplicate"),
    "sst-2": _glue("sst2", ["sentence"], "positive"),
    "cola": _glue("cola", ["sentence"], "acceptable"),
    "sts-b": {"kind": "regression",
              "dataset": {"repo": "nyu-mll/glue", "config": "stsb", "split": "validation", "revision": "main",
                          "text_fields": _GLUE_PAIR, "label_field": "label", "score_range": [0, 5]}},
    "squad1.1": {"kind": "span_extraction", "version": "1.1", "max_length": 384, "doc_stride": 128,
                 "dataset": {"repo": "rajpurkar/squad", "config": "plain_text", "split": "validation",
                             "revision": "main"}},
    "squad2.0": {"kind": "span_extraction", "version": "2.0", "max_length": 384, "doc_stride": 128,
                 "dataset": {"repo": "rajpurkar/squad_v2", "config": "squad_v2", "split": "validation",
                             "revision": "main"}},
}
ALIASES = {"sst": "sst-2", "sst2": "sst-2", "sts": "sts-b", "stsb": "sts-b", "squad": "squad1.1",
           "squad1": "squad1.1", "squad2": "squad2.0", "squad v1.1": "squad1.1", "squad v2.0": "squad2.0"}


def find(name: str) -> dict | None:
    """The task a column or task name means ('MRPC F1', 'SQuAD v1.1 dev', 'STS-B'), or None."""
    text = str(name).lower().strip()
    for candidate in (text, " ".join(text.split()[:2]), text.split()[0] if text else ""):
        key = ALIASES.get(candidate, candidate)
        if key in TASKS:
            return TASKS[key]
    squashed = re.sub(r"\s+", "", text)
    for key in TASKS:
        if squashed.startswith(key):
            return TASKS[key]
    return None


def measure_block(task: dict, *, checkpoint: dict, max_length: int, slice_: dict) -> dict:
    """A claim's ``measure`` for the task: its kind, dataset and settings, this checkpoint and slice."""
    from harness import kinds

    kind = kinds.get(task["kind"])
    extra = {k: v for k, v in task.items() if k not in ("kind", "dataset", "max_length")}
    slice_ = dict(slice_)
    if not kind.stratifies:
        slice_.pop("stratified", None)
    return {"kind": kind.name, "dataset": dict(task["dataset"]), "checkpoint": checkpoint,
            "max_length": task.get("max_length", max_length), "slice": slice_, **extra}
