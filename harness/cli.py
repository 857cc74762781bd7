"""Command line: ``python -m harness {import-verdict,audit,merge,gate,prefetch,clear-cache}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from harness import kinds, options
from harness.errors import HarnessError
from harness.statuses import MISCITED


def _import(args) -> int:
    from harness.claims.importer import import_file
    from harness.claims.records import load_file
    from harness.report.artifacts import write_atomic

    from harness.claims.papers import load_papers

    _json_object(Path(args.file))
    record = import_file(
        Path(args.file), revision=args.revision, slice_size=args.slice_size, max_length=args.max_length,
        tolerance=args.tolerance, checkpoint=args.checkpoint, scale=args.scale,
        papers=load_papers(Path(args.claims)))
    if args.expect:
        record["expect"] = args.expect
    text = ("# Imported by `python -m harness import-verdict`; edit the measurement, not the citation.\n"
            + yaml.safe_dump({"claims": [record]}, sort_keys=False, allow_unicode=True, width=100))
    _validate_claim_text(text, Path(getattr(args, "claims", None) or "claims"))   # nothing on disk on error
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise HarnessError(f"{out} exists; pass --force to replace it")
    write_atomic(out, text)
    print(f"wrote {out} (claim {record['id']})")
    return 0


def _json_object(path: Path) -> None:
    """The verdict to import must be one JSON object; say which file is not."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: not a readable JSON verdict ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected one verdict (a JSON object), got a JSON {type(data).__name__}")


def _audit(args) -> int:
    """Exit 1 on a citation mismatch that the claim does not declare (expect: miscited)."""
    from harness.claims.audit import MISMATCH, audit
    from harness.claims.papers import load_papers
    from harness.claims.records import load_tree

    root = Path(args.claims)
    if not root.is_dir():
        raise HarnessError(f"{root}: no such folder")
    papers = load_papers(root)
    claims = load_tree(root)
    bad = 0
    for claim in claims:
        result = audit(claim, papers)
        expected = result.status == MISMATCH and claim.record.get("expect") == MISCITED
        bad += result.status == MISMATCH and not expected
        print(f"{claim.id}: {result.status}{' (expected)' if expected else ''}\n    " + "\n    ".join(result.findings))
    print(f"{len(claims)} claims audited: {bad} unexpected citation mismatch(es)")
    return 1 if bad else 0


def _catalogue(args) -> set[str] | None:
    """Claim ids of the catalogue (``--claims DIR``, default ./claims when it exists), or None."""
    from harness.claims.records import load_tree

    value = args.claims or ("claims" if Path("claims").is_dir() else None)
    if value is None:
        return None
    if not Path(value).is_dir():
        raise HarnessError(f"--claims {value}: no such folder")
    return {c.id for c in load_tree(Path(value))}


def _merge(args) -> int:
    from harness.report.shards import merge

    catalogue, dropped, missing, notes = _catalogue(args), [], {}, []
    merged = merge(Path(args.output), [Path(p) for p in args.inputs], catalogue=catalogue, dropped=dropped,
                   missing_out=missing, notes_out=notes)
    print(f"merged {len(merged)} verdicts from {len(args.inputs)} shard(s) into {args.output}")
    return _apply_gate(merged, args, catalogue, dropped, missing=missing, notes=notes)


def _gate(args) -> int:
    """The gate over one reports folder: its verdicts (the one reader, harness.report.verdicts),
    the catalogue's coverage by its run (or its shard), and whether that run finished."""
    from harness.report.shards import coverage
    from harness.report.verdicts import read

    catalogue = _catalogue(args)
    found = read(Path(args.reports), catalogue=catalogue)
    missing, notes = coverage([found], set(found.verdicts), catalogue, whole=False)
    return _apply_gate(found.verdicts, args, catalogue, found.dropped, missing=missing, notes=notes,
                       cut_short=found.cut_short)


