"""SQuAD exact match and F1 against values worked out by hand from the official scripts' rules.

Each row's expected values were computed on paper: normalise (lower, drop ASCII punctuation,
drop whole-word a/an/the, collapse spaces), split into words, count shared words with
multiplicity, F1 = 2PR/(P+R), max over golds. The comment on a row is the working.
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.metrics.squad import exact_match, f1, gold_answers, normalize_answer, scores

# (prediction, golds, version, expected EM, expected F1)
CASES = [
    ("Denver Broncos", ["Denver Broncos"], "2.0", 1, F(1)),
    ("denver broncos", ["Denver Broncos"], "2.0", 1, F(1)),                 # case
    ("The Denver Broncos", ["Denver Broncos"], "2.0", 1, F(1)),             # article dropped
    ("Denver Broncos.", ["Denver Broncos"], "2.0", 1, F(1)),                # punctuation dropped
    ("  Denver \t\n Broncos ", ["denver broncos"], "2.0", 1, F(1)),         # whitespace collapsed
    ("Broncos Denver", ["Denver Broncos"], "2.0", 0, F(1)),                 # bag of words: F1 ignores order
    ("Denver", ["Denver Broncos"], "2.0", 0, F(2, 3)),                      # P=1 R=1/2
    ("the Denver Broncos won", ["Denver Broncos"], "2.0", 0, F(4, 5)),      # P=2/3 R=1
    ("Denver Broncos won the game", ["the Broncos won Super Bowl 50"], "2.0", 0, F(4, 9)),  # 2 shared; P=2/4 R=2/5
    ("the the cat cat cat", ["cat"], "2.0", 0, F(1, 2)),                    # repeated: 1 shared; P=1/3 R=1
    ("cat", ["cat cat"], "2.0", 0, F(2, 3)),                                # repeated gold: P=1 R=1/2
    ("cat cat dog", ["cat cat"], "2.0", 0, F(4, 5)),                        # both copies match: 2 shared; P=2/3 R=1
    # "a" is an article: [b b c] vs [b b b d]; 2 shared; P=2/3 R=1/2
    ("a b b c", ["b b b d"], "2.0", 0, F(4, 7)),
    ("Carolina Panthers", ["Denver Broncos"], "2.0", 0, F(0)),              # nothing shared
    ("Denver", ["Denver Broncos", "Denver", "Broncos"], "2.0", 1, F(1)),    # max over golds
    ("Santa Clara California", ["Levi's Stadium", "Santa Clara", "Santa Clara, California, USA"],
     "2.0", 0, F(6, 7)),                                                   # vs 2nd: 4/5; vs 3rd: P=1 R=3/4 -> 6/7 wins
    ("another theory", ["other theory"], "2.0", 0, F(1, 2)),                # "an" only as a whole word
    ("the theater", ["theater"], "2.0", 1, F(1)),                           # "the" inside "theater" stays
    ("a-b", ["b"], "2.0", 0, F(0)),                                         # punctuation first: "ab", no article left
    ("U.S.", ["US"], "2.0", 1, F(1)),                                       # dots dropped, letters join
    ("state-of-the-art", ["state of the art"], "2.0", 0, F(0)),             # "stateoftheart" vs [state of art]
    ("Levi's Stadium", ["Levis Stadium"], "2.0", 1, F(1)),                  # apostrophe dropped
    ("THE Broncos", ["Broncos"], "2.0", 1, F(1)),                           # lower before articles
    ("ÉCOLE", ["école"], "2.0", 1, F(1)),                                   # unicode lower
    ("\u201cDenver\u201d", ["Denver"], "2.0", 0, F(0)),                     # curly quotes are not string.punctuation
    ("Denver \u2014 Broncos", ["Denver Broncos"], "2.0", 0, F(4, 5)),       # em dash is a word: [denver — broncos]
    ("", ["Denver Broncos"], "2.0", 0, F(0)),                               # empty prediction, answerable
    ("", [], "2.0", 1, F(1)),                                               # v2 no-answer, abstained: golds [""]
    ("Denver", [], "2.0", 0, F(0)),                                         # v2 no-answer, answered anyway
    ("the.", [], "2.0", 1, F(1)),                                           # normalises to nothing: counts as abstaining
    ("a", ["The"], "2.0", 1, F(1)),                                         # v2 drops gold "The" -> [""]; both have no tokens
    ("a", ["The"], "1.1", 1, F(0)),                                         # v1.1 keeps it: "" == ""; F1 0 (nothing shared)
    ("", ["the", "Denver"], "2.0", 0, F(0)),                                # v2: golds become ["Denver"]
    ("", ["the", "Denver"], "1.1", 1, F(0)),                                # v1.1: "" matches normalised "the"
    ("Denver", ["Denver Broncos"], "1.1", 0, F(2, 3)),                      # the versions agree on ordinary answers
    ("", ["Denver"], "1.1", 0, F(0)),
]


@pytest.mark.parametrize("prediction,golds,version,em,f1_expected", CASES)
def test_hand_computed_case(prediction, golds, version, em, f1_expected):
    assert exact_match(prediction, golds, version=version) == em
    assert f1(prediction, golds, version=version) == pytest.approx(float(f1_expected), rel=1e-12, abs=1e-15)


def test_scores_gives_the_table_row_by_row():
    """``scores`` is the per-question vector of the same two numbers (v2.0 rows)."""
    rows = [c for c in CASES if c[2] == "2.0"]
    em, f = scores([r[0] for r in rows], [r[1] for r in rows])
    assert em.dtype == np.float64 and f.dtype == np.float64 and em.shape == f.shape == (len(rows),)
    assert em.tolist() == [float(r[3]) for r in rows]
    assert f == pytest.approx([float(r[4]) for r in rows], rel=1e-12, abs=1e-15)


def test_scores_with_v11_rules():
    em, f = scores(["a", "Denver"], [["The"], ["Denver Broncos"]], version="1.1")
    assert em.tolist() == [1.0, 0.0]
    assert f == pytest.approx([0.0, 2 / 3], rel=1e-12)


def test_normalize_answer_examples():
    assert normalize_answer("The  Quick, brown FOX!") == "quick brown fox"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("“quoted”") == "“quoted”"
    assert normalize_answer("") == ""


def test_gold_answers_rules():
    assert gold_answers([]) == [""]
    assert gold_answers(["the", "  ", "Denver"]) == ["Denver"]
    assert gold_answers(["the"], version="1.1") == ["the"]


def test_refusals():
    with pytest.raises(ValueError, match="has none"):
        f1("x", [], version="1.1")
    with pytest.raises(ValueError, match="version"):
        exact_match("x", ["x"], version="2")
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        scores(["a", "b"], [["a"]])


_text = st.text(alphabet=st.sampled_from(list("ab the,.-'\u201c\u00c9\u00e9xyz\t")), max_size=30)


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(s):
    once = normalize_answer(s)
    assert normalize_answer(once) == once


@given(_text, st.lists(_text, max_size=4))
def test_em_never_exceeds_f1_and_both_in_range(prediction, golds):
    em, f = exact_match(prediction, golds), f1(prediction, golds)
    assert em in (0.0, 1.0)
    assert 0.0 <= f <= 1.0
    assert em <= f


@given(st.lists(_text, min_size=1, max_size=4), st.data())
def test_a_gold_answer_scores_full_marks(golds, data):
    kept = gold_answers(golds)
    prediction = data.draw(st.sampled_from(kept))
    assert exact_match(prediction, golds) == 1.0
    assert f1(prediction, golds) == 1.0
