"""Load a checkpoint once per process and keep it: model (eval, on the device) and tokenizer.

Safety: never ``trust_remote_code``; safetensors preferred; pickle weights only through
torch's ``weights_only`` loader.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import AssetUnfit, MeasurementError
from harness.measure.assets import SAFETENSORS_FILES, WEIGHT_FILES, Asset

#: Activation modules replaced after loading by a kernel that computes the same formula in one
#: pass: transformers' gelu_new (ALBERT, GPT-2 and others) is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
#: as five tensor operations over the feed-forward activations, a quarter of an ALBERT-base
#: forward pass on a CPU; torch's gelu(approximate="tanh") is that formula fused (transformers'
#: GELUTanh). Logits move in the last float digits only (tests/test_fused_activations.py states the
#: tolerance against the eager model); the prediction cache's keys name this table, so a cache
#: filled before it changed is not read as if computed with it.
FUSED_ACTIVATIONS = {"NewGELUActivation": "GELUTanh"}

TOKENIZER_FILES = ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.txt", "vocab.json", "merges.txt")


def files_digest(folder: Path, names) -> str:
    """sha256 over the named files that exist (name and bytes), for cache keys and provenance."""
    h = hashlib.sha256()
    for name in sorted(names):
        path = Path(folder) / name
        if path.is_file():
            h.update(name.encode() + b"\0")
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def remembered_digest(folder: Path, names) -> str:
    """``files_digest``, hashed once per version of the files (harness.measure.digests), not per run."""
    from harness.measure import digests

    folder = Path(folder)
    names = sorted(names)
    return digests.remembered([folder / n for n in names], lambda: files_digest(folder, names),
                              kind="files_digest:" + "\0".join(names))


def file_facts(folder: Path) -> dict:
    """What the checkpoint's files are, without loading them: weights and tokenizer digests."""
    folder = Path(folder)
    weights = next((n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    return {"weights_file": weights,
            "weights_sha256": remembered_digest(folder, [weights]) if weights else None,
            "tokenizer_sha256": remembered_digest(folder, TOKENIZER_FILES)}


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    info: dict


#: The transformers auto class of each head a kind asks for, and the auto mapping that names
#: its class per architecture.
HEADS = {"sequence_classification": ("AutoModelForSequenceClassification",
                                     "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES"),
         "question_answering": ("AutoModelForQuestionAnswering", "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES")}


def _import_model_code(folder: Path, head: str) -> None:
    """Import the architecture's modelling module: the first one costs seconds (transformers
    pulls in torch.distributed, dynamo, sympy, scipy), which is import time, not load time."""
    import json

    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
        from transformers.models.auto import modeling_auto

        name = getattr(modeling_auto, HEADS[head][1]).get(model_type or "")
        if name:
            import transformers

            getattr(transformers, name)
    except (OSError, ValueError, AttributeError, ImportError):
        pass   # from_pretrained will say what is wrong, with the folder in the message


def load(asset: Asset, device: str, dtype: str, head: str = "sequence_classification") -> Loaded:
    import time

    from harness.heavy_imports import paused_collection

    start = time.perf_counter()
    with paused_collection():
        import torch
        from safetensors import SafetensorError
        import transformers
        from transformers import AutoTokenizer

        _import_model_code(Path(asset.path), head)
    imported = time.perf_counter()
    folder = Path(asset.path)
    weights = next((n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - transformers' readers raise anything, and name the wrong cause
        from harness.measure.fitness import tokenizer_problem

        raise AssetUnfit(f"a checkpoint that fits the claim: {asset.repo}@{asset.revision} ({folder})",
                         [tokenizer_problem(folder) or f"its tokenizer cannot be loaded ({type(exc).__name__}: "
                                                        f"{str(exc).splitlines()[0][:200] if str(exc) else ''})"],
                         "Fetch its tokenizer files again (`python -m harness prefetch --mirror DIR`)") from None
    try:
        model = getattr(transformers, HEADS[head][0]).from_pretrained(
            str(folder), trust_remote_code=False, weights_only=True,
            use_safetensors=True if weights in SAFETENSORS_FILES else None,
            dtype=getattr(torch, dtype))
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise MeasurementError(f"cannot load checkpoint {asset.repo} from {folder}: {exc}") from exc
    model.eval().to(device)
    fused = fuse_activations(model)
    info = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "fused_activations": fused,
        "id2label": {int(k): v for k, v in model.config.id2label.items()},
        "import_seconds": round(imported - start, 3),
        "load_seconds": round(time.perf_counter() - imported, 3),
    }
    return Loaded(model, tokenizer, info)


def fuse_activations(model) -> int:
    """Replace, in place, every activation module that FUSED_ACTIVATIONS names by its fused
    equivalent; returns how many were replaced (0: the model has none, nothing changes)."""
    from transformers import activations

    swaps = {getattr(activations, old): getattr(activations, new) for old, new in FUSED_ACTIVATIONS.items()
             if hasattr(activations, old) and hasattr(activations, new)}
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            fused = swaps.get(type(child))
            if fused is not None:
                setattr(parent, name, fused())
                count += 1
    return count


class ModelPool:
    """One load per (checkpoint folder, device, dtype) per process; xdist groups keep it one per worker."""

    def __init__(self):
        self._loaded: dict[tuple, Loaded] = {}
        self.loads = 0

    def get(self, asset: Asset, device: str, dtype: str, head: str = "sequence_classification") -> Loaded:
        key = (asset.path, device, dtype, head)
        if key not in self._loaded:
            self._loaded[key] = load(asset, device, dtype, head)
            self.loads += 1
        return self._loaded[key]
