"""MCP servers through a real daemon: real servers from PyPI and npm, and one over HTTP."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from greenroom.bus import events as e
from greenroom.bus.protocol import TaskView
from greenroom.models.scripted import ScriptedBackend
from greenroom.tools.spec import ArgumentsError, ToolContext, ToolError
from tests.conftest import call, finish, make_config, plan, wait_for, write_script
from tests.tools.mcp.conftest import TIME_SERVER, events, wait_event

pytestmark = pytest.mark.slow


def start(short_tmp: Path, daemon_factory: Any, responses: dict[str, str], *overrides: str) -> tuple[Any, Any]:
    script = write_script(short_tmp / "script.json", responses)
    backend = ScriptedBackend(script)
    config = make_config(short_tmp, script, "mcp.backoff_base_s=0.05", *overrides)
    return daemon_factory(config, make_backend=lambda: backend), backend


def settle(client: Any, task_id: str, answer: bool | None = None) -> TaskView:
    def done() -> Any:
        view = client.task(task_id)
        if answer is not None:
            for c in view.confirmations:
                client.confirm(c.confirmation_id, answer)
        return view.status in ("finished", "failed", "cancelled") and view

    return wait_for(done, timeout=90)


def run_tool(d: Any, name: str, args: dict[str, Any]) -> str:
    """Call a registered tool as the executor would (outside a task)."""
    return str(d.runtime.tools.get(name).run(ToolContext(task_id="t-test", call_id="c-test"), args))


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class TestStdioServers:
    def test_python_server_call_asks_is_answered_and_lands_on_the_timeline(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """The PyPI time server's tools join as mcp.time.*; a config rule tightens its read-only
        allow to ask; the answer lets the call run; its result is on the timeline and in the next prompt."""
        rule = 'policy.rules=[{id="time-ask", tools=["mcp.time.*"], decision="ask", reason="ask me about time"}]'
        d, backend = start(
            short_tmp,
            daemon_factory,
            {
                "plan": plan("tell the time in UTC"),
                "step:1:round:1": call(("mcp.time.get_current_time", {"timezone": "UTC"})),
                "step:1:round:2": finish("it is now"),
            },
            rule,
        )
        with d.client() as c:
            view = c.mcp_add("time", command=TIME_SERVER)
            assert view.state == "running", view.error
            assert {t.name for t in view.tools} == {"mcp.time.get_current_time", "mcp.time.convert_time"}
            assert all(t.read_only for t in view.tools)
            assert {"mcp.time.get_current_time", "mcp.time.convert_time"} <= {t.name for t in c.tools()}
            task_id = c.submit("what time is it in UTC?").task_id
            (pending,) = wait_for(lambda: c.task(task_id).confirmations, timeout=60)
            assert pending.tool == "mcp.time.get_current_time"
            c.confirm(pending.confirmation_id, True)
            assert settle(c, task_id).status == "finished"
        decided = next(ev for ev in events(d, e.ToolDecided, task_id))
        assert (decided.decision, decided.rule) == ("ask", "time-ask")
        answered = next(ev for ev in events(d, e.ConfirmationAnswered, task_id))
        assert answered.approved
        (result,) = events(d, e.ToolResult, task_id)
        assert result.ok, result.error
        assert '"timezone": "UTC"' in result.output
        round2 = next(r for r in backend.requests if r.purpose == "step:1:round:2")
        assert '"timezone": "UTC"' in round2.messages[-1].content
        started = wait_event(d, e.McpServerStarted, server="time")
        assert started.transport == "stdio"
        assert started.tools == 2
        assert started.pid == view.pid

    def test_node_server_read_only_runs_and_side_effects_ask(
        self, short_tmp: Path, daemon_factory: Any, everything: list[str]
    ) -> None:
        """The npm "everything" server: a read-only tool is allowed by mcp-read-only, one that changes
        something asks (and a "no" stops it), and an image result becomes a file the output points at."""
        d, _ = start(
            short_tmp,
            daemon_factory,
            {
                "plan": plan("echo, toggle, picture"),
                "step:1:round:1": call(
                    ("mcp.every.echo", {"message": "hello"}),
                    ("mcp.every.toggle-subscriber-updates", {}),
                    ("mcp.every.get-tiny-image", {}),
                ),
                "step:1:round:2": finish("done"),
            },
        )
        with d.client() as c:
            view = c.mcp_add("every", command=everything)
            assert view.state == "running", view.error
            assert view.protocol == "2025-11-25"
            assert c.test_policy("mcp.every.echo", {"message": "x"}).rule == "mcp-read-only"
            task_id = c.submit("exercise the server").task_id
            assert settle(c, task_id, answer=False).status == "finished"
        results = {r.tool: r for r in events(d, e.ToolResult, task_id)}
        assert results["mcp.every.echo"].output == "Echo: hello"
        assert results["mcp.every.toggle-subscriber-updates"].error == "the person declined this call"
        image = results["mcp.every.get-tiny-image"].output
        assert "[image image/png" in image
        path = Path(image.split(": ", 1)[1].split("]", 1)[0])
        assert path.read_bytes().startswith(b"\x89PNG")
        assert path.stat().st_mode & 0o777 == 0o600
        decisions = {ev.tool: (ev.decision, ev.rule) for ev in events(d, e.ToolDecided, task_id)}
        assert decisions["mcp.every.echo"] == ("allow", "mcp-read-only")
        assert decisions["mcp.every.toggle-subscriber-updates"] == ("ask", "side-effects-ask")

    def test_server_killed_mid_call_is_restarted_by_the_supervisor(
        self, short_tmp: Path, daemon_factory: Any, everything: list[str]
    ) -> None:
        """Killing the Node server during a long call fails that call with a clear error, the supervisor
        restarts it (crash and restart events), and the task's next call runs on the new process."""
        d, _ = start(
            short_tmp,
            daemon_factory,
            {
                "plan": plan("a long job, then echo"),
                "step:1:round:1": call(("mcp.every.trigger-long-running-operation", {"duration": 120, "steps": 120})),
                "step:1:round:2": call(("mcp.every.echo", {"message": "after the crash"})),
                "step:1:round:3": finish("done"),
            },
        )
        with d.client() as c:
            first = c.mcp_add("every", command=everything)
            assert first.pid is not None
            task_id = c.submit("run the long job").task_id
            wait_for(lambda: events(d, e.ToolInvoked, task_id), timeout=60)
            os.kill(first.pid, signal.SIGKILL)
            crashed = wait_event(d, e.McpServerCrashed, server="every")
            restarted = wait_event(d, e.McpServerStarted, server="every", attempt=1)
            assert settle(c, task_id).status == "finished"
            second = c.mcp_show("every")
        assert "closed the connection" in crashed.error
        assert restarted.reason == "restarted after a crash"
        assert second.state == "running"
        assert second.pid not in (None, first.pid)
        long_call, echo = events(d, e.ToolResult, task_id)
        assert not long_call.ok
        assert "closed the connection during the call" in long_call.error
        assert echo.ok
        assert echo.output == "Echo: after the crash"

    def test_python_server_killed_is_restarted_and_arguments_are_checked(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """The PyPI server killed between calls is restarted by the supervisor and answers again;
        arguments that do not match a tool's schema are refused before any call."""
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            first = c.mcp_add("time", command=TIME_SERVER)
            assert first.pid is not None
            os.kill(first.pid, signal.SIGKILL)
            crashed = wait_event(d, e.McpServerCrashed, server="time")
            wait_event(d, e.McpServerStarted, server="time", attempt=1)
            assert crashed.restart_in_s == 0.05
            out = run_tool(d, "mcp.time.get_current_time", {"timezone": "UTC"})
            assert '"timezone": "UTC"' in out
            assert c.mcp_show("time").pid not in (None, first.pid)
        with pytest.raises(ArgumentsError, match="timezone"):
            d.runtime.tools.get("mcp.time.get_current_time").parse_args({"timezone": 5})

    def test_a_call_past_its_timeout_fails_and_the_server_goes_on(
        self, short_tmp: Path, daemon_factory: Any, everything: list[str]
    ) -> None:
        """A server's per-call timeout ends a slow call with a clear error; the next call works."""
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            c.mcp_add("every", command=everything, timeout_s=1)
        with pytest.raises(ToolError, match="timed out after 1s"):
            run_tool(d, "mcp.every.trigger-long-running-operation", {"duration": 30, "steps": 30})
        assert run_tool(d, "mcp.every.echo", {"message": "still here"}) == "Echo: still here"

    def test_repeated_crashes_disable_the_server_with_the_reason(self, short_tmp: Path, daemon_factory: Any) -> None:
        """A server that dies at once is restarted with a doubling backoff, then disabled, and says why."""
        d, _ = start(short_tmp, daemon_factory, {}, "mcp.backoff_base_s=0.01", "mcp.max_crashes=3")
        with d.client() as c:
            c.mcp_add("dies", command=[sys.executable, "-c", "import sys; sys.exit(3)"])
            disabled = wait_event(d, e.McpServerDisabled, server="dies")
            view = c.mcp_show("dies")
        crashes = [ev for ev in events(d, e.McpServerCrashed) if ev.server == "dies"]
        assert [ev.restart_in_s for ev in crashes] == [0.01, 0.02]
        assert [ev.crashes for ev in crashes] == [1, 2]
        assert disabled.reason.startswith("crashed 3 times in a row; last error:")
        assert (view.state, view.enabled, view.error) == ("disabled", False, disabled.reason)

    def test_tools_list_changed_refreshes_the_registry(
        self, short_tmp: Path, daemon_factory: Any, grow_server: list[str]
    ) -> None:
        """A Node server that adds a tool sends notifications/tools/list_changed; the new tool joins
        the registry (and the policy's defaults) and is announced."""
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            view = c.mcp_add("grow", command=grow_server)
            assert [t.name for t in view.tools] == ["mcp.grow.grow"]
            assert run_tool(d, "mcp.grow.grow", {"name": "fresh"}) == "added fresh"
            changed = wait_event(d, e.McpToolsChanged, server="grow", added=["mcp.grow.fresh"])
            assert changed.total == 2
            assert "mcp.grow.fresh" in {t.name for t in c.tools()}
            assert c.test_policy("mcp.grow.fresh", {}).rule == "side-effects-ask"
            assert run_tool(d, "mcp.grow.fresh", {}) == "I am fresh"

    def test_servers_stop_with_the_daemon_and_start_lazily_next_time(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """Stopping the daemon stops its servers; the next daemon offers their cached tools without
        starting them, and the first call starts the server."""
        config = make_config(short_tmp, None)
        first = daemon_factory(config)
        with first.client() as c:
            pid = c.mcp_add("time", command=TIME_SERVER).pid
        assert pid is not None
        first.stop()
        wait_for(lambda: gone(pid), timeout=30)
        second = daemon_factory(config)
        assert wait_event(second, e.McpServerStopped, server="time").reason == "daemon stopping"
        with second.client() as c:
            idle = c.mcp_show("time")
            assert (idle.state, idle.pid) == ("stopped", None)
            assert "mcp.time.convert_time" in {t.name for t in c.tools()}
            out = run_tool(
                second,
                "mcp.time.convert_time",
                {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
            )
            assert '"time_difference": "+9.0h"' in out
            assert c.mcp_show("time").state == "running"

    def test_disable_enable_restart_and_remove(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Disable stops the server and withdraws its tools; enable brings them back (lazily); restart
        gives a new process; remove forgets it; a tool error from the server fails the call."""
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            pid = c.mcp_add("time", command=TIME_SERVER).pid
            assert c.mcp_enable("time", False).state == "disabled"
            assert not any(t.name.startswith("mcp.time.") for t in c.tools())
            wait_for(lambda: pid is not None and gone(pid), timeout=30)
            assert c.mcp_enable("time", True).state == "stopped"
            assert "mcp.time.get_current_time" in {t.name for t in c.tools()}
            with pytest.raises(ToolError, match="Invalid timezone"):
                run_tool(d, "mcp.time.get_current_time", {"timezone": "Nowhere/Atlantis"})
            running = c.mcp_show("time")
            restarted = c.mcp_restart("time")
            assert restarted.state == "running"
            assert restarted.pid not in (None, running.pid)
            c.mcp_remove("time")
            assert c.mcp_list() == []
            assert not any(t.name.startswith("mcp.time.") for t in c.tools())
        changed = [ev for ev in events(d, e.McpToolsChanged) if ev.server == "time"]
        assert changed[-1].removed == ["mcp.time.convert_time", "mcp.time.get_current_time"]


class TestHttpServer:
    def test_http_server_with_a_secret_header(
        self, short_tmp: Path, daemon_factory: Any, http_server: dict[str, Any]
    ) -> None:
        """A Streamable HTTP server on loopback: reached with its bearer header, tools listed and
        called, list changes followed over subscriptions/listen; the token is stored 0600 and never
        journaled, logged or shown."""
        token = http_server["token"]
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            view = c.mcp_add("web", url=http_server["url"], headers={"Authorization": f"Bearer {token}"})
            assert view.state == "running", view.error
            assert view.protocol == "2026-07-28"
            assert view.header_names == ["Authorization"]
            assert view.network
            assert {t.name for t in view.tools} == {"mcp.web.add", "mcp.web.grow"}
            assert run_tool(d, "mcp.web.add", {"a": 2, "b": 3}) == "5"
            assert run_tool(d, "mcp.web.grow", {"name": "fresh"}) == "added fresh"
            wait_event(d, e.McpToolsChanged, server="web", added=["mcp.web.fresh"])
            assert token not in repr(c.mcp_list())
        d.stop()
        data = short_tmp / "data"
        assert token.encode() not in (data / "journal.sqlite").read_bytes()
        logs = [p for p in (data / "logs").rglob("*") if p.is_file()]
        assert all(token.encode() not in p.read_bytes() for p in logs)
        state = [p for p in data.glob("state.sqlite*")]
        assert state
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in state)

    def test_offline_mode_denies_network_servers_only(
        self, short_tmp: Path, daemon_factory: Any, http_server: dict[str, Any]
    ) -> None:
        """Offline mode denies an HTTP server's tools (and a stdio one declared --network), not a local one."""
        d, _ = start(short_tmp, daemon_factory, {})
        with d.client() as c:
            c.mcp_add("web", url=http_server["url"], headers={"Authorization": f"Bearer {http_server['token']}"})
            c.mcp_add("time", command=TIME_SERVER)
            c.mcp_add("nettime", command=TIME_SERVER, network=True)
            c.set_offline(True)
            assert c.test_policy("mcp.web.add", {"a": 1, "b": 2}).rule == "offline"
            assert c.test_policy("mcp.nettime.get_current_time", {"timezone": "UTC"}).rule == "offline"
            assert c.test_policy("mcp.time.get_current_time", {"timezone": "UTC"}).decision == "allow"

    def test_a_refused_server_says_why(self, short_tmp: Path, daemon_factory: Any, http_server: dict[str, Any]) -> None:
        """Without its header the server answers 401: the add reports the failure instead of hanging."""
        d, _ = start(short_tmp, daemon_factory, {}, "mcp.backoff_base_s=5")
        with d.client() as c:
            view = c.mcp_add("web", url=http_server["url"])
        assert view.state == "backoff"
        assert view.error
        assert view.tools == []
