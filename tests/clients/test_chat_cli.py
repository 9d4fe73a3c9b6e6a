"""``greenroom chat``: the real CLI in a pseudo-terminal, and its slash commands against a real daemon."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenroom.clients import Client
from greenroom.clients.cli.chat_repl import ChatRepl
from greenroom.clients.cli.chat_stream import partial_json_string
from greenroom.models import ScriptedBackend
from tests.conftest import answer, call, cli_flags, finish, make_config, plan, write_script

WORDS = [f"w{i:02d}" for i in range(1, 31)]
UP = "\x1b[A"
CTRL_U = "\x15"


def _as_from_a_shell() -> None:
    """In the child before exec: Ctrl-C as a terminal's shell leaves it. An ignored or blocked
    signal survives exec, and this test process may have inherited or caught either (twice in
    full runs beside stress-ng the chat ignored the Ctrl-C this test sends, never alone)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def spawn(root: Path, flags: list[str], *args: str) -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "HOME": str(root), "TERM": "xterm"}
    return pexpect.spawn(
        sys.executable, ["-m", "greenroom", *flags, "chat", "--history", str(root / "history"), *args],
        env=env, encoding="utf-8", timeout=60, dimensions=(40, 200), preexec_fn=_as_from_a_shell,
    )  # fmt: skip


def sigint_state(pid: int) -> str:
    """Whether ``pid`` ignores or blocks SIGINT, from /proc (Linux); "" elsewhere."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return ""
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
    bit = 1 << (signal.SIGINT - 1)
    return " ".join(k for k in ("SigIgn", "SigBlk") if int(fields[k].strip(), 16) & bit)


@pytest.mark.slow
class TestChatInATerminal:
    def test_stream_confirm_new_history_and_ctrl_c(self, short_tmp: Path, daemon_process: Any) -> None:
        """Send, see the answer stream, answer a question inline, /new, arrow-key history, Ctrl-C stops."""
        note = short_tmp / "note.md"
        script = short_tmp / "script.json"
        script.write_text(
            json.dumps(
                {
                    "responses": {
                        "plan": plan("write the note", "report"),
                        "step:1:round:1": call(("fs.write", {"path": str(note), "content": "hello\n"})),
                        "step:1:round:2": finish("written"),
                        "step:2:round:1": finish("reported"),
                        # The second answer holds after w01 until it is stopped: Ctrl-C cannot come too late.
                        "answer": [" ".join(WORDS), " ".join([WORDS[0], "{hold}", *WORDS[1:]])],
                    },
                    "delay_s": 0.1,
                }
            )
        )
        flags = cli_flags(short_tmp, script)
        daemon_process(short_tmp, flags).start()
        child = spawn(short_tmp, flags)
        try:
            child.expect("you>")
            child.sendline("please write the note")
            child.expect(r"\? Allow fs\.write on ")
            child.expect(r"allow\? \[y/N\]")
            child.sendline("y")
            child.expect("greenroom> w01 w02")  # the answer streams ...
            child.expect("w30")  # ... to its end
            child.expect("you>")
            assert note.read_text() == "hello\n"

            child.sendline("/new")
            child.expect(r"new chat (c-[0-9a-f]{8})")
            second_chat = child.match.group(1)
            child.expect("you>")
            child.sendline("second message")
            child.expect(r"allow\? \[y/N\]")
            child.sendline("n")
            child.expect("greenroom> w01")
            assert not sigint_state(child.pid), f"the chat cannot hear Ctrl-C: {sigint_state(child.pid)}"
            child.sendintr()  # Ctrl-C while the answer is being written
            child.expect(r"stopped \(task (t-[0-9a-f]{8}) cancelled\)")
            stopped = child.match.group(1)
            child.expect("you>")

            child.send(UP)  # the last line comes back from the history
            child.expect("second message")
            child.send(CTRL_U)
            child.sendline("/quit")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
        with Client(short_tmp / "run") as c:
            chats = {i.chat_id: i for i in c.chats()}
            assert len(chats) == 2
            assert second_chat in chats
            assert c.task(stopped).status == "cancelled"
            assert "w30" not in c.task(stopped).answer
        assert (short_tmp / "history").read_text().count("second message") == 1
        assert (short_tmp / "history").stat().st_mode & 0o777 == 0o600

    def test_without_a_terminal_lines_are_read_plainly(self, short_tmp: Path, daemon_process: Any) -> None:
        """Piped input works too: each line is a message, --yes answers questions."""
        import subprocess

        script = write_script(short_tmp / "script.json", {"plan": answer("piped answer")})
        flags = cli_flags(short_tmp, script)
        daemon_process(short_tmp, flags).start()
        run = subprocess.run(
            [sys.executable, "-m", "greenroom", *flags, "chat", "--yes", "--title", "piped"],
            input="first\n/list\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "greenroom> piped answer" in run.stdout
        assert "piped" in run.stdout


class Lines:
    """A scripted person at the prompt: each read returns the next line, then EOF."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any, shared_embedder: Any) -> Iterator[Any]:
    script = write_script(short_tmp / "script.json", {"plan": answer("fine, thanks")})
    backend = ScriptedBackend(script)
    d = daemon_factory(make_config(short_tmp, script, "memory.rerank=false"), make_backend=lambda: backend)
    d.runtime.memory.embedder = shared_embedder
    return d


