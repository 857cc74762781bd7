"""Blocked, not broken: assets that are missing or do not fit the claim are named before inference.

One shared plugin run (a tiny ALBERT mirror with MRPC only) holds a claim whose max_length is
beyond the model's positions, one on a GLUE config the mirror lacks, one on a checkpoint that
was never published and one that measures; the unit tests cover what that run cannot (a
sub-folder of claims, the bounded reads, the history window, the link filter).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from harness import cli
from harness.atomic import FileRefused, FolderLock, FolderUnwritable, read_bounded
from tests.helpers import claims_folder, read_verdicts, tiny_claim, write_claims
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]
UNPUBLISHED = {"unavailable": "no public checkpoint of this fine-tune (the authors never released it)"}


@pytest.fixture(scope="module")
def blocked_run(tiny_mirror, tmp_path_factory):
    project = tmp_path_factory.mktemp("blocked") / "project"
    claims = claims_folder(project / "claims")
    long = tiny_claim("tiny/too-long")
    long["measure"]["max_length"] = 512
    cola = tiny_claim("tiny/cola")
    cola["measure"]["dataset"].update(config="cola", text_fields=["sentence"], positive_label="acceptable")
    never = tiny_claim("tiny/never-published")
    never["measure"]["checkpoint"] = UNPUBLISHED
    write_claims(claims, "c.yaml", [long, cola, never, tiny_claim("tiny/fits", size=20)])
    run = run_pytest(project, "claims", f"--claims-mirror={tiny_mirror}", "--claims-no-cache", "-n", "0", "-rA")
    return run, read_verdicts(project / "reports")


def _blocked(verdicts, name) -> dict:
    """The claim's post verdict, which must be blocked."""
    post = verdicts[name]["verdicts"]["post"]
    assert post["status"] == "blocked", post
    return post


@pytest.mark.e2e
@pytest.mark.xdist_group("blocked-run")
def test_a_checkpoint_with_too_few_positions_is_blocked_before_inference(blocked_run):
    run, verdicts = blocked_run
    post = _blocked(verdicts, "tiny__too-long.json")
    assert "128 position embeddings" in post["reason"] and "max_length is 512" in post["reason"]
    assert "config.json" in post["reason"] and "at least 512 positions" in post["reason"]
    assert "measurement" not in verdicts["tiny__too-long.json"] or not verdicts["tiny__too-long.json"]["measurement"]
    assert "RuntimeError" not in run.out and "size of tensor" not in run.out
    from harness.report.next_steps import for_claim

    step = for_claim(verdicts["tiny__too-long.json"], {"status": "blocked"})
    assert step.startswith("Measure a checkpoint with at least 512 positions") and "prefetch" not in step


@pytest.mark.e2e
@pytest.mark.xdist_group("blocked-run")
def test_a_glue_config_absent_from_the_mirror_is_blocked_and_names_it(blocked_run):
    _, verdicts = blocked_run
    post = _blocked(verdicts, "tiny__cola.json")
    assert "config cola" in post["missing"]
    assert any("no config folder 'cola'; it holds: mrpc" in t for t in post["tried"]), post["tried"]
    assert "python -m harness prefetch" in post["reason"]


@pytest.mark.e2e
@pytest.mark.xdist_group("blocked-run")
def test_a_checkpoint_never_published_gets_no_download_advice(blocked_run):
    run, verdicts = blocked_run
    post = _blocked(verdicts, "tiny__never-published.json")
    assert "never released" in post["reason"] and "No download or mirror can help" in post["reason"]
    for advice in ("--claims-download", "prefetch", "put the repo in the mirror"):
        assert advice not in post["reason"], post["reason"]
    assert verdicts["tiny__fits.json"]["verdicts"]["post"]["status"] not in ("blocked", "error")
    assert run.ret == 0, run.tail()


