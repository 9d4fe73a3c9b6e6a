"""The client protocol: requests and replies on the control socket.

Every request and reply is a tagged msgspec Struct (tag field ``op`` for
requests, ``type`` for replies), encoded as msgpack, or as JSON when the
request frame starts with ``{`` (the reply then is JSON too). A client sends
``hello`` first on each connection; ``docs/protocol.md`` is the full spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec

from greenroom.bus.chat_protocol import (
    ChatCreate,
    ChatDelete,
    ChatDuplicate,
    ChatExport,
    ChatExported,
    ChatForget,
    ChatForgotten,
    ChatHits,
    ChatImport,
    ChatRename,
    ChatReply,
    Chats,
    ChatSearch,
    ChatSend,
    ChatSent,
    GetChat,
    ListChats,
)
from greenroom.bus.envelope import Envelope
from greenroom.bus.memory_records import ForgetReport, MemoryStats, SearchResult
from greenroom.bus.protocol_base import _Reply, _Request
from greenroom.bus.protocol_lifecycle import (
    BackupReply,
    CancelGeneration,
    CompactReply,
    JournalBackup,
    JournalCompact,
    JournalExport,
    JournalStatsReply,
    JournalStatsRequest,
    ListPlugins,
    ModelParamsReply,
    ModelParamsRequest,
    ModelRemovedReply,
    PluginDisable,
    PluginEnable,
    PluginInstall,
    PluginRemove,
    PluginReply,
    PluginsReply,
    PluginUpdate,
    RemoveModel,
    Reset,
    ResetReply,
)
from greenroom.bus.protocol_lifecycle import JournalStats as JournalStats
from greenroom.bus.protocol_lifecycle import LocalModelView as LocalModelView
from greenroom.bus.protocol_lifecycle import PluginView as PluginView

PROTOCOL_VERSION = 1

Seq = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A seq a request names: any signed 64-bit int (what the journal's SQLite holds); a bigger one
is a ``bad_request`` naming the field, not a failed query."""

TaskStatus = Literal["pending", "running", "waiting", "parked", "finished", "failed", "cancelled"]
TERMINAL_STATUSES = frozenset({"finished", "failed", "cancelled"})


class Hello(_Request, tag="hello", frozen=True):
    protocol: int
    client: str = ""
    token: str = ""


class Submit(_Request, tag="submit", frozen=True):
    goal: str
    run_at: float | None = None
    """Unix time to start at (a delayed one-shot task); None starts now."""


class Cancel(_Request, tag="cancel", frozen=True):
    task_id: str


class Confirm(_Request, tag="confirm", frozen=True):
    confirmation_id: str
    approved: bool
    remember: bool = False
    scope: Literal["tool", "path", "domain", "command"] = "tool"
    """With ``remember``: remember for this tool, or only this folder / domain / exact command."""


class ListTasks(_Request, tag="tasks", frozen=True):
    status: list[TaskStatus] = []
    limit: int = 100


class GetTask(_Request, tag="task", frozen=True):
    task_id: str


class Replay(_Request, tag="replay", frozen=True):
    from_seq: Seq = 1
    to_seq: Seq | None = None
    task_id: str | None = None
    limit: int = 1000


class Status(_Request, tag="status", frozen=True):
    pass


class ListTools(_Request, tag="tools", frozen=True):
    pass


class Shutdown(_Request, tag="shutdown", frozen=True):
    """Stop the daemon as SIGTERM would: running tasks park, the journal is flushed, the lock
    released. The ``stopping`` reply comes first; the process exits soon after."""


class ShowPolicy(_Request, tag="policy", frozen=True):
    pass


class CheckPolicy(_Request, tag="policy_test", frozen=True):
    tool: str
    args: dict[str, Any] = {}


class SetOffline(_Request, tag="offline", frozen=True):
    on: bool


class ChatMessage(msgspec.Struct, frozen=True):
    role: Literal["system", "user", "assistant"]
    content: str
    images: list[str] = []
    """Image files (paths on the daemon's machine) or URLs: the request goes to a vision model."""


