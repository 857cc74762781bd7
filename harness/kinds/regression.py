"""Regression: a fine-tuned scorer's numbers on a split with float labels (GLUE STS-B).

Loads the checkpoint with a one-output sequence-classification head (``num_labels=1``) and the
split's text fields and float label; predicts one score per (pair of) text(s); keeps per
example the row idx, the gold score and the predicted one. Correlations (Pearson, Spearman)
ignore scale and offset, so predicted scores are used as the head gives them. Slices are
simple random ones: there is no class to stratify by.
"""

from __future__ import annotations

from harness.kinds import Kind, Measured
from harness.kinds import split_measurement
from harness.kinds.classification import columns_of, sequence_logits


def load_split(folder, ds: dict) -> dict:
    from harness.measure import datafiles

    bounds = ds.get("score_range")
    return datafiles.load_scores_split(folder, ds, score_range=tuple(bounds) if bounds else None)


def measure(pipeline, claim) -> Measured:
    from harness.measure import inference, slices

    m = claim.measure
    ds = m["dataset"]
    model_asset, data_asset = split_measurement.assets(pipeline, claim)
    split = pipeline.split(data_asset, ds, load_split)
    split_measurement.fit(claim, model_asset, "sequence_classification", labels=1)   # one output: the score
    key = f"{ds['repo']}/{ds['config']}/{ds['split']}"
    seed = claim.slice_plan.seed

    def predict(positions):
        part = slices.from_positions(split["idx"], positions, seed=seed, stratified=False, dataset_key=key)
        got = sequence_logits(pipeline, model_asset, columns_of(split, ds, list(part.positions)), m["max_length"],
                              {"dataset": split["fingerprint"], "slice_id": part.slice_id})
        by_row = dict(zip(part.positions, inference.scores_from_logits(got["logits"]).tolist()))
        return [by_row[p] for p in positions], {**got, "rows": len(positions)}

    looking = split_measurement.Looking(pipeline, claim, KIND.metric(claim.metric), {**split, "targets": split["labels"]})
    for positions in looking.new_rows():
        looking.predicted(*predict(positions))
    looked = looking.result()
    measurement = split_measurement.facts(pipeline, claim, looked, model_asset, data_asset, split)
    measurement.update({
        "labels": looked.y_true,
        "predictions": looked.y_pred,
        "metrics": {name: KIND.metric(name).value(looked.y_true, looked.y_pred) for name in KIND.metrics},
    })
    return Measured(measurement, looked.judgement, looked.slice)


SCHEMA = split_measurement.schema("regression", {
    "text_fields": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
    "label_field": {"type": "string"},
    "score_range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                    "description": "the labels' closed range (STS-B: [0, 5]); a label outside it is an error"},
}, ["text_fields", "label_field"])

KIND = Kind(
    name="regression", summary="a fine-tuned scorer's numbers on a split with float labels (STS-B)",
    metrics={"pearson": "correlation.pearson", "spearman": "correlation.spearman"},
    schema=SCHEMA, measure=measure,
    example={"kind": "regression",
             "dataset": {"repo": "nyu-mll/glue", "config": "stsb", "split": "validation", "revision": "main",
                         "text_fields": ["sentence1", "sentence2"], "label_field": "label", "score_range": [0, 5]},
             "max_length": 128, "slice": {"size": 200, "seed": 0, "grow": True}})
