"""The CLI's catalogue commands: ``list``, ``check``, ``new`` and ``compare``.

Kept apart from ``harness.cli`` (which wires the parser) so each command stays small. Every
command that writes validates first and writes nothing on error (HarnessError -> exit 2).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import yaml

from harness.errors import ClaimFileError, HarnessError, RecordError
from harness.statuses import ERROR, MISCITED, REPRODUCED


# ---------------------------------------------------------------------- shared
def read_run(folder: Path, role: str = "reports") -> dict[str, dict]:
    """Claim id -> display row (harness.report.summary.row) from a reports folder's verdicts, read
    by the one reader (harness.report.verdicts: schema version, one file per claim)."""
    from harness.report.summary import row
    from harness.report.verdicts import read

    folder = Path(folder)
    if not (folder / "verdicts").is_dir():
        raise HarnessError(f"{folder}: no verdicts/ folder (is this a reports folder?)")
    found = read(folder, role=role)
    return {cid: row(art, f"verdicts/{found.files[cid].name}") for cid, art in found.verdicts.items()}


def _table(head: tuple, body: list[tuple]) -> list[str]:
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*head).rstrip(), line.format(*("-" * w for w in widths))] + \
        [line.format(*map(str, b)).rstrip() for b in body]


# ---------------------------------------------------------------------- list
def cmd_list(args) -> int:
    from harness.claims.records import load_tree
    from harness.plugin_reporting import marker_names

    claims = load_tree(_folder(args.claims))
    last = {}
    reports = Path(args.reports)
    if (reports / "verdicts").is_dir():
        last = read_run(reports)
    body = []
    for c in claims:
        marks = marker_names(c)
        if args.paper and c.cited.paper != args.paper:
            continue
        if args.kind and c.kind != args.kind:
            continue
        if args.source and c.cited.source != args.source:
            continue
        if args.marker and args.marker not in marks:
            continue
        status = last[c.id]["status"] if c.id in last else "not run"
        if args.status and status != args.status:
            continue
        unit = {"percent": " %", "millions": "M"}.get(c.printed.scale, "")
        body.append((c.id, c.kind, c.cited.source or "-", f"{c.printed.value}{unit}",
                     status + (f" (expect {c.record['expect']})" if c.record.get("expect") else "")))
    if args.json:
        keys = ("claim", "kind", "source", "reported", "last_status")
        print(json.dumps([dict(zip(keys, b)) for b in body], indent=2))
        return 0
    for line in _table(("claim", "kind", "source", "reported", f"last status ({reports})"), body):
        print(line)
    print(f"{len(body)} of {len(claims)} claims")
    return 0


def _folder(value) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise HarnessError(f"{path}: no such folder")
    return path


# ---------------------------------------------------------------------- check
def cmd_check(args) -> int:
    """Every claim file and paper record parsed and validated; all problems listed, not just the first."""
    from harness.claims.audit import MISMATCH, audit
    from harness.claims.papers import load_papers
    from harness.claims.records import claim_files, load_file

    problems: list[str] = []
    count = files = 0
    for target in args.paths or ["claims"]:
        target = Path(target)
        if not target.exists():
            problems.append(f"{target}: no such file or folder")
            continue
        root = target if target.is_dir() else target.parent
        try:
            papers = load_papers(root)
        except RecordError as exc:
            problems.append(str(exc))
            papers = {}
        seen: dict[str, str] = {}
        for path in claim_files(root) if target.is_dir() else [target]:
            files += 1
            try:
                claims = load_file(path, root)
            except RecordError as exc:
                problems.append(str(exc))
                continue
            for c in claims:
                count += 1
                if c.id in seen:
                    problems.append(str(ClaimFileError(path, f"duplicate claim id (first in {seen[c.id]})",
                                                       record=c.id, field="id")))
                seen[c.id] = str(path)
                result = audit(c, papers)
                if result.status == MISMATCH and c.record.get("expect") != MISCITED:
                    problems.append(str(ClaimFileError(path, "citation does not match the paper record: "
                                                       + "; ".join(result.findings), record=c.id, field="citation")))
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    print(f"{count} claims in {files} files: " + (f"{len(problems)} problem(s)" if problems else "ok"))
    return 1 if problems else 0


# ---------------------------------------------------------------------- new
SCALE_OF_UNIT = {"percent": "percent", "millions": "millions", "count": "units", "number": "units"}
TASK_KINDS = ("classification", "regression", "span_extraction")   # scaffolded from the column's task


def _kinds_measuring(metric: str) -> list[str]:
    from harness import kinds

    return [k.name for k in kinds.discover().values() if metric in k.metrics]


def _from_example(record: dict, kind_name: str) -> dict:
    """A claim of a kind scaffold knows nothing about: the kind's own example measure block."""
    import copy

    from harness import kinds

    record["measure"] = copy.deepcopy(kinds.get(kind_name).example)
    record["tolerance"] = {"value": 0, "reason": f"scaffolded from the {kind_name} kind's example: "
                                                 "set the measure block and the allowance"}
    return record


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", str(text).lower()).strip("-") or "x"


