"""The prediction cache: a re-run with nothing changed skips inference; any key change recomputes."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import pytest

from harness.measure.cache import SECRET_NAME, CacheWarning, PredictionCache, key_of
from harness.report.artifacts import without_volatile
from tests.helpers import claims_folder, read_verdicts, tiny_claim, write_claims
from tests.runs import run_pytest

PARTS = {"checkpoint": "a/b", "revision": "0" * 40, "weights_sha256": "w", "tokenizer_sha256": "t",
         "dataset": "d", "slice_id": "s", "dtype": "float32", "device": "cpu", "max_length": 128}


def test_every_key_part_matters():
    base = key_of(PARTS)
    assert key_of(dict(PARTS)) == base
    for name in PARTS:
        assert key_of({**PARTS, name: "changed"}) != base, name


def _put(folder, i):
    cache = PredictionCache(folder)
    cache.put("ab" * 32, PARTS, {"logits": [[float(i), 0.0]] * 200})
    return cache.get("ab" * 32) is not None


def test_concurrent_writers_leave_a_whole_entry(tmp_path):
    with ProcessPoolExecutor(4) as pool:
        assert all(pool.map(_put, [tmp_path] * 16, range(16)))
    entry = PredictionCache(tmp_path).get("ab" * 32)
    assert entry is not None and len(entry["logits"]) == 200
    assert [p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != SECRET_NAME] == ["ab" * 32 + ".json"]
    assert (tmp_path / SECRET_NAME).stat().st_mode & 0o777 == 0o600   # one secret, made once by 16 writers
    assert PredictionCache(tmp_path).clear() == 1 and PredictionCache(tmp_path).get("ab" * 32) is None


def test_an_edited_entry_with_a_recomputed_plain_digest_is_not_trusted(tmp_path):
    """The digest is keyed: whoever edits an entry cannot make it pass without the cache's secret."""
    import hashlib

    from harness.measure import cache as mod

    cache = PredictionCache(tmp_path)
    cache.put("ab" * 32, PARTS, {"logits": [[0.1, 0.9]]})
    path = next(p for p in tmp_path.rglob("*.json"))
    data = json.loads(path.read_text())
    data["payload"]["logits"] = [[0.9, 0.1]]
    text = json.dumps({"key": data["key"], "payload": data["payload"]}, sort_keys=True, allow_nan=True)
    data["digest"] = hashlib.sha256(text.encode()).hexdigest()          # the old, unkeyed digest, recomputed
    path.write_text(json.dumps(data))
    with pytest.warns(CacheWarning, match="does not match its digest"):
        assert PredictionCache(tmp_path).get("ab" * 32) is None
    data["digest"] = mod._digest(b"x" * 32, data["key"], data["payload"])   # keyed, with a guessed secret
    path.write_text(json.dumps(data))
    with pytest.warns(CacheWarning, match="does not match its digest"):
        assert PredictionCache(tmp_path).get("ab" * 32) is None


def test_a_secret_others_can_read_or_a_linked_one_is_not_trusted(tmp_path):
    cache = PredictionCache(tmp_path)
    cache.put("ab" * 32, PARTS, {"logits": [[0.1, 0.9]]})
    secret = tmp_path / SECRET_NAME
    secret.chmod(0o644)
    with pytest.warns(CacheWarning, match="0644"):
        assert PredictionCache(tmp_path).get("ab" * 32) is None
    secret.chmod(0o600)
    assert PredictionCache(tmp_path).get("ab" * 32) is not None
    moved = tmp_path / "elsewhere"
    secret.rename(moved)
    secret.symlink_to(moved)                                      # a link planted in its place
    with pytest.warns(CacheWarning, match="not used"):
        assert PredictionCache(tmp_path).get("ab" * 32) is None


def test_torn_entries_are_misses(tmp_path):
    cache = PredictionCache(tmp_path)
    cache.put("a" * 64, PARTS, {"logits": []})
    path = next(tmp_path.rglob("*.json"))
    path.write_text(path.read_text()[:10])
    with pytest.warns(CacheWarning, match="unreadable"):
        assert cache.get("a" * 64) is None


def test_rerun_hits_and_a_changed_claim_misses(tiny_mirror, tmp_path):
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    write_claims(claims, "tiny.yaml", [tiny_claim("tiny/f1", size=60)])
    args = ["claims", f"--claims-mirror={tiny_mirror}", f"--claims-cache={tmp_path / 'cache'}"]
    for reports in ("r1", "r2"):
        run = run_pytest(project, *args, f"--claims-reports={reports}")
        assert run.ret == 0 and run.outcomes() == {"passed": 1}, run.tail()
    first, second = (read_verdicts(project / r)["tiny__f1.json"] for r in ("r1", "r2"))
    assert first["measurement"]["cache"]["hit"] is False
    assert second["measurement"]["cache"]["hit"] is True
    assert second["measurement"]["timings"]["inference_seconds"] == 0.0
    assert without_volatile(first) == without_volatile(second)
    # a different max length is a different key: recomputed
    path = claims / "tiny.yaml"
    path.write_text(path.read_text().replace("max_length: 64", "max_length: 48"))
    run = run_pytest(project, *args, "--claims-reports=r3")
    assert run.ret == 0, run.tail()
    third = read_verdicts(project / "r3")["tiny__f1.json"]
    assert third["measurement"]["cache"]["hit"] is False
    assert third["measurement"]["cache"]["key"] != first["measurement"]["cache"]["key"]
    assert json.loads((project / "r3" / "summary.json").read_text())["claims"][0]["claim"] == "tiny/f1"
