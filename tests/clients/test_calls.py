"""One definition per call for both clients, every request reachable from them, and a CLI that ends
quietly when its reader goes away."""

from __future__ import annotations

import inspect
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from greenroom.bus import protocol as p
from greenroom.clients import AsyncClient, Client
from greenroom.clients.calls import Call, Calls, call
from greenroom.clients.chat_client import ChatCalls
from tests.conftest import cli_flags

SAMPLE_ARGS: dict[str, tuple[Any, ...]] = {
    "submit": ("goal",), "cancel": ("t-1",), "confirm": ("c-1", True), "task": ("t-1",), "preview": ("c-1",),
    "test_policy": ("fs.read", {}), "set_offline": (True,), "revoke_token": ("tok",), "generate": ([("user", "x")],),
    "cancel_generation": ("g",), "pull_model": ("acme/x",), "remove_model": ("acme/x",), "model_params": ("m",),
    "memory_add": ("text",), "memory_ingest": (["/x"],), "memory_search": ("q",), "memory_watch": (["/x"],),
    "memory_unwatch": ("/x",), "schedule_add": ("goal",), "schedule": ("s-1",), "schedule_pause": ("s-1",),
    "schedule_resume": ("s-1",), "schedule_remove": ("s-1",), "schedule_run": ("s-1",),
    "journal_backup": ("/tmp/b",), "plugin_install": ("/x",), "plugin_update": ("x", "/i"),
    "plugin_enable": ("x",), "plugin_disable": ("x",), "plugin_remove": ("x",), "mcp_add": ("s",),
    "mcp_show": ("s",), "mcp_remove": ("s",), "mcp_enable": ("s",), "mcp_restart": ("s",),
    "chat": ("c-1",), "chat_rename": ("c-1", "t"), "chat_delete": ("c-1",), "chat_duplicate": ("c-1",),
    "chat_search": ("q",), "chat_export": ("c-1",), "chat_import": ("{}",), "chat_send": ("c-1", "hi"),
    "chat_forget": ("c-1",),
}  # fmt: skip
"""Arguments for the calls that need some (the rest take none)."""

CONNECTION_OPS = {"hello"}
"""Requests the clients make themselves, not through a call."""


def calls() -> dict[str, call[Any, Any]]:
    table = {**vars(Calls), **vars(ChatCalls)}
    return {name: value for name, value in table.items() if isinstance(value, call)}


class TestOneDefinition:
    def test_both_clients_have_every_call_with_one_signature(self) -> None:
        """Each call is a blocking method on Client and a coroutine on AsyncClient, with the same signature."""
        sync, async_ = Client(Path("/nonexistent")), AsyncClient(Path("/nonexistent"))
        for name in calls():
            s, a = getattr(sync, name), getattr(async_, name)
            assert inspect.signature(s) == inspect.signature(a), name
            assert not inspect.iscoroutinefunction(s), name
            assert inspect.iscoroutinefunction(a), name
            assert s.__doc__ == a.__doc__, name

    def test_every_request_of_the_protocol_has_a_call(self) -> None:
        """A new op without a client call fails here (and names the op)."""
        made = set()
        for name, c in calls().items():
            built = c.build(*SAMPLE_ARGS.get(name, ()))
            assert isinstance(built, Call)
            made.add(built.request.__struct_config__.tag)
        ops = {cls.__struct_config__.tag for cls in p.Request.__args__}  # type: ignore[attr-defined]
        assert ops - made - CONNECTION_OPS == set(), "ops no client call makes"

    def test_the_async_client_speaks_the_new_calls(self, short_tmp: Path, daemon_factory: Any) -> None:
        """AsyncClient does what Client does: confirm with a scope, memory, models, the journal."""
        from tests.conftest import make_config

        d = daemon_factory(make_config(short_tmp, None, "memory.rerank=false"))

        async def main() -> tuple[Any, ...]:
            async with AsyncClient(d.config.runtime_dir) as client:
                stats = await client.journal_stats()
                models = await client.models()
                params = await client.model_params("qwen3-4b", set={"temperature": 0.2})
                tasks = await client.tasks(["finished"])
                return stats, models, params, tasks

        stats, models, params, tasks = anyio.run(main)
        assert stats.events >= 1
        assert models.models
        assert params.params == {"temperature": 0.2}
        assert tasks == []


def _gr(root: Path) -> list[str]:
    return [sys.executable, "-m", "greenroom", *cli_flags(root)]


@pytest.mark.slow
class TestClosedPipe:
    @pytest.mark.parametrize(
        "args",
        [("memory", "search", "cabin wifi", "-k", "20", "--no-rerank"), ("journal", "export"), ("models", "list")],
        ids=["memory-search", "journal-export", "models-list"],
    )
    def test_output_into_a_closed_pipe_exits_0_quietly(self, args: tuple[str, ...], daemon_process: Any, short_tmp: Path) -> None:  # fmt: skip
        """The reader is gone before the first line: no traceback, exit status 0."""
        daemon = daemon_process(short_tmp, [*cli_flags(short_tmp), "--set", "memory.rerank=false"]).start()
        with Client(daemon.runtime_dir, timeout=120) as client:  # the first add loads the embedding model
            for i in range(20):
                client.memory_add(f"the cabin wifi password, version {i}: on the fridge", ["cabin"])
        read, write = os.pipe()
        os.close(read)  # nobody will ever read: the first write fails with EPIPE
        result = subprocess.run(
            [*_gr(short_tmp), "--set", "memory.rerank=false", *args], stdout=write, stderr=subprocess.PIPE,
            text=True, timeout=120,
        )  # fmt: skip
        os.close(write)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""

    def test_tail_into_head_ends_while_the_daemon_is_quiet(self, daemon_process: Any, short_tmp: Path) -> None:
        """`greenroom tail --from 0 | head -1` ends once head has its line, though no event follows."""
        daemon = daemon_process(short_tmp, cli_flags(short_tmp)).start()
        with Client(daemon.runtime_dir, timeout=60) as client:
            assert client.status().head >= 1, "the daemon's start is journaled"
        command = " ".join(shlex.quote(a) for a in [*_gr(short_tmp), "tail", "--from", "0"])
        shell = f"set -o pipefail; {command} 2>err.txt | head -1"
        result = subprocess.run(["bash", "-c", shell], cwd=short_tmp, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (short_tmp / "err.txt").read_text()
        assert len(result.stdout.splitlines()) == 1
        assert (short_tmp / "err.txt").read_text() == ""

    def test_piped_into_head(self, daemon_process: Any, short_tmp: Path) -> None:
        """`greenroom memory search … | head -1`: one line out, the pipeline's status (the CLI's) is 0."""
        daemon = daemon_process(short_tmp, [*cli_flags(short_tmp), "--set", "memory.rerank=false"]).start()
        with Client(daemon.runtime_dir, timeout=120) as client:
            for i in range(30):
                client.memory_add(f"note {i} about the cabin wifi and a long tail of words " * 3, ["cabin"])
        command = " ".join(
            shlex.quote(a) for a in [*_gr(short_tmp), "memory", "search", "cabin wifi", "-k", "30", "--no-rerank"]
        )
        shell = f"set -o pipefail; {command} 2>err.txt | head -1"
        result = subprocess.run(["bash", "-c", shell], cwd=short_tmp, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (short_tmp / "err.txt").read_text()
        assert len(result.stdout.splitlines()) == 1
        assert (short_tmp / "err.txt").read_text() == ""
