"""File digests are hashed once per version of a file and hashed again when it changes."""

from __future__ import annotations

import os
import time

from harness.measure import digests, models


def _counting(path):
    calls = []

    def compute():
        calls.append(1)
        return models.files_digest(path.parent, [path.name])
    return compute, calls


def test_a_digest_is_reused_until_the_file_changes_even_with_its_mtime_put_back(tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "SETTLED", 0.0)
    memory = tmp_path / "digests"
    path = tmp_path / "ckpt" / "pytorch_model.bin"
    path.parent.mkdir()
    path.write_bytes(b"a" * 1000)
    compute, calls = _counting(path)
    first = digests.remembered([path], compute, kind="t", folder=memory)
    assert digests.remembered([path], compute, kind="t", folder=memory) == first
    assert len(calls) == 1
    # Same size, content changed in place, mtime restored (as cp -p would): ctime still moves.
    st = os.stat(path)
    time.sleep(0.05)     # past a kernel tick: file times are coarse
    with path.open("r+b") as fh:
        fh.write(b"b")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    changed = digests.remembered([path], compute, kind="t", folder=memory)
    assert len(calls) == 2 and changed != first
    assert changed == models.files_digest(path.parent, [path.name])


def test_a_file_written_just_now_is_hashed_every_time(tmp_path):
    """Written within the last SETTLED seconds, a second write in the same tick would keep its times."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    compute, calls = _counting(path)
    digests.remembered([path], compute, kind="t", folder=tmp_path / "digests")
    digests.remembered([path], compute, kind="t", folder=tmp_path / "digests")
    assert len(calls) == 2 and not list((tmp_path / "digests").rglob("*.json"))


def test_a_damaged_entry_is_a_miss_and_off_means_off(tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "SETTLED", 0.0)
    memory = tmp_path / "digests"
    path = tmp_path / "f"
    path.write_bytes(b"x")
    compute, calls = _counting(path)
    good = digests.remembered([path], compute, kind="t", folder=memory)
    (entry,) = memory.rglob("*.json")
    entry.write_text("{not json")
    assert digests.remembered([path], compute, kind="t", folder=memory) == good and len(calls) == 2
    monkeypatch.setenv("CLAIMS_DIGESTS", "off")
    assert digests.default_dir() is None
    digests.remembered([path], compute, kind="t")
    digests.remembered([path], compute, kind="t")
    assert len(calls) == 4


def test_file_facts_are_the_same_digests_as_before(tmp_path, monkeypatch):
    """Remembering changes when the hash is computed, never its value (cache keys stay valid)."""
    monkeypatch.setenv("CLAIMS_DIGESTS", str(tmp_path / "digests"))
    monkeypatch.setattr(digests, "SETTLED", 0.0)
    (tmp_path / "pytorch_model.bin").write_bytes(b"w" * 100)
    (tmp_path / "spiece.model").write_bytes(b"s" * 10)
    facts = models.file_facts(tmp_path)
    again = models.file_facts(tmp_path)
    assert facts == again == {"weights_file": "pytorch_model.bin",
                              "weights_sha256": models.files_digest(tmp_path, ["pytorch_model.bin"]),
                              "tokenizer_sha256": models.files_digest(tmp_path, models.TOKENIZER_FILES)}
    assert len(list((tmp_path / "digests").rglob("*.json"))) == 2
