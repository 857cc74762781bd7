"""A tiny extractive-QA world built at test time: an ALBERT QA model and SQuAD-like splits.

Plain helper module (not a test file). The model is ``AlbertForQuestionAnswering`` with the
tiny architecture and sentencepiece tokenizer of ``tests/tiny_albert.py``, randomly
initialised with a fixed seed; its answers are arbitrary but deterministic spans. The splits
are generated sentences with one fact each, written as parquet with the hub's SQuAD features,
laid out like a mirror:

    <root>/models/tiny/albert-squad/                      config.json, model.safetensors, tokenizer
    <root>/datasets/tiny/squad/plain_text/validation-00000-of-00001.parquet
    <root>/datasets/tiny/squad_v2/squad_v2/validation-00000-of-00001.parquet
"""

from __future__ import annotations

import pathlib
import random

from tests.tiny_albert import _sentence, build_tokenizer, tiny_config, training_sentences

MODEL = pathlib.Path("models") / "tiny" / "albert-squad"
SQUAD = pathlib.Path("datasets") / "tiny" / "squad"
SQUAD_V2 = pathlib.Path("datasets") / "tiny" / "squad_v2"
SPLIT_FILE = "validation-00000-of-00001.parquet"

_THINGS = ["statue", "archive", "museum", "orchestra", "library", "observatory", "festival", "garden",
           "monument", "laboratory", "theatre", "harbour"]
_PLACES = ["Lisbon", "Kyoto", "Nairobi", "Oslo", "Quito", "Hanoi", "Dakar", "Perth", "Tbilisi", "Lima"]
_YEARS = ["1887", "1902", "1935", "1951", "1968", "1974", "1990", "2004"]


def qa_rows(n: int = 40, *, seed: int = 0, unanswerable: int = 0, filler: tuple[int, int] = (1, 4)) -> dict:
    """Columns of ``n`` questions (hub SQuAD layout); the last ``unanswerable`` have no answer.

    Each context is ``filler`` generated sentences around one fact sentence. Answerable
    questions ask where or when the fact's thing moved; the gold is that substring, with its
    true ``answer_start``. Unanswerable ones ask about a thing the context does not mention.
    """
    rng = random.Random(seed)
    cols: dict[str, list] = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for i in range(n):
        thing, place, year = rng.choice(_THINGS), rng.choice(_PLACES), rng.choice(_YEARS)
        fact = f"The {thing} was moved to {place} in {year} ."
        before = [_sentence(rng) for _ in range(rng.randint(*filler))]
        after = [_sentence(rng) for _ in range(rng.randint(*filler))]
        context = " ".join([*before, fact, *after])
        if i >= n - unanswerable:
            other = rng.choice([t for t in _THINGS if t != thing])
            question, answers = f"Where was the {other} moved ?", {"text": [], "answer_start": []}
        else:
            ask_place = rng.random() < 0.5
            gold = place if ask_place else year
            question = f"{'Where' if ask_place else 'When'} was the {thing} moved ?"
            start = context.index(fact) + fact.index(f" {gold} ") + 1
            assert context[start:start + len(gold)] == gold
            texts, starts = [gold], [start]
            if rng.random() < 0.3:   # a second annotator who took a longer span
                longer = f"{place} in {year}"
                texts.append(longer)
                starts.append(context.index(fact) + fact.index(longer))
            answers = {"text": texts, "answer_start": starts}
        cols["id"].append(f"q{seed}-{i:04d}")
        cols["title"].append(f"Article {i % 5}")
        cols["context"].append(context)
        cols["question"].append(question)
        cols["answers"].append(answers)
    return cols


def squad_features():
    """The hub's features of rajpurkar/squad and rajpurkar/squad_v2."""
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "answers": datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}),
    })


def write_split(path: pathlib.Path, cols: dict) -> pathlib.Path:
    """Write the columns as one parquet file with the hub's features."""
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(cols, features=squad_features()).to_parquet(str(path))
    return path


def qa_sentences() -> list[str]:
    """Text the tokenizer is trained on: the usual generated sentences plus the QA vocabulary."""
    rng = random.Random(7)
    extra = [f"The {rng.choice(_THINGS)} was moved to {rng.choice(_PLACES)} in {rng.choice(_YEARS)} ."
             for _ in range(60)]
    extra += [f"Where was the {t} moved ?" for t in _THINGS] + [f"When was the {t} moved ?" for t in _THINGS]
    return training_sentences() + extra


def build_tiny_albert_qa(dest: pathlib.Path, *, seed: int = 0, vocab_size: int = 400) -> pathlib.Path:
    """Save a tiny random ``AlbertForQuestionAnswering`` and its tokenizer into ``dest``."""
    import torch
    from transformers import AlbertForQuestionAnswering

    dest = pathlib.Path(dest)
    tokenizer = build_tokenizer(dest, qa_sentences(), vocab_size)
    config = tiny_config(len(tokenizer), num_labels=2)
    torch.manual_seed(seed)
    model = AlbertForQuestionAnswering(config)
    model.eval()
    model.save_pretrained(str(dest), safe_serialization=True)
    tokenizer.save_pretrained(str(dest))
    return dest


def byte_level_tokenizer():
    """A tiny fast byte-level BPE tokenizer, RoBERTa-style: unlike ALBERT's, it keeps spaces as tokens."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(qa_sentences(), vocab_size=300, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    cls, sep = ("<s>", bpe.token_to_id("<s>")), ("</s>", bpe.token_to_id("</s>"))
    bpe.post_processor = TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                            special_tokens=[cls, sep])
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>", cls_token="<s>", sep_token="</s>")


def build_tiny_qa_mirror(root: pathlib.Path, *, n: int = 40, unanswerable: int = 10) -> pathlib.Path:
    """The model and both splits under ``root`` (layout in the module docstring); returns ``root``."""
    root = pathlib.Path(root)
    build_tiny_albert_qa(root / MODEL)
    write_split(root / SQUAD / "plain_text" / SPLIT_FILE, qa_rows(n, seed=1))
    write_split(root / SQUAD_V2 / "squad_v2" / SPLIT_FILE, qa_rows(n, seed=2, unanswerable=unanswerable))
    for folder in (SQUAD, SQUAD_V2):
        (root / folder / "README.md").write_text(f"# {folder.name} (tiny, generated at test time)\n")
    return root
