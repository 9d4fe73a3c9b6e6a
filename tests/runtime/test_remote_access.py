"""ws/tcp transports with real sockets: tokens, roles, tickets, revocation, Origin/Host, refusals."""

from __future__ import annotations

import json
import shutil
import socket
import struct
from pathlib import Path
from typing import Any

import msgspec
import pynng
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from greenroom.bus import encode
from greenroom.bus import protocol as p
from greenroom.clients import Client, DaemonNotRunningError, ServerError
from tests.conftest import call, finish, make_config, plan, wait_for, write_script

REMOTE = ("gateway.ws=true", "gateway.ws_port=0", "gateway.tcp=true", "gateway.tcp_port=0", "daemon.log_level=warning")


@pytest.fixture
def daemon(short_tmp: Path, daemon_factory: Any) -> Any:
    (short_tmp / "notes.md").write_text("old\n")
    script = write_script(
        short_tmp / "s.json",
        {
            "plan": plan("update notes"),
            "step:1:round:1": call(
                ("fs.write", {"path": str(short_tmp / "notes.md"), "content": "old\nsecret-words\n"})
            ),
            "step:1:round:2": finish("done"),
            "answer": "ok",
        },
    )
    return daemon_factory(make_config(short_tmp, script, *REMOTE))


def tokens(daemon: Any) -> dict[str, str]:
    with daemon.client() as c:
        return {role: c.create_token(role, role).token for role in ("viewer", "operator", "admin")}


def endpoints(daemon: Any) -> dict[str, str]:
    with daemon.client() as c:
        assert c.hello is not None
        return c.hello.transports


def ws_request(ws: ClientConnection, body: dict[str, Any], rid: int = 1) -> dict[str, Any]:
    """One request over SP-over-WebSocket: a 4-byte id with the high bit set, then JSON."""
    ws.send(struct.pack(">I", rid | 0x80000000) + json.dumps(body).encode())
    reply = ws.recv(timeout=10)
    assert isinstance(reply, bytes)
    assert struct.unpack(">I", reply[:4])[0] == rid | 0x80000000
    return json.loads(reply[4:])


def received(ws: ClientConnection, seconds: float) -> list[bytes]:
    """Whatever arrives within ``seconds`` (the connection may also be closed on us)."""
    frames: list[bytes] = []
    try:
        while True:
            frames.append(ws.recv(timeout=seconds))  # type: ignore[arg-type]
    except (TimeoutError, ConnectionClosed):
        return frames


def refusals(daemon: Any) -> list[Any]:
    events = daemon.runtime.journal.read(1, None, limit=10000)
    from greenroom.bus.codec import decode_envelope

    return [
        env.event
        for env in (decode_envelope(raw) for _, raw in events)
        if env.event.__class__.__name__ == "AccessRefused"
    ]


def run_to_confirmation(daemon: Any, url: str, token: str) -> tuple[str, str]:
    with Client(daemon.config.runtime_dir, url=url, token=token) as c:
        task_id = c.submit("update my notes").task_id
        view = wait_for(lambda: (v := c.task(task_id)).confirmations and v)
        return task_id, view.confirmations[0].confirmation_id


