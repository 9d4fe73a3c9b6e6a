"""The actor base class, the two verbs (ask a ``Query``, tell a ``Command``), and how callers reach actors.

Callers never hold an actor's ref directly: an ``ActorHandle`` resolves the
current one through the supervisor, so a restarted actor is found again.

Failures: an ``ActorError`` raised by a handler is expected (bad input, a
missing model): it reaches the asker of a query, and is logged for a command.
Any other exception is a crash: reported to the supervisor (which journals it,
charged to the message's task and key, and restarts the actor with backoff),
and re-raised to the asker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import pykka
import structlog

from greenroom.actors.messages import Command, Query

log = structlog.get_logger(__name__)

R = TypeVar("R")


class ActorError(Exception):
    """Base class for actor errors."""


class ActorCrashedError(ActorError):
    """The actor raised while handling the message; the supervisor restarts it."""

    def __init__(self, actor: str, cause: BaseException) -> None:
        super().__init__(f"{actor} crashed: {type(cause).__name__}: {cause}")
        self.actor = actor
        self.cause = cause


class ActorUnavailableError(ActorError):
    """The actor is stopped (or restarting) and cannot take messages now."""


class Interrupted(ActorError):
    """The work stopped early because its task was cancelled or the daemon is stopping."""


class CallFailed(ActorError):
    """The request failed in an expected way (the model is missing, its output unusable, ...).

    Not a crash: the actor is fine; the caller decides what the failure means.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


Message = Command | Query[Any]

CrashReporter = Callable[[str, BaseException, "pykka.ActorRef[Any]", Message], None]
"""``(actor name, exception, the crashed instance's ref, the message it crashed on)``."""


class GreenroomActor(pykka.ThreadingActor):
    """Base of the seven actors: hands each typed message to ``handle``."""

    name: ClassVar[str] = "actor"

    def __init__(self, on_crash: CrashReporter) -> None:
        super().__init__()
        self._on_crash = on_crash
        self._crashed = False

    def handle(self, message: Any) -> Any:
        """Dispatch one message (each actor matches its own union)."""
        raise NotImplementedError

    def on_receive(self, message: Any) -> Any:
        if not isinstance(message, (Command, Query)):
            raise TypeError(f"{self.name} accepts typed messages only, got {type(message).__name__}")
        try:
            return self.handle(message)
        except ActorError as exc:
            if isinstance(message, Query):
                raise
            log.warning("command_failed", actor=self.name, message=type(message).__name__, error=str(exc))
            return None
        except Exception as exc:
            if not self._crashed:
                self._crashed = True
                log.error("actor_crashed", actor=self.name, message=type(message).__name__, error=repr(exc))
                self._on_crash(self.name, exc, self.actor_ref, message)
            raise


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

    def ask(self, query: Query[R], timeout: float | None = None) -> R:
        """Send ``query`` and wait for its answer.

        Raises:
            ActorCrashedError: the actor raised (and is being restarted).
            ActorUnavailableError: the actor is not running.
            CallFailed, Interrupted: the actor's expected failures.
            TimeoutError: no answer within ``timeout`` seconds.
        """
        ref = self._resolve(self.name, 30.0 if timeout is None else timeout)
        try:
            return ref.ask(query, timeout=timeout)  # type: ignore[return-value]
        except pykka.ActorDeadError as exc:
            raise ActorUnavailableError(f"{self.name} stopped before answering") from exc
        except pykka.Timeout as exc:
            raise TimeoutError(f"{self.name} did not answer {type(query).__name__} within {timeout}s") from exc
        except ActorError:
            raise
        except Exception as exc:
            raise ActorCrashedError(self.name, exc) from exc

    def tell(self, command: Command, *, wait: float = 30.0) -> bool:
        """Fire and forget; False when the actor is not there within ``wait`` seconds (dropped).

        A failure while handling it is the actor's crash, journaled and handled by the supervisor.
        """
        try:
            self._resolve(self.name, wait).tell(command)
        except (pykka.ActorDeadError, ActorUnavailableError):
            log.warning("tell_dropped", actor=self.name, message=type(command).__name__)
            return False
        return True
