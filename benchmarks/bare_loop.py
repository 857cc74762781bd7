"""The bare model time a claim is compared with: a plain loop, in a fresh process, nothing else.

    python benchmarks/bare_loop.py CHECKPOINT_FOLDER VALIDATION_PARQUET [BATCH]

The plain script a user would write to check the MRPC claim: reads the pairs, loads tokenizer
and model with plain ``from_pretrained`` calls, tokenises, sorts by length and runs batches of
BATCH (default 16) under ``torch.inference_mode``, padding each batch with the tokenizer, then
scores the predictions with scikit-learn (accuracy and F1). Prints one JSON line: the seconds of
each step (imports, the model code's first import, from_pretrained, encoding, the loop, the
scoring with its import) and the logits' argmax by the split's idx, so the caller can check that
the harness predicted the same thing.
"""

from __future__ import annotations

import json
import sys
import time


def main(folder: str, parquet: str, batch: int = 16) -> dict:
    t0 = time.perf_counter()
    import numpy as np
    import pyarrow.parquet as pq
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    t1 = time.perf_counter()
    getattr(transformers, "AlbertForSequenceClassification")   # the modelling code, imported on first use
    t2 = time.perf_counter()
    rows = pq.read_table(parquet, columns=["sentence1", "sentence2", "label", "idx"]).to_pydict()
    t3 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    t4 = time.perf_counter()
    enc = tokenizer(rows["sentence1"], rows["sentence2"], truncation=True, max_length=128,
                    return_token_type_ids=True)
    order = np.argsort([-len(x) for x in enc["input_ids"]], kind="stable")
    t5 = time.perf_counter()
    out = np.zeros((len(order), model.config.num_labels), dtype=np.float32)
    keys = ("input_ids", "token_type_ids", "attention_mask")
    cpu0 = time.process_time()
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            picked = order[start:start + batch]
            padded = tokenizer.pad({k: [enc[k][i] for i in picked] for k in keys}, return_tensors="pt")
            out[picked] = model(**padded).logits.float().numpy()
    t6 = time.perf_counter()
    loop_cpu = time.process_time() - cpu0
    from sklearn.metrics import accuracy_score, f1_score

    # The checkpoint's label ids are the dataset's here (the stand-ins are built that way).
    predicted = out.argmax(axis=1)
    accuracy, f1 = accuracy_score(rows["label"], predicted), f1_score(rows["label"], predicted)
    t7 = time.perf_counter()
    return {"imports_seconds": round(t1 - t0, 3), "model_code_import_seconds": round(t2 - t1, 3),
            "read_seconds": round(t3 - t2, 3), "from_pretrained_seconds": round(t4 - t3, 3),
            "tokenize_seconds": round(t5 - t4, 3), "loop_seconds": round(t6 - t5, 3),
            "loop_cpu_seconds": round(loop_cpu, 3), "metric_seconds": round(t7 - t6, 3),
            "accuracy": float(accuracy), "f1": float(f1), "pairs": len(order), "batch": batch,
            "torch_threads": torch.get_num_threads(), "idx": rows["idx"], "predictions": out.argmax(axis=1).tolist()}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))))
