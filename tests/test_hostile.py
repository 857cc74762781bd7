"""Hostile inputs, one case a file under tests/hostile/: each gets a clear error, nothing lost.

A case names its kind (a claim file, a paper record, a verdict file fed to the gate, a command
line, a pytest option, a dataset split, a checkpoint that does not fit its claim), the input, and the words its error must contain (the
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
from harness.errors import AssetUnavailable, HarnessError, RecordError
from harness.timelimit import time_limit
from tests.helpers import tiny_claim

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((Path(__file__).parent / "hostile").glob("*.yaml"))


def _merge(base, patch):
    """``patch`` over ``base``; a key patched to null is removed (to swap one form of a field for another)."""
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
            continue
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _claim_text(spec: dict) -> str:
    records = [_merge(tiny_claim(f"hostile/c{i}"), patch) for i, patch in enumerate(spec["records"])]
    records += [tiny_claim(f"hostile/pad{i}") for i in range(spec.get("pad", 0))]   # plain valid claims after
    return yaml.safe_dump({"claims": records}, sort_keys=False, allow_unicode=True)


def _special(path: Path, spec) -> bool:
    """Make ``path`` a special file when the spec asks (a symlink, a FIFO); True if it did."""
    if not isinstance(spec, dict):
        return False
    if "symlink" in spec:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(spec["symlink"])
        return True
    if spec.get("fifo"):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        return True
    return False


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
        if _special(claims / name, spec):
            continue
        text = spec["text"] if "text" in spec else _claim_text(spec)
        _write(claims / name, text, spec.get("encoding", "utf-8"))
    before = _files(tmp)
    with pytest.raises(RecordError) as err:
        with time_limit(60):    # a FIFO or a device must not hang the loader
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
            elif isinstance(spec, dict) and "copy" in spec:        # a file of this repository
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / spec["copy"], path)
                continue
            elif _special(path, {k: (v.replace("{tmp}", str(tmp)) if isinstance(v, str) else v)
                                 for k, v in spec.items()} if isinstance(spec, dict) else spec):
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
    if "squad" in spec:
        return _run_squad(spec, tmp)
    folder = tmp / "glue"
    files = folder / "mrpc"
    files.mkdir(parents=True)
    path = files / f"{spec['split']}-00000-of-00001.parquet"
    if "config" in spec:     # the claim names a config the mirror does not hold: resolved as a claim run does
        from harness.measure.assets import resolve_dataset

        mirror = tmp / "mirror"
        (mirror / "datasets" / "nyu-mll").mkdir(parents=True)
        shutil.move(str(folder), mirror / "datasets" / "nyu-mll" / "glue")
        (mirror / "datasets" / "nyu-mll" / "glue" / "README.md").write_text("# GLUE (MRPC only)\n")
        with pytest.raises(HarnessError) as err:
            resolve_dataset("nyu-mll/glue", spec["config"], "main", mirror=mirror, allow_download=False)
        assert isinstance(err.value, AssetUnavailable), "an absent config is blocked, not an error"
        return str(err.value)
    if spec.get("rows") == 0:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"sentence1": pa.array([], pa.string()), "sentence2": pa.array([], pa.string()),
                                 "label": pa.array([], pa.int64())}), path)
    elif spec.get("corrupt"):
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


def _run_squad(spec: dict, tmp: Path) -> str:
    """A SQuAD split built from the tiny QA rows, with the spec's rows damaged."""
    from harness.measure.qa_data import load_qa_split
    from tests.tiny_qa import SPLIT_FILE, qa_rows, write_split

    rows = qa_rows(spec["squad"].get("n", 40), seed=3)
    for change in spec["squad"].get("set", []):
        rows[change["column"]][change["row"]] = change["value"]
    if spec["squad"].get("shuffle_contexts"):     # contexts one row out of step with their questions
        rows["context"] = rows["context"][1:] + rows["context"][:1]
    write_split(tmp / "plain_text" / SPLIT_FILE, rows)
    with pytest.raises(HarnessError) as err:
        load_qa_split(tmp, {"config": "plain_text", "split": "validation"})
    return str(err.value)


def run_checkpoint(case: dict, tmp: Path, tiny_mirror: Path) -> str:
    """The tiny ALBERT with the case's config patch and files, checked against a claim before inference."""
    from harness.measure.assets import resolve_model
    from harness.measure.fitness import check

    folder = tmp / "mirror" / "models" / "tiny" / "albert-mrpc"
    shutil.copytree(tiny_mirror / "models" / "tiny" / "albert-mrpc", folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(_merge(config, case.get("config") or {})))
    for name, text in (case.get("model_files") or {}).items():
        if text is None:
            (folder / name).unlink()
        else:
            (folder / name).write_text(text)
    claim = _merge(tiny_claim("hostile/c0"), case.get("claim") or {})
    asset = resolve_model("tiny/albert-mrpc", claim["measure"]["checkpoint"]["revision"], mirror=tmp / "mirror",
                          allow_download=False)
    with pytest.raises(HarnessError) as err:
        check(asset, head=case.get("head", "sequence_classification"), max_length=claim["measure"]["max_length"],
              labels=case.get("labels", ["not_equivalent", "equivalent"]))
    assert isinstance(err.value, AssetUnavailable), "an unfit checkpoint is blocked, not an error"
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
    elif kind == "checkpoint":
        message = run_checkpoint(case, tmp_path, request.getfixturevalue("tiny_mirror"))
    else:
        raise AssertionError(f"{path.name}: unknown kind {kind!r}")
    assert "Traceback" not in message, message
    for words in case["expect"]:
        assert words.replace("{tmp}", str(tmp_path)) in message, (words, message)


def test_the_corpus_is_big_enough():
    """The README's reliability section counts these; a lost folder must not pass quietly."""
    assert len(CASES) >= 40, len(CASES)
    kinds = {yaml.safe_load(p.read_text(encoding="utf-8"))["kind"] for p in CASES}
    assert kinds == {"records", "cli", "option", "dataset", "checkpoint"}


def test_the_readme_states_the_count():
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(\d+) cases tried, (\d+)\s+handled", text)
    assert found and int(found.group(1)) == int(found.group(2)) == len(CASES), (found and found.group(0), len(CASES))
