"""The extension API as another package uses it: installed, then seen by pytest and the CLI alike.

The example package below is not part of the harness: it is written into a folder of the test's
own, with a ``.dist-info`` naming it in the ``claims_harness.plugins`` entry-point group (what
``pip install`` leaves), and that folder is put on PYTHONPATH of the processes the test starts.
It adds a metric (``characters``) and a kind (``text_length``), adjusts each artifact and adds a
machine fact, through the hooks of harness/hookspecs.py (docs/extending.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import claims_folder
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("example-plugin")

PLUGIN = '''"""An example plugin: a metric and a measurement kind from outside the harness."""
from harness.kinds import Kind, Measured
from harness.metrics import EXACT, Metric

CHARACTERS = Metric(key="example.characters", name="characters", label="characters", range=(0.0, None),
                    summary="characters of a text", uncertainty=EXACT, scale="units")


def measure(pipeline, claim):
    from harness.judge import verdict

    value = float(len(claim.measure["text"]))
    band = verdict.bands_of(claim, pipeline.settings.level)[0]
    return Measured({"kind": "text_length", "value": value, "metrics": {"characters": value}, "device": "none",
                     "dtype": "none", "timings": {"count_seconds": 0.0}}, verdict.exact(value, band, band))


TEXT_LENGTH = Kind(name="text_length", summary="characters of a text, counted", metrics={"characters": "example.characters"},
                   schema={"additionalProperties": False, "required": ["kind", "text"],
                           "properties": {"kind": {"const": "text_length"}, "text": {"type": "string", "minLength": 1}}},
                   measure=measure, uses_model=False, deviations=lambda claim: [],
                   example={"kind": "text_length", "text": "hello world"})


def pytest_claims_register(registry):
    registry.metric(CHARACTERS)
    registry.kind(TEXT_LENGTH)


def pytest_claims_artifact(artifact, claim):
    artifact["harness"]["example_plugin"] = {"counted": claim.measure.get("text")}


def pytest_claims_machine_facts():
    return {"example_plugin": "was here"}
'''

PAPER = {"arxiv_id": "9999.00001", "version": 1, "title": "A synthetic paper for the example plugin",
         "tables": [{"id": "Table 1", "page": 2, "caption": "Greetings and their lengths.",
                     "columns": [{"name": "Characters", "values": [{"metric": "characters", "unit": "count"}]}],
                     "rows": [{"name": "Greeting", "cells": {"Characters": "11"}},
                              {"name": "Farewell", "cells": {"Characters": "7"}}]}]}
CLAIM = {"id": "9999.00001/table1/greeting/characters",
         "citation": {"source": "paper", "paper": "9999.00001", "version": 1, "table": "Table 1", "row": "Greeting",
                      "column": "Characters", "page": 2, "quote": "Greeting 11"},
         "reported": {"value": "11", "metric": "characters", "scale": "units"},
         "measure": {"kind": "text_length", "text": "hello world"},
         "tolerance": {"value": 0, "reason": "a count is exact; the printed whole number is the band"}}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """The example package in a site folder of its own, and a project whose claim uses its kind."""
    base = tmp_path_factory.mktemp("example-plugin")
    site = base / "site"
    (site / "claims_example_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "claims_example_plugin.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "claims_example_plugin-0.1.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: claims-example-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[claims_harness.plugins]\nexample = claims_example_plugin\n")
    project = base / "project"
    claims = claims_folder(project / "claims")
    (claims / "papers" / "9999.00001.yaml").write_text(yaml.safe_dump(PAPER), encoding="utf-8")
    (claims / "greetings.yaml").write_text(yaml.safe_dump({"claims": [CLAIM]}), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return {"site": site, "project": project, "claims": claims}


def _cli(installed, *args, plugin: bool = True) -> subprocess.CompletedProcess:
    paths = [str(ROOT)] + ([str(installed["site"])] if plugin else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=installed["project"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_sees_the_plugins_kind_and_refuses_it_without_the_plugin(installed):
    ok = _cli(installed, "check", "claims")
    assert ok.returncode == 0, ok.stderr + ok.stdout
    assert "ok" in ok.stdout
    bare = _cli(installed, "check", "claims", plugin=False)
    assert bare.returncode == 1 and "'characters' is not one of" in bare.stderr, bare.stderr


def test_new_scaffolds_a_claim_of_the_plugins_kind(installed):
    made = _cli(installed, "new", "--paper", "9999.00001", "--table", "Table 1", "--row", "Farewell",
                "--column", "Characters", "--claims", "claims")
    assert made.returncode == 0, made.stderr
    record = yaml.safe_load(made.stdout)["claims"][0]
    assert record["measure"]["kind"] == "text_length" and record["reported"] == {
        "value": "7", "metric": "characters", "scale": "units"}


def test_list_filters_by_the_plugins_kind(installed):
    listed = _cli(installed, "list", "claims", "--kind", "text_length", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["claim"] for row in json.loads(listed.stdout)] == [CLAIM["id"]]
    assert "text_length" in _cli(installed, "list", "--help").stdout


def test_a_pytest_run_measures_the_plugins_kind_and_calls_its_hooks(installed):
    project = installed["project"]
    run = run_pytest(project, "claims", "--claims-reports=reports", "-n", "0", isolate=True,
                     env={"PYTHONPATH": str(installed["site"]), "CLAIMS_MIRROR": None})
    assert run.ret == 0, run.tail()
    assert run.outcomes() == {"passed": 1}, run.tail()
    (path,) = (project / "reports" / "verdicts").glob("*.json")
    artifact = json.loads(path.read_text(encoding="utf-8"))
    assert artifact["verdict"]["status"] == "reproduced"
    assert artifact["measurement"]["kind"] == "text_length" and artifact["measurement"]["value"] == 11.0
    assert artifact["harness"]["example_plugin"] == {"counted": "hello world"}      # pytest_claims_artifact
    manifest = json.loads((project / "reports" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["machine_facts"] == {"example_plugin": "was here"}              # pytest_claims_machine_facts
    # The shipped file knows only the harness's kinds; `schemas --out` writes files that know the plugin's.
    shipped = json.loads((ROOT / "harness" / "schemas" / "verdict.schema.json").read_text(encoding="utf-8"))
    assert not jsonschema.Draft202012Validator(shipped).is_valid(artifact)
    out = _cli(installed, "schemas", "--out", project / "schemas")
    assert out.returncode == 0, out.stderr
    jsonschema.validate(artifact, json.loads((project / "schemas" / "verdict.schema.json").read_text()))


def test_a_plugin_that_cannot_be_loaded_is_named(installed, tmp_path):
    site = tmp_path / "site"
    info = site / "broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[claims_harness.plugins]\nbroken = no_such_module_here\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    done = subprocess.run([sys.executable, "-m", "harness", "check", "claims"], cwd=installed["project"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "plugin 'broken'" in done.stderr and "no_such_module_here" in done.stderr


def test_a_hook_that_changes_whose_verdict_it_is_gets_the_claim_an_error(installed, tmp_path):
    """``claim_id`` names the verdict file: a hook that changed it would write over another claim's
    verdict and leave its own claim with none. The claim gets its error verdict, under its own name."""
    project = tmp_path / "project"
    shutil.copytree(installed["project"], project, ignore=shutil.ignore_patterns("reports", ".pytest_cache"))
    other = "9999.00001/table1/farewell/characters"
    (project / "conftest.py").write_text(
        f"def pytest_claims_artifact(artifact, claim):\n    artifact['claim_id'] = {other!r}\n", encoding="utf-8")
    run = run_pytest(project, "claims", "--claims-reports=reports", "-n", "0", isolate=True,
                     env={"PYTHONPATH": str(installed["site"]), "CLAIMS_MIRROR": None})
    assert run.ret == 1 and run.outcomes() == {"failed": 1}, run.tail()
    (path,) = (project / "reports" / "verdicts").glob("*.json")
    artifact = json.loads(path.read_text(encoding="utf-8"))
    assert artifact["claim_id"] == CLAIM["id"] and artifact["verdict"]["status"] == "error"
    assert f"changed claim_id to {other!r}" in artifact["verdict"]["reason"]