class TestUnauthenticatedPipes:
    def test_ws_control_pipe_gets_only_refusals(self, daemon: Any) -> None:
        """Before a valid hello, every request on ws gets `unauthorized` and nothing else."""
        base = endpoints(daemon)["ws"]
        with connect(base + "/control", subprotocols=["rep.sp.nanomsg.org"]) as ws:
            for i, body in enumerate(
                [{"op": "status"}, {"op": "tasks"}, {"op": "replay"}, {"op": "hello", "protocol": 1}]
            ):
                reply = ws_request(ws, body, i + 1)
                assert reply["type"] == "error", reply
                assert reply["code"] == "unauthorized"
            reply = ws_request(ws, {"op": "hello", "protocol": 1, "token": "grt_00000000_" + "A" * 43}, 9)
            assert reply["code"] == "unauthorized"

    def test_ws_timeline_pipe_without_a_ticket_receives_nothing(self, daemon: Any) -> None:
        """A SUB pipe with no, a forged or a reused ticket is closed before any frame reaches it."""
        base = endpoints(daemon)["ws"]
        admin = tokens(daemon)["admin"]
        with Client(daemon.config.runtime_dir, url=base, token=admin) as c:
            assert c.hello is not None
            used = c.hello.timeline_json
            with connect(used, subprotocols=["pub.sp.nanomsg.org"]) as good:
                for url in (base + "/timeline.json", base + "/timeline.json?ticket=forged", used):
                    with connect(url, subprotocols=["pub.sp.nanomsg.org"]) as ws:
                        c.submit("make some events")
                        assert received(ws, 1.0) == []
                assert received(good, 1.0), "the admitted pipe does get frames"
        assert any("ticket" in r.reason for r in refusals(daemon))

    def test_remote_hellos_offer_no_batch_timeline(self, daemon: Any) -> None:
        """The batch timeline is ipc only: a ws or tcp hello leaves it empty, an ipc hello names it."""
        admin = tokens(daemon)["admin"]
        for url in (endpoints(daemon)["ws"], endpoints(daemon)["tcp"]):
            with Client(daemon.config.runtime_dir, url=url, token=admin) as c:
                assert c.hello is not None
                assert c.hello.timeline_batch == ""
        with daemon.client() as c:
            assert c.hello is not None
            assert c.hello.timeline_batch == f"ipc://{daemon.config.runtime_dir}/timeline-batch.ipc"

    def test_tcp_timeline_pipe_receives_nothing_until_its_hello_is_accepted(self, daemon: Any) -> None:
        """On the Pair1 tcp timeline, a silent pipe gets nothing and a bad hello gets only the refusal."""
        eps = endpoints(daemon)
        with pynng.Pair1(recv_timeout=1500) as silent, pynng.Pair1(recv_timeout=1500) as bad:
            silent.dial(eps["tcp_timeline"], block=True)
            bad.dial(eps["tcp_timeline"], block=True)
            bad.send(encode(p.Hello(protocol=1, token="grt_nope")))
            with daemon.client() as c:
                c.submit("make some events")
            reply = msgspec.msgpack.decode(bad.recv())
            assert reply["type"] == "error"
            assert reply["code"] == "unauthorized"
            for sock in (silent, bad):
                with pytest.raises((pynng.Timeout, pynng.Closed)):
                    sock.recv()

    def test_tcp_control_needs_a_token(self, daemon: Any) -> None:
        """A tcp client without a token is refused at hello, and the refusal is journaled."""
        with pytest.raises(ServerError) as exc:
            Client(daemon.config.runtime_dir, url=endpoints(daemon)["tcp"]).connect()
        assert exc.value.code == "unauthorized"
        refused = wait_for(lambda: refusals(daemon))
        assert refused[0].transport == "tcp"
        assert "token is required" in refused[0].reason

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(frame=st.binary(max_size=300) | st.text(max_size=200).map(lambda t: ("{" + t).encode()))
    def test_hostile_frames_before_hello_get_only_unauthorized(self, daemon: Any, frame: bytes) -> None:
        """Any bytes from an unauthenticated tcp pipe get `unauthorized`; the daemon keeps serving."""
        with pynng.Req0(recv_timeout=5000) as req:
            req.dial(endpoints(daemon)["tcp"], block=True)
            req.send(frame)
            raw = req.recv()
            body = json.loads(raw) if raw[:1] == b"{" else msgspec.msgpack.decode(raw)
            assert body["type"] == "error"
            assert body["code"] in ("unauthorized", "rate_limited")

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(frame=st.binary(min_size=1, max_size=300))
    def test_hostile_first_messages_on_the_tcp_timeline_get_only_a_refusal(self, daemon: Any, frame: bytes) -> None:
        """Whatever a tcp timeline pipe sends first (but a good hello), it gets an error and no frame."""
        with pynng.Pair1(recv_timeout=5000) as pair:
            pair.dial(endpoints(daemon)["tcp_timeline"], block=True)
            pair.send(frame)
            raw = pair.recv()
            body = json.loads(raw) if raw[:1] == b"{" else msgspec.msgpack.decode(raw)
            assert body["type"] == "error"
            assert body["code"] in ("unauthorized", "rate_limited")


