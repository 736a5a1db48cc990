"""The one error of the RFC's inputs: a prices or measurements file that cannot be used.

A `StreamConfigError` (terminal: retrying reads the same file), so the CLI
prints it as one line and exits 2, like every other bad input in story 3.
The message starts with the file, then says what is wrong where:
`<file>: <field>: <problem>; <field>: <problem>`.
"""

from __future__ import annotations

from pathlib import Path

from streaming.errors import StreamConfigError

__all__ = ["RfcInputError"]


class RfcInputError(StreamConfigError):
    """A prices or measurements file is unreadable or invalid; one line naming the file and each problem."""

    def __init__(self, path: Path | str, problems: tuple[str, ...]) -> None:
        self.path = Path(path)
        self.problems = problems
        # Newlines from a parser's message would break the one-line promise.
        text = "; ".join(" ".join(p.split()) for p in problems)
        super().__init__(f"{path}: {text}")
