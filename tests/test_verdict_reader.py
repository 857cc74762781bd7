"""The one reader of verdict folders (harness/report/verdicts.py): the same checks for every
command, strict for those that judge (gate, merge, compare), lenient for the report and the
shard costs, which list what they refused and go on with the rest."""

from __future__ import annotations

import json
import sqlite3

import pytest

from harness.atomic import FolderLock
from harness.errors import ArtifactError
from harness.report import history, verdicts
from harness.report.render import render
from tests.helpers import verdict_artifact


def _folder(tmp_path, files: dict) -> object:
    (tmp_path / "verdicts").mkdir()
    for name, art in files.items():
        (tmp_path / "verdicts" / name).write_text(json.dumps(art))
    return tmp_path


def test_two_files_for_one_claim_and_a_newer_schema_are_refused_or_listed(tmp_path):
    newer = dict(verdict_artifact("b/claim", "blocked"), schema_version=99)
    folder = _folder(tmp_path, {"a1.json": verdict_artifact("a/claim", "blocked"),
                                "a2.json": verdict_artifact("a/claim", "error"), "b.json": newer})
    with pytest.raises(ArtifactError, match="a2.json: claim 'a/claim' has a second verdict file"):
        verdicts.read(folder)
    found = verdicts.read(folder, lenient=True)
    assert list(found.verdicts) == ["a/claim"] and found.verdicts["a/claim"]["verdict"]["status"] == "blocked"
    assert any("second verdict file" in p for p in found.problems)
    assert any("b.json: verdict schema_version 99 is newer than this harness reads (1)" in p for p in found.problems)
    page = render(folder)["index.html"].read_text()
    assert "second verdict file" in page and "schema_version 99 is newer" in page


def test_a_run_record_says_running_finished_or_cut_short(tmp_path):
    folder = _folder(tmp_path, {"a.json": verdict_artifact("a/claim", "blocked")})
    record = verdicts.new_record(run_id="r", started="2026-01-01T00:00:00+00:00", pid=123, command=["claims"])
    verdicts.write_record(folder, record)
    with FolderLock(folder):                       # a run that holds the folder is still going
        assert "is still going (pid 123)" in verdicts.read(folder).cut_short
    assert "never finished (killed" in verdicts.read(folder).cut_short
    verdicts.write_record(folder, dict(record, state="finished"))
    assert verdicts.read(folder).cut_short is None
    verdicts.write_record(folder, dict(record, schema_version=7))
    with pytest.raises(ArtifactError, match="run record schema_version 7 is newer"):
        verdicts.read(folder)


def test_a_history_file_that_is_not_ours_is_named_and_left_alone(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"started": "s", "claims": [{"claim": "a", "status": "blocked"}]}))
    garbage = tmp_path / "history.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    before = garbage.read_bytes()
    with pytest.raises(ArtifactError, match=f"history {garbage}: not a history file"):
        history.record_folder(tmp_path, garbage)
    assert garbage.read_bytes() == before
    fresh = tmp_path / "fresh.sqlite"
    assert history.record_folder(tmp_path, fresh) == 1
    con = sqlite3.connect(fresh)
    assert con.execute("PRAGMA user_version").fetchone()[0] == history.HISTORY_VERSION
    con.close()
    assert list(history.load(fresh)) == ["a"]


def _counting_reads(monkeypatch) -> list:
    """Every verdict file the one reader opens, in order (the real reader, counted)."""
    opened, real = [], verdicts.load_artifact

    def load(path, text_out=None):
        opened.append(path.name)
        return real(path, text_out)

    monkeypatch.setattr(verdicts, "load_artifact", load)
    return opened


def test_the_gate_reads_each_verdict_once_for_its_verdicts_and_its_report(tmp_path, monkeypatch):
    from harness.cli import main

    (tmp_path / "r").mkdir()
    folder = _folder(tmp_path / "r", {"a.json": verdict_artifact("a/claim", "reproduced"),
                                      "b.json": verdict_artifact("b/claim", "not_reproduced")})
    within = verdicts.within(verdicts.read(folder), {"a/claim"})
    strict = verdicts.read(folder, catalogue={"a/claim"})
    assert list(within.verdicts) == list(strict.verdicts) == ["a/claim"]
    assert within.dropped == strict.dropped == ["b/claim (b.json)"]
    opened = _counting_reads(monkeypatch)
    monkeypatch.chdir(tmp_path)                      # no ./claims: no catalogue
    assert main(["gate", str(folder)]) == 1          # b/claim is not reproduced
    assert sorted(opened) == ["a.json", "b.json"]
    page = (folder / "index.html").read_text()
    assert "a/<wbr>claim" in page and "b/<wbr>claim" in page     # the report shows every verdict read
    assert json.loads((folder / "gate.json").read_text())["failures"][0]["claim"] == "b/claim"