class TestRoles:
    def test_viewer_reads_but_cannot_submit_confirm_or_manage(self, daemon: Any) -> None:
        """A viewer sees tasks and status; submit, confirm, policy and token ops are forbidden."""
        t = tokens(daemon)
        eps = endpoints(daemon)
        task_id, cid = run_to_confirmation(daemon, eps["ws"], t["operator"])
        for url in (eps["ws"], eps["tcp"]):
            with Client(daemon.config.runtime_dir, url=url, token=t["viewer"]) as v:
                assert v.hello is not None
                assert v.hello.role == "viewer"
                assert v.status().head > 0
                assert v.task(task_id).status == "waiting"
                for action in (lambda: v.submit("x"), lambda: v.confirm(cid, True), v.policy, lambda: v.create_token()):
                    with pytest.raises(ServerError) as exc:
                        action()
                    assert exc.value.code == "forbidden"

    def test_operator_confirms_and_admin_only_ops_stay_closed(self, daemon: Any) -> None:
        """An operator can answer a confirmation but not change policy; token ops need ipc even for admins."""
        t = tokens(daemon)
        url = endpoints(daemon)["tcp"]
        task_id, cid = run_to_confirmation(daemon, url, t["operator"])
        with Client(daemon.config.runtime_dir, url=url, token=t["operator"]) as op:
            with pytest.raises(ServerError, match="needs the admin role"):
                op.set_offline(True)
            op.confirm(cid, True)
            wait_for(lambda: op.task(task_id).status == "finished")
        with Client(daemon.config.runtime_dir, url=url, token=t["admin"]) as adm:
            assert adm.policy().rules
            with pytest.raises(ServerError, match="only over ipc"):
                adm.list_tokens()

    def test_viewer_timeline_and_replies_hide_sensitive_arguments(self, daemon: Any) -> None:
        """The viewer's timeline, replay and task view carry no argument of the fs.write call."""
        t = tokens(daemon)
        eps = endpoints(daemon)
        seen: list[bytes] = []
        with Client(daemon.config.runtime_dir, url=eps["ws"], token=t["viewer"]) as v:
            assert v.hello is not None
            sub = pynng.Sub0(recv_timeout=300)
            sub.subscribe(b"")
            sub.dial(v.hello.timeline_json, block=True)
            task_id, _ = run_to_confirmation(daemon, eps["ws"], t["admin"])
            try:
                while True:
                    seen.append(sub.recv())
            except pynng.Timeout:
                sub.close()
            replayed = msgspec.json.encode(v.replay(1, task_id=task_id).events)
            view = msgspec.json.encode(v.task(task_id))
        assert any(b"confirmation.asked" in f for f in seen)
        for blob in (b"".join(seen), replayed, view):
            assert b"secret-words" not in blob
            assert b"notes.md" not in blob
        with Client(daemon.config.runtime_dir, url=eps["ws"], token=t["admin"]) as a:
            assert b"secret-words" in msgspec.json.encode(a.replay(1, task_id=task_id).events)


