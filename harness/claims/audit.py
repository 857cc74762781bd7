"""The citation audit: does the paper print what the claim says it prints, where it says?

Runs before any measurement; its outcome is the artifact's PRE verdict. A claim whose
citation does not hold is never reported reproduced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from harness import metrics
from harness.claims.papers import UNIT_SCALE, Paper, Value
from harness.claims.records import Claim

VERIFIED = "citation_verified"
MISMATCH = "citation_mismatch"
UNCHECKED = "citation_unchecked"


@dataclass
class Audit:
    status: str
    findings: list[str] = field(default_factory=list)
    found: dict = field(default_factory=dict)


def _label(value: Value) -> str:
    return metrics.label_of(value.metric)


def _split_column(name: str) -> tuple[str, str | None]:
    """'MRPC F1' -> ('MRPC', 'f1'); 'SQuAD1.1' -> ('SQuAD1.1', None)."""
    words = re.split(r"[\s_]+", name.strip())
    known = metrics.words()   # a metric's name or one of its aliases (harness.metrics registry entries)
    if len(words) > 1 and words[-1].lower() in known:
        return " ".join(words[:-1]), known[words[-1].lower()]
    return name, None


def _same_printed(claim: Claim, value: Value) -> bool:
    """Equal at the cell's printed precision, on the natural scale."""
    if value.decimal is None:
        return False
    claimed = Decimal(str(claim.reported["value"])) * Decimal(str(claim.scale))
    cell_scale = Decimal(str(UNIT_SCALE[value.unit]))
    in_cell_units = (claimed / cell_scale).quantize(Decimal(1).scaleb(value.decimal.as_tuple().exponent))
    return in_cell_units == value.decimal


def _where_else(paper: Paper, claim: Claim) -> list[str]:
    """Every place in the paper's tables that prints the claimed value."""
    hits = []
    for table in paper.tables.values():
        for row, col, value in table.cells():
            if _same_printed(claim, value):
                hits.append(f"{table.id} (p{table.page}), row {row} under {col.name} ({_label(value)})")
    for st in paper.statements.values():
        hits += [f"statement {st.id} (p{st.page}) ({_label(v)})" for v in st.values if _same_printed(claim, v)]
    return hits


def audit(claim: Claim, papers: dict[str, Paper]) -> Audit:
    """Check a claim's citation against the paper record; see module doc."""
    cit = claim.citation
    if cit.get("source") != "paper":
        return Audit(UNCHECKED, [f"source is {cit.get('source')}: not a paper table, nothing to audit"])
    paper = papers.get(cit["paper"])
    if paper is None:
        return Audit(UNCHECKED, [f"no paper record for arXiv {cit['paper']} in claims/papers"])
    findings: list[str] = []
    if cit.get("version") and cit["version"] != paper.version:
        findings.append(f"citation names v{cit['version']}, the paper record is v{paper.version}")
    shown = f"{claim.reported['value']}"
    if cit.get("statement"):
        return _audit_statement(claim, paper, findings, shown)
    table = _cited(paper, "table", cit, findings)
    if table is None:
        return _mismatch(findings, paper, claim, shown)
    found = {"table": table.id, "page": table.page}
    row = table.row(cit["row"])
    col_name, metric_word = _split_column(cit["column"])
    column = table.column(cit["column"]) or table.column(col_name)
    if column is not None and table.column(cit["column"]) is not None:
        metric_word = None
    if row is None:
        findings.append(f"{table.id} has no row {cit['row']!r} (rows: {', '.join(table.rows)})")
    else:
        found["row"] = row
    if column is None:
        findings.append(f"{table.id} has no {col_name} column (columns: {', '.join(c.name for c in table.columns)})")
    else:
        found["column"] = column.name
    if row is None or column is None:
        return _mismatch(findings, paper, claim, shown, found)
    values = table.rows[row].get(column.name, ())
    wanted = metric_word or claim.metric
    if metric_word and metric_word != claim.metric:
        findings.append(f"the citation's column says {metric_word}, the claim's metric is {claim.metric}")
    match = [v for v in values if v.metric == wanted]
    if not values:
        findings.append(f"{table.id}, row {row}, column {column.name} is empty")
        return _mismatch(findings, paper, claim, shown, found)
    if not match:
        findings.append(f"{table.id}'s {column.name} column reports {', '.join(column.metrics)}, "
                        f"not {wanted}")
        return _mismatch(findings, paper, claim, shown, found)
    cell = match[0]
    return _judge_cell(claim, paper, cell, findings, found, shown, f"{table.id}, row {row}, {column.name} "
                       f"({_label(cell)})", f"{table.id} (p{table.page}), row {row}, {column.name} ({_label(cell)})")


