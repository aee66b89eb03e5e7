"""Located, bilingual problems and the exception that carries them.

Every reader and check in qlwork reports a :class:`Problem` that says *where*
(file, sheet, Excel row, column, or YAML path and line), *what was found* and
*what was expected*, in Chinese first with an English gloss.  A
:class:`QlworkError` carries one or more problems so a user sees every problem
at once rather than the first traceback from deep inside pandas.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import pandas as pd

__all__ = ["Problem", "QlworkError", "problems_frame"]


@dataclass(frozen=True)
class Problem:
    """One located data problem.

    ``code`` is a stable machine-readable reason (e.g. ``"unknown_unit"``);
    ``message`` is Chinese, ``message_en`` its English gloss.
    """

    code: str
    message: str
    message_en: str = ""
    file: str | None = None
    sheet: str | None = None
    row: int | None = None  # Excel row number (1-based) or YAML line
    column: str | None = None
    found: Any = None
    expected: Any = None
    severity: str = "error"  # "error" | "warning"

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件 {self.file}")
        if self.sheet:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"列 {self.column}")
        return "，".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        head = f"[{self.code}] " + (f"{loc}：" if loc else "") + self.message
        detail = []
        if self.found is not None:
            detail.append(f"发现 found: {self.found!r}")
        if self.expected is not None:
            detail.append(f"应为 expected: {self.expected}")
        if detail:
            head += "（" + "；".join(detail) + "）"
        if self.message_en:
            head += f" — {self.message_en}"
        return head

    def to_dict(self) -> dict:
        return asdict(self)


class QlworkError(ValueError):
    """Raised with one or more located :class:`Problem` objects."""

    def __init__(self, problems: Problem | Iterable[Problem] | str, message_en: str = ""):
        if isinstance(problems, str):
            problems = [Problem("error", problems, message_en)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        if n == 1:
            return str(self.problems[0])
        lines = [f"发现 {n} 个问题 ({n} problems found):"]
        lines += [f"  {i + 1}. {p}" for i, p in enumerate(self.problems)]
        return "\n".join(lines)


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a tidy table (one row each) for notebooks and Excel exports."""
    cols = [f for f in Problem.__dataclass_fields__]
    rows = [p.to_dict() for p in problems]
    return pd.DataFrame(rows, columns=cols)
