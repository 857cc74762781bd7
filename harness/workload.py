"""How much model work a catalogue holds, read from the records alone (no torch, no network).

``pytest -n auto`` asks before collection how many workers to start; each worker pays the
torch and transformers imports again, so workers only pay off for checkpoints that will really
run. A claim needs a worker when it measures a checkpoint that is likely here: in the mirror,
in the HF cache, or downloadable. Blocked claims and parameter counts need none.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from harness import kinds
from harness.claims.records import load_tree


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    return Path(home) / "hub"


def likely_available(repo: str, mirror: Path | None, allow_download: bool) -> bool:
    if allow_download:
        return True
    if mirror is not None and (Path(mirror) / "models" / repo / "config.json").is_file():
        return True
    return (_hf_cache() / ("models--" + repo.replace("/", "--"))).is_dir()


def model_groups(roots: list[Path], mirror: Path | None, allow_download: bool, load=load_tree) -> int:
    """Checkpoint groups under ``roots`` whose model will likely load (``load(root)`` reads a folder's claims)."""
    groups = set()
    for root in roots:
        for claim in load(root):
            ckpt = claim.checkpoint_ref
            if kinds.uses_model(claim.kind) and ckpt is not None and ckpt.published and \
                    likely_available(ckpt.repo, mirror, allow_download):
                groups.add(claim.group)
    return len(groups)


def claim_roots(args: list[str], claims_dir: str | None) -> list[Path]:
    """Claim folders a run will collect: --claims-dir, or argument folders that hold a claims test module."""
    if claims_dir:
        return [Path(claims_dir)]
    roots = []
    for arg in args:
        path = Path(arg.split("::")[0])
        folder = path if path.is_dir() else path.parent
        if (folder / "test_claims.py").is_file():
            roots.append(folder)
    return roots


# ---------------------------------------------------------------------- cost and shards
NOMINAL_PAIRS = 1000               # a whole split whose size the mirror does not tell
BASE_CONFIG = {"num_hidden_layers": 12, "hidden_size": 768, "intermediate_size": 3072}
SECONDS_PER_FLOP = 1 / 100e9       # a nominal CPU rate: only ratios between groups matter
FIXED_SECONDS = 0.5                # a claim that runs no model: audit, count, blocked


def _config(repo: str, mirror: Path | None) -> dict:
    import json

    path = Path(mirror) / "models" / repo / "config.json" if mirror else None
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else BASE_CONFIG
    except (OSError, ValueError):
        return BASE_CONFIG


def _split_rows(ds: dict, mirror: Path | None) -> int:
    """Rows of the split from the mirror's parquet footers (no data read), else a nominal size."""
    if mirror is None:
        return NOMINAL_PAIRS
    folder = Path(mirror) / "datasets" / ds["repo"] / ds["config"]
    files = sorted(folder.glob(f"{ds['split']}-*.parquet")) if folder.is_dir() else []
    if not files:
        return NOMINAL_PAIRS
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def claim_seconds(claim, mirror: Path | None, allow_download: bool) -> float:
    """Estimated seconds: encoder FLOPs per token x tokens at a nominal rate, plus a fixed cost."""
    ckpt = claim.checkpoint_ref
    if not kinds.uses_model(claim.kind) or ckpt is None or not ckpt.published or \
            not likely_available(ckpt.repo, mirror, allow_download):
        return FIXED_SECONDS
    cfg = {**BASE_CONFIG, **_config(ckpt.repo, mirror)}
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    flops_per_token = 2 * layers * (4 * h * h + 2 * h * i)
    sl = claim.slice_plan
    rows = _split_rows(claim.measure["dataset"], mirror)
    pairs = rows if sl.size in ("all", "auto") or sl.grow else min(int(sl.size), rows)
    return FIXED_SECONDS + flops_per_token * pairs * claim.measure["max_length"] * 0.5 * SECONDS_PER_FLOP


def group_costs(claims, mirror: Path | None, allow_download: bool, measured: dict | None = None) -> dict[str, float]:
    """Seconds per checkpoint group: measured ones (a last run's timings) where given, else estimated."""
    return _group_costs(claims, {c.id: claim_seconds(c, mirror, allow_download) for c in claims}, measured)


def _group_costs(claims, each: dict[str, float], measured: dict | None) -> dict[str, float]:
    costs: dict[str, float] = {}
    for claim in claims:
        costs[claim.group] = costs.get(claim.group, 0.0) + each[claim.id]
    for group, seconds in (measured or {}).items():
        if group in costs and usable_seconds(seconds):
            costs[group] = float(seconds)
    return costs


MAX_CLAIM_SECONDS = 7 * 24 * 3600.0   # a timing beyond a week is a broken record, not a cost


def usable_seconds(value, most: float = MAX_CLAIM_SECONDS * 1e4) -> bool:
    """A cost the plan can add up: a finite number of seconds, neither negative nor above ``most``
    (a group's total by default; one timing is held to ``MAX_CLAIM_SECONDS``)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) \
        and 0 <= value <= most


def measured_costs(reports: Path, problems: list[str] | None = None) -> dict[str, float]:
    """Per group, the seconds a last run's verdicts record (model load, tokenise, inference, data).

    Read through the one verdict reader (harness.report.verdicts), leniently: a file it refuses,
    or a timing that is not a number of seconds (NaN, infinite, negative, beyond a week), leaves
    its group to the estimate, and the file and field are named in ``problems``. Every shard
    must be given the same folder: the run record of each shard holds its plan, and merge
    refuses shards planned differently."""
    from harness.claims.records import Claim
    from harness.report.verdicts import read

    found = read(Path(reports), role="--claims-shard-costs", lenient=True, run_record=False)
    if problems is not None:
        problems.extend(found.problems)
    out: dict[str, float] = {}
    bad: set[str] = set()
    for cid, art in sorted(found.verdicts.items()):
        try:
            claim = Claim(id=cid, record=art["claim"])
            group = claim.group
        except (KeyError, TypeError, ValueError) as exc:
            if problems is not None:
                problems.append(f"{found.files[cid]}: no checkpoint group ({type(exc).__name__}: {exc})")
            continue
        timings = (art.get("measurement") or {}).get("timings") or {}
        seconds = 0.0
        for key, value in sorted(timings.items()):
            if not key.endswith("_seconds"):
                continue
            if not usable_seconds(value, MAX_CLAIM_SECONDS):
                if problems is not None:
                    problems.append(f"{found.files[cid]}, field measurement.timings.{key}: {value!r} is not a "
                                    f"number of seconds in [0, {MAX_CLAIM_SECONDS:.0f}]; group {group} is estimated")
                bad.add(group)
                break
            seconds += float(value)
        out[group] = out.get(group, 0.0) + FIXED_SECONDS + seconds
    return {g: v for g, v in out.items() if g not in bad}


def assign(costs: dict[str, float], n: int) -> dict[str, int]:
    """Longest first onto the least-loaded shard (1-based); the same on every machine."""
    load = [0.0] * n
    out = {}
    for group in sorted(costs, key=lambda g: (-costs[g], g)):
        shard = min(range(n), key=lambda s: (load[s], s))
        load[shard] += costs[group]
        out[group] = shard + 1
    return out


def plan_shards(claims, n: int, mirror: Path | None, allow_download: bool,
                measured: dict | None = None) -> tuple[dict[str, int], list[float]]:
    """Claim id -> shard (1-based), and each shard's seconds. A checkpoint group stays on one shard
    (one model load) unless it alone costs more than a shard's fair share; then its claims are
    dealt on their own, each with its share of the group's cost."""
    claims = sorted(claims, key=lambda c: c.id)
    each = {c.id: claim_seconds(c, mirror, allow_download) for c in claims}
    costs = _group_costs(claims, each, measured)
    fair = sum(costs.values()) / n
    members: dict[str, list] = {}
    for claim in claims:
        members.setdefault(claim.group, []).append(claim)
    items: dict[str, float] = {}
    owner_of: dict[str, str] = {}
    for group, cost in costs.items():
        if cost > fair and len(members[group]) > 1:
            scale = cost / sum(each[c.id] for c in members[group])    # keep a measured total, shared out
            for c in members[group]:
                items[f"{group}#{c.id}"] = each[c.id] * scale
                owner_of[c.id] = f"{group}#{c.id}"
        else:
            items[group] = cost
            for c in members[group]:
                owner_of[c.id] = group
    shards = assign(items, n)
    return {cid: shards[item] for cid, item in owner_of.items()}, _loads(items, shards, n)


def shard_claims(claims, n: int, mirror: Path | None, allow_download: bool,
                 measured: dict | None = None) -> dict[str, int]:
    """Claim id -> shard (1-based): ``plan_shards`` without the seconds."""
    return plan_shards(claims, n, mirror, allow_download, measured)[0]


def _loads(costs: dict[str, float], shards: dict[str, int], n: int) -> list[float]:
    load = [0.0] * n
    for item, shard in shards.items():
        load[shard - 1] += costs[item]
    return load


def _gap(load: list[float]) -> float:
    top = max(load) if load else 0.0
    return (top - min(load)) / top if top > 0 else 0.0


def imbalance(costs: dict[str, float], shards: dict[str, int], n: int) -> float:
    """(slowest - fastest) / slowest shard, in estimated seconds."""
    return _gap(_loads(costs, shards, n))


def shard_line(i: int, n: int, loads: list[float], claims_here: int, measured: bool) -> str:
    """What the run says about its shard: its share, every shard's seconds and the imbalance."""
    gap = _gap(loads)
    source = "measured timings" if measured else "estimates"
    return (f"claims shard {i}/{n}: {claims_here} claims, {loads[i - 1]:.0f} s of {sum(loads):.0f} s; "
            f"shards {' / '.join(f'{x:.0f}' for x in loads)} s, imbalance {gap:.1%} ({source})")
