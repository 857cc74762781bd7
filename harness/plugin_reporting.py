"""How a claims run reports through pytest, besides pass and fail.

Markers per claim (select with ``-m``), a claim case located at its record (file and line), the
verdict as JUnit XML properties, a live progress line during long inference, and the next steps
after the verdict table. Loaded by ``harness.plugin`` (its ``pytest_plugins``), which declares
the options (``harness.options``); shares its state through harness.plugin_state and imports
nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest

from harness.plugin_state import ARTIFACT_KEY, PROGRESS_KEY, SESSION_KEY, catalogue, mirror

FIXED_MARKERS = (
    "needs_gpu: claims impractical on a CPU (an xlarge/xxlarge checkpoint or more than 5,000 pairs)",
    "source_paper: claims cited from a paper's table",
    "source_model_card: claims cited from a model card",
    "paper_<arxiv id, dots as underscores>(): claims citing that paper, e.g. paper_1909_11942",
    "checkpoint_<org>_<name>(): claims measured on that checkpoint, e.g. checkpoint_textattack_albert_base_v2_mrpc",
)
# Validation split sizes, for needs_gpu when a claim measures the whole split: GLUE's by config,
# others by (repo, config). A whole split of a size not listed here counts as large: a claim is
# better marked needs_gpu wrongly (a CPU run deselects it) than run for hours on a CPU unmarked.
SPLIT_SIZES = {"mrpc": 408, "rte": 277, "sst2": 872, "cola": 1043, "wnli": 71, "stsb": 1500, "qnli": 5463,
               "mnli": 9815, "qqp": 40430}
OTHER_SPLIT_SIZES = {("rajpurkar/squad", "plain_text"): 10570, ("rajpurkar/squad_v2", "squad_v2"): 11873}
GPU_PAIRS = 5000


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    from harness import kinds

    for line in FIXED_MARKERS:
        config.addinivalue_line("markers", line)
    for kind in kinds.discover().values():
        config.addinivalue_line("markers", f"kind_{kind.name}: claims of kind {kind.name}: {kind.summary}")
    _register_catalogue_markers(config)
    config.stash[PROGRESS_KEY] = Progress(config)
    cs = config.stash.get(SESSION_KEY, None)
    value = config.getoption("claims_history")
    if cs is not None:
        cs.history_path = None if value == "off" else Path(value) if value else cs.reports_dir / "history.sqlite"


# ---------------------------------------------------------------------- markers
def _ident(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", str(text).lower())).strip("_")


def needs_gpu(claim) -> bool:
    from harness import kinds

    if not kinds.uses_model(claim.kind):
        return False
    m = claim.measure
    ckpt = claim.checkpoint_ref
    repo = (ckpt.repo if ckpt is not None else None) or ""
    if re.search(r"x+large", repo.lower()):
        return True
    size = claim.slice_plan.size if claim.slice_plan is not None else None
    pairs = _split_size(m["dataset"]) if size == "all" else size
    return isinstance(pairs, int) and pairs > GPU_PAIRS


def _split_size(ds: dict) -> int:
    repo, config = str(ds.get("repo", "")), ds.get("config")
    if repo.endswith("glue") and config in SPLIT_SIZES:
        return SPLIT_SIZES[config]
    return OTHER_SPLIT_SIZES.get((repo, config), GPU_PAIRS + 1)


def marker_names(claim) -> list[str]:
    """Markers of one claim: paper_*, source_*, kind_*, checkpoint_*, needs_gpu."""
    names = [f"source_{_ident(claim.cited.source or 'unknown')}", f"kind_{_ident(claim.kind)}"]
    if claim.cited.paper:
        names.append(f"paper_{_ident(claim.cited.paper)}")
    ckpt = claim.checkpoint_ref
    if ckpt is not None and ckpt.repo:
        names.append(f"checkpoint_{_ident(ckpt.repo)}")
    if needs_gpu(claim):
        names.append("needs_gpu")
    return names


def _register(config, names) -> None:
    known = {str(line).split(":")[0].split("(")[0] for line in config.getini("markers")}
    for name in names:
        if name not in known:
            config.addinivalue_line("markers", f"{name}: claims of the catalogue (added by the claims plugin)")
            known.add(name)


def _register_catalogue_markers(config) -> None:
    """So that ``pytest --markers`` lists this catalogue's paper_ and checkpoint_ markers too."""
    from harness.errors import RecordError

    root = config.getoption("claims_dir") or Path(str(config.rootpath)) / "claims"
    if not Path(root).is_dir():
        return
    try:
        claims = catalogue(config, root)
    except (RecordError, OSError):
        return   # the run itself reports a broken record
    _register(config, sorted({n for c in claims for n in marker_names(c)}))


