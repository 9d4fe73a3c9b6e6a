"""The runtime: journal, bus, task index, the seven supervised actors, and the
operations clients ask for. Everything that lives in the daemon process."""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TypeVar

import psutil
import structlog

from greenroom import __version__
from greenroom._userpath import user_path
from greenroom.actors import (
    ActorDeps,
    ActorError,
    CallFailed,
    GreenroomActor,
    Handles,
    TaskIndex,
    ToolRunner,
)
from greenroom.actors.chat_index import ChatIndex
from greenroom.actors.messages import (
    CancelTask,
    EvaluateCall,
    Forget,
    Ingest,
    LoadModel,
    ParkAll,
    Query,
    Remember,
    ResumeOpen,
    Search,
    Stats,
    UnloadModel,
    Unwatch,
    Watch,
    Watches,
)
from greenroom.actors.roster import ACTOR_CLASSES
from greenroom.bus import Bus, Journal, create_private_file
from greenroom.bus.events import (
    ConfirmationAnswered,
    DaemonStarted,
    DaemonStopping,
    Error,
    ModelDownloadFinished,
    PolicyOffline,
    TaskSubmitted,
)
from greenroom.bus.memory_records import ForgetReport, MemoryStats, SearchResult
from greenroom.bus.protocol import (
    TERMINAL_STATUSES,
    McpAdd,
    McpServerView,
    PendingConfirmation,
    StatusReply,
    TaskView,
    WatchView,
)
from greenroom.memory import BadMemoryInput, Filters, MemoryEngine, MemoryEngineError
from greenroom.models import (
    DEFAULT_MODEL,
    Backend,
    LlmConfig,
    ModelError,
    ProgressFn,
    ScriptedBackend,
    ensure_default_model,
)
from greenroom.models.catalog import load_catalog
from greenroom.models.hub import pull
from greenroom.models.openai_backend import FallbackBackend, OpenAIBackend
from greenroom.models.params import ParamsStore, check_model_id
from greenroom.models.select import local_backend
from greenroom.models.vlm_backend import VisionRouter, VlmBackend, has_vision
from greenroom.policy import PolicyDecision, PolicyEngine, Scope, default_rules, scopes_for
from greenroom.policy.guards import SecretMasker
from greenroom.runtime.chat_ops import ChatOps
from greenroom.runtime.config import Config
from greenroom.runtime.errors import RequestError
from greenroom.runtime.journal_ops import JournalOps
from greenroom.runtime.model_ops import ModelOps
from greenroom.runtime.paths import (
    JOURNAL_FILE,
    LOG_DIR,
    MCP_MEDIA_DIR,
    MEMORY_FILE,
    MEMORY_INDEX_DIR,
    MODELS_DIR,
    PLUGINS_DIR,
    STATE_FILE,
    TOOL_VECTORS_FILE,
    ensure_private_dir,
)
from greenroom.runtime.plugin_ops import PluginOps
from greenroom.runtime.schedule_ops import ScheduleOps
from greenroom.runtime.state_db import migrate_state
from greenroom.runtime.supervisor import Supervisor
from greenroom.schedules import ScheduleIndex
from greenroom.tools import ToolRegistry, default_tools
from greenroom.tools.mcp import (
    McpConfigError,
    McpConflictError,
    McpManager,
    McpNotFoundError,
    McpSecrets,
    McpServerSpec,
    McpStore,
)
from greenroom.tools.plugins import PluginManager
from greenroom.tools.routing import ToolRouter
from greenroom.tools.selector import ToolSelector

log = structlog.get_logger(__name__)

R = TypeVar("R")

MAX_GOAL_CHARS = 8000


