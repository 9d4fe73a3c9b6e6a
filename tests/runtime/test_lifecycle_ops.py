"""Plugins, model parameters and files, the kept model choice, load at start, cancelling a generation,
and a 0.1 data dir upgraded by a daemon — all through the protocol."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from greenroom.bus import events as e
from greenroom.clients import AsyncClient, Client, ServerError
from greenroom.runtime.state_db import STATE_VERSION
from tests.conftest import make_config, wait_for, write_script
from tests.tools.test_plugins import make_plugin

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "release-0.1"


def events_since(client: Client, seq: int) -> list[Any]:
    return [env.event for env in client.replay(seq, limit=5000).events]


class TestGenerateCancel:
    def test_a_running_generation_stops_and_says_so(self, short_tmp: Path, daemon_factory: Any) -> None:
        """generate_cancel stops it mid-way: the reply and llm.finished say cancelled, with the text so far."""
        words = " ".join(f"word{i}" for i in range(200))
        script = write_script(short_tmp / "s.json", {"chat": words}, delay_s=0.05)
        d = daemon_factory(make_config(short_tmp, script))
        replies: list[Any] = []
        with d.client() as client, d.client() as other:
            head = client.status().head
            thread = threading.Thread(
                target=lambda: replies.append(client.generate([("user", "talk")], request_id="g-long"))
            )
            thread.start()
            wait_for(lambda: any(isinstance(x, e.LlmChunk) and x.request_id == "g-long" for x in events_since(other, head)))
            assert other.cancel_generation("g-long").detail == "cancelling"
            thread.join(30)
            (reply,) = replies
            assert (reply.request_id, reply.stop_reason) == ("g-long", "cancelled")
            assert 0 < len(reply.text) < len(words)
            finished = [x for x in events_since(other, head) if isinstance(x, e.LlmFinished)]
            assert (finished[-1].stop_reason, finished[-1].text) == ("cancelled", reply.text)
            with pytest.raises(ServerError, match="no generation 'g-long' is running"):
                other.cancel_generation("g-long")
            with pytest.raises(ServerError, match="request_id"):
                other.generate([("user", "x")], request_id="bad id with spaces")

    def test_the_async_client_cancels_too(self, short_tmp: Path, daemon_factory: Any) -> None:
        """The same calls on AsyncClient: a generation and its cancel run concurrently on one connection."""
        script = write_script(short_tmp / "s.json", {"chat": " ".join(["slow"] * 200)}, delay_s=0.05)
        d = daemon_factory(make_config(short_tmp, script))

        async def main() -> Any:
            async with AsyncClient(d.config.runtime_dir) as client:
                result: list[Any] = []

                async def gen() -> None:
                    result.append(await client.generate([("user", "x")], request_id="g-async"))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(gen)
                    with anyio.fail_after(20):
                        while True:
                            try:
                                await client.cancel_generation("g-async")
                                break
                            except ServerError:
                                await anyio.sleep(0.02)
                return result[0], await client.journal_stats()

        reply, stats = anyio.run(main)
        assert reply.stop_reason == "cancelled"
        assert stats.by_type.get("llm.finished") == 1


class TestModelsThroughTheDaemon:
    def test_params_are_validated_kept_and_journaled(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Set, clear and bad values: each change a model.params.changed event, a bad one a clear error."""
        d = daemon_factory(make_config(short_tmp))
        with d.client() as client:
            reply = client.model_params("qwen3-4b", set={"temperature": 0.7, "top_k": 40})
            assert reply.params == {"temperature": 0.7, "top_k": 40}
            with pytest.raises(ServerError, match="temperature must not be negative"):
                client.model_params("qwen3-4b", set={"temperature": -1})
            with pytest.raises(ServerError, match="unknown model 'gpt-17'"):
                client.model_params("gpt-17")
            for home_of_nobody in ("~0", "~no-such-user/models/x"):  # Path.expanduser raised: answered `internal`
                with pytest.raises(ServerError, match=f"unknown model '{home_of_nobody}'"):
                    client.model_params(home_of_nobody)
            assert client.model_params("qwen3-4b", clear=["top_k"]).params == {"temperature": 0.7}
            changed = [x for x in events_since(client, 1) if isinstance(x, e.ModelParamsChanged)]
            assert [c.params for c in changed] == [{"temperature": 0.7, "top_k": 40}, {"temperature": 0.7}]

    @pytest.mark.slow
    def test_a_kept_choice_survives_a_restart_and_loads_at_start(
        self, short_tmp: Path, daemon_factory: Any, tiny_model: Path
    ) -> None:
        """load --keep makes a model the active one after a restart; load_at_start loads it unasked."""
        other = short_tmp / "other-tiny"
        shutil.copytree(tiny_model, other)
        config = make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"', "llm.load_at_start=true")
        d = daemon_factory(config)
        with d.client() as client:
            wait_for(lambda: client.status().model_loaded, timeout=60)
            assert client.load_model(str(other), keep=True) == str(other)
            assert any(isinstance(x, e.ModelChosen) and x.model == str(other) for x in events_since(client, 1))
        d.stop()
        again = daemon_factory(config)
        with again.client() as client:
            status = wait_for(lambda: (s := client.status()).model_loaded and s, timeout=60)
            assert status.model == str(other)
            client.load_model(None, keep=True)  # back to the configured model, for good
        again.stop()
        third = daemon_factory(make_config(short_tmp, None, "llm.backend='mlx'", f'llm.model="{tiny_model}"'))
        with third.client() as client:
            assert client.status().model == str(tiny_model)
            assert not client.status().model_loaded, "without load_at_start it loads at first use"


