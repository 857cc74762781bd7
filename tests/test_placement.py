"""xdist placement: one worker per visible GPU, each pinned before torch loads; loadgroup default."""

from __future__ import annotations

import json

import pytest

PROBE = '''
import json, os, sys

def test_probe_{i}():
    with open(os.environ["PLACEMENT_LOG"], "a") as fh:
        fh.write(json.dumps([os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("CUDA_VISIBLE_DEVICES"),
                             "torch" in sys.modules]) + "\\n")
'''


@pytest.fixture
def probe_project(pytester, tmp_path, monkeypatch):
    for i in range(6):
        pytester.makepyfile(**{f"test_probe_{i}": PROBE.format(i=i)})
    log = tmp_path / "placement.log"
    monkeypatch.setenv("PLACEMENT_LOG", str(log))
    return log


def test_auto_gives_one_worker_per_visible_gpu_each_pinned(pytester, probe_project, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7,9,4")
    result = pytester.runpytest_subprocess("-n", "auto", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    assert "3 workers" in result.stdout.str()
    seen = [json.loads(line) for line in probe_project.read_text().splitlines()]
    by_worker = {w: gpu for w, gpu, _ in seen}
    assert by_worker == {"gw0": "7", "gw1": "9", "gw2": "4"}
    assert not any(torch_loaded for *_, torch_loaded in seen)


def test_cpu_workers_and_loadgroup_default(pytester, probe_project, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)
    assert "loadgroup" in result.stdout.str().lower() or "LoadGroupScheduling" in result.stdout.str()
    seen = [json.loads(line) for line in probe_project.read_text().splitlines()]
    assert {gpu for _, gpu, _ in seen} == {""}
