"""Periods of any grain — the one home for parsing, naming, ordering and containment.

Three grains are read (期别粒度):

=========  ==============  ===========================================  ===================
grain      canonical id    also accepted (after NFKC: full width → ASCII)  Chinese label
=========  ==============  ===========================================  ===================
``H`` 半年  ``2025H1``      ``2025h1``, ``2025 H1``, ``2025年上半年``       ``2025年上半年``
``Q`` 季度  ``2025Q1``      ``2025q1``, ``2025年第一季度``, ``2025年一季度``,  ``2025年第一季度``
                            ``2025年第1季度``
``M`` 月    ``2025-03``     ``2025年3月``, ``2025年03月``, ``2025年三月``     ``2025年3月``
=========  ==============  ===========================================  ===================

Not read, because they need a guess (reported by the callers as ``bad_period``):
``2025-1`` / ``2025.1`` (month 1? quarter 1? first half?), ``2025`` (a year is no
evaluation period), ``2025-H1`` (a separator: written by hand, checked by hand),
``2025-13`` (no such month).

A period is a closed run of calendar months.  Every period maps to its absolute
month numbers ``first_month``/``last_month`` (``year·12 + month − 1``), which gives
containment (a half-year contains two quarters and six months), ordering and the
previous period without calendars.  Ordering (:func:`sort_key`) is chronological by
first month; a coarser period sorts before the finer ones it starts with
(``2025H1 < 2025Q1 < 2025-01 < 2025-02``), so mixed lists read top-down.

Folder names under ``data/raw/departments/`` and the ``period`` column of every
processed table hold canonical ids; everything a person reads uses
:func:`label_zh`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

__all__ = [
    "HALF_YEAR_RE",
    "GRAINS", "GRAIN_ZH", "GRAIN_ADJ_ZH", "GRAIN_MONTHS", "Period", "parse", "try_parse", "normalize",
    "normalize_half_year", "is_canonical",
    "label_zh", "sort_key", "sort_periods", "period_range", "previous", "months_of", "contains",
    "grain_of", "from_month", "covering", "EXPECTED_FORMS",
]

#: grains, finest first
GRAINS: tuple[str, ...] = ("M", "Q", "H")
GRAIN_MONTHS: dict[str, int] = {"M": 1, "Q": 3, "H": 6}
GRAIN_ZH: dict[str, str] = {"M": "月", "Q": "季度", "H": "半年"}
#: the grain as an adjective: 月度数据, 季度数据, 半年度数据
GRAIN_ADJ_ZH: dict[str, str] = {"M": "月度", "Q": "季度", "H": "半年度"}
#: what a bad label is told to look like (Chinese first)
EXPECTED_FORMS = "2025H1（半年）、2025Q1（季度）或 2025-03（月）"

_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
             "十一": 11, "十二": 12}
_Q_ZH = ("一", "二", "三", "四")

_CANON_H = re.compile(r"^(\d{4})H([12])$")
_CANON_Q = re.compile(r"^(\d{4})Q([1-4])$")
_CANON_M = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: an evaluation period as files and commands name it (``2025H1``): nothing else ever names a file
HALF_YEAR_RE = _CANON_H
_FORMS: tuple[tuple[str, re.Pattern], ...] = (
    ("H", re.compile(r"^(\d{4})\s*H\s*([12])$", re.I)),
    ("H", re.compile(r"^(\d{4})\s*年?\s*(上|下)\s*半\s*年\s*度?$")),
    ("Q", re.compile(r"^(\d{4})\s*Q\s*([1-4])$", re.I)),
    ("Q", re.compile(r"^(\d{4})\s*年\s*第?\s*([一二三四1-4])\s*季\s*度?$")),
    ("M", re.compile(r"^(\d{4})-(\d{2})$")),
    ("M", re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*份?$")),
    ("M", re.compile(r"^(\d{4})\s*年\s*(十[一二]?|[一二三四五六七八九])\s*月\s*份?$")),
)


@dataclass(frozen=True)
class Period:
    """One period: ``grain`` (``"M"``, ``"Q"``, ``"H"``), ``year`` and 1-based ``index``
    within the year (month 1–12, quarter 1–4, half 1–2)."""

    year: int
    grain: str
    index: int

    def __post_init__(self):
        if self.grain not in GRAIN_MONTHS:
            raise ValueError(f"unknown grain {self.grain!r}")
        if not 1 <= self.index <= 12 // GRAIN_MONTHS[self.grain]:
            raise ValueError(f"{self.grain} index {self.index} out of range")

    # ------------------------------------------------------------ naming
    @property
    def id(self) -> str:
        """Canonical id: ``2025H1``, ``2025Q1``, ``2025-03``."""
        if self.grain == "M":
            return f"{self.year}-{self.index:02d}"
        return f"{self.year}{self.grain}{self.index}"

    @property
    def label_zh(self) -> str:
        """As a person reads it: 2025年上半年, 2025年第一季度, 2025年3月."""
        if self.grain == "H":
            return f"{self.year}年{'上' if self.index == 1 else '下'}半年"
        if self.grain == "Q":
            return f"{self.year}年第{_Q_ZH[self.index - 1]}季度"
        return f"{self.year}年{self.index}月"

    def __str__(self) -> str:
        return self.id

    # ------------------------------------------------------------- months
    @property
    def n_months(self) -> int:
        return GRAIN_MONTHS[self.grain]

    @property
    def first_month(self) -> int:
        """Absolute month number of the first month: year·12 + month − 1."""
        return self.year * 12 + (self.index - 1) * self.n_months

    @property
    def last_month(self) -> int:
        return self.first_month + self.n_months - 1

    def months(self) -> tuple["Period", ...]:
        """The calendar months of the period, in order."""
        return tuple(from_month(m) for m in range(self.first_month, self.last_month + 1))

    def contains(self, other: "Period") -> bool:
        """True when every month of ``other`` lies in this period (a period contains itself)."""
        return self.first_month <= other.first_month and other.last_month <= self.last_month

    def overlaps(self, other: "Period") -> bool:
        return self.first_month <= other.last_month and other.first_month <= self.last_month

    def parent(self, grain: str) -> "Period":
        """The period of a grain at least as coarse that contains this one (2025-05 → 2025Q2 → 2025H1)."""
        if GRAIN_MONTHS[grain] < self.n_months:
            raise ValueError(f"{grain} is finer than {self.grain}")
        return covering(self.first_month, grain)

    def children(self, grain: str) -> tuple["Period", ...]:
        """The periods of a finer (or equal) grain that tile this one."""
        k = GRAIN_MONTHS[grain]
        if k > self.n_months:
            raise ValueError(f"{grain} is coarser than {self.grain}")
        return tuple(covering(m, grain) for m in range(self.first_month, self.last_month + 1, k))

    # ------------------------------------------------------------- order
    def shift(self, n: int) -> "Period":
        """The period ``n`` steps later (negative: earlier) of the same grain."""
        i = (self.year * (12 // self.n_months) + self.index - 1) + n
        per_year = 12 // self.n_months
        return Period(i // per_year, self.grain, i % per_year + 1)

    def previous(self) -> "Period":
        """The period before, same grain (2025H1 → 2024H2, 2025Q1 → 2024Q4, 2025-01 → 2024-12)."""
        return self.shift(-1)

    def next(self) -> "Period":
        return self.shift(1)

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: first month, then coarser before finer."""
        return (self.first_month, -self.n_months)

    def __lt__(self, other: "Period") -> bool:
        return self.key < other.key

    def __le__(self, other: "Period") -> bool:
        return self.key <= other.key

    def __gt__(self, other: "Period") -> bool:
        return self.key > other.key

    def __ge__(self, other: "Period") -> bool:
        return self.key >= other.key


