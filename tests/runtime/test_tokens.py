"""The token store and the pure checks around remote clients: durations, Host, Origin, redaction."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.bus import events as e
from greenroom.bus.envelope import Envelope
from greenroom.bus.protocol import PendingConfirmation, TaskView
from greenroom.clients.cli.token_cmd import parse_duration
from greenroom.runtime.origin import host_allowed, normalise_origin, origin_allowed
from greenroom.runtime.redact import HIDDEN_ARGS, redact_envelope, redact_event, redact_task
from greenroom.runtime.tokens import TokenError, TokenStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    s = TokenStore(tmp_path / "state.sqlite", clock=Clock())
    yield s
    s.close()


class TestTokenStore:
    def test_tokens_are_stored_hashed_in_a_private_file(self, tmp_path: Path, store: TokenStore) -> None:
        """The database is 0600 and holds only the SHA-256 of the secret, never the secret."""
        token, info = store.create("operator", "laptop")
        db = tmp_path / "state.sqlite"
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        secret = token.split("_", 2)[2]
        raw = db.read_bytes() + (tmp_path / "state.sqlite-wal").read_bytes()
        assert secret.encode() not in raw
        assert store.verify(token) is not None
        assert info.role == "operator"
        assert info.name == "laptop"

    def test_wrong_secret_unknown_id_and_garbage_are_refused(self, store: TokenStore) -> None:
        """A token verifies only with its exact secret."""
        token, _info = store.create("viewer")
        assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert store.verify(f"grt_{'0' * 8}_{token.split('_', 2)[2]}") is None
        assert store.verify("") is None

    def test_revoked_and_expired_tokens_are_refused(self, store: TokenStore) -> None:
        """Revocation is immediate; a ttl ends a token at its time."""
        clock: Clock = store._clock  # type: ignore[assignment]
        token, _info = store.create("admin", ttl_s=60)
        assert store.verify(token) is not None
        clock.now += 61
        assert store.verify(token) is None
        token2, info2 = store.create("viewer")
        store.revoke(info2.token_id)
        assert store.verify(token2) is None
        states = {t.token_id: t for t in store.list()}
        assert states[info2.token_id].revoked is not None

    @pytest.mark.parametrize(
        ("role", "name", "ttl", "needle"),
        [("root", "", None, "role must be one of"), ("viewer", "x" * 101, None, "name is 101"), ("viewer", "", -1, "ttl_s")],
    )
    def test_bad_requests_name_what_is_wrong(self, store: TokenStore, role: str, name: str, ttl: float | None, needle: str) -> None:
        """Unknown roles, long names and bad ttls are refused with a clear message."""
        with pytest.raises(TokenError, match=needle):
            store.create(role, name, ttl)

    def test_revoking_an_unknown_or_malformed_id_is_an_error(self, store: TokenStore) -> None:
        """Revoke names what it could not find."""
        with pytest.raises(TokenError, match="no token"):
            store.revoke("0badc0de")
        with pytest.raises(TokenError, match="not a token id"):
            store.revoke("../etc")

    @settings(max_examples=300, deadline=None)
    @given(text=st.text(max_size=120))
    def test_arbitrary_strings_never_verify_and_never_raise(self, module_store: TokenStore, text: str) -> None:
        """Whatever a client sends as a token, verify answers None without an exception."""
        assert module_store.verify(text) is None


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> TokenStore:
    s = TokenStore(tmp_path_factory.mktemp("tok") / "state.sqlite")
    s.create("admin")
    yield s
    s.close()


class TestTickets:
    @settings(max_examples=200)
    @given(uri=st.text(max_size=120))
    def test_any_request_uri_without_an_issued_ticket_is_refused(self, module_store: TokenStore, uri: str) -> None:
        """A ws timeline pipe's URI is parsed safely; only an issued ticket admits."""
        from greenroom.runtime.access import Access

        access = Access(module_store, publish=lambda _e: None, sensitive=lambda _t: True)
        assert isinstance(access.admit_ticket(uri, "full"), str)

    def test_a_ticket_admits_once_and_only_to_its_role(self, module_store: TokenStore) -> None:
        """Single use; a viewer ticket does not open the full timeline."""
        from greenroom.runtime.access import Access, Session

        access = Access(module_store, publish=lambda _e: None, sensitive=lambda _t: True)
        viewer = access.ticket(Session(transport="ws", address="x", role="viewer", token_id="t1"))
        assert "does not admit" in str(access.admit_ticket(f"/timeline?ticket={viewer}", "full"))
        admin = access.ticket(Session(transport="ws", address="x", role="admin", token_id="t2"))
        assert not isinstance(access.admit_ticket(f"/timeline?ticket={admin}", "full"), str)
        assert "used or expired" in str(access.admit_ticket(f"/timeline?ticket={admin}", "full"))


class TestDurations:
    @pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("2d", 172800)])
    def test_units(self, text: str, seconds: float) -> None:
        """Durations take s, m, h and d."""
        assert parse_duration(text) == seconds

    @given(st.text(max_size=20))
    def test_anything_else_is_a_value_error(self, text: str) -> None:
        """A bad duration raises ValueError (never another exception) or gives a positive number."""
        with contextlib.suppress(ValueError):
            assert parse_duration(text) > 0


