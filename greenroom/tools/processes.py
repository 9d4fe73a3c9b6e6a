"""Tools that run programs: ``shell.exec`` (off by default) and ``python.run``.

Both run in a child process with a timeout and an output cap; the child gets a
minimal environment (``PATH``, ``HOME``, ``LANG``), never the daemon's own
variables, so tokens in the daemon's environment cannot leak into them.
``python.run`` also runs isolated (``-I``) under an address-space limit.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
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


def _run(argv: list[str], ctx: ToolContext, timeout: float, cwd: str, limit_mb: int | None = None) -> str:
    def limits() -> None:  # runs in the child, before exec
        os.setsid()
        if limit_mb is not None:
            size = limit_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            cwd=cwd,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            preexec_fn=limits,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolError(f"timed out after {timeout:g}s") from None
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    text = out + (f"\n[stderr]\n{err}" if err.strip() else "")
    text = f"[exit {proc.returncode}]\n{text}"
    return clip(text, ctx.max_output_bytes)


def _shell(ctx: ToolContext, args: ShellArgs) -> str:
    cwd = os.path.expanduser(ctx.fs_roots[0]) if ctx.fs_roots else tempfile.gettempdir()
    return _run(["/bin/sh", "-c", args.command], ctx, ctx.config.shell_timeout_s, cwd)


def _python(ctx: ToolContext, args: PythonArgs) -> str:
    with tempfile.TemporaryDirectory(prefix="greenroom-py-") as tmp:
        return _run(
            [sys.executable, "-I", "-c", args.code],
            ctx,
            ctx.config.python_timeout_s,
            tmp,
            limit_mb=ctx.config.python_memory_mb,
        )


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
