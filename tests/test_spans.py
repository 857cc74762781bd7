"""Span extraction: SQuAD splits read from parquet, windows, the best-span rules, a real tiny QA model."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from harness.errors import MeasurementError
from harness.measure.datafiles import DatasetError
from harness.measure.qa_data import load_qa_split
from harness.measure.spans import NO_SPAN_TEXT, Features, best_answers, encode_questions, predict
from tests.tiny_qa import (MODEL, SPLIT_FILE, SQUAD, SQUAD_V2, build_tiny_qa_mirror, byte_level_tokenizer, qa_rows,
                           write_split)

# The mirror is built once per module: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("tiny-qa")

N, UNANSWERABLE = 24, 6
V1 = {"repo": "tiny/squad", "config": "plain_text", "split": "validation"}
V2 = {"repo": "tiny/squad_v2", "config": "squad_v2", "split": "validation"}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> pathlib.Path:
    return build_tiny_qa_mirror(tmp_path_factory.mktemp("qa-mirror"), n=N, unanswerable=UNANSWERABLE)


@pytest.fixture(scope="module")
def qa_model(mirror):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(mirror / MODEL))
    model = AutoModelForQuestionAnswering.from_pretrained(str(mirror / MODEL)).eval()
    return model, tokenizer


# --- reading the split -------------------------------------------------------------------------

def test_load_qa_split_reads_the_squad_layout(mirror):
    data = load_qa_split(mirror / SQUAD, V1)
    want = qa_rows(N, seed=1)
    assert data["ids"] == want["id"]
    assert data["questions"] == want["question"]
    assert data["contexts"] == want["context"]
    assert data["answers"] == [a["text"] for a in want["answers"]]
    assert data["unanswerable"] == 0
    assert all(golds and all(g in c for g in golds) for golds, c in zip(data["answers"], data["contexts"]))
    assert any(len(golds) == 2 for golds in data["answers"])
    assert data["files"] == [f"plain_text/{SPLIT_FILE}"]
    assert len(data["fingerprint"]) == 64


def test_load_qa_split_keeps_unanswerable_questions(mirror):
    data = load_qa_split(mirror / SQUAD_V2, V2)
    assert data["unanswerable"] == UNANSWERABLE
    assert data["answers"][-UNANSWERABLE:] == [[]] * UNANSWERABLE
    assert all(data["answers"][:-UNANSWERABLE])


def test_fingerprint_follows_the_rows(tmp_path):
    rows = qa_rows(4, seed=3)
    write_split(tmp_path / "plain_text" / SPLIT_FILE, rows)
    first = load_qa_split(tmp_path, V1)["fingerprint"]
    rows["answers"][0] = {"text": [rows["context"][0][:5]], "answer_start": [0]}   # another span of its context
    write_split(tmp_path / "plain_text" / SPLIT_FILE, rows)
    assert load_qa_split(tmp_path, V1)["fingerprint"] != first


def _write_table(path: pathlib.Path, cols: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)


def test_missing_column_names_file_and_column(tmp_path):
    rows = qa_rows(3, seed=4)
    del rows["question"]
    _write_table(tmp_path / "plain_text" / SPLIT_FILE, rows)
    with pytest.raises(DatasetError, match=rf"{SPLIT_FILE}: no column 'question'"):
        load_qa_split(tmp_path, V1)


def test_answers_that_are_not_the_squad_struct_are_refused(tmp_path):
    rows = qa_rows(3, seed=4)
    rows["answers"] = ["Kyoto", "Lima", "Oslo"]
    _write_table(tmp_path / "plain_text" / SPLIT_FILE, rows)
    with pytest.raises(DatasetError, match=rf"{SPLIT_FILE}: column 'answers' is string"):
        load_qa_split(tmp_path, V1)


def test_null_question_and_repeated_id_are_refused(tmp_path):
    rows = qa_rows(3, seed=4)
    rows["question"][1] = None
    _write_table(tmp_path / "plain_text" / SPLIT_FILE, rows)
    with pytest.raises(DatasetError, match="column 'question' row 1 is None"):
        load_qa_split(tmp_path, V1)
    rows = qa_rows(3, seed=4)
    rows["id"][2] = rows["id"][0]
    write_split(tmp_path / "plain_text" / SPLIT_FILE, rows)
    with pytest.raises(DatasetError, match=f"column 'id' repeats '{rows['id'][0]}'"):
        load_qa_split(tmp_path, V1)


def test_missing_split_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="no parquet files for split 'validation'"):
        load_qa_split(tmp_path, V1)


# --- best span from hand-made logits -------------------------------------------------------------

# "[CLS] q q [SEP] alpha bravo charlie delta [SEP]" over the context below.
CONTEXT = "alpha bravo charlie delta"
OFFSETS = [None, None, None, None, (0, 5), (6, 11), (12, 19), (20, 25), None]


def _features(*offsets_per_feature, example=None) -> Features:
    example = example if example is not None else [0] * len(offsets_per_feature)
    return Features([[0] * len(o) for o in offsets_per_feature], [[0] * len(o) for o in offsets_per_feature],
                    list(offsets_per_feature), list(example))


def _logits(n: int, **peaks) -> np.ndarray:
    row = np.zeros(n, dtype=np.float32)
    for index, value in peaks.items():
        row[int(index.lstrip("_"))] = value
    return row


def test_picks_the_best_span():
    feats = _features(OFFSETS)
    starts, ends = [_logits(9, _5=4.0, _4=1.0)], [_logits(9, _6=5.0, _7=2.0)]
    assert best_answers(starts, ends, feats, [CONTEXT]) == ["bravo charlie"]


def test_spans_outside_the_context_are_never_answers():
    feats = _features(OFFSETS)
    # The question tokens (1, 2) carry the largest logits; the best span inside the context wins.
    starts, ends = [_logits(9, _1=9.0, _7=1.0)], [_logits(9, _2=9.0, _7=1.0)]
    assert best_answers(starts, ends, feats, [CONTEXT]) == ["delta"]


def test_end_before_start_is_not_a_span():
    feats = _features(OFFSETS)
    starts, ends = [_logits(9, _6=9.0, _4=1.0)], [_logits(9, _4=9.0, _5=0.5)]
    # (6, 4) is backwards; the best valid pair is start 4 (1.0) + end 4 (9.0).
    assert best_answers(starts, ends, feats, [CONTEXT]) == ["alpha"]


def test_max_answer_length_caps_the_span():
    feats = _features(OFFSETS)
    starts, ends = [_logits(9, _4=5.0, _6=1.0)], [_logits(9, _7=5.0, _6=1.0)]
    assert best_answers(starts, ends, feats, [CONTEXT]) == [CONTEXT]
    assert best_answers(starts, ends, feats, [CONTEXT], max_answer_length=3) == ["alpha bravo charlie"]
    assert best_answers(starts, ends, feats, [CONTEXT], max_answer_length=2) == ["charlie delta"]


def test_padding_beyond_the_feature_is_ignored():
    feats = _features(OFFSETS)
    starts = [np.concatenate([_logits(9, _5=1.0), np.full(4, 50.0, dtype=np.float32)])]
    ends = [np.concatenate([_logits(9, _5=1.0), np.full(4, 50.0, dtype=np.float32)])]
    assert best_answers(starts, ends, feats, [CONTEXT], n_best=1) == ["bravo"]


def test_no_valid_span_gives_run_qa_stand_in():
    feats = _features(OFFSETS)
    starts, ends = [_logits(9, _7=5.0, _4=1.0)], [_logits(9, _4=5.0)]
    # Top-1 start (7) and top-1 end (4) make no span; with the second start (4) there is one.
    assert best_answers(starts, ends, feats, [CONTEXT], n_best=1) == [NO_SPAN_TEXT]
    assert best_answers(starts, ends, feats, [CONTEXT], n_best=2) == ["alpha"]


def test_v2_null_against_best_span():
    feats = _features(OFFSETS)
    starts, ends = [_logits(9, _0=3.0, _5=2.0)], [_logits(9, _0=3.0, _5=2.0)]   # null 6 > span 4
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=True) == [""]
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=True, null_threshold=2.5) == ["bravo"]
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=False) == ["bravo"]
    starts, ends = [_logits(9, _0=1.0, _5=2.0)], [_logits(9, _0=1.0, _5=2.0)]   # null 2 < span 4
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=True) == ["bravo"]
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=True, null_threshold=-2.5) == [""]


def test_v2_uses_the_smallest_null_score_over_features():
    # Two windows of one question: null 10 in the first, 1 in the second; best span 5.
    first = [None, None, None, (0, 5), (6, 11), None]
    second = [None, None, None, (6, 11), (12, 19), None]
    feats = _features(first, second)
    starts = [_logits(6, _0=5.0), _logits(6, _0=0.5, _4=2.5)]
    ends = [_logits(6, _0=5.0), _logits(6, _0=0.5, _4=2.5)]
    assert best_answers(starts, ends, feats, [CONTEXT], version_2=True) == ["charlie"]


def test_best_span_over_windows_goes_to_its_own_question():
    other = "echo foxtrot"
    feats = _features(OFFSETS, [None, None, None, (0, 4), (5, 12), None], OFFSETS, example=[0, 1, 0])
    starts = [_logits(9, _4=1.0), _logits(6, _4=9.0), _logits(9, _7=3.0)]
    ends = [_logits(9, _4=1.0), _logits(6, _4=9.0), _logits(9, _7=3.0)]
    assert best_answers(starts, ends, feats, [CONTEXT, other]) == ["delta", "foxtrot"]


def test_features_must_cover_the_questions():
    feats = _features(OFFSETS)
    with pytest.raises(MeasurementError, match="encoded from these contexts"):
        best_answers([_logits(9)], [_logits(9)], feats, [CONTEXT, "another context"])
    with pytest.raises(MeasurementError, match="1 start and 2 end logit rows"):
        best_answers([_logits(9)], [_logits(9), _logits(9)], feats, [CONTEXT])


# --- windows over a real tokenizer ---------------------------------------------------------------

LONG = " ".join(["The board agreed the strike under a road ."] * 12 + ["The statue was moved to Zanzibar in 1902 ."])


def test_long_context_is_cut_into_overlapping_windows(qa_model):
    _, tokenizer = qa_model
    contexts = [LONG, "The harbour was moved to Lima ."]
    feats = encode_questions(tokenizer, ["Where was the statue moved ?", "Where was the harbour moved ?"],
                             contexts, max_length=48, doc_stride=12)
    windows = [i for i, j in enumerate(feats.example) if j == 0]
    assert len(windows) >= 3 and feats.example.count(1) == 1
    assert all(len(ids) <= 48 for ids in feats.input_ids)
    for ids, offsets in zip(feats.input_ids, feats.offsets):      # offsets only between the [SEP]s
        first_sep = ids.index(tokenizer.sep_token_id)
        assert [o is not None for o in offsets] == [first_sep < k < len(ids) - 1 for k in range(len(ids))]
    spans = [[o for o in feats.offsets[i] if o is not None] for i in windows]
    for a, b in zip(spans, spans[1:]):
        assert b[0][0] < a[-1][1]                                   # consecutive windows overlap
    assert spans[0][0][0] == 0 and spans[-1][-1][1] == len(LONG)   # together they cover the context
    # Point the logits at "Zanzibar", which only the last window holds: the answer is that word.
    at, end = LONG.index("Zanzibar"), LONG.index("Zanzibar") + len("Zanzibar")
    starts = [np.zeros(len(ids), dtype=np.float32) for ids in feats.input_ids]
    ends = [np.zeros(len(ids), dtype=np.float32) for ids in feats.input_ids]
    last = windows[-1]
    s = next(k for k, o in enumerate(feats.offsets[last]) if o is not None and o[0] == at)
    e = max(k for k, o in enumerate(feats.offsets[last]) if o is not None and o[1] == end)
    starts[last][s], ends[last][e] = 5.0, 5.0
    assert all(o is None or not (o[0] <= at < o[1]) for i in windows[:-2] for o in feats.offsets[i])
    answers = best_answers(starts, ends, feats, contexts)
    assert answers[0] == "Zanzibar"
    assert answers[1] in contexts[1] and answers[1]


def test_leading_spaces_of_questions_are_dropped():
    """run_qa strips them: a byte-level tokenizer would spend window tokens on them."""
    tokenizer = byte_level_tokenizer()
    padded = encode_questions(tokenizer, ["     Where was the statue moved ?"], [LONG], max_length=48, doc_stride=12)
    plain = encode_questions(tokenizer, ["Where was the statue moved ?"], [LONG], max_length=48, doc_stride=12)
    assert padded.input_ids == plain.input_ids and padded.offsets == plain.offsets


def test_window_errors_are_measurement_errors(qa_model):
    _, tokenizer = qa_model
    with pytest.raises(MeasurementError, match="doc_stride 48 must be"):
        encode_questions(tokenizer, ["q"], ["c"], max_length=48, doc_stride=48)
    with pytest.raises(MeasurementError, match="cannot cut the contexts"):
        encode_questions(tokenizer, ["why " * 60], [LONG], max_length=32, doc_stride=8)
    with pytest.raises(MeasurementError, match="2 questions but 1 contexts"):
        encode_questions(tokenizer, ["q", "r"], ["c"], max_length=48, doc_stride=8)


# --- the tiny model end to end -------------------------------------------------------------------

def _predict(qa_model, data, **kw):
    model, tokenizer = qa_model
    args = {"device": "cpu", "max_length": 64, "doc_stride": 16, "batch_size": 8, "version_2": False} | kw
    return predict(model, tokenizer, data["questions"], data["contexts"], **args)


def test_predict_answers_every_question_from_its_context(mirror, qa_model):
    data = load_qa_split(mirror / SQUAD, V1)
    out = _predict(qa_model, data)
    assert len(out["answers"]) == N
    assert all(a and a in c for a, c in zip(out["answers"], data["contexts"]))
    assert out["features"] > N                       # some contexts need several windows
    assert 0 < out["tokens"] <= out["padded_tokens"] <= out["features"] * 64
    assert out["batches"] == -(-out["features"] // 8) and out["batch_size"] == 8
    assert out["seconds"] > 0
    again = _predict(qa_model, data)
    assert again["answers"] == out["answers"]
    # Answers do not depend on how features are batched (logits are cut to each window's length).
    assert _predict(qa_model, data, batch_size=1)["answers"] == out["answers"]


def test_predict_v2_abstains_when_the_null_score_wins(mirror, qa_model):
    data = load_qa_split(mirror / SQUAD_V2, V2)
    out = _predict(qa_model, data, version_2=True)
    assert len(out["answers"]) == N
    assert all(a == "" or a in c for a, c in zip(out["answers"], data["contexts"]))
    assert _predict(qa_model, data, version_2=True, null_threshold=-1e9)["answers"] == [""] * N
    spans = _predict(qa_model, data, version_2=True, null_threshold=1e9)["answers"]
    assert all(a and a in c for a, c in zip(spans, data["contexts"]))
