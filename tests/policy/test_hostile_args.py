"""Hostile tool arguments: bad paths are argument errors (deny), never crashes of the Policy actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.bus import events as e
from greenroom.bus import read_envelopes
from greenroom.policy import PolicyEngine, ToolFacts, default_rules
from tests.conftest import call, finish, make_config, plan, wait_for, write_script

FACTS = {
    "fs.write": ToolFacts(side_effects="write"),
    "fs.read": ToolFacts(side_effects="read"),
    "web.fetch": ToolFacts(side_effects="read", network=True),
}

PATHS = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=10), st.text(max_size=10)),
    st.just("~nosuchuser-xyz/notes.md"),
    st.just("x" * 5000),
    st.just("a/" * 3000),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(lambda t: "~/" + t),
)
ARGS = st.fixed_dictionaries(
    {},
    optional={
        "path": st.one_of(PATHS, st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)),
        "root": PATHS,
        "url": st.text(max_size=40),
        "command": st.text(max_size=40),
        "content": st.text(max_size=40),
    },
)


class TestPolicyOnHostileArguments:
    @settings(max_examples=300, deadline=None)
    @given(tool=st.sampled_from(sorted(FACTS)), args=ARGS)
    def test_decide_never_raises(self, tmp_path_factory: Any, tool: str, args: dict[str, Any]) -> None:
        """Whatever the arguments, the engine returns a decision with a rule; it never raises."""
        root = tmp_path_factory.getbasetemp()
        engine = PolicyEngine(root / "policy.sqlite", defaults=default_rules(FACTS, [str(root)]))
        try:
            d = engine.decide(tool, FACTS[tool], args)
        finally:
            engine.close()
        assert d.decision in ("allow", "ask", "deny")
        assert d.rule
        if isinstance(args.get("path"), str) and "\x00" in args["path"]:
            assert (d.decision, d.rule) == ("deny", "bad-path")
            assert "NUL byte" in d.reason

    def test_policy_test_with_a_nul_byte_is_a_deny_not_a_crash(self, short_tmp: Path, daemon_factory: Any) -> None:
        """`policy test` of a path with a NUL byte answers deny (bad-path); no actor crashes."""
        d = daemon_factory(make_config(short_tmp))
        with d.client() as c:
            decision = c.test_policy("fs.write", {"path": str(short_tmp / "a\x00b.txt"), "content": "x"})
            assert (decision.decision, decision.rule) == ("deny", "bad-path")
            assert "NUL byte" in decision.reason
            assert d.runtime.supervisor.status()["policy"] == "running"
        assert not read_envelopes(d.runtime.journal, types=["actor.crashed"])

    def test_a_task_calling_a_tool_with_a_nul_path_goes_on(self, short_tmp: Path, daemon_factory: Any) -> None:
        """In a task, the call is denied with a reason the model sees, and the task ends normally."""
        script = write_script(
            short_tmp / "s.json",
            {
                "plan": plan("write a note"),
                "step:1:round:1": call(("fs.write", {"path": str(short_tmp / "a\x00b.txt"), "content": "x"})),
                "step:1:round:2": finish("could not write"),
            },
        )
        d = daemon_factory(make_config(short_tmp, script))
        task_id, _ = d.runtime.submit("write a note")
        view = wait_for(lambda: (v := d.runtime.tasks.get(task_id)) and v.status in ("finished", "failed") and v, 20)
        assert view.status == "finished", view.error
        events = [env.event for env in read_envelopes(d.runtime.journal, task_id=task_id)]
        decided = next(ev for ev in events if isinstance(ev, e.ToolDecided))
        assert (decided.decision, decided.rule) == ("deny", "bad-path")
        assert not read_envelopes(d.runtime.journal, types=["actor.crashed"])


class TestConfirmScopes:
    def test_a_scope_that_does_not_fit_is_refused_before_anything_is_journaled(
        self, short_tmp: Path, daemon_factory: Any
    ) -> None:
        """confirm with scope 'domain' for a file write gets bad_request naming the scopes that fit;
        nothing is journaled and the task keeps waiting for a proper answer."""
        from greenroom.clients import ServerError

        script = write_script(
            short_tmp / "s.json",
            {
                "plan": plan("write"),
                "step:1:round:1": call(("fs.write", {"path": str(short_tmp / "a.txt"), "content": "x"})),
                "step:1:round:2": finish("written"),
            },
        )
        d = daemon_factory(make_config(short_tmp, script))
        task_id, _ = d.runtime.submit("write a")
        view = wait_for(lambda: (v := d.runtime.tasks.get(task_id)) and v.confirmations and v, 20)
        (pending,) = view.confirmations
        with d.client() as c:
            with pytest.raises(ServerError) as info:
                c.confirm(pending.confirmation_id, True, remember=True, scope="domain")
            assert info.value.code == "bad_request"
            assert (
                "scope 'domain' does not fit this fs.write call; remember it with one of: tool, path"
                in info.value.message
            )
            assert not read_envelopes(d.runtime.journal, types=["confirmation.answered"])
            assert c.task(task_id).status == "waiting"
            c.confirm(pending.confirmation_id, True, remember=True, scope="path")
        done = wait_for(lambda: (v := d.runtime.tasks.get(task_id)) and v.status in ("finished", "failed") and v, 20)
        assert done.status == "finished"
        assert (short_tmp / "a.txt").read_text() == "x"
        assert not read_envelopes(d.runtime.journal, types=["actor.crashed"])
