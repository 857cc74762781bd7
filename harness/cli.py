"""Command line: ``claims-harness COMMAND`` (also ``python -m harness COMMAND``).

Running the claims is pytest's job; these commands look after the catalogue and the reports:

- ``list``: the catalogue's claims, filtered, with each one's last status
- ``check``: validate claim files and paper records without measuring
- ``new``: scaffold a claim from a paper-record cell or prose statement
- ``audit``: check every claim's citation against the paper records
- ``compare``: two runs side by side; exit 1 on a regression
- ``gate``: apply the nightly gate policy to a reports folder
- ``merge``: merge shard reports folders, then gate
- ``import-verdict``: turn a reference-format verdict JSON into a claim record
- ``prefetch``: download every claim's model and dataset into a mirror
- ``clear-cache``: empty the prediction cache
- ``schemas``: check (or write) the schema files against the registries

Each command's arguments are defined in harness.options (``CLI``), its descriptions here
(``COMMANDS``); plugins (entry-point group ``claims_harness.plugins``) are loaded before the
parser is built, so their kinds are choices and their claims valid.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from harness import options
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
    text = ("# Imported by `claims-harness import-verdict`; edit the measurement, not the citation.\n"
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
    """Exit 1 on a citation mismatch that the claim does not declare (expect: miscited), and on a
    declared mismatch that no longer happens (strict, as the pytest case's xpass is)."""
    from harness.claims.audit import MISMATCH, audit
    from harness.claims.papers import load_papers
    from harness.claims.records import load_tree

    root = Path(args.claims)
    if not root.is_dir():
        raise HarnessError(f"{root}: no such folder")
    papers = load_papers(root)
    claims = load_tree(root)
    bad = stale = 0
    for claim in claims:
        result = audit(claim, papers)
        declared = claim.record.get("expect") == MISCITED
        expected = result.status == MISMATCH and declared
        bad += result.status == MISMATCH and not declared
        gone = declared and result.status != MISMATCH
        stale += gone
        note = " (expected)" if expected else " (declared expect: miscited, which no longer holds)" if gone else ""
        print(f"{claim.id}: {result.status}{note}\n    " + "\n    ".join(result.findings))
    print(f"{len(claims)} claims audited: {bad} unexpected citation mismatch(es)"
          + (f", {stale} declared mismatch(es) no longer found" if stale else ""))
    return 1 if bad or stale else 0


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

    catalogue, dropped, missing, notes, written = _catalogue(args), [], {}, [], []
    merged = merge(Path(args.output), [Path(p) for p in args.inputs], catalogue=catalogue, dropped=dropped,
                   missing_out=missing, notes_out=notes, folder_out=written, link=not args.copy)
    print(f"merged {len(merged)} verdicts from {len(args.inputs)} shard(s) into {args.output}")
    return _apply_gate(merged, args, catalogue, dropped, missing=missing, notes=notes, found=written[0])


def _gate(args) -> int:
    """The gate over one reports folder: its verdicts (the one reader, harness.report.verdicts),
    the catalogue's coverage by its run (or its shard), and whether that run finished."""
    from harness.report.shards import coverage
    from harness.report.verdicts import read, within

    catalogue = _catalogue(args)
    everything = read(Path(args.reports))          # once: the gate's verdicts and the report's
    found = everything if catalogue is None else within(everything, catalogue)
    missing, notes = coverage([found], set(found.verdicts), catalogue, whole=False)
    return _apply_gate(found.verdicts, args, catalogue, found.dropped, missing=missing, notes=notes,
                       cut_short=found.cut_short,
                       found=everything if (Path(args.reports) / "verdicts").is_dir() else None)


def _apply_gate(current: dict, args, catalogue=None, dropped=(), found=None, **checks) -> int:
    """Gate (harness.report.gate.run, as a pytest run does), then record it (gate.json, report)
    under the folder's lock; an unreadable baseline is exit 2 before anything is written, and a
    record that cannot be written is exit 2 too, said as the gate's own verdict (FAIL, exit 2),
    never after a PASS. ``found``: the folder's verdicts as read already (the report reads no
    file twice)."""
    from harness.atomic import FolderLock
    from harness.report import gate

    out = Path(getattr(args, "output", None) or args.reports)
    result = gate.run(current, baseline=args.baseline, strict_blocked=args.strict_blocked, fdr=args.fdr,
                      source=str(out), catalogue=catalogue, dropped=dropped, **checks)
    try:
        with FolderLock(out):
            gate.record(result, out)
            _render(out, found)
    except (OSError, HarnessError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        result.failures.insert(0, {"claim": "*", "why": f"cannot write the gate's record into {out}: {why}"})
        result.exit_code = gate.EXIT_INPUT
        print("\n".join(result.lines()))
        print(f"error: cannot write the gate's record into {out}: {why}", file=sys.stderr)
        return result.exit_code
    print("\n".join(result.lines()))
    return result.exit_code


def _render(folder: Path, found=None) -> None:
    from harness.report.render import render

    render(folder, found=found)


def _prefetch(args) -> int:
    from harness.prefetch import run_prefetch

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


def _schemas(args) -> int:
    """Without options: exit 1 when the package's schema files and the registries disagree."""
    from harness import schemas

    if args.out:
        for path in schemas.write(Path(args.out), builtin_only=False):
            print(f"wrote {path}")
        return 0
    if args.write:
        changed = schemas.write()
        print("\n".join(f"wrote {p}" for p in changed) or "the schema files are up to date")
        return 0
    stale = schemas.stale()
    for name in schemas.NAMES:
        print(f"{schemas.file_path(name)}: {'OUT OF DATE' if name in stale else 'up to date'} (v{schemas.VERSION})")
    if stale:
        print("run `claims-harness schemas --write` to regenerate them from the registries", file=sys.stderr)
    return 1 if stale else 0


def _validate_claim_text(text: str, root: Path) -> None:
    """The claim file text must load as a claim file of ``root`` (schema, fields, run spread), checked
    from a scratch folder."""
    import tempfile

    from harness.claims.records import load_file

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "claim.yaml"
        probe.write_text(text, encoding="utf-8")
        load_file(probe, root)


# ---------------------------------------------------------------------- the commands, described once
PROG = "claims-harness"
DESCRIPTION = """Claims printed in ML papers and model cards, checked as pytest cases.

Running the claims is pytest's job (pytest claims/ -n auto --claims-mirror DIR); these commands
look after the catalogue and the reports around it."""
EPILOG = f"""examples:
  {PROG} list --paper 1909.11942 --status not_reproduced
  {PROG} check claims/
  {PROG} new --paper 1909.11942 --table "Table 2" --row "ALBERT base" --column SST-2
  {PROG} compare reports-yesterday/ reports/
  {PROG} audit claims/
exit codes: 0 ok, 1 a finding (mismatch, regression, invalid file), 2 a usage or input error"""


@dataclass(frozen=True)
class Command:
    """One command: its one-line help, its description and examples; arguments: options.CLI[name]."""

    name: str
    summary: str
    description: str
    examples: tuple[str, ...]
    run: Callable[[argparse.Namespace], int]


def _commands() -> tuple[Command, ...]:
    from harness import cli_commands as cc

    return (
        Command("list", "list claims with their last status",
                "List the catalogue's claims, filtered, with the status each had in the last run (read from "
                "REPORTS/verdicts).", ("list --paper 1909.11942 --kind classification", "list --marker needs_gpu --json"),
                cc.cmd_list),
        Command("check", "validate claim files without running them",
                "Validate claim files and paper records (schema, duplicate ids, citations against the paper records) "
                "without measuring anything. Exit 1 naming file, claim and field for each problem.",
                ("check claims/", "check claims/albert-1909.11942/table1-parameters.yaml"), cc.cmd_check),
        Command("new", "scaffold a claim from a paper-record cell or statement",
                "Scaffold a claim record from one printed cell of a paper record (--table, --row, --column) or one "
                "prose statement (--statement): value, unit and page are filled in, the record is validated and "
                "audited before it is written; nothing is written on error.",
                ('new --paper 1909.11942 --table "Table 2" --row "ALBERT base" --column SST-2 '
                 "--checkpoint textattack/albert-base-v2-SST-2@main -o claims/albert-1909.11942/sst2.yaml",
                 "new --paper 1810.04805 --statement bert-base-parameters --model-type bert"), cc.cmd_new),
        Command("compare", "side by side of two runs; exit 1 on a regression",
                "Compare two reports folders claim by claim: statuses and measured values side by side. Exit 1 when "
                "a claim that met its expectation in RUN_A no longer does in RUN_B, became an error (a claim new in "
                "RUN_B that errors too), or is missing; exit 2 when a folder cannot be read as a whole run (a bad or "
                "newer-schema verdict, two files for one claim, no verdicts, a run that did not finish) or the two "
                "share no claim.",
                ("compare reports-main/ reports/",), cc.cmd_compare),
        Command("audit", "citation audit of every claim (no measurement)",
                "Check every claim's citation against the paper records (claims/papers/), without measuring. Exit 1 "
                "on a mismatch the claim does not declare (expect: miscited), 2 on a missing folder.",
                ("audit claims/",), _audit),
        Command("gate", "apply the gate policy to a reports folder",
                "Apply the nightly gate policy (docs/gate.md) to a reports folder.",
                ("gate reports/ --baseline last-night/",), _gate),
        Command("merge", "merge shard report folders into one, then apply the gate",
                "Merge shard report folders into one, then apply the gate.",
                ("merge reports/ shard-1/ shard-2/",), _merge),
        Command("import-verdict", "turn a reference-format verdict JSON into a claim record",
                "Turn a reference-format verdict JSON into a claim record. The record is validated before anything "
                "is written; on error no file is left.",
                ("import-verdict seed-verdict.json --revision 86655e0c...(40 hex) -o claims/imported.yaml",), _import),
        Command("prefetch", "download every claim's model and dataset into a mirror",
                "Download every claim's model and dataset into a mirror, for air-gapped runners.",
                ("prefetch --mirror ../mirror claims/",), _prefetch),
        Command("clear-cache", "empty the prediction cache", "Empty the prediction cache (only the entries it wrote).",
                ("clear-cache --cache /tmp/cache",), _clear_cache),
        Command("schemas", "check the schema files against the registries (or write them)",
                "The JSON Schemas the harness ships (claim, verdict, spread, paper; harness/schemas/) hold what the "
                "registries contribute (metric names, kinds, each kind's measure block). Without options: exit 1 "
                "when the files and the registries disagree. --write regenerates the package's files; --out DIR "
                "writes them with the installed plugins' kinds and metrics.",
                ("schemas", "schemas --write", "schemas --out my-schemas/"), _schemas),
    )


def parser() -> argparse.ArgumentParser:
    """The whole command line, built from options.CLI and COMMANDS (help in those two places only)."""
    from harness import __version__

    top = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"claims-harness {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _commands():
        p = sub.add_parser(command.name, help=command.summary, description=command.description,
                           epilog="examples:\n" + "\n".join(f"  {PROG} {e}" for e in command.examples),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        options.add(p.add_argument, options.CLI[command.name])
        p.set_defaults(run=command.run)
    return top


def main(argv=None) -> int:
    from harness import extensions

    try:
        extensions.load_for_cli()   # plugins' kinds and metrics, before the parser lists the kinds
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
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