class Generate(_Request, tag="generate", frozen=True):
    """Generate with the active model, outside any task. Text streams on the timeline as
    ``llm.chunk`` events with ``request_id = "-:<purpose>"``; the reply comes when it is done."""

    messages: list[ChatMessage]
    max_tokens: int = 256
    temperature: float = 0.0
    schema: dict[str, Any] | None = None
    purpose: str = "chat"
    request_id: str = ""
    """Names the generation (its ``llm.*`` events' ``request_id``, and what ``generate_cancel`` takes);
    empty: the daemon picks one. Letters, digits, ``.``, ``_`` and ``-``, at most 64."""


class LoadModel(_Request, tag="model_load", frozen=True):
    """Load a model now and make it the active one (default: the configured model)."""

    model: str | None = None
    keep: bool = False
    """Also make it the active model after restarts (with no model: back to the configured one)."""


class PullModel(_Request, tag="model_pull", frozen=True):
    """Download a model in the background: ``model.download.progress`` events, then one
    ``model.download.finished``."""

    model: str
    offline: bool = False


class UnloadModel(_Request, tag="model_unload", frozen=True):
    model: str | None = None
    """Default: the active model."""


class MemoryAdd(_Request, tag="memory_add", frozen=True):
    text: str
    tags: list[str] = []
    source: str = "note"


class MemoryIngest(_Request, tag="memory_ingest", frozen=True):
    """Start ingesting files and folders (absolute paths); progress comes on the timeline."""

    paths: list[str]
    tags: list[str] = []


class MemoryFilter(msgspec.Struct, frozen=True, kw_only=True):
    tags: list[str] = []
    source: str | None = None
    since: float | None = None
    until: float | None = None
    path_prefix: str | None = None


class MemorySearch(_Request, tag="memory_search", frozen=True):
    query: str
    k: int = 10
    filter: MemoryFilter = MemoryFilter()
    rerank: bool | None = None
    """None: as configured."""


class MemoryForget(_Request, tag="memory_forget", frozen=True):
    """Forget by ids, by filter, or the items behind the best ``limit`` hits of ``query``."""

    item_ids: list[str] = []
    filter: MemoryFilter = MemoryFilter()
    query: str | None = None
    limit: int = 1


class MemoryStatsRequest(_Request, tag="memory_stats", frozen=True):
    pass


class ScheduleAdd(_Request, tag="schedule_add", frozen=True):
    """Add a recurring schedule: a cron expression or an interval (exactly one)."""

    goal: str
    cron: str = ""
    every_s: float = 0.0
    tz: str = ""
    """IANA zone name; empty: the daemon's local zone."""
    catch_up: Literal["skip", "once"] = "skip"
    start: float | None = None
    """Interval schedules: the first slot (Unix time); default one interval from now."""
    max_failures: int | None = None
    """Pause after this many consecutive failed runs (0: never); default from the config."""


class ListSchedules(_Request, tag="schedules", frozen=True):
    removed: bool = False
    """Include removed schedules."""


class GetSchedule(_Request, tag="schedule", frozen=True):
    schedule_id: str


class PauseSchedule(_Request, tag="schedule_pause", frozen=True):
    schedule_id: str


class ResumeSchedule(_Request, tag="schedule_resume", frozen=True):
    schedule_id: str


class RemoveSchedule(_Request, tag="schedule_rm", frozen=True):
    schedule_id: str


class RunSchedule(_Request, tag="schedule_run", frozen=True):
    """Run a schedule's goal now, outside its slots."""

    schedule_id: str


class MemoryWatch(_Request, tag="memory_watch", frozen=True):
    """Keep folders (absolute paths) indexed: ingest them now, then re-ingest what changes."""

    paths: list[str]
    tags: list[str] = []


class MemoryWatches(_Request, tag="memory_watches", frozen=True):
    pass


class MemoryUnwatch(_Request, tag="memory_unwatch", frozen=True):
    path: str


Role = Literal["viewer", "operator", "admin"]
"""What a token may do: ``viewer`` reads, ``operator`` also acts on tasks, ``admin`` also changes the daemon."""


class TokenCreate(_Request, tag="token_create", frozen=True):
    """Mint a token for ``ws``/``tcp`` clients (only over ``ipc``: the machine's own user)."""

    role: Role = "viewer"
    name: str = ""
    ttl_s: float | None = None
    """Seconds until it expires; None: never."""


class TokenList(_Request, tag="token_list", frozen=True):
    pass


class TokenRevoke(_Request, tag="token_revoke", frozen=True):
    token_id: str


