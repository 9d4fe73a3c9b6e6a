"""Screenshots of the web client's main screens for docs/ (a scripted daemon, Debian's chromium).

    PYTHONPATH=. .venv/bin/python scripts/web_screenshots.py docs/
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import InProcessDaemon, call, finish, make_config, plan, write_script

KEY = "- open question: who has the boat key?\n"
INSPECTION = "- open question: when is the boat inspected?\n"


def main(out: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="gr-", dir="/tmp"))
    notes = root / "notes.md"
    notes.write_text("# Cabin\n\n- wifi password: on the fridge\n- open question: who has the boat key?\n")
    script = write_script(root / "s.json", {
        "plan": plan("read the cabin notes", "add the open questions"),
        "step:1:round:1": call(("fs.read", {"path": str(notes)})),
        "step:1:round:2": finish("read the notes"),
        "step:2:round:1": call(("fs.patch", {"path": str(notes), "old": KEY, "new": KEY + INSPECTION})),
        "step:2:round:2": finish("added a question"),
        "answer": "Added one open question to the cabin notes.",
    })  # fmt: skip
    daemon = InProcessDaemon(make_config(root, script, "gateway.web=true", "gateway.ws_port=0", "gateway.web_port=0",
                                         "daemon.log_level=warning"))  # fmt: skip
    try:
        with daemon.client() as c:
            assert c.hello is not None
            url = c.hello.transports["web"] + "#token=" + c.create_token("admin", "docs", 600).token
            c.memory_add("The cabin wifi password is on the fridge.", ["cabin"])
            c.memory_add("The boat key hangs by the cabin door.", ["cabin"])
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 720}).new_page()
            page.goto(url)
            page.wait_for_function("window.greenroom.ready === true")
            page.fill("#goal", "add the open questions to my cabin notes")
            page.click("#submit")
            page.wait_for_selector(".confirmation .diff-text")
            shot(page, out / "web-confirmation.png")
            page.click(".confirmation .yes")
            page.wait_for_function("document.getElementById('task-status')?.textContent === 'finished'")
            page.click(".tree details summary")
            shot(page, out / "web-task.png")
            page.click("nav button[data-tab=memory]")
            page.fill("#query", "where is the boat key")
            page.press("#query", "Enter")
            page.wait_for_selector(".hit")
            shot(page, out / "web-memory.png")
            page.click("nav button[data-tab=models]")
            page.wait_for_selector("#models tr .fit")
            shot(page, out / "web-models.png")
            browser.close()
    finally:
        daemon.stop()


def shot(page: object, path: Path) -> None:
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    # A 64-colour palette keeps each PNG small enough to commit, and text stays crisp.
    subprocess.run(["convert", str(path), "+dither", "-colors", "64", f"PNG8:{path}"], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
