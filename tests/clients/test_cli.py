"""The greenroom command, as a person runs it (real subprocesses, a real daemon)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from greenroom.clients.cli import build_parser
from tests.conftest import call, cli_flags, finish, plan, wait_for, write_script


def _subparsers() -> dict[str, Any]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)  # type: ignore[attr-defined]


class TestHelp:
    def test_every_command_has_help(self) -> None:
        """Each command has a one-line help and a description, and --help works."""
        subs = _subparsers()
        assert set(subs) >= {
            "daemon",
            "run",
            "tail",
            "tasks",
            "status",
            "confirm",
            "cancel",
            "task",
            "memory",
        }
        parser = build_parser()
        action = next(a for a in parser._actions if a.dest == "command")
        helps = {c.dest: c.help for c in action._choices_actions}  # type: ignore[attr-defined]
        for name, sub in subs.items():
            assert helps.get(name), f"{name} has no help line"
            assert sub.description, f"{name} has no description"
            for arg in sub._actions:
                if arg.dest != "help":
                    assert arg.help, f"{name} {arg.dest} has no help"
                choices = getattr(arg, "choices", None)
                for child_name, child in choices.items() if isinstance(choices, dict) else ():
                    if hasattr(child, "_actions"):  # a nested command, e.g. memory search
                        assert child.description, f"{name} {child_name} has no description"
                        assert all(a.help for a in child._actions if a.dest != "help"), f"{name} {child_name}"
            with pytest.raises(SystemExit) as info:
                parser.parse_args([name, "--help"])
            assert info.value.code == 0


def greenroom(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = [sys.executable, "-m", "greenroom", *cli_flags(root, root / "script.json")]
    env = {k: v for k, v in os.environ.items() if k != "GREENROOM_RUNTIME_DIR"}
    return subprocess.run(
        [*base, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture
def root(short_tmp: Path):  # type: ignore[no-untyped-def]
    (short_tmp / "config.toml").touch()
    write_script(
        short_tmp / "script.json",
        {
            "plan": plan("remember the milk"),
            "step:1:round:1": call(("memory.remember", {"text": "buy milk"})),
            "step:1:round:2": finish("I will remember to buy milk."),
        },
    )
    yield short_tmp
    if greenroom(short_tmp, "status").returncode == 0:
        stopped = greenroom(short_tmp, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped" in stopped.stdout
        assert greenroom(short_tmp, "status").returncode == 3


@pytest.mark.slow
class TestCommands:
    def test_no_daemon_gives_a_clear_message(self, root: Path) -> None:
        """Without a daemon, commands say so in one line and exit 3, no traceback."""
        for args in (
            ["status"],
            ["tasks"],
            ["tail"],
            ["confirm", "c-1", "yes"],
            ["cancel", "t-1"],
            ["run", "--no-start", "x"],
        ):
            proc = greenroom(root, *args)
            assert proc.returncode == 3, (args, proc.stderr)
            assert "no greenroom daemon is running" in proc.stderr
            assert "greenroom daemon" in proc.stderr
            assert "Traceback" not in proc.stderr

    def test_the_end_of_input_leaves_the_question_to_other_terminals(self, root: Path) -> None:
        """Ctrl-D at a question is nobody's answer: the task waits, and `greenroom confirm` elsewhere goes on."""
        master, slave = os.openpty()
        base = [sys.executable, "-m", "greenroom", *cli_flags(root, root / "script.json")]
        env = {k: v for k, v in os.environ.items() if k != "GREENROOM_RUNTIME_DIR"}
        proc = subprocess.Popen([*base, "run", "remember", "to", "buy", "milk"], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        os.close(slave)
        try:
            task = wait_for(lambda: next(iter(json.loads(greenroom(root, "tasks", "--json").stdout or "[]")), None), 60)
            cids = wait_for(lambda: [q["confirmation_id"] for q in json.loads(
                greenroom(root, "task", task["task_id"], "--json").stdout)["confirmations"]], 60)  # fmt: skip
            stdout, stderr = proc.stdout, proc.stderr
            assert stdout is not None
            assert stderr is not None
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(stdout), daemon=True)
            reader.start()
            os.write(master, b"\x04")  # Ctrl-D: the end of input on a terminal
            left = f"no more input here: answer from any terminal with greenroom confirm {cids[0]} yes|no"
            wait_for(lambda: any(left in line for line in lines), 60)  # then another terminal answers
            assert greenroom(root, "confirm", cids[0], "yes").returncode == 0
            assert proc.wait(60) == 0, stderr.read()
            reader.join(30)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        assert "".join(lines).rstrip().endswith("I will remember to buy milk.")

    def test_run_starts_its_daemon_where_greenroom_runtime_dir_says(self, root: Path) -> None:
        """With $GREENROOM_RUNTIME_DIR (no --runtime-dir), the daemon `run` starts listens there, and answers."""
        flags = cli_flags(root, root / "script.json")
        at = flags.index("--runtime-dir")
        flags = flags[:at] + flags[at + 2 :]
        env = {**os.environ, "GREENROOM_RUNTIME_DIR": str(root / "elsewhere")}
        cmd = [sys.executable, "-m", "greenroom", *flags]
        try:
            proc = subprocess.run([*cmd, "run", "--yes", "remember", "to", "buy", "milk"], capture_output=True,
                                  text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            assert (root / "elsewhere" / "control.ipc").exists()
        finally:
            subprocess.run([*cmd, "stop"], capture_output=True, timeout=60, env=env)

    def test_run_starts_a_daemon_follows_and_answers(self, root: Path) -> None:
        """`greenroom run --yes` starts a daemon, shows the timeline and exits 0 on finish."""
        proc = greenroom(root, "run", "--yes", "remember", "to", "buy", "milk")
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert "starting greenroom daemon" in out
        for kind in (
            "task.submitted",
            "task.planned",
            "tool.decided",
            "confirmation.asked",
            "confirmation.answered",
            "tool.result",
            "task.finished",
        ):
            assert kind in out, kind
        assert "memory.remember ask (rule side-effects-ask)" in out
        assert out.rstrip().endswith("I will remember to buy milk.")

        tasks = greenroom(root, "tasks", "--json")
        (task,) = json.loads(tasks.stdout)
        assert task["status"] == "finished"
        assert greenroom(root, "task", task["task_id"]).stdout.startswith(task["task_id"])

        tail = greenroom(root, "tail", "--from", "0", "--limit", "2", "--json")
        first, second = (json.loads(line) for line in tail.stdout.splitlines())
        assert (first["seq"], second["seq"]) == (1, 2)
        assert second["event"]["type"] == "task.submitted"

        status = json.loads(greenroom(root, "status", "--json").stdout)
        assert status["tasks"] == {"finished": 1}
        assert set(status["actors"]) == {
            "planner",
            "executor",
            "critic",
            "scheduler",
            "llm",
            "memory",
            "policy",
        }

    def test_confirm_and_cancel_from_another_terminal(self, root: Path) -> None:
        """A task waits for an answer; `confirm` from another shell answers, errors are one line."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "greenroom", *cli_flags(root, root / "script.json"), "run", "milk"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

        def waiting() -> Any:
            r = greenroom(root, "tasks", "--json")
            if r.returncode != 0:
                return None
            tasks = json.loads(r.stdout)
            return tasks and tasks[0]["confirmations"] and tasks[0]

        task = wait_for(waiting, timeout=30, interval=0.2)
        cid = task["confirmations"][0]["confirmation_id"]
        bad = greenroom(root, "confirm", "c-nope", "yes")
        assert bad.returncode == 2
        assert "no pending confirmation" in bad.stderr
        ok = greenroom(root, "confirm", cid, "yes")
        assert ok.returncode == 0, ok.stderr
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert f"{cid} yes" in out
        done = greenroom(root, "cancel", task["task_id"])
        assert done.returncode == 2
        assert "already finished" in done.stderr

    def test_failed_task_exits_1(self, root: Path) -> None:
        """A task that fails ends `run` with status 1 and the reason."""
        write_script(root / "script.json", {"plan": "not json at all"})
        proc = greenroom(root, "run", "x")
        assert proc.returncode == 1
        assert "plan was not valid" in proc.stderr


@pytest.mark.slow
class TestPolicyCommands:
    def test_tools_and_policy_commands(self, root: Path) -> None:
        """`tools`, `policy show|test|offline` talk to the daemon and answer in one line each."""
        daemon = subprocess.Popen(
            [sys.executable, "-m", "greenroom", *cli_flags(root, root / "script.json"), "daemon"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: greenroom(root, "status").returncode == 0, timeout=30, interval=0.1)
            tools = greenroom(root, "tools")
            assert tools.returncode == 0
            assert "fs.write" in tools.stdout
            assert "[dry-run]" in tools.stdout
            assert "shell.exec" not in tools.stdout, "shell is off by default"
            show = greenroom(root, "policy", "show")
            assert "offline mode: off" in show.stdout
            assert "default    side-effects-ask" in show.stdout
            test = greenroom(root, "policy", "test", "fs.write", json.dumps({"path": str(root / "x"), "content": "y"}))
            assert test.stdout.startswith("ask (rule side-effects-ask")
            outside = greenroom(root, "policy", "test", "fs.read", '{"path": "/etc/passwd"}')
            assert outside.stdout.startswith("deny (rule outside-roots")
            assert greenroom(root, "policy", "offline", "on").stdout.strip() == "offline mode on"
            fetch = greenroom(root, "policy", "test", "web.fetch", '{"url": "https://example.com"}')
            assert fetch.stdout.startswith("deny (rule offline")
            bad = greenroom(root, "policy", "test", "fs.read", "{nope")
            assert bad.returncode == 2
            assert "not valid JSON" in bad.stderr
        finally:
            daemon.terminate()
            daemon.wait(30)
