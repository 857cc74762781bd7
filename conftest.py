"""Repository-wide pytest settings. The claims plugin itself is registered by its entry point
(pyproject.toml, ``pytest11``), so installing the package is what turns it on."""

import os

from hypothesis import settings

pytest_plugins = ("pytester",)

settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