class ListModels(_Request, tag="models", frozen=True):
    """The catalog with fit badges for the daemon's machine, and what is loaded."""


class Preview(_Request, tag="preview", frozen=True):
    """What a pending tool call would do: its dry run (a unified diff for ``fs.write``/``fs.patch``)."""

    confirmation_id: str


class McpAdd(_Request, tag="mcp_add", frozen=True):
    """Add an MCP server: a ``command`` line (stdio) or a ``url`` (Streamable HTTP).

    Header and env values are secrets: stored 0600 by the daemon, never shown again.
    """

    name: str
    command: list[str] = []
    url: str = ""
    headers: dict[str, str] = {}
    env: dict[str, str] = {}
    cwd: str = ""
    network: bool = False
    """A stdio server that reaches the network itself (denied in offline mode, like HTTP servers)."""
    timeout_s: float = 0.0
    """Per-call timeout; 0: the daemon's ``mcp.call_timeout_s``."""
    enabled: bool = True


class McpList(_Request, tag="mcp_list", frozen=True):
    pass


class McpShow(_Request, tag="mcp_show", frozen=True):
    name: str


class McpRemove(_Request, tag="mcp_remove", frozen=True):
    name: str


class McpEnable(_Request, tag="mcp_enable", frozen=True):
    name: str
    on: bool


class McpRestart(_Request, tag="mcp_restart", frozen=True):
    name: str


Request = Union[
    Hello,
    Submit,
    Cancel,
    Confirm,
    ListTasks,
    GetTask,
    Replay,
    Status,
    ListTools,
    Shutdown,
    ShowPolicy,
    CheckPolicy,
    SetOffline,
    Generate,
    LoadModel,
    PullModel,
    UnloadModel,
    MemoryAdd,
    MemoryIngest,
    MemorySearch,
    MemoryForget,
    MemoryStatsRequest,
    ScheduleAdd,
    ListSchedules,
    GetSchedule,
    PauseSchedule,
    ResumeSchedule,
    RemoveSchedule,
    RunSchedule,
    MemoryWatch,
    MemoryWatches,
    MemoryUnwatch,
    TokenCreate,
    TokenList,
    TokenRevoke,
    ListModels,
    Preview,
    McpAdd,
    McpList,
    McpShow,
    McpRemove,
    McpEnable,
    McpRestart,
    JournalStatsRequest,
    JournalCompact,
    JournalBackup,
    JournalExport,
    Reset,
    ListPlugins,
    PluginInstall,
    PluginUpdate,
    PluginEnable,
    PluginDisable,
    PluginRemove,
    ModelParamsRequest,
    RemoveModel,
    CancelGeneration,
    ChatCreate,
    ListChats,
    GetChat,
    ChatRename,
    ChatDelete,
    ChatDuplicate,
    ChatSearch,
    ChatExport,
    ChatImport,
    ChatSend,
    ChatForget,
]


class PendingConfirmation(msgspec.Struct, frozen=True, kw_only=True):
    confirmation_id: str
    question: str
    kind: str = "tool"
    tool: str = ""
    args: dict[str, Any] = {}
    seq: int = 0
    resolved: dict[str, str] = {}
    """Path arguments as resolved when the call was decided: what "yes" approves."""
    call_id: str = ""
    """The tool call the question is about (``tool`` and ``rerun`` questions)."""


class TaskView(msgspec.Struct, kw_only=True):
    """A task's state, derived from its events in the journal."""

    task_id: str
    goal: str
    status: TaskStatus = "pending"
    submitted_seq: int = 0
    last_seq: int = 0
    created: float = 0.0
    updated: float = 0.0
    run_at: float | None = None
    steps_total: int = 0
    steps_done: int = 0
    answer: str = ""
    error: str = ""
    confirmations: list[PendingConfirmation] = []
    replans: int = 0
    """How often the critic had the rest of the plan replaced (``steps_total`` counts the new steps)."""
    reminder: bool = False
    """A reminder (``reminders.set``): at ``run_at`` it finishes saying "Reminder: <goal>", nothing else."""


class ScheduleRun(msgspec.Struct, kw_only=True):
    """One run a schedule started."""

    task_id: str
    slot: int | None = None
    """The slot it ran for (Unix time); None for ``run-now``."""
    missed: int = 0
    """With catch-up ``once``: how many missed slots this run stood for."""
    status: TaskStatus = "pending"