def _apply_gate(current: dict, args, catalogue=None, dropped=(), **checks) -> int:
    """Gate (harness.report.gate.run, as a pytest run does), then record it (gate.json, report)
    under the folder's lock; an unreadable baseline is exit 2 before anything is written, and a
    record that cannot be written is exit 2 too, said as the gate's own verdict (FAIL, exit 2),
    never after a PASS."""
    from harness.atomic import FolderLock
    from harness.report import gate

    out = Path(getattr(args, "output", None) or args.reports)
    result = gate.run(current, baseline=args.baseline, strict_blocked=args.strict_blocked, fdr=args.fdr,
                      source=str(out), catalogue=catalogue, dropped=dropped, **checks)
    try:
        with FolderLock(out):
            gate.record(result, out)
            _render(out)
    except (OSError, HarnessError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        result.failures.insert(0, {"claim": "*", "why": f"cannot write the gate's record into {out}: {why}"})
        result.exit_code = gate.EXIT_INPUT
        print("\n".join(result.lines()))
        print(f"error: cannot write the gate's record into {out}: {why}", file=sys.stderr)
        return result.exit_code
    print("\n".join(result.lines()))
    return result.exit_code


def _render(folder: Path) -> None:
    from harness.report.render import render

    render(folder)


def _prefetch(args) -> int:
    from harness.measure.prefetch import run_prefetch

    return run_prefetch(Path(args.claims), Path(args.mirror))


def _clear_cache(args) -> int:
    """Removes only the entries this cache wrote; other files in the folder stay."""
    from harness.measure.cache import PredictionCache, default_dir

    folder = Path(args.cache) if args.cache else default_dir()
    try:
        removed = PredictionCache(folder).clear()
    except OSError as exc:
        raise HarnessError(f"cannot clear {folder}: {exc.strerror or exc}") from None
    print(f"removed {removed} cached predictions from {folder}")
    return 0


def _gate_options(p) -> None:
    options.add(p.add_argument, options.GATE)   # as --claims-baseline, --claims-fdr, ... of a pytest run
    p.add_argument("--claims", help="the claim catalogue (default ./claims when it exists): verdicts of claims "
                                    "not in it are ignored, baseline claims not in it count as removed")


# ---------------------------------------------------------------------- help, version, new commands
DESCRIPTION = """Claims printed in ML papers and model cards, checked as pytest cases.

Running the claims is pytest's job (pytest claims/ -n auto --claims-mirror DIR); these commands
look after the catalogue and the reports around it."""
EPILOG = """examples:
  python -m harness list --paper 1909.11942 --status not_reproduced
  python -m harness check claims/
  python -m harness new --paper 1909.11942 --table "Table 2" --row "ALBERT base" --column SST-2
  python -m harness compare reports-yesterday/ reports/
  python -m harness audit claims/
exit codes: 0 ok, 1 a finding (mismatch, regression, invalid file), 2 a usage or input error"""
HELP = {  # name: (description, examples, {positional dest: help})
    "import-verdict": ("Turn a reference-format verdict JSON into a claim record. The record is validated "
                       "before anything is written; on error no file is left.",
                       "python -m harness import-verdict seed-verdict.json --revision 86655e0c...(40 hex) "
                       "-o claims/imported.yaml", {"file": "the verdict JSON (reference layout)"}),
    "audit": ("Check every claim's citation against the paper records (claims/papers/), without measuring. "
              "Exit 1 on a mismatch the claim does not declare (expect: miscited), 2 on a missing folder.",
              "python -m harness audit claims/", {"claims": "claims folder (default: claims)"}),
    "merge": ("Merge shard report folders into one, then apply the gate.",
              "python -m harness merge reports/ shard-1/ shard-2/",
              {"output": "merged reports folder", "inputs": "shard reports folders"}),
    "gate": ("Apply the nightly gate policy (docs/gate.md) to a reports folder.",
             "python -m harness gate reports/ --baseline last-night/", {"reports": "reports folder (default: reports)"}),
    "prefetch": ("Download every claim's model and dataset into a mirror, for air-gapped runners.",
                 "python -m harness prefetch --mirror ../mirror claims/", {"claims": "claims folder (default: claims)"}),
    "clear-cache": ("Empty the prediction cache.", "python -m harness clear-cache --cache /tmp/cache", {}),
}


def _validate_claim_text(text: str, root: Path) -> None:
    """The claim file text must load as a claim file of ``root`` (schema, fields, run spread), checked
    from a scratch folder."""
    import tempfile

    from harness.claims.records import load_file

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "claim.yaml"
        probe.write_text(text, encoding="utf-8")
        load_file(probe, root)


def _user_facing(parser, sub) -> None:
    """Descriptions, examples, --version, and the catalogue commands."""
    from harness import __version__
    from harness import cli_commands as cc

    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--version", action="version", version=f"claims-harness {__version__}")
    for name, (description, example, positional) in HELP.items():
        p = sub.choices.get(name)
        if p is None:
            continue
        p.description, p.epilog = description, f"example:\n  {example}"
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        for action in p._actions:  # argparse keeps no public accessor for existing arguments
            if not action.option_strings and action.dest in positional and not action.help:
                action.help = positional[action.dest]

    def add(name, helptext, description, example, run):
        p = sub.add_parser(name, help=helptext, description=description, epilog=f"examples:\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(run=run)
        return p

    p = add("list", "list claims with their last status", "List the catalogue's claims, filtered, with the "
            "status each had in the last run (read from REPORTS/verdicts).",
            "python -m harness list --paper 1909.11942 --kind classification\n  python -m harness list "
            "--marker needs_gpu --json", cc.cmd_list)
    p.add_argument("claims", nargs="?", default="claims", help="claims folder (default: claims)")
    p.add_argument("--reports", default="reports", help="reports folder of the last run (default: reports)")
    p.add_argument("--paper", help="arXiv id, e.g. 1909.11942")
    p.add_argument("--kind", choices=kinds.names())
    p.add_argument("--source", choices=("paper", "model_card"))
    p.add_argument("--status", choices=options.LIST_STATUSES, help="last status ('not run': no verdict yet)")
    p.add_argument("--marker", help="a pytest marker the plugin gives, e.g. needs_gpu or paper_1909_11942")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p = add("check", "validate claim files without running them", "Validate claim files and paper records "
            "(schema, duplicate ids, citations against the paper records) without measuring anything. Exit 1 "
            "naming file, claim and field for each problem.", "python -m harness check claims/\n  python -m "
            "harness check claims/albert-1909.11942/table1-parameters.yaml", cc.cmd_check)
    p.add_argument("paths", nargs="*", help="claim files or folders (default: claims)")
    p = add("new", "scaffold a claim from a paper-record cell", "Scaffold a claim record from one printed cell "
            "of a paper record (table, row, column): value, unit and page are filled in, the record is "
            "validated and audited before it is written; nothing is written on error.",
            'python -m harness new --paper 1909.11942 --table "Table 2" --row "ALBERT base" --column SST-2 '
            "--checkpoint textattack/albert-base-v2-SST-2@main -o claims/albert-1909.11942/sst2.yaml", cc.cmd_new)
    p.add_argument("--paper", required=True, help="arXiv id of a record in CLAIMS/papers/")
    p.add_argument("--table", required=True, help='table id as in the paper record, e.g. "Table 2"')
    p.add_argument("--row", required=True, help='row name, e.g. "ALBERT base" (spacing and case are loose)')
    p.add_argument("--column", required=True, help="column name, e.g. SST-2 or Parameters")
    p.add_argument("--metric", help="which value of a multi-value cell (e.g. f1 of 89.3/82.3)")
    p.add_argument("--checkpoint", help="ORG/NAME@REV to measure (default: none yet, the claim stays blocked)")
    p.add_argument("--id", help="claim id (default: paper/table/row/column-metric)")
    p.add_argument("--claims", default="claims", help="claims folder with papers/ (default: claims)")
    p.add_argument("-o", "--output", help="new claim file to write (default: stdout)")
    p = add("compare", "side by side of two runs; exit 1 on a regression", "Compare two reports folders claim by "
            "claim: statuses and measured values side by side. Exit 1 when a claim that met its expectation "
            "in RUN_A no longer does in RUN_B, became an error, or is missing.",
            "python -m harness compare reports-main/ reports/", cc.cmd_compare)
    p.add_argument("run_a", metavar="RUN_A", help="the earlier (reference) reports folder")
    p.add_argument("run_b", metavar="RUN_B", help="the later reports folder")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness")  # help texts: _user_facing
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import-verdict", help="turn a reference-format verdict JSON into a claim record")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="claim file to write (default: stdout)")
    options.add(p.add_argument, options.IMPORT)
    p.set_defaults(run=_import)
    a = sub.add_parser("audit", help="citation audit of every claim (no measurement)")
    a.add_argument("claims", nargs="?", default="claims")
    a.set_defaults(run=_audit)
    m = sub.add_parser("merge", help="merge shard report folders into one, then apply the gate")
    m.add_argument("output")
    m.add_argument("inputs", nargs="+")
    _gate_options(m)
    m.set_defaults(run=_merge)
    g = sub.add_parser("gate", help="apply the gate policy to a reports folder")
    g.add_argument("reports", nargs="?", default="reports")
    _gate_options(g)
    g.set_defaults(run=_gate)
    f = sub.add_parser("prefetch", help="download every claim's model and dataset into a mirror")
    f.add_argument("--mirror", required=True)
    f.add_argument("claims", nargs="?", default="claims")
    f.set_defaults(run=_prefetch)
    c = sub.add_parser("clear-cache", help="empty the prediction cache")
    options.CACHE.add(c.add_argument)   # the folder --claims-cache names
    c.set_defaults(run=_clear_cache)
    _user_facing(parser, sub)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # a folder that cannot be written, a disk that is full: name it, no traceback
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
