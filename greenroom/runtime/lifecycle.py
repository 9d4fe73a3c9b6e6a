"""The gateway's dispatch for the data-lifecycle requests: journal, reset, plugins, model files,
parameters, load (with keep), generate and its cancel.

Kept apart from ``gateway.py`` (one ``case`` there sends these here), so each
group's operations live in their own module: ``journal_ops``, ``reset``,
``plugin_ops``, ``model_ops``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom.bus import protocol as p
from greenroom.runtime.errors import RequestError
from greenroom.runtime.reset import reset

if TYPE_CHECKING:
    from greenroom.runtime.core import Runtime

REQUESTS = (
    p.JournalStatsRequest, p.JournalCompact, p.JournalBackup, p.JournalExport, p.Reset, p.ListPlugins,
    p.PluginInstall, p.PluginUpdate, p.PluginEnable, p.PluginDisable, p.PluginRemove, p.ModelParamsRequest,
    p.RemoveModel, p.CancelGeneration, p.Generate, p.LoadModel,
)  # fmt: skip
"""The requests ``handle`` serves."""


def handle(rt: Runtime, request: p.Request, who: str) -> p.Reply:
    """Serve one of ``REQUESTS``; ``who`` is the client's name (journaled with each change)."""
    match request:
        case p.JournalStatsRequest():
            return p.JournalStatsReply(stats=rt.journal_ops.stats())
        case p.JournalCompact(older_than_days=days):
            return rt.journal_ops.compact(days, client=who)
        case p.JournalBackup(path=path, overwrite=overwrite):
            return rt.journal_ops.backup(path, overwrite, client=who)
        case p.JournalExport():
            return rt.journal_ops.export(request, client=who)
        case p.Reset(keep_memory=keep):
            return reset(rt, keep, client=who)
        case p.ListPlugins():
            return rt.plugin_ops.list()
        case p.PluginInstall():
            return rt.plugin_ops.install(request, client=who)
        case p.PluginUpdate(plugin_id=plugin_id, index=index):
            return rt.plugin_ops.update(plugin_id, index, client=who)
        case p.PluginEnable(plugin_id=plugin_id) | p.PluginDisable(plugin_id=plugin_id):
            return rt.plugin_ops.set_enabled(plugin_id, isinstance(request, p.PluginEnable), client=who)
        case p.PluginRemove(plugin_id=plugin_id):
            return rt.plugin_ops.remove(plugin_id, client=who)
        case p.ModelParamsRequest():
            return rt.model_ops.params(request, client=who)
        case p.RemoveModel(model=model):
            return rt.model_ops.remove(model, client=who)
        case p.CancelGeneration(request_id=request_id):
            return rt.model_ops.cancel(request_id)
        case p.Generate():
            return rt.model_ops.generate(request)
        case p.LoadModel(model=model, keep=keep):
            return rt.model_ops.load(model, keep, client=who)
        case _:
            raise RequestError("bad_request", f"unsupported request {request!r}")
