"""Hugging Face network switches. Must run before huggingface_hub/transformers are imported."""

from __future__ import annotations

import os

OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def apply(allow_download: bool) -> None:
    """Without downloads, set every HF offline flag so nothing tries (and waits on) the network."""
    if not allow_download:
        for name in OFFLINE_FLAGS:
            os.environ[name] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
