"""Claim records: YAML files under claims/, validated, merged with file defaults, sorted.

A claim file holds ``claims:`` (a list of records) and optional ``defaults:`` merged into
each record. Paper records live apart, in ``claims/papers/`` (see ``papers.py``).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from harness import schemas
from harness.errors import ClaimFileError
from harness import metrics
from harness.metrics import MAX_BAND_SHARE, SCALES as EXACT_SCALES

PAPERS_DIR = "papers"
SPREADS_DIR = "spreads"
NOT_CLAIMS = (PAPERS_DIR, SPREADS_DIR)   # folders of data files that are not claim records
SCALES = {name: float(value) for name, value in EXACT_SCALES.items()}


class _Part:
    """A typed part of a claim record, made from its block: each field the block's key of the
    same name (None if absent)."""

    @classmethod
    def of(cls, block: dict):
        return cls(*(block.get(f.name) for f in fields(cls)))


@dataclass(frozen=True)
class Cited(_Part):
    """Where the number was printed (``citation``): a paper (arXiv id, version, page, and a table
    cell or a prose statement with its quote) or a model card (its url)."""

    source: str | None = None
    paper: str | None = None
    version: int | None = None
    page: int | None = None
    table: str | None = None
    section: str | None = None
    row: str | None = None
    column: str | None = None
    statement: str | None = None
    quote: str | None = None
    url: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Reported(_Part):
    """The number the source printed: its digits as printed, the metric, the scale and, where the
    digits do not say it, the unit it was rounded to (``reported`` in the claim record)."""

    value: str
    metric: str
    scale: str
    rounded_to: str | None = None


@dataclass(frozen=True)
class Checkpoint(_Part):
    """The checkpoint a claim measures (``measure.checkpoint``): a published one (repo, revision,
    origin), or ``unavailable`` saying why none is published."""

    repo: str | None = None
    revision: str | None = None
    origin: str | None = None
    model_version: str | None = None
    unavailable: str | None = None

    @classmethod
    def of(cls, block) -> Checkpoint | None:
        if not isinstance(block, dict) or not block:
            return None
        return super().of(block)

    @property
    def published(self) -> bool:
        return self.repo is not None

    @property
    def label(self) -> str:
        """'org/name@86655e0ce120': how ids, xdist groups and columns name it."""
        return f"{self.repo}@{(self.revision or '')[:12]}"


@dataclass(frozen=True)
class Slice:
    """Which examples of the split a claim measures (``measure.slice``): a size (a number,
    ``all`` or ``auto``), the order's seed, stratified or not, and whether and how far it grows."""

    size: int | str
    seed: int
    stratified: bool = True
    grow: bool = False
    max_pairs: int | None = None
    max_seconds: float | None = None

    @classmethod
    def of(cls, block) -> Slice | None:
        if not isinstance(block, dict) or "size" not in block:
            return None
        grow = block.get("grow", False)
        cap = grow if isinstance(grow, dict) else {}
        return cls(block["size"], block.get("seed", 0), block.get("stratified", True), bool(grow),
                   cap.get("max_pairs"), cap.get("max_seconds"))


