"""The nightly gate: policy, FDR control, baselines, shards and their merge.

The end-to-end tests read one module-scoped set of catalogue runs (``nights``); every test of
the module is kept on one xdist worker so they are made once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.claims.records import load_tree
from harness.report import gate
from tests.helpers import verdict_artifact
from tests.runs import run_pytest

# Its module-scoped runs are built once: every test of the module goes to one xdist worker.
pytestmark = pytest.mark.xdist_group("gate-nights")

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "claims" / "albert-1909.11942"


def art(cid, status, *, expect=None, p_in_band=0.0, interval=None, score=None):
    """A schema-valid artifact (tests.helpers.verdict_artifact) with what the gate reads set."""
    stats = {"decision": {"rule": {"p_in_band": p_in_band}}, "interval": interval}
    return verdict_artifact(cid, status, score=score, statistics=stats, claim={"expect": expect} if expect else None)


def test_policy_defaults():
    current = {"a": art("a", "reproduced"), "b": art("b", "blocked"), "c": art("c", "inconclusive"),
               "d": art("d", "miscited"), "e": art("e", "error")}
    result = gate.evaluate(current)
    assert result.exit_code == gate.EXIT_FAILED
    assert [f["claim"] for f in result.failures] == ["d", "e"]
    assert gate.evaluate({"b": art("b", "blocked")}).exit_code == gate.EXIT_OK
    assert gate.evaluate({"b": art("b", "blocked")}, strict_blocked=True).exit_code == gate.EXIT_FAILED


def test_expected_outcomes_are_strict():
    assert gate.evaluate({"a": art("a", "miscited", expect="miscited")}).exit_code == gate.EXIT_OK
    result = gate.evaluate({"a": art("a", "reproduced", expect="not_reproduced")})
    assert result.exit_code == gate.EXIT_FAILED and "declared not_reproduced, now reproduced" in result.failures[0]["why"]


def test_benjamini_hochberg_holds_back_weak_calls():
    ps = {"a": 0.001, "b": 0.01, "c": 0.03, "d": 0.5}
    assert gate.benjamini_hochberg(ps, 0.05) == {"a", "b", "c"}
    assert gate.benjamini_hochberg({"x": 0.04, "y": 0.045}, 0.05) == {"x", "y"}
    assert gate.benjamini_hochberg({"x": 0.04, "y": 0.9}, 0.05) == set()
    current = {"a": art("a", "not_reproduced", p_in_band=0.0), "b": art("b", "not_reproduced", p_in_band=0.2)}
    result = gate.evaluate(current)
    assert [f["claim"] for f in result.failures] == ["a"] and result.held_back == ["b"]


def test_fdr_reads_the_procedures_p_value_not_the_flat_prior_probability():
    """BH needs p-values valid under 'score in band' (P(p <= t) <= t); p_in_band is a flat-prior
    posterior and can be near 0 where the stopping-aware p-value is not."""
    weak, strong = art("w", "not_reproduced", p_in_band=0.0), art("s", "not_reproduced", p_in_band=0.3)
    weak["statistics"]["decision"]["rule"]["p_value"] = 0.2
    strong["statistics"]["decision"]["rule"]["p_value"] = 0.0001
    result = gate.evaluate({"w": weak, "s": strong}, fdr=0.05)
    assert [f["claim"] for f in result.failures] == ["s"] and result.held_back == ["w"]


def test_baseline_regressions():
    before = {"a": art("a", "reproduced", interval=[0.88, 0.90]), "b": art("b", "inconclusive", interval=[0.5, 0.7])}
    after = {"a": art("a", "inconclusive", interval=[0.8, 0.9], score=0.85),
             "b": art("b", "inconclusive", interval=[0.7, 0.9], score=0.8)}
    result = gate.evaluate(after, before)
    whys = {f["claim"]: f["why"] for f in result.failures}
    assert whys["a"] == "regression: status reproduced -> inconclusive"
    assert whys["b"] == "regression: measured 0.8000 left the baseline interval [0.5000, 0.7000]"
    after["b"]["claim"]["reported"] = {"value": "60.0", "metric": "f1", "scale": "percent"}   # printed as a percent
    whys = {f["claim"]: f["why"] for f in gate.evaluate(after, before).failures}
    assert whys["b"] == "regression: measured 80.00 % left the baseline interval [50.00 %, 70.00 %]"
    assert result.changes == [{"claim": "a", "before": "reproduced", "after": "inconclusive"}]


# ---------------------------------------------------------------------- nights (shared runs)
@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    """Runs of the whole catalogue, in one project: ``whole`` with --claims-gate (tonight, and the
    baseline of the next night), shards 1/2 and 2/2 and their merge, then ``night2`` against
    ``whole`` after the measured architecture changed (a larger vocabulary: 11.68M becomes 12.96M)."""
    from harness import cli

    project = tmp_path_factory.mktemp("nights") / "project"
    claims = project / "claims"
    shutil.copytree(ROOT / "claims", claims, ignore=shutil.ignore_patterns("__pycache__"))
    out = {"project": project, "whole": run_pytest(project, "claims", "--claims-gate", "--claims-reports=whole")}
    out["shards"] = [run_pytest(project, "claims", f"--claims-shard={i}/2", f"--claims-reports=s{i}") for i in (1, 2)]
    out["merge"] = cli.main(["merge", str(project / "merged"), str(project / "s1"), str(project / "s2")])
    # shards given different measured costs (each its own folder), and shards given one folder of hostile costs
    catalogue = {c.id: c for c in load_tree(claims)}
    for name, spec in {"costs-a": {COST_P: 1e5}, "costs-b": {COST_Q: 1e5},
                       "costs-hostile": {COST_P: float("nan"), COST_Q: -1e12, COST_R: 1e308}}.items():
        _cost_folder(project / name, catalogue, spec)
    out["uneven"] = [run_pytest(project, "claims", f"--claims-shard={i}/2", f"--claims-shard-costs=costs-{x}",
                                f"--claims-reports=u{i}") for i, x in ((1, "a"), (2, "b"))]
    out["hostile"] = [run_pytest(project, "claims", f"--claims-shard={i}/2", "--claims-shard-costs=costs-hostile",
                                 f"--claims-reports=h{i}") for i in (1, 2)]
    params = claims / "albert-1909.11942" / "table1-parameters.yaml"
    text = params.read_text()
    marker = "architecture: {family: albert, config: {vocab_size: 30000, embedding_size: 128, hidden_size: 768,"
    assert marker in text
    params.write_text(text.replace(marker, marker.replace("30000", "40000")))
    out["night2"] = run_pytest(project, "claims", "--claims-baseline=whole", "--claims-reports=night2")
    return out


COST_P = "model-card/textattack-albert-base-v2-cola/cola-acc"
COST_Q = "model-card/textattack-albert-base-v2-qqp/qqp-acc"
COST_R = "model-card/textattack-albert-base-v2-rte/rte-acc"


def _cost_folder(folder: Path, catalogue: dict, seconds: dict[str, float]) -> None:
    """A last run's verdicts (for --claims-shard-costs) recording ``seconds`` of inference per claim."""
    from harness.run import error_artifact

    (folder / "verdicts").mkdir(parents=True)
    for cid, value in seconds.items():
        claim = catalogue[cid]
        art = error_artifact(claim, "a cost record (test fixture)")
        art["measurement"] = {"kind": claim.kind, "value": 0.0, "timings": {"inference_seconds": value},
                              "versions": {}}
        (folder / "verdicts" / f"{claim.artifact_name}").write_text(json.dumps(art))   # NaN as JSON's NaN


