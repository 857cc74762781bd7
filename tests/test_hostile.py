"""Hostile inputs, one case a file under tests/hostile/: each gets a clear error, nothing lost.

A case names its kind (a claim file, a paper record, a verdict file fed to the gate, a command
line, a pytest option, a dataset split), the input, and the words its error must contain (the
file, the claim, the field). Every case also checks that no traceback is the only message and
that nothing partial is left on disk. ``pytest tests/test_hostile.py`` ends with the count of
cases tried and handled (tests/conftest.py prints it).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from harness import cli
from harness.atomic import LOCK_NAME
from harness.claims.papers import load_papers
from harness.claims.records import load_tree
from harness.errors import HarnessError, RecordError
from tests.helpers import tiny_claim

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((Path(__file__).parent / "hostile").glob("*.yaml"))


def _merge(base, patch):
    out = copy.deepcopy(base)
    for k, v in patch.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _claim_text(spec: dict) -> str:
    records = [_merge(tiny_claim(f"hostile/c{i}"), patch) for i, patch in enumerate(spec["records"])]
    return yaml.safe_dump({"claims": records}, sort_keys=False, allow_unicode=True)


def _files(tree: Path) -> dict[str, bytes]:
    """Every file under tree, by content; the folder lock file (a run may create it) aside."""
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


def _valid_verdict(claim_id: str = "1909.11942/table1/albert-base/parameters") -> dict:
    from harness.run import error_artifact

    claim = next(c for c in load_tree(ROOT / "claims") if c.id == claim_id)
    return error_artifact(claim, "a measurement that broke (test fixture)")


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


# ---------------------------------------------------------------------- runners by kind
def run_records(case: dict, tmp: Path) -> str:
    claims = tmp / "claims"
    for name, spec in case["files"].items():
        text = spec["text"] if "text" in spec else _claim_text(spec)
        _write(claims / name, text, spec.get("encoding", "utf-8"))
    before = _files(tmp)
    with pytest.raises(RecordError) as err:
        load_tree(claims)
        load_papers(claims)
    assert _files(tmp) == before, "a refused record must leave nothing behind"
    return str(err.value)


def run_cli(case: dict, tmp: Path, capsys) -> str:
    valid = _valid_verdict()
    for folder, files in (case.get("folders") or {}).items():
        (tmp / folder).mkdir(parents=True, exist_ok=True)
        for fname, spec in (files or {}).items():
            path = tmp / folder / fname
            if spec == "valid":
                text = json.dumps(valid)
            elif isinstance(spec, dict) and "patch" in spec:
                text = json.dumps(_merge(valid, spec["patch"]))
            elif isinstance(spec, dict) and "json" in spec:
                text = json.dumps(spec["json"])
            elif spec == "dir":
                path.mkdir(parents=True)
                continue
            else:
                text = spec["text"]
            _write(path, text, (spec.get("encoding") if isinstance(spec, dict) else None) or "utf-8")
    before = _files(tmp)
    args = [a.replace("{tmp}", str(tmp)) for a in case["args"]]
    old = os.getcwd()
    os.chdir(tmp)
    try:
        try:
            code = cli.main(args)
        except SystemExit as exc:   # argparse refuses a value before anything runs
            code = exc.code
    finally:
        os.chdir(old)
    out = capsys.readouterr()
    assert code == case["exit"], out.out + out.err
    if case.get("unchanged", True):
        assert _files(tmp) == before, "a refused command must leave nothing behind"
    return out.out + out.err


def run_option(case: dict, tmp: Path, pytester, monkeypatch) -> str:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    if case.get("claims"):   # a project with one (quick) claim, so the plugin's claim-run checks apply
        claims = pytester.path / "claims"
        (claims / "papers").mkdir(parents=True)
        shutil.copy(ROOT / "claims" / "test_claims.py", claims)
        shutil.copy(ROOT / "claims" / "papers" / "1909.11942.yaml", claims / "papers")
        params = yaml.safe_load((ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml").read_text())
        params["claims"] = params["claims"][:1]
        (claims / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name, value in (case.get("env") or {}).items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest_inprocess(*case["args"], "-p", "no:cacheprovider")
    assert result.ret == case["exit"], result.stdout.str() + result.stderr.str()
    assert not (pytester.path / "reports").exists()
    return result.stdout.str() + result.stderr.str()


def run_dataset(case: dict, tmp: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harness.measure.datafiles import load_split

    spec = case["dataset"]
    folder = tmp / "glue"
    files = folder / "mrpc"
    files.mkdir(parents=True)
    path = files / f"{spec['split']}-00000-of-00001.parquet"
    if spec.get("corrupt"):
        path.write_bytes(b"PAR1 this is not a parquet file PAR1")
    elif not spec.get("no_files"):
        source = Path(os.environ.get("CLAIMS_MIRROR", "")) / "datasets/nyu-mll/glue/mrpc/validation-00000-of-00001.parquet"
        if not source.is_file():
            pytest.skip("needs the GLUE MRPC mirror (CLAIMS_MIRROR)")
        table = pq.read_table(source)
        if "labels" in spec:
            table = table.set_column(table.column_names.index("label"), pa.field("label", pa.int64()),
                                     pa.array([spec["labels"]] * len(table), pa.int64()))
            table = table.replace_schema_metadata(pq.read_schema(source).metadata)
        for column in spec.get("drop", []):
            table = table.drop_columns([column])
        pq.write_table(table, path)
    ds = {"repo": "nyu-mll/glue", "config": "mrpc", "split": spec["split"], "label_field": "label",
          "text_fields": ["sentence1", "sentence2"]}
    with pytest.raises(HarnessError) as err:
        load_split(folder, ds)
    return str(err.value)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hostile_input(path, tmp_path, capsys, request):
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    kind = case["kind"]
    if kind == "records":
        message = run_records(case, tmp_path)
    elif kind == "cli":
        message = run_cli(case, tmp_path, capsys)
    elif kind == "option":
        message = run_option(case, tmp_path, request.getfixturevalue("pytester"), request.getfixturevalue("monkeypatch"))
    elif kind == "dataset":
        message = run_dataset(case, tmp_path)
    else:
        raise AssertionError(f"{path.name}: unknown kind {kind!r}")
    assert "Traceback" not in message, message
    for words in case["expect"]:
        assert words.replace("{tmp}", str(tmp_path)) in message, (words, message)


def test_the_corpus_is_big_enough():
    """The README's reliability section counts these; a lost folder must not pass quietly."""
    assert len(CASES) >= 40, len(CASES)
    kinds = {yaml.safe_load(p.read_text(encoding="utf-8"))["kind"] for p in CASES}
    assert kinds == {"records", "cli", "option", "dataset"}


def test_the_readme_states_the_count():
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(\d+) cases tried, (\d+)\s+handled", text)
    assert found and int(found.group(1)) == int(found.group(2)) == len(CASES), (found and found.group(0), len(CASES))