@dataclass(frozen=True)
class Claim:
    """One validated claim record and the file it came from.

    The parts read most are typed once, when the claim is made (``cited``, ``printed``,
    ``checkpoint_ref``, ``slice_plan``); ``record`` keeps the whole record as written, for the
    artifact and the rest."""

    id: str
    record: dict[str, Any] = field(repr=False)
    path: str = ""
    root: str = ""   # the claims folder it was loaded from; paper records live in root/papers
    line: int = 0    # 1-based line of the record in its file (0: unknown); where pytest points
    cited: Cited = field(init=False, repr=False, compare=False)
    printed: Reported = field(init=False, repr=False, compare=False)
    checkpoint_ref: Checkpoint | None = field(init=False, repr=False, compare=False)
    slice_plan: Slice | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        measure = self.record.get("measure") if isinstance(self.record, dict) else None
        measure = measure if isinstance(measure, dict) else {}
        reported = self.record.get("reported") if isinstance(self.record, dict) else None
        citation = self.record.get("citation") if isinstance(self.record, dict) else None
        object.__setattr__(self, "cited", Cited.of(citation if isinstance(citation, dict) else {}))
        object.__setattr__(self, "printed", Reported.of(reported if isinstance(reported, dict) else {}))
        object.__setattr__(self, "checkpoint_ref", Checkpoint.of(measure.get("checkpoint")))
        object.__setattr__(self, "slice_plan", Slice.of(measure.get("slice")))

    @property
    def citation(self) -> dict:
        return self.record["citation"]

    @property
    def reported(self) -> dict:
        return self.record["reported"]

    @property
    def measure(self) -> dict:
        return self.record["measure"]

    @property
    def kind(self) -> str:
        return self.measure["kind"]

    @property
    def metric(self) -> str:
        return self.reported["metric"]

    @property
    def scale(self) -> float:
        return SCALES[self.reported["scale"]]

    @property
    def scale_exact(self):
        return EXACT_SCALES[self.reported["scale"]]

    @property
    def tolerance(self) -> float:
        return float(self.record["tolerance"]["value"])

    @property
    def run_spread(self):
        """The resolved run-to-run spread (``claims.spreads.RunSpread``), or None."""
        from harness.claims.spreads import resolve

        return resolve(self.record, path=self.path, root=Path(self.root) if self.root else None,
                       scale=self.scale_exact)

    @property
    def checkpoint(self) -> dict | None:
        return self.measure.get("checkpoint")

    @property
    def group(self) -> str:
        """The xdist group: claims that share a checkpoint run on one worker."""
        ckpt = self.checkpoint_ref
        if ckpt is not None and ckpt.published:
            return ckpt.label
        return f"no-checkpoint:{self.kind}"

    @property
    def artifact_name(self) -> str:
        return artifact_name(self.id)


def artifact_name(claim_id: str) -> str:
    """The verdict file of a claim id, derived from the id alone: whoever writes an artifact (a
    worker's fixture, the controller, merge) names it from the artifact's ``claim_id``."""
    return sanitise(claim_id) + ".json"


def sanitise(claim_id: str) -> str:
    """A file name for a claim id: '/' becomes '__', anything unusual becomes '_'."""
    name = re.sub(r"[^A-Za-z0-9._()+-]", "_", claim_id.replace("/", "__"))
    name = re.sub(r"\.{2,}", "_", name)
    return name.lstrip(".") or "_"


def _merge(base: dict, over: dict, path: tuple = ()) -> dict:
    """A record over its file's defaults, field by field; where the schema offers alternative forms
    (``run_spread``, a checkpoint) the record's value replaces the default's whole."""
    out = _copy(base)
    for key, value in over.items():
        here = path + (key,)
        if isinstance(value, dict) and isinstance(out.get(key), dict) and here not in schemas.alternative_paths("claim"):
            out[key] = _merge(out[key], value, here)
        else:
            out[key] = _copy(value)
    return out


def _copy(value):
    """A deep copy of parsed YAML (dicts, lists, scalars): 5x faster than copy.deepcopy on a catalogue."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return copy.deepcopy(value) if isinstance(value, (set, tuple, bytearray)) else value


MAX_EXPANSION = 100_000  # nodes that aliases may add; a claim file adds a few, an alias bomb billions
MAX_MAGNITUDE = 1e15     # no reported value or tolerance is this large; 10**400 overflows floats
MAX_FILE_BYTES = 32 << 20   # a claim file of 10,000 claims is about 10 MB
ID_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")   # control characters, line breaks
MAX_ARTIFACT_NAME = 200  # bytes: the verdict file's name (its temporary adds ~14) stays under NAME_MAX 255


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser where present: same safe constructor


def read_yaml(path: Path, error=ClaimFileError):
    """Parse a YAML file safely: a regular UTF-8 file of bounded size, no alias bombs; errors name the file."""
    return _parse_yaml(path, error)[0]


def _parse_yaml(path: Path, error=ClaimFileError):
    """(data, root node or None): ``read_yaml`` and the node graph it was built from."""
    from harness.atomic import FileRefused, read_bounded

    path = Path(path)
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                          "save the file as UTF-8") from None
    except FileRefused as exc:
        raise error(path, exc.why) from None
    except OSError as exc:
        raise error(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        loader = _LOADER(text)        # parsed once: the node graph is checked, then built
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            if _alias_expansion(node) > MAX_EXPANSION:
                raise error(path, f"its aliases expand it by more than {MAX_EXPANSION} YAML nodes (an alias bomb?)")
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise error(path, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise error(path, "nested too deeply (recursive aliases?)") from None


def _alias_expansion(root) -> int:
    """How many nodes the aliases add when the document is expanded, computed without expanding.

    A node reached a second time is an alias: it adds its whole expanded size again. The file's
    own nodes do not count, so a long plain file is never taken for a bomb."""
    memo: dict[int, int] = {}
    cap = MAX_EXPANSION + 1
    extra = 0

    def size(node) -> int:              # expanded size of a node, memoised (capped: a cycle is too big)
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = cap
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in node.value)
        else:
            total = 1
        memo[key] = min(total, cap)
        return memo[key]

    seen: set[int] = set()
    stack = [root]
    while stack and extra <= MAX_EXPANSION:
        node = stack.pop()
        if id(node) in seen:            # an alias of a node already counted: all of it again
            extra += size(node)
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(x for kv in node.value for x in kv)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return extra


def _bad_number(value, where: str = ""):
    """(field, why) of the first number that is not finite or absurdly large, else None."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        try:
            ok = math.isfinite(float(value)) and abs(value) <= MAX_MAGNITUDE
        except OverflowError:
            ok = False
        return None if ok else (where or "<record>", f"{value!r:.40} is not a finite number below {MAX_MAGNITUDE:g}")
    for k, v in items:
        found = _bad_number(v, f"{where}.{k}" if where else str(k))
        if found:
            return found
    return None


