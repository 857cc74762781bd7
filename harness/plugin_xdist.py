"""xdist placement: a checkpoint's claims on one worker, and a worker crash that stays one.

``-n N`` without ``--dist`` means loadgroup (plugin.py), and the scheduler is ours, through
xdist's public hook ``pytest_xdist_make_scheduler``: ``ClaimsGroupScheduling``, a
``LoadGroupScheduling`` with two changes.

- A claim's group is known without the node id: xdist's workers name a test's group by appending
  ``@group`` to its node id, which pytest 9.2 no longer allows (the id stays plain, pytest-xdist
  #1386, and loadgroup silently stops grouping). The scheduler reads a claim's group from its
  record (``Claim.group``) when the id carries none, so a checkpoint's claims stay on one worker
  with every pytest 8 and 9. Other tests are grouped by the suffix where pytest keeps it.
- A crash costs one claim: loadgroup, like loadscope, puts a crashed worker's whole unfinished
  group back in the queue, the item that crashed included, so it crashes the next worker too
  until the restart budget is spent and the rest of the group never runs; and groups it had
  finished are re-queued as well (a reported hang, pytest-xdist #1371). ``remove_node`` marks the
  crashed item done and drops finished groups first, and names the crashed item itself to xdist,
  which writes its crash report (an ``error`` verdict naming the claim, harness.plugin).

Workers parse the bare command line, so they never learn that the controller chose loadgroup:
the controller tells them (``pytest_configure_node``).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["claims_loadgroup"] = node.config.getoption("dist") == "loadgroup"


def pytest_configure(config):
    if (getattr(config, "workerinput", None) or {}).get("claims_loadgroup"):
        config.option.loadgroup = True
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") == "loadgroup":
        config.pluginmanager.register(_PlainIds(), "claims-plain-ids")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """loadgroup is ours (see the module doc); every other --dist mode is xdist's."""
    if config.getoption("dist", "no") != "loadgroup":
        return None
    return scheduler_class()(config, log)


def plain_id(nodeid: str) -> str:
    """'f.py::test[a/b]@org/model@rev' -> 'f.py::test[a/b]': the group xdist appended to place it."""
    start = nodeid.rfind("]") + 1 if "]" in nodeid else max(nodeid.rfind("::"), 0)
    cut = nodeid.find("@", start)
    return nodeid if cut < 0 else nodeid[:cut]


class _PlainIds:
    """Reports name the test, not the group that placed it (JUnit, the terminal, --lf)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report):
        report.nodeid = plain_id(report.nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):
    """The crash report names the test, not the group that placed it."""
    report.longrepr = f"worker {report.node.gateway.id!r} crashed while running {plain_id(crashitem)!r}" \
        if hasattr(report, "node") else report.longrepr


def _unfinished(workload: dict) -> str | None:
    """The item a node was running: the first unfinished one of its assigned groups."""
    for unit in workload.values():
        for nodeid, completed in unit.items():
            if not completed:
                return nodeid
    return None


_CLASS: list = []


def scheduler_class():
    """``ClaimsGroupScheduling`` (defined on first use: xdist is imported only for a -n run)."""
    if _CLASS:
        return _CLASS[0]
    from xdist.scheduler import LoadGroupScheduling

    class ClaimsGroupScheduling(LoadGroupScheduling):
        """loadgroup that groups claims by their record and loses only the crashed item to a crash."""

        def __init__(self, config, log=None):
            super().__init__(config, log)
            self._groups: dict[str, dict[str, str]] = {}    # claims folder -> claim id -> group

        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:              # the worker could append the group: pytest < 9.2
                return scope
            group = self._claim_group(nodeid)
            return group if group is not None else nodeid

        def _claim_group(self, nodeid: str) -> str | None:
            plain = plain_id(nodeid)
            if "::" not in plain or not plain.endswith("]") or "[" not in plain:
                return None
            claim_id = plain[plain.index("[") + 1:-1]
            if not claim_id:
                return None
            return self._catalogue(nodeid).get(claim_id)

        def _catalogue(self, nodeid: str) -> dict[str, str]:
            """Claim id -> group, for the claims this run measures: the run's catalogue (parsed once,
            harness.plugin_state.catalogue) on the run's checkpoints, so a cell of --claims-checkpoint goes
            with the checkpoint it is measured on."""
            from harness.errors import RecordError
            from harness.plugin_state import catalogue, expand_claims

            opt = self.config.getoption("claims_dir", None)
            root = Path(opt) if opt else (Path(str(self.config.rootpath)) / nodeid.split("::")[0]).parent
            key = str(root)
            if key not in self._groups:
                try:
                    claims = expand_claims(self.config, catalogue(self.config, root)) if root.is_dir() else []
                    self._groups[key] = {c.id: c.group for c in claims}
                except (RecordError, OSError):
                    self._groups[key] = {}   # collection reports a bad record; nothing to group by
            return self._groups[key]

        def remove_node(self, node):
            workload = self.assigned_work.get(node)
            crashed = _unfinished(workload) if isinstance(workload, dict) else None
            if crashed is None:
                return super().remove_node(node)
            for unit in workload.values():
                if crashed in unit:
                    unit[crashed] = True     # not re-queued with the rest of its group
            for scope in [scope for scope, unit in workload.items() if all(unit.values())]:
                del workload[scope]          # finished groups are not re-queued either
            super().remove_node(node)        # re-queues the group's unfinished rest
            return crashed                   # xdist reports the crash against this item

    _CLASS.append(ClaimsGroupScheduling)
    return ClaimsGroupScheduling
