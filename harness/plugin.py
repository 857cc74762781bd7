"""pytest plugin: claim records become parametrized cases; verdicts become artifacts.

Thin on purpose (hooks and options); run-wide state lives in ``ClaimsSession`` and the
per-claim pipeline in ``harness.run``. Importing this module imports neither torch nor
transformers: they load when the first claim that needs them runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from harness import options
from harness.errors import HarnessError, RecordError
from harness.plugin_state import ARTIFACT_KEY, PROGRESS_KEY, SESSION_KEY, catalogue, expand_claims, run_checkpoints
from harness.plugin_state import download_allowed as _download_allowed
from harness.plugin_state import mirror as _mirror
from harness.session import ClaimsSession
from harness.statuses import BLOCKED, ERROR, INCONCLUSIVE, REPRODUCED

SWITCH_KEY = pytest.StashKey[object]()
EMPTY_KEY = pytest.StashKey[str]()
STOP_KEY = pytest.StashKey[str]()
SHARD_LINE_KEY = pytest.StashKey[str]()
PROPERTY = "claims_artifact"


# ---------------------------------------------------------------------- hooks and plugins
def pytest_addhooks(pluginmanager):
    """The harness's own hooks (harness.hookspecs), the plugins installed for it (entry-point group
    ``claims_harness.plugins``), and their metrics and kinds registered before any claim is read."""
    from harness import extensions, hookspecs

    pluginmanager.add_hookspecs(hookspecs)
    try:
        extensions.register_plugins(pluginmanager)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    pluginmanager.hook.pytest_claims_register.call_historic(kwargs={"registry": extensions.Registrations()})


# ---------------------------------------------------------------------- options
def pytest_addoption(parser):
    """Every --claims-* option, from the one table the command line shares (harness.options), and
    the run-wide ones as ini settings too (``claims_mirror = DIR``: flag > env > ini > default)."""
    group = parser.getgroup("claims", "paper claims")
    for option in options.PLUGIN:
        group.addoption(f"--claims-{option.name}", **options.plugin_kwargs(option))
        how = options.INI.get(option.name)
        if how is not None:
            env = options.ENV.get(option.name)
            parser.addini(options.ini_name(option), f"as --claims-{option.name}"
                          + (f" (after ${env})" if env else "") + (" (relative to the ini file)" if how == "path" else ""),
                          type="bool" if how == "bool" else "string", default=False if how == "bool" else "")


_SETTLED = pytest.StashKey[bool]()


def _settle(config) -> None:
    """Options not given as flags take the environment's, the ini file's or their default (once)."""
    if config.stash.get(_SETTLED, False):
        return
    inidir = Path(str(config.inipath)).parent if config.inipath else None
    try:
        options.settle(config.option, config.getini, os.environ, inidir)
    except ValueError as exc:
        raise pytest.UsageError(f"{exc} (in {config.inipath})") from None
    config.stash[_SETTLED] = True


# ---------------------------------------------------------------------- xdist placement
def _visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d for d in env.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """As many workers as the work has checkpoints to run, up to what the machine holds.

    Capacity: one worker per visible GPU; on CPU, what cores and memory allow (3 GiB each). A
    claims run with at most one checkpoint to run gets no workers at all (0: in-process, like
    -n 0), since each worker pays the torch imports again; other runs get the capacity.
    """
    gpus = _visible_gpus()
    if gpus:
        capacity = len(gpus)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        try:
            mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        except (ValueError, OSError, AttributeError):
            mem_gib = 3.0 * cores
        capacity = max(1, min(cores, int(mem_gib // 3)))
    from harness import workload

    roots = workload.claim_roots(list(config.args), config.getoption("claims_dir"))
    if not roots:
        return capacity
    moved = run_checkpoints(config)     # --claims-checkpoint: the model claims run on these instead
    try:
        groups = (sum(workload.likely_available(repo, _mirror(config), _download_allowed(config)) for repo, _ in moved)
                  if moved else workload.model_groups(roots, _mirror(config), _download_allowed(config),
                                                  load=lambda root: catalogue(config, root)))
    except RecordError:
        return 0          # collection reports the bad record; no workers needed to say so
    return min(capacity, groups) if groups > 1 else 0


def _pin_worker(config) -> None:
    """Before torch is imported in a worker: its own GPU, or its share of the CPU threads."""
    info = getattr(config, "workerinput", None)
    if not info:
        return
    index = int(str(info.get("workerid", "gw0"))[2:] or 0)
    count = int(info.get("workercount", 1))
    gpus = _visible_gpus()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    else:
        cores = os.cpu_count() or 1
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // max(1, count))))


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config):
    """`-n N` without a --dist choice means loadgroup: one checkpoint stays on one worker.

    A wrapper, so it runs before xdist's own (tryfirst) hook turns "no" into "load"."""
    _check_rootdir(config)
    _settle(config)
    opt = config.option
    if getattr(opt, "numprocesses", None) and getattr(opt, "dist", "no") == "no":
        opt.dist = "loadgroup"
    return (yield)