def load_file(path: Path, root: Path | None = None) -> list[Claim]:
    """Every claim of one file, validated; raises ClaimFileError naming file, claim, field."""
    data, node = _parse_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimFileError(path, "expected a mapping with a 'claims' list", field="claims")
    unknown = set(data) - {"claims", "defaults"}
    if unknown:
        raise ClaimFileError(path, f"unknown top-level keys {sorted(unknown)}", field=sorted(unknown)[0])
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ClaimFileError(path, "must be a mapping", field="defaults")
    out = []
    fast = schemas.fast_check("claim")
    lines = record_lines(node)
    for i, raw in enumerate(data["claims"]):
        if not isinstance(raw, dict):
            raise ClaimFileError(path, "each claim must be a mapping", record=f"#{i}")
        record = _merge(defaults, raw)
        label = record.get("id") if isinstance(record.get("id"), str) else f"#{i}"
        bad = _bad_number(record)
        if bad:
            raise ClaimFileError(path, bad[1], record=label, field=bad[0])
        _check_printed(record, path, label)
        errors = [] if fast(record) else sorted(schemas.validator("claim").iter_errors(record),
                                                key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
        if errors:
            import jsonschema

            err = jsonschema.exceptions.best_match(errors)
            raise ClaimFileError(path, _explain(err), record=label, field=schemas.field_path(err))
        _check_id(record["id"], path)
        claim = Claim(id=record["id"], record=record, path=str(path),
                      root=str(root if root is not None else Path(path).parent), line=lines.get(i, 0))
        _check_band(claim)
        _check_slice(claim)
        claim.run_spread  # noqa: B018 - resolve now, so a bad spread stops collection naming the field
        out.append(claim)
    return out


def record_lines(node) -> dict[int, int]:
    """Index in ``claims:`` -> 1-based line where that record starts (for pytest's locations),
    from the node graph ``read_yaml`` composed (the file is read and parsed once)."""
    for key, value in node.value if isinstance(node, yaml.MappingNode) else ():
        if getattr(key, "value", None) == "claims" and isinstance(value, yaml.SequenceNode):
            return {i: item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def _check_id(claim_id: str, path) -> None:
    """An id is one line of printable text (``p/x`` and ``p/x\\n`` must not coexist) whose verdict
    file name fits a file system: refused at load, before anything is measured."""
    bad = ID_FORBIDDEN.search(claim_id)
    if bad:
        raise ClaimFileError(path, f"contains the control character {bad.group()!r} at position {bad.start()}; "
                             "an id is one line of printable text", record=claim_id, field="id")
    size = len((sanitise(claim_id) + ".json").encode())
    if size > MAX_ARTIFACT_NAME:
        raise ClaimFileError(path, f"is {len(claim_id)} characters: its verdict file name would be {size} bytes, "
                             f"more than {MAX_ARTIFACT_NAME}; shorten it", record=claim_id[:60] + "...", field="id")


def _check_printed(record: dict, path, label: str) -> None:
    """A reported value is the printed string: a YAML number has already lost digits (89.30)."""
    value = (record.get("reported") or {}).get("value") if isinstance(record.get("reported"), dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ClaimFileError(path, f"write the value exactly as printed, in quotes (e.g. '{value}'): a YAML "
                             f"number loses printed digits such as a trailing zero, and the digits set the band",
                             record=label, field="reported.value")


def _check_band(claim: Claim) -> None:
    """Refuse a band too wide to judge anything (e.g. "0.893" read as percent, tolerance 1)."""
    from decimal import Decimal, InvalidOperation

    rep = claim.reported
    try:
        value = Decimal(rep["value"])
        tol = Decimal(str(claim.record["tolerance"]["value"]))
    except (InvalidOperation, ValueError):
        raise ClaimFileError(claim.path, "not a number", record=claim.id, field="tolerance.value") from None
    if not tol.is_finite():
        raise ClaimFileError(claim.path, f"{tol} is not a finite tolerance", record=claim.id, field="tolerance.value")
    exponent = value.as_tuple().exponent
    half = Decimal(5).scaleb(exponent - 1) if exponent <= 0 else Decimal(0)
    scale = EXACT_SCALES[rep["scale"]]
    width = 2 * (half + tol) * scale
    low, high = metrics.range_of(rep["metric"])
    span = Decimal(repr(high - low)) if high is not None else abs(value * scale)
    if claim.record["tolerance"].get("allow_wide_band"):
        return
    if span == 0 or width > MAX_BAND_SHARE * span:
        what = f"{rep['metric']}'s range [{low}, {high}]" if high is not None else "the reported value"
        raise ClaimFileError(
            claim.path, f"the band {rep['value']} ± ({half} + {tol}) {rep['scale']} is {width:g} wide, more than "
            f"{MAX_BAND_SHARE:%} of {what}: it would call any model reproduced. Check reported.scale "
            f"(a fraction such as 0.893 is not a percent) and the tolerance",
            record=claim.id, field="tolerance.value")


def _check_slice(claim: Claim) -> None:
    """A slice below its metric's smallest valid one (harness.metrics, ``min_slice``) or a cap
    below the slice (it would silently shrink it) is refused, naming the field."""
    from harness import kinds

    sl = claim.measure.get("slice") if isinstance(claim.measure, dict) else None
    kind = kinds.discover().get(claim.kind)
    if not isinstance(sl, dict) or kind is None or claim.metric not in kind.metrics:
        return
    size, grow = sl.get("size"), sl.get("grow")
    smallest = kind.metric(claim.metric).min_slice
    if isinstance(size, int) and size < smallest:
        raise ClaimFileError(claim.path, f"a slice of {size} is below the smallest one {claim.metric}'s interval is "
                             f"valid on ({smallest}); use at least {smallest}, or 'all'", record=claim.id,
                             field="measure.slice.size")
    cap = grow.get("max_pairs") if isinstance(grow, dict) else None
    if isinstance(size, int) and isinstance(cap, int) and cap < size:
        raise ClaimFileError(claim.path, f"max_pairs {cap} is below the slice size {size}: the slice would silently "
                             "shrink; raise max_pairs or lower the size", record=claim.id,
                             field="measure.slice.grow.max_pairs")


def _explain(error) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {error.validator_value}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        inner = min(error.context, key=lambda e: len(list(e.absolute_path)))
        return f"matches no allowed form ({inner.message})"
    return error.message


def claim_files(root: Path) -> list[Path]:
    """Claim files under root in a stable order (paper records excluded)."""
    def is_claims(p: Path) -> bool:
        return not set(NOT_CLAIMS) & set(p.relative_to(root).parts[:-1])

    files = [p for p in root.rglob("*.yaml") if is_claims(p)]
    files += [p for p in root.rglob("*.yml") if is_claims(p)]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_tree(root: Path) -> list[Claim]:
    """All claims under root, sorted by id; duplicate ids are an error naming both files."""
    seen: dict[str, Claim] = {}
    names: dict[str, Claim] = {}
    for path in claim_files(Path(root)):
        for claim in load_file(path, Path(root)):
            if claim.id in seen:
                raise ClaimFileError(
                    path, f"duplicate claim id (first defined in {seen[claim.id].path})",
                    record=claim.id, field="id",
                )
            other = names.get(claim.artifact_name.lower())   # lower: case-insensitive file systems
            if other is not None:
                raise ClaimFileError(
                    path, f"its artifact name {claim.artifact_name!r} collides with claim {other.id!r} "
                          f"({other.path}); rename one", record=claim.id, field="id")
            seen[claim.id] = claim
            names[claim.artifact_name.lower()] = claim
    return [seen[k] for k in sorted(seen)]
