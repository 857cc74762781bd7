"""Repository-wide pytest settings. The claims plugin itself is registered by its entry point
(pyproject.toml, ``pytest11``), so installing the package is what turns it on."""

from pathlib import Path

pytest_plugins = ("pytester",)   # only the root conftest may name plugins; the tests use it


def pytest_ignore_collect(collection_path, config):
    """``pytest --benchmark-only`` with no test path collects benchmarks/ alone.

    The ini's testpaths name tests/ and claims/ too; pytest-benchmark would collect their 500
    tests (and read the catalogue) only to skip each one. A test path given on the command line
    is collected as asked."""
    if not config.getoption("benchmark_only", default=False):
        return None
    if getattr(config, "args_source", None) is not config.ArgsSource.TESTPATHS:
        return None
    try:
        top = collection_path.resolve().relative_to(Path(__file__).resolve().parent).parts[:1]
    except ValueError:
        return None
    return True if top and top[0] != "benchmarks" else None
