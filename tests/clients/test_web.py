"""The web client in a real browser (Debian's chromium driven by playwright) against a real daemon."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from greenroom.clients import Client
from tests.conftest import answer, call, cli_flags, finish, make_config, plan, write_script

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
WEB = ("gateway.web=true", "gateway.ws_port=0", "gateway.web_port=0", "daemon.log_level=warning")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp: playwright evaluates its waits as strings, which the page's CSP forbids.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 820})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    (short_tmp / "notes.md").write_text("old line\n")
    script = write_script(
        short_tmp / "s.json",
        {
            "plan": plan("update the notes", "report"),
            "step:1:round:1": call(
                ("fs.write", {"path": str(short_tmp / "notes.md"), "content": "old line\nnew line\n"})
            ),
            "step:1:round:2": finish("notes updated"),
            "answer": "The notes have a new line.",
        },
    )
    d = daemon_factory(make_config(short_tmp, script, *WEB))
    d.root = short_tmp
    return d


def page_url(daemon: Any, role: str = "admin") -> str:
    with daemon.client() as c:
        assert c.hello is not None
        return c.hello.transports["web"] + "#token=" + c.create_token(role, "test", 600).token


def attach(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.greenroom.ready === true", timeout=20000)


def tail_json(daemon: Any, first: int, count: int) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "greenroom", *cli_flags(daemon.root), "tail", "--json", "--tokens",
         "--from", str(first), "--limit", str(count)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


class TestWebClient:
    def test_submit_watch_confirm_finish_and_the_timeline_matches_tail(self, daemon: Any, page: Any) -> None:
        """Submit in the page, see the write's diff, answer yes, see it finish; the page's timeline is `tail --json`'s."""
        attach(page, page_url(daemon))
        assert "#token" not in page.url  # the token leaves the address bar
        page.fill("#goal", "add a line to my notes")
        page.click("#submit")
        card = page.wait_for_selector(".confirmation .diff-text", timeout=20000)
        assert "+new line" in card.inner_text()
        assert (daemon.root / "notes.md").read_text() == "old line\n"  # a dry run changed nothing
        page.check(".confirmation .remember")
        page.select_option(".confirmation .scope", "path")
        page.click(".confirmation .yes")
        page.wait_for_function("document.getElementById('task-status')?.textContent === 'finished'", timeout=20000)
        assert (daemon.root / "notes.md").read_text() == "old line\nnew line\n"
        assert "The notes have a new line." in page.inner_text("#task")
        tree = page.inner_text(".tree")
        assert "plan (revision 0)" in tree
        assert "step 1" in tree
        assert "step 2" in tree
        assert "fs.write" in tree
        assert "ask · side-effects-ask" in tree
        assert "ok ·" in tree
        page.wait_for_function("window.greenroom.events.at(-1).event.type === 'task.finished'", timeout=20000)
        events = page.evaluate("window.greenroom.events")
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, no holes, no repeats
        assert tail_json(daemon, seqs[0], len(seqs)) == events
        answered = [e for e in events if e["event"]["type"] == "confirmation.answered"]
        assert answered[0]["event"]["client"] == "greenroom-web"
        assert answered[0]["event"]["remember"] is True

    def test_replay_from_any_seq(self, daemon: Any, page: Any) -> None:
        """Replaying from a chosen seq shows exactly the events from there on."""
        with daemon.client() as c:
            for _ in range(3):
                c.set_offline(True)
        attach(page, page_url(daemon))
        page.fill("#from-seq", "3")
        page.click("#replay")
        page.wait_for_function("window.greenroom.events.length > 0 && window.greenroom.events[0].seq === 3")
        head = daemon.runtime.bus.head
        page.wait_for_function(f"window.greenroom.events.at(-1).seq === {head}")
        assert [e["seq"] for e in page.evaluate("window.greenroom.events")] == list(range(3, head + 1))

    def test_viewer_page_hides_actions_and_sensitive_arguments(self, daemon: Any, page: Any) -> None:
        """A viewer sees the waiting write without its content and without answer buttons."""
        with daemon.client() as c:
            task_id = c.submit("add a line").task_id
        attach(page, page_url(daemon, "viewer"))
        page.click(f"#tasks li[data-task='{task_id}']")
        page.wait_for_selector(".confirmation", timeout=20000)
        body = page.inner_text("body")
        assert "new line" not in body
        assert "arguments hidden" in body
        assert not page.is_visible("#submit")
        assert not page.is_visible(".confirmation .yes")

    def test_memory_models_and_status_tabs(self, daemon: Any, page: Any) -> None:
        """Memory search shows why each hit came back; models carry fit badges; status shows the daemon."""
        with daemon.client() as c:
            c.memory_add("the cabin wifi password is on the fridge", ["cabin"])
        attach(page, page_url(daemon))
        page.click("nav button[data-tab=memory]")
        assert not page.is_visible("#tab-tasks")
        assert page.is_visible("#tab-memory")
        page.fill("#query", "cabin wifi")
        page.press("#query", "Enter")
        hit = page.wait_for_selector(".hit", timeout=60000)
        assert "fridge" in hit.inner_text()
        assert "why:" in hit.inner_text()
        assert "final" in hit.inner_text()
        page.click("nav button[data-tab=models]")
        page.wait_for_selector("#models tr .fit", timeout=20000)
        assert page.locator("#models tr").count() > 5
        page.click("nav button[data-tab=status]")
        page.wait_for_function("document.getElementById('status').innerText.includes('actors')")


