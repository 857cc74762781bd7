"""Does a checkpoint found on disk fit the claim? Read from its files, before any inference.

A checkpoint can be there and still unable to give the number: fewer position embeddings
than the claim's ``max_length`` (the run would end in a tensor-size error once a pair is
long enough), no head of the kind the claim needs (one would be initialised at random), a
label count other than the dataset's, or a tokenizer file that cannot be read (transformers
then falls through its readers and reports something unrelated, such as a missing tiktoken).
Each is an ``AssetUnfit``: the claim is ``blocked``, the file and field are named, and the
hint is the one step that would help. Nothing here imports torch or loads weights.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import AssetUnfit

#: Head name -> the suffix of the transformers classes that carry it.
HEAD_SUFFIX = {"sequence_classification": "ForSequenceClassification",
               "question_answering": "ForQuestionAnswering"}
#: Families whose position ids start after the padding index (RoBERTa: 514 embeddings, 512 tokens).
OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "xlm-roberta-xl", "data2vec-text",
                    "roberta-prelayernorm", "ibert", "luke", "mpnet"}
#: The fields that hold the number of position embeddings, by architecture.
POSITION_FIELDS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")
MAX_JSON_BYTES = 64 << 20


def _config(folder: Path, where: str) -> dict:
    from harness.atomic import FileRefused, read_bounded

    path = folder / "config.json"
    try:
        data = json.loads(read_bounded(path, MAX_JSON_BYTES).decode("utf-8"))
    except (OSError, ValueError, FileRefused) as exc:
        raise AssetUnfit(where, [f"{path}: not a readable JSON config ({type(exc).__name__}: {exc})"],
                         _refetch(folder)) from None
    if not isinstance(data, dict):
        raise AssetUnfit(where, [f"{path}: not a JSON mapping"], _refetch(folder))
    return data


def _refetch(folder: Path) -> str:
    return (f"Its files are damaged: remove {folder} and fetch it again where the hub can be reached "
            "(`python -m harness prefetch --mirror DIR`)")


def positions(config: dict) -> int | None:
    """How many tokens the model can read (position embeddings less any offset), or None if unsaid
    or unbounded (relative positions only, as DeBERTa-v3's ``position_biased_input: false``)."""
    if config.get("position_biased_input") is False:
        return None
    for name in POSITION_FIELDS:
        value = config.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            if config.get("model_type") in OFFSET_POSITIONS:   # ids run from pad + 1 (pad 0 is a pad, not "unsaid")
                pad = config.get("pad_token_id")
                value -= (pad if isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0 else 1) + 1
            return value
    return None


def head_problem(config: dict, head: str, where: str = "config.json") -> str | None:
    """Why the checkpoint has no trained head of this kind (None: it has one, as far as files say)."""
    suffix = HEAD_SUFFIX[head]
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures:
        if not any(isinstance(a, str) and a.endswith(suffix) for a in architectures):
            return (f"{where} field 'architectures' is {architectures}: no *{suffix} head was saved "
                    "(loading one would initialise it at random)")
        return None
    model_type = config.get("model_type")
    try:
        from transformers.models.auto import modeling_auto

        from harness.measure.models import HEADS

        mapping = getattr(modeling_auto, HEADS[head][1])
    except (ImportError, AttributeError):
        return None
    if model_type not in mapping:
        return f"{where} field 'model_type' is {model_type!r}: transformers has no {suffix} class for it"
    return None


def label_count(config: dict) -> int | None:
    """How many outputs the classification head has, as config.json says (None: it does not say)."""
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    n = config.get("num_labels")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def tokenizer_problem(folder: Path) -> str | None:
    """Why the tokenizer cannot be read (None: the file transformers will read parses).

    transformers reads tokenizer.json when there is one, else converts spiece.model, else a
    word-piece or BPE vocabulary; the first of these present is the one checked."""
    from harness.atomic import FileRefused, read_bounded

    folder = Path(folder)
    try:
        if (folder / "tokenizer.json").exists():
            data = json.loads(read_bounded(folder / "tokenizer.json", MAX_JSON_BYTES).decode("utf-8"))
            if not isinstance(data, dict) or "model" not in data:
                return f"{folder / 'tokenizer.json'}: not a tokenizers file (no 'model')"
            return None
        if (folder / "spiece.model").exists():
            return _sentencepiece_problem(folder / "spiece.model", read_bounded(folder / "spiece.model",
                                                                               MAX_JSON_BYTES))
        if (folder / "vocab.txt").exists():
            if not read_bounded(folder / "vocab.txt", MAX_JSON_BYTES).decode("utf-8").strip():
                return f"{folder / 'vocab.txt'}: empty"
            return None
        if (folder / "vocab.json").exists():
            data = json.loads(read_bounded(folder / "vocab.json", MAX_JSON_BYTES).decode("utf-8"))
            return None if isinstance(data, dict) and data else f"{folder / 'vocab.json'}: not a vocabulary mapping"
    except (OSError, ValueError, FileRefused) as exc:   # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return f"cannot read the tokenizer ({type(exc).__name__}: {str(exc)[:200]})"
    return f"{folder}: no tokenizer file (tokenizer.json, spiece.model, vocab.txt or vocab.json)"


def _sentencepiece_problem(path: Path, data: bytes) -> str | None:
    try:
        import sentencepiece
    except ImportError:   # nothing to parse it with here; transformers will say what it finds
        return None if data else f"{path}: empty"
    try:
        sentencepiece.SentencePieceProcessor(model_proto=data)
    except Exception as exc:  # noqa: BLE001 - sentencepiece raises RuntimeError or its own protobuf errors
        return f"{path}: not a SentencePiece model ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
    return None


def check(asset, *, head: str, max_length: int, labels: list | None = None, what: str | None = None) -> dict:
    """Raise AssetUnfit when the checkpoint cannot give the claim's number; else its config.

    ``labels``: the dataset's class names (a classifier must have as many outputs), or the
    number 1 for a one-output regression head (whose ``problem_type``, where the config sets
    it, must be "regression"); None skips the label check."""
    folder = Path(asset.path)
    # Not "checkpoint ORG/NAME@REV": that names an asset to fetch (harness.report.next_steps), and
    # fetching this one again would not help (a damaged tokenizer's hint says so itself).
    where = what or f"a checkpoint that fits the claim: {asset.repo}@{asset.revision} ({folder})"
    config = _config(folder, where)
    n = positions(config)
    if n is not None and n < max_length:
        raise AssetUnfit(where, [f"{folder / 'config.json'}: {n} position embeddings, the claim's "
                                 f"measure.max_length is {max_length}"],
                         f"Measure a checkpoint with at least {max_length} positions, or set measure.max_length "
                         f"to {n} or less (a deviation from the paper's protocol, recorded as one)")
    problem = head_problem(config, head, str(folder / "config.json"))
    if problem:
        raise AssetUnfit(where, [problem], f"Measure a checkpoint fine-tuned with a {HEAD_SUFFIX[head]} head")
    if labels is not None:
        want = labels if isinstance(labels, int) else len(labels)
        have = label_count(config)
        if have is not None and have != want:
            names = "" if isinstance(labels, int) else f" ({', '.join(map(str, labels))})"
            raise AssetUnfit(where, [f"{folder / 'config.json'}: the head has {have} output(s) "
                                     f"(id2label/num_labels), the claim's task needs {want}{names}"],
                             "Measure a checkpoint fine-tuned on this task and dataset")
        problem_type = config.get("problem_type")
        if isinstance(labels, int) and problem_type not in (None, "regression"):   # unset: older cards
            raise AssetUnfit(where, [f"{folder / 'config.json'} field 'problem_type' is {problem_type!r}: "
                                     "its one output was not trained as a regression score"],
                             "Measure a checkpoint fine-tuned as a regression (problem_type 'regression')")
    problem = tokenizer_problem(folder)
    if problem:
        raise AssetUnfit(where, [problem], _refetch(folder))
    return config
