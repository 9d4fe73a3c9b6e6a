"""Every request the client library makes, each defined once for both clients.

A call builds one request and says which reply it expects and what to return
from it (a ``Call``). ``Calls`` lists them all; ``Client`` and ``AsyncClient``
both inherit it, and the ``call`` descriptor turns each into a blocking method
on the one and a coroutine method on the other, with the same signature and
docstring. So the two clients cannot drift: a new request is one function here.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from greenroom.bus import protocol as p
from greenroom.bus.memory_records import ForgetReport, MemoryStats, SearchResult

if TYPE_CHECKING:
    from greenroom.clients.client import AsyncClient, Client

P = ParamSpec("P")
R = TypeVar("R")


def _same(reply: Any) -> Any:
    return reply


@dataclass(frozen=True)
class Call(Generic[R]):
    """One request, the reply type it expects, and what the method returns from that reply."""

    request: p.Request
    reply: type
    pick: Callable[[Any], R] = field(default=_same)


class call(Generic[P, R]):
    """Makes a ``Call`` builder a method: blocking on ``Client``, a coroutine on ``AsyncClient``."""

    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__
        self.__wrapped__ = build  # inspect.signature and help() show the call's own

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> call[P, R]: ...
    @overload
    def __get__(self, obj: Client, owner: type | None = None) -> Callable[P, R]: ...
    @overload
    def __get__(self, obj: AsyncClient, owner: type | None = None) -> Callable[P, Awaitable[R]]: ...
    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        build = self.build
        if getattr(obj, "is_async", False):

            async def run_async(*args: Any, **kwargs: Any) -> Any:
                c = build(*args, **kwargs)
                return c.pick(await obj.request(c.request, c.reply))

            return functools.update_wrapper(run_async, build)

        def run(*args: Any, **kwargs: Any) -> Any:
            c = build(*args, **kwargs)
            return c.pick(obj.request(c.request, c.reply))

        return functools.update_wrapper(run, build)


class Calls:
    """The requests, one method each (see the module docstring)."""

    # -- tasks ---------------------------------------------------------------------------

    @call
    def submit(goal: str, run_at: float | None = None) -> Call[p.Submitted]:
        """Submit a task (``run_at``: a unix time to start at, once)."""
        return Call(p.Submit(goal=goal, run_at=run_at), p.Submitted)

    @call
    def cancel(task_id: str) -> Call[p.Ok]:
        return Call(p.Cancel(task_id=task_id), p.Ok)

    @call
    def confirm(confirmation_id: str, approved: bool, remember: bool = False, scope: str = "tool") -> Call[p.Ok]:
        """Answer a confirmation; with ``remember``, store the decision for this tool (or only
        this ``path`` folder, ``domain`` or exact ``command``)."""
        request = p.Confirm(confirmation_id=confirmation_id, approved=approved, remember=remember, scope=scope)  # type: ignore[arg-type]
        return Call(request, p.Ok)

    @call
    def tasks(status: list[str] | None = None) -> Call[list[p.TaskView]]:
        return Call(p.ListTasks(status=status or []), p.Tasks, lambda r: r.tasks)  # type: ignore[arg-type]

    @call
    def task(task_id: str) -> Call[p.TaskView]:
        return Call(p.GetTask(task_id=task_id), p.TaskReply, lambda r: r.task)

    @call
    def preview(confirmation_id: str) -> Call[p.PreviewReply]:
        """What a waiting tool call would do (its dry run)."""
        return Call(p.Preview(confirmation_id=confirmation_id), p.PreviewReply)

    @call
    def replay(
        from_seq: int = 1, to_seq: int | None = None, task_id: str | None = None, limit: int = 1000
    ) -> Call[p.Events]:
        return Call(p.Replay(from_seq=from_seq, to_seq=to_seq, task_id=task_id, limit=limit), p.Events)

    @call
    def status() -> Call[p.StatusReply]:
        return Call(p.Status(), p.StatusReply)

    @call
    def shutdown() -> Call[p.Stopping]:
        """Ask the daemon to stop (tasks park); it replies, then exits."""
        return Call(p.Shutdown(), p.Stopping)

    # -- tools and policy ----------------------------------------------------------------

    @call
    def tools() -> Call[list[p.ToolInfo]]:
        return Call(p.ListTools(), p.ToolsReply, lambda r: r.tools)

    @call
    def policy() -> Call[p.PolicyReply]:
        return Call(p.ShowPolicy(), p.PolicyReply)

    @call
    def test_policy(tool: str, args: dict[str, object]) -> Call[p.DecisionReply]:
        return Call(p.CheckPolicy(tool=tool, args=args), p.DecisionReply)

    @call
    def set_offline(on: bool) -> Call[p.Ok]:
        return Call(p.SetOffline(on=on), p.Ok)

    # -- tokens --------------------------------------------------------------------------

    @call
    def create_token(role: str = "viewer", name: str = "", ttl_s: float | None = None) -> Call[p.TokenCreated]:
        """Mint a token for ws/tcp clients (works only over ipc)."""
        return Call(p.TokenCreate(role=role, name=name, ttl_s=ttl_s), p.TokenCreated)  # type: ignore[arg-type]

    @call
    def list_tokens() -> Call[list[p.TokenInfo]]:
        return Call(p.TokenList(), p.TokensReply, lambda r: r.tokens)

    @call
    def revoke_token(token_id: str) -> Call[p.Ok]:
        return Call(p.TokenRevoke(token_id=token_id), p.Ok)

    # -- models --------------------------------------------------------------------------

    @call
    def models() -> Call[p.ModelsReply]:
        return Call(p.ListModels(), p.ModelsReply)

    @call
    def generate(
        messages: list[tuple[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        purpose: str = "chat",
        images: list[str] | None = None,
        request_id: str = "",
    ) -> Call[p.Generated]:
        """Generate with the daemon's active model; text streams on the timeline meanwhile.

        ``images`` go with the last message (a vision model answers). ``request_id``
        names the generation, so ``cancel_generation`` can stop it (default: the daemon picks one).
        """
        msgs = [p.ChatMessage(role, content) for role, content in messages]  # type: ignore[arg-type]
        if images:
            msgs[-1] = p.ChatMessage(msgs[-1].role, msgs[-1].content, list(images))
        request = p.Generate(
            messages=msgs, max_tokens=max_tokens, temperature=temperature, purpose=purpose, request_id=request_id
        )
        return Call(request, p.Generated)

    @call
    def cancel_generation(request_id: str) -> Call[p.Ok]:
        """Stop a running ``generate``: its reply comes with the text so far (``stop_reason`` cancelled)."""
        return Call(p.CancelGeneration(request_id=request_id), p.Ok)

    @call
    def load_model(model: str | None = None, keep: bool = False) -> Call[str]:
        """Load a model now and make it active (``keep``: after restarts too); returns its name."""
        return Call(p.LoadModel(model=model, keep=keep), p.Ok, lambda r: r.detail)

    @call
    def pull_model(model: str, offline: bool = False) -> Call[int]:
        """Start a download in the daemon; returns the seq to follow from for its events."""
        return Call(p.PullModel(model=model, offline=offline), p.Ok, lambda r: r.seq)

    @call
    def unload_model(model: str | None = None) -> Call[bool]:
        return Call(p.UnloadModel(model=model), p.Ok, lambda r: r.detail == "unloaded")

    @call
    def remove_model(model: str) -> Call[p.ModelRemovedReply]:
        """Delete a downloaded model's files in the daemon (unloading it first)."""
        return Call(p.RemoveModel(model=model), p.ModelRemovedReply)

    @call
    def model_params(
        model: str, set: dict[str, Any] | None = None, clear: list[str] | None = None
    ) -> Call[p.ModelParamsReply]:
        """A model's parameters; ``set`` merges values in, ``clear`` returns keys to their defaults."""
        return Call(p.ModelParamsRequest(model=model, set=set or {}, clear=clear or []), p.ModelParamsReply)

    # -- memory --------------------------------------------------------------------------

    @call
    def memory_add(text: str, tags: list[str] | None = None, source: str = "note") -> Call[str]:
        return Call(p.MemoryAdd(text=text, tags=tags or [], source=source), p.MemoryAdded, lambda r: r.item_id)

    @call
    def memory_ingest(paths: list[str], tags: list[str] | None = None) -> Call[p.IngestStarted]:
        """Start an ingest; follow the timeline from ``seq + 1`` for its ``memory.ingest.*`` events."""
        return Call(p.MemoryIngest(paths=paths, tags=tags or []), p.IngestStarted)

    @call
    def memory_search(
        query: str, k: int = 10, filter: p.MemoryFilter | None = None, rerank: bool | None = None
    ) -> Call[SearchResult]:
        request = p.MemorySearch(query=query, k=k, filter=filter or p.MemoryFilter(), rerank=rerank)
        return Call(request, p.MemoryHits, lambda r: r.result)

    @call
    def memory_forget(
        item_ids: list[str] | None = None,
        filter: p.MemoryFilter | None = None,
        query: str | None = None,
        limit: int = 1,
    ) -> Call[ForgetReport]:
        """Forget items (and their text in the journal); by ids, a filter, or the best hits of a query."""
        request = p.MemoryForget(item_ids=item_ids or [], filter=filter or p.MemoryFilter(), query=query, limit=limit)
        return Call(request, p.ForgetReply, lambda r: r.report)

    @call
    def memory_stats() -> Call[MemoryStats]:
        return Call(p.MemoryStatsRequest(), p.MemoryStatsReply, lambda r: r.stats)

    @call
    def memory_watch(paths: list[str], tags: list[str] | None = None) -> Call[p.WatchesReply]:
        """Keep folders indexed (absolute paths); follow from ``seq + 1`` for the first ingest's events."""
        return Call(p.MemoryWatch(paths=paths, tags=tags or []), p.WatchesReply)

    @call
    def memory_watches() -> Call[list[p.WatchView]]:
        return Call(p.MemoryWatches(), p.WatchesReply, lambda r: r.watches)

    @call
    def memory_unwatch(path: str) -> Call[p.Ok]:
        return Call(p.MemoryUnwatch(path=path), p.Ok)

    # -- schedules -----------------------------------------------------------------------

    @call
    def schedule_add(
        goal: str,
        *,
        cron: str = "",
        every_s: float = 0.0,
        tz: str = "",
        catch_up: str = "skip",
        start: float | None = None,
        max_failures: int | None = None,
    ) -> Call[p.ScheduleView]:
        """Add a recurring schedule (a cron expression or an interval in seconds)."""
        request = p.ScheduleAdd(
            goal=goal, cron=cron, every_s=every_s, tz=tz, catch_up=catch_up,  # type: ignore[arg-type]
            start=start, max_failures=max_failures,
        )  # fmt: skip
        return Call(request, p.ScheduleReply, lambda r: r.schedule)

    @call
    def schedules(removed: bool = False) -> Call[list[p.ScheduleView]]:
        return Call(p.ListSchedules(removed=removed), p.Schedules, lambda r: r.schedules)

    @call
    def schedule(schedule_id: str) -> Call[p.ScheduleView]:
        return Call(p.GetSchedule(schedule_id=schedule_id), p.ScheduleReply, lambda r: r.schedule)

    @call
    def schedule_pause(schedule_id: str) -> Call[p.Ok]:
        return Call(p.PauseSchedule(schedule_id=schedule_id), p.Ok)

    @call
    def schedule_resume(schedule_id: str) -> Call[p.Ok]:
        return Call(p.ResumeSchedule(schedule_id=schedule_id), p.Ok)

    @call
    def schedule_remove(schedule_id: str) -> Call[p.Ok]:
        return Call(p.RemoveSchedule(schedule_id=schedule_id), p.Ok)

    @call
    def schedule_run(schedule_id: str) -> Call[p.Submitted]:
        """Run a schedule's goal now, outside its slots."""
        return Call(p.RunSchedule(schedule_id=schedule_id), p.Submitted)

    # -- MCP servers ---------------------------------------------------------------------

    @call
    def mcp_add(
        name: str,
        *,
        command: list[str] | None = None,
        url: str = "",
        headers: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str = "",
        network: bool = False,
        timeout_s: float = 0.0,
        enabled: bool = True,
    ) -> Call[p.McpServerView]:
        """Add an MCP server (a stdio ``command`` or a Streamable HTTP ``url``); the daemon starts
        it to list its tools. Header and env values are stored by the daemon and never shown again."""
        request = p.McpAdd(
            name=name, command=list(command or []), url=url, headers=dict(headers or {}), env=dict(env or {}),
            cwd=cwd, network=network, timeout_s=timeout_s, enabled=enabled,
        )  # fmt: skip
        return Call(request, p.McpServerReply, lambda r: r.server)

    @call
    def mcp_list() -> Call[list[p.McpServerView]]:
        return Call(p.McpList(), p.McpServersReply, lambda r: r.servers)

    @call
    def mcp_show(name: str) -> Call[p.McpServerView]:
        return Call(p.McpShow(name=name), p.McpServerReply, lambda r: r.server)

    @call
    def mcp_remove(name: str) -> Call[p.Ok]:
        return Call(p.McpRemove(name=name), p.Ok)

    @call
    def mcp_enable(name: str, on: bool = True) -> Call[p.McpServerView]:
        return Call(p.McpEnable(name=name, on=on), p.McpServerReply, lambda r: r.server)

    @call
    def mcp_restart(name: str) -> Call[p.McpServerView]:
        return Call(p.McpRestart(name=name), p.McpServerReply, lambda r: r.server)

    # -- the journal ---------------------------------------------------------------------

    @call
    def journal_stats() -> Call[p.JournalStats]:
        return Call(p.JournalStatsRequest(), p.JournalStatsReply, lambda r: r.stats)

    @call
    def journal_compact(older_than_days: float | None = None) -> Call[p.CompactReply]:
        """Fold token chunks of finished tasks older than this (default: the daemon's setting)."""
        return Call(p.JournalCompact(older_than_days=older_than_days), p.CompactReply)

    @call
    def journal_backup(path: str, overwrite: bool = False) -> Call[p.BackupReply]:
        """Back the journal up into ``path`` (absolute, on the daemon's machine) while it runs."""
        return Call(p.JournalBackup(path=path, overwrite=overwrite), p.BackupReply)

    @call
    def journal_export(
        task_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        from_seq: int = 1,
        to_seq: int | None = None,
        limit: int = 1000,
    ) -> Call[p.Events]:
        """One page of an export (see ``docs/protocol.md``: the first page fixes its end)."""
        request = p.JournalExport(
            task_id=task_id, since=since, until=until, from_seq=from_seq, to_seq=to_seq, limit=limit
        )
        return Call(request, p.Events)

    @call
    def reset(keep_memory: bool = False) -> Call[p.ResetReply]:
        """Start over: remove every event (and memory item unless ``keep_memory``); no task may be open."""
        return Call(p.Reset(keep_memory=keep_memory), p.ResetReply)

    # -- plugins -------------------------------------------------------------------------

    @call
    def plugins() -> Call[list[p.PluginView]]:
        return Call(p.ListPlugins(), p.PluginsReply, lambda r: r.plugins)

    @call
    def plugin_install(source: str, index: str = "", enable: bool = True) -> Call[p.PluginReply]:
        """Install a plugin from a folder, or by id from an index file (absolute paths on the daemon's machine)."""
        return Call(p.PluginInstall(source=source, index=index, enable=enable), p.PluginReply)

    @call
    def plugin_update(plugin_id: str, index: str) -> Call[p.PluginReply]:
        return Call(p.PluginUpdate(plugin_id=plugin_id, index=index), p.PluginReply)

    @call
    def plugin_enable(plugin_id: str) -> Call[p.PluginReply]:
        return Call(p.PluginEnable(plugin_id=plugin_id), p.PluginReply)

    @call
    def plugin_disable(plugin_id: str) -> Call[p.PluginReply]:
        return Call(p.PluginDisable(plugin_id=plugin_id), p.PluginReply)

    @call
    def plugin_remove(plugin_id: str) -> Call[p.PluginReply]:
        return Call(p.PluginRemove(plugin_id=plugin_id), p.PluginReply)
