"""Shared fixtures: the MRPC mirror (from CLAIMS_MIRROR), a tiny ALBERT mirror built at run time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLUE = Path("datasets") / "nyu-mll" / "glue"


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
    from tests.tiny_albert import build_tiny_albert

    root = tmp_path_factory.mktemp("mirror")
    build_tiny_albert(root / "models" / "tiny" / "albert-mrpc", seed=0,
                      id2label={0: "not_equivalent", 1: "equivalent"})
    shutil.copytree(mrpc_mirror / GLUE, root / GLUE)
    return root


@pytest.fixture
def claims_project(pytester):
    """A pytester project laid out like ours: claims/test_claims.py and the paper records."""
    claims = pytester.path / "claims"
    (claims / "papers").mkdir(parents=True)
    shutil.copy(ROOT / "claims" / "test_claims.py", claims / "test_claims.py")
    shutil.copy(ROOT / "claims" / "papers" / "1909.11942.yaml", claims / "papers" / "1909.11942.yaml")
    shutil.copytree(ROOT / "claims" / "spreads", claims / "spreads")
    return claims
