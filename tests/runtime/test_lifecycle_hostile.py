"""Hostile input to the data-lifecycle requests: every one gets a reply, never ``internal``, and no
path or id reaches outside the daemon's own folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from greenroom.bus import encode
from greenroom.bus import protocol as p
from greenroom.clients import ServerError
from greenroom.runtime.lifecycle import REQUESTS
from tests.conftest import make_config
from tests.strategies import values_of

_reply = msgspec.msgpack.Decoder(p.Reply)
PIPE = 777_001

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "", "..", "../..", "../../../etc", "/", "/etc/passwd", "~", "~root/.ssh", "a\x00b", "/tmp/\x00x",
            "x" * 5000, "t-00000000", "-:chat:1", "plugins/../../x", "acme/../../x", "C:\\Windows", "%s%n",
            "\u202eevil", "smollm2-135m", "qwen3-4b",
        ]
    ),
)  # fmt: skip
SAFE = [cls for cls in REQUESTS if cls not in (p.Reset,)]  # a reset is harmless but makes every case slower


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import tempfile

    from tests.conftest import InProcessDaemon

    root = Path(tempfile.mkdtemp(prefix="gr-h-", dir="/tmp"))
    d = InProcessDaemon(make_config(root))
    d.gateway.handle_frame(encode(p.Hello(protocol=p.PROTOCOL_VERSION, client="fuzz")), PIPE)
    yield d
    d.stop()


class TestHostileLifecycleRequests:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(request=st.one_of([values_of(cls, HOSTILE) for cls in SAFE]))
    def test_every_request_gets_a_reply_and_never_an_internal_error(self, daemon: Any, request: Any) -> None:
        """Whatever the fields hold, the answer is a reply or a clear error; the daemon serves on."""
        if isinstance(request, p.Generate):
            request = msgspec.structs.replace(request, max_tokens=min(max(request.max_tokens, 1), 8))
        try:
            frame = encode(request)
        except OverflowError:  # an int msgpack cannot carry: no client can send it either
            assume(False)
        reply = _reply.decode(daemon.gateway.handle_frame(frame, PIPE))
        if isinstance(reply, p.ErrorReply):
            assert reply.code != "internal", reply.message
        status = _reply.decode(daemon.gateway.handle_frame(encode(p.Status()), PIPE))
        assert isinstance(status, p.StatusReply)

    @pytest.mark.parametrize("name", ["../../..", "..", "/etc", "acme/../..", "a/b/c", ".hidden/x"])
    def test_model_rm_never_deletes_outside_the_models_folder(self, daemon: Any, name: str, tmp_path: Path) -> None:
        """Only a hub repo id or a folder name is accepted: a path is refused before anything is looked at."""
        canary = daemon.config.data_dir / "canary"
        canary.mkdir(exist_ok=True)
        with daemon.client() as client, pytest.raises(ServerError, match="not a catalog id or a hub repo id"):
            client.remove_model(name)
        assert canary.is_dir()

    @pytest.mark.parametrize("plugin_id", ["..", "../models", "/etc", "Caps", "a" * 41, "x/../y"])
    def test_plugin_ids_are_names_never_paths(self, daemon: Any, plugin_id: str) -> None:
        """Enable, disable, update and remove take only plugin ids."""
        with daemon.client() as client:
            for call in (client.plugin_remove, client.plugin_enable, client.plugin_disable):
                with pytest.raises(ServerError, match="is installed"):
                    call(plugin_id)
            with pytest.raises(ServerError, match="is installed"):
                client.plugin_update(plugin_id, "/tmp/index.json")
        assert (daemon.config.data_dir / "plugins").is_dir()
