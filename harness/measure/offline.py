"""Hugging Face network switches, set for claim runs only and put back afterwards.

Must be set before huggingface_hub/transformers are imported in a claim run. The plugin sets
them when a run collects a claim, lifts them around tests that are not claims, and restores
the original environment at the end, so other tests and other projects see their own.
"""

from __future__ import annotations

import os

OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
DEFAULTS = {"HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def wanted(allow_download: bool) -> dict[str, str]:
    """The variables a claim run sets: offline flags without downloads, quiet defaults always."""
    out = {} if allow_download else {name: "1" for name in OFFLINE_FLAGS}
    for name, value in DEFAULTS.items():
        out[name] = os.environ.get(name, value)
    return out


class Switch:
    """Sets the variables and remembers what they were, so they can be put back."""

    def __init__(self, allow_download: bool):
        self.values = wanted(allow_download)
        self.saved: dict[str, str | None] | None = None

    @property
    def on(self) -> bool:
        return self.saved is not None

    def apply(self) -> None:
        if self.saved is None:
            self.saved = {name: os.environ.get(name) for name in self.values}
        os.environ.update(self.values)

    def restore(self) -> None:
        for name, value in (self.saved or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def apply(allow_download: bool) -> Switch:
    """Set the variables for the rest of the process (scripts and the prefetch command)."""
    switch = Switch(allow_download)
    switch.apply()
    return switch
