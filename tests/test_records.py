"""Claim records: valid files load in a stable order; each malformed kind names file, claim, field."""

from __future__ import annotations

import copy

import pytest

from harness.claims.records import load_file, load_tree, sanitise
from harness.errors import ClaimFileError
from tests.helpers import tiny_claim, write_claims


def test_defaults_merge_and_sorted_ids(tmp_path):
    defaults = {"tolerance": {"value": 2.0, "reason": "from the file's defaults block"}}
    a, b = tiny_claim("b/claim"), tiny_claim("a/claim")
    del a["tolerance"], b["tolerance"]
    write_claims(tmp_path, "x.yaml", [a, b], defaults)
    claims = load_tree(tmp_path)
    assert [c.id for c in claims] == ["a/claim", "b/claim"]
    assert all(c.tolerance == 2.0 for c in claims)
    assert claims[0].group == "tiny/albert-mrpc@000000000000"


def _broken(tmp_path, mutate):
    record = tiny_claim("tiny/broken")
    mutate(record)
    return write_claims(tmp_path, "broken.yaml", [record])


@pytest.mark.parametrize("mutate, field, words", [
    (lambda r: r.pop("tolerance"), "tolerance", "required"),
    (lambda r: r["tolerance"].pop("reason"), "tolerance.reason", "required"),
    (lambda r: r["reported"].update(metric="bleu"), "reported.metric", "bleu"),
    (lambda r: r["measure"].update(max_length="long"), "measure.max_length", "expected integer"),
    (lambda r: r["measure"]["slice"].update(size="ten"), "measure.slice.size", "matches no allowed form ('ten'"),
    (lambda r: r["reported"].update(scale="permille"), "reported.scale", "permille"),
    (lambda r: r.update(surprise=1), "surprise", "Additional properties"),
])
def test_malformed_record_names_file_claim_field(tmp_path, mutate, field, words):
    assert words, "each case names words its message must hold"
    path = _broken(tmp_path, mutate)
    with pytest.raises(ClaimFileError) as info:
        load_file(path)
    err = info.value
    assert err.path == str(path) and err.record == "tiny/broken" and err.field == field
    assert str(path) in str(err) and "tiny/broken" in str(err) and words in str(err)


def test_duplicate_id_names_both_files(tmp_path):
    write_claims(tmp_path, "one.yaml", [tiny_claim("same/id")])
    write_claims(tmp_path, "two.yaml", [tiny_claim("same/id")])
    with pytest.raises(ClaimFileError, match=r"two\.yaml.*same/id.*'id'.*one\.yaml"):
        load_tree(tmp_path)


def test_not_yaml_and_not_a_claim_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: [unclosed\n")
    with pytest.raises(ClaimFileError, match="not valid YAML"):
        load_file(bad)
    bad.write_text("something: else\n")
    with pytest.raises(ClaimFileError, match="'claims'"):
        load_file(bad)


def test_paper_records_are_not_claim_files(tmp_path):
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "1234.56789.yaml").write_text("arxiv_id: '1234.56789'\n")
    write_claims(tmp_path, "c.yaml", [tiny_claim()])
    assert [c.id for c in load_tree(tmp_path)] == ["tiny/mrpc/f1"]


@pytest.mark.parametrize("claim_id, name", [
    ("1909.11942/table2/albert-base/mrpc-f1", "1909.11942__table2__albert-base__mrpc-f1"),
    ("../../etc/passwd", "______etc__passwd"),
])
def test_artifact_names_are_sanitised(claim_id, name):
    assert sanitise(claim_id) == name
    assert "/" not in sanitise(claim_id) and not sanitise(claim_id).startswith(".")


def test_malformed_file_stops_collection_with_the_field(claims_project, pytester):
    record = copy.deepcopy(tiny_claim("tiny/bad"))
    record["reported"]["metric"] = "perplexity"
    write_claims(claims_project, "bad.yaml", [record])
    result = pytester.runpytest("claims")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*bad.yaml, claim 'tiny/bad', field 'reported.metric': 'perplexity' is not one of*"])
    assert not (pytester.path / "reports" / "verdicts").exists()


def test_bug5_a_yaml_number_as_the_reported_value_is_refused(tmp_path):
    """Bug 5: `value: 89.30` reaches us as the float 89.3; the printed digits are lost."""
    record = tiny_claim("a/b/c")
    record["reported"]["value"] = 89.30
    path = write_claims(tmp_path, "c.yaml", [record])
    with pytest.raises(ClaimFileError, match=r"c\.yaml, claim 'a/b/c', field 'reported\.value': write the value "
                                             r"exactly as printed, in quotes"):
        load_file(path)
    record["reported"]["value"] = "89.30"
    (claim,) = load_file(write_claims(tmp_path, "c.yaml", [record]))
    assert claim.reported["value"] == "89.30"


