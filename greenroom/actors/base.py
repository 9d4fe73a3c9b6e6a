"""The actor base class, the two verbs (ask/tell) and how callers reach actors.

Callers never hold an actor's ref directly: an ``ActorHandle`` resolves the
current one through the supervisor, so a restarted actor is found again, and
a call made while it restarts waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pykka
import structlog

log = structlog.get_logger(__name__)


class ActorError(Exception):
    """Base class for actor errors."""


class ActorCrashedError(ActorError):
    """The actor raised while handling the call; the supervisor restarts it."""

    def __init__(self, actor: str, cause: BaseException) -> None:
        super().__init__(f"{actor} crashed: {type(cause).__name__}: {cause}")
        self.actor = actor
        self.cause = cause


class ActorUnavailableError(ActorError):
    """The actor is stopped (or gave up restarting) and cannot take calls."""


class Interrupted(ActorError):
    """The call stopped early because its task was cancelled or the daemon is stopping."""


class CallFailed(ActorError):
    """The call failed in an expected way (the model is missing, its output unusable, ...).

    Not a crash: the actor is fine, the caller decides what the failure means.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Call:
    """Ask (or tell) an actor to run one of its methods."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class Wake:
    """Tell an actor that its bus subscription has events to drain."""


WAKE = Wake()

CrashReporter = Callable[[str, BaseException, pykka.ActorRef[Any]], None]


class GreenroomActor(pykka.ThreadingActor):
    """Base of the seven actors: runs ``Call``s, drains its subscription on ``Wake``.

    Any exception escaping a handler is a crash: it is reported to the
    supervisor (which publishes it, stops this instance and starts a fresh one
    with backoff) and re-raised to the caller of an ask.
    """

    name: ClassVar[str] = "actor"

    def __init__(self, on_crash: CrashReporter) -> None:
        super().__init__()
        self._on_crash = on_crash
        self._crashed = False

    def on_receive(self, message: Any) -> Any:
        try:
            if isinstance(message, Call):
                return getattr(self, message.method)(*message.args, **message.kwargs)
            if isinstance(message, Wake):
                return self.on_wake()
            raise TypeError(f"{self.name} got an unknown message {message!r}")
        except ActorError:
            raise  # an expected failure, or one of a downstream actor: not this actor's crash
        except Exception as exc:
            if not self._crashed:
                self._crashed = True
                log.error("actor_crashed", actor=self.name, error=repr(exc))
                self._on_crash(self.name, exc, self.actor_ref)
            raise

    def on_wake(self) -> None:
        """Handle newly delivered bus events (actors that subscribe override this)."""


class ActorHandle:
    """A stable way to reach an actor across restarts.

    Args:
        name: the actor's name.
        resolve: returns the actor's current ref, waiting up to the given timeout
            while it restarts; raises ``ActorUnavailableError`` if there is none.
    """

    def __init__(self, name: str, resolve: Callable[[str, float | None], pykka.ActorRef[Any]]) -> None:
        self.name = name
        self._resolve = resolve

    def ask(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``method`` and wait for its result.

        Raises:
            ActorCrashedError: the actor raised (and is being restarted).
            ActorUnavailableError: the actor is not running.
            TimeoutError: no answer within ``timeout`` seconds.
        """
        ref = self._resolve(self.name, 30.0 if timeout is None else timeout)
        try:
            return ref.ask(Call(method, args, kwargs), timeout=timeout)
        except pykka.ActorDeadError as exc:
            raise ActorUnavailableError(f"{self.name} stopped before answering") from exc
        except pykka.Timeout as exc:
            raise TimeoutError(f"{self.name}.{method} did not answer within {timeout}s") from exc
        except ActorError:
            raise
        except Exception as exc:
            raise ActorCrashedError(self.name, exc) from exc

    def tell(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Fire and forget: a failure is the actor's crash, handled by the supervisor."""
        try:
            ref = self._resolve(self.name, 30.0)
            ref.tell(Call(method, args, kwargs))
        except (pykka.ActorDeadError, ActorUnavailableError):
            log.warning("tell_dropped", actor=self.name, method=method)