# ---------------------------------------------------------------------- claims in a sub-folder
def _catalogue_with_subfolder(tmp_path: Path) -> Path:
    claims = claims_folder(tmp_path / "claims")
    code = cli.main(["new", "--claims", str(claims), "--paper", "1909.11942", "--table", "Table 2", "--row",
                     "ALBERT base", "--column", "SST-2", "--checkpoint", "textattack/albert-base-v2-SST-2@main",
                     "-o", str(claims / "mine" / "sst2.yaml")])
    assert code == 0
    assert "table" in yaml.safe_load((claims / "mine" / "sst2.yaml").read_text())["claims"][0]["run_spread"]
    return claims


def test_check_accepts_the_claim_new_wrote_into_a_subfolder(tmp_path, capsys):
    claims = _catalogue_with_subfolder(tmp_path)
    capsys.readouterr()
    for target in (claims / "mine" / "sst2.yaml", claims / "mine", claims):
        assert cli.main(["check", str(target)]) == 0, capsys.readouterr()
        assert "ok" in capsys.readouterr().out


def test_a_papers_folder_above_the_project_is_not_its_paper_records(tmp_path, capsys):
    """The walk up from a sub-folder stops at the project's root: a stray papers/ above it (notes,
    another project's) is not read, so it cannot stop this project's check or run."""
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "notes.yaml").write_text("not: a paper record\n")
    project = tmp_path / "project"
    claims = project / "claims"
    (claims / "cards").mkdir(parents=True)
    write_claims(claims / "cards", "c.yaml", [tiny_claim("t/card")])
    (project / "pytest.ini").write_text("[pytest]\n")
    for target in (claims, claims / "cards"):
        assert cli.main(["check", str(target)]) == 0, capsys.readouterr()
    capsys.readouterr()
    shutil.copytree(ROOT / "claims" / "papers", claims / "papers")      # the project's own are found again
    from harness.claims.papers import load_papers

    assert list(load_papers(claims / "cards")) == ["1909.11942"]


@pytest.mark.e2e
def test_pytest_on_a_subfolder_says_why_nothing_ran_and_the_command_that_runs_it(tmp_path):
    claims = _catalogue_with_subfolder(tmp_path / "project")
    project = claims.parent
    (project / "pytest.ini").write_text("[pytest]\n")
    env = {"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}
    empty = run_pytest(project, "claims/mine", "-n", "0", env=env)
    assert empty.ret == 5, empty.tail()
    assert "claims/mine holds claim files but no test module" in empty.out
    assert "`pytest claims --claims-dir=claims/mine`" in empty.out
    run = run_pytest(project, "claims", "--claims-dir=claims/mine", "-n", "0", "-rA", env=env)
    assert run.outcomes() == {"skipped": 1}, run.tail()                 # blocked (no mirror), not miscited
    art = read_verdicts(project / "reports")["1909.11942__table2__albert-base__sst-2-accuracy.json"]
    assert art["verdicts"]["pre"]["status"] != "miscited", art["verdicts"]["pre"]
    assert art["verdict"]["status"] == "blocked"


# ---------------------------------------------------------------------- files we read and the lock
def test_bounded_reads_refuse_devices_fifos_and_oversized_files(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 101)
    with pytest.raises(FileRefused, match="101 bytes, more than the 100"):
        read_bounded(big, 100)
    assert read_bounded(big, 101) == b"x" * 101
    with pytest.raises(FileRefused, match="character device"):
        read_bounded(Path("/dev/zero"), 1 << 20)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileRefused, match="FIFO"):
        read_bounded(tmp_path / "fifo", 100)          # opened non-blocking: no writer, no hang


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_kept(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / ".claims.lock").symlink_to(precious)
    with pytest.raises(FolderUnwritable, match="symbolic link"):
        FolderLock(reports).acquire()
    assert precious.read_text() == "keep me\n"


def test_a_claim_file_linked_to_dev_zero_stops_collection_with_its_name(tmp_path):
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    (claims / "zero.yaml").symlink_to("/dev/zero")
    run = run_pytest(project, "claims", "-n", "0", env={"CLAIMS_MIRROR": None})
    assert run.ret not in (0, 5) and "zero.yaml: not a regular file (a character device)" in run.out, run.tail()
    assert "MemoryError" not in run.out


