from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.runtime import ConfigError, load_config


class TestConfig:
    def test_defaults(self, tmp_path: Path) -> None:
        """An empty file gives the documented defaults."""
        (tmp_path / "c.toml").touch()
        cfg = load_config(tmp_path / "c.toml")
        assert (cfg.agent.max_rounds, cfg.agent.max_calls_per_round) == (4, 4)
        assert cfg.llm.model == "smollm2-135m"
        assert cfg.data_dir.is_absolute()

    def test_file_then_overrides(self, tmp_path: Path) -> None:
        """--set overrides win over the file; values parse as TOML, bare words as strings."""
        path = tmp_path / "c.toml"
        path.write_text('[agent]\nmax_rounds = 2\n[llm]\nbackend = "scripted"\n')
        cfg = load_config(path, ["agent.max_rounds=3", "llm.model=some/model", 'tools.fs_roots=["/a", "/b"]'])
        assert cfg.agent.max_rounds == 3
        assert cfg.llm.backend == "scripted"
        assert cfg.llm.model == "some/model"
        assert cfg.tools.fs_roots == ["/a", "/b"]

    @pytest.mark.parametrize(
        ("content", "overrides", "needle"),
        [
            ("[agent]\nmax_rounds = 'four'\n", [], "c.toml: agent.max_rounds takes an integer, not a string"),
            ("[agent]\nmax_round = 4\n", [], "unknown key 'agent.max_round' in [agent]; did you mean 'max_rounds'?"),
            ("[llm\n", [], "c.toml:1:5: not valid TOML"),
            ("", ["llm.backend=ollama"], "--set llm.backend=ollama: Invalid enum value 'ollama'; valid values: mlx,"),
            ("", ["nodot=1"], "--set 'nodot=1': expected SECTION.KEY=VALUE"),
            ("", ["agent.max_round=2"], "did you mean 'max_rounds'?"),
            ("", ["llm.top_p=5"], "--set llm.top_p=5: llm.top_p must be in (0, 1]"),
            ("[agent]\nmax_rounds = 2\n", ["agent.max_rounds.x=1"], "'agent.max_rounds' is a value, not a section"),
        ],
    )
    def test_bad_config_names_the_problem(
        self, tmp_path: Path, content: str, overrides: list[str], needle: str
    ) -> None:
        """A bad file or override is a one-line ConfigError that says what, where and how to fix it."""
        path = tmp_path / "c.toml"
        path.write_text(content)
        with pytest.raises(ConfigError) as info:
            load_config(path, overrides)
        assert needle in str(info.value)
        assert "\n" not in str(info.value)

    def test_missing_explicit_file(self, tmp_path: Path) -> None:
        """An explicitly named config file must exist."""
        with pytest.raises(ConfigError, match="does not exist"):
            load_config(tmp_path / "nope.toml")


KEYS = [
    "agent.max_rounds",
    "agent.max_round",
    "llm.backend",
    "llm.top_p",
    "tools.fs_roots",
    "daemon",
    "x.y.z",
    "memory",
]
VALUES = ["2", "-1", "'four'", '"mlx"', "ollama", "[1, 2]", "[", "{a = 1}", "1e999", "nan", "true", ""]


def _outcome(path: Path, overrides: list[str]) -> str | None:
    """None for a valid config, else the ConfigError's message (any other exception propagates)."""
    try:
        load_config(path, overrides)
    except ConfigError as exc:
        return str(exc)
    return None


class TestHostileInput:
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.one_of(st.text(max_size=40), st.builds("{}={}".format, st.sampled_from(KEYS), st.sampled_from(VALUES))),
            max_size=4,
        )
    )
    def test_any_override_is_a_config_or_one_line_error(self, overrides: list[str]) -> None:
        """Whatever --set items a person types, the result is a config or a one-line ConfigError."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.toml"
            path.touch()
            message = _outcome(path, overrides)
            assert message is None or (message and "\n" not in message)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_any_config_file_is_a_config_or_one_line_error(self, text: str) -> None:
        """Whatever a config file holds, the result is a config or a one-line ConfigError."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.toml"
            try:
                path.write_text(text)
            except UnicodeEncodeError:
                path.write_bytes(text.encode("utf-8", "replace"))
            message = _outcome(path, [])
            assert message is None or "\n" not in message
