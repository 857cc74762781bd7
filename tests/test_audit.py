"""The citation audit against the ALBERT paper record (the PRE verdict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.claims.audit import MISMATCH, UNCHECKED, VERIFIED, audit
from harness.claims.papers import load_papers
from harness.claims.records import Claim

CLAIMS = Path(__file__).resolve().parents[1] / "claims"


@pytest.fixture(scope="module")
def papers():
    return load_papers(CLAIMS)


def claim(table="Table 2", row="ALBERT base", column="SQuAD1.1", page=7, value="89.3", metric="f1",
          scale="percent"):
    return Claim("t", {"id": "t", "reported": {"value": value, "metric": metric, "scale": scale},
                       "citation": {"source": "paper", "paper": "1909.11942", "version": 6, "table": table,
                                    "row": row, "column": column, "page": page}})


def test_correct_citation_is_verified(papers):
    result = audit(claim(), papers)
    assert result.status == VERIFIED
    assert result.found["printed"] == "89.3" and result.found["metric"] == "f1"


def test_the_seed_citation_is_caught(papers):
    result = audit(claim(row="ALBERT-base", column="MRPC F1"), papers)
    assert result.status == MISMATCH
    text = " ".join(result.findings)
    assert "Table 2 has no MRPC column" in text
    assert "89.3 appears in Table 2 (p7), row ALBERT base under SQuAD1.1 (F1)" in text


@pytest.mark.parametrize("kwargs, finding", [
    ({"row": "ALBERT huge"}, "Table 2 has no row 'ALBERT huge'"),
    ({"value": "89.4"}, "prints 89.3, the claim reports 89.4"),
    ({"table": "Table 7"}, "has no Table 7 on record"),
    ({"page": 8}, "Table 2 is on page 7, the citation says page 8"),
    ({"metric": "accuracy"}, "reports f1, exact_match, not accuracy"),
    ({"column": "SQuAD1.1 EM"}, "SQuAD1.1 (EM) prints 82.3"),
])
def test_each_wrong_part_is_a_mismatch(papers, kwargs, finding):
    result = audit(claim(**kwargs), papers)
    assert result.status == MISMATCH
    assert any(finding in f for f in result.findings), result.findings


def test_precision_and_scale(papers):
    assert audit(claim(value="89.30"), papers).status == VERIFIED
    assert audit(claim(value="0.893", scale="fraction"), papers).status == VERIFIED
    assert audit(claim(table="Table 1", row="ALBERT base", column="Parameters", page=5, value="12",
                       metric="parameter_count", scale="millions"), papers).status == VERIFIED
    assert audit(claim(table="Table 9", row="ALBERT (1M)", column="MRPC", page=9, value="90.2",
                       metric="accuracy"), papers).status == VERIFIED


def test_model_cards_and_unknown_papers_are_unchecked(papers):
    card = Claim("c", {"citation": {"source": "model_card", "url": "u"}, "reported": {}})
    assert audit(card, papers).status == UNCHECKED
    other = claim()
    other.citation["paper"] = "2001.00001"
    assert audit(other, papers).status == UNCHECKED