def scaffold(papers: dict, *, paper: str, table: str | None = None, row: str | None = None,
             column: str | None = None, metric: str | None = None, checkpoint: str | None = None,
             claim_id: str | None = None, statement: str | None = None, model_type: str | None = None,
             claims_root: Path | None = None) -> dict:
    """A claim record for one printed cell (table, row, column) or one prose statement, value and
    page taken from the paper record. ``claims_root``: the claims folder whose run-spread tables a
    claim on a chosen checkpoint cites (claims/spreads/)."""
    from harness.claims import tasks

    where = f"paper record {paper}"
    p = papers.get(paper)
    if p is None:
        raise ClaimFileError(where, f"no paper record for {paper} (known: {', '.join(sorted(papers)) or 'none'})",
                             field="paper")
    if statement is not None:
        if table or row or column:
            raise ClaimFileError("--statement", "cite a statement or a table cell, not both", field="statement")
        return _scaffold_statement(p, statement, metric=metric, claim_id=claim_id, model_type=model_type)
    missing = [f"--{n}" for n, v in (("table", table), ("row", row), ("column", column)) if not v]
    if missing:
        raise ClaimFileError("new", f"name the cell ({', '.join(missing)} missing) or a prose statement "
                             "(--statement)", field=missing[0].lstrip("-"))
    t = p.table(table)
    if t is None:
        raise ClaimFileError(p.path, f"no table {table!r} (tables: {', '.join(p.tables)})", field="table")
    r, col = t.row(row), t.column(column)
    if r is None:
        raise ClaimFileError(p.path, f"{t.id} has no row {row!r} (rows: {', '.join(t.rows)})", field="row")
    if col is None:
        raise ClaimFileError(p.path, f"{t.id} has no column {column!r} (columns: "
                             f"{', '.join(c.name for c in t.columns)})", field="column")
    values = t.rows[r].get(col.name, ())
    if not values:
        raise ClaimFileError(p.path, f"{t.id}, row {r!r} prints nothing in column {col.name!r}", field="column")
    if metric is None and len(values) > 1:
        raise ClaimFileError(p.path, f"cell {'/'.join(v.printed for v in values)!r} holds "
                             f"{', '.join(v.metric for v in values)}: pass --metric", field="metric")
    value = next((v for v in values if metric in (None, v.metric)), None)
    if value is None:
        raise ClaimFileError(p.path, f"cell holds {', '.join(v.metric for v in values)}, not {metric!r}",
                             field="metric")
    if value.unit not in SCALE_OF_UNIT or value.decimal is None:
        raise ClaimFileError(p.path, f"unit {value.unit!r} of {value.printed!r} cannot be a claim yet "
                             f"({', '.join(SCALE_OF_UNIT)})", field="unit")
    measured_by = _kinds_measuring(value.metric)
    if not measured_by:
        raise ClaimFileError(p.path, f"no measurement kind measures {value.metric!r} (harness.kinds, plugins' "
                             "included)", field="metric")
    printed = value.printed.rstrip("Mx")
    record = {
        "id": claim_id or f"{p.arxiv_id}/{_slug(t.id).replace('-', '')}/{_slug(r)}/{_slug(col.name)}-{value.metric}",
        "citation": {"source": "paper", "paper": p.arxiv_id, "version": p.version, "table": t.id, "row": r,
                     "column": col.name, "page": t.page, "quote": f"{r} ... {col.name} {value.printed}"},
        "reported": {"value": printed, "metric": value.metric, "scale": SCALE_OF_UNIT[value.unit]},
    }
    if value.metric == "parameter_count":
        family = _model_type(model_type, r)
        record["measure"] = _count_block(family, _architecture(t, r, family))
        record["tolerance"] = {"value": 0, "reason": "a count is exact; the printed rounding gives the band"}
        return record
    if not set(measured_by) & set(TASK_KINDS):   # a kind of its own (a plugin's): its example block
        return _from_example(record, measured_by[0])
    task = tasks.find(col.task or col.name) or tasks.find(col.name)
    if task is None:
        raise ClaimFileError(p.path, f"cannot tell the dataset of column {col.name!r} (known: "
                             f"{', '.join(tasks.TASKS)})", field="column")
    if checkpoint:
        import argparse

        from harness.options import checkpoint as parse_checkpoint

        try:
            repo, rev = parse_checkpoint(checkpoint)
        except argparse.ArgumentTypeError as exc:
            raise ClaimFileError("--checkpoint", str(exc), field="checkpoint") from None
        ckpt = {"repo": repo, "revision": rev, "origin": "community"}
    else:
        ckpt = {"unavailable": "not chosen yet (scaffolded by `claims-harness new`): set measure.checkpoint"}
    record["measure"] = tasks.measure_block(task, checkpoint=ckpt, max_length=512,
                                            slice_={"size": "all", "seed": 0, "stratified": True})
    record["paper_protocol"] = {"split": "validation", "metric": value.metric,
                                "max_length": record["measure"]["max_length"], "whole_split": True}
    if "repo" in ckpt:   # the authors' run is not the checkpoint measured here (none chosen: nothing to spread)
        record["run_spread"] = _spread_for(claims_root, record["measure"]["dataset"], value.metric)
    record["tolerance"] = {"value": 0, "reason": "no systematic allowance: re-run variation is the run spread"}
    return record


