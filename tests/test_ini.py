"""Run-wide settings from the ini file: ``claims_NAME = VALUE``; precedence flag > env > ini > default."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from harness import options
from tests.helpers import claims_folder
from tests.runs import run_pytest

ROOT = Path(__file__).resolve().parents[1]


def _values(**given) -> argparse.Namespace:
    """The options as pytest parses them with no flag given (None, or False for switches), then ``given``."""
    values = argparse.Namespace()
    for option in options.PLUGIN:
        kwargs = options.plugin_kwargs(option)
        switch = kwargs.get("action") == "store_true"
        setattr(values, options.dest(option), kwargs.get("default", False if switch else None))
    for key, value in given.items():
        setattr(values, f"claims_{key}", value)
    return values


def _settle(values, ini: dict, env: dict, inidir: Path | None = None) -> argparse.Namespace:
    options.settle(values, lambda name: ini.get(name, ""), env, inidir)
    return values


def test_a_flag_beats_the_environment_and_the_ini_file(tmp_path):
    (tmp_path / "ini-mirror").mkdir()
    v = _settle(_values(mirror="flag-mirror", dtype="float16", resamples=7),
                {"claims_mirror": "ini-mirror", "claims_dtype": "bf16", "claims_resamples": "9"},
                {"CLAIMS_MIRROR": "env-mirror"}, tmp_path)
    assert (v.claims_mirror, v.claims_dtype, v.claims_resamples) == ("flag-mirror", "float16", 7)


def test_the_environment_beats_the_ini_file(tmp_path):
    (tmp_path / "ini-mirror").mkdir()
    v = _settle(_values(), {"claims_mirror": "ini-mirror", "claims_download": True}, {"CLAIMS_MIRROR": "/env",
                                                                                    "CLAIMS_DOWNLOAD": "0"}, tmp_path)
    assert v.claims_mirror is None          # left to $CLAIMS_MIRROR, read where the mirror is used
    assert v.claims_download is None        # $CLAIMS_DOWNLOAD=0 decides: no downloads


def test_the_ini_file_beats_the_default_and_is_read_as_the_flag_is(tmp_path):
    (tmp_path / "mirror").mkdir()
    v = _settle(_values(), {"claims_mirror": "mirror", "claims_reports": "out", "claims_dtype": "bf16",
                            "claims_resamples": "500", "claims_gate": True, "claims_progress": "off",
                            "claims_history": "off", "claims_fdr": "0.1"}, {}, tmp_path)
    assert v.claims_mirror == str(tmp_path / "mirror") and v.claims_reports == str(tmp_path / "out")
    assert (v.claims_dtype, v.claims_resamples, v.claims_gate, v.claims_progress) == ("bfloat16", 500, True, "off")
    assert v.claims_history == "off" and v.claims_fdr == 0.1


def test_nothing_given_means_the_documented_default():
    v = _settle(_values(), {}, {})
    assert (v.claims_dtype, v.claims_resamples, v.claims_timeout, v.claims_fdr, v.claims_progress) == (
        "float32", 2000, options.DEFAULT_TIMEOUT, 0.05, "auto")
    assert v.claims_mirror is None and v.claims_gate is False and v.claims_reports is None


@pytest.mark.parametrize("key, value, words", [
    ("claims_resamples", "0", ["claims_resamples", "at least 1"]),
    ("claims_dtype", "fp8", ["claims_dtype", "'fp8' is not one of"]),
    ("claims_progress", "loud", ["claims_progress", "not one of auto, on, off"]),
    ("claims_mirror", "nowhere", ["claims_mirror", "no such folder"]),
])
def test_a_bad_ini_value_names_the_key(key, value, words, tmp_path):
    with pytest.raises(ValueError) as bad:
        _settle(_values(), {key: value}, {}, tmp_path)
    for w in words:
        assert w in str(bad.value)


def test_every_ini_setting_is_a_plugin_option():
    names = {o.name for o in options.PLUGIN}
    assert set(options.INI) <= names and set(options.ENV) <= set(options.INI)
    assert {"mirror", "cache", "reports"} <= set(options.INI)


def test_a_run_reads_its_settings_from_pyproject_and_a_flag_still_wins(tmp_path):
    project = tmp_path / "project"
    claims = claims_folder(project / "claims")
    shutil.copy(ROOT / "claims" / "albert-1909.11942" / "table1-parameters.yaml", claims / "t1.yaml")
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\nclaims_reports = "ini-reports"\n'
                                            'claims_history = "off"\n', encoding="utf-8")
    env = {"CLAIMS_MIRROR": None, "CLAIMS_DOWNLOAD": None}
    first = run_pytest(project, "claims", "-n", "0", env=env)
    assert first.ret == 0, first.tail()
    assert len(list((project / "ini-reports" / "verdicts").glob("*.json"))) == 6
    assert not (project / "ini-reports" / "history.sqlite").exists()     # claims_history = off
    flag = run_pytest(project, "claims", "-n", "0", "--claims-reports=flag-reports", "-k", "albert-base", env=env)
    assert flag.ret == 0, flag.tail()
    assert len(list((project / "flag-reports" / "verdicts").glob("*.json"))) == 1
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\nclaims_timeout = "-1"\n', encoding="utf-8")
    bad = run_pytest(project, "claims", "-n", "0", env=env)
    assert bad.ret == 4 and "claims_timeout" in bad.out and "pyproject.toml" in bad.out, bad.tail()
