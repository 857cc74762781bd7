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


# ---------------------------------------------------------------------- citations of a prose statement
BERT_RECORD = """\
arxiv_id: "1810.04805"
version: 2
title: "BERT"
source_url: https://arxiv.org/abs/1810.04805v2
statements:
  - id: bert-base-parameters
    page: 3
    quote: "BERTBASE (L=12, H=768, A=12, Total Parameters=110M)"
    values:
      - {printed: 110M, metric: parameter_count, unit: millions}
  - id: bert-large-parameters
    page: 3
    quote: "BERTLARGE (L=24, H=1024, A=16, Total Parameters=340M)"
    values:
      - {printed: 340M, metric: parameter_count, unit: millions}
"""


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bert")
    (folder / "papers").mkdir()
    (folder / "papers" / "1810.04805.yaml").write_text(BERT_RECORD, encoding="utf-8")
    return load_papers(folder)


def cites_statement(statement="bert-base-parameters", page=3, value="110", metric="parameter_count",
                    quote="Total Parameters=110M"):
    citation = {"source": "paper", "paper": "1810.04805", "version": 2, "statement": statement, "page": page}
    if quote is not None:
        citation["quote"] = quote
    return Claim("s", {"id": "s", "reported": {"value": value, "metric": metric, "scale": "millions"},
                       "citation": citation})


def test_a_statement_citation_that_holds_is_verified(bert):
    result = audit(cites_statement(), bert)
    assert result.status == VERIFIED, result.findings
    assert result.found == {"statement": "bert-base-parameters", "page": 3, "printed": "110M",
                            "metric": "parameter_count", "unit": "millions"}
    assert audit(cites_statement(quote=None), bert).status == VERIFIED          # the quote is optional


@pytest.mark.parametrize("kwargs, finding", [
    ({"statement": "bert-huge-parameters"}, "has no statement 'bert-huge-parameters' on record"),
    ({"page": 4}, "statement bert-base-parameters is on page 3, the citation says page 4"),
    ({"quote": "Total Parameters=340M"}, "not 'Total Parameters=340M'"),
    ({"value": "111"}, "prints 110M, the claim reports 111"),
    ({"metric": "accuracy"}, "states parameter_count, not accuracy"),
    ({"value": "340"}, "340 appears in statement bert-large-parameters (p3)"),
])
def test_each_wrong_part_of_a_statement_citation_is_a_mismatch(bert, kwargs, finding):
    result = audit(cites_statement(**kwargs), bert)
    assert result.status == MISMATCH
    assert any(finding in f for f in result.findings), result.findings
