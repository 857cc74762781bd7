"""docs/adding-a-paper.md, followed as written: every block marked ``guide:`` is run, in order, in a
project of the test's own (the commands as a new user types them, in processes of their own)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import claims_folder

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "adding-a-paper.md"
STEP = re.compile(r"<!-- guide: (?P<what>[^>]*?) -->\s*```\w*\n(?P<body>.*?)```", re.S)


def _steps() -> list[tuple[list[str], str]]:
    return [(m["what"].split(), m["body"]) for m in STEP.finditer(GUIDE.read_text(encoding="utf-8"))]


def _run(line: str, project: Path, env: dict) -> subprocess.CompletedProcess:
    argv = shlex.split(line)
    if argv[0] == "claims-harness":
        argv = [sys.executable, "-m", "harness", *argv[1:]]
    elif argv[0] == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_the_guide_to_adding_a_paper_works_as_written(tmp_path):
    project = tmp_path / "project"
    claims_folder(project / "claims")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CLAIMS_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path / "home"), CLAIMS_CACHE=str(tmp_path / "cache"))
    steps = _steps()
    assert [s[0][0] for s in steps] == ["file", "run", "run", "run", "expect", "run"], steps
    results = []
    for what, body in steps:
        if what[0] == "file":
            path = project / what[1]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        elif what[0] == "expect":               # the guide's edit: the declared outcome, in the claim
            path = project / what[1]
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            data["claims"][0].update(yaml.safe_load(body))
            assert data["claims"][0]["expect"] == what[2]
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        else:
            for line in (x.strip() for x in body.splitlines()):
                if line:
                    results.append((line, _run(line, project, env)))
    (check, mkdir, new, first, second) = results
    assert check[1].returncode == 0, check[1].stderr
    assert mkdir[1].returncode == 0, mkdir[1].stderr
    assert new[1].returncode == 0, new[1].stderr
    claim = yaml.safe_load((project / "claims" / "bert-1810.04805" / "parameters.yaml").read_text())["claims"][0]
    assert claim["citation"]["statement"] == "bert-base-parameters" and claim["reported"]["value"] == "110"
    assert claim["measure"]["architecture"]["family"] == "bert"
    assert first[1].returncode == 1, first[1].stdout[-3000:]
    assert "not_reproduced" in first[1].stdout and "109.48M" in first[1].stdout
    assert second[1].returncode == 0, second[1].stdout[-3000:]
    assert "xfail" in second[1].stdout.lower()
    artifact = json.loads((project / "reports" / "verdicts" /
                           "1810.04805__bert-base-parameters-parameter_count.json").read_text())
    assert artifact["verdicts"]["pre"]["status"] == "citation_verified"
    assert artifact["verdicts"]["post"]["status"] == "not_reproduced"
    assert artifact["measurement"]["counted"]["total"] == 109482240
