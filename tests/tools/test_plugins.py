"""Plugins: install from a folder or an index, policy and validation apply, broken ones are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from greenroom.tools import ToolContext
from greenroom.tools.plugins import PluginError, PluginManager
from tests.conftest import call, cli_flags, finish, make_config, plan, wait_for, write_script

MANIFEST = """
id = "{id}"
version = "{version}"
description = "greets"

[[tools]]
name = "{id}.greet"
function = "greet"
description = "Write a greeting to the guest book."
side_effects = "write"
args_schema = {{ type = "object", properties = {{ name = {{ type = "string", maxLength = 20 }} }}, required = ["name"], additionalProperties = false }}
"""

CODE = """
GUESTS = []

def greet(args, ctx):
    GUESTS.append(args["name"])
    return f"hello {args['name']} (v{version})"
"""


def make_plugin(where: Path, plugin_id: str = "greeter", version: str = "1.0.0", code: str = CODE) -> Path:
    folder = where / f"{plugin_id}-{version}"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(MANIFEST.format(id=plugin_id, version=version))
    (folder / "plugin.py").write_text(code.replace("{version}", version))
    return folder


@pytest.fixture
def manager(tmp_path: Path):  # type: ignore[no-untyped-def]
    m = PluginManager(tmp_path / "data" / "plugins", tmp_path / "data" / "state.sqlite")
    yield m
    m.close()


class TestManager:
    def test_install_load_and_validate(self, tmp_path: Path, manager: PluginManager) -> None:
        """An installed plugin's tools load, validate their arguments by schema and run."""
        manager.install(make_plugin(tmp_path / "src"))
        tools, errors = manager.load_tools()
        assert errors == {}
        (tool,) = tools
        assert (tool.name, tool.side_effects) == ("greeter.greet", "write")
        assert tool.run(ToolContext(task_id="t", call_id="c"), tool.parse_args({"name": "Ada"})) == "hello Ada (v1.0.0)"
        with pytest.raises(Exception, match=r"is too long - at `\$\.name`"):
            tool.parse_args({"name": "x" * 30})
        with pytest.raises(Exception, match="'name' is a required property"):
            tool.parse_args({})

    def test_index_install_update_disable_remove(self, tmp_path: Path, manager: PluginManager) -> None:
        """Install by id from an index, update to the newest version, disable, remove."""
        src = tmp_path / "src"
        v1, v2 = make_plugin(src, version="1.0.0"), make_plugin(src, version="1.2.0")
        index = src / "index.json"
        index.write_text(json.dumps({"plugins": [{"id": "greeter", "version": "1.0.0", "path": v1.name}]}))
        assert manager.install_from_index(index, "greeter").version == "1.0.0"
        index.write_text(
            json.dumps(
                {
                    "plugins": [
                        {"id": "greeter", "version": v, "path": p.name} for v, p in (("1.0.0", v1), ("1.2.0", v2))
                    ]
                }
            )
        )
        assert manager.update("greeter", index) == ("1.0.0", "1.2.0")
        assert manager.update("greeter", index) == ("1.2.0", "1.2.0")
        manager.set_enabled("greeter", False)
        assert manager.load_tools() == ([], {})
        manager.remove("greeter")
        assert manager.installed() == []
        with pytest.raises(PluginError, match="no plugin 'greeter' is installed"):
            manager.set_enabled("greeter", True)

    @pytest.mark.parametrize(
        ("code", "manifest_patch", "needle"),
        [
            ("def greet(args, ctx) return 1", None, "SyntaxError"),
            ("raise RuntimeError('boom at import')", None, "boom at import"),
            ("x = 1", None, "has no function 'greet'"),
            (CODE, ('name = "greeter.greet"', 'name = "other.greet"'), "must be named 'greeter.<name>'"),
        ],
    )
    def test_broken_plugins_are_reported_not_fatal(
        self, tmp_path: Path, manager: PluginManager, code: str, manifest_patch: Any, needle: str
    ) -> None:
        """A plugin that fails to import or is inconsistent is skipped with its reason; others still load."""
        good = make_plugin(tmp_path / "src", plugin_id="good")
        bad = make_plugin(tmp_path / "src", plugin_id="greeter", code=code)
        manager.install(good)
        if manifest_patch:
            toml = bad / "plugin.toml"
            toml.write_text(toml.read_text().replace(*manifest_patch))
            with pytest.raises(PluginError, match=needle):
                manager.install(bad)
            return
        manager.install(bad)
        tools, errors = manager.load_tools()
        assert [t.name for t in tools] == ["good.greet"]
        assert needle in errors["greeter"]
        assert needle in next(i.error for i in manager.installed() if i.id == "greeter")