class TestRefusals:
    def test_wrong_token_is_refused(self, daemon: Any, page: Any) -> None:
        """A page with a wrong token says it cannot attach and gets no data."""
        with daemon.client() as c:
            assert c.hello is not None
            web = c.hello.transports["web"]
        page.goto(web + "#token=grt_00000000_" + "A" * 43)
        page.wait_for_function("document.getElementById('conn').textContent.includes('unauthorized')", timeout=20000)
        assert page.evaluate("window.greenroom.events.length") == 0

    def test_a_page_from_another_origin_cannot_connect(self, daemon: Any, page: Any) -> None:
        """Even holding a valid token, a page on a foreign origin never gets a reply from the daemon."""
        url = page_url(daemon)
        _web, token = url.split("#token=")
        with daemon.client() as c:
            assert c.hello is not None
            ws = c.hello.transports["ws"]
        script = f"""<script>
          window.result = "pending";
          const s = new WebSocket("{ws}/control", ["rep.sp.nanomsg.org"]);
          s.binaryType = "arraybuffer";
          s.onopen = () => {{
            const body = new TextEncoder().encode(JSON.stringify({{op: "hello", protocol: 1, token: "{token}"}}));
            const f = new Uint8Array(4 + body.length); new DataView(f.buffer).setUint32(0, 0x80000001); f.set(body, 4);
            s.send(f);
          }};
          s.onmessage = () => {{ window.result = "reply"; }};
          s.onclose = () => {{ if (window.result === "pending") window.result = "closed"; }};
        </script>"""
        server = _serve(script.encode())
        try:
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.wait_for_function("window.result !== 'pending'", timeout=20000)
            assert page.evaluate("window.result") == "closed"
        finally:
            server.shutdown()
            server.server_close()