def backend_factory(llm: LlmConfig, data_dir: Path):  # type: ignore[no-untyped-def]
    """A zero-argument factory of the configured backend (models load lazily)."""

    def mlx(model: str) -> Backend:
        def resolve(progress: ProgressFn | None = None) -> str | Path:
            if model == DEFAULT_MODEL:
                return ensure_default_model(ensure_private_dir(data_dir / MODELS_DIR, ours=True), progress)
            local = user_path(model)
            return local if local.exists() else model  # else a hub repo id

        text = local_backend(
            resolve,
            name=model,
            runtime=llm.runtime,
            quantize=llm.quantize,
            threads=llm.threads,
            decode_threads=llm.decode_threads,
            fast_forward=llm.fast_forward,
            keep_alive_s=llm.keep_alive_s,
            allow_oversize=llm.allow_oversize,
        )
        vision_model = llm.vision_model or (model if has_vision(resolve_path(model)) else "")
        if not vision_model:
            return text
        vision_path = resolve_path(vision_model)
        return VisionRouter(text, VlmBackend(lambda: vision_path, name=f"{vision_model} [mlx-vlm]"))

    def resolve_path(model: str) -> str | Path:
        local = user_path(model)
        return local if local.exists() else model

    remotes = {r.name: r for r in llm.remotes}

    def backend_for(model: str) -> Backend:
        """A remote by name, the configured server for the main model, or a local mlx model."""
        if (remote := remotes.get(model)) is not None:
            return OpenAIBackend(remote.base_url, remote.model or remote.name, api_key=remote.api_key)
        if llm.backend == "openai" and model == llm.model:
            return OpenAIBackend(llm.base_url, llm.model, api_key=llm.api_key)
        return mlx(model)

    def make(model: str | None = None) -> Backend:
        if llm.backend == "scripted":
            return ScriptedBackend(user_path(llm.script) if llm.script else None)
        if model is not None and model != llm.model:
            return backend_for(model)  # explicitly loaded: no fallback chain
        primary = backend_for(llm.model)
        if not llm.fallback:
            return primary
        return FallbackBackend([primary, *(backend_for(name) for name in llm.fallback)])

    return make


