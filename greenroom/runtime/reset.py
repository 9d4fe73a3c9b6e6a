"""``reset``: start over with an empty journal (and, unless kept, an empty memory).

No task may be open. Schedules and watched folders are removed first (through
their own events, so the Scheduler and the watcher let go of them), then every
event is removed on the writer thread, where the task, schedule and chat
indexes are cleared in the same step (refused there if a task opened meanwhile,
with memory untouched), then memory is forgotten. Seq numbers go on from where
they were (the journal keeps its highest seq as a floor), and the new journal
starts with ``journal.reset``. Tokens, plugins, model files and parameters,
remembered policy decisions and the config stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenroom.bus import protocol as p
from greenroom.bus.events import JournalReset
from greenroom.bus.journal import Journal
from greenroom.bus.journal_admin import wipe
from greenroom.memory import Filters
from greenroom.runtime.errors import RequestError

if TYPE_CHECKING:
    from greenroom.runtime.core import Runtime


def _refuse_open(rt: Runtime) -> None:
    open_tasks = rt.tasks.open_tasks()
    if open_tasks:
        ids = ", ".join(t.task_id for t in open_tasks[:5]) + (" …" if len(open_tasks) > 5 else "")
        raise RequestError(
            "conflict", f"{len(open_tasks)} task(s) are still open ({ids}): cancel them first (greenroom cancel ID)"
        )


def reset(rt: Runtime, keep_memory: bool, client: str = "") -> p.ResetReply:
    """Remove every event (and every memory item unless ``keep_memory``); journal ``journal.reset``."""
    _refuse_open(rt)
    for schedule in rt.schedule_ops.views():
        rt.schedule_ops.remove(schedule.schedule_id)
    for watch in rt.memory_watches():
        rt.memory_unwatch(watch.path)

    def start_over(journal: Journal) -> int:
        _refuse_open(rt)  # on the writer: nothing committed can slip in between
        count = journal.maintain(lambda conn: wipe(journal, conn))
        rt.tasks.clear()
        rt.schedules.clear()
        rt.chats.clear()
        return count

    with rt.journal_ops.lock:  # not during a compaction or a scrub
        count = rt.bus.exclusive(start_over)  # refused (task opened meanwhile): memory is untouched
        ids = [] if keep_memory else rt.memory.store.item_ids(Filters())
        event = JournalReset(events=count, memory_items=len(ids), client=client)
        seq = rt.bus.publish(event, source="gateway", durable=True).seq
        rt.journal_ops.truncate_wal()  # the wipe's own checkpoint may have met a reader
        if ids:  # only once the journal is gone; no scrub: there is nothing left to scrub
            rt.memory.forget(ids, reason="reset", scrub=False)
    return p.ResetReply(events=count, memory_items=len(ids), seq=seq)