def _spread_for(claims_root: Path | None, dataset: dict, metric: str) -> dict:
    """The run spread of a scaffolded claim: the catalogue's spread table that lists its task and
    metric, else ``unknown`` saying so (the verdict is then inconclusive, not judged on no spread)."""
    from harness.claims import spreads

    task = f"{dataset['repo']}/{dataset['config']}"
    name = spreads.table_for(claims_root, task, metric) if claims_root is not None else None
    if name is not None:
        return {"table": name}
    return {"unknown": f"no run-spread table in the claims folder's spreads/ lists {task}, {metric}: add a "
                       "sourced entry there, or state the spread (run_spread: {sd, source})"}


def _scaffold_statement(p, statement: str, *, metric: str | None, claim_id: str | None,
                        model_type: str | None) -> dict:
    """A claim citing a number printed in prose (a paper record's ``statements``)."""
    st = p.statement(statement)
    if st is None:
        raise ClaimFileError(p.path, f"no statement {statement!r} (statements: {', '.join(p.statements) or 'none'})",
                             field="statement")
    if metric is None and len(st.values) > 1:
        raise ClaimFileError(p.path, f"statement {st.id} states {', '.join(v.metric for v in st.values)}: "
                             "pass --metric", field="metric")
    value = next((v for v in st.values if metric in (None, v.metric)), None)
    if value is None:
        raise ClaimFileError(p.path, f"statement {st.id} states {', '.join(v.metric for v in st.values)}, "
                             f"not {metric!r}", field="metric")
    if value.metric != "parameter_count" or value.unit != "millions" or value.decimal is None:
        raise ClaimFileError(p.path, f"{value.metric} in {value.unit} from a statement cannot be scaffolded yet "
                             "(parameter counts in millions can; write other claims by hand)", field="metric")
    record = {
        "id": claim_id or f"{p.arxiv_id}/{_slug(st.id)}-{value.metric}",
        "citation": {"source": "paper", "paper": p.arxiv_id, "version": p.version, "statement": st.id,
                     "page": st.page, "quote": st.quote, **({"section": st.section} if st.section else {})},
        "reported": {"value": str(value.decimal), "metric": value.metric, "scale": SCALE_OF_UNIT[value.unit]},
        "measure": _count_block(_model_type(model_type, st.subject or st.id), {}),
        "tolerance": {"value": 0, "reason": "a count is exact; the printed rounding gives the band"},
    }
    return record


