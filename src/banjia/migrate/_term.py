"""Plain wrapped lines for narrow terminals and pipes, where rich tables squeeze their columns
into one character each."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.text import Text

__all__ = ["NARROW", "wrapped"]

NARROW = 100  # below this width, lists instead of tables


def wrapped(console: Console, text: str, indent: str = "", first: str | None = None,
            style: str = "") -> None:
    """``text`` wrapped to the console's width, continuation lines indented by ``indent``."""
    width = max(40, console.width)
    lines = textwrap.wrap(text, width=width, initial_indent=indent if first is None else first,
                          subsequent_indent=indent, break_on_hyphens=False) or [""]
    for line in lines:
        console.print(Text(line, style=style), soft_wrap=True)
