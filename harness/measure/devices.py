"""The best device here: cuda, then mps, then cpu, unless the user names one."""

from __future__ import annotations

from harness.errors import HarnessError

DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}


def pick(requested: str | None = None) -> str:
    from harness.heavy_imports import paused_collection

    with paused_collection():
        import torch

    if requested:
        kind = requested.split(":")[0]
        ok = {"cpu": True, "cuda": torch.cuda.is_available(),
              "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
        if not ok.get(kind, False):
            raise HarnessError(f"--claims-device {requested}: that device is not available here")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def describe(device: str) -> str:
    """A human name for the device, recorded in artifacts."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return device