class TestSlashCommands:
    def test_commands_act_on_the_daemon(self, daemon: Any, short_tmp: Path, capsys: Any) -> None:
        """/rename, /export (JSON and Markdown), /model, /image, /file, /list, /switch and /forget do what they say."""
        image = short_tmp / "cat.png"
        image.write_bytes(b"\x89PNG\r\n\x1a\n")
        doc = short_tmp / "recipe.md"
        doc.write_text("# Pancakes\n\nTwo eggs, a cup of flour, a cup of milk.\n")
        lines = Lines(
            "hello",
            "/rename Breakfast",
            f"/export {short_tmp / 'chat.json'}",
            f"/export {short_tmp / 'chat.md'}",
            "/model",
            f"/image {image}",
            f"/file {doc}",
            "what is this?",
            "/new Other",
            "/list",
            "/switch 2",
            "/forget",
            "/help",
            "/bogus",
        )
        with Client(daemon.config.runtime_dir, timeout=300) as c:  # /forget waits for memory's first load
            assert ChatRepl(c, lines).run() == 0
            chats = {i.title: i for i in c.chats()}
            breakfast = c.chat(chats["Breakfast"].chat_id)
        shown = capsys.readouterr().out
        assert set(chats) == {"Breakfast", "Other"}
        assert json.loads((short_tmp / "chat.json").read_text())["title"] == "Breakfast"
        assert (short_tmp / "chat.md").read_text().startswith("# Breakfast")
        assert "model scripted" in shown
        assert "you +image +file> " in lines.prompts
        assert (breakfast.messages[2].images, breakfast.messages[2].files) == ([str(image)], [str(doc)])
        assert "chat " + breakfast.chat_id + ": Breakfast (4 messages)" in shown  # /switch 2 shows it
        assert "forgot " in shown
        assert "unknown or incomplete command '/bogus'" in shown
        assert "/image PATH" in shown


class TestStreamingTheFirstCallsAnswer:
    @given(st.text(max_size=60), st.integers(min_value=1, max_value=7))
    def test_every_prefix_streams_a_prefix_of_the_answer(self, text: str, step: int) -> None:
        """Fed the route call's JSON piece by piece, the answer grows monotonically to exactly the answer."""
        doc = json.dumps({"answer": text})
        shown = ""
        for end in [*range(0, len(doc), step), len(doc)]:
            now = partial_json_string(doc[:end], "answer") or ""
            assert now.startswith(shown)
            shown = now
        assert shown == text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    def test_steps_have_no_answer_to_stream(self) -> None:
        """A first call that plans (steps) streams nothing; garbage streams nothing."""
        assert partial_json_string('{"steps": [{"do": "x", "tool": "none"}]}', "answer") is None
        assert partial_json_string('{"answer": "\\x', "answer") is None


class TestTheFinalAnswer:
    @pytest.mark.parametrize(
        ("streamed", "answer", "shown"),
        [
            ("Paris is the capital. ", "Paris is the capital.", "greenroom> Paris is the capital. \n"),
            ("It is on the fridge", "It is on the fridge [m-1]", "greenroom> It is on the fridge [m-1]\n"),
            ("It is on the fridge ", "It is on the fridge [m-1]", "greenroom> It is on the fridge [m-1]\n"),
            ("Paris", "Berlin", "greenroom> Paris\ngreenroom> Berlin\n"),
        ],
    )
    def test_what_streamed_is_completed_not_repeated(self, capsys: Any, streamed: str, answer: str, shown: str) -> None:
        """The finished answer completes the streamed line (a trailing space aside); only a different one is shown whole."""
        from greenroom.clients.cli.chat_stream import AnswerView

        view = AnswerView()
        view.stream(streamed)
        view.finish(answer)
        assert capsys.readouterr().out == shown


class TestTimelineLines:
    def test_chat_and_grounding_events_read_on_the_timeline(self) -> None:
        """greenroom tail shows what each new event says, not an empty line."""
        from greenroom.bus import Envelope
        from greenroom.bus import events as e
        from greenroom.clients.cli.render import detail

        message = e.ChatMessage(role="user", text="hello", images=["/a.png"])
        events = [
            e.MemoryUsed(query="q", hits=[e.UsedMemory(item_id="m-1", score=0.5, why="dense 0.50 #1")]),
            e.ChatCreated(chat_id="c-1", title="t"),
            e.ChatRenamed(chat_id="c-1", title="u"),
            e.ChatDeleted(chat_id="c-1"),
            e.ChatDuplicated(chat_id="c-2", source_id="c-1"),
            e.ChatImported(chat_id="c-3", title="t", messages=[message]),
            e.ChatMessageAdded(chat_id="c-1", message=message),
            e.ChatSummarized(chat_id="c-1", summary=e.ChatSummary(through=2, text="s"), tokens=9),
        ]
        lines = [detail(Envelope(seq=1, ts=0.0, source="t", event=ev)) for ev in events]
        assert all(lines), lines
        assert "m-1 (dense 0.50 #1)" in lines[0]
        read_as = e.TaskPlanned(revision=0, steps=[], reason="follow-up read as: What is the capital of Germany?")
        assert detail(Envelope(seq=1, ts=0.0, source="t", event=read_as)) == (
            "0 steps (answered directly; follow-up read as: What is the capital of Germany?)"
        )
        assert "(+1 attached)" in lines[6]
