"""Shared fixtures: private temp dirs, scripted model scripts, a tiny real model, daemons."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pytest

from greenroom.clients import Client, DaemonNotRunningError
from greenroom.runtime.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path (ipc socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="gr-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_script(path: Path, responses: dict[str, str], delay_s: float = 0.0) -> Path:
    path.write_text(json.dumps({"responses": responses, "delay_s": delay_s}))
    return path


def call(*calls: tuple[str, dict[str, Any]]) -> str:
    """The JSON a model emits to call tools."""
    return json.dumps({"action": "call_tools", "calls": [{"tool": t, "args": a} for t, a in calls]})


def finish(result: str) -> str:
    return json.dumps({"action": "finish", "result": result})


def plan(*intents: str, tools: tuple[str, ...] = ()) -> str:
    """The JSON of a plan (the first call's steps form): each intent, with the tool at the same index."""
    names = [*tools, *["none"] * (len(intents) - len(tools))]
    return json.dumps({"steps": [{"do": i, "tool": t} for i, t in zip(intents, names, strict=True)]})


def answer(text: str) -> str:
    """The JSON of a first call that answers directly."""
    return json.dumps({"answer": text})


CLIENT_TIMEOUT_S = 60.0
"""Replies a test waits for: slow work (a forget rewriting indexes) on a loaded machine takes seconds."""


def make_config(root: Path, script: Path | None = None, *overrides: str) -> Config:
    sets = [
        f'daemon.data_dir="{root / "data"}"',
        f'daemon.runtime_dir="{root / "run"}"',
        f'tools.fs_roots=["{root}"]',
        "llm.backend=scripted",
        "agent.match_tools=false",  # scripts say the plan; tests of matching turn it on
        "agent.remember_tasks=off",  # a finished task's summary would load the embedding model in every test
    ]
    if script is not None:
        sets.append(f'llm.script="{script}"')
    cfg = root / "config.toml"
    cfg.touch()  # an explicit (empty) file: the person's own config never leaks into tests
    return load_config(cfg, [*sets, *overrides])


def cli_flags(root: Path, script: Path | None = None) -> list[str]:
    """Global ``greenroom`` flags for a daemon (or CLI) confined to ``root``, scripted model."""
    (root / "config.toml").touch()
    flags = [
        "--config", str(root / "config.toml"),
        "--data-dir", str(root / "data"),
        "--runtime-dir", str(root / "run"),
        "--set", "llm.backend=scripted",
        "--set", f'tools.fs_roots=["{root}"]',
        "--set", "agent.match_tools=false",
        "--set", "agent.remember_tasks=off",
    ]  # fmt: skip
    if script is not None:
        flags += ["--set", f'llm.script="{script}"']
    return flags


class InProcessDaemon:
    """The daemon's ``serve`` on a background event loop (a blocking portal)."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        from greenroom.runtime.daemon import serve

        self.config = config
        self._cm: Any = anyio.from_thread.start_blocking_portal()
        self.portal = self._cm.__enter__()
        self._stop = self.portal.call(anyio.Event)
        ready: list[Any] = []
        self._future = self.portal.start_task_soon(
            lambda: serve(
                config,
                stop=self._stop,
                handle_signals=False,
                on_ready=lambda rt, gw: ready.append((rt, gw)),
                **kwargs,
            )
        )
        deadline = time.monotonic() + 20
        while not ready:
            if self._future.done():
                self._future.result()
            if time.monotonic() > deadline:
                raise TimeoutError("daemon did not become ready")
            time.sleep(0.01)
        self.runtime, self.gateway = ready[0]

    def client(self, name: str = "test") -> Client:
        return Client(self.config.runtime_dir, name=name, timeout=CLIENT_TIMEOUT_S).connect()

    def stop(self) -> None:
        if self._cm is None:
            return
        if not self._future.done():
            self.portal.call(self._stop.set)
            self._future.result(timeout=30)
        cm, self._cm = self._cm, None
        cm.__exit__(None, None, None)


@pytest.fixture
def daemon_factory() -> Iterator[Any]:
    started: list[InProcessDaemon] = []

    def start(config: Config, **kwargs: Any) -> InProcessDaemon:
        d = InProcessDaemon(config, **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


class DaemonProcess:
    """``greenroom daemon`` in a real subprocess."""

    def __init__(self, root: Path, args: list[str]) -> None:
        self.root = root
        self.args = args
        self.runtime_dir = root / "run"
        self.log = root / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "greenroom", *self.args, "daemon"],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                Client(self.runtime_dir, timeout=2).connect().close()
                return self
            except DaemonNotRunningError:
                time.sleep(0.05)
        raise TimeoutError(f"daemon not ready: {self.log.read_text()[-2000:]}")

    def client(self) -> Client:
        return Client(self.runtime_dir, name="test", timeout=CLIENT_TIMEOUT_S).connect()

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@pytest.fixture
def daemon_process() -> Iterator[Any]:
    procs: list[DaemonProcess] = []

    def make(root: Path, args: list[str]) -> DaemonProcess:
        d = DaemonProcess(root, args)
        procs.append(d)
        return d

    yield make
    for d in procs:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(10)


@pytest.fixture(scope="session")
def shared_embedder() -> Any:
    """The offline MiniLM embedder, loaded once per session: daemons given it skip their own load.

    Set it on a fresh daemon before anything touches memory (``d.runtime.memory.embedder = ...``).
    """
    from greenroom.memory import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen3 (mlx-lm) with a trained tokenizer."""
    from greenroom.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "qwen3-tiny")


def hub_cache(root: Path, model: Path, repo: str = "acme/tiny", commit: str = "a" * 40) -> tuple[Path, Path]:
    """A Hugging Face hub cache under ``root`` holding ``model`` as ``repo``; returns (cache, snapshot)."""
    import shutil

    cache = root / "hub"
    entry = cache / ("models--" + repo.replace("/", "--"))
    snapshot = entry / "snapshots" / commit
    shutil.copytree(model, snapshot)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(commit)
    return cache, snapshot


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