def _rows(folder: Path) -> list[dict]:
    rows = json.loads((folder / "summary.json").read_text())["claims"]
    return [{k: v for k, v in r.items() if k != "artifact"} for r in rows]


def test_shards_merge_to_the_same_summary_as_one_run(nights):
    whole, project = nights["whole"], nights["project"]
    assert whole.ret == 0, whole.tail()
    for run in nights["shards"]:
        assert run.ret == 0, run.tail()
        assert "deselected" in run.stdout
    assert nights["merge"] == 0
    assert _rows(project / "merged") == _rows(project / "whole")
    assert len(_rows(project / "whole")) == len(load_tree(project / "claims"))   # every claim, once


def test_a_regression_against_the_baseline_fails_the_gate(nights):
    first, second = nights["whole"], nights["night2"]
    assert first.ret == 0, first.tail()
    first.fnmatch_lines(["*claims gate*", "gate: PASS (exit 0)"])
    assert second.ret == 1, second.tail()
    second.fnmatch_lines([
        "gate: FAIL (exit 1)",
        "*FAIL 1909.11942/table1/albert-base/parameters: not_reproduced*",
        "*regression: status reproduced -> not_reproduced*",
        "*changed 1909.11942/table1/albert-base/parameters: reproduced -> not_reproduced*",
    ])
    saved = json.loads((nights["project"] / "night2" / "gate.json").read_text())
    assert saved["exit_code"] == 1 and not saved["passed"]