class TestPluginsInTheDaemon:
    def test_plugin_tools_obey_policy_and_broken_plugins_do_not_stop_the_daemon(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """A plugin tool with side effects asks first; a broken plugin is an error event, not a crash."""
        manager = PluginManager(short_tmp / "data" / "plugins", short_tmp / "data" / "state.sqlite")
        manager.install(make_plugin(short_tmp / "src"))
        manager.install(make_plugin(short_tmp / "src", plugin_id="broken", code="import nonexistent_module_xyz"))
        manager.close()
        script = write_script(
            short_tmp / "script.json",
            {
                "plan": plan("greet"),
                "step:1:round:1": call(("greeter.greet", {"name": "Ada"})),
                "step:1:round:2": finish("greeted"),
            },
        )
        d = daemon_factory(make_config(short_tmp, script))
        errors = [decode_envelope(raw).event for _, raw in d.runtime.journal.read(types=["error"])]
        assert [(x.code, "broken" in x.message and "nonexistent_module_xyz" in x.message) for x in errors] == [
            ("plugin", True)
        ]
        task_id, _ = d.runtime.submit("greet Ada")
        (pending,) = wait_for(lambda: d.runtime.tasks.get(task_id).confirmations)
        assert pending.tool == "greeter.greet"
        d.runtime.confirm(pending.confirmation_id, approved=True, remember=False)
        wait_for(lambda: d.runtime.tasks.get(task_id).status == "finished")
        events = [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]
        decided = next(ev for ev in events if isinstance(ev, e.ToolDecided))
        assert (decided.decision, decided.rule) == ("ask", "side-effects-ask")
        result = next(ev for ev in events if isinstance(ev, e.ToolResult))
        assert result.output == "hello Ada (v1.0.0)"


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count"


class TestExamplePlugin:
    @pytest.mark.slow
    def test_the_example_installs_with_the_cli_and_runs_in_a_task(self, short_tmp: Path, daemon_factory: Any) -> None:
        """examples/word-count installs as the README says, loads at the daemon's next start, runs unasked."""
        script = write_script(
            short_tmp / "script.json",
            {
                "plan": plan("count the words"),
                "step:1:round:1": call(("wordcount.count", {"text": "the cat and the hat", "top": 1})),
                "step:1:round:2": finish("counted"),
            },
        )
        first = daemon_factory(make_config(short_tmp, script))
        installed = subprocess.run(
            [sys.executable, "-m", "greenroom", *cli_flags(short_tmp), "plugins", "install", str(EXAMPLE)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stderr
        assert "installed wordcount 1.0.0 (1 tools)" in installed.stdout
        first.stop()
        d = daemon_factory(make_config(short_tmp, script))
        assert "wordcount.count" in {t.name for t in d.runtime.tools}
        task_id, _ = d.runtime.submit("count the words")
        wait_for(lambda: d.runtime.tasks.get(task_id).status == "finished")
        events = [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]
        assert not [ev for ev in events if isinstance(ev, e.ConfirmationAsked)]
        result = next(ev for ev in events if isinstance(ev, e.ToolResult))
        assert json.loads(result.output) == {
            "words": 5, "lines": 1, "characters": 19, "most_frequent": [{"word": "the", "count": 2}],
        }  # fmt: skip
