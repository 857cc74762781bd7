"""Options: one definition for the plugin and the command line, values checked when parsed, and a
failure's message and traceback kept where users read them (issue 13).

Real pytest runs through pytester (a bad value is exit 4 naming the option and what it accepts,
with no claim run and no reports folder) and the real CLI (argparse's exit 2). Nothing here
imports torch.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
import yaml

import harness.run  # noqa: F401 - imported before any in-process pytest run, which may unload what it imports
from harness import cli, options
from harness.plugin import enforce
from harness.run import error_artifact
from tests.helpers import claims_folder
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]

# (option and value, words the usage error must contain)
PLUGIN_BAD = [
    ("--claims-dtype=fp8", ["--claims-dtype", "'fp8' is not one of", "bfloat16", "float16", "float32"]),
    ("--claims-device=gpu", ["--claims-device", "'gpu' is not one of cpu, cuda, cuda:N, mps"]),
    ("--claims-progress=loud", ["--claims-progress", "invalid choice: 'loud'", "auto", "off"]),
    ("--claims-fdr=1", ["--claims-fdr", "strictly between 0 and 1"]),
    ("--claims-resamples=0", ["--claims-resamples", "at least 1"]),
    ("--claims-timeout=0", ["--claims-timeout", "positive number of seconds"]),
    ("--claims-timeout=inf", ["--claims-timeout", "not a number of seconds"]),
    ("--claims-shard=0/2", ["--claims-shard", "between 1 and N"]),
    ("--claims-checkpoint=nope", ["--claims-checkpoint", "expected ORG/NAME@REVISION"]),
    ("--claims-baseline=/nonexistent/night", ["--claims-baseline", "/nonexistent/night: no such folder"]),
]


def _one_claim_project(path: Path) -> Path:
    """A claims folder with one parameter-count claim of our catalogue (no checkpoint needed)."""
    claims = claims_folder(path / "claims")
    params = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml").read_text())
    params["claims"] = params["claims"][:1]
    (claims / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return claims


def test_a_value_pytest_would_take_for_a_test_path_is_refused(tmp_path):
    """`pytest --claims-mirror ../mirror` with no test path: pytest picks its rootdir before it
    knows our options, takes ../mirror for a test path, and would read no ini file and put the
    reports above the project. A usage error says so; one token, or a test path first, runs."""
    project = tmp_path / "project"
    _one_claim_project(project)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["claims"]\n')
    (tmp_path / "mirror").mkdir()
    result = run_pytest(project, "--claims-mirror", "../mirror")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.tail()
    assert "'../mirror', the value of --claims-mirror, for a test path" in result.out
    assert f"not {project} and {project / 'pyproject.toml'}" in result.out
    assert "Write --claims-mirror=../mirror" in result.out
    assert not (tmp_path / "reports").exists() and not (project / "reports").exists()
    for args in (["--claims-mirror=../mirror"], ["claims", "--claims-mirror", "../mirror"]):
        result = run_pytest(project, *args)
        assert result.ret == 0 and result.outcomes() == {"xfailed": 1}, (args, result.tail())   # expect: held
        assert len(list((project / "reports" / "verdicts").glob("*.json"))) == 1
        shutil.rmtree(project / "reports")


def test_a_bad_plugin_value_is_a_usage_error_naming_the_option(pytester):
    _one_claim_project(pytester.path)
    for arg, words in PLUGIN_BAD:
        result = pytester.runpytest_inprocess("claims", arg, "-p", "no:cacheprovider")
        text = result.stdout.str() + result.stderr.str()
        assert result.ret == pytest.ExitCode.USAGE_ERROR, (arg, text)
        for w in words:
            assert w in text, (arg, w, text)
        assert not (pytester.path / "reports").exists(), arg   # refused before any claim ran


@pytest.mark.parametrize("argv, words", [
    (["gate", "r", "--fdr", "0"], ["--fdr", "strictly between 0 and 1"]),
    (["gate", "r", "--baseline", "nowhere"], ["--baseline", "nowhere: no such folder"]),
    (["import-verdict", "v.json", "--revision", "a" * 40, "--slice-size", "0"], ["--slice-size", "at least 1"]),
    (["import-verdict", "v.json", "--revision", "a" * 40, "--max-length", "x"], ["--max-length", "whole number"]),
    (["import-verdict", "v.json", "--revision", "a" * 40, "--tolerance", "-1"], ["--tolerance", "zero or more"]),
    (["import-verdict", "v.json", "--revision", "a" * 40, "--tolerance", "nan"], ["--tolerance", "not a number"]),
    (["import-verdict", "v.json", "--revision", "main"], ["--revision", "not a 40-hex commit"]),
    (["import-verdict", "v.json", "--revision", "a" * 40, "--expect", "error"], ["--expect", "invalid choice"]),
    (["list", "--status", "passed"], ["--status", "invalid choice: 'passed'", "not_reproduced", "not run"]),
])
def test_a_bad_cli_value_is_a_usage_error_naming_the_option(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r" / "verdicts").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    for w in words:
        assert w in err, (w, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["r", "verdicts"]   # nothing written


def test_the_plugin_and_the_cli_share_each_definition(pytester):
    """The gate's options and the cache folder read the same on both sides: one definition."""
    shared = {"--claims-baseline": options.BASELINE, "--claims-strict-blocked": options.STRICT_BLOCKED,
              "--claims-fdr": options.FDR, "--claims-cache": options.CACHE}
    names = {f"--claims-{o.name}" for o in options.PLUGIN}
    assert len(names) == len(options.PLUGIN) and set(shared) <= names
    help_text = " ".join(pytester.runpytest_inprocess("--help", "-p", "no:cacheprovider").stdout.str().split())
    for name, option in shared.items():
        assert " ".join(option.kwargs["help"].split()) in help_text, name
    gate_parser = argparse.ArgumentParser()
    options.add(gate_parser.add_argument, options.GATE)
    args = gate_parser.parse_args(["--fdr", "0.1", "--strict-blocked"])
    assert args.fdr == 0.1 and args.strict_blocked is True and args.baseline is None


