"""Run-to-run spread: how far a faithful re-run of a recipe lands from the printed number.

A printed dev score is one draw (or the median or mean of k draws) of a training recipe; a
checkpoint trained again by the same recipe lands elsewhere. A claim states which spread
applies (``run_spread`` in its record), with its source:

- ``none: <reason>``: the checkpoint under test is the very model the number was measured on
  (a model card about that checkpoint): zero spread;
- ``sd: "<printed units>"`` with ``source``: a standard deviation across seeds from the literature;
- ``table: <name>``: the entry for the claim's dataset and metric in ``claims/spreads/<name>.yaml``,
  a shared table of task-level spreads: each entry lists every sourced figure for the task and
  metric (runs k, centre, SD, recipe, model, split, source); the band uses the figure over the
  most runs (failed runs included where the source includes them: docs/verdict-rule.md), with
  t on k - 1 degrees of freedom; an entry with ``none: <reason>`` says no source gives one;
- ``measured: ["<v1>", "<v2>", ...]`` with ``source``: the metric of k checkpoints of the same
  recipe measured by the user; the spread is their sample SD and its quantile a Student t on
  k - 1 degrees of freedom (CORE-Bench's ``t * s * sqrt(1 + 1/k)``);
- ``unknown: <reason>``: no sourced spread exists for this recipe and metric. A re-run cannot be
  judged against the printed number then: the verdict is inconclusive, saying so.

The margin added to the band is ``q * sd * sqrt(1 + v)``, v the variance factor of the
printed number's aggregate (1 for one run, 1/k for a mean, the median's for a median of k):
the two-sided prediction interval for one new run against that aggregate. A stated ``sd``
without its ``runs`` is taken as known (normal quantile); with them, t on runs - 1.
"""

from __future__ import annotations

import functools
import math
import statistics as _stats
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from harness.errors import ClaimFileError

SPREADS_DIR = "spreads"
MAX_PRINTED = Decimal("1e15")   # as harness.claims.records.MAX_MAGNITUDE: far above any printed metric


@dataclass(frozen=True)
class RunSpread:
    sd: Decimal                 # printed units of the claim's scale
    kind: str                   # none | stated | table | measured | unknown
    source: str
    df: int | None = None       # degrees of freedom of an estimated sd; None: a known sd
    aggregate: str = "single_run"
    runs: int = 1
    figures: tuple = ()         # every sourced figure of a table entry, as the table gives them
    unknown: str | None = None  # why no spread can be stated (then the claim is untestable)

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
        out = {"kind": self.kind, "sd": float(self.sd * scale), "sd_printed": str(self.sd), "source": self.source,
               "df": self.df, "quantile_distribution": "normal" if not self.df else f"t({self.df})",
               "aggregate": {"statistic": self.aggregate, "runs": self.runs},
               "aggregate_variance": self.aggregate_variance, "quantile": self.quantile(level),
               "margin": float(self.margin(level) * scale)}
        if self.figures:
            out["figures"] = [dict(f) for f in self.figures]
        if self.unknown:
            out["untestable"] = f"no sourced run-to-run spread: {self.unknown}"
        return out


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
    if abs(dec) > MAX_PRINTED:   # 1e400 is a finite decimal but no float: its SD would overflow
        shown = value if len(value) <= 24 else value[:24] + f"... ({len(value)} characters)"
        raise ClaimFileError(path, f"{shown} is larger than any printed score (at most {MAX_PRINTED:g})",
                             record=claim_id, field=field)
    return dec


#: What each sourced figure of a table entry must say (docs/verdict-rule.md, "run spread").
FIGURE_FIELDS = ("runs", "centre", "sd", "model", "recipe", "split", "source")


@functools.lru_cache(maxsize=64)
def _table(path: str) -> dict:
    """Entries keyed by (task, metric); each a dict with its figures (or ``none``) and the one used."""
    from harness.claims.records import read_yaml   # bounded, regular files only, no alias bombs

    p = Path(path)
    data = read_yaml(p)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ClaimFileError(p, "expected a mapping with an 'entries' list", field="entries")
    from harness import schemas   # harness/schemas/spread.schema.json: the table's contract

    errors = list(schemas.validator("spread").iter_errors(data))
    if errors:
        import jsonschema

        err = jsonschema.exceptions.best_match(errors)
        raise ClaimFileError(p, f"not a run-spread table ({err.message})", field=schemas.field_path(err))
    out: dict = {}
    for i, e in enumerate(data["entries"]):
        where = f"entries[{i}]"
        if not isinstance(e, dict) or not {"task", "metric", "scale"} <= set(e) or ("figures" in e) == ("none" in e):
            raise ClaimFileError(p, "each entry needs task, metric, scale and either figures (sourced) or "
                                 "none (why no source gives one)", field=where)
        key = (str(e["task"]), str(e["metric"]))
        if key in out:
            raise ClaimFileError(p, f"task {key[0]!r}, metric {key[1]!r} is listed twice (also {out[key]['where']}): "
                                 "one entry per task and metric, every figure inside it", field=where)
        if str(e["scale"]) not in ("percent", "fraction"):
            raise ClaimFileError(p, f"scale {e['scale']!r} is not percent or fraction", field=f"{where}.scale")
        if "none" in e:
            if not isinstance(e["none"], str) or len(e["none"].strip()) < 10:
                raise ClaimFileError(p, "say why no source gives a spread", field=f"{where}.none")
            out[key] = {"where": where, "none": e["none"].strip(), "figures": (), "scale": e["scale"]}
            continue
        if not isinstance(e["figures"], list) or not e["figures"]:
            raise ClaimFileError(p, "a list of sourced figures", field=f"{where}.figures")
        figures = [_figure(f, p, f"{where}.figures[{j}]") for j, f in enumerate(e["figures"])]
        used = max(range(len(figures)), key=lambda j: (figures[j]["runs"], figures[j]["sd"]))
        out[key] = {"where": where, "figures": tuple(figures), "used": used, "scale": e["scale"],
                    "note": str(e.get("note") or "").strip()}
    return out


