"""Build a tiny, randomly initialised ALBERT sequence-classification model at test time.

This is a plain helper module (not a test file, not a conftest).  It trains a small
sentencepiece unigram model on deterministic generated sentences, builds a tiny
``AlbertForSequenceClassification`` with a fixed seed and writes model + tokenizer into a
local directory laid out like a hub mirror of an ALBERT checkpoint (``config.json``,
``model.safetensors``, ``spiece.model``, tokenizer files), so that
``AutoTokenizer.from_pretrained(dest)`` and
``AutoModelForSequenceClassification.from_pretrained(dest)`` load it offline.

The special pieces have the same ids as ``albert-base-v2``:
``<pad>=0, <unk>=1, [CLS]=2, [SEP]=3, [MASK]=4``.
"""

from __future__ import annotations

import io
import pathlib
import random

__all__ = ["training_sentences", "generate_sentences", "build_tiny_albert", "build_tokenizer", "tiny_config",
           "SPECIAL_TOKEN_IDS"]

#: Large-ish init so a random model gives varied (not single-class) predictions.
_INITIALIZER_RANGE = 0.5

#: Special piece ids, identical to albert-base-v2.
SPECIAL_TOKEN_IDS: dict[str, int] = {
    "<pad>": 0,
    "<unk>": 1,
    "[CLS]": 2,
    "[SEP]": 3,
    "[MASK]": 4,
}

_SUBJECTS = [
    "the company", "the government", "a spokesman", "the court", "the bank", "investors",
    "the president", "officials", "the police", "analysts", "the board", "the minister",
    "researchers", "the team", "the union", "shareholders", "the agency", "a judge",
    "the airline", "the market", "the senator", "the network", "doctors", "students",
    "the city council", "the manufacturer", "the prosecutor", "the state", "he", "she",
    "they", "the chief executive", "the group", "the hospital", "the school",
]
_VERBS = [
    "said", "reported", "announced", "denied", "expected", "confirmed", "rejected",
    "approved", "warned", "agreed", "claimed", "estimated", "predicted", "noted",
    "argued", "believed", "revealed", "decided", "planned", "suggested",
]
_OBJECTS = [
    "profits", "the deal", "the contract", "its shares", "the plan", "the lawsuit",
    "the report", "sales", "the merger", "new rules", "the budget", "the election",
    "the drug", "the software", "the program", "the vote", "the strike", "prices",
    "revenue", "the offer", "the charges", "the proposal", "the results", "the talks",
    "the policy", "earnings", "the investigation", "losses", "the agreement", "costs",
    "the company 's shares", "the group 's long-term plan", "the state 's high-profile case",
    "it does n't matter", "they wo n't comment", "the u.s. economy", "a non-profit fund",
]
_ADVERBS = [
    "on monday", "on tuesday", "on wednesday", "on thursday", "on friday", "last week",
    "yesterday", "today", "earlier this year", "in a statement", "late on sunday",
    "in new york", "in washington", "in london", "after the meeting", "during the quarter",
    "( reuters )", "according to the report", "at 9 : 30 a.m.", "and / or later", "q&a",
    "on the nasdaq", "in september", "in june", "by 2005",
]
_CONNECTIVES = [
    "and", "but", "because", "while", "although", "after", "before", "since", "that", "when",
    "if", "so", "which", "as",
]
_AUXILIARIES = ["has", "had", "has been", "had been", "was", "is", "would have", "could have"]
_ADJECTIVES = [
    "strong", "weak", "higher", "lower", "large", "small", "new", "former", "federal",
    "private", "public", "annual", "quarterly", "major", "early", "final", "recent",
]
_NOUNS = [
    "business", "growth", "strategy", "industry", "economy", "customers", "workers",
    "employees", "products", "services", "technology", "computer", "internet", "network",
    "security", "health", "insurance", "energy", "oil", "gas", "power", "water", "food",
    "weather", "storm", "travel", "flights", "passengers", "tickets", "music", "film",
    "television", "newspaper", "magazine", "website", "phone", "wireless", "chip", "device",
    "patients", "disease", "virus", "vaccine", "treatment", "medicine", "research", "study",
    "science", "space", "university", "college", "teachers", "children", "parents", "family",
    "community", "country", "nation", "region", "county", "district", "village", "border",
    "army", "soldiers", "troops", "war", "peace", "attack", "bomb", "weapons", "terrorism",
    "crime", "prison", "trial", "jury", "lawyer", "evidence", "witness", "murder", "fraud",
    "tax", "debt", "loan", "interest", "rates", "inflation", "dollar", "euro", "stocks",
    "bonds", "fund", "assets", "capital", "credit", "mortgage", "housing", "property",
    "building", "bridge", "road", "highway", "railway", "vehicles", "cars", "trucks",
    "engine", "fuel", "factory", "plant", "steel", "chemical", "pollution", "environment",
    "climate", "forest", "river", "island", "coast", "church", "religion", "culture",
    "history", "language", "opinion", "interview", "decision", "question", "answer",
    "problem", "solution", "failure", "success", "record", "season", "game", "player",
    "coach", "league", "championship", "victory", "defeat", "campaign", "candidate",
    "voters", "party", "congress", "parliament", "legislation", "amendment", "committee",
]
_PREPOSITIONS = [
    "about", "for", "with", "against", "over", "under", "without", "through", "of", "to",
    "from", "by", "at", "on", "in", "into", "between", "during",
]
_NUMBERS = [
    "1", "2", "3", "5", "6", "7", "8", "9", "10", "12", "15", "20", "25", "40", "50", "100",
    "2003", "1999", "$ 4.6", "$ 87", "3.8 %", "0.7 %", "1,200", "68", "(24)",
]
_UNITS = ["percent", "million", "billion", "cents", "dollars", "people", "points", "years"]


