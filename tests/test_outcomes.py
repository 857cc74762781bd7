"""A green run means verified: pytest's outcome of each claim is its verdict on disk.

One claims run (``outcomes_run``, real pytest in this process) of parameter-count claims, which
need no checkpoint: reproduced, a declared outcome that held, a declared outcome that changed,
a claim whose checkpoint is absent (blocked), and two artifacts that a project conftest makes
unserialisable (a NaN), one before the test body judges it and one after. Read back: the
headline, the exit code, JUnit and the files in reports/verdicts must say the same thing.
The same run has a history file of a newer schema (refused by name, left as it was) and a
reports folder holding an earlier run's outputs (set aside in previous/, not shown as its own).
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.helpers import claims_folder, tiny_claim, verdict_artifact, write_claims
from tests.runs import run_pytest, start_pytest

pytestmark = pytest.mark.xdist_group("outcomes-run")
ROOT = Path(__file__).resolve().parents[1]
TABLE1 = ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml"

# A project conftest: an artifact edited by another plugin after the measurement (a NaN slipped
# in), before the test body judges it (early) and after (late, while pytest builds the report).
EDITING_CONFTEST = '''
import pytest

from harness.plugin import ARTIFACT_KEY


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    artifact = item.stash.get(ARTIFACT_KEY, None)
    if artifact is not None and "table1/bert-large" in item.nodeid:
        artifact["statistics"]["edited"] = float("nan")
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    yield
    artifact = item.stash.get(ARTIFACT_KEY, None)
    if call.when == "call" and artifact is not None and "albert-xlarge" in item.nodeid:
        artifact["statistics"]["edited"] = float("inf")
'''
# claim id (table 1 row) -> (status on disk, pytest outcome)
EXPECTED = {
    "1909.11942/table1/albert-base/parameters": ("reproduced", "passed"),
    "1909.11942/table1/bert-base/parameters": ("not_reproduced", "xfailed"),      # expect: not_reproduced
    "1909.11942/table1/albert-large/parameters": ("reproduced", "failed"),        # expect changed
    "1909.11942/table1/bert-large/parameters": ("error", "failed"),               # NaN before the body
    "1909.11942/table1/albert-xlarge/parameters": ("error", "failed"),            # NaN after it
    "outcomes/blocked": ("blocked", "skipped"),
}


@pytest.fixture(scope="module")
def outcomes_run(tmp_path_factory) -> dict:
    project = tmp_path_factory.mktemp("outcomes") / "project"
    claims = claims_folder(project / "claims")
    table1 = yaml.safe_load(TABLE1.read_text())
    records = {r["id"]: r for r in table1["claims"]}
    records["1909.11942/table1/albert-large/parameters"]["expect"] = "not_reproduced"   # it is reproduced
    table1["claims"] = [records[cid] for cid in EXPECTED if cid in records]
    (claims / "table1.yaml").write_text(yaml.safe_dump(table1, sort_keys=False))
    write_claims(claims, "blocked.yaml", [tiny_claim("outcomes/blocked", repo="absent/model")])
    (project / "conftest.py").write_text(EDITING_CONFTEST)
    (project / "pytest.ini").write_text("[pytest]\n")

    reports = project / "reports"            # an earlier run's outputs, of a claim not in this run
    (reports / "verdicts").mkdir(parents=True)
    earlier = verdict_artifact("earlier/claim", "reproduced")
    (reports / "verdicts" / "earlier__claim.json").write_text(json.dumps(earlier))
    (reports / "summary.json").write_text(json.dumps({"claims": [{"claim": "earlier/claim"}]}))

    history = project / "history.sqlite"     # written by a newer harness
    con = sqlite3.connect(history)
    con.execute("CREATE TABLE future (x TEXT)")
    con.execute("INSERT INTO future VALUES ('kept')")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    history_bytes = history.read_bytes()

    result = run_pytest(project, "claims", f"--claims-reports={reports}", f"--junitxml={project / 'junit.xml'}",
                        f"--claims-history={history}", "-rA", "-n", "0",
                        env={"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None})
    return {"result": result, "reports": reports, "junit": project / "junit.xml", "history": history,
            "history_bytes": history_bytes}


def _on_disk(reports: Path) -> dict[str, str]:
    out = {}
    for path in (reports / "verdicts").glob("*.json"):
        art = json.loads(path.read_text())
        out[art["claim_id"]] = art["verdict"]["status"]
    return out


def test_each_outcome_is_the_verdict_on_disk(outcomes_run):
    result, reports = outcomes_run["result"], outcomes_run["reports"]
    assert _on_disk(reports) == {cid: status for cid, (status, _) in EXPECTED.items()}, result.tail()
    counts: dict[str, int] = {}
    for _, outcome in EXPECTED.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    assert result.outcomes() == counts, result.tail()                   # 1 failed... 1 passed, 1 xfailed
    assert result.ret == 1, result.tail()


def test_a_declared_outcome_is_an_xfail_and_a_changed_one_a_strict_xpass(outcomes_run):
    out = outcomes_run["result"].stdout
    assert "XFAIL claims/test_claims.py::test_claim[1909.11942/table1/bert-base/parameters] - not_reproduced " \
           "(expected): measured 109.48M" in out, out[-3000:]
    assert "[XPASS(strict)] expected not_reproduced, got reproduced: measured 17.68M" in out, out[-3000:]


def test_an_artifact_that_cannot_be_written_fails_as_an_error(outcomes_run):
    out = outcomes_run["result"].stdout
    for cid in ("1909.11942/table1/bert-large/parameters", "1909.11942/table1/albert-xlarge/parameters"):
        art = json.loads((outcomes_run["reports"] / "verdicts" / (cid.replace("/", "__") + ".json")).read_text())
        assert art["verdict"]["status"] == "error" and "not serialisable" in art["verdict"]["reason"], art["verdict"]
        assert f"FAILED claims/test_claims.py::test_claim[{cid}]" in out, out[-3000:]
    assert "an error is never an expected outcome" in out        # bert-large declared not_reproduced


def test_junit_agrees_with_the_verdicts(outcomes_run):
    suite = ET.parse(outcomes_run["junit"]).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == \
        ("6", "3", "2", "0"), ET.tostring(suite)[:2000]
    kinds = {}
    for case in suite.iter("testcase"):
        cid = case.get("name").split("[", 1)[1].rsplit("]", 1)[0]
        child = next(iter(case), None)
        kinds[cid] = "passed" if child is None or child.tag == "properties" and len(case) == 1 else \
            [c for c in case if c.tag != "properties"][0].tag
    assert kinds == {cid: {"passed": "passed", "xfailed": "skipped", "failed": "failure", "skipped": "skipped"}[o]
                     for cid, (_, o) in EXPECTED.items()}, kinds


def test_the_previous_runs_outputs_are_set_aside(outcomes_run):
    reports = outcomes_run["reports"]
    assert "earlier/claim" not in _on_disk(reports)
    assert (reports / "previous" / "verdicts" / "earlier__claim.json").is_file()
    assert json.loads((reports / "previous" / "summary.json").read_text())["claims"] == [{"claim": "earlier/claim"}]
    run = json.loads((reports / "run.json").read_text())
    assert run["state"] == "finished" and sorted(run["claims"]) == sorted(EXPECTED), run
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["interrupted"] is None and summary["run_id"] == run["run_id"]


def test_a_history_file_of_a_newer_schema_is_named_and_left_as_it_was(outcomes_run):
    result, history = outcomes_run["result"], outcomes_run["history"]
    assert f"history {history}: schema version 99 is newer than this harness writes" in result.out, result.tail()
    assert history.read_bytes() == outcomes_run["history_bytes"]
    page = (outcomes_run["reports"] / "index.html").read_text()
    assert "schema version 99 is newer" in page          # the report lists it among its problems


# ---------------------------------------------------------------------- a run cut short
def _wait_for(predicate, proc, seconds: float = 180.0) -> None:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the run never wrote its first verdict")


def _slow_project(base: Path) -> Path:
    """A quick claim, then one that never ends (a config of 10**9 layers counted in Python)."""
    project = base / "project"
    claims = claims_folder(project / "claims")
    table1 = yaml.safe_load(TABLE1.read_text())
    quick = next(r for r in table1["claims"] if r["id"] == "1909.11942/table1/albert-base/parameters")
    slow = json.loads(json.dumps(next(r for r in table1["claims"] if r["id"].endswith("bert-base/parameters"))))
    slow["id"] = "cut/never-ends"
    slow.pop("expect", None)
    slow["measure"]["architecture"]["config"]["num_hidden_layers"] = 10**9
    table1["claims"] = [quick, slow]
    (claims / "table1.yaml").write_text(yaml.safe_dump(table1, sort_keys=False))
    (project / "pytest.ini").write_text("[pytest]\n")
    return project


def test_a_run_stopped_by_sigterm_or_sigkill_says_so(tmp_path, capsys):
    """SIGTERM ends the run as Ctrl-C does: summary, run record and report say it was interrupted,
    the in-run gate fails on it. A SIGKILLed run leaves its record at "running" with nothing
    holding the folder: the gate and the report call it a run that never finished, and the
    interrupted run before it is in previous/, not shown as this one."""
    import signal

    from harness import cli
    from harness.report.render import render

    project = _slow_project(tmp_path)
    reports = project / "reports"
    first = reports / "verdicts" / "1909.11942__table1__albert-base__parameters.json"
    args = ("claims", f"--claims-reports={reports}", "-n", "0", "--claims-gate")
    env = {"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}

    proc = start_pytest(project, *args, env=env)
    _wait_for(first.is_file, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == pytest.ExitCode.INTERRUPTED
    out = (tmp_path / "project.run" / "out.txt").read_text()
    assert "the run was interrupted (SIGTERM: the run was asked to stop): 1 of 2 claims have a verdict" in out, out
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["interrupted"].startswith("SIGTERM") and summary["without_verdict"] == ["cut/never-ends"]
    assert json.loads((reports / "run.json").read_text())["state"] == "interrupted"
    gate = json.loads((reports / "gate.json").read_text())
    assert not gate["passed"] and "the run was interrupted" in gate["failures"][0]["why"], gate
    assert "This run did not finish" in (reports / "index.html").read_text()
    assert cli.main(["gate", str(reports), "--claims", str(project / "claims")]) == 1
    assert "was interrupted" in capsys.readouterr().out

    earlier = json.loads((reports / "run.json").read_text())["run_id"]

    def this_run_measured() -> bool:   # the record is this run's (the earlier one is set aside first)
        try:
            return json.loads((reports / "run.json").read_text())["run_id"] != earlier and first.is_file()
        except (OSError, ValueError):
            return False

    proc = start_pytest(project, *args, env=env)
    _wait_for(this_run_measured, proc)
    proc.kill()
    proc.wait(timeout=60)
    assert json.loads((reports / "run.json").read_text())["state"] == "running"
    assert not (reports / "summary.json").exists()                  # the SIGTERMed run's is in previous/
    assert json.loads((reports / "previous" / "run.json").read_text())["state"] == "interrupted"
    assert cli.main(["gate", str(reports), "--claims", str(project / "claims")]) == 1
    out = capsys.readouterr().out
    assert "gate: FAIL (exit 1)" in out and "never finished (killed" in out, out
    page = render(reports)["index.html"].read_text()
    assert "This run did not finish" in page and "never finished" in page


def test_an_artifact_a_hook_breaks_becomes_the_claims_error_verdict():
    """What pytest_claims_artifact (or any edit) leaves outside the verdict schema is not written as
    it is: the artifact becomes the claim's error verdict naming the field, so disk, outcome and
    report say error."""
    from harness.plugin import finalise

    record = {k: v for k, v in tiny_claim("t/x").items() if k != "id"}
    art = verdict_artifact("t/x", "reproduced", claim=record)
    art["verdict"]["status"] = "bogus"
    payload = json.loads(finalise(art))
    assert art["verdict"]["status"] == payload["verdict"]["status"] == "error"
    assert art["verdict"]["reason"].startswith("artifact invalid: ") and "verdict.status" in art["verdict"]["reason"]
    assert art["claim_id"] == "t/x"
    fine = verdict_artifact("t/y", "reproduced", claim=record)
    assert json.loads(finalise(fine))["verdict"]["status"] == "reproduced"    # a valid one goes through as it is


def test_a_test_body_that_never_enforces_still_gets_the_verdicts_outcome(tmp_path):
    """A catalogue's test module whose body forgets ``enforce(claim_verdict)``: each case's outcome
    is still its verdict's, so a miss never passes (and a declared one is an xfail, a blocked one a skip)."""
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    (claims / "test_claims.py").write_text("def test_claim(claim, claim_verdict):\n    pass\n")
    table1 = yaml.safe_load(TABLE1.read_text())
    records = {r["id"]: r for r in table1["claims"]}
    keep = ["1909.11942/table1/albert-base/parameters", "1909.11942/table1/bert-base/parameters",
            "1909.11942/table1/bert-large/parameters"]
    records[keep[2]].pop("expect")                                   # a miss nobody declared
    table1["claims"] = [records[cid] for cid in keep]
    (claims / "table1.yaml").write_text(yaml.safe_dump(table1, sort_keys=False))
    write_claims(claims, "blocked.yaml", [tiny_claim("outcomes/blocked", repo="absent/model")])
    (project / "pytest.ini").write_text("[pytest]\n")
    result = run_pytest(project, "claims", "-rA", "-n", "0", env={"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None})
    assert result.outcomes() == {"passed": 1, "xfailed": 1, "failed": 1, "skipped": 1}, result.tail()
    assert result.ret == 1, result.tail()
    assert f"FAILED claims/test_claims.py::test_claim[{keep[2]}]" in result.out, result.tail()
    assert "without enforce(claim_verdict)" in result.out, result.tail()
