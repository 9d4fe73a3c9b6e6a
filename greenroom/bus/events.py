"""Event types: one frozen, tagged msgspec Struct per event.

Each event's tag (its ``type`` on the wire) is also its timeline topic, so
``task.`` subscribes to every task lifecycle event. Schema evolution: new
fields go last and carry defaults; a field's type never changes.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

from greenroom.bus.memory_records import IngestReport


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of all events (kw-only, frozen, tagged by ``type``)."""


Decision = Literal["allow", "ask", "deny"]
Verdict = Literal["accept", "retry", "replan"]


class PlanStep(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a plan: what to achieve and which tools are expected."""

    intent: str
    tools: list[str] = []


# --- task lifecycle -------------------------------------------------------------------


class TaskSubmitted(_Event, tag="task.submitted", frozen=True):
    goal: str
    run_at: float | None = None
    client: str = ""
    schedule_id: str = ""
    """Set when a recurring schedule fired this task (the fire *is* this event)."""
    slot: int | None = None
    """The schedule's slot (Unix time) this run is for; None for ``run-now``. At most one per slot."""
    missed: list[int] = []
    """With catch-up ``once``: the slots this one run stands for (the latest 100)."""
    chat_id: str = ""
    """Set when a chat message started this task: the task sees the conversation so far."""
    reminder: bool = False
    """A reminder (``reminders.set``, by the task ``client`` names): when it runs it finishes at once
    with "Reminder: <goal>"; the goal is said, never run."""


class TaskStarted(_Event, tag="task.started", frozen=True):
    resumed: bool = False


class TaskPlanned(_Event, tag="task.planned", frozen=True):
    revision: int
    steps: list[PlanStep]
    reason: str = ""
    answer: str = ""
    """The first call answered the goal directly (``steps`` is then empty): no tool was needed."""


class StepStarted(_Event, tag="step.started", frozen=True):
    step: int
    intent: str
    revision: int = 0


class StepFinished(_Event, tag="step.finished", frozen=True):
    step: int
    result: str
    ok: bool = True


class StepCapReached(_Event, tag="step.cap_reached", frozen=True):
    step: int
    rounds: int
    calls: int


class TaskParked(_Event, tag="task.parked", frozen=True):
    reason: str


class TaskFinished(_Event, tag="task.finished", frozen=True):
    answer: str
    cited: list[str] = []
    """Memory item ids the answer used (named in it as ``[m-…]``)."""


class TaskFailed(_Event, tag="task.failed", frozen=True):
    error: str
    code: str = "error"


class TaskCancelled(_Event, tag="task.cancelled", frozen=True):
    reason: str = ""


class RequestFailed(_Event, tag="request.failed", frozen=True):
    """Something the agent loop asked for failed in an expected way (a plan the model could
    not produce, a model that cannot load): the task fails with this reason."""

    request: str
    """The loop's name for what was asked: ``plan:0``, ``verdict:2``, ``step:1:round:1``, ``answer``."""
    code: str
    error: str


# --- tools and policy -----------------------------------------------------------------


class ToolRequested(_Event, tag="tool.requested", frozen=True):
    call_id: str
    tool: str
    args: dict[str, Any]
    step: int
    round: int


class ToolDecided(_Event, tag="tool.decided", frozen=True):
    call_id: str
    tool: str
    decision: Decision
    rule: str
    reason: str = ""
    risk: float = 0.0
    resolved: dict[str, str] = {}
    """Path arguments as the policy resolved them; the call acts on exactly these paths."""


class ToolInvoked(_Event, tag="tool.invoked", frozen=True):
    """Journaled (and flushed) right before a tool runs: the idempotency marker."""

    call_id: str
    tool: str


class ToolResult(_Event, tag="tool.result", frozen=True):
    call_id: str
    tool: str
    ok: bool
    output: str = ""
    error: str = ""
    duration_ms: float = 0.0
    repeated_of: str = ""
    """Set when this call repeats an earlier identical call of the task (whose result is reused)."""
    redacted: list[str] = []
    """Kinds of secrets removed from the output before anyone saw it."""


class ConfirmationAsked(_Event, tag="confirmation.asked", frozen=True):
    confirmation_id: str
    question: str
    kind: Literal["tool", "extend", "rerun", "remember"] = "tool"
    """``tool``: may this call run? ``extend``: more tool rounds for a step? ``rerun``: this call was
    running when greenroom stopped and may have acted already: run it again? ``remember``: keep a
    summary of this finished task in memory (``agent.remember_tasks = "ask"``)?"""
    call_id: str = ""
    tool: str = ""
    args: dict[str, Any] = {}
    rule: str = ""
    resolved: dict[str, str] = {}
    """The call's path arguments as resolved when it was decided (what "yes" approves)."""


class ConfirmationAnswered(_Event, tag="confirmation.answered", frozen=True):
    confirmation_id: str
    approved: bool
    remember: bool = False
    client: str = ""
    scope: str = ""
    """With ``remember``: how narrowly the decision was stored (tool, path, domain, command)."""


class GuardFlagged(_Event, tag="guard.flagged", frozen=True):
    """A tool output looked like a prompt injection: risky calls ask for the rest of the task."""

    call_id: str
    tool: str
    phrase: str


class PolicyOffline(_Event, tag="policy.offline", frozen=True):
    """Offline mode was switched: while on, network tools are denied."""

    on: bool


# --- models, critic, memory -----------------------------------------------------------


class LlmChunk(_Event, tag="llm.chunk", frozen=True):
    request_id: str
    text: str


class LlmFinished(_Event, tag="llm.finished", frozen=True):
    request_id: str
    purpose: str
    text: str
    model: str = ""
    stop_reason: str = ""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    tokens_per_s: float = 0.0
    time_to_first_token_s: float = 0.0
    folded: int = 0
    """``llm.chunk`` events of this generation folded into it by journal compaction (their seqs are gone)."""


class ModelLoaded(_Event, tag="model.loaded", frozen=True):
    model: str
    seconds: float = 0.0
    reason: str = ""
    """``first use`` (lazy) or ``explicit`` (someone asked)."""


class ModelLoading(_Event, tag="model.loading", frozen=True):
    """A model loads for its first use and the task waits (seconds); ``model.loaded`` follows."""

    model: str
    purpose: str = ""
    """What it is for, in words (``embedding model for memory search and tool matching``)."""
    reason: str = ""


class ModelPreparing(_Event, tag="model.preparing", frozen=True):
    """A slow, one-time preparation before a model can load (the default model's conversion)."""

    model: str
    stage: str
    fraction: float = 0.0
    """0 to 1."""
    elapsed_s: float = 0.0
    eta_s: float | None = None
    """Estimated seconds left (None until there is a pace to estimate from)."""


class ModelUnloaded(_Event, tag="model.unloaded", frozen=True):
    model: str
    reason: str = ""
    """``idle`` (unused for its keep-alive), ``explicit``, ``evicted`` (over ``llm.max_resident_models``)."""


class ModelDownloadProgress(_Event, tag="model.download.progress", frozen=True):
    model: str
    file: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


class ModelDownloadFinished(_Event, tag="model.download.finished", frozen=True):
    model: str
    path: str = ""
    error: str = ""


class CriticVerdict(_Event, tag="critic.verdict", frozen=True):
    step: int
    verdict: Verdict
    reason: str = ""
    rule: str = ""
    """Empty when the Critic (the model) judged; else the check that decided without it
    (``unperformed-action``: the result claims something no tool in the step did)."""


class MemoryStored(_Event, tag="memory.stored", frozen=True):
    item_id: str
    text: str
    tags: list[str] = []


class MemoryUpserted(_Event, tag="memory.upserted", frozen=True):
    """An item was added to memory or its content replaced (ingestion, notes, chat, tools)."""

    item_id: str
    source: str
    action: Literal["added", "updated"] = "added"
    uri: str | None = None
    chunks: int = 0


class MemoryIngestProgress(_Event, tag="memory.ingest.progress", frozen=True):
    run_id: str
    done: int
    total: int
    path: str = ""
    status: str = ""
    """What happened to ``path``: added, updated, unchanged, skipped, forgotten."""
    reason: str = ""


class MemoryIngestFinished(_Event, tag="memory.ingest.finished", frozen=True):
    run_id: str
    report: IngestReport
    error: str = ""


class MemoryForgotten(_Event, tag="memory.forgotten", frozen=True):
    item_ids: list[str]
    chunks: int = 0
    reason: str = ""
    rewritten: list[int] = []
    """Seqs of journaled events whose text quoted the forgotten items and was replaced by a marker:
    a client holding them drops its copy (or replays them)."""


# --- recurring schedules and watched folders ------------------------------------------

CatchUp = Literal["skip", "once"]


class ScheduleAdded(_Event, tag="schedule.added", frozen=True):
    schedule_id: str
    goal: str
    cron: str = ""
    """Five-field cron expression read in ``tz``; empty for an interval schedule."""
    every_s: float = 0.0
    """Fixed interval in seconds from ``start``; 0 for a cron schedule."""
    tz: str = "UTC"
    catch_up: CatchUp = "skip"
    start: float = 0.0
    """Interval anchor (Unix time): slots are ``start + k * every_s``."""
    max_failures: int = 3
    """Pause after this many consecutive failed runs (0: never)."""
    at: float = 0.0
    """When it was added, by the scheduler's clock: only later slots are due."""
    client: str = ""


class SchedulePaused(_Event, tag="schedule.paused", frozen=True):
    schedule_id: str
    reason: str = ""
    at: float = 0.0
    failures: int = 0
    """Consecutive failed runs when it was paused (0 when a person paused it)."""


class ScheduleResumed(_Event, tag="schedule.resumed", frozen=True):
    """Slots that passed while paused are not caught up: only slots after ``at`` are due."""

    schedule_id: str
    at: float = 0.0


class ScheduleRemoved(_Event, tag="schedule.removed", frozen=True):
    schedule_id: str
    at: float = 0.0


class ScheduleMissed(_Event, tag="schedule.missed", frozen=True):
    """Slots that passed while the daemon was down or asleep and, by catch-up ``skip``, did not run."""

    schedule_id: str
    slots: list[int]
    """The latest 100 of them."""
    count: int = 0
    """How many (10,000 means at least that many)."""


class MemoryWatchAdded(_Event, tag="memory.watch.added", frozen=True):
    """A folder (or file) is kept indexed: changes are re-ingested as they happen."""

    path: str
    tags: list[str] = []


class MemoryWatchRemoved(_Event, tag="memory.watch.removed", frozen=True):
    path: str


# --- data lifecycle: the journal, plugins, model choices ------------------------------


class JournalCompacted(_Event, tag="journal.compacted", frozen=True):
    """Token chunks of finished tasks were folded into their ``llm.finished`` events."""

    older_than_days: float
    tasks: int = 0
    chunks: int = 0
    """``llm.chunk`` events removed (their seqs are holes from now on)."""
    finished: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    client: str = ""


class JournalBackedUp(_Event, tag="journal.backed_up", frozen=True):
    path: str
    head: int
    """The last seq in the copy."""
    bytes: int = 0
    seconds: float = 0.0
    client: str = ""


class JournalExported(_Event, tag="journal.exported", frozen=True):
    to_seq: int
    """The export covers events up to this seq."""
    task_id: str | None = None
    since: float | None = None
    until: float | None = None
    client: str = ""


class JournalReset(_Event, tag="journal.reset", frozen=True):
    """Everything before this event was removed: the journal and memory start over (seqs go on)."""

    events: int
    memory_items: int = 0
    client: str = ""


class PluginChanged(_Event, tag="plugin.changed", frozen=True):
    """A plugin was installed, updated, enabled, disabled or removed (it applies at the next start)."""

    plugin_id: str
    action: Literal["installed", "updated", "enabled", "disabled", "removed"]
    version: str = ""
    client: str = ""


class ModelParamsChanged(_Event, tag="model.params.changed", frozen=True):
    model: str
    params: dict[str, Any] = {}
    """The model's parameters after the change (only those set)."""
    client: str = ""


class ModelRemoved(_Event, tag="model.removed", frozen=True):
    model: str
    freed_bytes: int = 0
    client: str = ""


class ModelChosen(_Event, tag="model.chosen", frozen=True):
    """The active model was chosen to stay across restarts (or the choice went back to the config's)."""

    model: str
    """Empty: back to ``llm.model`` from the config."""
    client: str = ""


# --- chats and what a task was grounded on --------------------------------------------


class UsedMemory(msgspec.Struct, frozen=True, kw_only=True):
    """One memory put in a task's prompt, and why it was chosen."""

    item_id: str
    score: float
    why: str
    """The stages that found it: ``dense 0.62 #1, bm25 #3, rerank 0.91``."""
    text: str = ""
    """What the prompt showed of it."""
    source: str = ""
    uri: str | None = None


class MemoryUsed(_Event, tag="memory.used", frozen=True):
    """The memories a task's prompts carry (searched once, before its first plan)."""

    query: str
    hits: list[UsedMemory] = []
    considered: int = 0
    """Hits the search returned before the relevance cut."""
    reranked: bool = False
    note: str = ""
    """Why fewer (or none) were used, or why they were not reranked."""


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message of a chat as journaled (imports and duplicates carry whole lists of them)."""

    role: Literal["user", "assistant"]
    text: str
    images: list[str] = []
    """Image files (absolute paths on the daemon's machine) or URLs: they go to a vision model."""
    files: list[str] = []
    """Files ingested into memory with the chat as their source (tag ``chat:<id>``)."""
    task_id: str = ""
    """The task this message started (user) or answered (assistant)."""
    created: float = 0.0


class ChatSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The model's summary of a chat's messages ``[0, through)``: prompts show it instead of them."""

    through: int
    text: str
    created: float = 0.0


class ChatCreated(_Event, tag="chat.created", frozen=True):
    chat_id: str
    title: str = ""
    client: str = ""


class ChatRenamed(_Event, tag="chat.renamed", frozen=True):
    chat_id: str
    title: str


class ChatDeleted(_Event, tag="chat.deleted", frozen=True):
    chat_id: str


class ChatDuplicated(_Event, tag="chat.duplicated", frozen=True):
    """A new chat ``chat_id`` holding a copy of ``source_id`` as it is at this event."""

    chat_id: str
    source_id: str
    title: str = ""


class ChatImported(_Event, tag="chat.imported", frozen=True):
    """A chat from an exported document, whole."""

    chat_id: str
    title: str
    created: float = 0.0
    messages: list[ChatMessage] = []
    summaries: list[ChatSummary] = []


class ChatMessageAdded(_Event, tag="chat.message", frozen=True):
    """A person's message to a chat (answers are the chat's tasks' ``task.finished``)."""

    chat_id: str
    message: ChatMessage
    ingest_run: str = ""
    """The ingest run of the message's files (``memory.ingest.finished`` says when it is done)."""


class ChatSummarized(_Event, tag="chat.summarized", frozen=True):
    """Older turns of a chat no longer fit a prompt: the model summarised them."""

    chat_id: str
    summary: ChatSummary
    tokens: int = 0
    """About how many prompt tokens the summarised turns took."""


# --- runtime --------------------------------------------------------------------------


class DaemonStarted(_Event, tag="daemon.started", frozen=True):
    version: str
    pid: int


class DaemonStopping(_Event, tag="daemon.stopping", frozen=True):
    reason: str = ""


class ActorCrashed(_Event, tag="actor.crashed", frozen=True):
    actor: str
    error: str
    restart_in_s: float = 0.0
    crashes: int = 1
    request: str = ""
    """The agent loop's name for the message it crashed on (its task is the envelope's)."""


class ActorRestarted(_Event, tag="actor.restarted", frozen=True):
    actor: str
    attempt: int


# --- tools: MCP servers, tool selection -------------------------------------------------


class McpServerStarted(_Event, tag="mcp.server.started", frozen=True):
    """An MCP server is connected (``attempt`` > 0: restarted by the supervisor).

    ``command`` and ``url`` are shown with secret values masked; header and
    environment values never appear in events.
    """

    server: str
    transport: Literal["stdio", "http"]
    command: list[str] = []
    url: str = ""
    pid: int | None = None
    tools: int = 0
    protocol: str = ""
    attempt: int = 0
    reason: str = ""


class McpServerStopped(_Event, tag="mcp.server.stopped", frozen=True):
    server: str
    reason: str = ""


class McpServerCrashed(_Event, tag="mcp.server.crashed", frozen=True):
    """The connection died or could not be made; a restart follows after ``restart_in_s``."""

    server: str
    error: str
    crashes: int = 1
    restart_in_s: float = 0.0


class McpServerDisabled(_Event, tag="mcp.server.disabled", frozen=True):
    """The server is disabled (``reason`` says why: a person, or repeated crashes)."""

    server: str
    reason: str


class McpToolsChanged(_Event, tag="mcp.tools.changed", frozen=True):
    """The server's tool list changed (first listing, ``tools/list_changed``, removal)."""

    server: str
    added: list[str] = []
    removed: list[str] = []
    total: int = 0
    skipped: list[str] = []
    """Tools not imported, each as ``name: why`` (a bad schema, an injection-like description)."""


class SelectedTool(msgspec.Struct, frozen=True, kw_only=True):
    """One tool the selector put into a step's prompt, and why."""

    name: str
    score: float
    named: bool = False
    """The plan named it for the step (always included)."""
    dense: float | None = None
    bm25: float | None = None
    rerank: float | None = None


class ToolsSelected(_Event, tag="tools.selected", frozen=True):
    """The tools a step's prompt carries, ranked against its intent."""

    step: int
    intent: str
    tools: list[SelectedTool]
    candidates: int = 0
    """How many tools were ranked."""
    reranked: bool = False


class Error(_Event, tag="error", frozen=True):
    message: str
    code: str = "error"


class AccessRefused(_Event, tag="access.refused", frozen=True):
    """A ws/tcp client was refused: a bad or revoked token, a foreign Origin, too many tries."""

    transport: str
    address: str
    reason: str
    client: str = ""


Event = Union[
    TaskSubmitted,
    TaskStarted,
    TaskPlanned,
    StepStarted,
    StepFinished,
    StepCapReached,
    TaskParked,
    TaskFinished,
    TaskFailed,
    TaskCancelled,
    RequestFailed,
    ToolRequested,
    ToolDecided,
    ToolInvoked,
    ToolResult,
    ConfirmationAsked,
    ConfirmationAnswered,
    GuardFlagged,
    PolicyOffline,
    LlmChunk,
    LlmFinished,
    ModelLoaded,
    ModelLoading,
    ModelPreparing,
    ModelUnloaded,
    ModelDownloadProgress,
    ModelDownloadFinished,
    CriticVerdict,
    MemoryStored,
    MemoryUpserted,
    MemoryIngestProgress,
    MemoryIngestFinished,
    MemoryForgotten,
    ScheduleAdded,
    SchedulePaused,
    ScheduleResumed,
    ScheduleRemoved,
    ScheduleMissed,
    MemoryWatchAdded,
    MemoryWatchRemoved,
    JournalCompacted,
    JournalBackedUp,
    JournalExported,
    JournalReset,
    PluginChanged,
    ModelParamsChanged,
    ModelRemoved,
    ModelChosen,
    MemoryUsed,
    ChatCreated,
    ChatRenamed,
    ChatDeleted,
    ChatDuplicated,
    ChatImported,
    ChatMessageAdded,
    ChatSummarized,
    DaemonStarted,
    DaemonStopping,
    ActorCrashed,
    ActorRestarted,
    McpServerStarted,
    McpServerStopped,
    McpServerCrashed,
    McpServerDisabled,
    McpToolsChanged,
    ToolsSelected,
    Error,
    AccessRefused,
]

TERMINAL_EVENTS = (TaskFinished, TaskFailed, TaskCancelled)
"""A task ends with exactly one of these (each journaled durably before anything depends on it)."""


def event_type(event: Event) -> str:
    """The wire tag of ``event`` (also its timeline topic)."""
    return type(event).__struct_config__.tag  # type: ignore[return-value]
