"""The regression (STS-B) and span-extraction (SQuAD) kinds end to end, through the plugin.

One shared run over tiny models and splits built here: a regression ALBERT on an STS-B-like
split, a question-answering ALBERT on SQuAD v1.1- and v2.0-like splits. Each artifact is checked
against numbers computed apart from the harness: predictions from transformers directly,
correlations from scipy, and the SQuAD scores of the stored answers against the gold answers
read back from the parquet files.
"""

from __future__ import annotations

import math

import jsonschema
import pytest

from harness import schemas
from tests.helpers import TINY_REVISION, read_verdicts, write_claims
from tests.runs import run_pytest

pytestmark = pytest.mark.xdist_group("new-kinds")

STSB_MODEL = "tiny/albert-stsb"


def _claim(claim_id, metric, value, measure, *, scale="fraction", tolerance=0.5):
    return {
        "id": claim_id,
        "citation": {"source": "model_card", "url": "https://example.invalid/tiny"},
        "reported": {"value": value, "metric": metric, "scale": scale},
        "measure": measure,
        "tolerance": {"value": tolerance, "reason": "test claim: the tiny model's value is arbitrary",
                      "allow_wide_band": True},
        "run_spread": {"none": "the tiny model under test is the one the number describes"},
    }


def _stsb(size, grow=False):
    from tests import tiny_stsb

    return {"kind": "regression", "dataset": {**tiny_stsb.ds_cfg(), "score_range": [0, 5]},
            "checkpoint": {"repo": STSB_MODEL, "revision": TINY_REVISION, "origin": "source"},
            "max_length": 64, "slice": {"size": size, "seed": 0, "grow": grow}}


