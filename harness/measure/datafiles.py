"""A dataset split read from its parquet files, with the files' digest as its identity.

Why not ``datasets.load_dataset``: its cache keys on paths and modification times, so a file
replaced in place with its mtime kept (``cp -p``, ``rsync -t``) is served with the old rows,
and a fingerprint of the rows it served would never notice. Errors name the file and column.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.errors import AssetUnavailable, HarnessError

#: How to refill a config folder from the hub (an air-gapped runner does it on another machine).
REFETCH = "re-fetch it where the hub can be reached: `python -m harness prefetch --mirror DIR`"


class DatasetError(HarnessError):
    """A split that cannot be measured against: missing files or columns, no labels, corrupt."""


class SplitMissing(AssetUnavailable, DatasetError):
    """A split with no files or no rows: the claim is ``blocked`` (nothing to measure), not an error."""


def split_files(folder: Path, config: str, split: str) -> list[Path]:
    base = folder / config
    files = sorted(base.glob(f"{split}-*.parquet")) + sorted(base.glob(f"{split}.parquet"))
    if not files:
        held = sorted({p.name.split("-")[0].removesuffix(".parquet") for p in base.glob("*.parquet")})
        why = f"{base}: no parquet files for split {split!r} (expected {split}-*.parquet)"
        if held:   # the config is there with other splits: the claim names one it does not have
            raise SplitMissing(f"split {split!r} of {base}", [f"{why}; it holds: {', '.join(held)}"],
                               "Check measure.dataset.split in the claim")
        raise SplitMissing(f"split {split!r} of {base}", [why], f"The config folder holds no split: {REFETCH}")
    return files


def no_rows(files: list[Path], split: str) -> SplitMissing:
    """The error for a split whose files hold no rows (a truncated download, an emptied file)."""
    names = ", ".join(str(p) for p in files)
    return SplitMissing(f"rows of split {split!r}", [f"{names}: 0 rows"], f"The split is empty: {REFETCH}")


def digest(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def read_table(path: Path):
    """One parquet file as an arrow table; a broken file is a DatasetError naming it."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a broken file
        raise DatasetError(f"{path}: corrupt or unreadable parquet file "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def _table(folder: Path, ds_cfg: dict):
    """(files, the split as one arrow table) with the label and text columns in every file."""
    import pyarrow as pa

    files = split_files(folder, ds_cfg["config"], ds_cfg["split"])
    tables = [read_table(p) for p in files]
    for path, table in zip(files, tables):
        for column in [ds_cfg["label_field"], *ds_cfg["text_fields"]]:
            if column not in table.column_names:
                raise DatasetError(f"{path}: no column {column!r} (has {', '.join(table.column_names)}); "
                                   f"check measure.dataset of the claim")
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if table.num_rows == 0:
        raise no_rows(files, ds_cfg["split"])
    return files, table


def _columns(folder: Path, ds_cfg: dict, files: list[Path], table, labels: list) -> dict:
    """The fields every split loader returns: texts, idx, labels, fingerprint, files."""
    cols = {f: table.column(f).to_pylist() for f in ds_cfg["text_fields"]}
    idx = table.column("idx").to_pylist() if "idx" in table.column_names else list(range(len(labels)))
    return {"texts": cols, "idx": idx, "labels": labels,
            "fingerprint": digest(files, folder), "files": [p.relative_to(folder).as_posix() for p in files]}


def column_type(schema, column: str) -> tuple[str, object]:
    """("class", names), ("value", dtype) or ("other", feature) of a column, as HF datasets reads it.

    The features datasets recorded in the file's "huggingface" schema metadata, else the arrow
    type, which is what ``datasets.Features.from_arrow_schema`` reads too. The datasets library
    (0.6 s of imports, pandas included: more than a small model's whole inference) is imported only
    for a form this does not read itself."""
    meta = (schema.metadata or {}).get(b"huggingface")
    if meta is None:
        import pyarrow as pa

        kind = schema.field(column).type
        if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            return "value", str(kind)
        if pa.types.is_floating(kind):
            return "value", {"halffloat": "float16", "float": "float32", "double": "float64"}[str(kind)]
    else:
        try:
            feature = json.loads(meta)["info"]["features"][column]
        except (ValueError, KeyError, TypeError):
            feature = None
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"), list):
            return "class", [str(n) for n in feature["names"]]
        if isinstance(feature, dict) and feature.get("_type") == "Value" and isinstance(feature.get("dtype"), str):
            return "value", feature["dtype"]
    import datasets

    feature = datasets.Features.from_arrow_schema(schema).get(column)
    if isinstance(feature, datasets.ClassLabel):
        return "class", list(feature.names)
    if isinstance(feature, datasets.Value):
        return "value", feature.dtype
    return "other", feature


def load_split(folder: Path, ds_cfg: dict) -> dict:
    """Texts, idx, labels, label names and the digest of the split's files."""
    repo, label_field = ds_cfg["repo"], ds_cfg["label_field"]
    files, table = _table(folder, ds_cfg)
    kind, names = column_type(table.schema, label_field)
    names = names if kind == "class" else []
    if not names:
        raise DatasetError(f"{repo}: label field {label_field!r} has no class names")
    labels = table.column(label_field).to_pylist()
    unlabeled = sum(1 for v in labels if v is None or v < 0)
    if unlabeled:
        raise DatasetError(f"{repo} split {ds_cfg['split']!r}: {unlabeled} of {len(labels)} rows have no label "
                           "(-1 or empty; GLUE test labels are hidden); measure on a labelled split")
    if any(v >= len(names) for v in labels):
        raise DatasetError(f"{repo} split {ds_cfg['split']!r}: labels outside 0..{len(names) - 1}")
    return dict(_columns(folder, ds_cfg, files, table, labels), label_names=names)


#: What GLUE (and the hub's other benchmark mirrors) write where a split's labels are hidden.
HIDDEN_LABEL = -1


def load_scores_split(folder: Path, ds_cfg: dict, *, score_range: tuple[float, float] | None = None) -> dict:
    """A split whose label is a number per example (a regression target such as STS-B's 0..5).

    Returns texts, idx, labels (Python floats, each the stored value widened exactly: GLUE's
    float32 3.8 is 3.799999952316284), fingerprint and files, as ``load_split`` without
    ``label_names``. ``ds_cfg`` has the keys ``load_split`` reads. DatasetError (naming the
    file or repo, split and column) when the label column is a class label (a classification
    split given to a regression claim) or not numeric, when any row has no label (empty, NaN,
    or -1: GLUE hides its test labels as -1), and when ``score_range`` (closed) is given and a
    label falls outside it.
    """
    import math

    repo, label_field, split = ds_cfg["repo"], ds_cfg["label_field"], ds_cfg["split"]
    files, table = _table(folder, ds_cfg)
    kind, detail = column_type(table.schema, label_field)
    where = f"{repo} split {split!r}, column {label_field!r}"
    if kind == "class":
        raise DatasetError(f"{where} is a class label ({', '.join(detail)}), not a score: "
                           "this split is for classification")
    if not (kind == "value" and detail.startswith(("float", "int", "uint"))):
        shown = f"Value(dtype={detail!r})" if kind == "value" else repr(detail)
        raise DatasetError(f"{where} holds {shown}, not numbers: a score column must be float or int")
    labels = table.column(label_field).to_pylist()
    unlabeled = sum(1 for v in labels if v is None or math.isnan(v) or v == HIDDEN_LABEL)
    if unlabeled:
        raise DatasetError(f"{where}: {unlabeled} of {len(labels)} rows have no label "
                           "(-1, NaN or empty; GLUE test labels are hidden); measure on a labelled split")
    if score_range is not None:
        low, high = score_range
        outside = [v for v in labels if not low <= v <= high]
        if outside:
            raise DatasetError(f"{where}: {len(outside)} of {len(labels)} labels outside {low}..{high} "
                               f"(e.g. {outside[0]!r})")
    return _columns(folder, ds_cfg, files, table, [float(v) for v in labels])