def test_a_merge_refuses_a_missing_shard_and_fails_a_catalogue_claim_in_no_shard(nights, tmp_path, capsys):
    from harness import cli

    project = nights["project"]
    s1, s2 = project / "s1", project / "s2"
    run = json.loads((s1 / "run.json").read_text())
    assert run["state"] == "finished" and run["shard"]["index"] == 1 and run["shard"]["count"] == 2
    assert set(run["shard"]["plan"]) == {c.id for c in load_tree(project / "claims")}
    # no catalogue at hand (--claims names none here): the shards' plan tells that shard 2 is missing
    assert cli.main(["merge", str(tmp_path / "m1"), str(s1), "--claims", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "m1").exists()
    assert cli.main(["merge", str(tmp_path / "m1"), str(s1)]) == 2
    assert "shard(s) 2/2 missing from the merge" in capsys.readouterr().err
    # a catalogue claim that no shard planned (added after the shards ran) fails merge and gate by name
    grown = tmp_path / "claims"
    shutil.copytree(project / "claims", grown)
    (grown / "late.yaml").write_text((grown / "albert-1909.11942" / "table1-parameters.yaml").read_text()
                                     .replace("1909.11942/table1/", "late/table1/"))
    assert cli.main(["merge", str(tmp_path / "m2"), str(s1), str(s2), "--claims", str(grown)]) == 1
    out = capsys.readouterr().out
    assert "gate: FAIL (exit 1)" in out and "FAIL late/table1/albert-base/parameters: in the catalogue but in no " \
                                            "shard's plan" in out, out
    assert cli.main(["gate", str(tmp_path / "m2"), "--claims", str(grown)]) == 1
    assert "FAIL late/table1/albert-base/parameters: in the catalogue but has no verdict" in capsys.readouterr().out


def test_shards_given_different_costs_are_refused_at_merge(nights, tmp_path, capsys):
    """Each shard's plan is the same function of its inputs: shards fed different cost folders
    plan differently and one claim runs in no shard. The merge says so, naming the claims."""
    from harness import cli

    project = nights["project"]
    for run in nights["uneven"]:
        assert run.ret == 0, run.tail()
    ran = [set(json.loads((project / f"u{i}" / "run.json").read_text())["claims"]) for i in (1, 2)]
    assert COST_Q not in ran[0] | ran[1]                       # what the merge must not let pass
    assert cli.main(["merge", str(tmp_path / "m"), str(project / "u1"), str(project / "u2")]) == 2
    err = capsys.readouterr().err
    assert "were planned differently" in err and "--claims-shard-costs" in err and not (tmp_path / "m").exists()


def test_hostile_shard_costs_are_named_and_every_claim_still_has_a_shard(nights, tmp_path):
    from harness import cli

    project = nights["project"]
    for run in nights["hostile"]:
        assert run.ret == 0, run.tail()
        for cid, shown in ((COST_P, "nan"), (COST_Q, "-1000000000000.0"), (COST_R, "1e+308")):
            name = next(c.artifact_name for c in load_tree(project / "claims") if c.id == cid)
            assert f"--claims-shard-costs: costs-hostile/verdicts/{name}, field measurement.timings.inference_seconds: " \
                   f"{shown} is not a number of seconds" in run.out, run.tail()
    ran = [set(json.loads((project / f"h{i}" / "run.json").read_text())["claims"]) for i in (1, 2)]
    assert ran[0] | ran[1] == {c.id for c in load_tree(project / "claims")} and not ran[0] & ran[1]
    assert cli.main(["merge", str(tmp_path / "m"), str(project / "h1"), str(project / "h2")]) == 0


def test_a_baseline_of_another_paper_fails_the_in_run_gate(tmp_path):
    from tests.helpers import claims_folder

    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    table1 = (CATALOGUE / "table1-parameters.yaml").read_text()
    (claims / "table1.yaml").write_text(table1)
    (project / "base" / "verdicts").mkdir(parents=True)
    (project / "base" / "verdicts" / "x.json").write_text(json.dumps(verdict_artifact("other/paper/claim",
                                                                                      "reproduced")))
    run = run_pytest(project, "claims", "--claims-baseline=base", "-n", "0")
    assert run.ret == 2, run.tail()
    run.fnmatch_lines(["gate: FAIL (exit 2)", "*baseline folder base shares no claim with*another paper*"])
    assert not json.loads((project / "reports" / "gate.json").read_text())["passed"]


# ---------------------------------------------------------------------- fails closed
def test_a_gate_over_nothing_fails():
    result = gate.evaluate({}, source="reports/")
    assert result.exit_code == gate.EXIT_FAILED
    assert result.failures[0]["why"].startswith("no verdicts in reports/")


def test_a_baseline_claim_absent_tonight_fails_unless_removed_or_not_selected():
    before = {c: art(c, "reproduced") for c in ("kept", "removed", "other-shard")}
    now = {"new": art("new", "reproduced")}
    result = gate.evaluate(now, before)
    assert result.exit_code == gate.EXIT_FAILED
    assert sorted(f["claim"] for f in result.failures) == ["kept", "other-shard", "removed"]
    catalogue = {"kept", "other-shard", "new"}
    result = gate.evaluate(now, before, catalogue=catalogue)             # merge: every catalogue claim is due
    assert [f["claim"] for f in result.failures] == ["kept", "other-shard"]
    assert "in the baseline (reproduced) but absent tonight" in result.failures[0]["why"]
    assert any("removed from the catalogue: removed" in n for n in result.notes)
    result = gate.evaluate(now, before, catalogue=catalogue, expected={"kept", "new"})   # one shard under pytest
    assert result.failures == [{"claim": "kept", "why": "collected but no verdict was recorded"}]
    assert any("not selected in this run" in n and "other-shard" in n for n in result.notes)


def test_a_collected_claim_without_a_verdict_fails():
    result = gate.evaluate({"a": art("a", "reproduced")}, expected={"a", "b"})
    assert result.failures == [{"claim": "b", "why": "collected but no verdict was recorded"}]


def test_an_fdr_outside_zero_one_is_an_input_error():
    miss = {"a": art("a", "not_reproduced", p_in_band=0.0)}
    for q in (-1, 0, 1, 2.5, float("nan")):
        assert gate.evaluate(miss, fdr=q).exit_code == gate.EXIT_INPUT


# ---------------------------------------------------------------------- docs/gate.md, exit codes
def _verdict_folder(tmp_path: Path, status: str) -> Path:
    from harness.claims.records import load_tree
    from harness.report.artifacts import dumps
    from harness.run import error_artifact

    claim = next(c for c in load_tree(ROOT / "claims") if c.id == "1909.11942/table1/albert-base/parameters")
    a = error_artifact(claim, "test fixture")
    a["verdict"]["status"] = a["verdicts"]["post"]["status"] = status
    (tmp_path / "r" / "verdicts").mkdir(parents=True)
    (tmp_path / "r" / "verdicts" / "a.json").write_text(dumps(a))
    return tmp_path / "r"


def test_cli_exit_0_the_gate_passed(tmp_path, capsys):
    from harness import cli

    folder = _verdict_folder(tmp_path, "blocked")
    assert cli.main(["gate", str(folder)]) == 0
    assert "gate: PASS (exit 0)" in capsys.readouterr().out
    assert json.loads((folder / "gate.json").read_text())["passed"] is True


def test_cli_exit_1_the_gate_failed(tmp_path, capsys):
    from harness import cli

    folder = _verdict_folder(tmp_path, "blocked")
    assert cli.main(["gate", str(folder), "--strict-blocked"]) == 1
    assert "blocked (strict mode)" in capsys.readouterr().out


def test_cli_exit_2_an_input_could_not_be_read(tmp_path, capsys):
    from harness import cli

    assert cli.main(["gate", str(tmp_path / "missing")]) == 2
    assert f"error: reports folder {tmp_path / 'missing'} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_pytest_exit_3_internal_error(pytester):
    pytester.makeconftest("def pytest_collection_modifyitems(items):\n    raise RuntimeError('boom')\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    assert pytester.runpytest_inprocess("-p", "no:cacheprovider").ret == 3


def test_pytest_exit_5_no_claims_collected(claims_project, pytester):
    (pytester.path / "empty").mkdir()
    result = pytester.runpytest_inprocess("claims", "--claims-dir=empty", "--claims-gate", "-p", "no:cacheprovider")
    assert result.ret == 5
    result.stdout.fnmatch_lines(["claims: no claim records under *empty"])
    assert not (pytester.path / "reports").exists()


def test_every_exit_code_row_of_the_docs_names_a_test_that_exists():
    """docs/gate.md's exit-code tables: each row names its test, and that test is there."""
    import re

    rows = [line for line in (ROOT / "docs" / "gate.md").read_text().splitlines()
            if re.match(r"^\| \d \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == ["0", "1", "2", "3", "4", "5", "0", "1", "2"]
    for row in rows:
        names = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`|`::(\w+)`|`(tests/hostile)/\*`", row)
        assert names or "same test" in row, row
        module = None
        for path, func, bare, corpus in names:
            if corpus:
                assert any((ROOT / corpus).glob("*.yaml")), row
                continue
            module = path or module
            text = (ROOT / module).read_text()
            assert f"def {func or bare}(" in text, (row, func or bare)
