"""The fused activation kernel (harness.measure.models.FUSED_ACTIVATIONS): a checkpoint loaded by
the harness predicts what transformers' own eager fp32 model predicts, its logits within the
stated tolerance, and the prediction cache's key changes with the table."""

from __future__ import annotations

import numpy as np
import pytest

#: Largest logit difference allowed between the fused and the eager fp32 model: float rounding of
#: the same formula evaluated in one kernel instead of five (measured: about 1e-7 on these logits).
LOGIT_TOLERANCE = 1e-5
#: The same, per activation value, relative to max(1, |x|).
ACTIVATION_TOLERANCE = 1e-6


def test_the_fused_kernel_computes_gelu_new():
    import torch
    from transformers import activations

    x = torch.linspace(-12.0, 12.0, 200_001, dtype=torch.float32)
    eager, fused = activations.NewGELUActivation()(x), activations.GELUTanh()(x)
    assert float(((fused - eager).abs() / x.abs().clamp(min=1.0)).max()) <= ACTIVATION_TOLERANCE


def test_a_loaded_checkpoint_predicts_what_the_eager_model_predicts(tiny_mirror):
    import pyarrow.parquet as pq
    from transformers import AutoModelForSequenceClassification, activations

    from harness.measure import inference, models
    from harness.measure.assets import Asset

    folder = tiny_mirror / "models" / "tiny" / "albert-mrpc"
    loaded = models.load(Asset("tiny/albert-mrpc", "main", str(folder), "mirror", None), "cpu", "float32")
    eager = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    assert eager.config.hidden_act == "gelu_new"
    assert any(type(m) is activations.NewGELUActivation for m in eager.modules())
    assert loaded.info["fused_activations"] >= 1
    assert not any(type(m) is activations.NewGELUActivation for m in loaded.model.modules())

    (parquet,) = sorted((tiny_mirror / "datasets" / "nyu-mll" / "glue" / "mrpc").glob("validation-*.parquet"))
    table = pq.read_table(parquet).to_pydict()
    enc = inference.encode(loaded.tokenizer, [table["sentence1"], table["sentence2"]], 128)
    pad = loaded.tokenizer.pad_token_id or 0
    fused = inference.run(loaded.model, enc, device="cpu", pad_id=pad, batch_size=16).logits
    plain = inference.run(eager, enc, device="cpu", pad_id=pad, batch_size=16).logits
    assert fused.shape == plain.shape == (408, 2)
    assert float(np.abs(fused - plain).max()) <= LOGIT_TOLERANCE
    assert (fused.argmax(1) == plain.argmax(1)).all()
    assert len(set(plain.argmax(1).tolist())) == 2          # both classes: a comparison that can fail


def test_the_prediction_cache_key_names_the_fused_kernels(monkeypatch):
    from harness.measure import cache, models

    parts = {"checkpoint": "a/b", "dtype": "float32"}
    fused = cache.key_of(parts)
    monkeypatch.setattr(models, "FUSED_ACTIVATIONS", {})
    assert cache.key_of(parts) != fused
