"""Parameter counts of any transformers architecture, from its config, on the meta device (no memory).

The architecture is named by its config's ``model_type`` (``bert``, ``albert``, ``distilbert``,
``roberta``, ...): ``AutoConfig.for_model`` builds the config and ``AutoModel.from_config`` the
base model (no task head), with no weights and no download. The pooler, where the family has
one, is counted or left out by ``include_pooler`` (BertModel's ``add_pooling_layer``).
"""

from __future__ import annotations

import copy
import json

from harness.errors import HarnessError

#: (family, config, pooler) -> count: a catalogue of thousands names a few dozen architectures, and
#: building one (even on the meta device) costs milliseconds to a second.
_COUNTED: dict[tuple, dict] = {}

POOLER_MODULES = ("pooler", "pooler_activation")


class ArchitectureError(HarnessError):
    """A model_type transformers does not know, or a config field its config does not have."""


def config_fields(model_type: str) -> set[str]:
    """The fields a config of this model_type takes (its own and the standard names it maps)."""
    cls = config_class(model_type)
    return set(cls().to_dict()) | set(getattr(cls, "attribute_map", {}) or {})


def config_class(model_type: str):
    from transformers import CONFIG_MAPPING

    try:
        return CONFIG_MAPPING[model_type]
    except KeyError:
        raise ArchitectureError(f"{model_type!r} is not a transformers model_type (config.model_type, e.g. bert, "
                                "albert, distilbert, roberta)") from None


def count(family: str, config: dict, *, include_pooler: bool) -> dict:
    """``family``: the config's model_type; ``config``: fields that differ from its defaults.

    Each architecture is built once per process (a refused one each time it is asked)."""
    key = (family, json.dumps(config, sort_keys=True, default=str), bool(include_pooler))
    if key not in _COUNTED:
        _COUNTED[key] = _count(family, config, include_pooler=include_pooler)
    return copy.deepcopy(_COUNTED[key])


def _count(family: str, config: dict, *, include_pooler: bool) -> dict:
    from harness.heavy_imports import paused_collection

    with paused_collection():
        import torch
        from transformers import AutoConfig, AutoModel

    unknown = sorted(set(config) - config_fields(family))
    if unknown:
        raise ArchitectureError(f"{family} configs have no field {', '.join(map(repr, unknown))} "
                                f"({config_class(family).__name__})")
    cfg = AutoConfig.for_model(family, **config)
    with torch.device("meta"):
        model = AutoModel.from_config(cfg, trust_remote_code=False)
    by_part: dict[str, int] = {}
    pooler = 0
    for name, p in model.named_parameters():
        top = name.split(".")[0]
        if top in POOLER_MODULES:
            pooler += p.numel()
            if not include_pooler:
                continue
        by_part[top] = by_part.get(top, 0) + p.numel()
    return {"total": int(sum(by_part.values())), "by_module": by_part, "model_class": type(model).__name__,
            "model_type": cfg.model_type, "has_pooler": pooler > 0, "config": cfg.to_diff_dict()}
