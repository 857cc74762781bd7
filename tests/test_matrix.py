"""Claims x checkpoints: one run of the catalogue over two tiny ALBERT checkpoints in a mirror.

Each (claim, checkpoint) pair is its own case and verdict artifact; summary.md and matrix.html
hold the table (claims down, checkpoints across); the cases of one checkpoint run on one xdist
worker (-n auto starts workers for the checkpoints named) and fall in one shard; a parameter count, which runs no model, is measured once.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import TINY_REVISION, claims_folder, read_verdicts, tiny_claim, write_claims
from tests.runs import WRONG_CARD_CLAIM, run_pytest

A, B = "tiny/albert-mrpc", "tiny/albert-other"
COLUMNS = [f"{A}@{TINY_REVISION[:12]}", f"{B}@{TINY_REVISION[:12]}"]
MATRIX = pytest.mark.xdist_group("matrix-run")


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory, tiny_mirror):
    from tests.tiny_albert import build_tiny_albert

    base = tmp_path_factory.mktemp("matrix")
    mirror = base / "mirror"
    (mirror / "models" / "tiny").mkdir(parents=True)
    (mirror / "models" / "tiny" / "albert-mrpc").symlink_to(tiny_mirror / "models" / "tiny" / "albert-mrpc")
    (mirror / "datasets").symlink_to(tiny_mirror / "datasets")
    build_tiny_albert(mirror / "models" / B, seed=1, id2label={0: "not_equivalent", 1: "equivalent"})
    project = base / "project"
    claims = claims_folder(project / "claims")
    # the claims' own checkpoint is one nobody has: every cell is measured on a checkpoint named below
    write_claims(claims, "tiny.yaml", [tiny_claim("tiny/mrpc/f1", repo="someorg/absent", size=24),
                                       tiny_claim("tiny/mrpc/acc", repo="someorg/absent", size=24, metric="accuracy")])
    write_claims(claims, "count.yaml", [WRONG_CARD_CLAIM])
    listing = project / "checkpoints.txt"
    listing.write_text(f"# the two tiny checkpoints\n{A}@{TINY_REVISION}\n\n{B}@{TINY_REVISION}  # seed 1\n")
    env = {"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}
    run = run_pytest(project, "claims", f"--claims-mirror={mirror}", f"--claims-checkpoints={listing}",
                     f"--claims-reports={project / 'reports'}", "--claims-no-cache", "-v", "-n", "auto", env=env)
    flags = [f"--claims-checkpoint={A}@{TINY_REVISION}", f"--claims-checkpoint={B}@{TINY_REVISION}"]
    shards = [run_pytest(project, "claims", f"--claims-mirror={mirror}", *flags, f"--claims-shard={i}/2",
                         "--collect-only", "-q", env=env) for i in (1, 2)]
    return {"run": run, "reports": project / "reports", "shards": shards}


@MATRIX
def test_each_claim_and_checkpoint_is_its_own_case_and_artifact(matrix_run):
    run, reports = matrix_run["run"], matrix_run["reports"]
    assert run.outcomes() == {"passed": 4, "failed": 1}, run.tail()      # the count is printed wrong on purpose
    verdicts = read_verdicts(reports)
    cells = {f"{c}@{col}" for c in ("tiny/mrpc/f1", "tiny/mrpc/acc") for col in COLUMNS}
    assert {a["claim_id"] for a in verdicts.values()} == cells | {"card/albert-base/params-wrong"}
    assert len(verdicts) == 5 and all("@" not in name for name in verdicts)     # sanitised, distinct names
    for art in verdicts.values():
        if art["claim_id"] in cells:
            repo = art["claim_id"].split("@")[1]
            assert art["measurement"]["checkpoint"]["repo"] == repo
            assert art["claim"]["id"] in ("tiny/mrpc/f1", "tiny/mrpc/acc")
            devs = [d for d in art["protocol"]["deviations"] if d["what"] == "checkpoint_override"]
            assert devs and devs[0]["here"] == f"{repo}@{TINY_REVISION}" and art["protocol"]["match"] == "proxy"
    # two checkpoints, two models: the cells of one claim are measured apart
    f1 = [verdicts[n]["measurement"]["predictions"] for n in sorted(verdicts) if n.startswith("tiny__mrpc__f1")]
    assert len(f1) == 2 and f1[0] != f1[1]


@MATRIX
def test_the_cases_of_one_checkpoint_share_a_worker_and_a_shard(matrix_run):
    workers: dict[str, set] = {}
    for line in matrix_run["run"].stdout.splitlines():
        found = re.match(r"\[(gw\d+)\].*test_claim\[(.+?)\]", line)
        if found and "@" in found.group(2):
            workers.setdefault(found.group(2).split("@", 1)[1], set()).add(found.group(1))
    # -n auto counts the checkpoints the cases run on (two here), not the claims' own (absent): workers start
    assert sorted(workers) == COLUMNS and all(len(w) == 1 for w in workers.values()), workers
    shards = [{c.split("@", 1)[1] for c in re.findall(r"test_claim\[(.+?)\]", s.stdout) if "@" in c}
              for s in matrix_run["shards"]]
    assert all(len(s) == 1 for s in shards) and shards[0] != shards[1], [s.stdout[-800:] for s in matrix_run["shards"]]


@MATRIX
def test_summary_and_matrix_page_show_claims_down_and_checkpoints_across(matrix_run):
    reports = matrix_run["reports"]
    md = (reports / "summary.md").read_text()
    section = md[md.index("## Claims x checkpoints"):]
    head = next(ln for ln in section.splitlines() if ln.startswith("| claim |"))
    assert head == "| claim | reported | " + " | ".join(f"`{c}`" for c in COLUMNS) + " | `any checkpoint` |"
    summary = json.loads((reports / "summary.json").read_text())
    by_case = {r["claim"]: r for r in summary["claims"]}
    f1_row = next(ln for ln in section.splitlines() if ln.startswith("| `tiny/mrpc/f1` |"))
    cells = [c.strip() for c in f1_row.strip("|").split(" | ")]
    assert cells[1] == "50.0 %" and cells[4] == "-"
    for col, text in zip(COLUMNS, cells[2:4]):
        r = by_case[f"tiny/mrpc/f1@{col}"]
        assert text.startswith(f"**{r['status']}**<br>"), text
        assert f"{r['measured'] * 100:.2f} %" in text             # the measured value, in printed units
    count_row = next(ln for ln in section.splitlines() if ln.startswith("| `card/albert-base/params-wrong` |"))
    assert count_row.count(" - ") == 2 and "11.68M" in count_row and "not_reproduced" in count_row
    page = (reports / "matrix.html").read_text()
    assert page.count("<th>") == 2 + len(COLUMNS) + 1 and all(f"<th>{c}</th>" in page for c in COLUMNS)
    assert page.count('<td class="claim">') == 3
    assert 'href="matrix.html"' in (reports / "index.html").read_text()
    assert "claims x checkpoints: open reports/matrix.html" in matrix_run["run"].stdout


def test_checkpoints_file_errors_name_the_file_and_line(tmp_path):
    import argparse

    from harness import options

    bad = tmp_path / "list.txt"
    bad.write_text("tiny/a@" + "0" * 40 + "\nnot a checkpoint\n")
    with pytest.raises(argparse.ArgumentTypeError, match=r"list.txt, line 2: 'not a checkpoint'"):
        options.checkpoints_file(str(bad))
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(argparse.ArgumentTypeError, match="no checkpoint in it"):
        options.checkpoints_file(str(tmp_path / "empty.txt"))
    from harness.claims import checkpoints

    assert checkpoints.chosen([("a/b", "x")], [("a/b", "x"), ("c/d", "y")]) == [("a/b", "x"), ("c/d", "y")]


def test_merge_and_gate_keep_the_cells_of_catalogue_claims(tmp_path):
    """A cell's id is not a catalogue id, but its claim is: shards of a matrix run merge whole."""
    from harness.report.shards import read_verdicts
    from tests.helpers import verdict_artifact

    folder = tmp_path / "verdicts"
    folder.mkdir()
    for cid, base in (("a/b@org/x@000000000000", "a/b"), ("a/b@org/y@000000000000", "a/b"), ("gone/c", "gone/c")):
        art = verdict_artifact(cid, "reproduced", score=0.9, claim={"id": base})
        (folder / (cid.replace("/", "__").replace("@", "_") + ".json")).write_text(json.dumps(art))
    dropped: list[str] = []
    kept = read_verdicts(tmp_path, catalogue={"a/b"}, dropped=dropped)
    assert sorted(kept) == ["a/b@org/x@000000000000", "a/b@org/y@000000000000"]
    assert [d.split()[0] for d in dropped] == ["gone/c"]
    from harness.report.shards import merge

    missing: dict[str, str] = {}
    merged = merge(tmp_path / "merged", [tmp_path], catalogue={"a/b", "other/d"}, missing_out=missing)
    assert sorted(merged) == sorted(kept) and missing == {"other/d": missing["other/d"]}   # a/b is measured
