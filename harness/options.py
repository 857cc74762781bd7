"""Every option of the pytest plugin and the command line, defined once and checked when parsed.

An option is its long name and its argparse keyword arguments (type, choices, default, help);
pytest's ``parser.addoption`` takes the same arguments, so the plugin (``--claims-NAME``) and
the CLI (``--NAME``) are built from the same definition. A value is checked by its ``type`` or
``choices`` as the command line is read: a bad one is a usage error (pytest exit 4, argparse
exit 2) naming the option and what it accepts, before anything runs. Nothing here imports
torch, numpy or pytest.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.metrics import SCALES
from harness.statuses import ALL, EXPECTABLE

DEFAULT_TIMEOUT = 1800.0   # seconds per claim
_REV = re.compile(r"^[0-9a-f]{40}$|^[A-Za-z0-9._/-]+$")


# ---------------------------------------------------------------------- value checks
def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def fdr(text: str) -> float:
    """A false discovery rate: strictly between 0 and 1 (a usage error otherwise)."""
    value = _number(text, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} must lie strictly between 0 and 1")
    return value


def positive_int(text: str) -> int:
    """A whole number, at least 1 (batch sizes, resamples, slice sizes, lengths)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def positive_seconds(text: str) -> float:
    value = _number(text, "a number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def allowance(text: str) -> float:
    """A systematic tolerance in printed units: zero or more, finite."""
    value = _number(text, "a number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be zero or more")
    return value


def dtype(text: str) -> str:
    """A dtype or its short name (fp16), as its full name (float16)."""
    from harness.measure.devices import DTYPES   # data only; torch is imported when a claim runs

    if text.lower() not in DTYPES:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(sorted(DTYPES))}")
    return DTYPES[text.lower()]


def device(text: str) -> str:
    """cpu, cuda, cuda:N or mps; whether it is there is known only once torch is loaded."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of cpu, cuda, cuda:N, mps")
    return text


def existing_dir(text: str) -> str:
    if not Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return text


def shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), 1 <= I <= N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected I/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: I must be between 1 and N")
    return i, n


def _repo_pattern() -> str:
    """The claim schema's pattern for a hub repo id: the option refuses what a claim file would."""
    import json
    from importlib import resources

    text = resources.files("harness.schemas").joinpath("claim.schema.json").read_text("utf-8")
    return json.loads(text)["$defs"]["repo"]["pattern"]


def checkpoint(text: str) -> tuple[str, str]:
    """'org/name@rev' -> (repo, revision); revision defaults to 'main' (recorded as unpinned).

    The repo is checked by the claim schema's own pattern (no ``..``, no third part), the
    revision has no ``.`` or ``..`` path part: both end up in folder names."""
    repo, _, rev = text.partition("@")
    bad_rev = rev and (not _REV.match(rev) or {".", ".."} & set(rev.split("/")))
    if not re.search(_repo_pattern(), repo) or "\n" in repo or bad_rev:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ORG/NAME@REVISION (letters, digits, _ . -; "
                                         "neither part '.' or '..', as the claim schema asks), e.g. "
                                         "textattack/albert-base-v2-MRPC@86655e0ce120f86e1e60ce94a602908bb9a4e128")
    return repo, rev or "main"


def checkpoints_file(text: str) -> list[tuple[str, str]]:
    """A file of checkpoints, one ORG/NAME@REV a line (blank lines and '#' comments skipped)."""
    path = Path(text).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"{text}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    out = []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            out.append(checkpoint(line))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{text}, line {number}: {exc}") from None
    if not out:
        raise argparse.ArgumentTypeError(f"{text}: no checkpoint in it (one ORG/NAME@REV a line)")
    return out


def revision(text: str) -> str:
    """A pinned commit: 40 hex digits (a branch or tag can move)."""
    if not re.fullmatch(r"[0-9a-f]{40}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a 40-hex commit (a branch or tag can move)")
    return text


# ---------------------------------------------------------------------- definitions
@dataclass(frozen=True)
class Option:
    """One option: long name without dashes or prefix, and its argparse keyword arguments.

    ``positional``: a command's positional argument (``name`` is its dest); ``short``: a short
    flag beside the long one (``-o``)."""

    name: str
    kwargs: dict = field(default_factory=dict)
    positional: bool = False
    short: str | None = None

    def add(self, adder, prefix: str = "") -> None:
        """``adder``: argparse's ``add_argument`` or pytest's ``addoption``."""
        if self.positional:
            adder(self.name, **self.kwargs)
        else:
            adder(*((self.short,) if self.short else ()), f"--{prefix}{self.name}", **self.kwargs)