def _claim(item):
    from harness.claims.records import Claim

    spec = getattr(item, "callspec", None)
    claim = spec.params.get("claim") if spec is not None else None
    return claim if isinstance(claim, Claim) else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Before -m deselects: every claim's markers (on the checkpoint it runs on) and location."""
    for item in items:
        claim = _claim(item)
        if claim is None:
            continue
        point_at_record(item, claim)
        names = marker_names(claim)
        _register(config, names)
        for name in names:
            item.add_marker(name)


# ---------------------------------------------------------------------- locations
def record_location(claim) -> tuple[str, int] | None:
    """(YAML file, 1-based line) of a claim's record, or None when unknown."""
    return (claim.path, claim.line) if claim.path and claim.line else None


def point_at_record(item, claim) -> None:
    """pytest's location of a claim case is its record (file and line), not the plugin's source:
    ``-rs`` lists a skip there, ``-vv`` shows it, and a failure names it."""
    where = record_location(claim)
    if where is None:
        return
    path, line = Path(where[0]), where[1]
    domain = item.location[2]
    item.reportinfo = lambda: (path, line - 1, domain)
    try:
        rel = os.path.relpath(path, item.config.rootpath)
    except ValueError:          # another drive (Windows)
        rel = str(path)
    item.__dict__["location"] = (rel.replace(os.sep, "/"), line - 1, domain)   # Item.location is a cached property


def _at_record(item, report) -> None:
    """A skip's location, and a section under a failure, name the claim's record."""
    claim = _claim(item)
    where = record_location(claim) if claim is not None else None
    if where is None:
        return
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        report.longrepr = (str(where[0]), where[1], report.longrepr[2])
    elif report.failed:
        report.sections.append(("claim record", f"{where[0]}:{where[1]}"))