def _check_rootdir(config) -> None:
    """Refuse a run whose rootdir or ini file pytest chose from one of our option values.

    In ``pytest --benchmark-only --claims-mirror ../shared/mirror`` pytest takes the mirror for
    a test path before it knows our options: it may then read no ini file (testpaths, addopts
    and markers ignored) and root the run, and its default reports folder, above the project."""
    pairs = options.two_token_values(config.invocation_params.args)
    if not pairs or hasattr(config, "workerinput"):
        return
    try:   # pytest's own choice, made again from the real test paths (a private function: checked, not relied on)
        from _pytest.config.findpaths import determine_setup

        rootpath, inipath, *_ = determine_setup(
            inifile=config.option.inifilename, override_ini=config.option.override_ini,
            args=[str(a) for a in config.option.file_or_dir or []], rootdir_cmd_arg=config.option.rootdir or None,
            invocation_dir=config.invocation_params.dir)
    except Exception:  # noqa: BLE001 - another pytest: no check rather than a wrong one
        return
    if (Path(rootpath), inipath) == (Path(config.rootpath), config.inipath):
        return
    flag, value = pairs[0]
    raise pytest.UsageError(
        f"pytest took {value!r}, the value of {flag}, for a test path when it chose its rootdir and ini file "
        f"(it chose {config.rootpath} and {config.inipath or 'no ini file'}, not {rootpath} and "
        f"{inipath or 'no ini file'}), so the project's pytest settings would be ignored. "
        f"Write {flag}={value} (one token), or name the tests to run first (pytest claims/ ...).")


def pytest_configure(config):
    """No files and no environment changes here: a run may collect no claim at all."""
    from harness import extensions
    from harness.measure import offline

    config.addinivalue_line("markers", "xdist_group(name): claims that share a checkpoint run on one worker")
    _settle(config)
    _pin_worker(config)
    reports = config.getoption("claims_reports") or (Path(str(config.rootpath)) / "reports")
    writer = not hasattr(config, "workerinput")
    session = ClaimsSession(Path(reports), writer=writer)
    session.machine_facts = lambda: extensions.machine_facts(config.hook)
    config.stash[SESSION_KEY] = session
    config.stash[SWITCH_KEY] = offline.Switch(_download_allowed(config))
    if writer:
        config.pluginmanager.register(_Writer(session, config), "claims-writer")
        _sigterm_as_interrupt(config)


