"""Checks for the tiny ALBERT builder in ``tests/tiny_albert.py``."""

from __future__ import annotations

import os
import pathlib

import pytest

from tests.tiny_albert import SPECIAL_TOKEN_IDS, build_tiny_albert, training_sentences

# Its module-scoped runs are built once: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("tiny-albert")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
spm = pytest.importorskip("sentencepiece")

MRPC_RELATIVE = pathlib.Path("datasets") / "nyu-mll" / "glue"


@pytest.fixture(scope="module")
def tiny_albert_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return build_tiny_albert(tmp_path_factory.mktemp("tiny_albert") / "model", seed=0)


@pytest.fixture(scope="module")
def mrpc_dir() -> pathlib.Path:
    root = os.environ.get("CLAIMS_MIRROR")
    if not root:
        pytest.skip("CLAIMS_MIRROR is not set (it must point at the mirror root holding datasets/)")
    path = pathlib.Path(root) / MRPC_RELATIVE
    if not path.is_dir():
        pytest.skip(f"CLAIMS_MIRROR={root} has no {MRPC_RELATIVE} (GLUE/MRPC data mirror)")
    return path


def test_training_sentences_are_deterministic():
    first = training_sentences()
    assert 200 <= len(first) <= 1000
    assert first == training_sentences()
    assert all(isinstance(s, str) and s.strip() for s in first)


def test_output_loads_with_auto_classes(tiny_albert_dir: pathlib.Path):
    files = {p.name for p in tiny_albert_dir.iterdir()}
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"} <= files

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_albert_dir))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_albert_dir))
    assert isinstance(model, transformers.AlbertForSequenceClassification)
    assert type(tokenizer).__name__.startswith("AlbertTokenizer")

    config = model.config
    assert config.model_type == "albert"
    assert config.pad_token_id == 0
    assert config.num_labels == 2
    assert config.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    assert config.type_vocab_size == 2
    assert config.vocab_size == len(tokenizer)

    sp = spm.SentencePieceProcessor(model_file=str(tiny_albert_dir / "spiece.model"))
    assert len(tokenizer) == sp.get_piece_size()

    enc = tokenizer(
        ["The company said profits rose ."],
        ["Shares fell 5 percent on monday ."],
        return_token_type_ids=True,
        return_tensors="pt",
    )
    ids = enc["input_ids"][0].tolist()
    types = enc["token_type_ids"][0].tolist()
    assert ids[0] == SPECIAL_TOKEN_IDS["[CLS]"]
    assert ids[-1] == SPECIAL_TOKEN_IDS["[SEP]"]
    first_sep = ids.index(SPECIAL_TOKEN_IDS["[SEP]"])
    assert set(types[: first_sep + 1]) == {0}
    assert set(types[first_sep + 1 :]) == {1}

    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.shape == (1, 2)


def test_special_token_ids(tiny_albert_dir: pathlib.Path):
    sp = spm.SentencePieceProcessor(model_file=str(tiny_albert_dir / "spiece.model"))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_albert_dir))
    assert SPECIAL_TOKEN_IDS == {"<pad>": 0, "<unk>": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    # both ways: an unknown piece maps to <unk> (1) too, so piece -> id alone proves nothing for it
    for piece, want in SPECIAL_TOKEN_IDS.items():
        assert sp.piece_to_id(piece) == want, piece
        assert sp.id_to_piece(want) == piece, piece
        assert tokenizer.convert_tokens_to_ids(piece) == want, piece
        assert tokenizer.convert_ids_to_tokens(want) == piece, piece
    assert sp.is_unknown(1) and not any(sp.is_unknown(i) for i in (0, 2, 3, 4))
    assert all(sp.is_control(i) for i in (0, 2, 3))           # never produced from text
    assert tokenizer.convert_tokens_to_ids("[NOT-A-PIECE]") == 1
    assert tokenizer.pad_token_id == 0
    assert tokenizer.unk_token_id == 1
    assert tokenizer.cls_token_id == 2
    assert tokenizer.sep_token_id == 3
    assert tokenizer.mask_token_id == 4


def test_same_seed_gives_identical_builds(tmp_path: pathlib.Path):
    a = build_tiny_albert(tmp_path / "a", seed=7)
    b = build_tiny_albert(tmp_path / "b", seed=7)
    c = build_tiny_albert(tmp_path / "c", seed=8)

    assert (a / "spiece.model").read_bytes() == (b / "spiece.model").read_bytes()

    def state(path):
        model = transformers.AutoModelForSequenceClassification.from_pretrained(str(path))
        return model.state_dict()

    sa, sb, sc = state(a), state(b), state(c)
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa), "different seeds gave identical weights"

    text = ["He said the foodservice pie business does n't fit the company 's strategy ."]
    pair = ["The pie business does not fit our long-term growth strategy ."]
    ta = transformers.AutoTokenizer.from_pretrained(str(a))
    tb = transformers.AutoTokenizer.from_pretrained(str(b))
    assert dict(ta(text, pair, return_token_type_ids=True)) == dict(
        tb(text, pair, return_token_type_ids=True)
    )


def test_custom_labels(tmp_path: pathlib.Path):
    id2label = {0: "not_equivalent", 1: "equivalent"}
    path = build_tiny_albert(tmp_path / "m", id2label=id2label)
    config = transformers.AutoConfig.from_pretrained(str(path))
    assert config.id2label == id2label
    assert config.label2id == {"not_equivalent": 0, "equivalent": 1}


def test_mrpc_predictions_include_both_classes(
    tiny_albert_dir: pathlib.Path, mrpc_dir: pathlib.Path, tmp_path: pathlib.Path
):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(
        str(mrpc_dir), "mrpc", split="validation", cache_dir=str(tmp_path / "hf_cache")
    )
    rows = [ds[i] for i in range(64)]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_albert_dir))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_albert_dir))
    model.eval()
    enc = tokenizer(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        padding=True,
        truncation=True,
        max_length=128,
        return_token_type_ids=True,
        return_tensors="pt",
    )
    assert (enc["token_type_ids"] == 1).any()
    with torch.no_grad():
        preds = model(**enc).logits.argmax(-1)
    assert set(preds.tolist()) == {0, 1}, f"fraction of class 1: {preds.float().mean().item()}"
