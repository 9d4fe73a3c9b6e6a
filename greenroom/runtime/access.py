"""Who may do what over the gateway: sessions, tokens, roles, tickets, refusals.

Pipes on ``ipc://`` belong to the machine's own user (the socket file is 0600)
and need no token: their role is ``local``. A pipe on ``ws://`` or ``tcp://``
is nobody until its ``hello`` carries a valid token; until then every request
gets ``unauthorized`` and nothing else. Afterwards each request needs the role
listed in ``REQUIRED`` (a request type missing there needs ``admin``).

Timeline pipes cannot be asked for a token (a SUB pipe sends nothing), so a
remote timeline pipe is admitted, before nng adds it to the socket, only with a
*ticket*: a single-use random string that the hello reply puts into the ws
timeline URL and that expires after ``TICKET_TTL_S``. The tcp timeline is a
Pair1 socket where the client's first message is its hello (``transports.py``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import msgspec
import pynng
import structlog

from greenroom.bus import protocol as p
from greenroom.bus.codec import Codec, Format, encode
from greenroom.bus.errors import DecodeError
from greenroom.bus.events import AccessRefused, Event
from greenroom.runtime.redact import IsSensitive, redact_envelope, redact_task
from greenroom.runtime.tokens import TokenError, TokenStore

log = structlog.get_logger(__name__)

Level = Literal["viewer", "operator", "admin", "local"]
RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2, "local": 3}
REQUIRED: dict[type, Level] = {
    **dict.fromkeys(
        (p.Hello, p.Status, p.ListTasks, p.GetTask, p.Replay, p.ListTools, p.MemorySearch, p.MemoryStatsRequest,
         p.ListModels),
        "viewer",
    ),
    **dict.fromkeys(
        (p.Submit, p.Cancel, p.Confirm, p.Preview, p.MemoryAdd, p.Generate, p.CancelGeneration), "operator"
    ),
    **dict.fromkeys((p.ListChats, p.GetChat, p.ChatSearch, p.ChatExport), "viewer"),
    **dict.fromkeys(
        (p.ChatCreate, p.ChatRename, p.ChatDelete, p.ChatDuplicate, p.ChatImport, p.ChatSend, p.ChatForget), "operator"
    ),
    **dict.fromkeys((p.TokenCreate, p.TokenList, p.TokenRevoke, p.Shutdown), "local"),
    # An MCP server is a command line the daemon runs (and its secrets): only the machine's own user.
    **dict.fromkeys((p.McpAdd, p.McpRemove, p.McpEnable, p.McpRestart), "local"),
    # Likewise a plugin (code the daemon runs), and a backup (a file written wherever it is told).
    **dict.fromkeys((p.PluginInstall, p.PluginUpdate, p.JournalBackup), "local"),
}  # fmt: skip
TICKET_TTL_S = 30.0
MAX_TICKETS = 4096
WINDOW_S = 60.0
MAX_HELLO_BYTES = 64 << 10

_request_codec: Codec[p.Request] = Codec(p.Request)


@dataclass
class Session:
    """One pipe: where it comes from and, once it said hello with a token, what it may do."""

    transport: str
    address: str
    pipe: pynng.Pipe | None = None
    role: str | None = None
    token_id: str = ""
    host: str = ""
    """The ws Host header (what the client reached us as)."""


@dataclass
class _Ticket:
    role: str
    token_id: str
    expires: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    journaled_limit: bool = False


def refusal(code: str, message: str) -> p.ErrorReply:
    return p.ErrorReply(code=code, message=message)  # type: ignore[arg-type]


class Access:
    """Sessions and their rights.

    Args:
        store: the token store.
        publish: journals an event (refusals).
        sensitive: which tools a viewer may not see the arguments of.
        failures_per_minute: refused hellos per address before it is rate limited.
        clock: monotonic time (tests move it).
    """

    def __init__(
        self,
        store: TokenStore,
        publish: Callable[[Event], object],
        sensitive: IsSensitive,
        failures_per_minute: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._publish = publish
        self.sensitive = sensitive
        self._limit = max(1, failures_per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[int, Session] = {}
        self._tickets: dict[str, _Ticket] = {}
        self._failures: dict[str, _Failures] = {}
        self._revoked: set[str] = set()
        self.endpoints: dict[str, str] = {}
        """Set by the transports once bound: ``ws`` (base URL), ``tcp``, ``tcp_timeline``, ``web``."""

    # -- pipes ---------------------------------------------------------------------------

    def add_pipe(self, pipe: pynng.Pipe, transport: str, address: str, host: str = "") -> Session:
        session = Session(transport=transport, address=address, pipe=pipe, host=host)
        with self._lock:
            self._sessions[pipe.id] = session
        return session

    def remove_pipe(self, pipe_id: int) -> None:
        with self._lock:
            self._sessions.pop(pipe_id, None)

    def session(self, pipe_id: int) -> Session | None:
        with self._lock:
            return self._sessions.get(pipe_id)

    def role_of(self, pipe_id: int) -> str:
        """``local`` for ipc (and pipes nobody registered), else the authenticated role or ``""``."""
        s = self.session(pipe_id)
        return "local" if s is None else s.role or ""

    # -- refusals ------------------------------------------------------------------------

    def refuse(self, transport: str, address: str, reason: str, client: str = "") -> p.ErrorReply:
        """Count a refusal against ``address``, journal it (unless rate limited), return the reply."""
        now = self._clock()
        with self._lock:
            f = self._failures.setdefault(address, _Failures())
            _prune(f.times, now)
            f.times.append(now)
            while len(f.times) > 4 * self._limit:  # bounded memory under a flood
                f.times.popleft()
            limited = len(f.times) > self._limit
            journal = not limited or not f.journaled_limit
            if limited:
                reason = f"rate limited after {self._limit} refusals in {WINDOW_S:g}s (last: {reason})"
                f.journaled_limit = True
            if len(self._failures) > 10_000:  # bounded: forget the quietest addresses
                for addr in [a for a, v in self._failures.items() if not v.times or v.times[-1] < now - WINDOW_S]:
                    del self._failures[addr]
        log.info("access_refused", transport=transport, address=address, reason=reason, client=client)
        if journal:
            self._publish(AccessRefused(transport=transport, address=address, reason=reason, client=client[:100]))
        if limited:
            return refusal("rate_limited", f"too many refused hellos from {address}; try again in a minute")
        return refusal("unauthorized", reason)

    def rate_limited(self, address: str) -> bool:
        now = self._clock()
        with self._lock:
            f = self._failures.get(address)
            if f is None:
                return False
            _prune(f.times, now)
            if not f.times:
                f.journaled_limit = False
            return len(f.times) >= self._limit

    def authenticate(self, token: str, transport: str, address: str, client: str) -> p.TokenInfo | p.ErrorReply:
        """Check a hello's token (rate limited per address; refusals journaled)."""
        if self.rate_limited(address):
            return self.refuse(transport, address, "hello refused", client)
        if not token:
            return self.refuse(transport, address, "a token is required on this transport", client)
        info = self.store.verify(token)
        if info is None:
            return self.refuse(transport, address, "invalid, expired or revoked token", client)
        with self._lock:
            self._revoked.discard(info.token_id)
        return info

    # -- control requests ----------------------------------------------------------------

    def screen(self, frame: bytes, pipe_id: int) -> bytes | None:
        """The refusal for ``frame`` from ``pipe_id``, or None to serve it (ipc pipes always)."""
        session = self.session(pipe_id)
        if session is None:
            return None
        if session.role is None and len(frame) > MAX_HELLO_BYTES:
            return encode(refusal("unauthorized", "send hello with a token first"), _format(frame))
        try:
            request, fmt = _request_codec.decode(frame)
        except DecodeError:
            request, fmt = None, _format(frame)
        if session.role is None and not isinstance(request, p.Hello):
            return encode(refusal("unauthorized", "send hello with a token first"), fmt)
        if request is None:
            return None  # authenticated: the gateway explains the decoding error
        if isinstance(request, p.Hello):
            result = self.authenticate(request.token, session.transport, session.address, request.client)
            if isinstance(result, p.ErrorReply):
                session.role, session.token_id = None, ""
                return encode(result, fmt)
            session.role, session.token_id = result.role, result.token_id
            log.info("client_authenticated", transport=session.transport, token=result.token_id, role=result.role)
            return None
        with self._lock:
            revoked = session.token_id in self._revoked
        if revoked:
            return encode(refusal("unauthorized", "this token was revoked"), fmt)
        needed = REQUIRED.get(type(request), "admin")
        if RANK[session.role or "viewer"] < RANK[needed]:
            op = type(request).__struct_config__.tag
            if needed == "local":
                message = f"{op} works only over ipc (on the daemon's machine)"
            else:
                message = f"{op} needs the {needed} role; this token's role is {session.role}"
            return encode(refusal("forbidden", message), fmt)
        return None

    def amend(self, reply: p.Reply, pipe_id: int) -> p.Reply:
        """Fit a reply to the pipe: remote timeline URLs in a hello, redaction for viewers."""
        session = self.session(pipe_id)
        if session is None:
            if isinstance(reply, p.HelloReply):
                return msgspec.structs.replace(reply, transports=dict(self.endpoints))
            return reply
        viewer = session.role == "viewer"
        match reply:
            case p.HelloReply():
                timeline, timeline_json = self._timeline_urls(session)
                return msgspec.structs.replace(
                    reply,
                    timeline=timeline,
                    timeline_json=timeline_json,
                    role=session.role or "",
                    transports={},
                    timeline_batch="",  # ipc only: remote timelines send one event a frame
                )
            case p.Events(events=events) if viewer:
                return msgspec.structs.replace(reply, events=[redact_envelope(x, self.sensitive) for x in events])
            case p.Tasks(tasks=tasks) if viewer:
                return msgspec.structs.replace(reply, tasks=[redact_task(t, self.sensitive) for t in tasks])
            case p.TaskReply(task=task) if viewer:
                return msgspec.structs.replace(reply, task=redact_task(task, self.sensitive))
            case _:
                return reply

    def _timeline_urls(self, session: Session) -> tuple[str, str]:
        kind = "viewer" if session.role == "viewer" else "full"
        if session.transport == "ws":
            base = f"ws://{session.host}" if session.host else self.endpoints.get("ws", "")
            path = "/timeline" if kind == "full" else "/timeline-viewer"
            return (
                f"{base}{path}?ticket={self.ticket(session)}",
                f"{base}{path}.json?ticket={self.ticket(session)}",
            )
        url = self.endpoints.get("tcp_timeline", "")
        return url, url

    # -- tickets for ws timeline pipes ---------------------------------------------------

    def ticket(self, session: Session) -> str:
        """A single-use ticket admitting one timeline pipe with ``session``'s role."""
        now = self._clock()
        value = secrets.token_urlsafe(24)
        with self._lock:
            if len(self._tickets) >= MAX_TICKETS:
                for k in [k for k, t in self._tickets.items() if t.expires <= now] or list(self._tickets)[:1]:
                    del self._tickets[k]
            self._tickets[value] = _Ticket(session.role or "viewer", session.token_id, now + TICKET_TTL_S)
        return value

    def admit_ticket(self, request_uri: str, kind: str) -> _Ticket | str:
        """Use up the ticket in a ws timeline pipe's URI; the ticket, or why it is refused."""
        values = parse_qs(urlsplit(request_uri).query).get("ticket", [])
        if len(values) != 1:
            return "a timeline ticket is required (it comes in the hello reply's timeline URL)"
        with self._lock:
            t = self._tickets.pop(values[0], None)
            revoked = t is not None and t.token_id in self._revoked
        if t is None or t.expires <= self._clock() or revoked:
            return "unknown, used or expired timeline ticket"
        if ("viewer" if t.role == "viewer" else "full") != kind:
            return f"a {t.role} ticket does not admit to the {kind} timeline"
        return t

    def bind_token(self, pipe: pynng.Pipe, transport: str, address: str, role: str, token_id: str) -> None:
        """Remember which token a timeline pipe came in with, so revoking it closes the pipe."""
        s = self.add_pipe(pipe, transport, address)
        s.role, s.token_id = role, token_id

    # -- token operations (ipc only) -----------------------------------------------------

    def token_op(self, request: p.Request) -> p.Reply:
        """``token_create`` / ``token_list`` / ``token_revoke``."""
        try:
            match request:
                case p.TokenCreate(role=role, name=name, ttl_s=ttl):
                    secret, info = self.store.create(role, name, ttl)
                    log.info("token_created", token=info.token_id, role=role, name=name)
                    return p.TokenCreated(token=secret, info=info)
                case p.TokenList():
                    return p.TokensReply(tokens=self.store.list())
                case p.TokenRevoke(token_id=token_id):
                    info = self.store.revoke(token_id)
                    closed = self.revoke(token_id)
                    return p.Ok(detail=f"revoked {info.token_id}; closed {closed} connection(s)")
                case _:
                    return refusal("bad_request", f"not a token request: {request!r}")
        except TokenError as exc:
            code = "not_found" if str(exc).startswith("no token") else "bad_request"
            return refusal(code, str(exc))

    def revoke(self, token_id: str) -> int:
        """Refuse ``token_id`` from now on and close its live pipes; returns how many were closed."""
        with self._lock:
            self._revoked.add(token_id)
            pipes = [s.pipe for s in self._sessions.values() if s.token_id == token_id and s.pipe is not None]
            for k in [k for k, t in self._tickets.items() if t.token_id == token_id]:
                del self._tickets[k]
        closed = 0
        for pipe in pipes:
            try:
                pipe.close()
                closed += 1
            except pynng.NNGException:
                pass  # already gone
        log.info("token_revoked", token=token_id, closed=closed)
        return closed


def _format(frame: bytes) -> Format:
    return "json" if frame[:1] == b"{" else "msgpack"


def _prune(times: deque[float], now: float) -> None:
    while times and times[0] <= now - WINDOW_S:
        times.popleft()