def _sentence(rng: random.Random) -> str:
    subj = rng.choice(_SUBJECTS)
    verb = rng.choice(_VERBS)
    obj = rng.choice(_OBJECTS)
    parts = [subj, verb]
    if rng.random() < 0.3:
        parts = [subj, rng.choice(_AUXILIARIES), verb]
    if rng.random() < 0.5:
        parts.append(rng.choice(_ADJECTIVES))
    parts.append(obj)
    if rng.random() < 0.7:
        parts += [rng.choice(_PREPOSITIONS), rng.choice(["the", "its", "their", "a"]),
                  rng.choice(_NOUNS)]
    r = rng.random()
    if r < 0.35:
        parts += ["rose", rng.choice(_NUMBERS), rng.choice(_UNITS)]
    elif r < 0.6:
        parts += [rng.choice(_CONNECTIVES), rng.choice(_SUBJECTS), rng.choice(_VERBS),
                  rng.choice(_OBJECTS), rng.choice(_PREPOSITIONS), rng.choice(_NOUNS)]
    if rng.random() < 0.6:
        if rng.random() < 0.4:
            parts.append(",")
        parts.append(rng.choice(_ADVERBS))
    text = " ".join(parts)
    text = text[0].upper() + text[1:]
    if rng.random() < 0.2:
        text = '" ' + text + ' "'
    punct = rng.choice([" .", " .", " .", ".", " ?", " !", " ;"])
    return text + punct


def generate_sentences(n: int, seed: int) -> list[str]:
    """``n`` English-like sentences from the same generator, determined by ``seed``."""
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(n)]


def training_sentences() -> list[str]:
    """A few hundred deterministic English-like sentences (seeded, generated in code)."""
    return generate_sentences(400, 12345)


def _train_spiece(sentences: list[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        # The generated corpus is small; let sentencepiece shrink the vocabulary instead of
        # failing when the requested size is not reachable.
        hard_vocab_limit=False,
        character_coverage=1.0,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        pad_piece="<pad>",
        unk_piece="<unk>",
        control_symbols=["[CLS]", "[SEP]"],
        user_defined_symbols=["[MASK]"],
        # Determinism and speed.
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        seed_sentencepiece_size=100000,
        normalization_rule_name="nmt_nfkc_cf",
        minloglevel=2,
    )
    data = model.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=data)
    for piece, want in SPECIAL_TOKEN_IDS.items():
        got = sp.piece_to_id(piece)
        if got != want:
            raise RuntimeError(f"sentencepiece piece {piece!r} has id {got}, expected {want}")
    return data