def _sigterm_as_interrupt(config) -> None:
    """SIGTERM (a CI job cancelled, a machine going down) ends the run as Ctrl-C does: pytest
    stops, and the summary, run record and report are written, marked interrupted. Only where
    nobody else handles SIGTERM, and only for this run (harness.plugin._Sigterm)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    handler = _Sigterm()
    signal.signal(signal.SIGTERM, handler.interrupt)
    config.pluginmanager.register(handler, "claims-sigterm")
    config.add_cleanup(handler.restore)


class _Sigterm:
    """SIGTERM as KeyboardInterrupt. An exception raised by a signal handler is lost when it lands
    in a weakref callback or a ``__del__`` (Python prints it as unraisable), so while a test is
    still running after the interrupt (its setup included: a claim is measured by its fixture)
    the signal is sent again each second (the time limit re-arms its alarm for the same reason);
    once the test is left, pytest has it."""

    def __init__(self):
        import threading

        self.in_call = False
        self.stopping = False
        self.restored = False
        self.lock = threading.Lock()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.in_call = True
        try:
            return (yield)
        finally:
            self.in_call = False

    def interrupt(self, signum, frame):
        if self.stopping and not self.in_call:
            return   # pytest is stopping: let it write the summary and the report
        self.stopping = True
        if self.in_call:
            import threading

            timer = threading.Timer(1.0, self.again)
            timer.daemon = True
            timer.start()
        raise KeyboardInterrupt("SIGTERM: the run was asked to stop")

    def again(self) -> None:
        import signal

        with self.lock:   # never after restore(): SIGTERM's default would kill the process mid-report
            if self.in_call and not self.restored:
                os.kill(os.getpid(), signal.SIGTERM)

    def restore(self) -> None:
        import signal

        with self.lock:
            self.restored = True
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_claim_run(config) -> None:
    """The run has claims: offline flags on, the reports folder locked, no stale gate.json."""
    switch = config.stash[SWITCH_KEY]
    if switch.on:
        return
    env_mirror = os.environ.get("CLAIMS_MIRROR")
    if not config.getoption("claims_mirror") and env_mirror and not Path(env_mirror).expanduser().is_dir():
        raise pytest.UsageError(f"CLAIMS_MIRROR={env_mirror}: no such folder")
    switch.apply()
    cs = config.stash[SESSION_KEY]
    if cs.writer:
        try:
            cs.begin(list(config.invocation_params.args))
        except HarnessError as exc:
            switch.restore()
            raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Tests that are not claims run with the environment as it was before the claims run."""
    switch = item.config.stash.get(SWITCH_KEY, None)
    if switch is None or not switch.on or _claim_of(item) is not None:
        return (yield)
    switch.restore()
    try:
        return (yield)
    finally:
        switch.apply()


def pytest_unconfigure(config):
    switch = config.stash.get(SWITCH_KEY, None)
    if switch is not None and switch.on:
        switch.restore()
    cs = config.stash.get(SESSION_KEY, None)
    if cs is not None:
        cs.end()


# ---------------------------------------------------------------------- collection
def _claims_root(metafunc) -> Path:
    opt = metafunc.config.getoption("claims_dir")
    return Path(opt).resolve() if opt else Path(str(metafunc.definition.path)).parent


def pytest_generate_tests(metafunc):
    if "claim" not in metafunc.fixturenames:
        return
    from harness.claims.papers import load_papers

    root = _claims_root(metafunc)
    try:
        claims = catalogue(metafunc.config, root)
        load_papers(root)   # a malformed paper record stops the run here, even one no claim cites
        claims = expand_claims(metafunc.config, claims)   # --claims-checkpoint: on other checkpoints
        problem = None
    except RecordError as exc:
        problem = f"claim records: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    if not claims:
        metafunc.config.stash[EMPTY_KEY] = f"no claim records under {root}"
    metafunc.parametrize("claim", [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.group))
                                   for c in claims])


