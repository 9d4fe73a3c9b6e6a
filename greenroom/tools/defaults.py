"""The built-in tools a config enables."""

from __future__ import annotations

from greenroom.tools.arithmetic import CALCULATE_TOOL
from greenroom.tools.builtin import BUILTIN_TOOLS
from greenroom.tools.examples import with_examples
from greenroom.tools.files import FILE_TOOLS
from greenroom.tools.processes import PYTHON_TOOL, SHELL_TOOL
from greenroom.tools.reminders import REMINDERS_TOOL
from greenroom.tools.settings import ToolsConfig
from greenroom.tools.spec import ToolSpec
from greenroom.tools.units import UNITS_TOOL
from greenroom.tools.web import WEB_TOOLS


def default_tools(config: ToolsConfig) -> list[ToolSpec]:
    """The built-in tools this config enables (``shell.exec`` only when ``shell_enabled``)."""
    tools = [*BUILTIN_TOOLS, CALCULATE_TOOL, UNITS_TOOL, REMINDERS_TOOL, *FILE_TOOLS, PYTHON_TOOL, *WEB_TOOLS]
    if config.shell_enabled:
        tools.append(SHELL_TOOL)
    return with_examples(tools)


__all__ = ["default_tools"]
