"""Server definitions from clients: validated, secrets kept apart, masked wherever shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.tools.mcp import (
    McpConfigError,
    McpConflictError,
    McpNotFoundError,
    McpSecrets,
    McpServerSpec,
    McpStore,
    McpToolInfo,
    check_server,
    mask_args,
    mask_url,
)

TEXT = st.text(max_size=40)


class TestCheck:
    def test_a_good_definition_gets_its_secret_names(self) -> None:
        """A valid server comes back with the names (never the values) of its secrets."""
        spec = check_server(
            McpServerSpec(name="git", command=["uvx", "mcp-server-git"]), McpSecrets(env={"TOKEN": "x"})
        )
        assert spec.env_names == ["TOKEN"]
        spec = check_server(
            McpServerSpec(name="web", url="https://mcp.example.com/mcp"),
            McpSecrets(headers={"Authorization": "Bearer x"}),
        )
        assert (spec.header_names, spec.transport, spec.uses_network) == (["Authorization"], "http", True)

    @pytest.mark.parametrize(
        ("spec", "secrets", "message"),
        [
            (McpServerSpec(name="Bad Name", command=["x"]), McpSecrets(), "server name"),
            (McpServerSpec(name="both", command=["x"], url="http://h/"), McpSecrets(), "either a command"),
            (McpServerSpec(name="none"), McpSecrets(), "either a command"),
            (McpServerSpec(name="ftp", url="ftp://h/x"), McpSecrets(), "http:// or https://"),
            (McpServerSpec(name="nohost", url="http:///x"), McpSecrets(), "with a host"),
            (McpServerSpec(name="nul", command=["a\x00b"]), McpSecrets(), "NUL"),
            (McpServerSpec(name="h", command=["x"]), McpSecrets(headers={"A": "b"}), "only apply to HTTP"),
            (McpServerSpec(name="e", url="http://h/"), McpSecrets(env={"A": "b"}), "only apply to stdio"),
            (McpServerSpec(name="crlf", url="http://h/"), McpSecrets(headers={"X": "a\r\nInjected: 1"}), "line break"),
            (McpServerSpec(name="hn", url="http://h/"), McpSecrets(headers={"Bad Header": "v"}), "header name"),
            (McpServerSpec(name="en", command=["x"]), McpSecrets(env={"1BAD": "v"}), "env name"),
            (McpServerSpec(name="t", command=["x"], timeout_s=-1), McpSecrets(), "timeout_s"),
        ],
    )
    def test_bad_definitions_say_what_is_wrong(self, spec: McpServerSpec, secrets: McpSecrets, message: str) -> None:
        """Each invalid definition is refused with a message naming the problem."""
        with pytest.raises(McpConfigError, match=message):
            check_server(spec, secrets)

    @settings(max_examples=300, deadline=None)
    @given(
        TEXT,
        st.lists(TEXT, max_size=4),
        TEXT,
        st.dictionaries(TEXT, TEXT, max_size=3),
        st.dictionaries(TEXT, TEXT, max_size=3),
        st.floats(allow_nan=True),
    )
    def test_any_input_is_accepted_or_refused_cleanly(
        self, name: str, command: list[str], url: str, headers: dict[str, str], env: dict[str, str], timeout: float
    ) -> None:
        """Whatever a client sends, validation either accepts it or raises McpConfigError, and its
        message never echoes a secret value."""
        secrets = McpSecrets(headers=headers, env=env)
        message = ""
        try:
            check_server(McpServerSpec(name=name, command=command, url=url, timeout_s=timeout), secrets)
        except McpConfigError as exc:
            message = str(exc)
        assert all(value not in message for value in secrets.values() if len(value) >= 6)


class TestMasking:
    @given(st.text(min_size=4, max_size=30).filter(lambda s: "*" not in s), st.lists(TEXT, max_size=3))
    def test_secret_values_never_show_in_a_command(self, secret: str, args: list[str]) -> None:
        """Any argument containing a secret value shows *** instead."""
        command = ["server", *args, f"--token={secret}", secret]
        masked = mask_args(command, McpSecrets(env={"TOKEN": secret}))
        assert all(secret not in arg for arg in masked)

    def test_url_credentials_are_masked(self) -> None:
        """user:password@ in a URL becomes ***@."""
        assert mask_url("https://bob:hunter22@mcp.example.com/x?q=1") == "https://***@mcp.example.com/x?q=1"
        assert mask_url("https://mcp.example.com/x") == "https://mcp.example.com/x"


class TestStore:
    def test_round_trip_enable_tools_and_remove(self, tmp_path: Path) -> None:
        """Definitions, secrets, the enabled flag and the cached tools persist; the file is 0600."""
        store = McpStore(tmp_path / "state.sqlite")
        spec = McpServerSpec(name="git", command=["uvx", "mcp-server-git"], env_names=["TOKEN"])
        store.add(spec, McpSecrets(env={"TOKEN": "s3cret"}))
        with pytest.raises(McpConflictError):
            store.add(spec, McpSecrets())
        store.set_tools("git", [McpToolInfo(name="mcp.git.status", remote="git_status", read_only=True)])
        store.set_enabled("git", False, "disabled by a person")
        store.close()
        again = McpStore(tmp_path / "state.sqlite")
        stored = again.get("git")
        assert stored.secrets.env == {"TOKEN": "s3cret"}
        assert (stored.enabled, stored.disabled_reason) == (False, "disabled by a person")
        assert stored.tools is not None
        assert stored.tools[0].remote == "git_status"
        assert (tmp_path / "state.sqlite").stat().st_mode & 0o777 == 0o600
        again.remove("git")
        with pytest.raises(McpNotFoundError):
            again.get("git")
        again.close()
