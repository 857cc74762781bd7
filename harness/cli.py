"""Command line: ``python -m harness import-verdict FILE`` and ``python -m harness audit``."""

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

    record = import_file(
        Path(args.file), revision=args.revision, slice_size=args.slice_size, max_length=args.max_length,
        tolerance=args.tolerance, checkpoint=args.checkpoint)
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
    p.add_argument("--tolerance", type=float, default=1.0, help="in printed units (default 1.0)")
    p.add_argument("--expect", help="declared expected outcome, e.g. miscited")
    p.add_argument("--force", action="store_true")
    p.set_defaults(run=_import)
    a = sub.add_parser("audit", help="citation audit of every claim (no measurement)")
    a.add_argument("claims", nargs="?", default="claims")
    a.set_defaults(run=_audit)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
