"""A checkpoint's claims run on one worker under -n N, whatever pytest does to node ids.

xdist groups a test by the ``@group`` its workers append to the node id, which pytest 9.2 no
longer takes (pytest-xdist #1386); the harness's scheduler (harness.plugin_xdist, through
``pytest_xdist_make_scheduler``) reads a claim's group from its record instead. One run: three
checkpoint groups of claims (two blocked at once: no mirror) and the parameter counts, two workers.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from tests.helpers import claims_folder
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]


def _blocked(claim_id: str, repo: str) -> dict:
    return {"id": claim_id, "citation": {"source": "model_card", "url": "https://example.invalid/card"},
            "reported": {"value": "80.0", "metric": "accuracy", "scale": "percent"},
            "measure": {"kind": "classification", "checkpoint": {"repo": repo, "revision": "b" * 40, "origin": "source"},
                        "dataset": {"repo": "nyu-mll/glue", "config": "mrpc", "split": "validation",
                                    "revision": "c" * 40, "text_fields": ["sentence1", "sentence2"],
                                    "label_field": "label", "positive_label": "equivalent"},
                        "max_length": 128, "slice": {"size": 50, "seed": 0}},
            "tolerance": {"value": 1, "reason": "a stated allowance for this test"},
            "run_spread": {"none": "the card is about this very checkpoint"},
            "expect": "blocked"}


def test_claims_of_one_checkpoint_run_on_one_worker(tmp_path):
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    shutil.copy(ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml", claims / "t1.yaml")
    records = [_blocked(f"cards/{repo.split('/')[1]}/{i}", repo) for repo in ("org/model-a", "org/model-b")
               for i in range(3)]
    (claims / "cards.yaml").write_text(yaml.safe_dump({"claims": records}), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    run = run_pytest(project, "claims", "-n", "2", "-v", "--claims-reports=reports",
                     env={"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None, "CUDA_VISIBLE_DEVICES": ""})
    assert run.ret == 0, run.tail()
    assert "ClaimsGroupScheduling" in run.stdout
    ran = re.findall(r"\[(gw\d)\].*?test_claim\[([^\]]+)\]", run.stdout)
    by_group: dict[str, set] = {}
    for worker, claim_id in ran:
        group = "params" if "/table1/" in claim_id else claim_id.split("/")[1]
        by_group.setdefault(group, set()).add(worker)
    assert set(by_group) == {"params", "model-a", "model-b"}, run.stdout[-3000:]
    assert all(len(workers) == 1 for workers in by_group.values()), by_group
    assert len(list((project / "reports" / "verdicts").glob("*.json"))) == 12


def test_the_scheduler_groups_plain_ids_by_the_claims_record_and_checkpoint(pytester, claims_project):
    """Node ids as pytest 9.2 leaves them (no ``@group`` suffix): the group is read from the
    record, and with several --claims-checkpoint each (claim, checkpoint) cell goes with its checkpoint.
    (The run above never reaches this path on a pytest that still takes the suffix.)"""
    from harness.plugin_xdist import scheduler_class
    from tests.helpers import TINY_REVISION, tiny_claim, write_claims

    write_claims(claims_project, "c.yaml", [tiny_claim("a/one", repo="org/model-a"),
                                            tiny_claim("a/two", repo="org/model-a"),
                                            tiny_claim("b/one", repo="org/model-b")])

    def scopes(*args) -> dict[str, str]:
        config = pytester.parseconfigure("claims", "--tx", "2*popen", "--dist", "loadgroup", "-p", "no:cacheprovider",
                                         *args)
        sched = scheduler_class()(config)
        return {cid: sched._split_scope(f"claims/test_claims.py::test_claim[{cid}]")
                for cid in ("a/one", "a/two", "b/one", *(f"{c}@{x}@{TINY_REVISION[:12]}" for c in ("a/one", "b/one")
                                                          for x in ("org/x", "org/y")))}

    plain = scopes()
    assert plain["a/one"] == plain["a/two"] != plain["b/one"], plain
    cells = scopes(f"--claims-checkpoint=org/x@{TINY_REVISION}", f"--claims-checkpoint=org/y@{TINY_REVISION}")
    x, y = (f"@{r}@{TINY_REVISION[:12]}" for r in ("org/x", "org/y"))
    assert cells["a/one" + x] == cells["b/one" + x] != cells["a/one" + y] == cells["b/one" + y], cells
    assert not cells["a/one" + x].startswith("claims/"), cells          # a group, not the node id itself
