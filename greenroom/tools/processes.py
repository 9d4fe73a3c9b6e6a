"""Tools that run programs: ``shell.exec`` (off by default) and ``python.run``.

Both run in a child process with a timeout and an output cap; the child gets a
minimal environment (``PATH``, ``HOME``, ``LANG``), never the daemon's own
variables, so tokens in the daemon's environment cannot leak into them.
``python.run`` also runs isolated (``-I``) under an address-space limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Annotated

import msgspec

from greenroom.tools.spec import ToolContext, ToolError, ToolSpec
from greenroom.tools.text import clip


class ShellArgs(msgspec.Struct, forbid_unknown_fields=True):
    command: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class PythonArgs(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]


def _clean_env() -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.path.expanduser("~"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }


# The child sets its own memory limit before running the code: no preexec_fn, which is
# unsafe in a multi-threaded process like the daemon.
_PY_BOOTSTRAP = (
    "import resource, sys\n"
    "n = int(sys.argv[1]) << 20\n"
    "resource.setrlimit(resource.RLIMIT_AS, (n, n))\n"
    "code = sys.argv[2]\n"
    "del sys.argv[1:3]\n"
    "exec(compile(code, '<python.run>', 'exec'), {'__name__': '__main__'})\n"
)


_CANCEL_POLL_S = 0.1


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def _run(argv: list[str], ctx: ToolContext, timeout: float, cwd: str) -> str:
    # Its own session, so a timeout or a cancel kills everything it started, not just the shell.
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=_clean_env(),
        start_new_session=True,
    ) as proc:
        while True:
            # Short waits (communicate keeps what it read so far), so a cancel stops it at once.
            try:
                stdout, stderr = proc.communicate(timeout=min(_CANCEL_POLL_S, max(0.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if ctx.cancel.is_set():
                    _kill(proc)
                    raise ToolError("cancelled") from None
                if time.monotonic() >= deadline:
                    _kill(proc)
                    raise ToolError(f"timed out after {timeout:g}s") from None
    out = stdout.decode(errors="replace")
    err = stderr.decode(errors="replace")
    text = out + (f"\n[stderr]\n{err}" if err.strip() else "")
    text = f"[exit {proc.returncode}]\n{text}"
    return clip(text, ctx.max_output_bytes)


def _shell(ctx: ToolContext, args: ShellArgs) -> str:
    cwd = os.path.expanduser(ctx.fs_roots[0]) if ctx.fs_roots else tempfile.gettempdir()
    return _run(["/bin/sh", "-c", args.command], ctx, ctx.config.shell_timeout_s, cwd)


def _python(ctx: ToolContext, args: PythonArgs) -> str:
    with tempfile.TemporaryDirectory(prefix="greenroom-py-") as tmp:
        argv = [sys.executable, "-I", "-c", _PY_BOOTSTRAP, str(ctx.config.python_memory_mb), args.code]
        return _run(argv, ctx, ctx.config.python_timeout_s, tmp)


SHELL_TOOL = ToolSpec(
    "shell.exec", "Run a shell command (output and exit code).", ShellArgs, _shell, "external", shell=True
)
PYTHON_TOOL = ToolSpec(
    "python.run",
    "Run Python code in a separate process (prints are the output).",
    PythonArgs,
    _python,
    "external",
    shell=True,
)
