"""The model stack is imported with the cyclic collector paused, and what it loaded is frozen."""

from __future__ import annotations

import gc
import importlib
import sys

import pytest

from harness.heavy_imports import paused_collection


@pytest.fixture
def unfrozen():
    """Each test starts and ends with nothing frozen and the collector on."""
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_an_import_runs_with_collection_paused_and_what_it_loaded_is_frozen(unfrozen, tmp_path, monkeypatch):
    (tmp_path / "paused_probe_module.py").write_text("MADE = [[] for _ in range(1000)]\n")   # 1,000 tracked objects
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "paused_probe_module", raising=False)
    with paused_collection():
        assert not gc.isenabled()
        importlib.import_module("paused_probe_module")
    assert gc.isenabled()
    assert gc.get_freeze_count() > 1000          # the module's lists, and everything else alive then
    assert all(gc.is_tracked(x) for x in sys.modules["paused_probe_module"].MADE[:3])


def test_a_block_that_imports_nothing_freezes_nothing(unfrozen):
    with paused_collection():
        made = [[] for _ in range(100)]
    assert gc.isenabled() and gc.get_freeze_count() == 0 and len(made) == 100


def test_nested_blocks_and_errors_leave_the_collector_as_they_found_it(unfrozen):
    with pytest.raises(RuntimeError):
        with paused_collection():
            with paused_collection():
                pass
            assert not gc.isenabled()                # the inner block leaves switching to the outer one
            raise RuntimeError("inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_collection():
            pass
        assert not gc.isenabled()                    # off before, off after: a caller's choice is kept
    finally:
        gc.enable()
