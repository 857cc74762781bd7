"""Repository-wide pytest settings. The claims plugin itself is registered by its entry point
(pyproject.toml, ``pytest11``), so installing the package is what turns it on."""

pytest_plugins = ("pytester",)   # only the root conftest may name plugins; the tests use it
