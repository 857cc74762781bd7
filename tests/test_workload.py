"""Work estimates: shards balanced by cost (longest first), the same on every machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import workload
from harness.claims.records import Claim
from tests.helpers import tiny_claim
from tests.runs import run_pytest

SIZES = {"tiny": (2, 64, 128), "base": (12, 768, 3072), "large": (24, 1024, 4096), "xxlarge": (12, 4096, 16384)}


def _catalogue(tmp_path: Path):
    """Mixed sizes: 3 xxlarge, 6 large, 12 base, 20 tiny checkpoints, 1-3 claims each, plus blocked ones."""
    mirror = tmp_path / "mirror"
    claims = []
    plan = [("xxlarge", 3), ("large", 6), ("base", 12), ("tiny", 20)]
    for size, count in plan:
        layers, h, i = SIZES[size]
        for k in range(count):
            repo = f"org/{size}-{k}"
            folder = mirror / "models" / repo
            folder.mkdir(parents=True)
            (folder / "config.json").write_text(json.dumps(
                {"num_hidden_layers": layers, "hidden_size": h, "intermediate_size": i}))
            for j in range(1 + k % 3):
                rec = tiny_claim(f"{size}/{k}/{j}", repo=repo, size=[100, 408, 2000][(k + j) % 3])
                rec["measure"]["max_length"] = 128
                claims.append(Claim(id=rec["id"], record=rec))
    for k in range(10):
        rec = tiny_claim(f"blocked/{k}", repo=f"org/absent-{k}")
        claims.append(Claim(id=rec["id"], record=rec))
    return claims, mirror


def test_longest_first_balances_mixed_sizes_within_ten_percent(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    claims, mirror = _catalogue(tmp_path)
    costs = workload.group_costs(claims, mirror, False)
    assert costs["org/xxlarge-0@000000000000"] > 100 * costs["org/tiny-0@000000000000"]
    assert costs["org/absent-0@000000000000"] == workload.FIXED_SECONDS
    per_claim = {c.id: workload.claim_seconds(c, mirror, False) for c in claims}
    for n in (2, 3, 4):
        lpt = workload.shard_claims(claims, n, mirror, False)
        ordered = sorted(costs)
        round_robin = {c.id: ordered.index(c.group) % n + 1 for c in claims}   # the old assignment, by name
        lpt_gap = workload.imbalance(per_claim, lpt, n)
        rr_gap = workload.imbalance(per_claim, round_robin, n)
        split = len({c.group for c in claims if len({lpt[d.id] for d in claims if d.group == c.group}) > 1})
        print(f"{n} shards: longest-first imbalance {lpt_gap:.1%} ({split} groups split), "
              f"round-robin by name {rr_gap:.1%}")
        assert set(lpt.values()) == set(range(1, n + 1)) and set(lpt) == set(per_claim)
        assert lpt_gap <= 0.10 and lpt_gap <= rr_gap
    # With more machines than the work splits into, the slowest shard is the largest single claim.
    six = workload.shard_claims(claims, 6, mirror, False)
    load = [sum(per_claim[c] for c, s in six.items() if s == k) for k in range(1, 7)]
    assert max(load) == pytest.approx(max(per_claim.values()))


def test_assignment_does_not_depend_on_order():
    costs = {"a": 5.0, "b": 3.0, "c": 3.0, "d": 1.0, "e": 1.0}
    shuffled = dict(reversed(list(costs.items())))
    assert workload.assign(costs, 2) == workload.assign(shuffled, 2) == {"a": 1, "b": 2, "c": 2, "d": 1, "e": 1}


def _timed(claim_id: str, record: dict, timings: dict) -> dict:
    """A schema-valid verdict whose measurement records ``timings``."""
    from tests.helpers import verdict_artifact

    record = {k: v for k, v in record.items() if k != "id"}
    return verdict_artifact(claim_id, "reproduced", claim=record, measurement={
        "kind": "classification", "value": 0.5, "timings": timings, "versions": {}})


def test_measured_timings_replace_estimates(tmp_path):
    rec = tiny_claim("m/1", repo="org/m")
    (tmp_path / "verdicts").mkdir()
    (tmp_path / "verdicts" / "m__1.json").write_text(json.dumps(_timed("m/1", rec, {
        "inference_seconds": 40.0, "model_load_seconds": 2.0, "pairs_per_second": 9.0})))
    measured = workload.measured_costs(tmp_path)
    assert measured == {"org/m@000000000000": pytest.approx(42.0 + workload.FIXED_SECONDS)}
    claim = Claim(id="m/1", record=rec)
    assert workload.group_costs([claim], None, True, measured) == measured


def test_hostile_measured_costs_are_named_and_every_claim_keeps_a_shard(tmp_path):
    """NaN, a negative and an absurd timing each leave their group to the estimate, named by file
    and field; the plan still gives every claim exactly one shard."""
    records = {f"m/{i}": tiny_claim(f"m/{i}", repo=f"org/m{i}") for i in range(6)}
    (tmp_path / "verdicts").mkdir()
    for i, value in enumerate([float("nan"), -1e12, 1e308, 5.0]):
        (tmp_path / "verdicts" / f"m{i}.json").write_text(json.dumps(_timed(f"m/{i}", records[f"m/{i}"], {
            "inference_seconds": value})))
    problems: list[str] = []
    measured = workload.measured_costs(tmp_path, problems)
    assert measured == {"org/m3@000000000000": pytest.approx(5.0 + workload.FIXED_SECONDS)}
    for i, shown in enumerate(["nan", "-1000000000000.0", "1e+308"]):
        assert any(p.startswith(f"{tmp_path / 'verdicts' / f'm{i}.json'}, field measurement.timings."
                                f"inference_seconds: {shown} is not a number of seconds") for p in problems), problems
    claims = [Claim(id=cid, record=rec) for cid, rec in records.items()]
    for n in (2, 3, 4):
        owner, loads = workload.plan_shards(claims, n, None, True, measured)
        assert sorted(owner) == sorted(records) and set(owner.values()) <= set(range(1, n + 1))
        assert all(load == load and load < float("inf") for load in loads)           # finite, no NaN
        # costs handed in unchecked (a caller's own dict) cannot make a claim fall out of the plan
        owner, _ = workload.plan_shards(claims, n, None, True, {"org/m0@000000000000": float("nan"),
                                                                "org/m1@000000000000": -1e308})
        assert sorted(owner) == sorted(records)


def test_shards_partition_the_catalogue(pytester, claims_project):
    root = Path(__file__).resolve().parents[1]
    for name in ("table1-parameters.yaml", "textattack-model-cards.yaml"):
        (claims_project / name).write_text((root / "claims" / "albert-1909.11942" / name).read_text())
    seen = []
    for i in (1, 2, 3):
        out = run_pytest(pytester.path, "claims", "--co", "-q", f"--claims-shard={i}/3").stdout
        seen.append(set(re.findall(r"test_claim\[([^\]]+)\]", out)))
    assert sum(len(s) for s in seen) == len(set().union(*seen)) == 12
    assert all(seen)


def test_a_shard_run_prints_every_shards_seconds_and_the_imbalance(pytester, claims_project, tmp_path):
    """Mixed model sizes in a mirror: the run names its share and the imbalance, the same figures
    the workload module computes; with 22 whole groups (none worth splitting) longest-first
    keeps the imbalance within 15%."""
    from harness.claims.records import load_tree
    from tests.helpers import write_claims

    mirror = tmp_path / "mirror"
    records = []
    for size, count in (("large", 2), ("base", 8), ("tiny", 12)):
        layers, h, i = SIZES[size]
        for k in range(count):
            repo = f"org/{size}-{k}"
            (mirror / "models" / repo).mkdir(parents=True)
            (mirror / "models" / repo / "config.json").write_text(json.dumps(
                {"num_hidden_layers": layers, "hidden_size": h, "intermediate_size": i}))
            records += [tiny_claim(f"{size}/{k}/{j}", repo=repo, size=[100, 408][j]) for j in range(2)]
    write_claims(claims_project, "mixed.yaml", records)
    claims = load_tree(claims_project)
    owner, loads = workload.plan_shards(claims, 3, mirror, False)
    assert owner == workload.shard_claims(claims, 3, mirror, False)
    gap = (max(loads) - min(loads)) / max(loads)
    assert 0 < gap <= 0.15, loads
    for i in (1, 3):
        result = pytester.runpytest_subprocess("claims", "--co", "-q", f"--claims-shard={i}/3",
                                               f"--claims-mirror={mirror}", "-p", "no:cacheprovider")
        line = next(x for x in result.outlines if x.startswith(f"claims shard {i}/3:"))
        assert f"{sum(s == i for s in owner.values())} claims" in line
        assert f"imbalance {gap:.1%} (estimates)" in line, line
        assert " / ".join(f"{x:.0f}" for x in loads) in line, line
