"""A score split (STS-B-like) read from parquet, and one score per pair from a regression head."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.errors import MeasurementError
from harness.measure import datafiles, inference
from harness.measure.datafiles import DatasetError
from tests.tiny_stsb import CONFIG, ds_cfg, scores, write_tiny_stsb

# The module's regression model is built once: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("tiny-stsb")

datasets = pytest.importorskip("datasets")
FILE = f"{CONFIG}/validation-00000-of-00001.parquet"


# ------------------------------------------------------------------------------- the loader


def test_reads_texts_idx_float_labels_and_the_files_digest(tmp_path):
    folder = write_tiny_stsb(tmp_path, n=40, seed=0)
    split = datafiles.load_scores_split(folder, ds_cfg())
    want = scores(40, 0)
    assert split["labels"] == [float(np.float32(v)) for v in want]   # float32 on disk, widened exactly
    assert all(type(v) is float and 0.0 <= v <= 5.0 for v in split["labels"])
    assert len(set(split["labels"])) > 5
    assert split["idx"] == list(range(40))
    assert set(split["texts"]) == {"sentence1", "sentence2"}
    assert len(split["texts"]["sentence1"]) == len(split["texts"]["sentence2"]) == 40
    assert split["texts"]["sentence1"][0] != split["texts"]["sentence2"][0]
    assert split["files"] == [FILE]
    assert re.fullmatch(r"[0-9a-f]{64}", split["fingerprint"])
    assert "label_names" not in split
    assert datafiles.load_scores_split(folder, ds_cfg()) == split          # deterministic

    # one label changed: another fingerprint
    changed = write_tiny_stsb(tmp_path / "changed", n=40, seed=0, labels=[want[0] + 0.2] + want[1:])
    assert datafiles.load_scores_split(changed, ds_cfg())["fingerprint"] != split["fingerprint"]


@pytest.mark.parametrize("column", ["label", "sentence2"])
def test_missing_column_names_file_and_column(tmp_path, column):
    folder = write_tiny_stsb(tmp_path, columns={column: None})
    with pytest.raises(DatasetError) as err:
        datafiles.load_scores_split(folder, ds_cfg())
    assert str(folder / FILE) in str(err.value)
    assert f"no column {column!r}" in str(err.value)


def test_hidden_test_labels_are_refused(tmp_path):
    folder = write_tiny_stsb(tmp_path, n=12, split="test", labels=[-1.0] * 12)
    with pytest.raises(DatasetError, match=r"tiny/glue split 'test', column 'label': 12 of 12 rows have no label "
                                           r"\(-1, NaN or empty; GLUE test labels are hidden\)"):
        datafiles.load_scores_split(folder, ds_cfg("test"))


def test_some_unlabeled_rows_are_refused(tmp_path):
    labels = scores(10)
    labels[3], labels[7] = float("nan"), None
    folder = write_tiny_stsb(tmp_path, n=10, labels=labels)
    with pytest.raises(DatasetError, match="2 of 10 rows have no label"):
        datafiles.load_scores_split(folder, ds_cfg())


def test_a_classification_split_is_not_scores(tmp_path):
    names = ["not_equivalent", "equivalent"]
    folder = write_tiny_stsb(tmp_path, n=10, columns={"label": ([0, 1] * 5, datasets.ClassLabel(names=names))})
    with pytest.raises(DatasetError, match=r"column 'label' is a class label \(not_equivalent, equivalent\), "
                                           "not a score"):
        datafiles.load_scores_split(folder, ds_cfg())
    # and the classification loader still reads it as before
    split = datafiles.load_split(folder, ds_cfg())
    assert split["label_names"] == names and split["labels"] == [0, 1] * 5 and split["files"] == [FILE]


def test_scores_are_not_class_labels_for_the_classification_loader(tmp_path):
    folder = write_tiny_stsb(tmp_path, n=10)
    with pytest.raises(DatasetError, match="label field 'label' has no class names"):
        datafiles.load_split(folder, ds_cfg())


def test_text_labels_are_refused(tmp_path):
    folder = write_tiny_stsb(tmp_path, n=3, columns={"label": (["high", "low", "high"], datasets.Value("string"))})
    with pytest.raises(DatasetError, match="column 'label' holds .*string.*not numbers"):
        datafiles.load_scores_split(folder, ds_cfg())


def test_score_range_is_checked_when_given(tmp_path):
    folder = write_tiny_stsb(tmp_path, n=4, labels=[0.0, 2.5, 5.0, 5.2])
    assert len(datafiles.load_scores_split(folder, ds_cfg())["labels"]) == 4
    with pytest.raises(DatasetError, match=r"1 of 4 labels outside 0..5 \(e.g. 5.19999"):
        datafiles.load_scores_split(folder, ds_cfg(), score_range=(0, 5))


# ------------------------------------------------------------------------ regression head


@pytest.fixture(scope="module")
def regression_folder(tmp_path_factory):
    pytest.importorskip("torch")
    from tests.tiny_albert import build_tiny_albert

    return build_tiny_albert(tmp_path_factory.mktemp("tiny-stsb") / "model", seed=0, regression=True)


@pytest.fixture(scope="module")
def regression_model(regression_folder):
    transformers = pytest.importorskip("transformers")

    path = regression_folder
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(path)).eval()
    return tokenizer, model


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory):
    return datafiles.load_scores_split(write_tiny_stsb(tmp_path_factory.mktemp("tiny-stsb-data"), n=40), ds_cfg())


def _scores(tokenizer, model, split, batch_size):
    enc = inference.encode(tokenizer, [split["texts"]["sentence1"], split["texts"]["sentence2"]], 64)
    out = inference.run(model, enc, device="cpu", pad_id=tokenizer.pad_token_id, batch_size=batch_size)
    assert out.logits.shape == (40, 1)
    return inference.scores_from_logits(out.logits)


def _fits_as_a_scorer(folder) -> dict:
    """fitness.check as the regression kind calls it (one output), on the checkpoint in ``folder``."""
    from harness.measure.assets import Asset
    from harness.measure.fitness import check

    return check(Asset("tiny/stsb", "main", str(folder), "mirror", None), head="sequence_classification",
                 max_length=64, labels=1)


def test_regression_head_gives_one_deterministic_float_per_pair(regression_model, regression_folder, tiny_split):
    tokenizer, model = regression_model
    assert model.config.num_labels == 1 and model.config.problem_type == "regression"
    _fits_as_a_scorer(regression_folder)

    first = _scores(tokenizer, model, tiny_split, 8)
    assert first.shape == (40,) and first.dtype == np.float64
    assert np.isfinite(first).all() and np.unique(first).size == 40      # a score per pair, not a constant
    np.testing.assert_array_equal(_scores(tokenizer, model, tiny_split, 8), first)
    # other batches pad differently: the same scores up to float rounding
    np.testing.assert_allclose(_scores(tokenizer, model, tiny_split, 5), first, rtol=0, atol=1e-5)


def test_scores_and_labels_give_a_correlation(regression_model, tiny_split):
    """The blocks fit: split labels, model scores, Pearson with its interval."""
    from harness.judge.statistics import measure_uncertainty
    from harness.metrics import correlation

    tokenizer, model = regression_model
    predicted = _scores(tokenizer, model, tiny_split, 8)
    ci = measure_uncertainty("correlation.pearson", tiny_split["labels"], predicted, resamples=500, seed=0)
    assert -1.0 <= ci.low <= ci.estimate <= ci.high <= 1.0 and ci.n == 40
    assert ci.estimate == pytest.approx(correlation.pearson(tiny_split["labels"], predicted), abs=1e-12)


def test_classification_logits_are_not_scores():
    with pytest.raises(MeasurementError, match=r"needs one score per example.*2 outputs per example "
                                               r"\(num_labels=2\): a classification head"):
        inference.scores_from_logits(np.zeros((7, 2), dtype=np.float32))
    with pytest.raises(MeasurementError, match=r"an array of shape \(7,\)"):
        inference.scores_from_logits(np.zeros(7, dtype=np.float32))
    with pytest.raises(MeasurementError, match="non-finite scores for 1 of 3"):
        inference.scores_from_logits(np.array([[0.5], [np.nan], [1.0]], dtype=np.float32))
    got = inference.scores_from_logits(np.array([[0.5], [-1.25], [3.0]], dtype=np.float32))
    assert got.tolist() == [0.5, -1.25, 3.0]


def test_a_classification_config_is_refused_before_inference(regression_folder, tmp_path):
    """The regression kind's fitness check on config.json: two outputs, or one output trained for
    another problem, is blocked naming the field; an unset problem_type (older cards) fits."""
    import json
    import shutil

    from harness.errors import AssetUnfit

    def edited(name, **fields):
        folder = tmp_path / name
        shutil.copytree(regression_folder, folder)
        config = json.loads((folder / "config.json").read_text())
        for key, value in fields.items():
            config.pop(key, None) if value is None else config.update({key: value})
        (folder / "config.json").write_text(json.dumps(config))
        return folder

    two = edited("two", id2label={"0": "not_equivalent", "1": "equivalent"}, num_labels=2,
                 label2id={"not_equivalent": 0, "equivalent": 1}, problem_type=None)
    with pytest.raises(AssetUnfit, match=r"the head has 2 output\(s\) \(id2label/num_labels\), the claim's task "
                                         r"needs 1"):
        _fits_as_a_scorer(two)
    multi = edited("multi", problem_type="multi_label_classification")
    with pytest.raises(AssetUnfit, match=r"field 'problem_type' is 'multi_label_classification'"):
        _fits_as_a_scorer(multi)
    _fits_as_a_scorer(edited("unset", problem_type=None))     # older cards leave it unset


def test_column_types_are_read_as_datasets_reads_them(tmp_path):
    """datafiles.column_type (no datasets import) against datasets.Features.from_arrow_schema, on files
    datasets wrote (class labels, ints, floats, strings, bools) and on bare parquet without its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    feats = datasets.Features({"c": datasets.ClassLabel(names=["no", "yes"]), "i": datasets.Value("int32"),
                               "f": datasets.Value("float32"), "d": datasets.Value("float64"),
                               "s": datasets.Value("string"), "b": datasets.Value("bool"),
                               "n": datasets.ClassLabel(num_classes=3)})
    rows = {"c": [0, 1], "i": [1, 2], "f": [0.5, 1.5], "d": [0.25, 2.0], "s": ["a", "b"], "b": [True, False],
            "n": [0, 2]}
    datasets.Dataset.from_dict(rows, features=feats).to_parquet(str(tmp_path / "hf.parquet"))
    bare = pa.table({"i": pa.array([1], pa.int64()), "f": pa.array([1.0], pa.float32()),
                     "d": pa.array([1.0], pa.float64()), "s": ["x"], "b": [True]})
    pq.write_table(bare, tmp_path / "bare.parquet")
    checked = 0
    for path in (tmp_path / "hf.parquet", tmp_path / "bare.parquet"):
        schema = pq.read_schema(path)
        theirs = datasets.Features.from_arrow_schema(schema)
        for column in schema.names:
            kind, detail = datafiles.column_type(schema, column)
            feature = theirs[column]
            if isinstance(feature, datasets.ClassLabel):
                assert (kind, detail) == ("class", feature.names), column
            else:
                assert (kind, detail) == ("value", feature.dtype), column
            checked += 1
    assert checked == 12
