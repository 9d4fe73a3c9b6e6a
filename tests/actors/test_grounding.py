"""Memory in every task, in a real daemon: notes found for a paraphrased goal, put in the prompt with
their ids, journaled as ``memory.used``, cited by the answer; finished tasks remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenroom.bus import decode_envelope
from greenroom.bus import events as e
from greenroom.models import ScriptedBackend
from tests.conftest import answer, make_config, plan, wait_for, write_script

NOTES = {
    "cabin.md": "# Cabin\n\nThe wifi password for the cabin is written on the fridge door.\n",
    "garden.md": "# Garden\n\nWater the tomatoes every second evening; the hose is behind the shed.\n",
    "car.md": "# Car\n\nThe car's next service is due in March at the garage on Elm Street.\n",
}


@pytest.fixture
def grounded(short_tmp: Path, daemon_factory: Any, shared_embedder: Any):  # type: ignore[no-untyped-def]
    def start(responses: dict[str, str], *overrides: str) -> tuple[Any, ScriptedBackend]:
        script = write_script(short_tmp / "script.json", responses)
        backend = ScriptedBackend(script)
        d = daemon_factory(
            make_config(short_tmp, script, "memory.rerank=false", *overrides), make_backend=lambda: backend
        )
        d.runtime.memory.embedder = shared_embedder
        return d, backend

    return start


def events_of(d: Any, task_id: str) -> list[e.Event]:
    return [decode_envelope(raw).event for _, raw in d.runtime.journal.read(task_id=task_id)]


def finished(d: Any, task_id: str, *statuses: str) -> Any:
    return wait_for(lambda: (v := d.runtime.tasks.get(task_id)) and v.status in (statuses or ("finished",)) and v, 60)


def ingest_notes(d: Any, folder: Path) -> dict[str, str]:
    """Ingest the notes and wait for the run; returns note file name -> item id."""
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    with d.client() as c:
        run = c.memory_ingest([str(folder)]).run_id
    wait_for(
        lambda: any(
            isinstance(ev := decode_envelope(raw).event, e.MemoryIngestFinished) and ev.run_id == run
            for _, raw in d.runtime.journal.read(types=["memory.ingest.finished"])
        ),
        120,
    )
    rows = d.runtime.memory.store.db.execute("SELECT id, uri FROM items").fetchall()
    return {Path(uri).name: item for item, uri in rows}


class TestGrounding:
    def test_a_paraphrased_goal_gets_the_note_in_its_prompt_and_memory_used(
        self, grounded: Any, short_tmp: Path
    ) -> None:
        """The note a goal paraphrases is searched, shown with its id, journaled with why, and cited."""
        d, backend = grounded({"plan": answer("The wifi password for the cabin is written on the fridge door.")})
        ids = ingest_notes(d, short_tmp / "notes")
        task_id, _ = d.runtime.submit("where did I put the internet code for our holiday hut?")
        view = finished(d, task_id)
        cabin = ids["cabin.md"]
        used = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.MemoryUsed))
        assert cabin in [h.item_id for h in used.hits]
        hit = next(h for h in used.hits if h.item_id == cabin)
        assert "dense" in hit.why
        assert "fridge" in hit.text
        assert 0 < hit.score <= 1
        assert ids["car.md"] not in [h.item_id for h in used.hits]
        prompt = next(r for r in backend.requests if r.purpose == "plan").messages[-1].content
        assert f"[{cabin}] " in prompt
        assert "fridge" in prompt
        done = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.TaskFinished))
        assert done.cited == [cabin]
        assert view.answer.endswith(f"[{cabin}]")

    def test_the_answer_only_first_call_carries_the_memories_and_cites_them(
        self, grounded: Any, short_tmp: Path
    ) -> None:
        """With tool matching on (the default), a goal that needs no tool gets one answer-only call: it still
        has the memories with their ids, and the answer cites the one it used."""
        from greenroom.actors.schemas import answer_schema
        from greenroom.tools.routing import ToolRouter

        d, backend = grounded({"plan": answer("The car's next service is due in March.")}, "agent.match_tools=true")
        d.runtime.deps.router = ToolRouter(d.runtime.memory.embedder, d.config.agent.tool_match)
        car = ingest_notes(d, short_tmp / "notes")["car.md"]
        task_id, _ = d.runtime.submit("when is the car due for its service?")
        view = finished(d, task_id)
        (first,) = [r for r in backend.requests if r.purpose == "plan"]
        assert first.schema == answer_schema()  # matching found no tool: the call may only answer
        assert f"[{car}] " in first.messages[-1].content
        used = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.MemoryUsed))
        assert car in [h.item_id for h in used.hits]
        done = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.TaskFinished))
        assert done.cited == [car]
        assert view.answer.endswith(f"[{car}]")

    def test_grounding_runs_once_per_task(self, grounded: Any, short_tmp: Path) -> None:
        """A replan reuses the journaled memories: one memory.used per task."""
        d, backend = grounded(
            {
                "plan": plan("look it up"),
                "replan:*": plan("look again"),
                "verdict:1": '{"verdict": "replan", "reason": "the service date is not there"}',
            },
            "agent.critic=always",
        )
        ingest_notes(d, short_tmp / "notes")
        task_id, _ = d.runtime.submit("when is the car service due?")
        finished(d, task_id)
        kinds = events_of(d, task_id)
        assert sum(isinstance(ev, e.MemoryUsed) for ev in kinds) == 1
        assert any(isinstance(ev, e.TaskPlanned) and ev.revision == 1 for ev in kinds)
        plan0, replan = (r.messages[-1].content for r in backend.requests if r.purpose in ("plan", "replan:1"))
        assert plan0.split("\n\n")[0] == replan.split("\n\n")[0]  # the same memories, in the same words
        assert plan0.startswith("Memories (cite the [id] of any you use):")

    def test_empty_memory_means_no_search_and_no_memories_block(self, grounded: Any) -> None:
        """With nothing stored, a task does not search (nor load the embedding model)."""
        d, backend = grounded({})
        task_id, _ = d.runtime.submit("say hi")
        finished(d, task_id)
        assert not any(isinstance(ev, e.MemoryUsed) for ev in events_of(d, task_id))
        assert "Memories" not in next(r for r in backend.requests if r.purpose == "plan").messages[-1].content


class TestRememberTasks:
    def test_a_finished_task_is_remembered_and_found_by_the_next(self, grounded: Any) -> None:
        """With remember_tasks = on, the goal and answer become a task item that a later task retrieves."""
        d, backend = grounded({"plan": answer("The boat is called Seagull.")}, "agent.remember_tasks=on")
        first, _ = d.runtime.submit("what is the name of our sailing boat?")
        finished(d, first)
        wait_for(lambda: d.runtime.memory.store.stats()["by_source"].get("task") == 1, 60)
        item = d.runtime.memory.store.db.execute("SELECT id FROM items WHERE source = 'task'").fetchone()[0]
        second, _ = d.runtime.submit("remind me what our boat is called")
        finished(d, second)
        used = next(ev for ev in events_of(d, second) if isinstance(ev, e.MemoryUsed))
        assert item in [h.item_id for h in used.hits]
        assert "Seagull" in [r for r in backend.requests if r.purpose == "plan"][-1].messages[-1].content

    @pytest.mark.parametrize("approved", [True, False])
    def test_ask_mode_asks_and_obeys(self, grounded: Any, approved: bool) -> None:
        """With remember_tasks = ask, a remember question comes first; only yes stores the summary."""
        d, _ = grounded({"plan": answer("noted")}, "agent.remember_tasks=ask")
        task_id, _ = d.runtime.submit("note that the meeting moved to Friday")
        view = finished(d, task_id, "waiting")
        (question,) = view.confirmations
        assert question.kind == "remember"
        d.runtime.confirm(question.confirmation_id, approved=approved, remember=False)
        finished(d, task_id)
        if approved:
            wait_for(lambda: d.runtime.memory.store.stats()["by_source"].get("task") == 1, 60)
        else:
            d.runtime.bus.flush()
            assert d.runtime.memory.store.is_empty()


class TestStaleTaskAnswers:
    @pytest.mark.parametrize("match", [True, False])
    @pytest.mark.parametrize(
        ("text", "source", "tags"),
        [
            ("Task: What time is it?\nAnswer: It is 09:00 on Monday.", "task", ["task"]),
            ("What time is it? It is 09:00 on Monday.", "chat", ["chat:c-1a2b3c4d", "answer"]),
        ],
        ids=["task summary", "another chat's answer"],
    )
    def test_a_goal_its_tools_answer_skips_earlier_answers(
        self, grounded: Any, match: bool, text: str, source: str, tags: list[str]
    ) -> None:
        """'What time is it?' matched to the time tool gets no earlier answer (a stale time); unmatched, it does."""
        d, _ = grounded({"plan": answer("It is noon.")}, f"agent.match_tools={str(match).lower()}")
        with d.client() as c:
            stale = c.memory_add(text, tags, source=source)
        task_id, _ = d.runtime.submit("What time is it?")
        finished(d, task_id)
        used = next(ev for ev in events_of(d, task_id) if isinstance(ev, e.MemoryUsed))
        assert (stale in [h.item_id for h in used.hits]) is not match


class TestEmbeddingsFirstUse:
    def test_the_first_task_says_it_waits_for_the_embedding_model(self, short_tmp: Path, daemon_factory: Any) -> None:
        """The load that used to be seconds of silence shows as model.loading, then model.loaded; once only."""
        script = write_script(short_tmp / "script.json", {"plan": answer("Paris")})
        d = daemon_factory(make_config(short_tmp, script, "memory.rerank=false", "agent.match_tools=true"))
        # its own embedder, not loaded yet: tool matching loads it for the first task
        embedder = d.runtime.memory.embedder
        assert not embedder.loaded
        with d.client() as c:
            first = c.submit("what is the capital of France?").task_id
            finished(d, first)
            second = c.submit("what is the capital of Italy?").task_id
            finished(d, second)
        kinds = [type(ev).__name__ for ev in events_of(d, first)]
        loading = [ev for ev in events_of(d, first) if isinstance(ev, e.ModelLoading)]
        loaded = [ev for ev in events_of(d, first) if isinstance(ev, e.ModelLoaded) and ev.model == embedder.model_name]
        assert [ev.model for ev in loading] == [embedder.model_name]
        assert len(loaded) == 1
        assert loaded[0].seconds > 0
        assert kinds.index("ModelLoading") < kinds.index("ModelLoaded") < kinds.index("TaskPlanned")
        assert not [ev for ev in events_of(d, second) if isinstance(ev, e.ModelLoading)], "loaded once"