def from_month(month: int) -> Period:
    """The calendar month with absolute number ``month`` (year·12 + month − 1)."""
    return Period(month // 12, "M", month % 12 + 1)


def covering(month: int, grain: str) -> Period:
    """The period of ``grain`` that contains absolute month ``month``."""
    k = GRAIN_MONTHS[grain]
    y, m0 = divmod(month, 12)
    return Period(y, grain, m0 // k + 1)


def _text(label: Any) -> str:
    if label is None:
        return ""
    s = unicodedata.normalize("NFKC", str(label)).replace("\u3000", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", s).strip()


@lru_cache(maxsize=4096)
def _parse_text(t: str) -> Period | None:
    for grain, pat in _FORMS:
        m = pat.match(t)
        if not m:
            continue
        y, x = int(m[1]), m[2]
        if grain == "H":
            i = {"上": 1, "下": 2}.get(x) or int(x)
        elif x.isdigit():
            i = int(x)
        else:
            i = _CN_DIGIT.get(x, 0)
        try:
            return Period(y, grain, i)
        except ValueError:  # 2025-13, 2025年0月
            return None
    return None


def try_parse(label: Any) -> Period | None:
    """A label in any accepted form → :class:`Period`, or ``None`` when it cannot be read
    without guessing (see the module docstring)."""
    if isinstance(label, Period):
        return label
    return _parse_text(_text(label))


def parse(label: Any, *, grains: Sequence[str] = GRAINS, what: str = "期别") -> Period:
    """Like :func:`try_parse` but a label that cannot be read, or of a grain not in
    ``grains``, raises :class:`~qlwork.errors.QlworkError` (``bad_period``)."""
    p = try_parse(label)
    if p is None or p.grain not in grains:
        from .errors import Problem, QlworkError

        allowed = "、".join(f"{GRAIN_ZH[g]}" for g in grains)
        raise QlworkError(Problem(
            "bad_period", f"{what} {label!r} 无法识别（可用粒度：{allowed}）",
            f"cannot read the period {label!r} (grains allowed: {', '.join(grains)})", found=label,
            expected=EXPECTED_FORMS if tuple(grains) == GRAINS else _expected(grains)))
    return p


def _expected(grains: Sequence[str]) -> str:
    ex = {"H": "2025H1（半年）", "Q": "2025Q1（季度）", "M": "2025-03（月）"}
    return "、".join(ex[g] for g in grains)


def normalize(label: Any) -> str | None:
    """A label → its canonical id, or ``None`` (cannot be read without guessing)."""
    p = try_parse(label)
    return p.id if p is not None else None


def normalize_half_year(label: Any) -> str | None:
    """A label → canonical half-year id, or ``None`` when it is no half-year (registers of veto
    events and bonus points, surveys: they belong to evaluation periods)."""
    p = try_parse(label)
    return p.id if p is not None and p.grain == "H" else None


def is_canonical(label: Any) -> bool:
    """True when ``label`` is already a canonical id (``2025H1``, ``2025Q1``, ``2025-03``)."""
    t = str(label) if label is not None else ""
    return bool(_CANON_H.match(t) or _CANON_Q.match(t) or _CANON_M.match(t))


def label_zh(label: Any) -> str:
    """The Chinese label of a period (2025年上半年, 2025年第一季度, 2025年3月); a label that
    is no period is returned as it is (e.g. ``当期``)."""
    p = try_parse(label)
    return p.label_zh if p is not None else ("" if label is None else str(label))


def grain_of(label: Any) -> str | None:
    p = try_parse(label)
    return p.grain if p is not None else None


def sort_key(label: Any) -> tuple:
    """Key for ``sorted`` over period labels: chronological, coarse before fine within the
    same first month; labels that are no period sort last, by their text."""
    p = try_parse(label)
    if p is None:
        return (1, 0, 0, str(label))
    return (0, p.first_month, -p.n_months, "")


def sort_periods(labels: Iterable[Any]) -> list[str]:
    """Distinct labels in chronological order (as given, not rewritten)."""
    return sorted({str(x) for x in labels}, key=sort_key)


def period_range(first: Any, last: Any) -> list[str]:
    """Every period from ``first`` to ``last`` inclusive, of their (common) grain:
    ``period_range("2024H2", "2025H2") == ["2024H2", "2025H1", "2025H2"]``."""
    a, b = parse(first), parse(last)
    if a.grain != b.grain:
        raise ValueError(f"{a.id} and {b.id} have different grains")
    out, p = [], a
    while p <= b:
        out.append(p.id)
        p = p.next()
    return out


def previous(label: Any) -> str:
    """The canonical id of the period before ``label`` (same grain)."""
    return parse(label).previous().id


def months_of(label: Any) -> list[str]:
    """Canonical ids of the months of ``label`` (2025Q1 → 2025-01, 2025-02, 2025-03)."""
    return [m.id for m in parse(label).months()]


def contains(outer: Any, inner: Any) -> bool:
    """True when every month of ``inner`` lies in ``outer``."""
    return parse(outer).contains(parse(inner))
