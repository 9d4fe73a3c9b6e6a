"""The evaluation set of ``bench/agent_tasks.py``: 42 first tries, each with a deterministic check.

Checks read the answer (case-insensitive), the files under the test home, and which
tools succeeded. They accept any wording that carries the fact: "Paris", "It is Paris."
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Check = Callable[[str, Path, list[str]], bool]


@dataclass(frozen=True)
class EvalTask:
    kind: str
    """answer, arithmetic, time, read, list, write, recall, fetch, two-step"""
    goal: str
    check: Check


def says(*words: str, tool: str | None = None) -> Check:
    """The answer contains every one of ``words`` (each a regex, case-insensitive), after ``tool`` succeeded."""

    def check(answer: str, _root: Path, tools: list[str]) -> bool:
        return (tool is None or tool in tools) and all(re.search(w, answer, re.IGNORECASE) for w in words)

    return check


def no_tool(*words: str) -> Check:
    """Answered without any tool, saying ``words``."""
    inner = says(*words)
    return lambda answer, root, tools: not tools and inner(answer, root, tools)


def file_has(rel: str, *words: str, tools: tuple[str, ...] = ("fs.write",)) -> Check:
    """``rel`` exists under the home, is not empty and contains ``words``; ``tools`` succeeded."""

    def check(_answer: str, root: Path, used: list[str]) -> bool:
        path = root / rel
        if not path.is_file() or not path.read_text().strip() or not all(t in used for t in tools):
            return False
        text = path.read_text()
        return all(re.search(w, text, re.IGNORECASE) for w in words)

    return check


def now_in_answer(fmt: str) -> Check:
    """The answer holds the current time in ``fmt`` (a minute's leeway), from the clock tool."""

    def check(answer: str, _root: Path, tools: list[str]) -> bool:
        now = dt.datetime.now().astimezone()
        near = {(now + dt.timedelta(minutes=m)).strftime(fmt) for m in (-1, 0, 1)}
        return "system.time" in tools and any(n.lower() in answer.lower() for n in near)

    return check


FILES = {
    "notes/today.md": "Meeting on Friday at 10 with Sam. Bring the budget.",
    "notes/shopping.md": "eggs\nbread\ntomatoes",
    "notes/ideas.txt": "Plant a small herb garden on the balcony.",
    "notes/meeting.md": "# Team meeting\nMoved to Friday at 2pm. Topic: the new office.",
    "notes/recipe.md": "Pancakes: 200 g flour, 2 eggs, 300 ml milk.",
    "docs/report.txt": "Quarterly report draft.",
    "docs/plan.txt": "Launch in March.",
}

MEMORIES = [
    ("The wifi password is on the fridge.", ["home"]),
    ("My bike lock code is 4711.", ["bike"]),
    ("The dentist appointment is on Tuesday at 3pm.", ["health"]),
    ("Anna's birthday is on May 12.", ["family"]),
]

PAGES = {
    "/weather": "<html><body><h1>Forecast</h1><p>Sunny, 24 degrees, light wind.</p></body></html>",
    "/news": (
        "<html><body><article><h1>Town news</h1><p>The library opens at 9 on Saturdays.</p></article></body></html>"
    ),
    "/quote": "<html><body><p>Simplicity is the soul of efficiency.</p></body></html>",
}

TASKS: list[EvalTask] = [
    # -- no tool: answered from what the model knows
    EvalTask("answer", "What is the capital of France?", no_tool("paris")),
    EvalTask("answer", "What is the capital of Japan?", no_tool("tokyo")),
    EvalTask("answer", "What is the capital of Italy?", no_tool("rome")),
    EvalTask("answer", "What is the opposite of hot?", no_tool("cold")),
    EvalTask("answer", "Who painted the Mona Lisa?", no_tool("leonardo|vinci")),
    EvalTask("answer", "How many legs does a spider have?", no_tool(r"\b8\b|eight")),
    EvalTask("answer", "What is the largest planet in our solar system?", no_tool("jupiter")),
    EvalTask("answer", "What colour is the sky on a clear day?", no_tool("blue")),
    EvalTask("answer", "Name the three primary colours.", no_tool("red")),
    EvalTask("answer", "What is the capital of Germany?", no_tool("berlin")),
    EvalTask("answer", "What language is spoken in Spain?", no_tool("spanish")),
    EvalTask("answer", "What animal says moo?", no_tool("cow")),
    EvalTask("answer", "What is the freezing point of water in Celsius?", no_tool(r"\b0\b|zero")),
    # -- arithmetic: worked out by the calculator, not guessed
    EvalTask("arithmetic", "What is 2+2?", says(r"\b4\b", tool="math.calculate")),
    EvalTask("arithmetic", "What is 12 times 7?", says(r"\b84\b", tool="math.calculate")),
    EvalTask("arithmetic", "What is 15% of 80?", says(r"\b12\b", tool="math.calculate")),
    # -- the clock
    EvalTask("time", "What time is it?", now_in_answer("%H:%M")),
    EvalTask("time", "What is today's date?", now_in_answer("%d %B %Y")),
    EvalTask("time", "What day of the week is it today?", now_in_answer("%A")),
    # -- reading a named file
    EvalTask("read", "Read the file notes/today.md", says("budget", tool="fs.read")),
    EvalTask("read", "What does notes/shopping.md say?", says("eggs", tool="fs.read")),
    EvalTask("read", "Show me notes/ideas.txt", says("garden", tool="fs.read")),
    EvalTask("read", "Summarise notes/meeting.md", says("friday", tool="fs.read")),
    EvalTask("read", "Open notes/recipe.md and tell me what it says", says("flour", tool="fs.read")),
    # -- listing a folder
    EvalTask("list", "List the files in my notes folder", says("today.md", "shopping.md", tool="fs.list")),
    EvalTask("list", "Which files are in notes?", says("ideas.txt", tool="fs.list")),
    EvalTask("list", "What files are in the docs folder?", says("report.txt", "plan.txt", tool="fs.list")),
    # -- writing under the notes folder (a rule allows it)
    EvalTask("write", "Create notes/todo.md listing three fruits", file_has("notes/todo.md")),
    EvalTask("write", "Write 'hello world' to notes/hello.txt", file_has("notes/hello.txt", "hello world")),
    EvalTask("write", "Save the sentence 'buy milk' in notes/milk.txt", file_has("notes/milk.txt", "buy milk")),
    EvalTask("write", "Make a file notes/colors.txt with the three primary colours", file_has("notes/colors.txt")),
    EvalTask("write", "Put 'call mom at 6' into notes/reminder.txt", file_has("notes/reminder.txt", "call mom")),
    # -- recalling what was stored beforehand
    EvalTask("recall", "Where is the wifi password? Check what I told you.", says("fridge", tool="memory.recall")),
    EvalTask("recall", "What is my bike lock code? Do you remember?", says("4711", tool="memory.recall")),
    EvalTask("recall", "When is my dentist appointment, according to my notes?", says("tuesday", tool="memory.recall")),
    EvalTask("recall", "Do you remember when Anna's birthday is?", says("may", tool="memory.recall")),
    # -- a page from a local server
    EvalTask("fetch", "Fetch {url}/weather and tell me the forecast", says("sunny", tool="web.fetch")),
    EvalTask("fetch", "Get {url}/news", says("library", tool="web.fetch")),
    EvalTask("fetch", "What does the page {url}/quote say?", says("simplicity", tool="web.fetch")),
    # -- two steps
    EvalTask(
        "two-step",
        "Read notes/today.md and write a summary to notes/summary.md",
        file_has("notes/summary.md", tools=("fs.read", "fs.write")),
    ),
    EvalTask(
        "two-step",
        "Read notes/shopping.md and then save it to notes/shopping-copy.md",
        file_has("notes/shopping-copy.md", tools=("fs.read", "fs.write")),
    ),
    EvalTask(
        "two-step",
        "List the files in notes and write the list to notes/index.txt",
        file_has("notes/index.txt", tools=("fs.list", "fs.write")),
    ),
]