class TestPlugins:
    def test_install_list_enable_update_remove_each_journaled(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Every plugin change is the daemon's, journaled; a relative path or a broken plugin is refused."""
        d = daemon_factory(make_config(short_tmp))
        src = short_tmp / "src"
        v1 = make_plugin(src)
        v2 = make_plugin(src, version="1.1.0")
        index = short_tmp / "index.json"
        index.write_text(json.dumps({"plugins": [{"id": "greeter", "version": "1.1.0", "path": str(v2)}]}))
        with d.client() as client:
            assert client.plugin_install(str(v1)).tools == ["greeter.greet"]
            (view,) = client.plugins()
            assert (view.id, view.version, view.enabled, view.loaded) == ("greeter", "1.0.0", True, False)
            client.plugin_disable("greeter")
            assert not client.plugins()[0].enabled
            client.plugin_enable("greeter")
            update = client.plugin_update("greeter", str(index))
            assert (update.previous, update.version) == ("1.0.0", "1.1.0")
            with pytest.raises(ServerError, match="absolute path"):
                client.plugin_install("relative/folder")
            with pytest.raises(ServerError, match=r"has no plugin\.toml"):
                client.plugin_install(str(short_tmp))
            with pytest.raises(ServerError, match="no plugin 'nope'"):
                client.plugin_remove("nope")
            client.plugin_remove("greeter")
            assert client.plugins() == []
            actions = [(x.plugin_id, x.action) for x in events_since(client, 1) if isinstance(x, e.PluginChanged)]
        assert actions == [
            ("greeter", a) for a in ("installed", "disabled", "enabled", "updated", "removed")
        ]


class TestUpgradeOfAReleaseDataDir:
    def test_a_daemon_starts_on_the_0_1_data_and_keeps_everything(self, short_tmp: Path, daemon_factory: Any) -> None:
        """Journal and state database from 0.1: tasks, schedules, tokens and parameters are all there."""
        data = short_tmp / "data"
        data.mkdir(mode=0o700)
        for name in ("journal.sqlite", "state.sqlite"):
            shutil.copyfile(FIXTURE / name, data / name)
        d = daemon_factory(make_config(short_tmp))
        with d.client() as client:
            tasks = {t.task_id: t.status for t in client.tasks()}
            assert sorted(tasks.values()) == ["cancelled", "finished"]
            assert [s.goal for s in client.schedules()] == ["summarise the inbox"]
            assert [t.name for t in client.list_tokens()] == ["fixture"]
            assert client.model_params("qwen3-4b").params == {"temperature": 0.5}
            assert client.journal_stats().schema_version == 2
        d.stop()
        conn = sqlite3.connect(data / "state.sqlite")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION == 1
        conn.close()

    def test_a_newer_state_database_is_refused(self, short_tmp: Path) -> None:
        """A state database from a newer greenroom stops the start with a clear error."""
        from greenroom.runtime.errors import StateVersionError
        from greenroom.runtime.state_db import migrate_state

        path = short_tmp / "state.sqlite"
        migrate_state(path)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version=7")
        conn.close()
        with pytest.raises(StateVersionError, match="schema version 7, newer"):
            migrate_state(path)
