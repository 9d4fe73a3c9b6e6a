"""The one place that configures structlog.

Console rendering on stderr when it is a TTY (JSON lines otherwise), and
always JSON lines to the log file.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import structlog

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "info", log_file: Path | None = None, *, stderr: bool = True) -> None:
    """Configure structlog and stdlib logging for this process.

    Args:
        level: minimum level name.
        log_file: JSON-lines log file (rotated at 10 MiB, 3 kept); None for none.
        stderr: also log to stderr (console renderer on a TTY, JSON otherwise).
    """
    handlers: list[logging.Handler] = []
    if stderr:
        renderer = structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
        h: logging.Handler = logging.StreamHandler(sys.stderr)
        h.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                foreign_pre_chain=_SHARED,
            )
        )
        handlers.append(h)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(log_file, maxBytes=10 << 20, backupCount=3)
        fh.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
                foreign_pre_chain=_SHARED,
            )
        )
        handlers.append(fh)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
