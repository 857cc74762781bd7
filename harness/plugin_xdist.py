"""xdist placement hooks: a checkpoint's claims on one worker, and a worker crash that stays one.

``-n N`` without ``--dist`` means loadgroup (plugin.py). Two things xdist does not do for us:

- workers parse the bare command line, so they never learn that the controller chose loadgroup
  and never tag items with their group: the controller tells them (``pytest_configure_node``);
- loadgroup, like loadscope, puts a crashed worker's whole unfinished group back in the queue,
  the item that crashed included, so it crashes the next worker too until the restart budget is
  spent and the rest of the group never runs. The crashed item is marked done before xdist
  re-queues the group, and groups it had finished are dropped from its workload before xdist
  re-queues it (finished units re-queued are a reported hang, pytest-xdist #1371); the crash
  report is still written (an ``error`` verdict naming the claim).
"""

from __future__ import annotations

import pytest

_CRASHED = pytest.StashKey[dict]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["claims_loadgroup"] = node.config.getoption("dist") == "loadgroup"


def pytest_configure(config):
    if (getattr(config, "workerinput", None) or {}).get("claims_loadgroup"):
        config.option.loadgroup = True
    config.stash[_CRASHED] = {}
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") == "loadgroup":
        config.pluginmanager.register(_PlainIds(), "claims-plain-ids")


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


def _running(sched, node) -> str | None:
    """The item a node was running: the first unfinished one of its assigned groups."""
    work = getattr(sched, "assigned_work", None)
    if not isinstance(work, dict) or node not in work:
        return None                      # plain load scheduling handles crashes itself
    for unit in work[node].values():
        for nodeid, completed in unit.items():
            if not completed:
                return nodeid
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    if error is None:
        return
    dsession = node.config.pluginmanager.getplugin("dsession")
    sched = getattr(dsession, "sched", None)
    crashed = _running(sched, node)
    if crashed is None:
        return
    work = sched.assigned_work[node]
    for unit in work.values():
        if crashed in unit:
            unit[crashed] = True         # not re-queued with the rest of its group
    for scope in [scope for scope, unit in work.items() if all(unit.values())]:
        del work[scope]                  # finished groups are not re-queued either
    node.config.stash[_CRASHED][node.gateway.id] = crashed
    if _running(sched, node) is None:    # nothing else pending: xdist will report no crash item
        _report(node.config, crashed, node)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):
    """xdist names the first unfinished item after ours; the report is about ours."""
    crashed = report.node.config.stash[_CRASHED].pop(report.node.gateway.id, None) \
        if hasattr(report, "node") else None
    if crashed and crashed != crashitem:    # crashitem did not run; it is still queued
        report.nodeid = crashed
        report.location = (crashed.split("::")[0], None, crashed.split("::")[0])
        report.longrepr = f"worker {report.node.gateway.id!r} crashed while running {plain_id(crashed)!r}"


def _report(config, nodeid: str, node) -> None:
    fspath = nodeid.split("::")[0]
    rep = pytest.TestReport(nodeid=nodeid, location=(fspath, None, fspath), keywords={}, outcome="failed",
                            longrepr=f"worker {node.gateway.id!r} crashed while running {plain_id(nodeid)!r}",
                            when="???")
    rep.node = node
    config.stash[_CRASHED].pop(node.gateway.id, None)
    config.hook.pytest_runtest_logreport(report=rep)