def test_merge_copies_each_verdict_as_read_and_reads_it_once(tmp_path, monkeypatch):
    from harness.cli import main

    shard = tmp_path / "s"
    (shard / "verdicts").mkdir(parents=True)
    texts = {}
    for cid, status in (("a/claim", "reproduced"), ("b/claim", "blocked")):
        text = json.dumps(verdict_artifact(cid, status), separators=(",", ":"))   # not the harness's layout
        name = cid.replace("/", "__") + ".json"
        (shard / "verdicts" / name).write_text(text)
        texts[name] = text
    opened = _counting_reads(monkeypatch)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "merged"
    assert main(["merge", str(out), str(shard)]) == 0
    assert sorted(opened) == sorted(texts)            # merge, its gate and its report: one read each
    for name, text in texts.items():
        copied = out / "verdicts" / name
        assert copied.read_text() == text             # byte for byte what the reader checked
        assert copied.stat().st_mode & 0o777 == 0o666 & ~_umask()
        assert copied.stat().st_ino == (shard / "verdicts" / name).stat().st_ino   # one filesystem: a link
    assert sorted(p.name for p in out.glob("verdicts/*")) == sorted(texts)   # no temporaries left
    page = (out / "index.html").read_text()
    assert "verdicts/a__claim.json" in page and "verdicts/b__claim.json" in page
    assert {r["claim"] for r in json.loads((out / "summary.json").read_text())["claims"]} == {"a/claim", "b/claim"}
    assert verdicts.read(out).verdicts == verdicts.read(shard).verdicts


def _umask() -> int:
    import os

    old = os.umask(0o022)
    os.umask(old)
    return old


def test_a_merged_verdict_never_changes_with_its_shard(tmp_path, monkeypatch):
    """Linked or copied, the merged folder keeps the verdicts it checked: the harness replaces a
    shard's verdict file (a new file renamed into place), never edits it, and --copy shares nothing."""
    from harness.atomic import write_atomic
    from harness.cli import main

    shard = tmp_path / "s"
    shard.mkdir()
    _folder(shard, {"a.json": verdict_artifact("a/claim", "reproduced")})
    before = (shard / "verdicts" / "a.json").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["merge", str(tmp_path / "linked"), str(shard)]) == 0
    assert main(["merge", str(tmp_path / "copied"), str(shard), "--copy"]) == 0
    assert (tmp_path / "copied" / "verdicts" / "a__claim.json").stat().st_ino != (shard / "verdicts" / "a.json").stat().st_ino
    write_atomic(shard / "verdicts" / "a.json", json.dumps(verdict_artifact("a/claim", "not_reproduced")))   # a rerun
    for out in ("linked", "copied"):
        assert (tmp_path / out / "verdicts" / "a__claim.json").read_text() == before
        assert verdicts.read(tmp_path / out).verdicts["a/claim"]["verdict"]["status"] == "reproduced"


def test_a_shard_file_replaced_after_it_was_read_is_placed_as_the_text_that_was_checked(tmp_path):
    """Between the read and the link, the shard's file may be replaced: the link would then be
    another file than the one checked, so the checked text is written instead."""
    from harness.atomic import write_atomic
    from harness.report.shards import _place

    (tmp_path / "s").mkdir()
    shard = _folder(tmp_path / "s", {"a.json": verdict_artifact("a/claim", "reproduced")})
    found = verdicts.read(shard, keep_text=True)
    checked, seen = found.texts["a/claim"], found.sources["a/claim"]
    write_atomic(shard / "verdicts" / "a.json", json.dumps(verdict_artifact("a/claim", "error")))     # swapped after the read
    (tmp_path / "out").mkdir()
    placed = _place(checked, shard / "verdicts" / "a.json", seen, tmp_path / "out" / "a.json", link=True)
    assert placed.read_text() == checked
    assert placed.stat().st_ino != (shard / "verdicts" / "a.json").stat().st_ino
    same = _place(checked, shard / "verdicts" / "a.json", seen, tmp_path / "out" / "b.json", link=False)
    assert same.read_text() == checked and len(list((tmp_path / "out").iterdir())) == 2
