"""Paper records: a paper's tables and prose statements as data, every printed number parsed.

A record lives in ``claims/papers/<arxiv id>.yaml`` and follows harness/schemas/paper.schema.json
(docs/paper-records.md). Cells stay as printed ("89.3/82.3", "108M", "4.7x"); parsing keeps the
printed digits, because a value's precision is part of what the paper claims. A number printed
in a sentence rather than a table is a ``statement``: its page, the sentence verbatim, and the
values it states; a claim cites it by id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from harness.errors import PaperRecordError
from harness.units import UNIT_SCALE
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)(M|x)?$")


def normalise(name: str) -> str:
    """Compare names loosely: 'ALBERT-base' == 'ALBERT base' == 'albert_base'."""
    return re.sub(r"[^a-z0-9.()]+", "", name.lower())


@dataclass(frozen=True)
class Value:
    """One printed number of a cell, with what it measures."""

    printed: str
    metric: str
    unit: str

    @property
    def decimal(self) -> Decimal | None:
        if self.unit == "bool":
            return None
        m = _NUMBER.match(self.printed.strip())
        return Decimal(m.group(1)) if m else None

    @property
    def natural(self) -> float | None:
        """On the metric's natural scale (percent as a fraction, millions as units)."""
        d = self.decimal
        return None if d is None else float(d) * UNIT_SCALE[self.unit]


@dataclass(frozen=True)
class Column:
    name: str
    values: tuple[tuple[str, str], ...]  # (metric, unit) per printed value
    task: str | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.values)


@dataclass(frozen=True)
class Table:
    id: str
    page: int
    caption: str
    columns: tuple[Column, ...]
    rows: dict[str, dict[str, tuple[Value, ...]]] = field(repr=False)

    def column(self, name: str) -> Column | None:
        key = normalise(name)
        return next((c for c in self.columns if normalise(c.name) == key), None)

    def row(self, name: str) -> str | None:
        key = normalise(name)
        return next((r for r in self.rows if normalise(r) == key), None)

    def cells(self):
        """(row, column, value) for every printed value, in print order."""
        for row, cells in self.rows.items():
            for col in self.columns:
                for value in cells.get(col.name, ()):
                    yield row, col, value


@dataclass(frozen=True)
class Statement:
    """A number printed in prose: where (page, section), the sentence verbatim, the values it states."""

    id: str
    page: int
    quote: str
    values: tuple[Value, ...]
    section: str = ""
    subject: str = ""


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    version: int
    title: str
    source_url: str
    tables: dict[str, Table]
    path: str = ""
    statements: dict[str, Statement] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        key = normalise(name)
        return next((t for t in self.tables.values() if normalise(t.id) == key), None)

    def statement(self, name: str) -> Statement | None:
        key = normalise(name)
        return next((s for s in self.statements.values() if normalise(s.id) == key), None)


def _need(raw: dict, key: str, path, where: str):
    if not isinstance(raw, dict) or key not in raw:
        raise PaperRecordError(path, "missing", record=where, field=key)
    return raw[key]


def load_paper(path: Path) -> Paper:
    """Parse and check one paper record; errors name the file, table and field."""
    from harness.claims.records import read_yaml

    raw = read_yaml(path, PaperRecordError)
    _check_schema(raw, path)
    try:
        return _parse(raw, path)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PaperRecordError(path, f"malformed paper record ({type(exc).__name__}: {exc})") from None


def _check_schema(raw, path) -> None:
    """The record against harness/schemas/paper.schema.json; the error names the table and field."""
    from harness import schemas

    errors = list(schemas.validator("paper").iter_errors(raw))
    if not errors:
        return
    import jsonschema

    err = jsonschema.exceptions.best_match(errors)
    where = "paper"
    parts = list(err.absolute_path)
    if len(parts) >= 2 and parts[0] in ("tables", "statements") and isinstance(raw, dict):
        try:
            where = str(raw[parts[0]][parts[1]].get("id", where))
        except (AttributeError, IndexError, KeyError, TypeError):
            pass
    raise PaperRecordError(path, f"malformed paper record ({err.message})", record=where,
                           field=schemas.field_path(err))


def _parse(raw, path) -> Paper:
    arxiv_id = str(_need(raw, "arxiv_id", path, "paper"))
    tables = {}
    for t in raw.get("tables") or ():
        tid = str(_need(t, "id", path, "paper"))
        columns = []
        for c in _need(t, "columns", path, tid):
            values = tuple((v["metric"], v["unit"]) for v in _need(c, "values", path, tid))
            for _, unit in values:
                if unit not in UNIT_SCALE:
                    raise PaperRecordError(path, f"unknown unit {unit!r}", record=tid, field=f"columns.{c['name']}")
            columns.append(Column(name=str(c["name"]), values=values, task=c.get("task")))
        by_name = {c.name: c for c in columns}
        rows = {}
        for r in _need(t, "rows", path, tid):
            rname = str(_need(r, "name", path, tid))
            parsed = {}
            for cname, printed in (r.get("cells") or {}).items():
                col = by_name.get(cname)
                if col is None:
                    raise PaperRecordError(path, f"row {rname!r} has a cell for unknown column {cname!r}",
                                           record=tid, field=f"rows.{rname}.cells")
                parts = str(printed).split("/")
                if len(parts) != len(col.values):
                    raise PaperRecordError(path, f"{printed!r} has {len(parts)} values, column expects {len(col.values)}",
                                           record=tid, field=f"rows.{rname}.cells.{cname}")
                parsed[cname] = tuple(Value(p.strip(), m, u) for p, (m, u) in zip(parts, col.values))
            rows[rname] = parsed
        tables[tid] = Table(id=tid, page=int(_need(t, "page", path, tid)), caption=str(t.get("caption", "")),
                            columns=tuple(columns), rows=rows)
    statements = {}
    for st in raw.get("statements") or ():
        sid = str(st["id"])
        if sid in statements:
            raise PaperRecordError(path, "statement id used twice", record=sid, field="statements.id")
        values = tuple(Value(str(v["printed"]).strip(), v["metric"], v["unit"]) for v in st["values"])
        for v in values:
            if v.unit != "bool" and v.decimal is None:
                raise PaperRecordError(path, f"{v.printed!r} is not a printed number", record=sid,
                                       field="statements.values.printed")
            if _bare(v.printed) not in st["quote"]:
                raise PaperRecordError(path, f"the quote does not print {v.printed!r}", record=sid,
                                       field="statements.quote")
        statements[sid] = Statement(id=sid, page=int(st["page"]), quote=str(st["quote"]), values=values,
                                    section=str(st.get("section", "")), subject=str(st.get("subject", "")))
    return Paper(arxiv_id=arxiv_id, version=int(_need(raw, "version", path, "paper")),
                 title=str(raw.get("title", "")), source_url=str(raw.get("source_url", "")),
                 tables=tables, path=str(path), statements=statements)


def _bare(printed: str) -> str:
    """The digits of a printed value as a sentence shows them ('110M' is in '110M' and in '110 million')."""
    m = _NUMBER.match(printed.strip())
    return m.group(1) if m else printed.strip()


def load_papers(claims_root: Path) -> dict[str, Paper]:
    """Every paper record under ``<claims_root>/papers``, by arXiv id; for a sub-folder of a claims
    folder (claims/mine), the records of the claims folder above it (harness.claims.folders)."""
    from harness.claims.folders import data_root

    folder = data_root(Path(claims_root)) / "papers"
    papers = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        paper = load_paper(path)
        papers[paper.arxiv_id] = paper
    return papers
