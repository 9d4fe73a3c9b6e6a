"""The one place that configures structlog.

Console rendering on stderr when it is a TTY (JSON lines otherwise), and
always JSON lines to the log file. Exceptions on the console are rendered as
Python prints them (``plain_traceback``), not with rich: structlog imports rich
whenever it is installed, which cost the daemon's cold start ~45 ms (a fifth of
it) for a renderer its log file never uses, so the daemon imports structlog
(through this module, its first importer) with rich hidden.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Callable
from pathlib import Path

if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` fails: structlog goes without
    try:
        import structlog
    finally:
        del sys.modules["rich"]  # anything that uses rich later imports it as usual
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
        renderer = (
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
            if sys.stderr.isatty()
            else structlog.processors.JSONRenderer()
        )
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


def rewrite_log_files(log_dir: Path, fn: Callable[[str], str]) -> list[Path]:
    """Apply ``fn`` to the text of every log file in ``log_dir`` (a forget scrubs its text out of logs).

    A file this process writes is rewritten under its handler's lock, in place (the
    handler appends, so it goes on writing at the new end); returns the files changed.
    """
    handlers = {
        Path(h.baseFilename).resolve(): h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)
    }
    changed = []
    for path in sorted(p for p in log_dir.glob("*") if p.is_file()):
        handler = handlers.get(path.resolve())
        if handler is not None:
            handler.acquire()
        try:
            with open(path, "r+", encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
                new = fn(text)
                if new == text:
                    continue
                f.seek(0)
                f.write(new)
                f.truncate()
            changed.append(path)
        except OSError as exc:
            structlog.get_logger(__name__).warning("log_rewrite_failed", path=str(path), error=str(exc))
        finally:
            if handler is not None:
                handler.release()
    return changed