class TestHostAndOrigin:
    @pytest.mark.parametrize(
        ("host", "ok"),
        [
            ("127.0.0.1:7311", True), ("localhost:7311", True), ("[::1]:7311", True), ("LOCALHOST:7311", True),
            ("127.0.0.1:7312", False), ("127.0.0.1", False), ("evil.example:7311", False),
            ("127.0.0.1.nip.io:7311", False), ("user@127.0.0.1:7311", False), ("", False), ("127.0.0.1:7311/x", False),
        ],
    )  # fmt: skip
    def test_host_must_name_this_listener_without_a_dns_name(self, host: str, ok: bool) -> None:
        """Only IP literals and localhost on the bound port pass (DNS rebinding uses a name)."""
        assert host_allowed(host, 7311) is ok

    def test_the_configured_host_name_passes(self) -> None:
        """A person who binds a name may use it."""
        assert host_allowed("box.lan:7311", 7311, "box.lan")

    @pytest.mark.parametrize(
        ("origin", "ok"),
        [
            (None, True), ("http://127.0.0.1:7310", True), ("http://127.0.0.1:7310/", True),
            ("HTTP://127.0.0.1:7310", True), ("http://127.0.0.1:7399", False), ("null", False),
            ("https://evil.example", False), ("http://127.0.0.1:7310/page", False), ("", False),
        ],
    )  # fmt: skip
    def test_origin_allow_list(self, origin: str | None, ok: bool) -> None:
        """No Origin (not a browser) or the page's own origin pass; anything else is refused."""
        assert origin_allowed(origin, {"http://127.0.0.1:7310"}) is ok

    @given(st.text(max_size=80), st.integers(min_value=1, max_value=65535))
    def test_hostile_headers_never_raise(self, text: str, port: int) -> None:
        """Any header value gets a yes or no, never an exception."""
        host_allowed(text, port)
        origin_allowed(text, {"http://127.0.0.1:7310"})
        assert normalise_origin(text) in ("",) or "://" in normalise_origin(text)


def sensitive(tool: str) -> bool:
    return tool in ("fs.write", "shell.exec")


def env(event: e.Event) -> Envelope:
    return Envelope(seq=1, ts=0.0, source="t", event=event, task_id="t-1")


class TestViewerRedaction:
    def test_sensitive_calls_lose_arguments_question_and_output(self) -> None:
        """A write's args, its question and its result's output are hidden; the call stays visible."""
        req = redact_event(e.ToolRequested(call_id="c", tool="fs.write", args={"content": "s3cret"}, step=1, round=1), sensitive)
        asked = redact_event(e.ConfirmationAsked(confirmation_id="x", question="Allow fs.write s3cret?", tool="fs.write", args={"content": "s3cret"}), sensitive)
        result = redact_event(e.ToolResult(call_id="c", tool="fs.write", ok=True, output="+s3cret"), sensitive)
        for ev in (req, asked, result):
            assert "s3cret" not in repr(ev)
        assert req.args == HIDDEN_ARGS
        assert req.tool == "fs.write"

    def test_read_only_calls_and_other_events_pass_unchanged(self) -> None:
        """A read's arguments are shown; the same object comes back when nothing is hidden."""
        ev = e.ToolRequested(call_id="c", tool="fs.read", args={"path": "/tmp/a"}, step=1, round=1)
        assert redact_event(ev, sensitive) is ev
        finished = env(e.TaskFinished(answer="done"))
        assert redact_envelope(finished, sensitive) is finished

    def test_the_model_text_that_chose_the_calls_is_hidden(self) -> None:
        """Round generations hold the same arguments, so their text is hidden; plans are not."""
        chunk = redact_event(e.LlmChunk(request_id="t-1:step:1:round:2", text='{"content": "s3cret"}'), sensitive)
        done = redact_event(e.LlmFinished(request_id="t-1:step:1:round:2", purpose="step:1:round:2", text="s3cret"), sensitive)
        plan = e.LlmFinished(request_id="t-1:plan", purpose="plan", text="a plan")
        assert "s3cret" not in repr(chunk) + repr(done)
        assert redact_event(plan, sensitive) is plan

    def test_pending_confirmations_in_task_views_are_hidden(self) -> None:
        """tasks/task replies hide the same arguments as the timeline."""
        view = TaskView(task_id="t-1", goal="g", confirmations=[PendingConfirmation(confirmation_id="x", question="Allow fs.write s3cret?", tool="fs.write", args={"c": "s3cret"})])
        assert "s3cret" not in repr(redact_task(view, sensitive))
        assert "s3cret" in repr(view)  # a copy: the daemon's own view is untouched

    @settings(max_examples=200)
    @given(st.sampled_from(["fs.write", "shell.exec", "fs.read", "unknown"]), st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4))
    def test_no_argument_value_of_a_sensitive_call_survives(self, tool: str, args: dict[str, str]) -> None:
        """For any arguments, a sensitive call's redacted events carry none of them."""
        events = [
            e.ToolRequested(call_id="c", tool=tool, args=args, step=1, round=1),
            e.ConfirmationAsked(confirmation_id="x", question=f"Allow {tool} {args}?", tool=tool, args=args),
        ]
        for ev in events:
            out = redact_event(ev, sensitive)
            if sensitive(tool):
                assert out.args == HIDDEN_ARGS  # type: ignore[union-attr]
            else:
                assert out is ev