def pytest_collection_modifyitems(config, items):
    """Drop the empty placeholder a claims folder without records leaves; shard; start the run."""
    empty = [it for it in items if "claim" in getattr(it, "fixturenames", ()) and _claim_of(it) is None]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [it for it in items if it not in empty]
    value = config.getoption("claims_shard")   # (I, N), checked when parsed
    if value:
        from harness import workload

        i, n = value
        claims = {c.id: c for c in (_claim_of(it) for it in items) if c is not None}.values()
        costs_from = config.getoption("claims_shard_costs")
        problems: list[str] = []
        try:
            measured = workload.measured_costs(Path(costs_from), problems) if costs_from else None
        except HarnessError as exc:
            raise pytest.UsageError(f"--claims-shard-costs: {exc}") from None
        for problem in problems:   # the same folder on every machine gives every shard the same plan
            warnings.warn(pytest.PytestWarning(f"--claims-shard-costs: {problem}"))
        owner, loads = workload.plan_shards(claims, n, _mirror(config), _download_allowed(config), measured)
        config.stash[SHARD_LINE_KEY] = workload.shard_line(i, n, loads, sum(s == i for s in owner.values()),
                                                           bool(measured))
        config.stash[SESSION_KEY].shard = {"index": i, "count": n, "plan": dict(sorted(owner.items())),
                                           "costs": str(costs_from) if measured else "estimates"}
        keep, drop = [], []
        for it in items:
            claim = _claim_of(it)
            (keep if claim is None or owner[claim.id] == i else drop).append(it)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    claims = [c for c in map(_claim_of, items) if c is not None]
    if claims and not config.option.collectonly:   # --collect-only runs nothing and writes nothing
        cs = config.stash[SESSION_KEY]
        cs.expected = {c.id for c in claims}
        cs.roots = {c.root for c in claims}
        _start_claim_run(config)


def pytest_deselected(items):
    """Claims left out on purpose (-k, -m, a conftest): the run record lists them, so the gate
    tells them from claims that ran in no shard. The shard's own deselection is not on purpose."""
    for item in items:
        claim = _claim_of(item)
        cs = item.config.stash.get(SESSION_KEY, None) if claim is not None else None
        if cs is None:
            continue
        if cs.shard and cs.shard["plan"].get(claim.id, cs.shard["index"]) != cs.shard["index"]:
            continue
        cs.deselected.add(claim.id)


def pytest_report_collectionfinish(config):
    """With --claims-shard: this shard's share, every shard's seconds and their imbalance."""
    line = config.stash.get(SHARD_LINE_KEY, None)
    return [line] if line else []


def _claim_of(item):
    from harness.claims.records import Claim

    spec = getattr(item, "callspec", None)
    claim = spec.params.get("claim") if spec is not None else None
    return claim if isinstance(claim, Claim) else None


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def claims_pipeline(request):
    """Per process: paper records, device, loaded checkpoints and datasets, kept between claims."""
    from harness.run import Pipeline, RunSettings

    cfg = request.config
    return Pipeline(RunSettings(
        mirror=_mirror(cfg), allow_download=_download_allowed(cfg), device=cfg.getoption("claims_device"),
        dtype=cfg.getoption("claims_dtype"), batch_size=cfg.getoption("claims_batch_size"),
        resamples=cfg.getoption("claims_resamples"), cache_dir=_cache_dir(cfg),
        checkpoints=tuple(run_checkpoints(cfg)), progress=cfg.stash.get(PROGRESS_KEY, None)))


def _cache_dir(cfg) -> Path | None:
    if cfg.getoption("claims_no_cache"):
        return None
    from harness.measure.cache import default_dir

    value = cfg.getoption("claims_cache")
    return Path(value).expanduser() if value else default_dir()


@pytest.fixture
def claim_verdict(request, claim, claims_pipeline):
    """The claim's artifact, computed here and sent to the writer with the test report."""
    from harness.run import error_artifact
    from harness.timelimit import ClaimTimeout, time_limit

    limit = request.config.getoption("claims_timeout")
    moved_to = claims_pipeline.settings.checkpoints
    try:
        with time_limit(limit):
            artifact = claims_pipeline.evaluate(claim)
    except ClaimTimeout as exc:
        artifact = error_artifact(claim, str(exc), checkpoints=moved_to)
    except HarnessError as exc:
        artifact = error_artifact(claim, f"{type(exc).__name__}: {exc}", checkpoints=moved_to)
    extend(request.config.hook, artifact, claim)                     # validated when written
    request.node.stash[ARTIFACT_KEY] = artifact
    return artifact


def extend(hook, artifact: dict, claim) -> None:
    """Let plugins adjust the artifact (``pytest_claims_artifact``); its identity is not theirs to
    change. ``claim_id`` names the verdict file: a hook that changed it would write the verdict
    under another claim's name (overwriting that claim's) and leave this claim with none, so the
    artifact becomes this claim's ``error`` verdict naming the hook's change."""
    hook.pytest_claims_artifact(artifact=artifact, claim=claim)
    if artifact.get("claim_id") != claim.id:
        from harness.run import error_artifact

        changed = artifact.get("claim_id")
        replacement = error_artifact(claim, f"a pytest_claims_artifact hook changed claim_id to {changed!r}; "
                                            "a hook may add to the artifact but not change whose verdict it is")
        artifact.clear()
        artifact.update(replacement)