class Runtime:
    """Builds and owns everything in the daemon; closes it in order.

    Args:
        config: the daemon's configuration.
        make_backend: overrides the configured model backend (tests).
        clock: the wall clock schedules run by (tests freeze it).
    """

    def __init__(self, config: Config, *, make_backend=None, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.started_at = time.time()
        data_dir = ensure_private_dir(config.data_dir)
        migrate_state(data_dir / STATE_FILE)  # before any store opens it
        self.journal = Journal(data_dir / JOURNAL_FILE)
        self.bus = Bus(self.journal, mask=SecretMasker())
        self.journal.on_corrupt = self._report_corrupt
        self.tasks = TaskIndex()
        self.tasks.load(self.journal)
        self.bus.add_listener(self.tasks.apply, types=self.tasks.TYPES)
        self.journal_ops = JournalOps(self.bus, self.tasks, config.journal, data_dir / LOG_DIR, clock)
        self.chats = ChatIndex()
        self.chats.load(self.journal)
        self.bus.add_listener(self.chats.apply, types=self.chats.TYPES)
        self.journal_ops.rewriters.append(self.chats.rewrite)
        self.schedules = ScheduleIndex()
        self.schedules.load(self.journal)
        self.bus.add_listener(self.schedules.apply, types=self.schedules.TYPES)
        self.schedule_ops = ScheduleOps(self.bus, self.schedules, config.schedules, clock)
        self.supervisor = Supervisor(self.bus)
        # Opens lazily (models and indexes load on first use), so start-up stays fast.
        self.memory = MemoryEngine(
            data_dir / MEMORY_FILE,
            ensure_private_dir(data_dir / MEMORY_INDEX_DIR, ours=True),
            config.memory,
            publish=lambda event: self.bus.publish(event, source="memory"),
            scrub=self.journal_ops.scrub,  # a forget reaches the journal and the logs
        )
        builtins = default_tools(config.tools)
        self.plugins = PluginManager(data_dir / PLUGINS_DIR, data_dir / STATE_FILE)
        plugin_tools, self.plugin_errors = self.plugins.load_tools({t.name for t in builtins})
        for plugin_id, error in self.plugin_errors.items():
            log.warning("plugin_not_loaded", plugin=plugin_id, error=error)
        self.tools = ToolRegistry([*builtins, *plugin_tools])
        # MCP servers' cached tools join the registry now; the servers start on first use.
        self.mcp = McpManager(
            McpStore(data_dir / STATE_FILE),
            self.tools,
            config.mcp,
            publish=lambda event: self.bus.publish(event, source="mcp"),
            media_dir=data_dir / MCP_MEDIA_DIR,
            log_dir=data_dir / LOG_DIR,
        )
        self.model_params = ParamsStore(data_dir / STATE_FILE)
        self.policy_engine = PolicyEngine(
            data_dir / STATE_FILE,
            rules=config.policy.rules,
            defaults=default_rules({t.name: t.facts() for t in self.tools}, config.tools.fs_roots),
            base_dir=user_path(config.tools.fs_roots[0]) if config.tools.fs_roots else None,
        )
        # Tools come and go with MCP servers: the defaults (read-only allows) follow.
        self.tools.subscribe(self._tools_changed)
        # The tool context builder: ranks every tool against a step's intent (shares memory's
        # embedding model and reranker, both lazy; tool vectors are cached on disk).
        create_private_file(data_dir / TOOL_VECTORS_FILE)
        self.tool_selector = ToolSelector(
            self.memory.embedder,
            reranker=self.memory.reranker if config.tools.context_rerank else None,
            top_n=config.tools.context_tools,
            cache_path=data_dir / TOOL_VECTORS_FILE,
        )
        self.deps = ActorDeps(
            bus=self.bus,
            tasks=self.tasks,
            tools=self.tools,
            agent=config.agent,
            llm=config.llm,
            tools_config=config.tools,
            make_backend=make_backend or backend_factory(config.llm, data_dir),
            memory=self.memory,
            policy_engine=self.policy_engine,
            model_params=self.model_params,
            clock=clock,
            schedules=self.schedules,
            schedule_config=config.schedules,
            chats=self.chats,
        )
        self.chat_ops = ChatOps(self.bus, self.chats, self.tasks, self.deps)
        self.deps.tool_runner = ToolRunner(self.deps, workers=config.agent.tool_workers)
        self.deps.router = ToolRouter(self.memory.embedder, config.agent.tool_match)
        self.model_ops = ModelOps(self)
        self.plugin_ops = PluginOps(self)
        self._confirm_lock = threading.Lock()
        self._started = False
        self._parked = False
        self._closed = False

    def _report_corrupt(self, seq: int, why: str) -> None:
        """A journal row could not be decoded: readers skip it; say so on the timeline, once."""
        log.error("journal_row_corrupt", seq=seq, error=why)
        self.bus.publish(
            Error(message=f"journal row {seq} could not be decoded and is skipped: {why}", code="corrupt_event"),
            source="journal",
        )

    def _tools_changed(self) -> None:
        facts = {t.name: t.facts() for t in self.tools}
        self.policy_engine.set_defaults(default_rules(facts, self.config.tools.fs_roots))

    def actor_factory(self, cls: type[GreenroomActor]):  # type: ignore[no-untyped-def]
        return lambda: cls.start(self.supervisor.crashed, self.deps)

    def start(self) -> None:
        """Start the actors, then resume every task that had started before."""
        sup = self.supervisor
        self.deps.handles = Handles(
            **{cls.name: sup.handle(cls.name) for cls in ACTOR_CLASSES}  # type: ignore[arg-type]
        )
        started = self.bus.publish(DaemonStarted(version=__version__, pid=os.getpid()), source="runtime")
        self.deps.life_seq = started.seq
        for plugin_id, error in self.plugin_errors.items():
            self.bus.publish(
                Error(message=f"plugin {plugin_id} was not loaded: {error}", code="plugin"), source="runtime"
            )
        for cls in ACTOR_CLASSES:
            sup.start(cls.name, self.actor_factory(cls))
        self.mcp.start()
        self._started = True
        resumed = self.deps.handles.scheduler.ask(ResumeOpen(), timeout=60)
        log.info("tasks_resumed", count=resumed)
        self.journal_ops.start_retention()
        self.model_ops.load_at_start()

    def park(self, reason: str = "stopping") -> None:
        """Announce the stop and park every task in progress where it is (idempotent).

        Running tool calls get a few seconds to finish and journal their results; one that
        does not is known at the next start as "may have acted" (``tool.invoked`` is durable).
        """
        if not self._started or self._parked:
            return
        self._parked = True
        self.bus.publish(DaemonStopping(reason=reason), source="runtime")
        assert self.deps.handles is not None
        try:
            self.deps.handles.executor.ask(ParkAll(), timeout=30)
        except ActorError as exc:
            log.error("park_failed", error=str(exc))
        self.deps.runner.drain(timeout=self.config.agent.park_grace_s)
        self.bus.flush()

    def close(self, reason: str = "stopping") -> None:
        """Park running tasks, stop the actors, flush and close the journal (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self.park(reason)
            self.supervisor.stop_all()
        self.deps.runner.close()
        self.mcp.close()
        self.mcp.store.close()
        self.tool_selector.close()
        self.journal_ops.close()
        self.memory.close()
        self.bus.close()
        self.journal.close()
        self.policy_engine.close()
        self.model_params.close()
        self.plugins.close()
        log.info("runtime_closed", head=self.journal.head)

    # -- operations clients ask for --------------------------------------------------------

    def submit(self, goal: str, run_at: float | None = None, client: str = "") -> tuple[str, int]:
        goal = goal.strip()
        if not goal:
            raise RequestError("bad_request", "goal is empty")
        if len(goal) > MAX_GOAL_CHARS:
            raise RequestError("bad_request", f"goal is {len(goal)} characters; at most {MAX_GOAL_CHARS}")
        if run_at is not None and not math.isfinite(run_at):  # NaN ran at once, infinity never
            raise RequestError("bad_request", f"run_at must be a unix time, not {run_at}")
        task_id = "t-" + uuid.uuid4().hex[:8]
        env = self.bus.publish(
            TaskSubmitted(goal=goal, run_at=run_at, client=client),
            source="gateway",
            task_id=task_id,
            correlation_id=task_id,
            durable=True,
        )
        return task_id, env.seq

    def task(self, task_id: str) -> TaskView:
        view = self.tasks.get(task_id)
        if view is None:
            raise RequestError("not_found", f"no task {task_id!r}")
        return view

    def cancel(self, task_id: str, client: str = "") -> int:
        view = self.task(task_id)
        if view.status in TERMINAL_STATUSES:
            raise RequestError("conflict", f"task {task_id} already {view.status}")
        reason = f"cancelled by {client or 'a client'}"
        assert self.deps.handles is not None
        try:  # the Executor journals it (durably) in order with the task's other events
            return self.deps.handles.executor.ask(CancelTask(task_id=task_id, reason=reason), timeout=10)
        except CallFailed as exc:
            raise RequestError(exc.code, str(exc)) from exc

    def confirm(
        self, confirmation_id: str, approved: bool, remember: bool, client: str = "", scope: Scope = "tool"
    ) -> int:
        with self._confirm_lock:
            view = self.tasks.task_of_confirmation(confirmation_id)
            pending = (
                None
                if view is None
                else next((c for c in view.confirmations if c.confirmation_id == confirmation_id), None)
            )
            if view is None or pending is None:
                raise RequestError("not_found", f"no pending confirmation {confirmation_id!r} (answered already?)")
            if remember:
                self._check_scope(pending, scope)
            env = self.bus.publish(
                ConfirmationAnswered(
                    confirmation_id=confirmation_id,
                    approved=approved,
                    remember=remember,
                    client=client,
                ),
                source="gateway",
                task_id=view.task_id,
                causation_id=pending.seq,
                correlation_id=view.task_id,
                durable=True,
            )
        if remember:
            self.policy_engine.remember(pending.tool, pending.args, approved, scope)
        return env.seq

    @staticmethod
    def _check_scope(pending: PendingConfirmation, scope: Scope) -> None:
        """Refuse to remember what cannot be: a scope that does not fit the call (naming those that do)."""
        if pending.kind != "tool":
            raise RequestError(
                "bad_request", f"only answers about tool calls can be remembered (this one is {pending.kind!r})"
            )
        fits = scopes_for(pending.args)
        if scope not in fits:
            raise RequestError(
                "bad_request",
                f"scope {scope!r} does not fit this {pending.tool} call; remember it with one of: {', '.join(fits)}",
            )

    def set_offline(self, on: bool, client: str = "") -> int:
        """Switch offline mode (persisted and journaled)."""
        self.policy_engine.set_offline(on)
        return self.bus.publish(PolicyOffline(on=on), source="gateway", durable=True).seq

    def test_policy(self, tool: str, args: dict[str, object]) -> PolicyDecision:
        """What the policy would decide for a call, without journaling anything."""
        assert self.deps.handles is not None
        return self.deps.handles.policy.ask(EvaluateCall(tool=tool, args=dict(args)), timeout=10)

    # -- models ---------------------------------------------------------------------------

    def load_model(self, model: str | None) -> str:
        """Load a model now (it becomes the active one); returns its name."""
        assert self.deps.handles is not None
        if model:
            try:
                check_model_id(model, tuple(r.name for r in self.config.llm.remotes))
            except ModelError as exc:
                raise RequestError("bad_request", str(exc)) from exc
        try:
            return self.deps.handles.llm.ask(LoadModel(model=model), timeout=600)
        except CallFailed as exc:
            raise RequestError("conflict", str(exc)) from exc

    def pull_model(self, model: str, offline: bool) -> None:
        """Start downloading ``model`` (a catalog id or hub repo) on a thread; progress goes on the bus."""
        entry = load_catalog().get(model)
        repo = entry.hub_repo if entry else model
        try:
            check_model_id(repo)
        except ModelError as exc:
            raise RequestError("bad_request", str(exc)) from exc

        def run() -> None:
            publish = lambda event: self.bus.publish(event, source="models")  # noqa: E731
            try:
                path = pull(repo, on_progress=publish, offline=offline)
            except ModelError as exc:
                publish(ModelDownloadFinished(model=repo, error=str(exc)))
            else:
                publish(ModelDownloadFinished(model=repo, path=str(path)))

        threading.Thread(target=run, name=f"pull-{repo}", daemon=True).start()

    def unload_model(self, model: str | None) -> bool:
        assert self.deps.handles is not None
        return self.deps.handles.llm.ask(UnloadModel(model=model), timeout=60)

    # -- memory ---------------------------------------------------------------------------

    def _memory(self, query: Query[R], timeout: float = 120, code: str = "bad_request") -> R:
        assert self.deps.handles is not None
        try:
            return self.deps.handles.memory.ask(query, timeout=timeout)
        except CallFailed as exc:
            raise RequestError(code if exc.code == "bad_request" else exc.code, str(exc)) from exc
        except (MemoryEngineError, BadMemoryInput) as exc:
            raise RequestError("bad_request", str(exc)) from exc

    def memory_add(self, text: str, tags: list[str], source: str = "note") -> str:
        return self._memory(Remember(text=text, tags=tags, source=source))

    def memory_ingest(self, paths: list[str], tags: list[str]) -> str:
        return self._memory(Ingest(paths=paths, tags=tags))

    def memory_search(self, query: str, k: int, filters: Filters, rerank: bool | None) -> SearchResult:
        return self._memory(Search(query=query, k=k, filters=filters, rerank=rerank))

    def memory_forget(self, item_ids: list[str], filters: Filters, query: str | None, limit: int) -> ForgetReport:
        if not item_ids and filters.empty and not query:
            raise RequestError("bad_request", "forget needs item ids, a filter or a query")
        request = Forget(item_ids=item_ids, filters=filters, query=query, limit=limit, reason="asked by a client")
        return self._memory(request)

    def memory_stats(self) -> MemoryStats:
        return self._memory(Stats())

    def memory_watch(self, paths: list[str], tags: list[str]) -> list[WatchView]:
        return self._memory(Watch(paths=paths, tags=tags))

    def memory_watches(self) -> list[WatchView]:
        return self._memory(Watches())

    def memory_unwatch(self, path: str) -> int:
        return self._memory(Unwatch(path=path), timeout=30, code="not_found")

    # -- MCP servers ----------------------------------------------------------------------

    def _mcp(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except McpNotFoundError as exc:
            raise RequestError("not_found", str(exc)) from exc
        except McpConflictError as exc:
            raise RequestError("conflict", str(exc)) from exc
        except McpConfigError as exc:
            raise RequestError("bad_request", str(exc)) from exc

    def mcp_add(self, request: McpAdd) -> McpServerView:
        """Add a server and start it (when enabled) to list its tools."""
        spec = McpServerSpec(
            name=request.name,
            command=list(request.command),
            url=request.url,
            cwd=request.cwd,
            network=request.network,
            timeout_s=request.timeout_s,
        )
        secrets = McpSecrets(headers=dict(request.headers), env=dict(request.env))
        return self._mcp(self.mcp.add, spec, secrets, enabled=request.enabled)  # type: ignore[no-any-return]

    def mcp_servers(self) -> list[McpServerView]:
        return self._mcp(self.mcp.views)  # type: ignore[no-any-return]

    def mcp_server(self, name: str) -> McpServerView:
        return self._mcp(self.mcp.view, name)  # type: ignore[no-any-return]

    def mcp_remove(self, name: str) -> None:
        self._mcp(self.mcp.remove, name)

    def mcp_enable(self, name: str, on: bool) -> McpServerView:
        return self._mcp(self.mcp.set_enabled, name, on)  # type: ignore[no-any-return]

    def mcp_restart(self, name: str) -> McpServerView:
        return self._mcp(self.mcp.restart, name)  # type: ignore[no-any-return]

    def status(self, clients: int = 0) -> StatusReply:
        info = self.deps.model_status
        return StatusReply(
            version=__version__,
            pid=os.getpid(),
            uptime_s=round(time.time() - self.started_at, 3),
            head=self.bus.head,
            tasks=self.tasks.counts(),
            actors=self.supervisor.status(),
            model=str(info.get("model", self.config.llm.model)),
            model_loaded=bool(info.get("loaded", False)),
            rss_bytes=psutil.Process().memory_info().rss,
            clients=clients,
            corrupt_events=len(self.journal.corrupt),
            notes=[f"memory: {self.memory.reranker_error}"] if self.memory.reranker_error else [],
        )
