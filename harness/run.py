"""One claim, end to end: audit -> its kind's measurement and judgement -> the verdict document.

``Pipeline`` holds what a process keeps between claims (paper records, loaded models and
datasets), so a worker loads each checkpoint once, and what kinds share (the prediction cache,
split loading). What a claim measures is its kind's business (harness.kinds); every outcome,
including a missing asset or an exception, becomes an artifact; nothing here raises for a
single claim's trouble.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path

from harness import kinds, protocol, versions
from harness import verdict_document as document
from harness.claims.audit import audit
from harness.claims.papers import load_papers
from harness.claims.records import Claim
from harness.errors import AssetUnavailable, HarnessError
from harness.measure.cache import key_of as cache_key
from harness.verdict_document import error_artifact  # noqa: F401 - for the plugin and crash handling
from harness.statuses import BLOCKED, ERROR


@dataclass
class RunSettings:
    """What one run sets for every claim it measures (from the --claims-* options; not the option
    table itself, which is harness.options)."""

    mirror: Path | None = None
    allow_download: bool = False
    device: str | None = None
    dtype: str = "float32"
    batch_size: int | None = None
    level: float = 0.95
    resamples: int = 2000
    cache_dir: Path | None = None   # None: no prediction cache
    checkpoints: tuple = ()         # --claims-checkpoint: the model claims were moved onto these (a deviation)
    progress: object = None         # callable(done, total, seconds) during inference, or None


@dataclass
class Pipeline:
    settings: RunSettings
    _papers: dict = field(default_factory=dict)
    _datasets: dict = field(default_factory=dict)
    _digests: dict = field(default_factory=dict)
    _pool: object = None
    _cache: object = None
    _device: str | None = None

    def papers(self, claim: Claim) -> dict:
        """Paper records of the claims folder the claim came from (loaded once per folder)."""
        if claim.root not in self._papers:
            self._papers[claim.root] = load_papers(Path(claim.root)) if claim.root else {}
        return self._papers[claim.root]

    @property
    def device(self) -> str:
        if self._device is None:
            from harness.measure import devices

            self._device = devices.pick(self.settings.device)
        return self._device

    @property
    def pool(self):
        if self._pool is None:
            from harness.measure.models import ModelPool

            self._pool = ModelPool()
        return self._pool

    @property
    def cache(self):
        if self._cache is None:
            from harness.measure.cache import PredictionCache

            self._cache = PredictionCache(self.settings.cache_dir)
        return self._cache

    # ------------------------------------------------------------------ one claim
    def evaluate(self, claim: Claim) -> dict:
        """The claim's artifact: audit, then its kind's measurement and judgement."""
        now = document.now()
        papers = self.papers(claim)
        pre = audit(claim, papers)
        measurement = stats = None
        run_checkpoints = self.settings.checkpoints
        devs = protocol.deviations(claim, dtype=self.settings.dtype, checkpoints=run_checkpoints)
        try:
            measured = kinds.get(claim.kind).measure(self, claim)
            measurement = dict(measured.measurement, versions=versions.versions())
            stats = measured.judgement.statistics()
            devs = protocol.deviations(claim, dtype=measurement.get("dtype"), slice_=measured.slice,
                                       checkpoints=run_checkpoints)
            post = measured.judgement.post()
        except AssetUnavailable as exc:
            post = {"status": BLOCKED, "confidence": None, "reason": str(exc),
                    "missing": exc.missing, "tried": exc.tried, "step": exc.hint}
        except HarnessError as exc:
            post = {"status": ERROR, "confidence": None, "reason": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:  # a bug or a broken asset: record it whole, never lose the verdict
            post = {"status": ERROR, "confidence": None, "reason": f"unexpected {type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc()}
        return document.build(claim, papers, pre, post, measurement, stats, devs, now)

    # ------------------------------------------------------------------ what kinds share
    def prediction(self, asset, *, head: str, data_key: dict, rows: int, fields: tuple) -> Prediction:
        """A kind's model outputs for some rows: from the prediction cache when every key part
        matches (``hit``), else the kind computes them and hands them in (``Prediction``).

        ``data_key``: everything besides the checkpoint files that decides the outputs (the
        dataset's digest, the slice, the length and any decoding setting)."""
        files = self._file_facts(Path(asset.path))
        parts = {"checkpoint": asset.repo, "revision": asset.revision, "revision_seen": asset.revision_seen,
                 "weights_sha256": files["weights_sha256"], "tokenizer_sha256": files["tokenizer_sha256"],
                 "dtype": self.settings.dtype, "device": self.device.split(":")[0], "head": head, **data_key}
        key = cache_key(parts)
        return Prediction(self, asset, head, key, parts, files, _usable(self.cache.get(key), rows, fields))

    def split(self, asset, ds_cfg: dict, loader) -> dict:
        """Rows of a split, read once per process by the kind's ``loader(folder, ds_cfg)``.

        Read straight from the files, with their digest as identity, bypassing the HF datasets
        cache on purpose: it keys on paths and mtimes, so a file replaced in place with its
        mtime kept would be served with the old rows."""
        key = (asset.path, ds_cfg["config"], ds_cfg["split"], loader.__module__, loader.__name__)
        if key not in self._datasets:
            self._datasets[key] = loader(Path(asset.path), ds_cfg)
        return self._datasets[key]

    def _file_facts(self, folder: Path) -> dict:
        """Checkpoint file digests, hashed once per process (a growing slice asks at every look)."""
        from harness.measure import models

        key = str(folder)
        if key not in self._digests:
            self._digests[key] = models.file_facts(folder)
        return self._digests[key]


@dataclass
class Prediction:
    """One batch of a kind's model outputs, read top to bottom by the kind:

        entry = pipeline.prediction(asset, head=..., data_key=..., rows=..., fields=...)
        if entry.hit is None:
            loaded = entry.load()
            entry.computed(loaded, *run_the_model(loaded))    # (payload, timings); cached
        got = entry.result()

    ``result()`` is the payload with the checkpoint's file facts, the cache's part (hit, key) and
    the timings (a hit costs nothing; a miss pays the model's load when this batch loaded it)."""

    pipeline: Pipeline
    asset: object
    head: str
    key: str
    parts: dict
    files: dict
    hit: dict | None
    _loads_before: int = 0
    _out: dict | None = None

    def load(self):
        """The model, loaded once per process (harness.measure.models.ModelPool)."""
        pipe = self.pipeline
        self._loads_before = pipe.pool.loads
        return pipe.pool.get(self.asset, pipe.device, pipe.settings.dtype, head=self.head)

    def computed(self, loaded, payload: dict, timings: dict) -> None:
        """What the kind computed with ``loaded`` (from ``load()``): stored in the prediction cache."""
        pipe = self.pipeline
        pipe.cache.put(self.key, self.parts, payload)
        fresh = pipe.pool.loads > self._loads_before       # this batch loaded the model: its cost is ours
        self._out = {**payload, "files": self.files, "cache": {"hit": False, "key": self.key},
                     "timings": {"model_load_seconds": loaded.info["load_seconds"] if fresh else 0.0,
                                 "model_import_seconds": loaded.info["import_seconds"] if fresh else 0.0, **timings}}

    def result(self) -> dict:
        if self.hit is not None:
            return {**self.hit, "files": self.files, "cache": {"hit": True, "key": self.key},
                    "timings": {"tokenize_seconds": 0.0, "model_load_seconds": 0.0, "model_import_seconds": 0.0,
                                "inference_seconds": 0.0}}
        if self._out is None:
            raise HarnessError(f"no {self.head} outputs: a cache miss the kind did not compute")
        return self._out


# ---------------------------------------------------------------------- helpers
def _usable(hit: dict | None, n: int, fields: tuple) -> dict | None:
    """A cache payload that has every field and one output row per example, else None (a miss)."""
    if hit is None:
        return None
    if not all(k in hit for k in fields) or len(hit[fields[0]]) != n:
        import warnings

        from harness.measure.cache import CacheWarning

        warnings.warn(f"prediction cache entry does not fit the slice ({n} examples); recomputing", CacheWarning)
        return None
    return hit