class ScheduleView(msgspec.Struct, kw_only=True):
    """A recurring schedule's state, derived from its events in the journal."""

    schedule_id: str
    goal: str
    cron: str = ""
    every_s: float = 0.0
    tz: str = "UTC"
    catch_up: Literal["skip", "once"] = "skip"
    start: float = 0.0
    max_failures: int = 3
    status: Literal["active", "paused", "removed"] = "active"
    reason: str = ""
    """Why it was paused."""
    created: float = 0.0
    cursor: float = 0.0
    """Slots at or before this time have been handled (run or missed)."""
    fires: int = 0
    missed: int = 0
    """Slots that were skipped in all (catch-up ``skip``) or folded into one run (``once``)."""
    failures: int = 0
    """Consecutive failed runs (reset by a finished run or a resume)."""
    runs: list[ScheduleRun] = []
    """The latest 10."""
    next_slots: list[int] = []
    """The next few slots (Unix times), filled in replies."""


class WatchView(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    tags: list[str] = []


class HelloReply(_Reply, tag="hello", frozen=True):
    protocol: int
    server: str
    pid: int
    head: int
    timeline: str
    timeline_json: str
    max_frame_bytes: int = 0
    """Requests larger than this are refused (nng drops them unread); 0: unknown (an older daemon)."""
    role: str = "local"
    """``local`` over ipc (the machine's own user); the token's role over ws/tcp."""
    transports: dict[str, str] = {}
    """Where the daemon listens besides ipc: ``ws``, ``tcp`` and ``web`` (the page's URL)."""
    timeline_batch: str = ""
    """The batch timeline (several events a frame, ``greenroom.bus.batch_frames``); empty: none
    (an older daemon, or a ws/tcp connection)."""


class Submitted(_Reply, tag="submitted", frozen=True):
    task_id: str
    seq: int


class Ok(_Reply, tag="ok", frozen=True):
    seq: int = 0
    detail: str = ""


class Tasks(_Reply, tag="tasks", frozen=True):
    tasks: list[TaskView]


class TaskReply(_Reply, tag="task", frozen=True):
    task: TaskView


class Events(_Reply, tag="events", frozen=True):
    events: list[Envelope]
    head: int
    next_seq: int


class StatusReply(_Reply, tag="status", frozen=True):
    version: str
    pid: int
    uptime_s: float
    head: int
    tasks: dict[str, int]
    actors: dict[str, str]
    model: str
    model_loaded: bool
    rss_bytes: int
    clients: int = 0
    corrupt_events: int = 0
    """Journal rows found undecodable (each skipped by readers and reported by an ``error`` event)."""
    notes: list[str] = []
    """What works in a reduced way and why (say, searches not reranked: the reranker cannot load)."""


class Stopping(_Reply, tag="stopping", frozen=True):
    pid: int
    """Wait for this process to exit: then tasks are parked, the journal flushed, the lock released."""
    running: int = 0
    """Tasks running or waiting for an answer when the stop was asked for (they park and resume
    at the next start)."""


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    side_effects: str
    network: bool = False
    shell: bool = False
    dry_run: bool = False
    schema: dict[str, Any] = {}


class ToolsReply(_Reply, tag="tools", frozen=True):
    tools: list[ToolInfo]


class RuleView(msgspec.Struct, frozen=True, kw_only=True):
    layer: str
    """``remembered``, ``config`` or ``default``: the order they are evaluated in."""
    id: str
    tools: list[str]
    decision: str
    reason: str = ""
    when: dict[str, Any] = {}


class PolicyReply(_Reply, tag="policy", frozen=True):
    offline: bool
    rules: list[RuleView]


class DecisionReply(_Reply, tag="decision", frozen=True):
    decision: str
    rule: str
    reason: str = ""
    risk: float = 0.0
    resolved: dict[str, str] = {}


class Generated(_Reply, tag="generated", frozen=True):
    text: str
    seq: int
    """The ``llm.finished`` event's seq."""
    request_id: str = ""
    stop_reason: str = ""
    """``cancelled`` when ``generate_cancel`` stopped it (``text`` is what came before)."""


class MemoryAdded(_Reply, tag="memory_added", frozen=True):
    item_id: str


class IngestStarted(_Reply, tag="ingest_started", frozen=True):
    run_id: str
    seq: int
    """Timeline position when the run started: follow from here for its progress."""


class MemoryHits(_Reply, tag="memory_hits", frozen=True):
    result: SearchResult


class ForgetReply(_Reply, tag="memory_forgotten", frozen=True):
    report: ForgetReport


class MemoryStatsReply(_Reply, tag="memory_stats", frozen=True):
    stats: MemoryStats


class ScheduleReply(_Reply, tag="schedule", frozen=True):
    schedule: ScheduleView
    seq: int = 0


class Schedules(_Reply, tag="schedules", frozen=True):
    schedules: list[ScheduleView]


class WatchesReply(_Reply, tag="memory_watches", frozen=True):
    watches: list[WatchView]
    seq: int = 0
    """With ``memory_watch``: the timeline position before the first ingest started."""


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    role: str
    name: str = ""
    created: float = 0.0
    expires: float | None = None
    revoked: float | None = None
    last_used: float | None = None


class TokenCreated(_Reply, tag="token_created", frozen=True):
    token: str
    """The secret: shown once, stored only hashed."""
    info: TokenInfo


class TokensReply(_Reply, tag="tokens", frozen=True):
    tokens: list[TokenInfo]


class ModelView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    hub_repo: str
    parameters_b: float
    quantization: str
    memory_gb: float
    context_window: int
    vision: bool
    tool_use: str
    badge: str
    """``recommended``, ``compatible`` or ``not recommended`` on the daemon's machine."""
    reason: str
    local: bool = False
    active: bool = False


class ModelsReply(_Reply, tag="models", frozen=True):
    system: dict[str, Any]
    models: list[ModelView]
    active: str
    loaded: bool
    local_models: list[LocalModelView] = []
    """Every model on the daemon's machine, in the catalog or not."""


class PreviewReply(_Reply, tag="preview", frozen=True):
    confirmation_id: str
    tool: str
    dry_run: bool
    """False when the tool has no dry run (``text`` then says so)."""
    text: str
    ok: bool = True


class McpToolView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    """``mcp.<server>.<tool>``."""
    remote: str
    """The server's own name for it."""
    description: str = ""
    side_effects: str = "external"
    read_only: bool = False


class McpServerView(msgspec.Struct, frozen=True, kw_only=True):
    """An MCP server as clients see it: secret values are never included, only their names."""

    name: str
    transport: str
    command: list[str] = []
    url: str = ""
    cwd: str = ""
    network: bool = False
    enabled: bool = True
    state: str = "stopped"
    """``stopped`` (starts on first use), ``starting``, ``running``, ``backoff`` (restarting
    after a crash) or ``disabled``."""
    error: str = ""
    """Why it is disabled, or the last crash."""
    pid: int | None = None
    protocol: str = ""
    crashes: int = 0
    uptime_s: float | None = None
    timeout_s: float = 0.0
    header_names: list[str] = []
    env_names: list[str] = []
    tools: list[McpToolView] = []


class McpServersReply(_Reply, tag="mcp_servers", frozen=True):
    servers: list[McpServerView]


class McpServerReply(_Reply, tag="mcp_server", frozen=True):
    server: McpServerView


class ErrorReply(_Reply, tag="error", frozen=True):
    code: Literal[
        "bad_request",
        "too_large",
        "hello_required",
        "version",
        "not_found",
        "conflict",
        "internal",
        "unauthorized",
        "forbidden",
        "rate_limited",
    ]
    message: str


Reply = Union[
    HelloReply,
    Submitted,
    Ok,
    Tasks,
    TaskReply,
    Events,
    StatusReply,
    Stopping,
    ToolsReply,
    PolicyReply,
    DecisionReply,
    Generated,
    MemoryAdded,
    IngestStarted,
    MemoryHits,
    ForgetReply,
    MemoryStatsReply,
    ScheduleReply,
    Schedules,
    WatchesReply,
    TokenCreated,
    TokensReply,
    ModelsReply,
    PreviewReply,
    McpServersReply,
    McpServerReply,
    JournalStatsReply,
    CompactReply,
    BackupReply,
    ResetReply,
    PluginsReply,
    PluginReply,
    ModelParamsReply,
    ModelRemovedReply,
    ChatReply,
    Chats,
    ChatHits,
    ChatExported,
    ChatSent,
    ChatForgotten,
    ErrorReply,
]
