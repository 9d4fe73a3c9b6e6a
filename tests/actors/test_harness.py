"""The harness as a library call: OpenAI-style tools in, the calls the Executor would make out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenroom.actors.harness import spec_from_openai, tool_calls
from greenroom.models import ScriptedBackend
from tests.conftest import write_script

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
EMAIL = {
    "type": "function",
    "function": {
        "name": "send_email",
        "description": "Send an email to someone.",
        "parameters": {
            "type": "object",
            "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
            "required": ["to", "body"],
        },
    },
}


def scripted(tmp: Path, text: str) -> ScriptedBackend:
    return ScriptedBackend(write_script(tmp / "s.json", {"harness": text}))


class TestHarness:
    def test_a_matching_request_may_only_call_the_matched_tool(self, tmp_path: Path) -> None:
        """'What's the weather in Paris?' matches get_weather: the round's schema offers only it, no finish."""
        call = {"action": "call_tools", "calls": [{"tool": "get_weather", "args": {"city": "Paris"}}]}
        backend = scripted(tmp_path, json.dumps(call))
        calls = tool_calls(backend, [{"role": "user", "content": "What's the weather in Paris?"}], [WEATHER, EMAIL])
        assert calls == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
        (request,) = backend.requests
        schema: Any = request.schema
        assert schema["properties"]["action"] == {"const": "call_tools"}, "finishing without the tool is not offered"
        offered = [c["properties"]["tool"]["const"] for c in schema["properties"]["calls"]["items"]["anyOf"]]
        assert offered == ["get_weather"]

    def test_a_request_no_tool_serves_may_be_answered(self, tmp_path: Path) -> None:
        """Nothing matches 'Who painted the Mona Lisa?': every tool, or finishing, is allowed; finish is no call."""
        backend = scripted(tmp_path, json.dumps({"action": "finish", "result": "Leonardo da Vinci"}))
        calls = tool_calls(backend, [{"role": "user", "content": "Who painted the Mona Lisa?"}], [WEATHER, EMAIL])
        assert calls == []
        assert "anyOf" in backend.requests[0].schema  # type: ignore[operator]

    def test_specs_from_openai_keep_name_description_and_schema(self) -> None:
        """A function spec becomes a tool spec with the same JSON Schema (validated before any run)."""
        spec = spec_from_openai(EMAIL)
        assert (spec.name, spec.description) == ("send_email", "Send an email to someone.")
        assert spec.schema() == EMAIL["function"]["parameters"]  # type: ignore[index]

    def test_real_model_output_always_decodes(self, tiny_model: Path) -> None:
        """On a real (tiny, random) model the calls decode and name only the given tools."""
        from greenroom.models.select import local_backend

        backend = local_backend(lambda: tiny_model, "tiny")
        for question in ("What's the weather in Oslo?", "Email Bob that I am late", "Tell me a joke"):
            for call in tool_calls(backend, [{"role": "user", "content": question}], [WEATHER, EMAIL], max_calls=1):
                assert call["name"] in ("get_weather", "send_email")
                assert isinstance(call["arguments"], dict)