def _center_classifier_bias(model, tokenizer, sentences: list[str]) -> None:
    """Shift the (zero-initialised) classifier bias so the random model is not one-class.

    A randomly initialised classifier has a large input-independent logit offset, so it
    tends to predict a single class for almost every input.  We remove that offset by
    subtracting the median logits over sentence pairs built from the (deterministic)
    training sentences.  This uses only generated text, never evaluation data.
    """
    import torch

    n = min(64, len(sentences) // 2)
    firsts = sentences[0 : 2 * n : 2]
    seconds = sentences[1 : 2 * n : 2]
    enc = tokenizer(
        firsts,
        seconds,
        padding=True,
        truncation=True,
        max_length=model.config.max_position_embeddings,
        return_token_type_ids=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        logits = model(**enc).logits
        if logits.shape[-1] == 2:
            diff = (logits[:, 1] - logits[:, 0]).median()
            shift = torch.stack([-diff / 2, diff / 2])
        else:
            shift = logits.median(dim=0).values
        model.classifier.bias -= shift.to(model.classifier.bias.dtype)


def build_tokenizer(dest: pathlib.Path, sentences: list[str], vocab_size: int):
    """Train the sentencepiece model on ``sentences``, write ``spiece.model`` into ``dest``, load it.

    The tokenizer's vocabulary and special ids are checked against the sentencepiece model.
    """
    import sentencepiece as spm
    from transformers import AlbertTokenizer

    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    spiece = _train_spiece(sentences, vocab_size)
    (dest / "spiece.model").write_bytes(spiece)
    n_pieces = spm.SentencePieceProcessor(model_proto=spiece).get_piece_size()

    tokenizer = AlbertTokenizer.from_pretrained(str(dest))
    if len(tokenizer) != n_pieces:
        raise RuntimeError(
            f"tokenizer vocabulary has {len(tokenizer)} entries, spiece model has {n_pieces}"
        )
    for piece, want in SPECIAL_TOKEN_IDS.items():
        got = tokenizer.convert_tokens_to_ids(piece)
        if got != want:
            raise RuntimeError(f"tokenizer maps {piece!r} to {got}, expected {want}")
    tokenizer.model_max_length = 128
    return tokenizer


def tiny_config(vocab_size: int, **kwargs):
    """The tiny ALBERT architecture (2 layers, hidden 32) over a vocabulary of ``vocab_size``."""
    from transformers import AlbertConfig

    return AlbertConfig(
        vocab_size=vocab_size,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_hidden_groups=1,
        num_attention_heads=2,
        intermediate_size=64,
        inner_group_num=1,
        hidden_act="gelu_new",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.1,
        max_position_embeddings=128,
        type_vocab_size=2,
        initializer_range=_INITIALIZER_RANGE,
        pad_token_id=SPECIAL_TOKEN_IDS["<pad>"],
        bos_token_id=SPECIAL_TOKEN_IDS["[CLS]"],
        eos_token_id=SPECIAL_TOKEN_IDS["[SEP]"],
        **kwargs,
    )


def build_tiny_albert(
    dest: pathlib.Path,
    *,
    seed: int = 0,
    id2label: dict[int, str] | None = None,
    vocab_size: int = 400,
    extra_sentences: list[str] | None = None,
    regression: bool = False,
) -> pathlib.Path:
    """Build and save a tiny random ALBERT sequence classifier (model + tokenizer) into ``dest``.

    ``id2label=None`` keeps the config default (``LABEL_0``/``LABEL_1``); otherwise
    ``id2label``/``label2id`` are set (and ``num_labels`` follows ``len(id2label)``).
    ``regression=True`` gives a one-output regression head instead (``num_labels=1``,
    ``problem_type="regression"``, as an STS-B checkpoint); it takes no ``id2label``.
    Same ``seed`` (and same arguments) gives identical weights, ``spiece.model`` bytes
    and tokenizer output.  Returns ``dest``.
    """
    import torch
    from transformers import AlbertForSequenceClassification

    dest = pathlib.Path(dest)
    sentences = training_sentences() + list(extra_sentences or [])
    tokenizer = build_tokenizer(dest, sentences, vocab_size)

    config_kwargs = {}
    if regression:
        if id2label is not None:
            raise ValueError("a regression head has one output and no labels: pass id2label=None")
        config_kwargs["num_labels"] = 1
        config_kwargs["problem_type"] = "regression"
    elif id2label is not None:
        id2label = {int(k): str(v) for k, v in id2label.items()}
        config_kwargs["id2label"] = id2label
        config_kwargs["label2id"] = {v: k for k, v in id2label.items()}
        config_kwargs["num_labels"] = len(id2label)
    else:
        config_kwargs["num_labels"] = 2

    config = tiny_config(len(tokenizer), **config_kwargs)
    if id2label is not None:
        # Re-assert after construction in case num_labels handling regenerated defaults.
        config.id2label = id2label
        config.label2id = {v: k for k, v in id2label.items()}

    torch.manual_seed(seed)
    model = AlbertForSequenceClassification(config)
    model.eval()
    _center_classifier_bias(model, tokenizer, sentences)
    model.save_pretrained(str(dest), safe_serialization=True)
    tokenizer.save_pretrained(str(dest))
    return dest
