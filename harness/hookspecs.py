"""The harness's hooks: how another package extends it without forking (docs/extending.md).

pytest adds these specifications through ``pytest_addhooks`` (harness.plugin), so a conftest.py
or any pytest plugin may implement them. A package that should reach the command line too
(``claims-harness check``, ``new``, ``list``) names its plugin module in the entry-point group
``claims_harness.plugins`` (harness.extensions): pytest and the CLI both load it.

Hooks are named ``pytest_claims_*`` as pytest's own plugins name theirs (``pytest_xdist_*``,
``pytest_benchmark_*``). Importing this module imports neither pytest nor torch.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(historic=True)
def pytest_claims_register(registry) -> None:
    """Add metrics and measurement kinds.

    ``registry.metric(*metrics)`` takes ``harness.metrics.Metric`` records and
    ``registry.kind(*kinds)`` ``harness.kinds.Kind`` records (metrics first: a kind names its
    metrics). Called once per process, before claim files are read; a plugin registered later
    (a conftest.py deeper in the tree) is called when it is registered. The claim schema is
    built again after a registration, so its kinds and metrics are valid claim fields at once.
    """


@hookspec
def pytest_claims_artifact(artifact: dict, claim) -> None:
    """Adjust a claim's verdict artifact (a dict, changed in place) before it is written.

    ``claim`` is the ``harness.claims.records.Claim`` it judges. Called in the process that
    measured the claim (an xdist worker, or the only process); the artifact is validated
    against harness/schemas/verdict.schema.json afterwards, and one that breaks the contract
    becomes the claim's ``error`` verdict naming the field (harness.plugin.finalise); so does
    one whose ``claim_id`` was changed (it names the verdict file; harness.plugin.extend).
    """


@hookspec
def pytest_claims_machine_facts() -> dict | None:
    """Facts about the machine to record in the run's manifest.json (under ``machine_facts``).

    Return a JSON-serialisable dict (e.g. ``{"gpu_driver": "550.54"}``) or None; the results of
    every implementation are merged, a later plugin's key replacing an earlier one's.
    """