def positional(name: str, **kwargs) -> Option:
    return Option(name, kwargs, positional=True)


def add(adder, options, prefix: str = "") -> None:
    for option in options:
        option.add(adder, prefix)


# The gate's policy inputs: ``--claims-NAME`` for a pytest run, ``--NAME`` for ``gate`` and ``merge``.
BASELINE = Option("baseline", dict(default=None, metavar="DIR", type=existing_dir,
                                   help="earlier reports folder to compare with (a pytest run with it is gated)"))
STRICT_BLOCKED = Option("strict-blocked", dict(action="store_true", default=False,
                                               help="gate: blocked claims fail (air-gapped runners)"))
FDR = Option("fdr", dict(type=fdr, default=0.05, help="gate: false discovery rate for not_reproduced calls, "
                                                      "in (0, 1) (default 0.05)"))
GATE = (BASELINE, STRICT_BLOCKED, FDR)
CACHE = Option("cache", dict(default=None, metavar="DIR", help="prediction cache folder (default: $CLAIMS_CACHE or "
                                                               "~/.cache/claims-harness/predictions)"))

# The pytest plugin's (``--claims-NAME``), in the order ``pytest --help`` lists them.
PLUGIN = (
    Option("mirror", dict(default=None, metavar="DIR", type=existing_dir,
                          help="local mirror of hub repos (DIR/models/<org>/<name>, DIR/datasets/<org>/<name>); "
                               "default: $CLAIMS_MIRROR")),
    Option("download", dict(action="store_true", default=None,
                            help="allow downloads from the Hugging Face hub (default off: mirror and HF cache only, "
                                 "HF offline flags set); also $CLAIMS_DOWNLOAD=1")),
    Option("device", dict(default=None, type=device,
                          help="cpu, cuda, cuda:N or mps (default: cuda, then mps, then cpu)")),
    Option("dtype", dict(default="float32", type=dtype,
                         help="float32 (default), bfloat16 or float16 (also fp32, bf16, fp16)")),
    Option("batch-size", dict(type=positive_int, default=None,
                              help="inference batch size, at least 1 (default: by device)")),
    Option("resamples", dict(type=positive_int, default=2000,
                             help="bootstrap resamples per claim, at least 1 (default 2000)")),
    Option("timeout", dict(type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                           help="time limit per claim; a claim over it gets an error verdict "
                                f"(default {DEFAULT_TIMEOUT:g})")),
    Option("reports", dict(default=None, metavar="DIR", help="where verdicts go (default: <rootdir>/reports)")),
    Option("dir", dict(default=None, metavar="DIR", type=existing_dir,
                       help="claim records to run (default: the folder of the test module asking for `claim`)")),
    CACHE,
    Option("no-cache", dict(action="store_true", help="neither read nor write the prediction cache")),
    Option("gate", dict(action="store_true",
                        help="exit by the nightly gate policy (docs/gate.md) and write reports/gate.json")),
    *GATE,
    Option("shard", dict(default=None, metavar="I/N", type=shard,
                         help="run only shard I of N (1-based): checkpoint groups dealt longest first by estimated "
                              "cost, the same on every machine")),
    Option("shard-costs", dict(default=None, metavar="REPORTS", type=existing_dir,
                               help="a last run's reports folder whose timings replace the cost estimates (give "
                                    "every shard the same one)")),
    Option("checkpoint", dict(default=None, action="append", metavar="ORG/NAME@REV", type=checkpoint,
                              help="measure every claim that runs a model on this checkpoint instead of its own "
                                   "(recorded in each artifact as a protocol deviation), e.g. "
                                   "--claims-checkpoint textattack/albert-base-v2-MRPC@86655e0c...; repeat it for "
                                   "a claims x checkpoints run (one case and one verdict per pair, reports/matrix.html)")),
    Option("checkpoints", dict(default=None, metavar="FILE", type=checkpoints_file,
                               help="a file of checkpoints, one ORG/NAME@REV a line, run as with repeated "
                                    "--claims-checkpoint")),
    Option("history", dict(default=None, metavar="FILE",
                           help="SQLite file that keeps each run's summary for the report's history "
                                "(default: <reports>/history.sqlite; 'off' keeps none)")),
    Option("progress", dict(default="auto", choices=("auto", "on", "off"),
                            help="live line per claim during inference (pairs done, pairs/s); auto: with -v or a "
                                 "terminal")),
)