def _error_artifact_with_traceback() -> dict:
    from harness.claims.records import load_tree

    claim = next(c for c in load_tree(ROOT / "claims") if c.id == "1909.11942/table1/albert-base/parameters")
    art = error_artifact(claim, "unexpected ValueError: a bug")
    art["verdicts"]["post"]["traceback"] = ('Traceback (most recent call last):\n  File "harness/run.py", '
                                            'line 1, in evaluate\nValueError: a bug')
    return art


def test_an_error_verdict_fails_with_its_reason_and_traceback():
    with pytest.raises(pytest.fail.Exception) as failed:
        enforce(_error_artifact_with_traceback())
    text = str(failed.value)
    assert text.startswith("error: unexpected ValueError: a bug")
    assert 'File "harness/run.py", line 1, in evaluate' in text and text.rstrip().endswith("ValueError: a bug")


def test_the_report_keeps_an_error_verdicts_traceback(tmp_path):
    from harness.report import summary
    from harness.report.render import render

    art = _error_artifact_with_traceback()
    assert summary.row(art, None)["traceback"].endswith("ValueError: a bug")
    (tmp_path / "verdicts").mkdir()
    (tmp_path / "verdicts" / "a.json").write_text(json.dumps(art))
    page = render(tmp_path)["index.html"].read_text()
    assert "<h4>Traceback</h4>" in page and "line 1, in evaluate" in page


def test_a_claim_whose_setup_fails_keeps_the_message_and_the_traceback(pytester):
    """A HarnessError in setup (as --claims-dtype=fp8 raised there once) was recorded as
    'harness/measure/devices.py:31: HarnessError': the traceback's last line, message lost."""
    claims = _one_claim_project(pytester.path)
    (claims / "conftest.py").write_text(
        "import pytest\nfrom harness.errors import HarnessError\n\n\n"
        "def _pick_dtype():\n    raise HarnessError('--claims-dtype fp8: expected one of float32, bfloat16')\n\n\n"
        "@pytest.fixture(scope='session')\ndef claims_pipeline():\n    _pick_dtype()\n")
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess("claims", f"--claims-reports={reports}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    (art,) = [json.loads(p.read_text()) for p in (reports / "verdicts").glob("*.json")]
    post = art["verdicts"]["post"]
    assert art["verdict"]["status"] == "error"
    assert "its setup failed" in post["reason"]
    assert "HarnessError: --claims-dtype fp8: expected one of float32, bfloat16" in post["reason"], post["reason"]
    assert "def _pick_dtype" in post["traceback"] and "claims_pipeline" in post["traceback"], post["traceback"]
    row = json.loads((reports / "summary.json").read_text())["claims"][0]
    assert row["traceback"] == post["traceback"]
    shutil.rmtree(reports)


def test_collect_only_writes_nothing(tmp_path):
    """`pytest claims/ --collect-only` lists the claims; last night's reports stay as they were."""
    project = tmp_path / "project"
    _one_claim_project(project)
    reports = project / "reports"
    reports.mkdir()
    (reports / "summary.md").write_text("last night")
    result = run_pytest(project, "claims", "--collect-only", "-q")
    assert result.ret == 0 and "1909.11942/table1/bert-base/parameters" in result.stdout, result.tail()
    assert sorted(p.name for p in reports.iterdir()) == ["summary.md"]
    assert (reports / "summary.md").read_text() == "last night"
