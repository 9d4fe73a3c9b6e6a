"""How the CLI shows events: one line each, like the design's timeline."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope
from greenroom.bus.events import event_type

_WIDTH = 22


def _short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detail(env: Envelope) -> str:
    """The human part of a timeline line."""
    match env.event:
        case e.TaskSubmitted(goal=goal, run_at=run_at, schedule_id=sid, slot=slot, missed=missed):
            when = "" if run_at is None else f"  (at {dt.datetime.fromtimestamp(run_at):%H:%M:%S})"
            if sid:
                when += f"  ({sid} " + ("run now" if slot is None else f"slot {_slot(slot)}") + ")"
            if len(missed) > 1:
                when += f"  catching up {len(missed)} missed slots: {_slots(missed)}"
            return f"{_short(goal)}{when}"
        case e.TaskStarted(resumed=resumed):
            return "resumed after restart" if resumed else ""
        case e.TaskPlanned(steps=steps, revision=rev, reason=reason):
            head = f"{len(steps)} step{'s' if len(steps) != 1 else ''}" + (f" (revision {rev})" if rev else "")
            if not steps:
                return head + " (answered directly" + (f"; {_short(reason, 80)})" if reason else ")")
            return head + ": " + " | ".join(_short(s.intent, 60) for s in steps)
        case e.StepStarted(step=n, intent=intent):
            return f"{n}: {_short(intent)}"
        case e.StepFinished(step=n, result=result):
            return f"{n}: {_short(result)}"
        case e.StepCapReached(step=n, rounds=r):
            return f"step {n} used its {r} rounds of tool calls"
        case e.ToolRequested(tool=tool, args=args):
            return f"{tool} {_short(args, 80)}"
        case e.ToolDecided(tool=tool, decision=d, rule=rule):
            return f"{tool} {d} (rule {rule})"
        case e.ToolInvoked(tool=tool):
            return tool
        case e.ToolResult(tool=tool, ok=ok, output=out, error=err, duration_ms=ms):
            return f"{tool} {'ok' if ok else 'error'} {ms:.0f}ms: {_short(out if ok else err, 80)}"
        case e.ConfirmationAsked(confirmation_id=cid, question=q):
            return f"{_short(q, 80)}  → answer with: greenroom confirm {cid} yes|no"
        case e.ConfirmationAnswered(confirmation_id=cid, approved=ok, client=who):
            return f"{cid} {'yes' if ok else 'no'}" + (f" ({who})" if who else "")
        case e.LlmChunk(text=text):
            return repr(text)
        case e.LlmFinished(purpose=purpose, generated_tokens=n, tokens_per_s=tps, model=model):
            return f"{purpose}: {n} tokens, {tps:.1f} tok/s ({model})"
        case e.ModelLoaded(model=model, seconds=seconds):
            return f"{model} in {seconds:.1f}s"
        case e.ModelLoading(model=model, purpose=purpose, reason=reason):
            return f"{model}: loading{f' the {purpose}' if purpose else ''}{f' ({reason})' if reason else ''}…"
        case e.ModelPreparing(model=model, stage=stage, fraction=f, eta_s=eta):
            if f >= 1:
                return f"{model}: one-time conversion done"
            left = "estimating the time left" if eta is None else f"about {eta:.0f}s left"
            return f"{model}: one-time conversion {int(f * 100)}%, {stage} ({left})"  # 99.9% is not done yet
        case e.ModelUnloaded(model=model, reason=reason):
            return f"{model} ({reason})"
        case e.GuardFlagged(tool=tool, phrase=phrase):
            return f"{tool} output looks like a prompt injection ({phrase!r}); risky calls now ask"
        case e.PolicyOffline(on=on):
            return "offline mode on: network tools denied" if on else "offline mode off"
        case e.CriticVerdict(step=n, verdict=v, reason=reason):
            return f"step {n} {v}: {_short(reason, 80)}"
        case e.TaskParked(reason=reason):
            return reason
        case e.TaskFinished(answer=answer):
            return _short(answer, 200)
        case e.TaskFailed(error=error, code=code):
            return f"{code}: {error}"
        case e.TaskCancelled(reason=reason):
            return reason
        case e.MemoryStored(item_id=item, text=text):
            return f"{item}: {_short(text, 80)}"
        case e.MemoryUpserted(item_id=item, action=action, uri=uri, source=source, chunks=n):
            return f"{item} {action}: {uri or source} ({n} chunks)"
        case e.MemoryIngestProgress(run_id=run, done=done, total=total, path=path, status=status, reason=why):
            return f"{run} {done}/{total} {status} {path}" + (f": {why}" if why else "")
        case e.MemoryIngestFinished(run_id=run, report=r, error=error):
            summary = f"added {r.added}, updated {r.updated}, unchanged {r.unchanged}, skipped {len(r.skipped)}"
            return f"{run} {summary}" + (f"; stopped: {error}" if error else "")
        case e.MemoryForgotten(item_ids=items, chunks=n, reason=why):
            return f"{', '.join(items[:5])}{' …' if len(items) > 5 else ''} ({n} chunks)" + (f": {why}" if why else "")
        case e.ScheduleAdded(schedule_id=sid, cron=cron, every_s=every, tz=tz, goal=goal):
            return f"{sid} {cron or f'every {every:g}s'} ({tz}): {_short(goal, 80)}"
        case e.SchedulePaused(schedule_id=sid, reason=why):
            return f"{sid} {why}"
        case e.ScheduleResumed(schedule_id=sid) | e.ScheduleRemoved(schedule_id=sid):
            return sid
        case e.ScheduleMissed(schedule_id=sid, slots=slots, count=n):
            return f"{sid} skipped {n} missed slot{'s' if n != 1 else ''}: {_slots(slots)}"
        case e.MemoryWatchAdded(path=path) | e.MemoryWatchRemoved(path=path):
            return path
        case e.MemoryUsed(hits=hits, note=note):
            used = ", ".join(f"{h.item_id} ({h.why})" for h in hits) or "none"
            return used + (f"; {note}" if note else "")
        case e.ChatCreated(chat_id=cid, title=title) | e.ChatRenamed(chat_id=cid, title=title):
            return f"{cid} {_short(title, 80)}".rstrip()
        case e.ChatDeleted(chat_id=cid):
            return cid
        case e.ChatDuplicated(chat_id=cid, source_id=src):
            return f"{cid} copied from {src}"
        case e.ChatImported(chat_id=cid, title=title, messages=msgs):
            return f"{cid} {_short(title, 60)} ({len(msgs)} messages)"
        case e.ChatMessageAdded(chat_id=cid, message=m):
            attached = len(m.images) + len(m.files)
            return f"{cid} {_short(m.text, 80)}" + (f" (+{attached} attached)" if attached else "")
        case e.ChatSummarized(chat_id=cid, summary=s, tokens=n):
            return f"{cid} first {s.through} messages (~{n} tokens): {_short(s.text, 80)}"
        case e.DaemonStarted(version=v, pid=pid):
            return f"greenroom {v} (pid {pid})"
        case e.DaemonStopping(reason=reason):
            return reason
        case e.ActorCrashed(actor=a, error=err, restart_in_s=delay):
            return f"{a}: {_short(err, 80)} (restart in {delay:g}s)"
        case e.ActorRestarted(actor=a, attempt=n):
            return f"{a} (attempt {n})"
        case e.McpServerStarted(server=name, transport=kind, tools=n, pid=pid, reason=why):
            return f"{name} ({kind}{f', pid {pid}' if pid else ''}): {n} tools, {why}"
        case e.McpServerStopped(server=name, reason=why):
            return f"{name}: {why}"
        case e.McpServerCrashed(server=name, error=error, crashes=n, restart_in_s=delay):
            return f"{name}: {_short(error)} (crash {n}, restart in {delay:g}s)"
        case e.McpServerDisabled(server=name, reason=why):
            return f"{name}: {_short(why)}"
        case e.McpToolsChanged(server=name, added=added, removed=removed, total=n, skipped=skipped):
            parts = [f"+{len(added)}" if added else "", f"-{len(removed)}" if removed else ""]
            extra = f", {len(skipped)} skipped" if skipped else ""
            return f"{name}: {n} tools ({' '.join(p for p in parts if p) or 'unchanged'}{extra})"
        case e.ToolsSelected(step=n, tools=tools, candidates=total):
            return f"step {n}: {', '.join(t.name for t in tools)} (of {total})"
        case e.Error(message=msg):
            return msg
        case e.AccessRefused(transport=t, address=addr, reason=reason, client=who):
            return f"{t} {addr} {who}: {reason}".replace("  ", " ")
        case _:
            return ""


def _slot(ts: int) -> str:
    return f"{dt.datetime.fromtimestamp(ts):%Y-%m-%d %H:%M}"


def _slots(slots: list[int]) -> str:
    shown = [_slot(s) for s in slots[-5:]]
    return ("… " if len(slots) > 5 else "") + ", ".join(shown)


class Printer:
    """Prints a timeline, one line per event; with ``tokens``, a generation's ``llm.chunk`` texts
    stream inline on one line (``#seq  llm.chunk  task  purpose: the text as it comes``)."""

    def __init__(self, tokens: bool) -> None:
        self.tokens = tokens
        self._open: str | None = None  # the request id whose tokens are being written

    def show(self, env: Envelope) -> None:
        from greenroom.clients.cli.common import out, out_part

        ev = env.event
        if isinstance(ev, e.LlmChunk):
            if not self.tokens:
                return
            if self._open != ev.request_id:
                self.end_line()
                purpose = ev.request_id.split(":", 1)[-1]
                out_part(f"#{env.seq:<5} {'llm.chunk':<{_WIDTH}} {env.task_id or '-':<10}  {purpose}: ")
                self._open = ev.request_id
            out_part(ev.text.replace("\n", " "))
            return
        self.end_line()
        out(line(env))

    def end_line(self) -> None:
        """Finish a line of streamed tokens, if one is open."""
        if self._open is not None:
            from greenroom.clients.cli.common import out

            out()
            self._open = None


def line(env: Envelope) -> str:
    """``#41  task.submitted        t-7f3a  detail``."""
    task = env.task_id or "-"
    return f"#{env.seq:<5} {event_type(env.event):<{_WIDTH}} {task:<10}  {detail(env)}".rstrip()
