"""Real pytest runs of a project folder, for the end-to-end tests: in this process or in a new one.

In this process (the default) a run skips the interpreter start and the torch/transformers
imports (5-10 s a run), which the test worker has already paid for. Only modules loaded from
the project folder (its test_claims.py, its conftest) are dropped afterwards, so the next run
in another folder imports its own; torch and the rest stay loaded: pytester's own in-process
runs drop every module they loaded, and a second torch import in one process breaks.

A new process (``isolate=True``) is for what only a process can show: a worker that dies,
imports the plugin must not make, switches read once at import, a run that may hang.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# What the outer run (an xdist worker, the test being run) puts in the environment; a run of
# its own must not see it, or the plugin takes it for a worker of a run it is not part of.
OUTER_VARIABLES = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
                   "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")


@dataclass
class Run:
    """What a run left: exit code and output (the reports are wherever the arguments put them)."""

    ret: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout + self.stderr

    def outcomes(self) -> dict[str, int]:
        """The counts of pytest's last summary line, e.g. {"passed": 2, "failed": 1} (as pytester reads it)."""
        for line in reversed(self.stdout.splitlines()):
            if re.search(r"\d+\.\d\ds", line):
                found = re.findall(r"(\d+) (\w+)", line)
                return {{"error": "errors", "warning": "warnings"}.get(k, k): int(n) for n, k in found}
        raise AssertionError(f"no summary line in the output:\n{self.stdout[-2000:]}")

    def fnmatch_lines(self, patterns: list[str]) -> None:
        """Each pattern matches a line of stdout, in this order (pytester's matcher)."""
        pytest.LineMatcher(self.stdout.splitlines()).fnmatch_lines(patterns)

    def tail(self, n: int = 3000) -> str:
        return self.stdout[-n:] + self.stderr[-n:]


def run_pytest(project: Path, *args: str, env: dict[str, str | None] | None = None, isolate: bool = False,
               timeout: float = 300) -> Run:
    """``pytest -p no:cacheprovider ARGS`` in ``project``; ``env`` sets (or, with None, removes) variables.

    Hermetic by default: an empty HOME and the caches (HF, claims, XDG, matplotlib) in a folder
    beside the project, as is its basetemp, never in the outer run's temporary folders."""
    project = Path(project)
    full, changes = _hermetic(project, args, env)
    if isolate:
        return _subprocess(project, full, changes, timeout)
    return _in_process(project, full, changes)


def start_pytest(project: Path, *args: str, env: dict[str, str | None] | None = None) -> subprocess.Popen:
    """``run_pytest(..., isolate=True)`` without waiting: a process of its own, for what only a
    running process can show (a run stopped by a signal). Output goes to ``project.run/out.txt``."""
    project = Path(project)
    beside = project.parent / f"{project.name}.run"
    full, changes = _hermetic(project, args, env)
    with (beside / "out.txt").open("w") as log:     # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "pytest", *full], cwd=project, env=_environment(changes),
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def _hermetic(project: Path, args, env) -> tuple[list[str], dict]:
    beside = project.parent / f"{project.name}.run"
    (beside / "home").mkdir(parents=True, exist_ok=True)
    full = ["-p", "no:cacheprovider", f"--basetemp={beside / 'basetemp'}", *args]
    changes: dict[str, str | None] = {name: None for name in OUTER_VARIABLES}
    changes.update(HOME=str(beside / "home"), XDG_CACHE_HOME=str(beside / "xdg-cache"), HF_HOME=str(beside / "hf"),
                   HF_HUB_CACHE=None, CLAIMS_CACHE=str(beside / "claims-cache"), MPLCONFIGDIR=str(beside / "mpl"))
    changes.update(env or {})
    return full, changes


def _environment(changes: dict) -> dict:
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _subprocess(project: Path, args: list[str], changes: dict, timeout: float) -> Run:
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=project, env=_environment(changes),
                          capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _in_process(project: Path, args: list[str], changes: dict) -> Run:
    hidden = _hide_namesakes(project)
    modules, path, meta_path = set(sys.modules), list(sys.path), list(sys.meta_path)
    out, err = io.StringIO(), io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(project)
            for name, value in changes.items():
                if value is None:
                    mp.delenv(name, raising=False)
                else:
                    mp.setenv(name, value)
            _hub_cache_follows(mp)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    ret = int(pytest.main(args))
                except SystemExit as exc:   # a plugin may exit; the run still ends here
                    ret = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.path[:] = path
        sys.meta_path[:] = meta_path
        for name in set(sys.modules) - modules:
            if _from_project(sys.modules.get(name), project):
                del sys.modules[name]
        sys.modules.update(hidden)
    return Run(ret, out.getvalue(), err.getvalue())


