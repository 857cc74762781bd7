"""Write a tiny STS-B-like split (sentence pairs with a 0..5 similarity score) into a mirror.

A plain helper module for tests, beside tiny_albert.py: the sentences come from the same
generator, so the tiny ALBERT's tokenizer knows their pieces. The file has the hub's GLUE
stsb layout and features (sentence1, sentence2: string; label: float32; idx: int32), at
``<root>/datasets/tiny/glue/stsb/<split>-00000-of-00001.parquet``.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.tiny_albert import generate_sentences

REPO = "tiny/glue"
CONFIG = "stsb"


def ds_cfg(split: str = "validation") -> dict:
    """The claim's measure.dataset for the tiny split (the keys datafiles' loaders read)."""
    return {"repo": REPO, "config": CONFIG, "split": split, "revision": "main",
            "text_fields": ["sentence1", "sentence2"], "label_field": "label"}


def scores(n: int, seed: int = 0) -> list[float]:
    """``n`` scores in [0, 5] on STS-B's grid of fifths (most STS-B labels are means of five
    annotators' integer scores)."""
    rng = random.Random(seed)
    return [rng.randint(0, 25) / 5 for _ in range(n)]


def write_tiny_stsb(root: Path, *, n: int = 40, seed: int = 0, split: str = "validation",
                    labels: list[float] | None = None, columns: dict | None = None) -> Path:
    """Write the split under mirror ``root`` and return the dataset folder (``root/datasets/tiny/glue``).

    ``labels`` replaces the generated scores (e.g. ``[-1.0] * n`` for a hidden-label test
    split); ``columns`` drops, adds or replaces columns for tests of broken files:
    ``{name: None}`` drops one, ``{name: (values, feature)}`` sets one (a ``datasets`` feature,
    e.g. ``ClassLabel(names=[...])``).
    """
    import datasets

    sentences = generate_sentences(2 * n, 1000 + seed)
    data = {"sentence1": sentences[0::2], "sentence2": sentences[1::2],
            "label": list(labels) if labels is not None else scores(n, seed), "idx": list(range(n))}
    features = {"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                "label": datasets.Value("float32"), "idx": datasets.Value("int32")}
    for name, column in (columns or {}).items():
        data.pop(name, None)
        features.pop(name, None)
        if column is not None:
            data[name], features[name] = list(column[0]), column[1]
    folder = Path(root) / "datasets" / REPO
    path = folder / CONFIG / f"{split}-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(data, features=datasets.Features(features)).to_parquet(str(path))
    return folder
