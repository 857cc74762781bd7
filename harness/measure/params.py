"""Parameter counts of an architecture from its configuration, on the meta device (no memory)."""

from __future__ import annotations


def count(family: str, config: dict, *, include_pooler: bool) -> dict:
    import torch
    from transformers import AlbertConfig, AlbertModel, BertConfig, BertModel

    classes = {"albert": (AlbertConfig, AlbertModel), "bert": (BertConfig, BertModel)}
    config_cls, model_cls = classes[family]
    cfg = config_cls(**config)
    with torch.device("meta"):
        model = model_cls(cfg, add_pooling_layer=include_pooler)
    total = sum(p.numel() for p in model.parameters())
    by_part = {}
    for name, p in model.named_parameters():
        top = name.split(".")[0]
        by_part[top] = by_part.get(top, 0) + p.numel()
    return {"total": int(total), "by_module": by_part, "model_class": model_cls.__name__,
            "config": cfg.to_diff_dict()}