def _squad(version, size):
    repo, config = ("tiny/squad", "plain_text") if version == "1.1" else ("tiny/squad_v2", "squad_v2")
    return {"kind": "span_extraction", "version": version,
            "dataset": {"repo": repo, "config": config, "split": "validation", "revision": "main"},
            "checkpoint": {"repo": "tiny/albert-squad", "revision": TINY_REVISION, "origin": "source"},
            "max_length": 96, "doc_stride": 32, "slice": {"size": size, "seed": 0}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Mirror with both tiny models and the three splits."""
    from tests import tiny_qa, tiny_stsb
    from tests.tiny_albert import build_tiny_albert

    root = tmp_path_factory.mktemp("new-kinds-mirror")
    build_tiny_albert(root / "models" / STSB_MODEL, seed=3, regression=True)
    tiny_stsb.write_tiny_stsb(root, n=80, seed=0)
    (root / "datasets" / tiny_stsb.REPO / "README.md").write_text("# tiny stsb\n")
    tiny_qa.build_tiny_qa_mirror(root, n=40, unanswerable=10)
    return root


@pytest.fixture(scope="module")
def run(world, tmp_path_factory):
    """One plugin run over five claims of the two kinds; returns (outcome, verdicts by claim id)."""
    pytester_root = tmp_path_factory.mktemp("new-kinds-run")
    from tests.helpers import claims_folder

    claims = claims_folder(pytester_root / "claims")
    write_claims(claims, "kinds.yaml", [
        _claim("tiny/stsb/pearson", "pearson", "0.0", _stsb(30, grow=True)),
        _claim("tiny/stsb/spearman-whole", "spearman", "0.0", _stsb("all")),
        _claim("tiny/squad11/f1", "f1", "50.0", _squad("1.1", 30), scale="percent", tolerance=50),
        _claim("tiny/squad11/em-whole", "exact_match", "50.0", _squad("1.1", "all"), scale="percent", tolerance=50),
        _claim("tiny/squad20/em", "exact_match", "50.0", _squad("2.0", "all"), scale="percent", tolerance=50),
    ])
    reports = pytester_root / "reports"
    result = run_pytest(pytester_root, "claims", f"--claims-mirror={world}", f"--claims-reports={reports}",
                        "--claims-no-cache", "-q")
    verdicts = {a["claim_id"]: a for a in read_verdicts(reports).values()}
    return result, verdicts


def test_every_claim_is_measured_and_its_artifact_is_valid(run):
    result, verdicts = run
    assert sorted(verdicts) == ["tiny/squad11/em-whole", "tiny/squad11/f1", "tiny/squad20/em",
                                "tiny/stsb/pearson", "tiny/stsb/spearman-whole"], result.tail()
    for claim_id, art in verdicts.items():
        jsonschema.validate(art, schemas.load("verdict"))
        assert art["verdict"]["status"] in ("reproduced", "not_reproduced", "inconclusive"), \
            (claim_id, art["verdict"].get("reason"), result.tail())
        assert art["measurement"]["kind"] in ("regression", "span_extraction")
    assert result.ret in (0, 1), result.tail()


def _independent_scores(world, sentences1, sentences2):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = world / "models" / STSB_MODEL
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    out = []
    with torch.no_grad():
        for a, b in zip(sentences1, sentences2):     # one pair at a time: no padding at all
            enc = tok(a, b, truncation=True, max_length=64, return_token_type_ids=True, return_tensors="pt")
            out.append(float(model(**enc).logits[0, 0]))
    return out


def test_regression_scores_and_correlations_match_an_independent_computation(run, world):
    import pyarrow.parquet as pq
    from scipy import stats

    _, verdicts = run
    table = pq.read_table(next((world / "datasets" / "tiny" / "glue" / "stsb").glob("validation-*.parquet")))
    rows = {int(i): (a, b, float(y)) for i, a, b, y in zip(*(table.column(c).to_pylist() for c in
                                                               ("idx", "sentence1", "sentence2", "label")))}
    whole = verdicts["tiny/stsb/spearman-whole"]
    m = whole["measurement"]
    assert m["n"] == len(rows) == 80 and m["slice"]["whole_split"]
    assert m["labels"] == pytest.approx([rows[i][2] for i in m["idx"]])
    expected = _independent_scores(world, [rows[i][0] for i in m["idx"]], [rows[i][1] for i in m["idx"]])
    assert m["predictions"] == pytest.approx(expected, abs=1e-4)
    assert m["metrics"]["spearman"] == pytest.approx(stats.spearmanr(m["labels"], expected).statistic, abs=1e-6)
    assert m["metrics"]["pearson"] == pytest.approx(stats.pearsonr(m["labels"], expected).statistic, abs=1e-6)
    # The whole split is a point: no sampling error, confidence 1, decided by the band alone.
    st = whole["statistics"]
    assert st["interval"][0] == st["interval"][1] == pytest.approx(m["metrics"]["spearman"])
    band = st["band"]
    inside = band["low"] <= m["value"] <= band["high"]
    assert whole["verdict"]["status"] == ("reproduced" if inside else "not_reproduced")
    # A growing slice: nested looks, each a bootstrap interval around its estimate, in the range.
    grown = verdicts["tiny/stsb/pearson"]
    looks = grown["statistics"]["looks"]
    assert [lk["n"] for lk in looks] == sorted(lk["n"] for lk in looks) and looks[0]["n"] == 30
    for lk in looks:
        assert -1.0 <= lk["interval"][0] <= lk["interval"][1] <= 1.0
    assert grown["measurement"]["slice"]["stratified"] is False
    sub = [rows[i] for i in grown["measurement"]["idx"]]
    assert grown["measurement"]["labels"] == pytest.approx([r[2] for r in sub])


def _gold(world, folder, config):
    import pyarrow.parquet as pq

    table = pq.read_table(next((world / "datasets" / "tiny" / folder / config).glob("validation-*.parquet")))
    return {q: (c, [t for t in a["text"]]) for q, c, a in zip(*(table.column(n).to_pylist() for n in
                                                                ("id", "context", "answers")))}


@pytest.mark.parametrize("claim_id, folder, config, version", [
    ("tiny/squad11/em-whole", "squad", "plain_text", "1.1"),
    ("tiny/squad20/em", "squad_v2", "squad_v2", "2.0"),
])
def test_span_answers_come_from_their_context_and_scores_follow_the_official_rules(run, world, claim_id, folder,
                                                                                   config, version):
    from harness.metrics import squad

    _, verdicts = run
    art = verdicts[claim_id]
    m = art["measurement"]
    gold = _gold(world, folder, config)
    assert sorted(m["ids"]) == sorted(gold) and m["slice"]["whole_split"]
    assert m["gold_answers"] == [gold[q][1] for q in m["ids"]]
    for qid, answer in zip(m["ids"], m["predictions"]):
        context = gold[qid][0]
        assert answer == "" and version == "2.0" or answer in context or answer == "empty", (qid, answer)
    em = [squad.exact_match(a, gold[q][1], version=version) for q, a in zip(m["ids"], m["predictions"])]
    f1 = [squad.f1(a, gold[q][1], version=version) for q, a in zip(m["ids"], m["predictions"])]
    assert m["metrics"]["exact_match"] == pytest.approx(sum(em) / len(em))
    assert m["metrics"]["f1"] == pytest.approx(sum(f1) / len(f1))
    assert m["decoding"]["version"] == version and m["decoding"]["doc_stride"] == 32
    assert art["statistics"]["interval"] == [m["value"], m["value"]]


def test_span_f1_on_a_slice_has_a_bootstrap_interval(run):
    _, verdicts = run
    art = verdicts["tiny/squad11/f1"]
    st = art["statistics"]
    assert art["measurement"]["n"] == 30
    low, high = st["interval"]
    assert 0.0 <= low <= high <= 1.0
    if st["method"].startswith("bootstrap"):
        assert low <= art["measurement"]["value"] <= high or math.isclose(low, high)
    else:   # every question scored alike: no spread seen, the interval is the metric's range
        assert st["method"].startswith("degenerate") and (low, high) == (0.0, 1.0)