def _hide_namesakes(project: Path) -> dict:
    """Loaded modules named like the project's own top-level ones (its ``benchmarks`` package
    beside ours, say) are set aside for the run, so it imports its own, as a new process would."""
    names = {p.stem for p in project.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    hidden = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] in names}
    for name in hidden:
        del sys.modules[name]
    return hidden


def _hub_cache_follows(mp: pytest.MonkeyPatch) -> None:
    """huggingface_hub reads its cache folder once, at import (earlier in this process, under
    another HOME): point it where the run's environment says, as a new process would."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is None:
        return
    hf_home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                        os.path.expanduser("~/.cache"), "huggingface")
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(hf_home, "hub")
    mp.setattr(constants, "HF_HOME", hf_home)
    mp.setattr(constants, "HF_HUB_CACHE", hub)


def _from_project(module, project: Path) -> bool:
    """A module loaded from the project folder (the next run's folder has its own of that name)."""
    file = getattr(module, "__file__", None)
    if not file:
        return getattr(module, "__name__", "") in ("conftest",)
    try:
        return Path(file).resolve().is_relative_to(project.resolve())
    except OSError:
        return True


# ---------------------------------------------------------------------- the catalogue run, shared
# Table 1's parameter counts, the imported (miscited) seed claim and a model-card claim printed
# wrong on purpose: no checkpoint needed. Made once per worker (the session fixture
# ``catalogue_run``) for every test that reads it (test_user_views, test_reports,
# test_parameter_claims); those tests carry CATALOGUE, so xdist keeps them on one worker.
CATALOGUE = pytest.mark.xdist_group("catalogue-run")
OTHER_CHECKPOINT = "someorg/other-model@" + "a" * 40
WRONG_CARD_CLAIM = {
    "id": "card/albert-base/params-wrong",
    "citation": {"source": "model_card", "url": "https://example.invalid/card"},
    "reported": {"value": "13", "metric": "parameter_count", "scale": "millions"},
    "measure": {"kind": "parameter_count", "include_pooler": True,
                "architecture": {"family": "albert", "config": {
                    "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768, "num_hidden_layers": 12,
                    "num_attention_heads": 12, "intermediate_size": 3072}}},
    "tolerance": {"value": 0, "reason": "a count is exact; this one is printed wrong on purpose"}}


def catalogue_runs(base: Path) -> dict:
    """``first``: -n 0, ``-m "paper_1909_11942 and not needs_gpu"`` (the card claim deselected),
    JUnit XML; its reports folder is copied to ``first_reports`` before ``second`` runs into the
    same folder under xdist (-n 2) with ``--claims-checkpoint``; ``markers``: ``pytest --markers``.
    No mirror, an empty HF cache: the seed claim's POST is blocked at once."""
    import shutil

    from tests.helpers import claims_folder

    project = base / "project"
    claims = claims_folder(project / "claims")
    for name in ("table1-parameters.yaml", "imported-seed-verdict.yaml"):
        shutil.copy(ROOT / "claims" / "albert-1909.11942" / name, claims / name)
    (claims / "wrong.yaml").write_text(yaml.safe_dump({"claims": [WRONG_CARD_CLAIM]}), encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    reports, cache = project / "reports", project / "cache"
    env = {"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}
    common = ("claims", f"--claims-reports={reports}", f"--claims-cache={cache}", "-rA")
    first = run_pytest(project, *common, f"--junitxml={project / 'first.xml'}",
                       "-m", "paper_1909_11942 and not needs_gpu", "-n", "0", env=env)
    first_reports = base / "first-reports"
    shutil.copytree(reports, first_reports)
    second = run_pytest(project, *common, f"--junitxml={project / 'second.xml'}",
                        f"--claims-checkpoint={OTHER_CHECKPOINT}", "-n", "2",   # properties travel from workers
                        env=env)
    markers = run_pytest(project, "--markers", env=env)
    return {"project": project, "reports": reports, "first_reports": first_reports, "first": first,
            "second": second, "markers": markers}
