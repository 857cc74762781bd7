"""The metric registry: what each metric is, how it is computed and how its uncertainty is found.

One ``Metric`` record per metric, defined in a module of this package (``binary.py``,
``correlation.py``, ``squad.py``, ``counts.py``) and found by ``discover()``; claim schemas,
band checks, statistics, reports and the importer all read from here, so a new metric is one
module (or one entry) plus its test. Importing this package imports nothing heavy: the metric
functions import numpy, scikit-learn or scipy when they are called.

A metric is named as papers and claims write it (``f1``, ``accuracy``, ``pearson``); the same
name may mean different computations in different measurement kinds (binary-class F1 for
classification, token-overlap F1 for SQuAD), so kinds pick their metrics by ``key`` and the
registry checks that one name always has one range and one label.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from harness.discovery import Registry

#: Natural units per printed unit, exact (percent: 89.3 printed is 0.893).
SCALES: dict[str, Decimal] = {"percent": Decimal("0.01"), "fraction": Decimal(1), "millions": Decimal(1_000_000),
                              "units": Decimal(1)}

#: Widest band (rounding + tolerance, both sides) a claim may have, as a share of its metric's
#: range (of the reported value for unbounded metrics). A wider band judges nothing: any model
#: would be "reproduced" (the reference system's 0.893-read-as-percent failure).
MAX_BAND_SHARE = Decimal("0.2")

#: Fewest examples a bootstrap interval is computed on (below it the look cannot decide): the
#: usual rule of thumb for a percentile/BCa bootstrap of a mean-like statistic. Bootstrap levels
#: are approximate at any size, and the artifact says so (docs/verdict-rule.md section 3).
BOOTSTRAP_MIN_SLICE = 30

#: How a metric's sampling uncertainty is estimated (harness.judge.looks):
EXACT = "exact"            # a count: no sampling at all
PROPORTION = "proportion"  # mean of 0/1 outcomes: exact finite-population (hypergeometric) interval
BOOTSTRAP = "bootstrap"    # anything else: paired BCa bootstrap, finite-population rescaled
UNCERTAINTIES = (EXACT, PROPORTION, BOOTSTRAP)


@dataclass(frozen=True)
class Metric:
    """One metric: its name and range, the library call that computes it, and its uncertainty.

    ``value(y_true, y_pred, **context)`` returns the number (scikit-learn or scipy);
    ``samples(y_true, y_pred, **context)`` returns the per-example arrays the interval is built
    from: for PROPORTION one boolean array (the example counts as a success), for BOOTSTRAP the
    tuple of paired arrays that ``statistic(*arrays, axis=-1)`` reduces (vectorized, the form
    ``scipy.stats.bootstrap`` calls). ``baseline(y_true, **context)`` scores a trivial predictor
    (``{"predictor", "value"}``), or is None where none is meaningful.
    """

    key: str                                   # unique in the registry
    name: str                                  # as claims and papers write it
    label: str
    range: tuple[float, float | None]
    summary: str
    uncertainty: str
    value: Callable[..., float] | None = None
    samples: Callable[..., tuple] | None = None
    statistic: Callable[..., object] | None = None
    baseline: Callable[..., dict] | None = None
    stratified: bool = False                  # PROPORTION: the slice may be stratified by label
    scale: str = "fraction"                   # printed units when a report has no claim to say
    aliases: tuple[str, ...] = ()             # other words papers and citations use for it ("mcc", "params")
    #: Smallest slice whose interval holds its level; a claim below it is refused at load and a
    #: growing claim starts at or above it. Exact intervals (proportions, metrics of the label
    #: counts) are valid at any size; a bootstrap needs enough examples to resample.
    min_slice: int = 1
    #: ``f(tp, fp, fn, tn)`` (vectorized) when the metric is a function of the binary confusion
    #: counts: it then gets the exact two-stratum interval (harness.judge.inversion) whenever the
    #: split's label counts are known, and the bootstrap only otherwise.
    from_counts: Callable[..., object] | None = None
    #: ``from_counts`` rises with true positives and falls with false positives (a coarsened
    #: exact grid may then be used on very large splits).
    monotone: bool = False

    def __post_init__(self):
        if self.uncertainty not in UNCERTAINTIES:
            raise ValueError(f"metric {self.key}: uncertainty {self.uncertainty!r} is not one of {UNCERTAINTIES}")
        if self.uncertainty != EXACT and (self.value is None or self.samples is None):
            raise ValueError(f"metric {self.key}: a sampled metric needs value() and samples()")
        if self.uncertainty == BOOTSTRAP and self.statistic is None:
            raise ValueError(f"metric {self.key}: a bootstrapped metric needs a vectorized statistic()")
        if not isinstance(self.min_slice, int) or self.min_slice < 1:
            raise ValueError(f"metric {self.key}: min_slice must be an integer >= 1, got {self.min_slice!r}")

    @property
    def bounded(self) -> bool:
        return self.range[1] is not None


def _check(metric: Metric, entries: dict) -> None:
    """One name, one range and one label: reports and band checks read them by name."""
    for other in entries.values():
        if other.name == metric.name and (other.range, other.label) != (metric.range, metric.label):
            raise ValueError(f"metric name {metric.name!r}: {other.key} and {metric.key} disagree on "
                             "range or label")


_METRICS: Registry[Metric] = Registry("metric", __name__, __path__, lambda module: getattr(module, "METRICS", ()),
                                      key=lambda m: m.key, check=_check)


def register(*metrics: Metric) -> None:
    """Add metrics; a key used twice, or one name with two ranges or labels, is a bug."""
    for metric in metrics:
        _METRICS.register(metric)


def discover() -> dict[str, Metric]:
    """Every metric, from each module of this package that defines ``METRICS`` (imported once)."""
    return _METRICS.all()


def builtin() -> dict[str, Metric]:
    """The harness's own metrics (the committed schema files list these)."""
    return _METRICS.builtin()


def get(key: str) -> Metric:
    return _METRICS.get(key)


def names() -> list[str]:
    """Every metric name a claim may report, sorted."""
    return sorted({m.name for m in discover().values()})


def by_name(name: str) -> Metric:
    """Any metric of that name: for its range and label, which every metric of one name shares."""
    for metric in discover().values():
        if metric.name == name:
            return metric
    raise KeyError(f"unknown metric {name!r}; known: {', '.join(names())}")


def words() -> dict[str, str]:
    """Every word a citation may use for a metric (its name or an alias, lower case) -> its name."""
    out = {}
    for metric in discover().values():
        for word in (metric.name, *metric.aliases):
            out[word.lower()] = metric.name
    return out


def range_of(name: str) -> tuple[float, float | None]:
    return by_name(name).range


def label_of(name: str) -> str:
    try:
        return by_name(name).label
    except KeyError:
        return name


def __getattr__(attr: str):
    """``RANGES`` and ``LABELS``: the registry as plain name -> value tables, for code that only reads."""
    if attr == "RANGES":
        return {m.name: m.range for m in discover().values()}
    if attr == "LABELS":
        return {m.name: m.label for m in discover().values()}
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