# ---------------------------------------------------------------------- ini file and environment
#: Run-wide settings a project may keep in its ini file (``[tool.pytest.ini_options]`` in
#: pyproject.toml, or pytest.ini): ``claims_NAME = VALUE``. How each is read: a path (relative to
#: the ini file's folder), a bool, or a string checked as the flag's value is.
INI = {"mirror": "path", "download": "bool", "device": "string", "dtype": "string", "batch-size": "string",
       "resamples": "string", "timeout": "string", "reports": "path", "dir": "path", "cache": "path",
       "no-cache": "bool", "gate": "bool", "strict-blocked": "bool", "fdr": "string", "history": "path",
       "progress": "string"}
#: Environment variables that set a run-wide setting: they come before the ini file, after the flag.
ENV = {"mirror": "CLAIMS_MIRROR", "download": "CLAIMS_DOWNLOAD", "cache": "CLAIMS_CACHE"}
ENV_ONLY = object()   # the value a setting keeps when its environment variable decides it


def ini_name(option: Option) -> str:
    return "claims_" + option.name.replace("-", "_")


def dest(option: Option, prefix: str = "claims-") -> str:
    return (prefix + option.name).replace("-", "_")


def plugin_kwargs(option: Option) -> dict:
    """What pytest's addoption gets: a setting the ini file may give has no argparse default (None:
    not given on the command line), so ``settle`` can tell a flag from a default."""
    kwargs = dict(option.kwargs)
    if option.name in INI and kwargs.get("action") not in ("store_true", "store_false"):
        kwargs["default"] = None
    return kwargs


def settle(values, getini, environ, inidir: Path | None) -> None:
    """Each run-wide setting by precedence: flag > environment variable > ini > default.

    ``values``: the parsed options (pytest's ``config.option``), changed in place; ``getini(name)``:
    the ini value ("" or False when unset). A setting its environment variable decides is left
    unset (the code that reads the variable decides it, as before). A bad ini value is a
    ValueError naming the ini key and what it accepts."""
    for option in PLUGIN:
        how = INI.get(option.name)
        if how is None:
            continue
        key = dest(option)
        given = getattr(values, key, None)
        if given not in (None, False):
            continue
        env = ENV.get(option.name)
        if env and environ.get(env, "") != "":
            continue
        raw = getini(ini_name(option))
        if raw not in (None, "", False, []):
            setattr(values, key, _from_ini(option, how, raw, inidir))
        elif given is None:
            setattr(values, key, option.kwargs.get("default"))


def _from_ini(option: Option, how: str, raw, inidir: Path | None):
    if how == "bool":
        return bool(raw)
    text = str(raw).strip()
    if how == "path" and text != "off":
        path = Path(text).expanduser()
        text = str(path if path.is_absolute() or inidir is None else Path(inidir) / path)
    check, choices = option.kwargs.get("type"), option.kwargs.get("choices")
    try:
        value = check(text) if check is not None and text != "off" else text
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"ini option {ini_name(option)} = {raw!r}: {exc}") from None
    if choices is not None and value not in choices:
        raise ValueError(f"ini option {ini_name(option)} = {raw!r}: not one of {', '.join(map(str, choices))}")
    return value


def two_token_values(args, prefix: str = "claims-") -> list[tuple[str, str]]:
    """(flag, value) for each plugin option written as two tokens (``--claims-mirror DIR``).

    pytest chooses its rootdir and ini file before plugins add their options, and then reads
    such a value as a test path; ``--claims-mirror=DIR`` is one token and cannot be misread."""
    args = [str(a) for a in args]
    flags = {f"--{prefix}{o.name}" for o in PLUGIN if o.kwargs.get("action") not in ("store_true", "store_false")}
    return [(a, args[i + 1]) for i, a in enumerate(args[:-1]) if a in flags]


# ``python -m harness import-verdict``: how the imported claim is to be measured.
IMPORT = (
    Option("revision", dict(required=True, type=revision, help="the checkpoint commit to pin (40 hex)")),
    Option("checkpoint", dict(help="hub id (default: the one the verdict's notes name)")),
    Option("slice-size", dict(type=positive_int, default=100, help="pairs to measure, at least 1 (default 100)")),
    Option("max-length", dict(type=positive_int, default=128, help="tokens per pair, at least 1 (default 128)")),
    Option("tolerance", dict(type=allowance, default=0.0,
                             help="systematic allowance in printed units, zero or more (default 0: re-run "
                                  "variation is the run spread)")),
    Option("scale", dict(choices=tuple(SCALES),
                         help="how the value is printed (default: from the paper record's cited table; never "
                              "guessed)")),
    Option("claims", dict(default="claims", help="claims folder whose papers/ hold the paper records")),
    Option("expect", dict(choices=EXPECTABLE, help="declared expected outcome, e.g. miscited")),
    Option("force", dict(action="store_true", help="replace an existing output file")),
)

