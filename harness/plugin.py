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
from pathlib import Path

import pytest

from harness.errors import RecordError
from harness.session import ClaimsSession

ARTIFACT_KEY = pytest.StashKey[dict]()
SESSION_KEY = pytest.StashKey[ClaimsSession]()
PROPERTY = "claims_artifact"


# ---------------------------------------------------------------------- options
def pytest_addoption(parser):
    g = parser.getgroup("claims", "paper claims")
    g.addoption("--claims-mirror", default=None, metavar="DIR",
                help="local mirror of hub repos (DIR/models/<org>/<name>, DIR/datasets/<org>/<name>); "
                     "default: $CLAIMS_MIRROR")
    g.addoption("--claims-download", action="store_true", default=None,
                help="allow downloads from the Hugging Face hub (default off: mirror and HF cache only, "
                     "HF offline flags set); also $CLAIMS_DOWNLOAD=1")
    g.addoption("--claims-device", default=None, help="cpu, cuda, cuda:1, mps (default: cuda, then mps, then cpu)")
    g.addoption("--claims-dtype", default="float32", help="float32 (default), bfloat16 or float16")
    g.addoption("--claims-batch-size", type=int, default=None, help="inference batch size (default: by device)")
    g.addoption("--claims-resamples", type=int, default=2000, help="bootstrap resamples per claim (default 2000)")
    g.addoption("--claims-reports", default=None, metavar="DIR", help="where verdicts go (default: <rootdir>/reports)")
    g.addoption("--claims-dir", default=None, metavar="DIR",
                help="claim records to run (default: the folder of the test module asking for `claim`)")


def _download_allowed(config) -> bool:
    opt = config.getoption("claims_download")
    return bool(opt) or os.environ.get("CLAIMS_DOWNLOAD", "") not in ("", "0")


def _mirror(config) -> Path | None:
    value = config.getoption("claims_mirror") or os.environ.get("CLAIMS_MIRROR")
    return Path(value).expanduser().resolve() if value else None


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


def pytest_xdist_auto_num_workers(config):
    """One worker per visible GPU; on CPU, what cores and memory allow (3 GiB per worker)."""
    gpus = _visible_gpus()
    if gpus:
        return len(gpus)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem_gib = 3.0 * cores
    return max(1, min(cores, int(mem_gib // 3)))


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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """`-n N` without a --dist choice means loadgroup: one checkpoint stays on one worker."""
    opt = config.option
    if getattr(opt, "numprocesses", None) and getattr(opt, "dist", "no") == "no":
        opt.dist = "loadgroup"


def pytest_configure(config):
    from harness.measure import offline

    config.addinivalue_line("markers", "xdist_group(name): claims that share a checkpoint run on one worker")
    offline.apply(_download_allowed(config))
    _pin_worker(config)
    reports = config.getoption("claims_reports") or (Path(str(config.rootpath)) / "reports")
    writer = not hasattr(config, "workerinput")
    session = ClaimsSession(Path(reports), writer=writer)
    config.stash[SESSION_KEY] = session
    if writer:
        config.pluginmanager.register(_Writer(session), "claims-writer")


# ---------------------------------------------------------------------- collection
def _claims_root(metafunc) -> Path:
    opt = metafunc.config.getoption("claims_dir")
    return Path(opt).resolve() if opt else Path(str(metafunc.definition.path)).parent


def pytest_generate_tests(metafunc):
    if "claim" not in metafunc.fixturenames:
        return
    from harness.claims.records import load_tree

    try:
        claims = load_tree(_claims_root(metafunc))
    except RecordError as exc:
        pytest.fail(f"claim records: {exc}", pytrace=False)
    metafunc.parametrize("claim", [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.group))
                                   for c in claims])


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def claims_pipeline(request):
    """Per process: paper records, device, loaded checkpoints and datasets, kept between claims."""
    from harness.run import Options, Pipeline

    cfg = request.config
    return Pipeline(Options(
        mirror=_mirror(cfg), allow_download=_download_allowed(cfg), device=cfg.getoption("claims_device"),
        dtype=_dtype(cfg), batch_size=cfg.getoption("claims_batch_size"),
        resamples=cfg.getoption("claims_resamples")))


def _dtype(cfg) -> str:
    from harness.measure.devices import dtype_name

    return dtype_name(cfg.getoption("claims_dtype"))


@pytest.fixture
def claim_verdict(request, claim, claims_pipeline):
    """The claim's artifact, computed here and sent to the writer with the test report."""
    artifact = claims_pipeline.evaluate(claim)
    artifact["_artifact_name"] = claim.artifact_name
    request.node.stash[ARTIFACT_KEY] = artifact
    return artifact


# ---------------------------------------------------------------------- outcomes
def enforce(artifact: dict) -> None:
    """The pytest outcome that the verdict calls for (see README: outcomes)."""
    v = artifact["verdict"]
    status, reason = v["status"], v.get("reason", "")
    expect = artifact["claim"].get("expect")
    if expect:
        if status != expect:
            pytest.fail(f"expected {expect}, got {status}: {reason}", pytrace=False)
        return
    if status == "reproduced":
        return
    if status in ("blocked",):
        pytest.skip(f"blocked: {reason}")
    if status == "inconclusive":
        stats = artifact.get("statistics") or {}
        pytest.skip(f"inconclusive: {reason}; n={artifact['measurement']['n']}, "
                    f"slice size needed: {stats.get('slice_size_needed')}")
    pytest.fail(f"{status}: {_numbers(artifact)}{reason}", pytrace=False)


def _numbers(artifact: dict) -> str:
    stats = artifact.get("statistics") or {}
    post = artifact["verdicts"]["post"] or {}
    if post.get("score") is None or not stats.get("band"):
        return ""
    b = stats["band"]
    return (f"measured {post['score']:.6g}, interval {stats.get('interval') or [stats.get('low'), stats.get('high')]}, "
            f"reported {b['reported']:.6g} (band [{b['low']:.6g}, {b['high']:.6g}], tolerance {b['tolerance']:.6g}); ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    artifact = item.stash.get(ARTIFACT_KEY, None)
    if artifact is not None and report.when == "call":
        report.user_properties.append((PROPERTY, json.dumps(artifact, allow_nan=False)))


class _Writer:
    """Registered only where files are written (xdist controller or a plain run)."""

    def __init__(self, session: ClaimsSession):
        self.session = session

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            for name, value in report.user_properties:
                if name == PROPERTY:
                    self.session.record(value)


def pytest_sessionfinish(session):
    cs = session.config.stash.get(SESSION_KEY, None)
    if cs is not None:
        cs.finish(list(session.config.invocation_params.args))


def pytest_terminal_summary(terminalreporter, config):
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
    tr.write_line(f"verdicts in {cs.verdicts_dir}, summary in {cs.reports_dir / 'summary.json'}")