def _serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class TestForgetInThePage:
    def test_a_forgotten_note_leaves_the_page_it_was_shown_on(self, daemon: Any, page: Any) -> None:
        """The page showed memory.stored with the note; after a forget its row and its copy hold the marker."""
        note = "the gate code for the allotment is four seven one one"
        attach(page, page_url(daemon))
        with Client(daemon.config.runtime_dir, timeout=120) as c:
            item = c.memory_add(note, ["garden"])
            page.wait_for_function(
                f"window.greenroom.events.some(e => e.event.type === 'memory.stored' && e.event.text === {note!r})",
                timeout=20000,
            )
            c.memory_forget([item])
        page.wait_for_function("(window.greenroom.rewritten || 0) > 0", timeout=20000)
        events = page.evaluate("window.greenroom.events")
        assert note not in json.dumps(events)
        assert note not in page.inner_text("#timeline")
        stored = [e for e in events if e["event"]["type"] == "memory.stored"]
        assert stored[0]["event"]["text"] == "[forgotten]"

    def test_search_hits_of_a_forgotten_note_leave_the_memory_tab(self, daemon: Any, page: Any) -> None:
        """A search showed the note; once it is forgotten, the hits on screen no longer hold it."""
        note = "the spare bicycle lock key is under the blue flowerpot"
        attach(page, page_url(daemon))
        with Client(daemon.config.runtime_dir, timeout=120) as c:
            item = c.memory_add(note, ["garden"])
            c.memory_add("the bicycle pump lives in the shed", ["garden"])
            page.click("nav button[data-tab=memory]")
            page.fill("#query", "bicycle lock key")
            page.press("#query", "Enter")
            page.wait_for_function(f"document.getElementById('hits').innerText.includes({note!r})", timeout=60000)
            c.memory_forget([item])
        page.wait_for_function(
            f"!document.getElementById('hits').innerText.includes({note!r})"
            " && document.getElementById('hits').innerText.includes('pump')",
            timeout=20000,
        )


@pytest.fixture
def chat_daemon(short_tmp: Path, daemon_factory: Any, shared_embedder: Any) -> Any:
    script = write_script(short_tmp / "s.json", {"plan": answer("Hello from the chat.")})
    d = daemon_factory(make_config(short_tmp, script, "memory.rerank=false", *WEB))
    d.runtime.memory.embedder = shared_embedder
    return d


class TestChatsTab:
    def test_start_a_chat_send_and_follow_up(self, chat_daemon: Any, page: Any) -> None:
        """New chat, a message, its answer, a follow-up: the page shows the conversation the daemon holds."""
        attach(page, page_url(chat_daemon, "operator"))
        page.click("nav button[data-tab=chats]")
        page.fill("#chat-new-title", "from the page")
        page.click("#chat-create")
        page.wait_for_selector("#chats li.selected", timeout=20000)
        for text, count in (("hi there", 2), ("and again", 4)):
            page.fill("#chat-text", text)
            page.click("#chat-send")
            page.wait_for_function(
                f"document.querySelectorAll('#chat-messages .msg.assistant:not(.live)').length === {count // 2}",
                timeout=20000,
            )
        shown = page.inner_text("#chat-messages")
        assert shown.count("Hello from the chat.") == 2
        assert "hi there" in shown
        with chat_daemon.client() as c:
            (chat,) = c.chats()
            assert chat.title == "from the page"
            assert [m.text for m in c.chat(chat.chat_id).messages] == [
                "hi there", "Hello from the chat.", "and again", "Hello from the chat.",
            ]  # fmt: skip

    def test_the_streaming_parser_matches_the_clients(self, chat_daemon: Any, page: Any) -> None:
        """The page's partial-JSON reader gives what the terminal client's gives, prefix by prefix."""
        from greenroom.clients.cli.chat_stream import partial_json_string

        attach(page, page_url(chat_daemon, "viewer"))
        doc = '{"answer": "Paris \\"x\\" caf\\u00e9 \\ud83d\\ude00 end"}'
        got = page.evaluate(
            """async (doc) => {
                const { partialJsonString } = await import("./chats.js");
                return [...Array(doc.length + 1).keys()].map((i) => partialJsonString(doc.slice(0, i), "answer"));
            }""",
            doc,
        )
        assert got == [partial_json_string(doc[:i], "answer") for i in range(len(doc) + 1)]
        assert not page.is_visible("#chat-form")  # a viewer cannot send
