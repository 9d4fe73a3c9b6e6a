"""Read-only views the web client needs: the model list with fit badges, and a pending
tool call's dry run.

Both only read: the catalog and this machine's memory; a file and the diff a
write would make (``fs.write``/``fs.patch`` with ``dry_run: true``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from greenroom.bus import protocol as p
from greenroom.models.catalog import load_catalog
from greenroom.models.system import detect_system, fit
from greenroom.policy.guards import redact
from greenroom.runtime.errors import RequestError
from greenroom.runtime.paths import MODELS_DIR
from greenroom.tools.spec import ToolContext, ToolError, UnknownToolError


def models_view(runtime: Any) -> p.ModelsReply:
    """The catalog badged for the daemon's machine, which models are on disk and which is active."""
    from greenroom.models.local import local_models

    system = detect_system()
    try:
        found = local_models(runtime.config.data_dir / MODELS_DIR)
    except (OSError, ValueError):  # an unreadable cache must not hide the catalog
        found = []
    local = {m.repo for m in found}
    status = runtime.deps.model_status
    active = str(status.get("model", runtime.config.llm.model))
    models = []
    for m in load_catalog().models:
        f = fit(m.memory_gb, m.parameters_b, system)
        models.append(
            p.ModelView(
                id=m.id, name=m.name, hub_repo=m.hub_repo, parameters_b=m.parameters_b,
                quantization=m.quantization, memory_gb=m.memory_gb, context_window=m.context_window,
                vision=m.vision, tool_use=m.tool_use, badge=f.badge, reason=f.reason,
                local=m.hub_repo in local or m.id in local, active=active in (m.id, m.hub_repo),
            )
        )  # fmt: skip
    return p.ModelsReply(
        system=msgspec.to_builtins(system), models=models, active=active, loaded=bool(status.get("loaded", False)),
        local_models=[p.LocalModelView(repo=m.repo, path=m.path, size_bytes=m.size_bytes) for m in found],
    )  # fmt: skip


def preview(runtime: Any, confirmation_id: str) -> p.PreviewReply:
    """The dry run of the tool call a pending confirmation asks about.

    Raises:
        RequestError: ``not_found`` when no such confirmation waits.
    """
    view = runtime.tasks.task_of_confirmation(confirmation_id)
    pending = (
        None if view is None else next((c for c in view.confirmations if c.confirmation_id == confirmation_id), None)
    )
    if view is None or pending is None:
        raise RequestError("not_found", f"no pending confirmation {confirmation_id!r}")
    try:
        spec = runtime.tools.get(pending.tool) if pending.kind == "tool" else None
    except UnknownToolError:
        spec = None
    if spec is None or not spec.dry_run:
        what = pending.tool or pending.kind
        return p.PreviewReply(
            confirmation_id=confirmation_id, tool=pending.tool, dry_run=False, text=f"{what} has no dry run"
        )
    ctx = ToolContext(task_id=view.task_id, call_id=f"preview:{confirmation_id}", config=runtime.config.tools)
    try:
        text, _kinds = redact(spec.run(ctx, spec.parse_args({**pending.args, "dry_run": True})))
        ok = True
    except ToolError as exc:
        text, ok = str(exc), False
    return p.PreviewReply(confirmation_id=confirmation_id, tool=pending.tool, dry_run=True, text=text, ok=ok)