# ---------------------------------------------------------------------- report: history window, links
def test_the_report_draws_only_the_latest_runs(tmp_path):
    from harness.report import history

    db = tmp_path / "history.sqlite"
    con = history._connect(db)
    with con:
        for i in range(history.MAX_RUNS + 50):
            run = con.execute("INSERT INTO runs (started, reports) VALUES (?, ?)", (f"2026-01-01T00:{i:04d}", "r"))
            con.execute("INSERT INTO results (run_id, claim, status, measured) VALUES (?, 'p/x', 'reproduced', ?)",
                        (run.lastrowid, float(i)))
    con.close()
    points = history.load(db)["p/x"]
    assert len(points) == history.MAX_RUNS
    assert [p["measured"] for p in points] == [float(i) for i in range(50, history.MAX_RUNS + 50)]
    assert len(history.load(db, max_runs=10)["p/x"]) == 10
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == history.MAX_RUNS + 50


@pytest.mark.parametrize("url", ["/\\evil.example", "\\\\evil.example", "\\/evil.example", "https:\\\\evil.example",
                                 "https:/\\evil.example", "http:evil.example", "https://arxiv.org@evil.example/",
                                 "//evil.example", "/\t/evil.example", "java\tscript:alert(1)", "\x00//evil.example",
                                 "https://evil.example\\@arxiv.org"])
def test_links_a_browser_would_open_off_site_are_dropped(url):
    from harness.report.render import safe_url

    assert safe_url(url) is None


def test_plain_links_are_kept():
    from harness.report.render import safe_url

    for url in ("https://arxiv.org/abs/1909.11942v6", "verdicts/a.json", "/reports/index.html", "#top",
                "https://huggingface.co/textattack/albert-base-v2-MRPC"):
        assert safe_url(url) == url


def test_claims_checkpoint_refuses_what_the_claim_schema_refuses():
    import argparse

    import jsonschema

    from harness import schemas
    from harness.options import checkpoint

    repo = schemas.load("claim")["$defs"]["repo"]
    for text in ("../x", "a/..", "./a", "a/.", "a/b/c", "a"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(text, repo)
        with pytest.raises(argparse.ArgumentTypeError):
            checkpoint(text + "@main")
    for text in ("a/b\n@main", "a/b@../main", "a/b@main/./x"):
        with pytest.raises(argparse.ArgumentTypeError):
            checkpoint(text)
    assert checkpoint("textattack/albert-base-v2-MRPC@main") == ("textattack/albert-base-v2-MRPC", "main")


def test_a_squad_answer_missing_from_its_context_is_scored_and_counted(tmp_path):
    """As the official scripts do (they never read the paragraph); only a misaligned file is refused."""
    from harness.measure.qa_data import load_qa_split
    from tests.tiny_qa import SPLIT_FILE, qa_rows, write_split

    rows = qa_rows(40, seed=3)
    rows["answers"][7] = {"text": ["nowhere in the paragraph"], "answer_start": [0]}
    write_split(tmp_path / "plain_text" / SPLIT_FILE, rows)
    split = load_qa_split(tmp_path, {"config": "plain_text", "split": "validation"})
    assert len(split["ids"]) == 40 and split["answers"][7] == ["nowhere in the paragraph"]
    assert split["integrity"] == {"answers_not_in_context": 1, "ids_not_in_context": [rows["id"][7]]}


def test_positions_follow_the_architecture():
    from harness.measure.fitness import positions

    assert positions({"model_type": "albert", "max_position_embeddings": 512}) == 512
    assert positions({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1}) == 512
    assert positions({"model_type": "roberta", "max_position_embeddings": 514}) == 512      # RoBERTa's pad, 1
    assert positions({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 0}) == 513
    assert positions({"model_type": "gpt2", "n_positions": 1024}) == 1024
    assert positions({"model_type": "deberta-v2", "max_position_embeddings": 512,
                      "position_biased_input": False}) is None          # relative positions only
    assert positions({"model_type": "t5"}) is None