def _model_type(given: str | None, name: str) -> str:
    """The transformers model_type of a parameter count: as given, or the first word of the row or
    statement subject ("DistilBERT base" -> distilbert); checked against transformers."""
    from harness.measure.params import ArchitectureError, config_class

    family = given or re.sub(r"[^a-z0-9_-]", "", (str(name).split() or [""])[0].lower().split("-")[0])
    try:
        config_class(family)
    except ArchitectureError as exc:
        raise ClaimFileError("--model-type", f"{exc}{'' if given else f' (guessed from {name!r})'}; pass "
                             "--model-type", field="model_type") from None
    return family


def _count_block(family: str, config: dict) -> dict:
    block = {"kind": "parameter_count", "include_pooler": True, "architecture": {"family": family, "config": config}}
    if not config:
        block["convention"] = (f"the transformers default {family} configuration (AutoConfig.for_model); check "
                               "it against the paper")
    return block


def _architecture(t, r: str, family: str) -> dict:
    """hidden/layers/embedding from the same row (Table 1 style), heads H/64 and FFN 4H as in BERT,
    in the config fields the family has (the vocabulary and the rest: the family's defaults);
    {} (its default config) when the row has no such cells."""
    from harness.measure.params import config_fields

    cells = {c.name.lower(): t.rows[r].get(c.name, ()) for c in t.columns}

    def cell(name):
        v = cells.get(name, ())
        return int(v[0].decimal) if v and v[0].decimal is not None else None

    hidden, layers, emb = cell("hidden"), cell("layers"), cell("embedding")
    if hidden is None or layers is None:
        return {}
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": max(1, hidden // 64),
              "intermediate_size": 4 * hidden}
    if emb is not None:
        config["embedding_size"] = emb
    known = config_fields(family)
    return {k: v for k, v in config.items() if k in known}


def cmd_new(args) -> int:
    from harness.claims.audit import MISMATCH, audit
    from harness.claims.papers import load_papers
    from harness.claims.records import load_file, load_tree
    from harness.report.artifacts import write_atomic

    root = _folder(args.claims)
    if args.output not in (None, "-"):
        _check_claim_destination(Path(args.output), root)
    papers = load_papers(root)
    record = scaffold(papers, paper=args.paper, table=args.table, row=args.row, column=args.column,
                      metric=args.metric, checkpoint=args.checkpoint, claim_id=args.id,
                      statement=args.statement, model_type=args.model_type, claims_root=root)
    text = ("# Scaffolded by `claims-harness new`; check the measurement block before running.\n"
            + yaml.safe_dump({"claims": [record]}, sort_keys=False, allow_unicode=True, width=100))
    with tempfile.TemporaryDirectory() as tmp:      # validate exactly what would be written
        probe = Path(tmp) / "new-claim.yaml"
        probe.write_text(text, encoding="utf-8")
        claim = load_file(probe, root)[0]
    if claim.id in {c.id for c in load_tree(root)}:
        raise ClaimFileError(args.output or "-", f"claim id already in {root}", record=claim.id, field="id")
    result = audit(claim, papers)
    if result.status == MISMATCH:
        raise ClaimFileError(args.output or "-", "; ".join(result.findings), record=claim.id, field="citation")
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists():
        raise HarnessError(f"{out} exists; write the new claim to a new file (or to stdout with -o -)")
    write_atomic(out, text)
    print(f"wrote {out} (claim {claim.id}, {record['reported']['value']} {record['reported']['scale']}, "
          f"page {record['citation']['page']})")
    return 0


