"""Option values shared by the pytest plugin and the command line, checked when parsed."""

from __future__ import annotations

import argparse


def fdr(text: str) -> float:
    """A false discovery rate: strictly between 0 and 1 (a usage error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} must lie strictly between 0 and 1")
    return value
