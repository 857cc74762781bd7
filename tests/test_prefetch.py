"""``harness.prefetch``: what a mirror needs for the claims, fetched or listed.

Nothing here reaches the hub: there is no network where these tests run. The offline path
runs for real (a subprocess with HF_HUB_OFFLINE=1 and an audit hook on sockets); the
download path runs against a fake ``snapshot_download``/``HfApi`` that writes files the way
``snapshot_download(local_dir=...)`` does. A real download is not tested here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants
import pytest

from harness.claims.records import load_tree
from harness.measure import assets
from harness.prefetch import prefetch, run_prefetch
from tests.helpers import NET_AUDIT_HOOK, tiny_claim, write_claims

ROOT = Path(__file__).resolve().parents[1]
REV_A = "a" * 40
REV_B = "b" * 40
GLUE = {"repo": "nyu-mll/glue", "config": "mrpc", "split": "validation", "revision": "main",
        "text_fields": ["sentence1", "sentence2"], "label_field": "label", "positive_label": "equivalent"}


def _claim(claim_id, repo, revision=REV_A, config="mrpc", ds_revision="main"):
    record = tiny_claim(claim_id, repo=repo)
    record["measure"]["checkpoint"]["revision"] = revision
    record["measure"]["dataset"] = dict(GLUE, config=config, revision=ds_revision)
    return record


@pytest.fixture
def claims_dir(tmp_path) -> Path:
    """Two models (one used by two claims), glue with two configs, a claim with no public
    checkpoint, and parameter-count claims (which need no asset)."""
    folder = tmp_path / "claims"
    folder.mkdir()
    unavailable = _claim("z/unpublished", "x/y")
    unavailable["measure"]["checkpoint"] = {"unavailable": "the authors never released this fine-tune"}
    write_claims(folder, "a.yaml", [
        _claim("b/mrpc-f1", "zeta/model-mrpc"),
        _claim("a/mrpc-acc", "zeta/model-mrpc"),
        _claim("c/cola-acc", "alpha/model-cola", config="cola"),
        unavailable,
    ])
    shutil.copy(ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml", folder / "params.yaml")
    return folder


def _model_files(folder: Path, weights="model.safetensors"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / weights).write_bytes(b"\0" * 8)


def _dataset_files(folder: Path, configs=("mrpc",)):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("# glue\n")
    for c in configs:
        (folder / c).mkdir(exist_ok=True)
        (folder / c / "validation-00000-of-00001.parquet").write_bytes(b"PAR1")


class FakeHub:
    """Stands in for the hub: repo listings, and snapshot_download writing like local_dir does."""

    def __init__(self, listings: dict[str, list[str]], broken: dict[str, Exception] | None = None):
        self.listings = listings
        self.broken = broken or {}
        self.calls: list[dict] = []
        self.listed: list[tuple] = []

    def api(self):
        hub = self

        class Api:
            def list_repo_files(self, repo_id, *, revision=None, repo_type=None, token=None):
                hub.listed.append((repo_id, revision, repo_type))
                if repo_id in hub.broken:
                    raise hub.broken[repo_id]
                return list(hub.listings[repo_id])

        return Api()

    def snapshot_download(self, repo_id, *, repo_type=None, revision=None, local_dir=None,
                          allow_patterns=None, **kw):
        import fnmatch

        self.calls.append({"repo": repo_id, "repo_type": repo_type, "revision": revision,
                           "local_dir": str(local_dir), "allow_patterns": list(allow_patterns or [])})
        if repo_id in self.broken:
            raise self.broken[repo_id]
        out = Path(local_dir)
        for name in self.listings[repo_id]:
            if any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).write_text(name)
        return str(out)


@pytest.fixture
def fake_hub(monkeypatch):
    """Online as far as huggingface_hub can tell, but every call lands in a FakeHub."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)

    def install(hub: FakeHub) -> FakeHub:
        monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
        monkeypatch.setattr(huggingface_hub, "HfApi", hub.api)
        return hub

    return install