# ---------------------------------------------------------------------- outcomes
# Markers, record locations, JUnit properties, progress and next steps live in their own plugin module.
pytest_plugins = ("harness.plugin_reporting", "harness.plugin_xdist")


def enforce(artifact: dict) -> None:
    """The pytest outcome that the verdict calls for (README: outcomes); figures in printed units.

    Decided from the verdict itself (its status and the claim's ``expect``), after the artifact
    is final: one that cannot be written as it is (not serialisable, breaks the schema) becomes
    the ``error`` artifact first, in place, so the outcome is the verdict written to disk.

    - ``error`` fails, always;
    - ``reproduced`` passes;
    - a declared outcome (``expect: X``) that held is an xfail naming X and the reason; one that
      changed fails as pytest's strict xpass does;
    - ``blocked`` and ``inconclusive`` skip; ``not_reproduced`` and ``miscited`` fail."""
    finalise(artifact)
    kind, message = verdict_outcome(artifact)
    if kind == "fail":
        pytest.fail(message, pytrace=False)
    if kind == "xfail":
        pytest.xfail(message)
    if kind == "skip":
        pytest.skip(message)


def verdict_outcome(artifact: dict) -> tuple[str, str]:
    """("pass", "fail", "xfail" or "skip", the message): the outcome ``enforce`` gives this verdict."""
    verdict = artifact.get("verdict") if isinstance(artifact.get("verdict"), dict) else {}
    status, reason = str(verdict.get("status", "?")), str(verdict.get("reason", ""))
    expect = (artifact.get("claim") or {}).get("expect")
    if status == ERROR:
        return "fail", (f"{ERROR}: {_numbers(artifact)}{reason}" + _traceback(artifact)
                        + (f"\n(the claim declares expect: {expect}; an error is never an expected outcome)"
                           if expect else ""))
    if expect and expect != REPRODUCED:
        if status == expect:
            return "xfail", f"{status} (expected): {_numbers(artifact)}{reason}"
        return "fail", f"[XPASS(strict)] expected {expect}, got {status}: {_numbers(artifact)}{reason}"
    if expect and status != expect:   # expect: reproduced, and it was not
        return "fail", f"expected {expect}, got {status}: {_numbers(artifact)}{reason}"
    if status == REPRODUCED:
        return "pass", ""
    if status == BLOCKED:
        return "skip", f"{BLOCKED}: {reason}"
    if status == INCONCLUSIVE:
        needed = (artifact.get("statistics") or {}).get("slice_size_needed")
        return "skip", (f"{INCONCLUSIVE}: {_numbers(artifact)}slice size that would decide: "
                        f"{needed if needed is not None else 'none within reach'}; {reason}")
    return "fail", f"{status}: {_numbers(artifact)}{reason}" + _traceback(artifact)


def finalise(artifact: dict) -> str:
    """The artifact as it will be written, checked once more after every edit: JSON text for the
    writer. One that is not serialisable (a NaN slipped in) or breaks the verdict schema is
    replaced, in place, by the claim's ``error`` artifact naming why, so the verdict on disk, the
    pytest outcome and the report all say ``error``."""
    from harness.errors import ArtifactError
    from harness.report.artifacts import validate

    try:
        payload = json.dumps(artifact, allow_nan=False)
        validate(artifact)
        return payload
    except (ValueError, TypeError, ArtifactError) as exc:
        why = f"artifact not serialisable: {exc}" if not isinstance(exc, ArtifactError) else f"artifact invalid: {exc}"
    from harness.claims.records import Claim
    from harness.run import error_artifact

    claim = Claim(id=artifact["claim_id"], record=artifact["claim"])
    replacement = error_artifact(claim, why)
    artifact.clear()
    artifact.update(replacement)
    return json.dumps(artifact, allow_nan=False)


