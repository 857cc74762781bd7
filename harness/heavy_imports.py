"""Importing the model stack once per process, without paying the garbage collector for it.

torch, transformers and scipy build about 430,000 objects that live as long as the process.
Imported with the cyclic collector running, the collector walks them again and again while
they load (0.5 s of a 2.3 s import on this project's 2-core CPU); every full collection after
that walks them once more (0.19 s each, and pytest runs two as it exits). So the big imports
run with collection paused, and the objects they built are then frozen (``gc.freeze``: kept
out of every later collection). Only an import that loaded new modules freezes, so what a claim
makes later (models, tensors, verdicts) is collected as usual. Freezing is process-wide: the
harness runs as a process of its own (pytest, the command line, an xdist worker), where what is
alive at the first claim lives to the end anyway.
"""

from __future__ import annotations

import contextlib
import gc
import sys


@contextlib.contextmanager
def paused_collection():
    """Run the block's imports with the cyclic collector off; freeze what they loaded.

    Nested blocks leave the switching to the outermost one; an error inside still turns the
    collector back on."""
    loaded = len(sys.modules)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            if len(sys.modules) > loaded:
                gc.freeze()
