"""The service description, its systemd unit and launchd plist, and the managers' commands."""

from __future__ import annotations

import os
import plistlib
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.runtime.service import (
    Launchd,
    ServiceError,
    ServiceSpec,
    Systemd,
    build_spec,
    render_plist,
    render_unit,
)
from greenroom.runtime.service.manager import parse_launchctl_print, parse_properties
from tests.conftest import cli_flags, make_config, wait_for


def verify_unit(text: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify --user`` on a unit (a private runtime dir stands in for a session's)."""
    unit = tmp / "greenroom.service"
    unit.write_text(text)
    runtime = tmp / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)], capture_output=True, text=True, env=env, timeout=60
    )


def spec_for(root: Path, **overrides: Any) -> ServiceSpec:
    config = make_config(root)
    spec = build_spec(config, ["--config", str(root / "config.toml")], executable=sys.executable)
    return ServiceSpec(**{**{f: getattr(spec, f) for f in spec.__struct_fields__}, **overrides})


needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


class TestUnit:
    @needs_systemd
    def test_unit_verifies_without_warnings(self, tmp_path: Path) -> None:
        """systemd-analyze verify accepts the generated user unit and prints nothing on stderr."""
        home = "/home/someone"
        spec = spec_for(tmp_path, data_dir=f"{home}/.local/share/greenroom", log_dir=f"{home}/.local/share/greenroom/logs",
                        writable=["/run/user/1000", f"{home}/.cache", home])  # fmt: skip
        text = render_unit(spec)
        result = verify_unit(text, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        for line in ("Type=notify", "Restart=on-failure", "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "ProtectSystem=strict", "WantedBy=default.target"):  # fmt: skip
            assert line in text.splitlines()
        assert f"ReadWritePaths={home}/.local/share/greenroom -/run/user/1000 -{home}/.cache -{home}" in text

    def test_no_private_tmp_when_the_data_lives_in_tmp(self, tmp_path: Path) -> None:
        """A data dir under /tmp would vanish behind a private /tmp, so the unit keeps the real one."""
        assert str(tmp_path).startswith("/tmp/")
        assert "PrivateTmp" not in render_unit(spec_for(tmp_path))

    @needs_systemd
    def test_awkward_paths_still_verify(self, tmp_path: Path) -> None:
        """Spaces, %, $, quotes and backslashes in paths and values are quoted so systemd takes them."""
        odd = tmp_path / 'my data %h $HOME "q" \\b'
        odd.mkdir()
        spec = spec_for(tmp_path, data_dir=str(odd), log_dir=str(odd / "logs"), writable=[str(odd / "x y")],
                        program=[sys.executable, "-m", "greenroom", "--data-dir", str(odd), "daemon"],
                        environment={"PATH": "/usr/bin:/bin", "NOTE": 'a "b" $c %d \\e'})  # fmt: skip
        text = render_unit(spec)
        result = verify_unit(text, tmp_path)
        assert result.stderr == "", text
        assert "%%h" in text
        assert "$$HOME" in text

    @needs_systemd
    def test_a_broken_value_is_caught_by_the_check(self, tmp_path: Path) -> None:
        """The verify check can fail: a bad setting makes systemd-analyze complain on stderr."""
        text = render_unit(spec_for(tmp_path)).replace("ProtectSystem=strict", "ProtectSystem=strictly")
        assert "protect system value" in verify_unit(text, tmp_path).stderr

    def test_simple_type_without_notify(self, tmp_path: Path) -> None:
        """A description without readiness notification renders Type=simple."""
        assert "Type=simple" in render_unit(spec_for(tmp_path, notify=False))

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
    def test_any_argument_renders_or_is_refused(self, args: list[str]) -> None:
        """Arguments with control characters are refused; others render on one ExecStart line."""
        if any(ord(ch) < 32 or 127 <= ord(ch) <= 159 or ch in "\u2028\u2029" for arg in args for ch in arg):
            with pytest.raises(ServiceError, match="control character"):
                ServiceSpec(program=["/usr/bin/python3", *args], working_dir="/", data_dir="/d", log_dir="/d/l")
            return
        spec = ServiceSpec(program=["/usr/bin/python3", *args], working_dir="/", data_dir="/d", log_dir="/d/l")
        lines = render_unit(spec).splitlines()
        assert sum(line.startswith("ExecStart=") for line in lines) == 1
        assert all(line == "" or line.startswith(("#", "[")) or "=" in line for line in lines)


class TestPlist:
    def test_plist_round_trips_with_the_required_keys(self, tmp_path: Path) -> None:
        """The LaunchAgent parses back with RunAtLoad, KeepAlive on failure, a throttle and log paths."""
        spec = spec_for(tmp_path)
        agent = plistlib.loads(render_plist(spec))
        assert agent["Label"] == "dev.greenroom.daemon"
        assert agent["ProgramArguments"] == spec.program
        assert agent["ProgramArguments"][-2:] == ["daemon", "--no-stderr-log"]
        assert agent["RunAtLoad"] is True
        assert agent["KeepAlive"] == {"SuccessfulExit": False, "Crashed": True}
        assert agent["ThrottleInterval"] == spec.restart_delay_s
        assert agent["StandardOutPath"] == agent["StandardErrorPath"] == str(tmp_path / "data" / "logs" / "service.log")
        assert agent["EnvironmentVariables"]["PATH"].startswith(str(Path(sys.executable).parent))
        assert agent["WorkingDirectory"] == spec.working_dir

    @pytest.mark.skipif(shutil.which("plutil") is None, reason="plutil exists only on macOS")
    def test_plutil_lint(self, tmp_path: Path) -> None:
        """plutil -lint accepts the plist."""
        path = tmp_path / "agent.plist"
        path.write_bytes(render_plist(spec_for(tmp_path)))
        result = subprocess.run(["plutil", "-lint", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


class Recorder:
    """A stand-in for systemctl/launchctl: records each command, answers with canned output."""

    def __init__(self, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        code, stdout = next((a for key, a in self.answers.items() if key in " ".join(argv)), (0, ""))
        return subprocess.CompletedProcess(argv, code, stdout, "" if code == 0 else "refused")


class TestManagers:
    def test_systemd_install_and_uninstall(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Install writes the unit and enables it; uninstall stops, removes it, and leaves the data."""
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
        runner = Recorder()
        manager = Systemd(runner, home=tmp_path)
        spec = spec_for(tmp_path)
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "journal.sqlite").write_text("precious")
        path = manager.install(spec)
        assert path == tmp_path / "cfg" / "systemd" / "user" / "greenroom.service"
        assert path.read_text() == render_unit(spec)
        assert Path(spec.log_dir).is_dir()
        assert runner.calls == [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "greenroom.service"],
            ["systemctl", "--user", "restart", "greenroom.service"],
        ]
        runner.calls.clear()
        assert manager.uninstall() is True
        assert not path.exists()
        assert runner.calls[0] == ["systemctl", "--user", "disable", "--now", "greenroom.service"]
        assert (tmp_path / "data" / "journal.sqlite").read_text() == "precious"
        assert manager.uninstall() is False

    def test_systemd_failure_is_reported(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """When systemctl refuses (no user manager), install says which command failed."""
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
        manager = Systemd(Recorder({"daemon-reload": (1, "")}), home=tmp_path)
        with pytest.raises(ServiceError, match="daemon-reload"):
            manager.install(spec_for(tmp_path))

    def test_systemd_status(self, tmp_path: Path) -> None:
        """status reads loaded, running, pid and the last exit from systemctl show."""
        shown = "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nExecMainStatus=0\nExecMainCode=0\n"
        st = Systemd(Recorder({"show": (0, shown)}), home=tmp_path).status()
        assert (st.loaded, st.running, st.pid, st.last_exit) == (True, True, 4242, "")
        crashed = "LoadState=loaded\nActiveState=failed\nMainPID=0\nExecMainStatus=1\nExecMainCode=1\nResult=exit-code\n"
        st = Systemd(Recorder({"show": (0, crashed)}), home=tmp_path).status()
        assert (st.running, st.pid, st.last_exit) == (False, None, "status 1 (exit-code)")

    def test_launchd_install_status_uninstall(self, tmp_path: Path) -> None:
        """launchd: the plist goes to LaunchAgents, bootstrap loads it, print gives pid and last exit."""
        printed = (
            "gui/501/dev.greenroom.daemon = {\n\tactive count = 1\n\tstate = running\n\tpid = 777\n"
            "\tlast exit code = 0\n\tenvironment = {\n\t\tpid = 1\n\t}\n}\n"
        )
        runner = Recorder({"print": (0, printed), "bootout": (3, "")})
        manager = Launchd(runner, home=tmp_path)
        path = manager.install(spec_for(tmp_path))
        assert path == tmp_path / "Library" / "LaunchAgents" / "dev.greenroom.daemon.plist"
        assert plistlib.loads(path.read_bytes())["Label"] == "dev.greenroom.daemon"
        uid = os.getuid()
        assert runner.calls == [
            ["launchctl", "bootout", f"gui/{uid}/dev.greenroom.daemon"],
            ["launchctl", "bootstrap", f"gui/{uid}", str(path)],
        ]
        st = manager.status()
        assert (st.loaded, st.running, st.pid, st.last_exit) == (True, True, 777, "0")
        assert manager.uninstall() is True
        assert not path.exists()

    def test_parsers_take_odd_output(self) -> None:
        """The output parsers ignore lines they do not understand."""
        assert parse_properties("junk\nA=1\n=\nB=x=y") == {"A": "1", "": "", "B": "x=y"}
        assert parse_launchctl_print("no braces here\n}\n}") == {}


def _user_manager_runs() -> bool:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime or shutil.which("systemctl") is None or not Path(runtime, "systemd", "private").exists():
        return False
    return subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True).returncode in (0, 1)


class TestRealManager:
    @pytest.mark.skipif(
        not _user_manager_runs(),
        reason="no systemd user manager runs here (no $XDG_RUNTIME_DIR/systemd/private): the real "
        "install/status/uninstall cycle needs one; the unit itself is verified above",
    )
    def test_systemd_user_cycle(self, short_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With a user manager: install starts the daemon, status sees it running, uninstall stops it."""
        flags = cli_flags(short_tmp)

        def greenroom(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "greenroom", *flags, "service", *args],
                                  capture_output=True, text=True, timeout=120)  # fmt: skip

        assert greenroom("install").returncode == 0
        try:
            wait_for(lambda: "running" in greenroom("status").stdout, timeout=60)
            assert "daemon: greenroom" in greenroom("status").stdout
        finally:
            assert greenroom("uninstall").returncode == 0
        assert "not loaded" in greenroom("status").stdout or "inactive" in greenroom("status").stdout


class TestNotify:
    def test_daemon_says_ready_after_binding_and_stopping_on_sigterm(
        self, short_tmp: Path, daemon_process: Any
    ) -> None:
        """With $NOTIFY_SOCKET the daemon sends READY=1 once clients can connect, and STOPPING=1 on stop."""
        sock_path = short_tmp / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        sock.settimeout(60)
        try:
            os.environ["NOTIFY_SOCKET"] = str(sock_path)
            try:
                daemon = daemon_process(short_tmp, cli_flags(short_tmp)).start()
            finally:
                del os.environ["NOTIFY_SOCKET"]
            ready = sock.recv(4096).decode()
            assert ready.startswith("READY=1")
            assert f"MAINPID={daemon.proc.pid}" in ready
            with daemon.client() as client:
                assert client.status().pid == daemon.proc.pid
            assert daemon.kill(15) == 0
            assert sock.recv(4096).decode().startswith("STOPPING=1")
        finally:
            sock.close()
