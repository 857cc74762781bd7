"""Run-to-run spread: how far a faithful re-run of a recipe lands from the printed number.

A printed dev score is one draw (or the median or mean of k draws) of a training recipe; a
checkpoint trained again by the same recipe lands elsewhere. A claim states which spread
applies (``run_spread`` in its record), with its source:

- ``none: <reason>``: the checkpoint under test is the very model the number was measured on
  (a model card about that checkpoint): zero spread;
- ``sd: "<printed units>"`` with ``source``: a standard deviation across seeds from the literature;
- ``table: <name>``: the entry for the claim's dataset and metric in ``claims/spreads/<name>.yaml``,
  a shared table of task-level spreads, each with its citation;
- ``measured: ["<v1>", "<v2>", ...]`` with ``source``: the metric of k checkpoints of the same
  recipe measured by the user; the spread is their sample SD and its quantile a Student t on
  k - 1 degrees of freedom (CORE-Bench's ``t * s * sqrt(1 + 1/k)``).

The margin added to the band is ``q * sd * sqrt(1 + v)``, v the variance factor of the
printed number's aggregate (1 for one run, 1/k for a mean, the median's for a median of k):
the two-sided prediction interval for one new run against that aggregate.
"""

from __future__ import annotations

import functools
import math
import statistics as _stats
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from harness.errors import ClaimFileError

SPREADS_DIR = "spreads"


@dataclass(frozen=True)
class RunSpread:
    sd: Decimal                 # printed units of the claim's scale
    kind: str                   # none | stated | table | measured
    source: str
    df: int | None = None       # degrees of freedom of an estimated sd (measured); None: known sd
    aggregate: str = "single_run"
    runs: int = 1

    @property
    def aggregate_variance(self) -> float:
        return aggregate_variance(self.aggregate, self.runs)

    def margin(self, level: float) -> Decimal:
        """q * sd * sqrt(1 + v) in printed units (0 when sd is 0)."""
        if self.sd == 0:
            return Decimal(0)
        return Decimal(repr(self.quantile(level) * float(self.sd) * math.sqrt(1.0 + self.aggregate_variance)))

    def quantile(self, level: float) -> float:
        from scipy import stats

        p = 0.5 + level / 2.0
        return float(stats.t.ppf(p, self.df) if self.df else stats.norm.ppf(p))

    def to_dict(self, level: float, scale: Decimal) -> dict:
        return {"kind": self.kind, "sd": float(self.sd * scale), "sd_printed": str(self.sd), "source": self.source,
                "df": self.df, "aggregate": {"statistic": self.aggregate, "runs": self.runs},
                "aggregate_variance": self.aggregate_variance, "quantile": self.quantile(level),
                "margin": float(self.margin(level) * scale)}


@functools.lru_cache(maxsize=None)
def aggregate_variance(statistic: str, runs: int) -> float:
    """Variance of the printed aggregate of ``runs`` unit-variance normal runs."""
    if statistic == "single_run" or runs == 1:
        return 1.0
    if statistic == "mean":
        return 1.0 / runs
    if statistic == "median":
        import numpy as np

        # Deterministic Monte Carlo (fixed seed): 0.449 for 3, 0.287 for 5 (exact 0.4487, 0.2868).
        draws = np.random.default_rng(0).standard_normal((400_000, runs))
        return float(np.median(draws, axis=1).var())
    raise ValueError(f"unknown aggregate statistic {statistic!r}")


def _printed(value, path, claim_id, field) -> Decimal:
    if not isinstance(value, str):
        raise ClaimFileError(path, f"write the number as printed, in quotes (got {type(value).__name__} {value!r})",
                             record=claim_id, field=field)
    try:
        dec = Decimal(value)
    except ArithmeticError:
        raise ClaimFileError(path, f"{value!r} is not a number", record=claim_id, field=field) from None
    if not dec.is_finite() or dec < 0 and field.endswith("sd"):
        raise ClaimFileError(path, f"{value!r} must be a finite number >= 0", record=claim_id, field=field)
    return dec


@functools.lru_cache(maxsize=64)
def _table(path: str) -> dict:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ClaimFileError(p, f"cannot read the run-spread table: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ClaimFileError(p, "expected a mapping with an 'entries' list", field="entries")
    from harness import schemas   # harness/schemas/spread.schema.json: the table's contract

    errors = list(schemas.validator("spread").iter_errors(data))
    if errors:
        import jsonschema

        err = jsonschema.exceptions.best_match(errors)
        raise ClaimFileError(p, f"not a run-spread table ({err.message})", field=schemas.field_path(err))
    out = {}
    for i, e in enumerate(data["entries"]):
        if not isinstance(e, dict) or not {"task", "metric", "sd", "scale", "source"} <= set(e):
            raise ClaimFileError(p, "each entry needs task, metric, sd, scale and source", field=f"entries[{i}]")
        sd = _printed(e["sd"], p, None, f"entries[{i}].sd")
        out[(str(e["task"]), str(e["metric"]))] = dict(e, sd=sd)
    return out


def resolve(record: dict, *, path: str, root: Path | None, scale: Decimal) -> RunSpread | None:
    """The claim's spread in its printed units; None for claims that measure no trained model."""
    claim_id = record.get("id")
    agg = (record.get("reported") or {}).get("aggregate") or {}
    statistic, runs = agg.get("statistic", "single_run"), int(agg.get("runs", 1))
    spec = record.get("run_spread")
    if spec is None:
        return None
    common = {"aggregate": statistic, "runs": runs}
    if "none" in spec:
        return RunSpread(Decimal(0), "none", str(spec["none"]), **common)
    if "sd" in spec:
        return RunSpread(_printed(spec["sd"], path, claim_id, "run_spread.sd"), "stated", str(spec["source"]), **common)
    if "measured" in spec:
        values = [_printed(v, path, claim_id, f"run_spread.measured[{i}]") for i, v in enumerate(spec["measured"])]
        sd = Decimal(repr(_stats.stdev([float(v) for v in values])))
        return RunSpread(sd, "measured", f"{spec['source']} (sample SD of {len(values)} runs: "
                         f"{', '.join(map(str, values))})", df=len(values) - 1, **common)
    name = str(spec["table"])
    if root is None:
        raise ClaimFileError(path, "a run-spread table needs the claims folder", record=claim_id, field="run_spread.table")
    table_path = Path(root) / SPREADS_DIR / f"{name}.yaml"
    if not table_path.is_file():
        raise ClaimFileError(path, f"no run-spread table {table_path}", record=claim_id, field="run_spread.table")
    ds = record["measure"]["dataset"]
    task = f"{ds['repo']}/{ds['config']}"
    metric = record["reported"]["metric"]
    entry = _table(str(table_path)).get((task, metric))
    if entry is None:
        raise ClaimFileError(path, f"{table_path} has no entry for task {task!r}, metric {metric!r}",
                             record=claim_id, field="run_spread.table")
    from harness.metrics import SCALES

    sd = entry["sd"] * SCALES[str(entry["scale"])] / scale     # into the claim's printed units
    source = f"{table_path.name}: {entry['source']}"
    if entry.get("note"):
        source += f" ({entry['note']})"
    return RunSpread(sd, "table", source, **common)
