"""Default mode (downloads off) never touches the network, and says so in every process.

A claims run with the tiny mirror: one claim whose checkpoint is in the mirror (measured),
one whose checkpoint is nowhere (blocked). An audit hook in the run's conftest logs every
``socket.connect``/``getaddrinfo``; the log must stay empty. The same conftest records,
after each claim ran, the HF offline switches as the processes that ran claims saw them.
The environment handed to the run has none of the switches: the plugin must set them.
The runs are processes of their own: the switches must be set before the imports that read them.
The blocked claim's artifact, terminal line and the places tried are checked here too.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from harness import schemas
from harness.measure.offline import OFFLINE_FLAGS
from tests.helpers import NET_AUDIT_HOOK, read_verdicts, tiny_claim, write_claims

CONFTEST = NET_AUDIT_HOOK + '''
import json, os, sys
import pytest


@pytest.fixture(autouse=True)
def _record_offline_switches(request):
    yield
    hub = sys.modules.get("huggingface_hub.constants")
    ds = sys.modules.get("datasets.config")
    tf = sys.modules.get("transformers.utils.hub")
    seen = {
        "env": {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")},
        "huggingface_hub": getattr(hub, "HF_HUB_OFFLINE", None),
        "datasets": getattr(ds, "HF_HUB_OFFLINE", None),
        "transformers": tf.is_offline_mode() if tf is not None else None,
        "worker": os.environ.get("PYTEST_XDIST_WORKER"),
    }
    with open(os.environ["CLAIMS_ENV_LOG"], "a") as fh:
        fh.write(json.dumps([request.node.nodeid, seen]) + "\\n")
'''


@pytest.mark.parametrize("workers", ["0", "2"])
def test_default_mode_opens_no_socket_and_sets_offline_flags(claims_project, tiny_mirror, pytester, tmp_path,
                                                             monkeypatch, workers):
    write_claims(claims_project, "offline.yaml", [
        tiny_claim("tiny/present", size=40),
        tiny_claim("tiny/missing", repo="nobody/no-such-model", size=40),
    ])
    (pytester.path / "conftest.py").write_text(CONFTEST)
    net_log, env_log = tmp_path / "net.log", tmp_path / "env.log"
    monkeypatch.setenv("CLAIMS_NET_LOG", str(net_log))
    monkeypatch.setenv("CLAIMS_ENV_LOG", str(env_log))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    # the outer pytest (this plugin loaded) has set the flags in this process: hand the run none
    for name in (*OFFLINE_FLAGS, "CLAIMS_DOWNLOAD", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
                 "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)

    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("claims", f"--claims-mirror={tiny_mirror}",
                                           f"--claims-reports={reports}", "--claims-no-cache",
                                           "-p", "no:cacheprovider", "-ra", "-n", workers, timeout=240)

    assert not net_log.exists() or net_log.read_text() == "", net_log.read_text()
    assert result.ret == 0, result.stdout.str()        # measured claim reproduced, missing one skipped
    result.assert_outcomes(passed=1, skipped=1)

    arts = read_verdicts(reports)
    assert sorted(arts) == ["tiny__missing.json", "tiny__present.json"]
    for art in arts.values():
        jsonschema.validate(art, schemas.load("verdict"))
    missing = arts["tiny__missing.json"]["verdict"]
    assert missing["status"] == "blocked"
    assert "nobody/no-such-model" in missing["missing"]
    assert any("mirror" in t for t in missing["tried"]), missing["tried"]
    assert not any(t.startswith("hub") for t in missing["tried"]), missing["tried"]
    result.stdout.fnmatch_lines(["*blocked*nobody/no-such-model@0000000000000000000000000000000000000000*"])
    assert "Downloads are off" in missing["reason"]
    present = arts["tiny__present.json"]
    assert present["verdict"]["status"] not in ("blocked", "error"), present["verdict"]
    assert present["measurement"]["n"] == 40 and present["measurement"]["checkpoint"]["source"] == "mirror"

    seen = [json.loads(line) for line in env_log.read_text().splitlines()]
    assert len(seen) == 2, seen
    for nodeid, s in seen:
        assert s["env"] == {k: "1" for k in OFFLINE_FLAGS}, (nodeid, s)
        # huggingface_hub and datasets read the flag once, at import: it was set before that
        assert s["huggingface_hub"] is True, (nodeid, s)
        assert s["datasets"] in (True, None) and s["transformers"] in (True, None), (nodeid, s)
        assert (s["worker"] is not None) == (workers != "0")
    measured = next(s for nodeid, s in seen if "[tiny/present]" in nodeid)
    # transformers was imported, after the flags; datasets is not imported at all where the split's
    # parquet says its features (harness.measure.datafiles.column_type), and offline if it is
    assert measured["datasets"] in (True, None) and measured["transformers"] is True, measured
