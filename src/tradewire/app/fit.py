"""Lines that fit a terminal: figures packed side by side, a line broken only between two
figures (never inside ``risk-denied 4,321``), a figure longer than a line wrapped at words.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable


def fit(
    items: Iterable[str], width: int, *, sep: str = " · ", first: str = "", rest: str = ""
) -> list[str]:
    """``items`` joined by ``sep`` in lines of at most ``width`` characters; the first line
    starts with ``first``, the others with ``rest``; a line ends with ``sep`` stripped."""
    lines: list[str] = []
    line, fresh = first, True
    for item in items:
        pieces = textwrap.wrap(item, max(width - max(len(first), len(rest)), 8)) or [""]
        for k, piece in enumerate(pieces):
            if k:  # the rest of a figure too long for a line: no separator inside it
                lines.append(line)
                line = rest + piece
                continue
            candidate = line + piece if fresh else line + sep + piece
            if fresh or len(candidate) + len(sep.rstrip()) <= width:  # room for the sep
                line, fresh = candidate, False
                continue
            lines.append(line + sep.rstrip())
            line = rest + piece
    lines.append(line)
    return [text[:width] if len(text) > width else text for text in lines]
