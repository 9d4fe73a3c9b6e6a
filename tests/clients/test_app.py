"""``greenroom app``: the web client in a real native window (pywebview on GTK/WebKit) under Xvfb."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_flags, finish, plan, write_script

WEB_FLAGS = ["--set", "gateway.web=true", "--set", "gateway.web_port=0", "--set", "gateway.ws_port=0"]


def _gtk_webkit() -> str | None:
    """Why the window cannot be shown here, or None."""
    for tool in ("Xvfb", "import"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install xvfb imagemagick)"
    try:
        import gi

        gi.require_version("WebKit2", "4.1")
        import webview  # noqa: F401
    except (ImportError, ValueError) as exc:
        return f"pywebview with GTK WebKit2 4.1 is not available ({exc}); see scripts/test.sh"
    return None


pytestmark = pytest.mark.skipif(_gtk_webkit() is not None, reason=str(_gtk_webkit()))


@pytest.fixture
def display() -> Iterator[str]:
    """A private X server (Xvfb picks a free display number and tells it through a pipe)."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def timeline_rows(png: Path) -> int:
    """Pixels in the right third of the event-type blue (#2457a6); a row of thin monospace text gives ~10."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as img:
        pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    right = pixels[:, pixels.shape[1] * 2 // 3 :]
    near = np.abs(right - np.array([0x24, 0x57, 0xA6])).max(axis=2) < 24
    return int(near.sum())


class TestDesktopApp:
    @pytest.mark.slow
    def test_window_shows_the_timeline(self, short_tmp: Path, display: str, daemon_process: Any) -> None:
        """`greenroom app` attaches to the running daemon; a screenshot of the real window shows timeline rows."""
        script = write_script(short_tmp / "s.json", {"plan": plan("say hi"), "step:1:round:1": finish("hi"), "answer": "hi"})
        flags = [*cli_flags(short_tmp, script), *WEB_FLAGS]
        daemon = daemon_process(short_tmp, flags).start()
        with daemon.client() as c:
            c.submit("say hi")
        env = {**os.environ, "DISPLAY": display, "WEBKIT_DISABLE_COMPOSITING_MODE": "1"}
        app = subprocess.Popen([sys.executable, "-m", "greenroom", *flags, "app", "--no-start"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        shot = short_tmp / "app.png"
        try:
            deadline = time.monotonic() + 90
            rows = 0
            while time.monotonic() < deadline and app.poll() is None:
                subprocess.run(["import", "-display", display, "-window", "root", str(shot)], check=True, timeout=30)
                rows = timeline_rows(shot)
                if rows > 40:
                    break
            assert app.poll() is None, app.communicate()[0].decode()[-2000:]
            if os.environ.get("GREENROOM_SCREENSHOTS"):
                shutil.copy(shot, Path(os.environ["GREENROOM_SCREENSHOTS"]) / "app-window.png")
            assert rows > 40, f"no timeline in the window (blue pixels: {rows})"
        finally:
            app.terminate()
            app.wait(20)
            assert app.stdout is not None
            app.stdout.close()