def _figure(f, p: Path, where: str) -> dict:
    """One sourced figure: every field present, the source not empty, the numbers as printed."""
    if not isinstance(f, dict):
        raise ClaimFileError(p, "each figure is a mapping", field=where)
    missing = [k for k in FIGURE_FIELDS if k not in f]
    if missing:
        raise ClaimFileError(p, f"missing {', '.join(missing)}: a figure states its runs, centre, SD, model, "
                             "recipe, split and source", field=f"{where}.{missing[0]}")
    for k in ("model", "recipe", "split", "source"):
        if not isinstance(f[k], str) or len(f[k].strip()) < 3:
            raise ClaimFileError(p, f"{k} must say what it is (got {f[k]!r}): a figure without a real source "
                                 "is not a figure", field=f"{where}.{k}")
    runs = f["runs"]
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise ClaimFileError(p, f"runs must be a whole number >= 2 (got {runs!r})", field=f"{where}.runs")
    out = dict(f, runs=runs, sd=_printed(f["sd"], p, None, f"{where}.sd"),
               centre=_printed(f["centre"], p, None, f"{where}.centre"))
    if out["sd"] <= 0:
        raise ClaimFileError(p, "a spread figure must be positive", field=f"{where}.sd")
    return out


def table_for(root: Path, task: str, metric: str) -> str | None:
    """The name of the first run-spread table (by name) of the claims folder ``root`` that has an
    entry for ``task`` ('repo/config') and ``metric``; None when none has."""
    from harness.claims.folders import data_root

    folder = data_root(Path(root)) / SPREADS_DIR
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        if (task, metric) in _table(str(path)):
            return path.stem
    return None


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
    if "unknown" in spec:
        return RunSpread(Decimal(0), "unknown", str(spec["unknown"]), unknown=str(spec["unknown"]), **common)
    if "sd" in spec:
        source = str(spec["source"]).strip()
        if not source:
            raise ClaimFileError(path, "a stated spread needs its source", record=claim_id, field="run_spread.source")
        k = spec.get("runs")
        return RunSpread(_printed(spec["sd"], path, claim_id, "run_spread.sd"), "stated", source,
                         df=None if k is None else int(k) - 1, **common)
    if "measured" in spec:
        values = [_printed(v, path, claim_id, f"run_spread.measured[{i}]") for i, v in enumerate(spec["measured"])]
        sd = Decimal(repr(_stats.stdev([float(v) for v in values])))
        return RunSpread(sd, "measured", f"{spec['source']} (sample SD of {len(values)} runs: "
                         f"{', '.join(map(str, values))})", df=len(values) - 1, **common)
    name = str(spec["table"])
    if root is None:
        raise ClaimFileError(path, "a run-spread table needs the claims folder", record=claim_id, field="run_spread.table")
    from harness.claims.folders import data_root

    table_path = data_root(Path(root)) / SPREADS_DIR / f"{name}.yaml"   # claims/mine finds claims/spreads
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

    if "none" in entry:
        why = f"{table_path.name}, {entry['where']}: {entry['none']}"
        return RunSpread(Decimal(0), "unknown", why, unknown=why, **common)
    used = entry["figures"][entry["used"]]
    sd = used["sd"] * SCALES[str(entry["scale"])] / scale     # into the claim's printed units
    source = (f"{table_path.name}, {entry['where']}: SD {used['sd']} over {used['runs']} runs (mean {used['centre']}) "
              f"of {used['model']}; recipe: {used['recipe']}; split: {used['split']}; {used['source']}; chosen as "
              f"the figure over the most runs of {len(entry['figures'])} listed")
    if entry.get("note"):
        source += f" ({entry['note']})"
    figures = tuple({k: (str(v) if isinstance(v, Decimal) else v) for k, v in f.items()} for f in entry["figures"])
    return RunSpread(sd, "table", source, df=used["runs"] - 1, figures=figures, **common)