# ---------------------------------------------------------------------- JUnit properties
def junit_properties(artifact: dict, artifact_path: str | None) -> list[tuple[str, str]]:
    """The verdict as (name, value) pairs, values in the paper's printed units."""
    from harness.report import summary

    r = summary.row(artifact, artifact_path)
    props = [("claim_id", r["claim"]), ("claim_status", r["status"]),
             ("claim_measured", summary.show(r, r["measured"])),
             ("claim_interval", summary.interval_text(r["interval"], r["scale"], r["decimals"])),
             ("claim_band", summary.interval_text(r["band"], r["scale"], r["decimals"])),
             ("claim_reported", summary.printed(r)),
             ("claim_confidence", "-" if r["confidence"] is None else f"{r['confidence']:.4f}"),
             ("claim_artifact", artifact_path or "-")]
    if r.get("expect"):
        props.append(("claim_expected", str(r["expect"])))
    if r.get("post") and r["post"] != r["status"]:
        props.append(("claim_post", str(r["post"])))
    return props


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On the item, so that junitxml (which reads the teardown report) writes them."""
    outcome = yield
    if call.when != "call":
        return
    _at_record(item, outcome.get_result())
    artifact = item.stash.get(ARTIFACT_KEY, None)
    if artifact is None:
        return
    from harness.claims.records import artifact_name

    cs = item.config.stash.get(SESSION_KEY, None)
    claim_id = artifact.get("claim_id")
    path = str(cs.verdicts_dir / artifact_name(claim_id)) if cs is not None and isinstance(claim_id, str) else None
    try:
        props = junit_properties(artifact, path)
    except Exception as exc:  # noqa: BLE001 - a property is a convenience; the verdict still counts
        props = [("claim_properties_error", f"{type(exc).__name__}: {exc}")]
    item.user_properties.extend(props)


# ---------------------------------------------------------------------- next steps
@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After the verdict table: where the report is and what would unblock blocked claims; when
    nothing was collected from a folder of claim files (``pytest claims/mine``), why and how."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        from harness.claims.folders import collection_hints

        for line in collection_hints(list(config.args)):
            terminalreporter.write_line(line, yellow=True)

    cs = config.stash.get(SESSION_KEY, None)
    if cs is None or not cs.writer or not cs.artifacts:
        return
    from harness.report import next_steps

    found = next_steps.lines(cs.artifacts, reports_dir=cs.reports_dir, mirror=mirror(config), claims_dirs=cs.roots)
    if found:
        terminalreporter.write_sep("=", "next steps")
        for line in found:
            terminalreporter.write_line(line)


# ---------------------------------------------------------------------- progress
class Progress:
    """Callback for harness.measure.inference.run: one live line per claim, at most once a second
    (the pipeline gets it with the run's settings, harness.plugin.claims_pipeline)."""

    def __init__(self, config):
        self.config = config
        self.label = ""
        self._last = 0.0
        self.start(label="")

    def start(self, label: str) -> None:
        """A new claim: no look yet."""
        self.label = label
        self._last = 0.0
        self.looks = 0
        self.before = 0          # rows of the slice measured by earlier looks
        self.target = None       # this look's slice size
        self.population = None   # the split's size

    def look(self, before: int, n: int, population: int) -> None:
        """The next inference measures rows ``before``..``n`` of a slice growing towards ``population``."""
        self.looks += 1
        self.before, self.target, self.population = before, n, population
        self._last = 0.0

    def text(self, done: int, total: int, seconds: float) -> str:
        """'label: 100/100 pairs of 408 (look 2), 12.3 pairs/s': the slice, not the look's new rows."""
        rate = done / seconds if seconds > 0 else 0.0
        if self.target is None:
            return f"  {self.label}: {done}/{total} pairs, {rate:.1f} pairs/s"
        of = f" of {self.population}" if self.population and self.population > self.target else ""
        look = f" (look {self.looks})" if self.looks > 1 else ""
        return f"  {self.label}: {self.before + done}/{self.target} pairs{of}{look}, {rate:.1f} pairs/s"

    @property
    def reporter(self):
        if hasattr(self.config, "workerinput"):
            return None   # xdist workers have no terminal; the controller shows pytest's own lines
        mode = self.config.getoption("claims_progress")
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if mode == "off" or tr is None:
            return None
        if mode == "on" or self.config.option.verbose > 0 or getattr(tr, "isatty", False):
            return tr
        return None

    def __call__(self, done: int, total: int, seconds: float) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 1.0:
            return
        self._last = now
        tr = self.reporter
        if tr is None:
            return
        line = self.text(done, total, seconds)
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        # pytest captures the test's output (fd 1 included); its live logging writes the same way
        with capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext():
            self._write(tr, line, final=done >= total)

    @staticmethod
    def _write(tr, line: str, *, final: bool) -> None:
        if getattr(tr, "isatty", False):
            tr.ensure_newline()
            tr.rewrite(line)
            if not final:
                return
            tr.write("\n")
        else:
            tr.ensure_newline()
            tr.write_line(line)
        tr.currentfspath = None   # pytest writes the test's location again before its outcome


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    claim = _claim(item)
    progress = item.config.stash.get(PROGRESS_KEY, None)
    if claim is not None and progress is not None:
        progress.start(claim.id)
