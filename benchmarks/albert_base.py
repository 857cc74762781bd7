"""albert-base-v2's shape with random weights, saved as the released checkpoint is laid out.

textattack/albert-base-v2-MRPC ships ``pytorch_model.bin`` (a pickle), ``spiece.model``,
``config.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``, and no
``tokenizer.json``: every load converts spiece.model into a fast tokenizer. The claim-cost
benchmark must pay what a real run pays, so the stand-in has the same files.

Building it takes a minute (a sentencepiece model trained on MRPC, a 12-layer model
initialised and its classifier bias centred), so it is built once into a cache folder keyed by
the recipe and the library versions, and later runs copy nothing: they point a mirror at it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

RECIPE = "albert-base-v2-random/1"
REPO = "textattack/albert-base-v2-MRPC"     # where the MRPC model-card claim looks for it
LABELS = {0: "not_equivalent", 1: "equivalent"}
#: Sizes that differ from albert-base-v2 per shape. "tiny" keeps the tokenizer, the vocabulary and
#: the file layout and shrinks the encoder (2 layers, hidden 32): its model time is about zero, so a
#: claim on it costs what a claim costs besides its model (on a GPU, nearly everything).
SHAPES = {"base": {}, "tiny": {"embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 2,
                               "num_attention_heads": 2, "intermediate_size": 64}}


def cache_root() -> Path:
    """$CLAIMS_BENCH_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/claims-harness/bench."""
    if os.environ.get("CLAIMS_BENCH_CACHE"):
        return Path(os.environ["CLAIMS_BENCH_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "claims-harness" / "bench"


def _key(glue: Path, shape: str = "base") -> str:
    from importlib import metadata

    parts = {"recipe": RECIPE, "vocab": os.environ.get("CLAIMS_BENCH_VOCAB", "")}
    if shape != "base":
        parts["shape"] = SHAPES[shape]
    for name in ("torch", "transformers", "sentencepiece", "tokenizers"):
        parts[name] = metadata.version(name)
    for name in ("train", "validation"):
        path = next((glue / "mrpc").glob(f"{name}-*.parquet"))
        parts[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def build(dest: Path, mrpc, shape: str = "base") -> dict:
    """Write the stand-in checkpoint into ``dest``; returns how it was made (for extra_info)."""
    import torch
    from transformers import AlbertConfig, AlbertForSequenceClassification

    from benchmarks.conftest import (ALBERT_BASE_V2, MAX_LENGTH, SEED, _albert_tokenizer, _center_bias,
                                     _check_special_ids, _spiece_like_albert)

    dest.mkdir(parents=True, exist_ok=True)
    sentences = [s for pair in mrpc.train_pairs for s in pair] + mrpc.validation_sentences
    proto, tried = _spiece_like_albert(sentences, mrpc.validation_sentences)
    (dest / "spiece.model").write_bytes(proto)
    tokenizer, how = _albert_tokenizer(dest, proto, mrpc.validation_sentences)
    _check_special_ids(tokenizer)
    config = AlbertConfig(**{**ALBERT_BASE_V2, **SHAPES[shape]}, num_labels=2, id2label=dict(LABELS),
                          label2id={v: k for k, v in LABELS.items()})
    torch.manual_seed(SEED)
    model = AlbertForSequenceClassification(config).eval()
    _center_bias(model, tokenizer, mrpc.train_pairs[:32], "cpu")
    model.save_pretrained(str(dest))
    # As released: a pickle (transformers 5 writes safetensors only), read back through weights_only.
    torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, dest / "pytorch_model.bin")
    # The released tokenizer files: spiece.model plus two small JSON files, no tokenizer.json.
    (dest / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": True, "remove_space": True, "keep_accents": False, "model_max_length": MAX_LENGTH,
         "tokenizer_class": "AlbertTokenizer"}))
    (dest / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]",
         "pad_token": "<pad>", "cls_token": "[CLS]", "mask_token": "[MASK]"}))
    for extra in ("model.safetensors", "tokenizer.json", "generation_config.json"):
        (dest / extra).unlink(missing_ok=True)
    return {"tokenizer": how, "vocab_sizes_tried": tried, "parameters": sum(p.numel() for p in model.parameters())}


def checkpoint(glue: Path, mrpc, shape: str = "base") -> tuple[Path, dict]:
    """The cached stand-in (built on first use): (folder holding models/<REPO>, how it was made)."""
    from filelock import FileLock

    root = cache_root() / f"albert-{shape}-{_key(glue, shape)}"
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        done = root / "built.json"
        if not done.is_file():
            shutil.rmtree(root, ignore_errors=True)
            info = build(root / "models" / REPO, mrpc, shape)
            done.write_text(json.dumps(info))
    return root, json.loads(done.read_text())


def mirror(glue_root: Path, checkpoint_root: Path, dest: Path) -> Path:
    """A mirror: the stand-in checkpoint and the real GLUE data, both linked, nothing copied."""
    (dest / "models" / REPO).parent.mkdir(parents=True, exist_ok=True)
    (dest / "datasets" / "nyu-mll").mkdir(parents=True, exist_ok=True)
    link = dest / "models" / REPO
    if not link.exists():
        link.symlink_to(checkpoint_root / "models" / REPO, target_is_directory=True)
    glue = dest / "datasets" / "nyu-mll" / "glue"
    if not glue.exists():
        glue.symlink_to(glue_root / "datasets" / "nyu-mll" / "glue", target_is_directory=True)
    return dest
