"""Problems found in user input, reported all at once (beancount style).

Every stage that reads user input returns or raises a list of Problem
records rather than stopping at the first one, so a user fixes everything
in one pass. The CLI turns a BadInput into exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, and how to fix it."""

    where: str  # key path ("stations[3].owner") or column name
    message: str  # what is wrong
    fix: str = ""  # what would make it right
    file: str = ""  # file name (config.yaml, households.csv, ...)
    line: int | None = None  # 1-based line in that file, when known
    message_zh: str = ""  # the message in Chinese, for the zh web pages ("" = none yet)
    fix_zh: str = ""  # the fix in Chinese

    def text(self, lang: str) -> tuple[str, str]:
        """(message, fix) in lang ("zh" or "en"); English where no Chinese is given."""
        if lang == "zh" and self.message_zh:
            return self.message_zh, self.fix_zh or self.fix
        return self.message, self.fix

    def render(self) -> str:
        """One line for humans: ``file:line: where: message (fix: ...)``."""
        loc = self.file or ""
        if self.line is not None:
            loc = f"{loc}:{self.line}"
        head = f"{loc}: {self.where}" if loc else self.where
        text = f"{head}: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class BadInput(Exception):
    """Input refused as a whole; carries every problem found."""

    def __init__(self, problems: Sequence[Problem], what: str = "input"):
        self.problems = list(problems)
        self.what = what
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one block each, with a count in the heading."""
        n = len(self.problems)
        head = f"{self.what}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  - {p.render()}" for p in self.problems)])


def raise_if(problems: Iterable[Problem], what: str) -> None:
    """Raise BadInput when the list is not empty."""
    problems = list(problems)
    if problems:
        raise BadInput(problems, what)
