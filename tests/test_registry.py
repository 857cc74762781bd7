"""Every metric and every measurement kind in the registries keeps the registry's contract.

Parametrized over what ``discover()`` finds, so a new metric or kind is checked by these tests
the moment its module exists: values from the library, per-example samples that reproduce the
value, intervals inside the range, schemas that accept the kind's own example and refuse a
metric it does not measure.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from harness import kinds, metrics, schemas
from harness.claims.records import load_file
from harness.errors import ClaimFileError
from harness.judge import statistics as S

ROOT = Path(__file__).resolve().parents[1]

# Per metric: (y_true, y_pred, context) for a small slice with spread, and the value computed
# straight from the library the metric names (never from harness code).
GOLDS = [["the cat sat"], ["a dog"], ["blue"], ["red car", "the red car"], ["x y z"], ["Paris"], ["1887"], [""]]
ANSWERS = ["cat sat", "dog", "green", "red car", "x y", "paris", "1887", ""]


def _sklearn(name, t, p):
    from sklearn import metrics as skm

    return {"f1": lambda: skm.f1_score(t, p, pos_label=1), "accuracy": lambda: skm.accuracy_score(t, p),
            "matthews_corrcoef": lambda: skm.matthews_corrcoef(t, p)}[name]()


def _cases():
    from scipy import stats

    t = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1])
    p = np.array([1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1])
    x = np.array([0.2, 1.4, 2.0, 2.6, 3.8, 4.4, 5.0, 0.8, 3.2, 1.0])
    y = np.array([0.5, 1.0, 2.5, 2.0, 3.9, 5.1, 4.2, 1.5, 2.9, 0.7])
    # SQuAD by hand (official rules: lower case, no punctuation or articles): every answer is
    # exact except 'green' (F1 0) and 'x y' against 'x y z' (precision 1, recall 2/3: F1 4/5);
    # '' against the no-answer gold [''] is exact under v2.0.
    squad_f1 = (1 + 1 + 0 + 1 + 0.8 + 1 + 1 + 1) / 8
    return {
        "binary.f1": (t, p, {"positive": 1}, _sklearn("f1", t, p)),
        "binary.accuracy": (t, p, {"positive": 1}, _sklearn("accuracy", t, p)),
        "binary.matthews_corrcoef": (t, p, {"positive": 1}, _sklearn("matthews_corrcoef", t, p)),
        "correlation.pearson": (x, y, {}, stats.pearsonr(x, y).statistic),
        "correlation.spearman": (x, y, {}, stats.spearmanr(x, y).statistic),
        "squad.exact_match": (GOLDS, ANSWERS, {"version": "2.0"}, 6 / 8),
        "squad.f1": (GOLDS, ANSWERS, {"version": "2.0"}, squad_f1),
    }


CASES = _cases()
SAMPLED = sorted(k for k, m in metrics.discover().items() if m.uncertainty != metrics.EXACT)


def test_every_sampled_metric_has_a_case_here():
    assert sorted(CASES) == SAMPLED


@pytest.mark.parametrize("key", SAMPLED)
def test_value_is_the_librarys(key):
    y_true, y_pred, context, expected = CASES[key]
    assert metrics.get(key).value(y_true, y_pred, **context) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("key", SAMPLED)
def test_samples_reproduce_the_value_and_ignore_example_order(key):
    m = metrics.get(key)
    y_true, y_pred, context, expected = CASES[key]
    arrays = m.samples(y_true, y_pred, **context)
    assert all(len(a) == len(y_true) for a in arrays)
    if m.uncertainty == metrics.PROPORTION:
        assert float(np.mean(arrays[0])) == pytest.approx(expected)
    else:
        assert float(m.statistic(*arrays)) == pytest.approx(expected, abs=1e-12)
    order = np.random.default_rng(0).permutation(len(y_true))
    shuffled = m.samples([y_true[i] for i in order], [y_pred[i] for i in order], **context)
    if m.uncertainty == metrics.BOOTSTRAP:   # the bootstrap sees a canonical order
        for a, b in zip(arrays, shuffled):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("key", [k for k in SAMPLED if metrics.get(k).uncertainty == metrics.BOOTSTRAP])
def test_bootstrap_interval_lies_in_the_range(key):
    m = metrics.get(key)
    y_true, y_pred, context, expected = CASES[key]
    unc = S.measure_uncertainty(m, y_true, y_pred, resamples=300, seed=1, **context)
    low, high = m.range
    assert low <= unc.low <= unc.high <= high
    assert unc.estimate == pytest.approx(expected, abs=1e-12) and unc.n == len(y_true)


def test_names_share_one_range_and_label():
    by_name: dict = {}
    for m in metrics.discover().values():
        by_name.setdefault(m.name, set()).add((m.range, m.label))
    assert all(len(v) == 1 for v in by_name.values()), by_name
    assert metrics.names() == sorted(by_name)


def test_a_conflicting_or_incomplete_metric_is_refused():
    with pytest.raises(ValueError, match="disagree"):
        metrics.register(metrics.Metric(key="other.f1", name="f1", label="F-one", range=(0.0, 1.0), summary="x",
                                        uncertainty=metrics.EXACT))
    with pytest.raises(ValueError, match="needs value"):
        metrics.Metric(key="k", name="k", label="k", range=(0.0, 1.0), summary="x", uncertainty=metrics.BOOTSTRAP)
    assert "other.f1" not in metrics.discover()


def test_a_metric_or_kind_registered_first_does_not_hide_the_built_in_ones():
    """register() before anything asked the registry (a plugin's own module): discovery still runs."""
    code = """
from harness import kinds, metrics
metrics.register(metrics.Metric(key="mine.count", name="mine", label="Mine", range=(0.0, None), summary="x",
                                uncertainty=metrics.EXACT))
kinds.register(kinds.Kind(name="mine", summary="x", metrics={"mine": "mine.count"}, schema={}, measure=print,
                          uses_model=False))
assert {"binary.f1", "squad.f1", "correlation.pearson", "mine.count"} <= set(metrics.discover())
assert {"classification", "span_extraction", "mine"} <= set(kinds.names())
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("name", kinds.names())
def test_kind_names_known_metrics_and_its_example_is_a_valid_claim(name, tmp_path):
    kind = kinds.get(name)
    assert kind.metrics and all(kind.metric(n).name == n for n in kind.metrics)
    metric = sorted(kind.metrics)[0]
    record = {"id": f"example/{name}", "citation": {"source": "model_card", "url": "https://example.invalid"},
              "reported": {"value": "0.5" if metric != "parameter_count" else "12", "metric": metric,
                           "scale": "fraction" if metric != "parameter_count" else "millions"},
              "measure": copy.deepcopy(kind.example),
              "tolerance": {"value": 0.05 if metric != "parameter_count" else 0, "reason": "example claim for the test"}}
    if kind.uses_model:
        record["measure"]["checkpoint"] = {"repo": "example/model", "revision": "0" * 40, "origin": "source"}
        record["run_spread"] = {"none": "the example's checkpoint is the model its number describes"}
    schemas.validator("claim").validate(record)
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"claims": [record]}))
    assert load_file(path)[0].kind == name
    # A metric the kind does not measure is refused, naming the field.
    other = next(n for n in metrics.names() if n not in kind.metrics)
    record["reported"]["metric"] = other
    path.write_text(yaml.safe_dump({"claims": [record]}))
    with pytest.raises(ClaimFileError, match="reported.metric"):
        load_file(path)
    if kind.uses_model:   # a named checkpoint needs its run spread
        record["reported"]["metric"] = metric
        del record["run_spread"]
        with pytest.raises(jsonschema.ValidationError, match="run_spread"):
            schemas.validator("claim").validate(record)


def test_schemas_list_every_kind_and_metric():
    claim = schemas.load("claim")
    assert claim["properties"]["measure"]["properties"]["kind"]["enum"] == kinds.names()
    assert claim["properties"]["reported"]["properties"]["metric"]["enum"] == metrics.names()
    verdict = schemas.load("verdict")
    assert verdict["properties"]["measurement"]["anyOf"][1]["properties"]["kind"]["enum"] == kinds.names()


def test_an_unknown_kind_or_metric_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="classification"):
        kinds.get("translation")
    with pytest.raises(KeyError, match="pearson"):
        metrics.by_name("bleu")
    assert metrics.label_of("bleu") == "bleu" and not kinds.uses_model("translation")


def test_the_readme_example_metric_works_as_written():
    """docs/extending.md's "adding a metric" example, run as written: sklearn's precision, a bootstrap interval."""
    import re
    from pathlib import Path

    from sklearn.metrics import precision_score

    readme = (Path(__file__).resolve().parents[1] / "docs" / "extending.md").read_text(encoding="utf-8")
    code = re.search(r"# harness/metrics/precision.py\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/extending.md", "exec"), namespace)   # noqa: S102 - our own docs
    (metric,) = namespace["METRICS"]
    t, p = [1, 0, 1, 1, 0, 1, 0, 1, 0, 1], [1, 1, 0, 1, 1, 1, 0, 1, 0, 0]
    assert metric.value(t, p, positive=1) == precision_score(t, p) == metric.statistic(*metric.samples(t, p))
    unc = S.measure_uncertainty(metric, t, p, positive=1, resamples=200)
    assert 0.0 <= unc.low <= unc.estimate <= unc.high <= 1.0


@pytest.mark.parametrize("column, kind, config", [
    ("MRPC F1", "classification", "mrpc"), ("SST-2 dev", "classification", "sst2"), ("STS-B", "regression", "stsb"),
    ("SQuAD1.1", "span_extraction", "plain_text"), ("SQuAD v2.0 dev", "span_extraction", "squad_v2"),
])
def test_a_papers_column_names_its_kind_and_dataset(column, kind, config):
    from harness.claims import tasks

    task = tasks.find(column)
    assert (task["kind"], task["dataset"]["config"]) == (kind, config)
    assert set(task) - {"kind", "dataset"} <= set(kinds.get(kind).schema["properties"])


def test_scaffolding_a_squad_cell_gives_a_valid_blocked_span_claim(tmp_path):
    """`harness new` on Table 2's SQuAD1.1 cell: a span_extraction claim of 89.3 F1 that loads."""
    import yaml

    from harness.claims.papers import load_papers
    from harness.cli_commands import scaffold
    from tests.helpers import ROOT

    record = scaffold(load_papers(ROOT / "claims"), paper="1909.11942", table="Table 2", row="ALBERT base",
                      column="SQuAD1.1", metric="f1")
    assert record["measure"]["kind"] == "span_extraction" and record["measure"]["version"] == "1.1"
    assert record["reported"] == {"value": "89.3", "metric": "f1", "scale": "percent"}
    assert "run_spread" not in record and "unavailable" in record["measure"]["checkpoint"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"claims": [record]}))
    assert load_file(path)[0].metric == "f1"