def _cited(paper: Paper, kind: str, cit: dict, findings: list[str]):
    """The table or statement (``kind``) the citation names, its page checked against the record's;
    None, with a finding, when the record has no such one."""
    if kind == "table":
        item, listing, asked = paper.table(cit["table"]), paper.tables, cit["table"]
    else:
        item, listing, asked = paper.statement(cit["statement"]), paper.statements, f"statement {cit['statement']!r}"
    if item is None:
        findings.append(f"arXiv {paper.arxiv_id}v{paper.version} has no {asked} on record "
                        f"({kind}s: {', '.join(listing) or 'none'})")
        return None
    name = item.id if kind == "table" else f"statement {item.id}"
    if cit["page"] != item.page:
        findings.append(f"{name} is on page {item.page}, the citation says page {cit['page']}")
    return item


def _words(text: str) -> str:
    return " ".join(str(text).split())


def _audit_statement(claim: Claim, paper: Paper, findings: list[str], shown: str) -> Audit:
    """A claim citing a prose statement: the statement is on record, on the cited page, its quote
    holds the claim's, and it states the claimed value for the claim's metric."""
    cit = claim.citation
    st = _cited(paper, "statement", cit, findings)
    if st is None:
        return _mismatch(findings, paper, claim, shown)
    found = {"statement": st.id, "page": st.page}
    if cit.get("quote") and _words(cit["quote"]) not in _words(st.quote):
        findings.append(f"statement {st.id} reads {st.quote!r}, not {cit['quote']!r}")
    match = [v for v in st.values if v.metric == claim.metric]
    if not match:
        findings.append(f"statement {st.id} states {', '.join(v.metric for v in st.values)}, not {claim.metric}")
        return _mismatch(findings, paper, claim, shown, found)
    cell = next((v for v in match if _same_printed(claim, v)), match[0])
    return _judge_cell(claim, paper, cell, findings, found, shown, f"statement {st.id} ({_label(cell)})",
                       f"statement {st.id} (p{st.page}) ({_label(cell)})")


def _judge_cell(claim: Claim, paper: Paper, cell: Value, findings: list[str], found: dict, shown: str,
                place: str, cited: str) -> Audit:
    """The cited value, found at ``place`` (``cited`` with its page): verified when it prints the
    claimed value and nothing but the paper's version was found wrong on the way there."""
    found.update(printed=cell.printed, metric=cell.metric, unit=cell.unit)
    if not _same_printed(claim, cell):
        findings.append(f"{place} prints {cell.printed}, the claim reports {shown}")
    if any(f for f in findings if not f.startswith("citation names v")):
        return _mismatch(findings, paper, claim, shown, found)
    findings.append(f"{cited} prints {cell.printed}")
    return Audit(VERIFIED, findings, found)


def _mismatch(findings, paper, claim, shown, found=None) -> Audit:
    hits = _where_else(paper, claim)
    if hits:
        findings.append(f"{shown} appears in " + "; ".join(hits))
    else:
        findings.append(f"{shown} appears in no table or statement of the paper record")
    return Audit(MISMATCH, findings, dict(found or {}, value_appears_in=hits))
