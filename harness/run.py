"""One claim, end to end: audit -> assets -> slice -> inference -> metric -> verdict -> artifact.

``Pipeline`` holds what a process keeps between claims (paper records, loaded models and
datasets), so a worker loads each checkpoint once. Every outcome, including a missing asset
or an exception, becomes an artifact; nothing here raises for a single claim's trouble.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness import AGENT_VERSION, __version__
from harness.claims.audit import MISMATCH, audit
from harness.claims.papers import load_papers
from harness.claims.records import Claim
from harness.errors import AssetUnavailable, HarnessError
from harness.measure.cache import key_of as cache_key
from harness.judge import looks as looks_mod
from harness.judge import protocol, verdict
from harness.judge.band import Band
from harness.judge.verdict import BLOCKED, ERROR, MISCITED

NAMESPACE = uuid.UUID("6f1d8a4e-3b0c-4f4e-9a51-1909119420aa")


@dataclass
class Options:
    mirror: Path | None = None
    allow_download: bool = False
    device: str | None = None
    dtype: str = "float32"
    batch_size: int | None = None
    level: float = 0.95
    resamples: int = 2000
    cache_dir: Path | None = None   # None: no prediction cache
    progress: object = None         # callable(done, total, seconds) during inference, or None


@dataclass
class Pipeline:
    options: Options
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

            self._device = devices.pick(self.options.device)
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

            self._cache = PredictionCache(self.options.cache_dir)
        return self._cache

    # ------------------------------------------------------------------ one claim
    def evaluate(self, claim: Claim) -> dict:
        now = _now()
        papers = self.papers(claim)
        pre = audit(claim, papers)
        measurement = stats = None
        devs = protocol.deviations(claim, dtype=self.options.dtype)
        try:
            measure = self._parameter_count if claim.kind == "parameter_count" else self._classification
            measurement, judgement, slice_ = measure(claim)
            stats = judgement.statistics()
            stats["trivial_baseline"] = measurement.pop("_trivial_baseline", None)
            devs = protocol.deviations(claim, dtype=measurement.get("dtype"), slice_=slice_)
            post = judgement.post()
        except AssetUnavailable as exc:
            post = {"status": BLOCKED, "confidence": None, "reason": str(exc),
                    "missing": exc.missing, "tried": exc.tried}
        except HarnessError as exc:
            post = {"status": ERROR, "confidence": None, "reason": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:  # a bug or a broken asset: record it, never lose the verdict
            post = {"status": ERROR, "confidence": None,
                    "reason": f"unexpected {type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=20)}
        return build_artifact(claim, papers, pre, post, measurement, stats, devs, now)

    # ------------------------------------------------------------------ parameter counts
    def _parameter_count(self, claim: Claim):
        from harness.measure import params

        arch = claim.measure["architecture"]
        start = time.perf_counter()
        counted = params.count(arch["family"], arch["config"], include_pooler=claim.measure["include_pooler"])
        band = _band(claim)
        total = float(counted["total"])
        measurement = {
            "kind": "parameter_count", "value": total, "metrics": {"parameter_count": total},
            "counted": counted, "device": "meta", "dtype": "none",
            "timings": {"count_seconds": round(time.perf_counter() - start, 3)},
            "versions": _versions(),
        }
        return measurement, verdict.exact(total, band, band), None

    # ------------------------------------------------------------------ classification
    def _classification(self, claim: Claim):
        import numpy as np

        from harness.judge import statistics as st
        from harness.measure import assets, devices, labels, slices

        m = claim.measure
        ds_cfg, ckpt = m["dataset"], m["checkpoint"]
        missing: list[AssetUnavailable] = []
        model_asset = None
        if "unavailable" in ckpt:
            missing.append(AssetUnavailable("checkpoint (none published)", [ckpt["unavailable"].strip()]))
        else:
            try:
                model_asset = assets.resolve_model(ckpt["repo"], ckpt["revision"], mirror=self.options.mirror,
                                                   allow_download=self.options.allow_download)
            except AssetUnavailable as exc:
                missing.append(exc)
        try:
            data_asset = assets.resolve_dataset(ds_cfg["repo"], ds_cfg["config"], ds_cfg["revision"],
                                                mirror=self.options.mirror,
                                                allow_download=self.options.allow_download)
        except AssetUnavailable as exc:
            missing.append(exc)
        if missing:
            raise _combine(missing)

        t0 = time.perf_counter()
        split = self._split(data_asset, ds_cfg)
        names = split["label_names"]
        if ds_cfg["positive_label"] not in names:
            raise HarnessError(f"positive_label {ds_cfg['positive_label']!r} is not a label of "
                               f"{ds_cfg['repo']} ({', '.join(names)})")
        positive = names.index(ds_cfg["positive_label"])
        printed_band, band, spread = _bands(claim, self.options.level)
        population = len(split["idx"])
        size = m["slice"]["size"]
        if size == "auto":
            size = st.planned_slice_size(min(max(band.reported_natural, 0.01), 0.99), band.half_width,
                                         level=self.options.level)
        size = population if size == "all" else int(size)
        grow = m["slice"].get("grow", False)
        cap = grow if isinstance(grow, dict) else {}
        schedule = looks_mod.plan(size, population, alpha=1.0 - self.options.level, grow=bool(grow),
                                  max_pairs=cap.get("max_pairs"), max_seconds=cap.get("max_seconds"))
        key = f"{ds_cfg['repo']}/{ds_cfg['config']}/{ds_cfg['split']}"
        seed, stratified = m["slice"]["seed"], m["slice"].get("stratified", True)
        order = slices.order(split["idx"], split["labels"], seed=seed, stratified=stratified)
        strata = ({int(k): int(v) for k, v in zip(*np.unique(split["labels"], return_counts=True))}
                  if stratified else None)
        data_seconds = time.perf_counter() - t0

        dtype = self.options.dtype
        seen: dict = {"positions": [], "predictions": [], "parts": []}

        def observe(n: int):
            """Labels and predictions of the first n pairs of the order; predicts only the new ones."""
            new = order[len(seen["positions"]):n]
            if len(new):
                part = slices.from_positions(split["idx"], new, seed=seed, stratified=stratified, dataset_key=key)
                cols = [[split["texts"][f][p] for p in part.positions] for f in ds_cfg["text_fields"]]
                pred = self._predict(model_asset, cols, m["max_length"], dtype,
                                     {"dataset": split["fingerprint"], "slice_id": part.slice_id})
                to_dataset, assumption = labels.mapping(pred["id2label"], names)
                got = [to_dataset[int(k)] for k in np.asarray(pred["logits"]).argmax(axis=1)]
                seen["positions"] += list(part.positions)
                seen["predictions"] += got
                seen["parts"].append({**pred, "mapping": to_dataset, "assumption": assumption})
            return ([split["labels"][p] for p in seen["positions"][:n]], seen["predictions"][:n])

        def judge_look(y_true, y_pred, *, alpha):
            sid = slices.slice_id(key, sorted(int(split["idx"][p]) for p in seen["positions"][:len(y_true)]))
            return looks_mod.look(claim.metric, y_true, y_pred, positive=positive, population=population,
                                  band=band, alpha=alpha, resamples=self.options.resamples, seed=int(sid[:8], 16),
                                  strata=strata)

        taken, stopped = looks_mod.sequential(schedule, observe, judge_look)
        n = taken[-1].n
        sl = slices.from_positions(split["idx"], seen["positions"][:n], seed=seed, stratified=stratified,
                                   dataset_key=key)
        by_position = dict(zip(seen["positions"][:n], seen["predictions"][:n]))
        y_true = [split["labels"][p] for p in sl.positions]
        y_pred = [by_position[p] for p in sl.positions]
        judgement = verdict.from_looks(taken, schedule, band, printed_band, stopped=stopped,
                                       spread=_spread_dict(spread, claim, self.options.level))
        parts = seen["parts"]
        first = parts[0]
        timings = {"data_seconds": round(data_seconds, 4)}
        for part in parts:
            for name, value in part["timings"].items():
                if name.endswith("_seconds"):
                    timings[name] = round(timings.get(name, 0.0) + value, 4)
        if timings.get("inference_seconds"):
            timings["pairs_per_second"] = round(sum(len(p["logits"]) for p in parts) / timings["inference_seconds"], 2)
        measurement = {
            "kind": "classification",
            "value": judgement.estimate,
            "n": sl.size,
            "slice_id": sl.slice_id,
            "slice": {"size": sl.size, "split_size": sl.split_size, "seed": sl.seed,
                      "stratified": sl.stratified, "whole_split": sl.whole_split, "looks": len(taken),
                      "grows": schedule.grows},
            "idx": list(sl.idx),
            "labels": y_true,
            "predictions": y_pred,
            "metrics": {name: st.metric_value(name, y_true, y_pred, positive=positive) for name in st.METRICS},
            "positive_label": {"name": ds_cfg["positive_label"], "id": positive},
            "label_mapping": {"model_to_dataset": {str(k): v for k, v in first["mapping"].items()},
                              "assumption": first["assumption"]},
            "device": self.device,
            "device_name": devices.describe(self.device),
            "dtype": dtype,
            "max_length": m["max_length"],
            "batch_size": first["batch_size"],
            "checkpoint": dict(model_asset.to_dict(), **first["files"]),
            "cache": {"hit": all(p["cache"]["hit"] for p in parts), "key": parts[0]["cache"]["key"],
                      "keys": [p["cache"]["key"] for p in parts]},   # one per look's new pairs
            "dataset": dict(data_asset.to_dict(), config=ds_cfg["config"], split=ds_cfg["split"],
                            fingerprint=split["fingerprint"], label_names=names),
            "tokens": {"real": sum(p["tokens"]["real"] for p in parts),
                       "padded": sum(p["tokens"]["padded"] for p in parts)},
            "timings": timings,
            "versions": _versions(),
            "_trivial_baseline": st.trivial_baseline(claim.metric, y_true, positive=positive),
        }
        return measurement, judgement, sl

    def _predict(self, asset, columns, max_length: int, dtype: str, data_key: dict) -> dict:
        """Logits for the slice: from the prediction cache when every key part matches, else run."""
        from harness.measure import inference, models

        folder = Path(asset.path)
        files = self._file_facts(folder)
        parts = {"checkpoint": asset.repo, "revision": asset.revision, "revision_seen": asset.revision_seen,
                 "weights_sha256": files["weights_sha256"], "tokenizer_sha256": files["tokenizer_sha256"],
                 "dtype": dtype, "device": self.device.split(":")[0], "max_length": max_length, **data_key}
        key = cache_key(parts)
        hit = _usable(self.cache.get(key), len(columns[0]) if columns else 0)
        if hit is not None:
            return {"logits": hit["logits"], "id2label": {int(k): v for k, v in hit["id2label"].items()},
                    "batch_size": hit["batch_size"], "tokens": hit["tokens"], "files": files,
                    "cache": {"hit": True, "key": key},
                    "timings": {"tokenize_seconds": 0.0, "model_load_seconds": 0.0, "inference_seconds": 0.0}}
        loads_before = self.pool.loads
        loaded = self.pool.get(asset, self.device, dtype)
        t1 = time.perf_counter()
        enc = inference.encode(loaded.tokenizer, columns, max_length)
        tokenize_seconds = time.perf_counter() - t1
        out = inference.run(loaded.model, enc, device=self.device, pad_id=loaded.tokenizer.pad_token_id or 0,
                            batch_size=self.options.batch_size, progress=self.options.progress)
        result = {"logits": out.logits.tolist(), "id2label": loaded.info["id2label"], "batch_size": out.batch_size,
                  "tokens": {"real": out.tokens, "padded": out.padded_tokens}}
        self.cache.put(key, parts, {**result, "id2label": {str(k): v for k, v in result["id2label"].items()}})
        n = len(out.logits)
        return {**result, "files": files, "cache": {"hit": False, "key": key},
                "timings": {"tokenize_seconds": round(tokenize_seconds, 4),
                            "model_load_seconds": loaded.info["load_seconds"] if self.pool.loads > loads_before else 0.0,
                            "model_import_seconds": loaded.info["import_seconds"] if self.pool.loads > loads_before else 0.0,
                            "inference_seconds": round(out.seconds, 4),
                            "pairs_per_second": round(n / out.seconds, 2) if out.seconds else 0.0,
                            "tokens_per_second": round(out.tokens / out.seconds, 1) if out.seconds else 0.0}}

    def _file_facts(self, folder: Path) -> dict:
        """Checkpoint file digests, hashed once per process (a growing slice asks at every look)."""
        from harness.measure import models

        key = str(folder)
        if key not in self._digests:
            self._digests[key] = models.file_facts(folder)
        return self._digests[key]

    def _split(self, asset, ds_cfg) -> dict:
        """Rows of the split, read straight from its files; identity = digest of those files.

        The HF datasets cache is bypassed on purpose: it keys on paths and mtimes, so a file
        replaced in place with its mtime kept would be served with the old rows."""
        from harness.measure import datafiles

        key = (asset.path, ds_cfg["config"], ds_cfg["split"])
        if key not in self._datasets:
            self._datasets[key] = datafiles.load_split(Path(asset.path), ds_cfg)
        return self._datasets[key]


# ---------------------------------------------------------------------- helpers
def error_artifact(claim: Claim, reason: str) -> dict:
    """An artifact for a claim whose measurement never reported back (a crashed worker)."""
    papers = load_papers(Path(claim.root)) if claim.root else {}
    post = {"status": ERROR, "confidence": None, "reason": reason}
    return build_artifact(claim, papers, audit(claim, papers), post, None, None,
                          protocol.deviations(claim), _now())


def _usable(hit: dict | None, n: int) -> dict | None:
    """A cache payload that has every field and one logit row per example, else None (a miss)."""
    if hit is None:
        return None
    if not all(k in hit for k in ("logits", "id2label", "batch_size", "tokens")) or len(hit["logits"]) != n:
        import warnings

        from harness.measure.cache import CacheWarning

        warnings.warn(f"prediction cache entry does not fit the slice ({n} examples); recomputing", CacheWarning)
        return None
    return hit


def _band(claim: Claim) -> Band:
    return Band.from_printed(claim.reported["value"], scale=claim.scale_exact,
                             tolerance=claim.record["tolerance"]["value"])


def _bands(claim: Claim, level: float):
    """The printed band (rounding and tolerance) and the judged one (plus the run margin)."""
    printed = _band(claim)
    spread = claim.run_spread
    if spread is None:
        return printed, printed, None
    return printed, printed.widened(spread.margin(level)), spread


def _spread_dict(spread, claim: Claim, level: float) -> dict | None:
    if spread is None:
        return None
    return dict(spread.to_dict(level, claim.scale_exact), level=level)


def _combine(missing: list[AssetUnavailable]) -> AssetUnavailable:
    if len(missing) == 1:
        return missing[0]
    return AssetUnavailable(" and ".join(m.missing for m in missing),
                            list(dict.fromkeys(t for m in missing for t in m.tried)),
                            " ".join(dict.fromkeys(m.hint for m in missing if m.hint)))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version(), "harness": __version__}
    for name in ("torch", "transformers", "datasets", "huggingface_hub", "scikit-learn", "scipy", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def citation_block(claim: Claim) -> dict:
    """The claim's citation in the reference verdict's ``claim_citation`` layout."""
    c = claim.citation
    value = float(claim.reported["value"])
    return {
        "paper_arxiv_id": c.get("paper"),
        "section": c.get("table") or c.get("section") or c.get("url"),
        "row": c.get("row"),
        "column": c.get("column"),
        "reported_value": value,
        "reported_metric": claim.metric,
        "reported_scale": claim.reported["scale"],
        "quoted_text": c.get("quote"),
        "pdf_page": c.get("page"),
        "notes": c.get("notes"),
        "source": c.get("source"),
        "url": c.get("url"),
    }


def _verdict(claim: Claim, kind: str, status: str, score, confidence, now, pm, extra: dict) -> dict:
    vid = uuid.uuid5(NAMESPACE, f"{claim.id}|{kind}|{status}|{score!r}")
    return {"id": str(vid), "kind": kind, "status": status, "score": score, "confidence": confidence,
            "agent_version": AGENT_VERSION, "computed_at": now, "is_current": True,
            "claim_citation": citation_block(claim), "protocol_match": pm, **extra}


def build_artifact(claim, papers, pre, post, measurement, stats, devs, now) -> dict:
    pm = protocol.match(devs)
    score = measurement["value"] if measurement else None
    post_extra = {k: v for k, v in post.items() if k not in ("status", "confidence")}
    post_v = _verdict(claim, "POST", post["status"], score, post["confidence"], now, pm, post_extra)
    pre_v = None
    if pre is not None:
        pre_v = _verdict(claim, "PRE", pre.status, None, None, now, None,
                         {"reason": "; ".join(pre.findings), "findings": pre.findings, "found": pre.found})
    if pre_v and pre.status == MISMATCH:
        top = dict(pre_v, status=MISCITED, score=score, protocol_match=pm,
                   reason="citation does not hold: " + pre_v["reason"] +
                          f" (measurement kept as POST: {post['status']})")
        top["id"] = str(uuid.uuid5(NAMESPACE, f"{claim.id}|FINAL|{MISCITED}|{score!r}"))
    else:
        top = post_v
    paper = papers.get(claim.citation.get("paper") or "")
    return {
        "schema_version": 1,
        "claim_id": claim.id,
        "claim_file": claim.path or None,
        "paper": {"arxiv_id": claim.citation.get("paper"),
                  "title": paper.title if paper else None,
                  "latest_version": paper.version if paper else claim.citation.get("version")},
        "latest_version": {"version": paper.version if paper else claim.citation.get("version"),
                           "source_url": paper.source_url if paper else claim.citation.get("url")},
        "verdict": top,
        "verdicts": {"pre": pre_v, "post": post_v},
        "measurement": measurement,
        "statistics": stats,
        "protocol": {"match": pm, "deviations": devs},
        "claim": claim.record,
        "harness": {"version": __version__},
    }
