"""Plugins of the harness: the entry-point group, and the registrations they make.

An installed package adds metrics and kinds by naming a module (or any object with hook
functions) in the entry-point group ``claims_harness.plugins``::

    [project.entry-points."claims_harness.plugins"]
    my_lab = "my_lab.claims_plugin"

and implementing the hooks of harness.hookspecs in it. pytest (harness.plugin, through
``pytest_addhooks``) and the command line (harness.cli) both register these plugins and call
``pytest_claims_register`` once, so a claim of a plugin's kind is valid in ``pytest``,
``claims-harness check``, ``new`` and ``list`` alike. Nothing here imports pytest or torch.
"""

from __future__ import annotations

from importlib import metadata

from harness.errors import HarnessError

GROUP = "claims_harness.plugins"
PREFIX = "claims-harness-plugin:"


class Registrations:
    """What ``pytest_claims_register(registry)`` receives: adds to the metric and kind registries."""

    def metric(self, *metrics) -> None:
        from harness import metrics as registry

        for m in metrics:
            if registry.discover().get(m.key) is not m:
                registry.register(m)

    def kind(self, *kinds) -> None:
        from harness import kinds as registry

        for k in kinds:
            if registry.discover().get(k.name) is not k:
                registry.register(k)


def entry_point_plugins() -> list[tuple[str, object]]:
    """(name, plugin) for every installed entry point of the group, in name order; a plugin that
    fails to import is a HarnessError naming its entry point."""
    found = []
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        try:
            found.append((ep.name, ep.load()))
        except Exception as exc:  # noqa: BLE001 - any import error of someone else's package
            raise HarnessError(f"plugin {ep.name!r} ({ep.value}, entry point group {GROUP}) cannot be loaded: "
                               f"{type(exc).__name__}: {exc}") from exc
    return found


def register_plugins(pluginmanager) -> None:
    """Register the entry-point plugins with a pluggy/pytest plugin manager (once each)."""
    for name, plugin in entry_point_plugins():
        if not pluginmanager.is_registered(plugin) and pluginmanager.get_plugin(PREFIX + name) is None:
            pluginmanager.register(plugin, PREFIX + name)


_CLI_MANAGER: list = []


def load_for_cli():
    """The command line's plugin manager: the hookspecs, the entry-point plugins, and their
    registrations made (once per process)."""
    if _CLI_MANAGER:
        return _CLI_MANAGER[0]
    import pluggy

    from harness import hookspecs

    class Manager(pluggy.PluginManager):
        """As pytest's: a plugin's ``pytest_*`` functions are hook implementations without a marker."""

        def parse_hookimpl_opts(self, plugin, name):
            opts = super().parse_hookimpl_opts(plugin, name)
            if opts is None and name.startswith("pytest_") and callable(getattr(plugin, name, None)):
                opts = {}
            return opts

    pm = Manager("pytest")
    pm.add_hookspecs(hookspecs)
    register_plugins(pm)
    pm.hook.pytest_claims_register.call_historic(kwargs={"registry": Registrations()})
    _CLI_MANAGER.append(pm)
    return pm


def machine_facts(hook) -> dict:
    """Every plugin's ``pytest_claims_machine_facts()``, merged (later plugins win)."""
    facts: dict = {}
    for result in reversed(hook.pytest_claims_machine_facts()):   # pluggy: last registered first
        if result:
            facts.update(result)
    return facts
