"""Sequence classification: a fine-tuned classifier's labels on a labelled split (GLUE MRPC).

Loads the checkpoint with a sequence-classification head and the split's text fields and class
label; predicts the argmax label of each (pair of) text(s), mapped to the dataset's label names
(harness.measure.labels: the model's id2label, or an identity the artifact states); keeps per
example the row idx, the true label and the predicted one. Slices are stratified by label.
"""

from __future__ import annotations

import time

from harness.errors import HarnessError
from harness.kinds import Kind, Measured
from harness.kinds import split_measurement


def sequence_logits(pipeline, asset, columns: list[list[str]], max_length: int, data_key: dict) -> dict:
    """Logits of a sequence-classification head for the rows: from the cache, else inference."""

    def compute(loaded):
        from harness.measure import inference

        t1 = time.perf_counter()
        enc = inference.encode(loaded.tokenizer, columns, max_length)
        tokenize_seconds = time.perf_counter() - t1
        out = inference.run(loaded.model, enc, device=pipeline.device, pad_id=loaded.tokenizer.pad_token_id or 0,
                            batch_size=pipeline.settings.batch_size, progress=pipeline.settings.progress)
        n = len(out.logits)
        result = {"logits": out.logits.tolist(), "id2label": {str(k): v for k, v in loaded.info["id2label"].items()},
                  "batch_size": out.batch_size, "tokens": {"real": out.tokens, "padded": out.padded_tokens}}
        return result, {"tokenize_seconds": round(tokenize_seconds, 4), "inference_seconds": round(out.seconds, 4),
                        "pairs_per_second": round(n / out.seconds, 2) if out.seconds else 0.0,
                        "tokens_per_second": round(out.tokens / out.seconds, 1) if out.seconds else 0.0}

    entry = pipeline.prediction(asset, head="sequence_classification", data_key={**data_key, "max_length": max_length},
                                rows=len(columns[0]), fields=("logits", "id2label", "batch_size", "tokens"))
    if entry.hit is None:
        loaded = entry.load()
        entry.computed(loaded, *compute(loaded))
    got = entry.result()
    got["id2label"] = {int(k): v for k, v in got["id2label"].items()}
    return got


def columns_of(split: dict, ds: dict, positions: list[int]) -> list[list[str]]:
    return [[split["texts"][f][p] for p in positions] for f in ds["text_fields"]]


def measure(pipeline, claim) -> Measured:
    import numpy as np

    from harness.measure import datafiles, labels, slices

    m = claim.measure
    ds = m["dataset"]
    model_asset, data_asset = split_measurement.assets(pipeline, claim)
    split = pipeline.split(data_asset, ds, datafiles.load_split)
    names = split["label_names"]
    if ds["positive_label"] not in names:
        raise HarnessError(f"positive_label {ds['positive_label']!r} is not a label of {ds['repo']} "
                           f"({', '.join(names)})")
    split_measurement.fit(claim, model_asset, "sequence_classification", labels=names)
    positive = names.index(ds["positive_label"])
    key = f"{ds['repo']}/{ds['config']}/{ds['split']}"
    seed, stratified = claim.slice_plan.seed, claim.slice_plan.stratified

    def predict(positions):
        part = slices.from_positions(split["idx"], positions, seed=seed, stratified=stratified, dataset_key=key)
        got = sequence_logits(pipeline, model_asset, columns_of(split, ds, list(part.positions)), m["max_length"],
                              {"dataset": split["fingerprint"], "slice_id": part.slice_id})
        to_dataset, assumption = labels.mapping(got["id2label"], names)
        by_row = dict(zip(part.positions, (to_dataset[int(k)] for k in np.asarray(got["logits"]).argmax(axis=1))))
        return [by_row[p] for p in positions], {**got, "rows": len(positions), "mapping": to_dataset,
                                                "assumption": assumption}

    metric = KIND.metric(claim.metric)
    context = {"positive": positive}
    looking = split_measurement.Looking(pipeline, claim, metric, {**split, "targets": split["labels"]},
                                        context=context, stratify=True)
    for positions in looking.new_rows():
        looking.predicted(*predict(positions))
    looked = looking.result()
    first = looked.parts[0]
    measurement = split_measurement.facts(pipeline, claim, looked, model_asset, data_asset, split)
    measurement["dataset"]["label_names"] = names
    measurement.update({
        "labels": looked.y_true,
        "predictions": looked.y_pred,
        "metrics": {name: KIND.metric(name).value(looked.y_true, looked.y_pred, **context) for name in KIND.metrics},
        "positive_label": {"name": ds["positive_label"], "id": positive},
        "label_mapping": {"model_to_dataset": {str(k): v for k, v in first["mapping"].items()},
                          "assumption": first["assumption"]},
    })
    return Measured(measurement, looked.judgement, looked.slice)


SCHEMA = split_measurement.schema("classification", {
    "text_fields": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
    "label_field": {"type": "string"},
    "positive_label": {"type": "string"},
}, ["text_fields", "label_field", "positive_label"])

KIND = Kind(
    name="classification", summary="a fine-tuned classifier's labels on a labelled split (GLUE-style)",
    metrics={"f1": "binary.f1", "accuracy": "binary.accuracy", "matthews_corrcoef": "binary.matthews_corrcoef"},
    schema=SCHEMA, measure=measure, stratifies=True,
    example={"kind": "classification",
             "dataset": {"repo": "nyu-mll/glue", "config": "mrpc", "split": "validation", "revision": "main",
                         "text_fields": ["sentence1", "sentence2"], "label_field": "label",
                         "positive_label": "equivalent"},
             "max_length": 128, "slice": {"size": 100, "seed": 0, "stratified": True, "grow": True}})