def _traceback(artifact: dict) -> str:
    """An error verdict's traceback (a bug's, kept by the pipeline) for the failure report."""
    post = (artifact.get("verdicts") or {}).get("post") or {}
    tb = post.get("traceback") if isinstance(post, dict) else None
    return f"\n\ntraceback of the error (kept in the verdict artifact):\n{tb}" if isinstance(tb, str) and tb else ""


def _numbers(artifact: dict) -> str:
    from harness.report.summary import numbers_text, row

    text = numbers_text(row(artifact, None))
    return f"{text}; " if text else ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The artifact travels with the call report; the report's outcome is the final verdict's.

    A test body that did not call ``enforce`` (or an artifact edited after it) is checked here:
    an artifact that had to become an ``error`` one, or an ``error`` verdict reported as a
    pass, fails the report before pytest, JUnit or the terminal see it; any other verdict
    reported as a pass takes the outcome ``enforce`` would have given it (a not_reproduced
    claim never passes because its test body forgot to enforce it)."""
    outcome = yield
    report = outcome.get_result()
    artifact = item.stash.get(ARTIFACT_KEY, None)
    if artifact is None or report.when != "call":
        return
    try:
        payload = finalise(artifact)
    except Exception as exc:  # noqa: BLE001 - a claim record unfit even for an error artifact
        fail_report(report, f"no verdict could be built: {type(exc).__name__}: {exc}")
        return
    status = (artifact.get("verdict") or {}).get("status")
    if status == ERROR and not report.failed:
        fail_report(report, f"{ERROR}: {(artifact.get('verdict') or {}).get('reason', '')}")
    elif report.passed:
        _as_enforced(item, report, artifact)
    report.user_properties.append((PROPERTY, payload))


def _as_enforced(item, report, artifact: dict) -> None:
    """A passed report of a verdict that ``enforce`` would not pass gets that outcome instead."""
    kind, message = verdict_outcome(artifact)
    note = "\n(the test passed without enforce(claim_verdict); a claim's outcome is its verdict's)"
    if kind == "fail":
        fail_report(report, message + note)
    elif kind == "xfail":
        report.outcome, report.wasxfail = "skipped", message
    elif kind == "skip":
        path, line, _ = item.reportinfo()
        report.outcome, report.longrepr = "skipped", (str(path), (line or 0) + 1, f"Skipped: {message}")


def fail_report(report, message: str) -> None:
    """Turn a report into a failure (terminal, JUnit and exit code then agree with the verdict)."""
    report.outcome = "failed"
    report.longrepr = message
    if hasattr(report, "wasxfail"):
        del report.wasxfail


class _Writer:
    """Registered only where files are written (xdist controller or a plain run).

    A claim whose case died before it produced an artifact (a crashed worker, a fixture
    that raised) still gets one: an ``error`` verdict naming the cause.
    """

    def __init__(self, session: ClaimsSession, config):
        self.session = session
        self.config = config
        self.pytest_session = None

    def pytest_sessionstart(self, session):
        self.pytest_session = session

    def pytest_collectreport(self, report):
        if report.failed:
            self.session.collect_failed = True

    def pytest_keyboard_interrupt(self, excinfo):
        self.session.interrupted = str(excinfo.value) or excinfo.typename or "interrupted"
        if self.session.interrupted == "KeyboardInterrupt":
            self.session.interrupted = "KeyboardInterrupt (Ctrl-C)"

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """What a worker knew of the run (its shard plan, claims deselected on purpose)."""
        info = (getattr(node, "workeroutput", None) or {}).get("claims_run") or {}
        if info.get("shard") and not self.session.shard:
            self.session.shard = info["shard"]
        self.session.deselected.update(info.get("deselected") or [])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.session.collected.update(i for i in map(_param_id, ids) if i)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report):
        """First of all hooks: a verdict that could not be written fails its report before the
        terminal, JUnit and the exit code read it (a verdict not on disk is not a pass)."""
        for name, value in report.user_properties:
            if name == PROPERTY and report.when == "call":
                claim_id = self._record(value)
                why = self.session.write_errors.get(claim_id) if claim_id else None
                if why and not report.failed:
                    fail_report(report, f"verdict not written: {why}")
                return
        if not report.failed:
            return
        claim_id = _param_id(report.nodeid)
        if claim_id and claim_id in self.session.rows:
            return   # the claim has its verdict; the gate judges it
        if not (claim_id and report.when in ("setup", "call", "???") and self._record_failure(report, claim_id)):
            self.session.other_failures += 1   # not a claim: the gate must not turn it into a pass

    def _record_failure(self, report, claim_id: str) -> bool:
        from harness.run import error_artifact

        opt = self.config.getoption("claims_dir")
        root = Path(opt) if opt else (Path(str(self.config.rootpath)) / report.nodeid.split("::")[0]).parent
        try:
            claim = next(c for c in expand_claims(self.config, catalogue(self.config, root)) if c.id == claim_id)
        except (StopIteration, RecordError, OSError):
            return False
        where = {"???": "the worker running it crashed", "setup": "its setup failed"}.get(report.when, "it failed")
        artifact = error_artifact(claim, f"no verdict: {where}: {failure_cause(report)}",
                                  checkpoints=run_checkpoints(self.config))
        keep_traceback(artifact, str(report.longrepr).strip())
        self._record(json.dumps(artifact))
        return True

    def _record(self, payload: str) -> str | None:
        """Under xdist the controller collects nothing: the first verdict starts the claim run.
        Returns the claim id recorded."""
        if not self.session.started_run:
            try:
                _start_claim_run(self.config)
            except pytest.UsageError as exc:
                self.session.write_errors["*"] = str(exc)
                self.config.stash[STOP_KEY] = str(exc)
                if self.pytest_session is not None:
                    self.pytest_session.shouldstop = str(exc)
                return None
        return self.session.record(payload)


def failure_cause(report) -> str:
    """What went wrong, in one message: the exception and its text (pytest's crash line), not the
    last line of the traceback, which names only a file, a line and the exception's type."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message).strip()
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "unknown failure"


def keep_traceback(artifact: dict, text: str) -> None:
    """The full traceback kept in the artifact's POST verdict (and so in the top verdict where that
    is the POST one), as the pipeline keeps one for an unexpected exception."""
    post = (artifact.get("verdicts") or {}).get("post")
    if text and isinstance(post, dict):
        post["traceback"] = text


def _param_id(nodeid: str) -> str | None:
    """'claims/test_claims.py::test_claim[a/b/c]' -> 'a/b/c'; under xdist's loadgroup the node id
    carries the group after the bracket ('...[a/b/c]@org/model@rev'), which is dropped."""
    if "::" not in nodeid or "[" not in nodeid or "]" not in nodeid:
        return None
    return nodeid[nodeid.index("[") + 1:nodeid.rindex("]")]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Write summary, gate and report, but only in a run that had claims: others get no files."""
    _quiet_unused_hypothesis(session.config)
    cs = session.config.stash.get(SESSION_KEY, None)
    output = getattr(session.config, "workeroutput", None)
    if output is not None and cs is not None:   # an xdist worker: its shard plan and deselections, to the controller
        output["claims_run"] = {"shard": cs.shard, "deselected": sorted(cs.deselected)}
    if cs is not None and cs.collect_failed and session.exitstatus == pytest.ExitCode.TESTS_FAILED:
        session.exitstatus = pytest.ExitCode.INTERRUPTED   # as without xdist: collection stopped the run
    if cs is None or not cs.writer or not cs.started_run:
        return
    cfg = session.config
    if cfg.stash.get(STOP_KEY, None):
        session.exitstatus = pytest.ExitCode.USAGE_ERROR   # wrote nothing: the folder belongs to another run
        return
    cs.finish(list(cfg.invocation_params.args))
    if cs.write_errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED   # a verdict that is not on disk is not a pass
    if cfg.getoption("claims_gate") or cfg.getoption("claims_baseline"):
        catalogue = _catalogue(cfg, cs)
        expected = cs.expected or ({i for i in cs.collected if i in catalogue} if catalogue else None)
        code = cs.gate(baseline=cfg.getoption("claims_baseline"), strict_blocked=cfg.getoption("claims_strict_blocked"),
                       fdr=cfg.getoption("claims_fdr"), catalogue=catalogue, expected=expected or None,
                       missing=_unplanned(cs, catalogue))
        if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = code
            if code == 0 and cs.other_failures:   # a failing test that is not a claim still fails the run
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    cs.render()


def _unplanned(cs, catalogue: set[str] | None) -> dict[str, str]:
    """A sharded run: catalogue claims in no shard's plan (and not left out on purpose) fail."""
    if not cs.shard or not catalogue:
        return {}
    plan = cs.shard.get("plan") or {}
    return {cid: "in the catalogue but in no shard's plan" for cid in sorted(catalogue - set(plan) - cs.deselected)}


HYPOTHESIS_REPORT_KEYS = ("_hypothesis_stats", "_hypothesis_failing_examples")


def _quiet_unused_hypothesis(config) -> None:
    """Spare a run that never used hypothesis the second its pytest plugin spends importing it.

    Where hypothesis is installed, its plugin's terminal summary imports hypothesis whatever the
    run did (to read a list of observation files only hypothesis itself can have written; the
    plugin meant to stay import-free, HypothesisWorks/hypothesis#3140). When nothing in this
    process imported hypothesis and no report carries its statistics or failing examples, that
    summary has nothing to print, so the plugin is unregistered before it runs (the terminal
    summary comes after every pytest_sessionfinish). Runs that use hypothesis are untouched."""
    if "hypothesis" in sys.modules:
        return
    manager = config.pluginmanager
    plugin = manager.get_plugin("hypothesispytest")
    if plugin is None:
        return
    reporter = manager.get_plugin("terminalreporter")
    reports = (r for group in (getattr(reporter, "stats", None) or {}).values() for r in group)
    if any(key in getattr(r, "__dict__", {}) for r in reports for key in HYPOTHESIS_REPORT_KEYS):
        return
    manager.unregister(plugin)


def _catalogue(cfg, cs) -> set[str] | None:
    """Every claim id of the catalogue the run used (None if it cannot be read: nothing is excused)."""
    roots = cs.roots or {cfg.getoption("claims_dir") or str(Path(str(cfg.rootpath)) / "claims")}
    try:
        return {c.id for root in roots if Path(root).is_dir()
                for c in expand_claims(cfg, catalogue(cfg, root))} or None
    except RecordError:
        return None


def pytest_terminal_summary(terminalreporter, config):
    empty = config.stash.get(EMPTY_KEY, None)
    if empty:
        terminalreporter.write_line(f"claims: {empty}", yellow=True)
    stop = config.stash.get(STOP_KEY, None)
    if stop:
        terminalreporter.write_line(f"claims: nothing written: {stop}", red=True)
    cs = config.stash.get(SESSION_KEY, None)
    if cs is None or not cs.writer or not cs.rows:
        return
    from harness.report.summary import table

    tr = terminalreporter
    tr.write_sep("=", "claim verdicts")
    for line in table(cs.rows):
        tr.write_line(line)
    for claim_id, err in sorted(cs.write_errors.items()):
        tr.write_line(f"NOT WRITTEN {claim_id}: {err}", red=True)
    if cs.gate_result is not None:
        tr.write_sep("=", "claims gate")
        for line in cs.gate_result.lines():
            tr.write_line(line, red=cs.gate_result.exit_code != 0, green=cs.gate_result.exit_code == 0)
    if cs.interrupted:
        done = len(cs.rows)
        tr.write_line(f"claims: the run was interrupted ({cs.interrupted}): {done} of "
                      f"{max(done, len(cs.expected_ids()))} claims have a verdict; summary.json, run.json and the "
                      "report say so", red=True)
    tr.write_line(f"verdicts in {cs.verdicts_dir}; summary.json, summary.md, index.html in {cs.reports_dir}"
                  + ("; the previous run's in previous/" if (cs.reports_dir / "previous").is_dir() else ""))