def _variants(record):
    """The record, and for every field in it: the field deleted, or its value replaced by a wrong one."""
    yield record
    paths = []

    def walk(value, path):
        paths.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for k, v in items:
            walk(v, path + (k,))

    walk(record, ())
    for path in paths[1:]:
        for replacement in (None, -1, 0.5, "x", "", [], {}, True, "1909.1194"):
            out = copy.deepcopy(record)
            parent = out
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = copy.deepcopy(replacement)
            yield out
        out = copy.deepcopy(record)
        parent = out
        for k in path[:-1]:
            parent = parent[k]
        del parent[path[-1]]
        yield out


def test_fast_schema_check_agrees_with_jsonschema():
    """schemas.fast_check (fastjsonschema) accepts a record exactly where jsonschema does: on one
    claim of every kind in the catalogue and every one-field breakage of them (thousands of records)."""
    from pathlib import Path

    from harness import schemas

    root = Path(__file__).resolve().parents[1] / "claims"
    by_kind = {}
    for claim in load_tree(root):
        by_kind.setdefault((claim.kind, claim.citation["source"]), claim.record)
    assert len(by_kind) >= 4
    fast, slow = schemas.fast_check("claim"), schemas.validator("claim")
    checked, refused = 0, 0
    for record in by_kind.values():
        for variant in _variants(record):
            want = slow.is_valid(variant)
            assert fast(variant) == want, (record["id"], variant)
            checked += 1
            refused += not want
    assert checked > 1000 and 0 < refused < checked


def test_fast_verdict_check_agrees_with_jsonschema():
    from harness import schemas
    from tests.test_artifacts import minimal_artifact

    fast, slow = schemas.fast_check("verdict"), schemas.validator("verdict")
    results = [(fast(v), slow.is_valid(v)) for v in _variants(minimal_artifact())]
    assert all(a == b for a, b in results)
    assert any(b for _, b in results) and not all(b for _, b in results)


def test_typed_parts_are_the_records_own_values():
    """The parts read most (citation, printed number, checkpoint, slice) are typed when the claim is made,
    from the record as merged: every claim of the repository's catalogue and one moved elsewhere."""
    import dataclasses
    from pathlib import Path

    from harness.claims import checkpoints

    claims = load_tree(Path(__file__).resolve().parents[1] / "claims")
    assert claims
    for c in claims:
        r, m, cit = c.record["reported"], c.record["measure"], c.record["citation"]
        assert (c.cited.source, c.cited.paper, c.cited.page, c.cited.table, c.cited.statement, c.cited.url) == \
            (cit["source"], cit.get("paper"), cit.get("page"), cit.get("table"), cit.get("statement"), cit.get("url"))
        assert (c.printed.value, c.printed.metric, c.printed.scale, c.printed.rounded_to) == \
            (r["value"], r["metric"], r["scale"], r.get("rounded_to"))
        ckpt = m.get("checkpoint")
        if ckpt is None:
            assert c.checkpoint_ref is None
        else:
            assert (c.checkpoint_ref.repo, c.checkpoint_ref.revision, c.checkpoint_ref.unavailable) == \
                (ckpt.get("repo"), ckpt.get("revision"), ckpt.get("unavailable"))
        sl = m.get("slice")
        assert (c.slice_plan is None) == (sl is None)
        if sl is not None:
            assert (c.slice_plan.size, c.slice_plan.seed, c.slice_plan.stratified, c.slice_plan.grow) == \
                (sl["size"], sl["seed"], sl.get("stratified", True), bool(sl.get("grow", False)))
    model = next(c for c in claims if c.checkpoint_ref is not None)
    moved = checkpoints.with_checkpoint(model, "org/other", "a" * 40)
    assert (moved.checkpoint_ref.repo, moved.checkpoint_ref.origin) == ("org/other", "community")
    assert moved.group == "org/other@aaaaaaaaaaaa" and model.checkpoint_ref.repo != "org/other"
    record = copy.deepcopy(model.record)
    record["measure"]["slice"] = {"size": 50, "seed": 3, "grow": {"max_pairs": 400}}
    grown = dataclasses.replace(model, record=record).slice_plan
    assert (grown.size, grown.seed, grown.stratified, grown.grow, grown.max_pairs, grown.max_seconds) == \
        (50, 3, True, True, 400, None)