def _check_claim_destination(out: Path, root: Path) -> None:
    """``new -o`` writes only where the claim will be loaded: a .yaml file inside the claims
    folder, not in papers/ or spreads/ (never loaded as claims; a claim file in papers/ breaks
    ``check``). Refused before anything is written."""
    from harness.claims.records import NOT_CLAIMS

    where = out.resolve()
    base = root.resolve()
    if out.suffix not in (".yaml", ".yml"):
        raise HarnessError(f"{out}: a claim file ends in .yaml (or .yml), or it is never loaded")
    if not where.is_relative_to(base):
        raise HarnessError(f"{out} is not inside the claims folder {root}: a claim written there is never "
                           f"loaded by `pytest {root}` or `check`; write it under {root}/ (or pass --claims)")
    inside = set(where.relative_to(base).parts[:-1]) & set(NOT_CLAIMS)
    if inside:
        raise HarnessError(f"{out} is in {root}/{sorted(inside)[0]}/, which holds "
                           f"{'paper records' if 'papers' in inside else 'run-spread tables'}, not claims "
                           f"(never loaded as claims there); write it elsewhere under {root}/")


# ---------------------------------------------------------------------- compare
def regressed(a: dict | None, b: dict | None) -> str | None:
    """Why B is worse than A for one claim, or None. A claim that is an error in B and was not
    one in A (or was not in A at all) is a regression: a new claim that errors counts too."""
    if b is not None and b["status"] == ERROR and (a is None or a["status"] != ERROR):
        return "now an error" if a is not None else "new in B, and an error"
    if a is None:
        return None
    if b is None:
        return "missing in B"
    met_a = a["status"] == a["expect"] if a.get("expect") else a["status"] == REPRODUCED
    met_b = b["status"] == b["expect"] if b.get("expect") else b["status"] == REPRODUCED
    if met_a and not met_b:
        return f"{a['status']} -> {b['status']}"
    return None


def cmd_compare(args) -> int:
    """Fails closed: either run unreadable (a bad file, a newer schema, two files for one claim),
    empty, cut short, or the two sharing no claim is exit 2, not "0 regressions"."""
    from harness.report.summary import measured_text
    from harness.report.verdicts import cut_short, read_run as read_record

    a, b = read_run(Path(args.run_a), "RUN_A"), read_run(Path(args.run_b), "RUN_B")
    for name, folder, rows in (("RUN_A", args.run_a, a), ("RUN_B", args.run_b, b)):
        if not rows:
            raise HarnessError(f"{name} {folder} holds no verdicts: there is nothing to compare")
        why = cut_short(Path(folder), read_record(Path(folder)))
        if why:
            raise HarnessError(f"{name}: {why}; compare whole runs")
    if not set(a) & set(b):
        raise HarnessError(f"RUN_A {args.run_a} and RUN_B {args.run_b} share no claim (another paper or "
                           "catalogue?): nothing to compare")
    body, bad = [], 0
    for cid in sorted(set(a) | set(b)):
        ra, rb = a.get(cid), b.get(cid)
        why = regressed(ra, rb)
        bad += why is not None
        change = f"REGRESSION: {why}" if why else ("same" if ra and rb and ra["status"] == rb["status"]
                                                   else "new" if ra is None else "changed")
        body.append((cid, ra["status"] if ra else "-", measured_text(ra) if ra else "-",
                     rb["status"] if rb else "-", measured_text(rb) if rb else "-", change))
    for line in _table(("claim", "A status", "A measured", "B status", "B measured", "change"), body):
        print(line)
    print(f"A = {args.run_a}, B = {args.run_b}: {bad} regression(s)")
    return 1 if bad else 0
