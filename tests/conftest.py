"""Shared fixtures: the MRPC mirror (from CLAIMS_MIRROR), a tiny ALBERT mirror built at run time;
and the rule that marks a test ``e2e``: it starts a pytest run or a process."""

from __future__ import annotations

import os
import shutil
import types
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis profiles for the harness's own tests (here, not in the root conftest: a claims run
# has no use for hypothesis and would pay its import, about a second, before collecting).
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
GLUE = Path("datasets") / "nyu-mll" / "glue"


def pytest_configure(config):
    """CLAIMS_MIRROR as the README writes it (../shared/mirror) is relative to where pytest
    started; the plugin runs the tests make start in folders of their own: give them the path."""
    value = os.environ.get("CLAIMS_MIRROR")
    if value and not os.path.isabs(os.path.expanduser(value)):
        os.environ["CLAIMS_MIRROR"] = str(Path(value).expanduser().resolve())


@pytest.fixture(scope="session")
def mrpc_mirror() -> Path:
    """The mirror root holding datasets/nyu-mll/glue; skips when CLAIMS_MIRROR does not give one."""
    value = os.environ.get("CLAIMS_MIRROR")
    if not value:
        pytest.skip("CLAIMS_MIRROR is not set: these tests need the GLUE MRPC mirror (e.g. ../shared/mirror)")
    root = Path(value).expanduser().resolve()
    if not (root / GLUE / "mrpc").is_dir():
        pytest.skip(f"CLAIMS_MIRROR={root} has no {GLUE}/mrpc")
    return root


@pytest.fixture(scope="session")
def tiny_mirror(tmp_path_factory, mrpc_mirror) -> Path:
    """A mirror with a tiny ALBERT at models/tiny/albert-mrpc and the MRPC data beside it."""
    from filelock import FileLock

    from tests.tiny_albert import build_tiny_albert

    # Built once per test session, shared by the xdist workers (read-only for the tests).
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared
    root = shared / "tiny-mirror"
    with FileLock(str(shared / "tiny-mirror.lock")):
        if not (root / "complete").is_file():
            shutil.rmtree(root, ignore_errors=True)
            build_tiny_albert(root / "models" / "tiny" / "albert-mrpc", seed=0,
                              id2label={0: "not_equivalent", 1: "equivalent"})
            shutil.copytree(mrpc_mirror / GLUE, root / GLUE)
            (root / "complete").write_text("")
    return root


@pytest.fixture(scope="session")
def catalogue_run(tmp_path_factory) -> dict:
    """The shared catalogue runs (tests/runs.py): made once per worker for the tests marked CATALOGUE."""
    from tests.runs import catalogue_runs

    return catalogue_runs(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture
def claims_project(pytester):
    """A pytester project laid out like ours: claims/test_claims.py and the paper records."""
    from tests.helpers import claims_folder

    return claims_folder(pytester.path / "claims")


@pytest.fixture(autouse=True)
def _no_home(tmp_path_factory, monkeypatch):
    """Every test runs with an empty HOME and its caches under tmp: nothing reaches the user's home.

    The real home and ~/.cache/claims-harness are never written; test_hostile proves it with a run."""
    base = tmp_path_factory.mktemp("home-and-caches")
    home = base / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "xdg-cache"))
    monkeypatch.setenv("CLAIMS_CACHE", str(base / "claims-cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(base / "matplotlib"))   # matplotlib's font cache, not ours
    return home


def pytest_terminal_summary(terminalreporter):
    """After tests/test_hostile.py: how many hostile inputs were tried and how many got their clear error."""
    stats = terminalreporter.stats
    ids = [r for key in ("passed", "failed") for r in stats.get(key, []) if getattr(r, "when", "") == "call"
           and "test_hostile_input[" in r.nodeid]
    if ids:
        handled = sum(1 for r in ids if r.passed)
        terminalreporter.write_sep("=", f"hostile inputs: {len(ids)} cases tried, {handled} handled")


# ---------------------------------------------------------------------- the e2e rule
#: Fixtures that exist to start pytest runs (pytester's, and ours built on the shared runs).
E2E_FIXTURES = frozenset({"pytester", "testdir", "catalogue_run"})
#: Names whose use starts a pytest run or a process: tests/runs.py's runners, pytester's, subprocess.
E2E_NAMES = frozenset({"run_pytest", "start_pytest", "catalogue_runs", "runpytest", "runpytest_inprocess", "runpytest_subprocess",
                       "inline_run", "subprocess", "Popen", "spawn", "popen"})


def _names(func, seen: set) -> set[str]:
    """Global and attribute names a function's code uses, following the functions of the tests
    package that it calls by name (a module's helper that starts the run), nested code included."""
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return set()
    seen.add(code)
    names, stack = set(), [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    found = set(names)
    module_globals = getattr(func, "__globals__", {})
    for name in names:
        other = module_globals.get(name)
        if isinstance(other, types.FunctionType) and (other.__module__ or "").startswith("tests"):
            found |= _names(other, seen)
    return found


def is_e2e(item) -> bool:
    """A test is end to end when it, a fixture it uses, or a tests-package helper either calls
    starts a pytest run or a process (see E2E_FIXTURES, E2E_NAMES)."""
    if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (getattr(info, "name2fixturedefs", None) or {}).values():
        funcs += [d.func for d in defs if (getattr(d.func, "__module__", "") or "").startswith("tests")]
    seen: set = set()
    return any(E2E_NAMES & _names(f, seen) for f in funcs if f is not None)


def pytest_collection_modifyitems(config, items):
    """``e2e`` by rule, not by hand: ``-m "not e2e"`` is the unit layer."""
    for item in items:
        if is_e2e(item):
            item.add_marker("e2e")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """pytester's in-process runs drop every module they import, and torch cannot be imported twice
    in one process: where a pytester test may be the first to need torch in this worker (xdist does
    not promise an order), torch is imported before its run, so the run keeps it."""
    if "pytester" in getattr(item, "fixturenames", ()):
        import torch  # noqa: F401
