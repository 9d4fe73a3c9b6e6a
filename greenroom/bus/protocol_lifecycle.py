"""Requests and replies for the data lifecycle: the journal, reset, plugins, model files and parameters.

Part of the client protocol (``greenroom.bus.protocol`` puts them in its unions);
``docs/protocol.md`` describes each. Every one that changes something is
journaled as an event.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from greenroom.bus.protocol_base import _Reply, _Request

# -- the journal ---------------------------------------------------------------------------


class JournalStatsRequest(_Request, tag="journal_stats", frozen=True):
    pass


class JournalCompact(_Request, tag="journal_compact", frozen=True):
    """Fold the token chunks of finished tasks older than ``older_than_days`` into their ``llm.finished``."""

    older_than_days: float | None = None
    """None: ``journal.fold_chunks_after_days`` from the config."""


class JournalBackup(_Request, tag="journal_backup", frozen=True):
    """Copy the journal, while the daemon runs, into one SQLite file at ``path`` (on the daemon's machine)."""

    path: str
    """Absolute; the folder must exist."""
    overwrite: bool = False


class JournalExport(_Request, tag="journal_export", frozen=True):
    """Events for an export, by task and/or time, page by page (``events`` replies).

    The first page (``to_seq`` null) fixes the export's end at the current head and is
    journaled (``journal.exported``); pass the reply's ``head`` as ``to_seq`` and its
    ``next_seq`` as ``from_seq`` for the next pages.
    """

    task_id: str | None = None
    since: float | None = None
    """Unix time: only events at or after it."""
    until: float | None = None
    from_seq: int = 1
    to_seq: int | None = None
    limit: int = 1000


class Reset(_Request, tag="reset", frozen=True):
    """Start over: remove every event and every memory item (no task may be open)."""

    keep_memory: bool = False


class JournalStats(msgspec.Struct, frozen=True, kw_only=True):
    head: int
    events: int
    first_seq: int = 0
    by_type: dict[str, int] = {}
    oldest: float | None = None
    newest: float | None = None
    db_bytes: int = 0
    wal_bytes: int = 0
    free_bytes: int = 0
    """Pages inside the file that hold nothing (given back by the next compaction)."""
    schema_version: int = 0
    foldable_chunks: int = 0
    """``llm.chunk`` events of finished tasks older than the retention setting: what a compaction folds."""
    fold_chunks_after_days: float = 0.0


class JournalStatsReply(_Reply, tag="journal_stats", frozen=True):
    stats: JournalStats


class CompactReply(_Reply, tag="journal_compacted", frozen=True):
    tasks: int
    chunks: int
    finished: int
    bytes_before: int
    bytes_after: int
    seconds: float
    seq: int = 0
    """The ``journal.compacted`` event."""


class BackupReply(_Reply, tag="journal_backup", frozen=True):
    path: str
    head: int
    """The last seq in the copy (at least the head when the backup started)."""
    bytes: int
    seconds: float
    seq: int = 0


class ResetReply(_Reply, tag="reset", frozen=True):
    events: int
    """Events removed."""
    memory_items: int = 0
    seq: int = 0
    """The ``journal.reset`` event: the first of the new journal."""


# -- plugins -------------------------------------------------------------------------------


class ListPlugins(_Request, tag="plugins", frozen=True):
    pass


class PluginInstall(_Request, tag="plugin_install", frozen=True):
    """Install from a folder, or by id from an index file (both on the daemon's machine, absolute)."""

    source: str
    """A plugin folder, or a plugin id with ``index``."""
    index: str = ""
    enable: bool = True


class PluginUpdate(_Request, tag="plugin_update", frozen=True):
    plugin_id: str
    index: str


class PluginEnable(_Request, tag="plugin_enable", frozen=True):
    plugin_id: str


class PluginDisable(_Request, tag="plugin_disable", frozen=True):
    plugin_id: str


class PluginRemove(_Request, tag="plugin_remove", frozen=True):
    plugin_id: str


class PluginView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: str
    enabled: bool
    tools: list[str] = []
    error: str = ""
    loaded: bool = False
    """Its tools are in this daemon now (changes apply at the next start)."""


class PluginsReply(_Reply, tag="plugins", frozen=True):
    plugins: list[PluginView]


class PluginReply(_Reply, tag="plugin", frozen=True):
    plugin_id: str
    action: Literal["installed", "updated", "enabled", "disabled", "removed"]
    version: str = ""
    previous: str = ""
    """``plugin_update``: the version before (equal to ``version`` when it was up to date)."""
    tools: list[str] = []
    seq: int = 0


# -- models --------------------------------------------------------------------------------


class ModelParamsRequest(_Request, tag="model_params", frozen=True):
    """Show a model's parameters, or change them (``set`` merges, ``clear`` goes back to defaults)."""

    model: str
    set: dict[str, Any] = {}
    clear: list[str] = []


class ModelParamsReply(_Reply, tag="model_params", frozen=True):
    model: str
    params: dict[str, Any]
    seq: int = 0
    """The ``model.params.changed`` event (0 when nothing changed)."""


class RemoveModel(_Request, tag="model_rm", frozen=True):
    """Delete a downloaded model's files (unloading it first)."""

    model: str


class ModelRemovedReply(_Reply, tag="model_removed", frozen=True):
    model: str
    freed_bytes: int
    seq: int = 0


class LocalModelView(msgspec.Struct, frozen=True, kw_only=True):
    """A model on the daemon's machine (hub cache or greenroom's models folder)."""

    repo: str
    path: str
    size_bytes: int


class CancelGeneration(_Request, tag="generate_cancel", frozen=True):
    """Stop a running ``generate`` by its request id: its reply comes with what was generated so far."""

    request_id: str
