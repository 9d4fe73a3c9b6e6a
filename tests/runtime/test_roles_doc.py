"""docs/protocol.md's role table says what ``access.REQUIRED`` enforces (one row per role, no drift)."""

from __future__ import annotations

import re
from pathlib import Path

from greenroom.bus import protocol as p
from greenroom.runtime.access import REQUIRED

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROWS = {"`viewer`": "viewer", "`operator`": "operator", "`admin`": "admin", "(ipc only)": "local"}


def documented() -> dict[str, list[str]]:
    """Each role row of the table: the ops it names, in order (a row named twice is kept twice)."""
    table = DOC.read_text().split("| role | may |", 1)[1].split("\n\n", 1)[0]
    out: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0] in ROWS:
            assert ROWS[cells[0]] not in out, f"the role {cells[0]} has two rows"
            out[ROWS[cells[0]]] = re.findall(r"`([a-z_]+)`", cells[1])
    return out


class TestRoleTable:
    def test_each_role_has_one_row_and_names_what_the_gateway_requires(self) -> None:
        """Ops in the viewer, operator and ipc-only rows are exactly those REQUIRED puts at that level."""
        rows = documented()
        assert set(rows) == set(ROWS.values())
        tag = {cls: cls.__struct_config__.tag for cls in p.Request.__args__}  # type: ignore[attr-defined]
        for level in ("viewer", "operator", "local"):
            required = {tag[cls] for cls, need in REQUIRED.items() if need == level}
            assert set(rows[level]) == required, level

    def test_admin_row_names_only_ops_left_to_admins(self) -> None:
        """Every op the admin row names exists and is not given to a lower role or kept to ipc."""
        ops = {cls.__struct_config__.tag: cls for cls in p.Request.__args__}  # type: ignore[attr-defined]
        for op in documented()["admin"]:
            assert op in ops, op
            assert ops[op] not in REQUIRED, op