#: Statuses ``claims-harness list --status`` filters by (a claim with no verdict is 'not run').
LIST_STATUSES = (*ALL, "not run")


class _KindNames:
    """The registered kinds' names, read when argparse checks or lists them: kinds that plugins
    register (harness.extensions) before the command runs are choices too."""

    def __contains__(self, name) -> bool:
        from harness import kinds

        return name in kinds.names()

    def __iter__(self):
        from harness import kinds

        return iter(kinds.names())


# ---------------------------------------------------------------------- the command line's arguments
# ``claims-harness COMMAND``: each command's arguments, in the order its --help lists them.
CLAIMS_DIR = positional("claims", nargs="?", default="claims", help="claims folder (default: claims)")
CATALOGUE = Option("claims", dict(help="the claim catalogue (default ./claims when it exists): verdicts of claims "
                                       "not in it are ignored, baseline claims not in it count as removed"))
OUTPUT = Option("output", dict(help="file to write (default: stdout)"), short="-o")
CLI = {
    "import-verdict": (positional("file", help="the verdict JSON (reference layout)"), OUTPUT, *IMPORT),
    "audit": (CLAIMS_DIR,),
    "merge": (positional("output", help="merged reports folder"),
              positional("inputs", nargs="+", help="shard reports folders"), *GATE, CATALOGUE,
              Option("copy", dict(action="store_true", help="write every verdict as a new file (default: a hard "
                                                            "link to the shard's file where both lie on one "
                                                            "filesystem; the harness never edits a verdict file "
                                                            "in place)"))),
    "gate": (positional("reports", nargs="?", default="reports", help="reports folder (default: reports)"),
             *GATE, CATALOGUE),
    "prefetch": (Option("mirror", dict(required=True, metavar="DIR", help="the mirror folder to fill")), CLAIMS_DIR),
    "clear-cache": (CACHE,),
    "list": (CLAIMS_DIR,
             Option("reports", dict(default="reports", help="reports folder of the last run (default: reports)")),
             Option("paper", dict(help="arXiv id, e.g. 1909.11942")),
             Option("kind", dict(choices=_KindNames(), help="measurement kind (harness.kinds, plugins' included)")),
             Option("source", dict(choices=("paper", "model_card"))),
             Option("status", dict(choices=LIST_STATUSES, help="last status ('not run': no verdict yet)")),
             Option("marker", dict(help="a pytest marker the plugin gives, e.g. needs_gpu or paper_1909_11942")),
             Option("json", dict(action="store_true", help="JSON instead of a table"))),
    "check": (positional("paths", nargs="*", help="claim files or folders (default: claims)"),),
    "new": (Option("paper", dict(required=True, help="arXiv id of a record in CLAIMS/papers/")),
            Option("table", dict(help='table id as in the paper record, e.g. "Table 2" (or --statement)')),
            Option("row", dict(help='row name, e.g. "ALBERT base" (spacing and case are loose)')),
            Option("column", dict(help="column name, e.g. SST-2 or Parameters")),
            Option("statement", dict(help="id of a prose statement in the paper record (instead of "
                                          "--table/--row/--column)")),
            Option("metric", dict(help="which value of a multi-value cell or statement (e.g. f1 of 89.3/82.3)")),
            Option("model-type", dict(help="transformers model_type of a parameter count (e.g. bert, "
                                           "distilbert, roberta; default: named in the row or statement)")),
            Option("checkpoint", dict(help="ORG/NAME@REV to measure (default: none yet, the claim stays blocked)")),
            Option("id", dict(help="claim id (default: paper/table/row/column-metric)")),
            Option("claims", dict(default="claims", help="claims folder with papers/ (default: claims)")),
            Option("output", dict(help="new claim file to write (default: stdout)"), short="-o")),
    "compare": (positional("run_a", metavar="RUN_A", help="the earlier (reference) reports folder"),
                positional("run_b", metavar="RUN_B", help="the later reports folder")),
    "schemas": (Option("write", dict(action="store_true", help="rewrite the package's schema files from the "
                                                               "built-in registries (maintainers)")),
                Option("out", dict(metavar="DIR", help="write every schema, with the installed plugins' kinds and "
                                                      "metrics, into DIR (to validate their artifacts)"))),
}
