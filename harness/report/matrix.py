"""Claims x checkpoints: one table of a run over several checkpoints (``--claims-checkpoint`` repeated).

Claims down, checkpoints across, each cell the verdict of that (claim, checkpoint) case with its
measured value in the claim's printed units, as leaderboards and lm-eval users read a run. Built
from the display rows (``harness.report.summary.row``: ``base_claim`` and ``checkpoint_override``
say which cell a verdict fills); written as a table in summary.md and as ``matrix.html``. Claims
that run no model (parameter counts) are measured once and fill the column "any checkpoint".
"""

from __future__ import annotations

from pathlib import Path

from harness.report import summary as sm

ANY = "any checkpoint"
PAGE = "matrix.html"
COLOURS = {"reproduced": "#2e7d32", "not_reproduced": "#c62828", "miscited": "#ef6c00", "inconclusive": "#757575",
           "blocked": "#546e7a", "error": "#7f0000"}


def build(rows: list[dict]) -> dict | None:
    """``{"columns": [...], "claims": [{"claim", "reported", "cells": {column: cell}}]}``, or None
    when no verdict of this run was measured on a checkpoint given on the command line."""
    current = [r for r in rows if not r.get("stale")]
    columns = sorted({column(r) for r in current} - {ANY})
    if not columns:
        return None
    claims: dict[str, dict] = {}
    for r in current:
        base = r.get("base_claim") or r["claim"]
        entry = claims.setdefault(base, {"claim": base, "reported": sm.printed(r), "cells": {}})
        entry["cells"][column(r)] = cell(r)
    checkpoints = len(columns)
    if any(ANY in c["cells"] for c in claims.values()):
        columns.append(ANY)
    return {"columns": columns, "checkpoints": checkpoints, "claims": [claims[k] for k in sorted(claims)]}


def column(r: dict) -> str:
    """The checkpoint a row was measured on, as 'org/name@revision' with 12 characters of a commit."""
    from harness.claims.checkpoints import label

    here = r.get("checkpoint_override")
    if not here:
        return ANY
    repo, _, rev = str(here).partition("@")
    return label(repo, rev) if rev else repo


def cell(r: dict) -> dict:
    """What one cell shows: status (with '(expected)' and the like), measured value and interval."""
    return {"status": r["status"], "status_text": sm.status_text(r), "measured": sm.measured_text(r),
            "case": r["claim"], "artifact": r.get("artifact")}


def _md(text) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def markdown(grid: dict) -> list[str]:
    """The matrix as a markdown section for summary.md."""
    cols = grid["columns"]
    out = ["## Claims x checkpoints", "",
           f"{len(grid['claims'])} claims on {grid['checkpoints']} checkpoint(s); each cell is its own case and verdict "
           f"artifact (matrix.html has the same table).", "",
           "| claim | reported | " + " | ".join(f"`{c}`" for c in cols) + " |",
           "|---|---|" + "---|" * len(cols)]
    for entry in grid["claims"]:
        cells = []
        for col in cols:
            c = entry["cells"].get(col)
            cells.append("-" if c is None else f"**{_md(c['status_text'])}**"
                         + ("" if c["measured"] == "-" else f"<br>{_md(c['measured'])}"))
        out.append(f"| `{entry['claim']}` | {_md(entry['reported'])} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def html_page(grid: dict, run: str = "") -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template(PAGE).render(grid=grid, run=run, colour=lambda s: COLOURS.get(s, "#9e9e9e"))


def write(reports_dir: Path, rows: list[dict], run: str = "") -> tuple[dict | None, Path | None]:
    """Write ``matrix.html`` when the run has a matrix (removing an earlier run's otherwise)."""
    from harness.report.artifacts import write_atomic

    grid = build(rows)
    path = Path(reports_dir) / PAGE
    if grid is None:
        path.unlink(missing_ok=True)
        return None, None
    return grid, write_atomic(path, html_page(grid, run))
