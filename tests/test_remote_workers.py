"""Workers in other folders, as xdist's own ``--tx`` starts them (docs/remote-workers.md).

``--tx popen//chdir=DIR`` workers stand in for remote hosts (``--tx ssh=host//chdir=DIR``): each
works in a folder of its own, which ``--rsyncdir claims`` fills with the claims folder, and no
file of the controller's folder is in reach except through the paths the run is given. The
controller alone writes; a checkpoint's claims stay on one worker; a relative mirror path is
resolved where the worker works, so every host reads its own copy of the mirror.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import claims_folder, tiny_claim, write_claims
from tests.runs import run_pytest

pytestmark = pytest.mark.e2e

MODELS = ("tiny/albert-mrpc", "tiny/albert-mrpc-copy")


def _host_mirror(tiny_mirror: Path, folder: Path) -> None:
    """A host's own mirror at folder/mirror: both checkpoints (the second a copy's link) and the data."""
    (folder / "mirror" / "models" / "tiny").mkdir(parents=True)
    for repo in MODELS:
        (folder / "mirror" / "models" / repo).symlink_to(tiny_mirror / "models" / MODELS[0], target_is_directory=True)
    (folder / "mirror" / "datasets").symlink_to(tiny_mirror / "datasets", target_is_directory=True)


def test_popen_workers_in_other_folders(tmp_path, tiny_mirror):
    project, hosts = tmp_path / "controller", [tmp_path / "host-a", tmp_path / "host-b"]
    claims = claims_folder(project / "claims")
    write_claims(claims, "remote.yaml", [tiny_claim(f"remote/{m.split('/')[-1]}/{i}", repo=m, size=40)
                                         for m in MODELS for i in range(2)])
    (project / "pytest.ini").write_text("[pytest]\n")
    for host in hosts:
        host.mkdir()
        _host_mirror(tiny_mirror, host)
    # The controller's own "mirror" is an empty folder (the option is checked where the command line is
    # read, on every side): a worker that read the controller's folder would find nothing.
    (project / "mirror").mkdir()
    tx = [f"--tx=popen//chdir={host}" for host in hosts]
    # Test paths given absolute: xdist maps them into each host's rsynced copy (a relative one it refuses).
    run = run_pytest(project, str(claims), *tx, "--rsyncdir=claims", "--dist=loadgroup", "--claims-mirror=mirror",
                     "--claims-no-cache", "-v", "-W", "ignore::DeprecationWarning", isolate=True, timeout=600)
    assert run.ret == 0, run.tail()
    assert run.outcomes().get("passed") == 4, run.tail()

    # Each claim measured from the mirror of the host that ran it, found through the relative path.
    verdicts = {p.name: json.loads(p.read_text()) for p in (project / "reports" / "verdicts").glob("*.json")}
    assert len(verdicts) == 4, sorted(verdicts)
    for art in verdicts.values():
        ckpt = art["measurement"]["checkpoint"]
        assert ckpt["source"] == "mirror", ckpt
        assert any(str(ckpt.get("path", "")).startswith(str(host / "mirror")) for host in hosts), ckpt

    # A checkpoint's claims ran on one worker; the two checkpoints could go to both.
    placed = {m.group(2): m.group(1) for m in re.finditer(r"\[(gw\d+)\][^\n]*PASSED [^\n]*test_claim\[([^\]]+)\]",
                                                           run.stdout)}
    assert len(placed) == 4, run.stdout[-3000:]
    for model in MODELS:
        workers = {gw for cid, gw in placed.items() if cid.startswith(f"remote/{model.split('/')[-1]}/")}
        assert len(workers) == 1, placed

    # The controller alone wrote: no report, verdict or run record on a host (xdist's rsync also puts
    # pytest and its plugins there, and pytest-benchmark its storage folder; those are theirs).
    outputs = {"summary.json", "summary.md", "index.html", "run.json", "manifest.json", "gate.json", "history.sqlite"}
    for host in hosts:
        ours = [p for p in host.rglob("*") if p.name in outputs or p.name == "reports"
                or (p.suffix == ".json" and p.parent.name == "verdicts")]
        assert ours == [], (host, ours)
        assert (host / "claims" / "remote.yaml").is_file()       # what --rsyncdir sent
    for name in ("summary.json", "run.json", "index.html"):
        assert (project / "reports" / name).is_file(), name