# ---------------------------------------------------------------------- listing
def test_assets_are_deduplicated_and_sorted(claims_dir, tmp_path):
    rows = prefetch(load_tree(claims_dir), tmp_path / "mirror", dry_run=True)
    assert [(r["kind"], r["repo"], r["revision"]) for r in rows] == [
        ("dataset", "nyu-mll/glue", "main"),
        ("model", "alpha/model-cola", REV_A),
        ("model", "zeta/model-mrpc", REV_A),
    ]
    glue, cola, mrpc = rows
    assert glue["configs"] == ["cola", "mrpc"]
    assert glue["allow_patterns"] == ["README.md", "cola/*", "mrpc/*"]
    assert glue["claims"] == ["a/mrpc-acc", "b/mrpc-f1", "c/cola-acc", "z/unpublished"]
    assert mrpc["claims"] == ["a/mrpc-acc", "b/mrpc-f1"]
    assert cola["path"] == str(tmp_path / "mirror" / "models" / "alpha" / "model-cola")
    assert glue["path"] == str(tmp_path / "mirror" / "datasets" / "nyu-mll" / "glue")
    for r in rows:
        assert set(r) >= {"kind", "repo", "revision", "status", "error"}


def test_dry_run_lists_without_touching_hub_or_disk(claims_dir, tmp_path, monkeypatch):
    def no(*a, **k):
        raise AssertionError("dry run must not call the hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no)
    monkeypatch.setattr(huggingface_hub, "HfApi", no)
    mirror = tmp_path / "mirror"
    _model_files(mirror / "models" / "alpha" / "model-cola")
    rows = prefetch(load_tree(claims_dir), mirror, dry_run=True)
    status = {r["repo"]: r["status"] for r in rows}
    assert status == {"nyu-mll/glue": "skipped", "alpha/model-cola": "present", "zeta/model-mrpc": "skipped"}
    assert all(r["error"] is None for r in rows if r["status"] == "present")
    assert "would fetch" in next(r for r in rows if r["repo"] == "zeta/model-mrpc")["error"]
    assert not (mirror / "datasets").exists() and not (mirror / "models" / "zeta").exists()

    out = _Lines()
    assert run_prefetch(claims_dir, mirror, dry_run=True, out=out) == 0
    assert "skipped  model   zeta/model-mrpc@" + REV_A in out.text
    assert "1 present, 2 skipped" in out.text


class _Lines:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_present_means_what_the_resolver_accepts(claims_dir, tmp_path, monkeypatch):
    """A folder without weights, a dataset missing a config, or a recorded commit other than
    the pinned one is not 'present'; a complete folder is, and the resolver agrees."""
    monkeypatch.setattr(huggingface_hub, "snapshot_download", None)
    mirror = tmp_path / "mirror"
    (mirror / "models" / "zeta" / "model-mrpc").mkdir(parents=True)
    (mirror / "models" / "zeta" / "model-mrpc" / "config.json").write_text("{}")      # no weights
    _dataset_files(mirror / "datasets" / "nyu-mll" / "glue", configs=("mrpc",))       # no cola
    cola = mirror / "models" / "alpha" / "model-cola"
    _model_files(cola)
    meta = cola / ".cache" / "huggingface" / "download" / "config.json.metadata"
    meta.parent.mkdir(parents=True)
    meta.write_text(REV_B + "\netag\n0\n")                                             # other commit
    rows = {r["repo"]: r for r in prefetch(load_tree(claims_dir), mirror, dry_run=True)}
    assert "no weights file" in rows["zeta/model-mrpc"]["error"]
    assert "config 'cola'" in rows["nyu-mll/glue"]["error"]
    assert f"holds revision {REV_B}" in rows["alpha/model-cola"]["error"]
    assert {r["status"] for r in rows.values()} == {"skipped"}

    meta.write_text(REV_A + "\netag\n0\n")
    rows = {r["repo"]: r for r in prefetch(load_tree(claims_dir), mirror, dry_run=True)}
    assert rows["alpha/model-cola"]["status"] == "present"
    assert assets.resolve_model("alpha/model-cola", REV_A, mirror=mirror, allow_download=False).source == "mirror"


def test_one_repo_at_two_revisions_is_refused(tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    write_claims(folder, "a.yaml", [_claim("a/one", "org/m", revision=REV_A),
                                    _claim("a/two", "org/m", revision=REV_B)])
    rows = prefetch(load_tree(folder), tmp_path / "mirror", dry_run=True)
    bad = [r for r in rows if r["repo"] == "org/m"]
    assert len(bad) == 2 and {r["status"] for r in bad} == {"failed"}
    assert all("2 revisions" in r["error"] and "one revision per repo" in r["error"] for r in bad)


# ---------------------------------------------------------------------- fetching (fake hub)
def test_fetch_prefers_safetensors_and_goes_on_after_a_failure(claims_dir, tmp_path, fake_hub):
    hub = fake_hub(FakeHub(
        listings={
            "zeta/model-mrpc": ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5",
                                "spiece.model", "tokenizer_config.json", "README.md"],
            "nyu-mll/glue": ["README.md", "mrpc/validation-00000-of-00001.parquet",
                             "cola/validation-00000-of-00001.parquet", "sst2/train.parquet"],
        },
        broken={"alpha/model-cola": ConnectionError("404 Client Error: Repository Not Found for url: "
                                                  "https://huggingface.co/api/models/alpha/model-cola")},
    ))
    mirror = tmp_path / "mirror"
    rows = {r["repo"]: r for r in prefetch(load_tree(claims_dir), mirror)}
    assert rows["alpha/model-cola"]["status"] == "failed"
    assert rows["alpha/model-cola"]["error"].startswith("ConnectionError: 404 Client Error")
    assert rows["zeta/model-mrpc"]["status"] == "fetched", rows["zeta/model-mrpc"]
    assert rows["nyu-mll/glue"]["status"] == "fetched", rows["nyu-mll/glue"]

    calls = {c["repo"]: c for c in hub.calls}
    assert sorted(calls) == ["nyu-mll/glue", "zeta/model-mrpc"]       # the broken listing stopped its fetch
    m = calls["zeta/model-mrpc"]
    assert m["repo_type"] == "model" and m["revision"] == REV_A
    assert m["local_dir"] == str(mirror / "models" / "zeta" / "model-mrpc")
    assert "pytorch_model.bin" not in m["allow_patterns"] and "*.safetensors" in m["allow_patterns"]
    assert not (mirror / "models" / "zeta" / "model-mrpc" / "pytorch_model.bin").exists()
    assert not (mirror / "models" / "zeta" / "model-mrpc" / "tf_model.h5").exists()
    d = calls["nyu-mll/glue"]
    assert d["repo_type"] == "dataset" and d["revision"] == "main"
    assert d["allow_patterns"] == ["README.md", "cola/*", "mrpc/*"]
    assert not (mirror / "datasets" / "nyu-mll" / "glue" / "sst2").exists()
    assert ("zeta/model-mrpc", REV_A, "model") in hub.listed


def test_pickle_weights_only_when_no_safetensors(tmp_path, fake_hub):
    folder = tmp_path / "claims"
    folder.mkdir()
    write_claims(folder, "a.yaml", [_claim("a/one", "org/old-model")])
    hub = fake_hub(FakeHub({"org/old-model": ["config.json", "pytorch_model.bin", "spiece.model"],
                            "nyu-mll/glue": ["README.md", "mrpc/x.parquet"]}))
    rows = {r["repo"]: r for r in prefetch(load_tree(folder), tmp_path / "mirror")}
    assert rows["org/old-model"]["status"] == "fetched"
    assert "pytorch_model.bin" in next(c for c in hub.calls if c["repo"] == "org/old-model")["allow_patterns"]


def test_present_assets_are_not_fetched_again_and_incomplete_downloads_fail(tmp_path, fake_hub):
    folder = tmp_path / "claims"
    folder.mkdir()
    write_claims(folder, "a.yaml", [_claim("a/one", "org/no-weights"), _claim("a/two", "org/here")])
    mirror = tmp_path / "mirror"
    _model_files(mirror / "models" / "org" / "here")
    _dataset_files(mirror / "datasets" / "nyu-mll" / "glue")
    hub = fake_hub(FakeHub({"org/no-weights": ["config.json", "tf_model.h5"]}))
    rows = {r["repo"]: r for r in prefetch(load_tree(folder), mirror)}
    assert rows["org/here"]["status"] == rows["nyu-mll/glue"]["status"] == "present"
    assert rows["org/no-weights"]["status"] == "failed"
    assert "no weights file the harness loads" in rows["org/no-weights"]["error"]
    assert hub.calls == []

    # a download that leaves the folder unusable is a failure, not 'fetched'
    hub.listings["org/no-weights"] = ["config.json", "model.safetensors"]
    hub.snapshot_download = lambda *a, **k: None                       # writes nothing
    huggingface_hub.snapshot_download = hub.snapshot_download
    out = _Lines()
    assert run_prefetch(folder, mirror, out=out) == 1
    assert "downloaded, but the mirror still cannot serve it" in out.text
    assert "2 present, 1 failed" in out.text


# ---------------------------------------------------------------------- offline, for real
HOOKED_RUN = NET_AUDIT_HOOK + '''
import json, os, sys, time
from pathlib import Path
from harness.claims.records import load_tree
from harness.prefetch import prefetch
from harness.cli import main
claims, mirror, rows_out = sys.argv[1:4]
start = time.perf_counter()
rows = prefetch(load_tree(Path(claims)), Path(mirror))
seconds = time.perf_counter() - start
Path(rows_out).write_text(json.dumps({"rows": rows, "seconds": seconds}))
sys.exit(main(["prefetch", "--mirror", mirror, claims]))
'''


def test_offline_every_asset_fails_fast_without_a_socket(claims_dir, tmp_path):
    log, rows_out, mirror = tmp_path / "net.log", tmp_path / "rows.json", tmp_path / "mirror"
    _model_files(mirror / "models" / "zeta" / "model-mrpc")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLAIMS_NET_LOG": str(log),
           "HF_HOME": str(tmp_path / "hf-home"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", HOOKED_RUN, str(claims_dir), str(mirror), str(rows_out)],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(rows_out.read_text())
    rows = {r["repo"]: r for r in data["rows"]}
    assert rows["zeta/model-mrpc"]["status"] == "present"
    for repo in ("alpha/model-cola", "nyu-mll/glue"):
        assert rows[repo]["status"] == "failed"
        assert "HF_HUB_OFFLINE is set" in rows[repo]["error"], rows[repo]
    assert any(line.startswith("failed ") and f"model   alpha/model-cola@{REV_A}" in line
               for line in proc.stdout.splitlines()), proc.stdout
    assert "HF_HUB_OFFLINE is set" in proc.stdout and "1 present, 2 failed" in proc.stdout
    assert not log.exists() or log.read_text() == "", log.read_text()
    assert not (mirror / "datasets").exists()


def test_cli_exit_codes(claims_dir, tmp_path):
    """0 when the mirror already serves everything; 2 for a claim file that does not load."""
    mirror = tmp_path / "mirror"
    for repo in ("zeta/model-mrpc", "alpha/model-cola"):
        _model_files(mirror / "models" / repo)
    _dataset_files(mirror / "datasets" / "nyu-mll" / "glue", configs=("mrpc", "cola"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "harness", "prefetch", "--mirror", str(mirror), str(claims_dir)],
                        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3 present" in ok.stdout
    (claims_dir / "broken.yaml").write_text("claims: [{id: x}]\n")
    bad = subprocess.run([sys.executable, "-m", "harness", "prefetch", "--mirror", str(mirror), str(claims_dir)],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert bad.returncode == 2 and "broken.yaml" in bad.stderr, bad.stdout + bad.stderr
