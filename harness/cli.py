"""Command line: ``python -m harness {import-verdict,audit,merge,gate,prefetch,clear-cache}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from harness.errors import HarnessError


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
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise HarnessError(f"{out} exists; pass --force to replace it")
    write_atomic(out, text)
    load_file(out)  # the written file must load as a claim file
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
    from harness.claims.audit import audit
    from harness.claims.papers import load_papers
    from harness.claims.records import load_tree

    root = Path(args.claims)
    papers = load_papers(root)
    for claim in load_tree(root):
        result = audit(claim, papers)
        print(f"{claim.id}: {result.status}\n    " + "\n    ".join(result.findings))
    return 0


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

    catalogue, dropped = _catalogue(args), []
    merged = merge(Path(args.output), [Path(p) for p in args.inputs], catalogue=catalogue, dropped=dropped)
    print(f"merged {len(merged)} verdicts from {len(args.inputs)} shard(s) into {args.output}")
    return _apply_gate(merged, args, catalogue, dropped)


def _gate(args) -> int:
    from harness.report.shards import read_verdicts

    catalogue, dropped = _catalogue(args), []
    current = read_verdicts(Path(args.reports), catalogue=catalogue, dropped=dropped)
    return _apply_gate(current, args, catalogue, dropped)


def _apply_gate(current: dict, args, catalogue=None, dropped=()) -> int:
    """Gate, then record it (gate.json, report) under the folder's lock; a record not written fails."""
    from harness.atomic import FolderLock
    from harness.report import gate
    from harness.report.artifacts import dumps, write_atomic
    from harness.report.shards import read_baseline

    baseline = read_baseline(Path(args.baseline)) if args.baseline else None
    out = Path(getattr(args, "output", None) or args.reports)
    result = gate.evaluate(current, baseline, strict_blocked=args.strict_blocked, fdr=args.fdr,
                           source=str(out), catalogue=catalogue)
    if dropped:
        result.notes.append(f"{len(dropped)} verdict(s) of claims no longer in the catalogue ignored: "
                            + ", ".join(dropped))
    print("\n".join(result.lines()))
    try:
        with FolderLock(out):
            write_atomic(out / "gate.json", dumps(result.to_dict()))
            _render(out)
    except OSError as exc:
        raise HarnessError(f"cannot write the gate's record into {out}: {exc.strerror or exc}") from None
    return result.exit_code


def _render(folder: Path) -> None:
    try:
        from harness.report.render import render
    except ImportError:
        return
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


def _fdr(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} must lie strictly between 0 and 1")
    return value


def _gate_options(p) -> None:
    p.add_argument("--baseline", help="earlier reports folder to compare with")
    p.add_argument("--strict-blocked", action="store_true", help="blocked claims fail")
    p.add_argument("--fdr", type=_fdr, default=0.05, help="false discovery rate, in (0, 1) (default 0.05)")
    p.add_argument("--claims", help="the claim catalogue (default ./claims when it exists): verdicts of claims "
                                    "not in it are ignored, baseline claims not in it count as removed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import-verdict", help="turn a reference-format verdict JSON into a claim record")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="claim file to write (default: stdout)")
    p.add_argument("--revision", required=True, help="the checkpoint commit to pin (40 hex)")
    p.add_argument("--checkpoint", help="hub id (default: the one the verdict's notes name)")
    p.add_argument("--slice-size", type=int, default=100)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="systematic allowance in printed units (default 0: re-run variation is the run spread)")
    p.add_argument("--scale", choices=["percent", "fraction", "millions", "units"],
                   help="how the value is printed (default: from the paper record's cited table; never guessed)")
    p.add_argument("--claims", default="claims", help="claims folder whose papers/ hold the paper records")
    p.add_argument("--expect", help="declared expected outcome, e.g. miscited")
    p.add_argument("--force", action="store_true")
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
    c.add_argument("--cache", help="cache folder (default $CLAIMS_CACHE or ~/.cache/claims-harness/predictions)")
    c.set_defaults(run=_clear_cache)
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
