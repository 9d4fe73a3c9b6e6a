"""A deterministic backend that answers from a script: for tests and demos.

The script is JSON: ``{"responses": {"<purpose glob>": "<text>"}, "delay_s": 0}``.
The first glob (in file order) matching the request's purpose wins; without a
match a generic answer that fits the agent's schemas is returned. A list of
texts answers the glob's first match with the first, the second with the
second, and so on (the last repeats). It streams its text word by word, like a
model would; a ``{hold}`` word is not sent but waits until the generation is
stopped (a test's "cancel while it writes", with no race against the writing).
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from greenroom.models.backend import GenerationCancelled, GenerationRequest, ModelError, Usage

_DEFAULTS = {
    "plan": '{"answer": "Done."}',
    "replan:*": '{"steps": [{"do": "finish the task", "tool": "none"}]}',
    "step:*": '{"action": "finish", "result": "nothing to do"}',
    "verdict:*": '{"verdict": "accept", "reason": "looks complete"}',
    "answer": "Done.",
}
HOLD = "{hold}"
HOLD_LIMIT_S = 600.0
"""A ``{hold}`` not stopped within this long fails the generation (a test that forgot to cancel)."""


class ScriptedBackend:
    """Answers from a script instead of a model."""

    name = "scripted"
    sees_images = True
    """It answers any request from its script, images or not (tests read the images it was sent)."""

    def __init__(self, script: Path | None = None) -> None:
        self.responses: dict[str, str | list[str]] = {}
        self._served: dict[str, int] = {}
        self.delay_s = 0.0
        if script is not None:
            try:
                data = json.loads(Path(script).read_text())
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot read script {script}: {exc}") from exc
            self.responses = dict(data.get("responses", {}))
            self.delay_s = float(data.get("delay_s", 0.0))
        self.requests: list[GenerationRequest] = []
        """Every request served, in order (tests read the prompts the model saw)."""

    def text_for(self, purpose: str) -> str:
        for table in (self.responses, _DEFAULTS):
            for pattern, text in table.items():
                if fnmatch.fnmatchcase(purpose, pattern):
                    if isinstance(text, str):
                        return text
                    served = self._served[pattern] = self._served.get(pattern, 0) + 1
                    return str(text[min(served, len(text)) - 1]) if text else "Done."
        return "Done."

    def stream(self, request: GenerationRequest, usage: Usage, stop: threading.Event) -> Iterator[str]:
        self.requests.append(request)
        text = self.text_for(request.purpose)
        usage.model = self.name
        usage.prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        pieces = re.findall(r"\S+\s*|\s+", text) or [""]
        for piece in pieces:
            if piece.strip() == HOLD and not stop.wait(HOLD_LIMIT_S):
                raise ModelError(f"{request.purpose}: a {HOLD} was never stopped")
            if stop.wait(self.delay_s) if self.delay_s else stop.is_set():  # a hold ends here, stopped
                usage.stop_reason = "cancelled"
                raise GenerationCancelled(request.purpose)
            usage.generated_tokens += 1
            yield piece
        usage.stop_reason = "stop"

    def close(self) -> None:
        pass
