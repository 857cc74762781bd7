"""Span extraction: a question-answering model's answers on SQuAD v1.1 / v2.0.

Loads the checkpoint with a question-answering head and the split's questions, contexts and
gold answers (harness.measure.qa_data); predicts an answer span per question with the usual
windowed decoding (harness.measure.spans: doc stride, n-best, length cap, and for v2.0 the
no-answer score against ``null_threshold``); keeps per example the question id and the
predicted text. Scored by the official script of ``version`` (harness.metrics.squad): exact
match and token F1, max over gold answers.
"""

from __future__ import annotations

from harness.errors import HarnessError
from harness.kinds import Kind, Measured
from harness.kinds import split_measurement

DEFAULTS = {"doc_stride": 128, "n_best": 20, "max_answer_length": 30, "null_threshold": 0.0}


def load_split(folder, ds: dict) -> dict:
    from harness.measure import qa_data

    split = qa_data.load_qa_split(folder, ds)
    return {**split, "idx": list(range(len(split["ids"])))}


def measure(pipeline, claim) -> Measured:
    from harness.measure import slices

    m = claim.measure
    ds, version = m["dataset"], m["version"]
    decoding = {k: m.get(k, v) for k, v in DEFAULTS.items()}
    model_asset, data_asset = split_measurement.assets(pipeline, claim)
    split = pipeline.split(data_asset, ds, load_split)
    split_measurement.fit(claim, model_asset, "question_answering")
    if version == "1.1" and split["unanswerable"]:
        raise HarnessError(f"{ds['repo']} {ds['split']}: {split['unanswerable']} questions have no answer, which "
                           "SQuAD v1.1's script cannot score; say version: '2.0'")
    key = f"{ds['repo']}/{ds['config']}/{ds['split']}"
    seed = claim.slice_plan.seed

    def predict(positions):
        part = slices.from_positions(split["idx"], positions, seed=seed, stratified=False, dataset_key=key)
        rows = list(part.positions)

        def compute(loaded):
            from harness.measure import spans

            out = spans.predict(loaded.model, loaded.tokenizer, [split["questions"][p] for p in rows],
                                [split["contexts"][p] for p in rows], device=pipeline.device,
                                max_length=m["max_length"], version_2=version == "2.0",
                                batch_size=pipeline.settings.batch_size, **decoding)
            n = len(rows)
            return ({"answers": out["answers"], "batch_size": out["batch_size"],
                     "tokens": {"real": out["tokens"], "padded": out["padded_tokens"]}},
                    {"inference_seconds": round(out["seconds"], 4),
                     "pairs_per_second": round(n / out["seconds"], 2) if out["seconds"] else 0.0})

        entry = pipeline.prediction(model_asset, head="question_answering", rows=len(rows),
                                    fields=("answers", "batch_size", "tokens"),
                                    data_key={"dataset": split["fingerprint"], "slice_id": part.slice_id,
                                              "max_length": m["max_length"], "version": version, **decoding})
        if entry.hit is None:
            loaded = entry.load()
            entry.computed(loaded, *compute(loaded))
        got = entry.result()
        by_row = dict(zip(rows, got["answers"]))
        return [by_row[p] for p in positions], {**got, "rows": len(positions)}

    context = {"version": version}
    looking = split_measurement.Looking(pipeline, claim, KIND.metric(claim.metric),
                                        {**split, "targets": split["answers"]}, context=context)
    for positions in looking.new_rows():
        looking.predicted(*predict(positions))
    looked = looking.result()
    measurement = split_measurement.facts(pipeline, claim, looked, model_asset, data_asset, split)
    measurement.update({
        "ids": [split["ids"][p] for p in looked.slice.positions],
        "gold_answers": looked.y_true,
        "predictions": looked.y_pred,
        "metrics": {name: KIND.metric(name).value(looked.y_true, looked.y_pred, **context) for name in KIND.metrics},
        "decoding": {"version": version, **decoding},
    })
    measurement["dataset"]["integrity"] = split["integrity"]   # gold answers not in their context, scored as is
    return Measured(measurement, looked.judgement, looked.slice)


SCHEMA = split_measurement.schema("span_extraction", {}, [], {
    "required": ["version"],
    "properties": {
        "version": {"enum": ["1.1", "2.0"], "description": "which official SQuAD script scores the answers"},
        "doc_stride": {"type": "integer", "minimum": 1},
        "n_best": {"type": "integer", "minimum": 1},
        "max_answer_length": {"type": "integer", "minimum": 1},
        "null_threshold": {"type": "number"},
    },
})

KIND = Kind(
    name="span_extraction", summary="a question-answering model's answer spans on SQuAD v1.1 / v2.0",
    metrics={"f1": "squad.f1", "exact_match": "squad.exact_match"}, schema=SCHEMA, measure=measure,
    example={"kind": "span_extraction", "version": "1.1",
             "dataset": {"repo": "rajpurkar/squad", "config": "plain_text", "split": "validation", "revision": "main"},
             "max_length": 384, "doc_stride": 128, "slice": {"size": 200, "seed": 0, "grow": True}})
