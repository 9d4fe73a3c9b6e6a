from __future__ import annotations

from pathlib import Path

import pytest

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
            (
                "[agent]\nmax_rounds = 'four'\n",
                [],
                "Expected `int`, got `str` - at `$.agent.max_rounds`",
            ),
            ("[agent]\nmax_round = 4\n", [], "unknown field `max_round`"),
            ("[llm\n", [], "cannot read config"),
            ("", ["llm.backend=ollama"], "Invalid enum value 'ollama'"),
            ("", ["nodot=1"], "not of the form section.key=value"),
        ],
    )
    def test_bad_config_names_the_problem(
        self, tmp_path: Path, content: str, overrides: list[str], needle: str
    ) -> None:
        """A bad file or override is a ConfigError that says what and where."""
        path = tmp_path / "c.toml"
        path.write_text(content)
        with pytest.raises(ConfigError) as info:
            load_config(path, overrides)
        assert needle in str(info.value)

    def test_missing_explicit_file(self, tmp_path: Path) -> None:
        """An explicitly named config file must exist."""
        with pytest.raises(ConfigError, match="does not exist"):
            load_config(tmp_path / "nope.toml")
