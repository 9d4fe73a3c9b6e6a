"""Schedule settings (the ``[schedules]`` section of the daemon's config)."""

from __future__ import annotations

import msgspec


class ScheduleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    grace_s: float = 60.0
    """A slot seen at most this late runs as usual; later ones count as missed (catch-up applies)."""
    max_sleep_s: float = 300.0
    """The timer re-reads the wall clock at least this often (notices a laptop's sleep or a clock change)."""
    max_failures: int = 3
    """Default for new schedules: pause after this many consecutive failed runs (0: never)."""
    max_schedules: int = 1000
    """Most schedules that may exist (not removed) at once."""

    def __post_init__(self) -> None:
        if self.grace_s < 0:
            raise ValueError("schedules.grace_s must not be negative")
        if not 1 <= self.max_sleep_s <= 3600:
            raise ValueError("schedules.max_sleep_s must be between 1 and 3600")
        if self.max_failures < 0:
            raise ValueError("schedules.max_failures must not be negative")
