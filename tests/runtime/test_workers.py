"""Control workers: nothing is served before the actors run, and closing stops workers still waiting."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from greenroom.clients import Client, DaemonNotRunningError
from greenroom.runtime.core import Runtime
from greenroom.runtime.gateway import Gateway
from tests.conftest import make_config, wait_for


class TestAccepting:
    def test_requests_wait_until_the_daemon_accepts(self, short_tmp: Path) -> None:
        """A hello sent before the actors run is not answered; once the gateway accepts, it is."""
        config = make_config(short_tmp)
        runtime = Runtime(config)
        gateway = Gateway(runtime, config)
        with anyio.from_thread.start_blocking_portal() as portal:
            scope = portal.call(anyio.CancelScope)

            async def serve() -> None:
                with scope:
                    await gateway.serve()
                    await anyio.sleep_forever()

            future = portal.start_task_soon(serve)
            try:
                wait_for(lambda: Path(gateway.control_url.removeprefix("ipc://")).exists())  # bound
                with pytest.raises(DaemonNotRunningError):
                    Client(config.runtime_dir, timeout=0.5).connect()
                runtime.start()
                gateway.accepting.set()
                with Client(config.runtime_dir, timeout=10) as client:
                    assert client.status().actors["llm"] in ("running", "starting")
            finally:
                portal.call(scope.cancel)
                future.result(timeout=30)
                runtime.close()