class TestRevocationAndLimits:
    def test_revoked_token_is_refused_and_its_sessions_closed(self, daemon: Any) -> None:
        """Revoking closes the token's live connections and refuses its next hello."""
        t = tokens(daemon)
        url = endpoints(daemon)["tcp"]
        live = Client(daemon.config.runtime_dir, url=url, token=t["viewer"], timeout=3).connect()
        live.status()
        with daemon.client() as local:
            tid = next(x.token_id for x in local.list_tokens() if x.name == "viewer")
            assert "closed 1" in local.revoke_token(tid).detail
        with pytest.raises((DaemonNotRunningError, ServerError)):  # closed, or refused: whichever comes first
            live.status()
        live.close()
        with pytest.raises(ServerError) as exc:
            Client(daemon.config.runtime_dir, url=url, token=t["viewer"]).connect()
        assert exc.value.code == "unauthorized"

    def test_rejected_hellos_are_rate_limited_and_journaled_once_limited(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """After the limit, hellos are refused without a token check and the journal stops growing."""
        d = daemon_factory(make_config(short_tmp, None, *REMOTE, "gateway.hello_failures_per_minute=3"))
        good = tokens(d)["admin"]
        url = endpoints(d)["tcp"]
        for _ in range(6):
            with pytest.raises(ServerError):
                Client(d.config.runtime_dir, url=url, token="bad").connect()
        with pytest.raises(ServerError) as exc:
            Client(d.config.runtime_dir, url=url, token=good).connect()
        assert exc.value.code == "rate_limited"
        reasons = [r.reason for r in wait_for(lambda: len(refusals(d)) >= 4 and refusals(d))]
        assert len(reasons) == 4
        assert "rate limited" in reasons[-1]


def raw_upgrade(port: int, host: str, origin: str | None) -> bytes:
    """A hand-made WebSocket upgrade (to send any Host), then an SP request; returns all bytes back."""
    lines = [
        "GET /control HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: rep.sp.nanomsg.org",
    ]  # fmt: skip
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        body = struct.pack(">I", 0x80000001) + b'{"op":"status"}'
        s.sendall(bytes([0x82, 0x80 | len(body)]) + b"\0\0\0\0" + body)  # masked binary frame, zero mask
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except TimeoutError:
            pass
        return data


class TestBrowserDefences:
    def test_foreign_origin_and_rebound_host_are_closed(self, daemon: Any) -> None:
        """A page from another origin, or a DNS-rebound Host, gets no reply at all."""
        port = int(endpoints(daemon)["ws"].rsplit(":", 1)[1])
        ok = raw_upgrade(port, f"127.0.0.1:{port}", None)
        assert b"unauthorized" in ok  # the same request from an acceptable place is answered
        assert b"unauthorized" not in raw_upgrade(port, f"127.0.0.1:{port}", "https://evil.example")
        # nng's HTTP server already matches the listener's host (404); ours checks again at the pipe.
        assert b"unauthorized" not in raw_upgrade(port, f"evil.example:{port}", None)
        reasons = [r.reason for r in wait_for(lambda: refusals(daemon))]
        assert any("Origin 'https://evil.example' is not allowed" in r for r in reasons)

    def test_ipc_clients_need_no_token(self, daemon: Any) -> None:
        """Local ipc clients keep working as the same user, with the local role."""
        with daemon.client() as c:
            assert c.hello is not None
            assert c.hello.role == "local"
            assert c.status().head > 0


class TestTls:
    @pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
    def test_tls_tcp_control_and_timeline(self, short_tmp: Path, daemon_factory: Any) -> None:
        """With tls_cert_key, tcp becomes tls+tcp://: a client trusting the cert attaches with a token."""
        import subprocess

        key, cert = short_tmp / "key.pem", short_tmp / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        both = short_tmp / "both.pem"
        both.write_bytes(cert.read_bytes() + key.read_bytes())
        d = daemon_factory(make_config(short_tmp, None, *REMOTE, f'gateway.tls_cert_key="{both}"'))
        eps = endpoints(d)
        assert eps["tcp"].startswith("tls+tcp://")
        token = tokens(d)["viewer"]
        tls = pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, ca_files=[str(cert)], server_name="localhost")
        with pynng.Req0(tls_config=tls, recv_timeout=10000) as req:
            req.dial(eps["tcp"], block=True)
            req.send(json.dumps({"op": "hello", "protocol": 1, "token": token}).encode())
            assert json.loads(req.recv())["role"] == "viewer"
        with pynng.Pair1(tls_config=tls, recv_timeout=10000) as pair:
            pair.dial(eps["tcp_timeline"], block=True)
            pair.send(json.dumps({"op": "hello", "protocol": 1, "token": token}).encode())
            assert json.loads(pair.recv())["type"] == "hello"


class TestLifecycleRoles:
    def test_code_and_file_writing_ops_need_ipc_and_the_rest_their_role(self, daemon: Any, short_tmp: Path) -> None:
        """plugin_install/update and journal_backup are ipc only; an admin may compact; a viewer may not."""
        t = tokens(daemon)
        url = endpoints(daemon)["tcp"]
        with Client(daemon.config.runtime_dir, url=url, token=t["admin"]) as adm:
            for action in (
                lambda: adm.plugin_install(str(short_tmp)),
                lambda: adm.plugin_update("x", str(short_tmp / "i.json")),
                lambda: adm.journal_backup(str(short_tmp / "b.sqlite")),
            ):
                with pytest.raises(ServerError, match="only over ipc"):
                    action()
            assert adm.journal_compact().chunks == 0
            assert adm.plugins() == []
        with Client(daemon.config.runtime_dir, url=url, token=t["operator"]) as op:
            with pytest.raises(ServerError, match="no generation"):
                op.cancel_generation("nothing-runs")
            with pytest.raises(ServerError, match="needs the admin role"):
                op.reset()
        with Client(daemon.config.runtime_dir, url=url, token=t["viewer"]) as v, pytest.raises(ServerError) as exc:
            v.journal_stats()
        assert exc.value.code == "forbidden"
        assert not (short_tmp / "b.sqlite").exists()
