"""The dashboard's state: the filters, the selected unit and a version that every change bumps.

:class:`Filters` is a frozen value (评价期, 指标体系, 市州, 县市区, 乡镇, 单位类型);
:func:`apply_filters` selects the rows of an official ranking that match it, and
:func:`filter_options` gives the choices of each dropdown under the filters above
it (市州 → 县市区 → 乡镇 cascade).  :class:`ViewState` holds the current filters
and selected unit; each change increments ``version``, and a tab whose last render
is older than ``version`` is stale and re-renders when shown (the visible tab
re-renders at once) — so no view ever shows content of an earlier selection.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ALL", "Filters", "ViewState", "apply_filters", "filter_options", "valid_filters", "sort_rows", "REGION_LEVELS"]

ALL = "全部"
#: region filters from the top down (a change resets the ones below it)
REGION_LEVELS = ("city", "county", "township")


@dataclass(frozen=True)
class Filters:
    period: str
    framework: str
    city: str = ALL
    county: str = ALL
    township: str = ALL
    unit_type: str = ALL

    def with_(self, **kw) -> "Filters":
        """A copy with ``kw`` changed; changing a region level resets the levels below it."""
        for i, lev in enumerate(REGION_LEVELS):
            if lev in kw and kw[lev] != getattr(self, lev):
                for lower in REGION_LEVELS[i + 1:]:
                    kw.setdefault(lower, ALL)
        return replace(self, **kw)

    def changed(self, other: "Filters") -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}

    def region(self) -> list[str]:
        """The chosen region levels, top down (e.g. ["宁溪县", "金平镇"])."""
        return [getattr(self, lev) for lev in REGION_LEVELS if getattr(self, lev) not in (ALL, "", None)]

    def scope_label(self) -> str:
        parts = self.region() + ([self.unit_type] if self.unit_type not in (ALL, "", None) else [])
        return "·".join(parts) or "全部单位"

    def is_all(self) -> bool:
        return not self.region() and self.unit_type in (ALL, "", None)


def apply_filters(frame: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Rows of an official ranking (one framework) inside the filters' region and unit type."""
    m = np.ones(len(frame), dtype=bool)
    for col in (*REGION_LEVELS, "unit_type"):
        v = getattr(f, col)
        if v not in (ALL, "", None) and col in frame.columns:
            m &= (frame[col].astype(str) == str(v)).to_numpy()
    return frame[m]


def _choices(s: pd.Series, order: list[str] | None = None) -> list[str]:
    vals = [str(v) for v in s.dropna().unique() if str(v).strip()]
    if order:
        first = [v for v in order if v in vals]
        return first + sorted(set(vals) - set(first))
    return sorted(vals)


def filter_options(frame: pd.DataFrame, f: Filters, unit_types: list[str] | None = None) -> dict[str, list[str]]:
    """The choices of each filter (with :data:`ALL` first) under the filters above it."""
    out: dict[str, list[str]] = {}
    sub = frame
    for lev in REGION_LEVELS:
        out[lev] = [ALL] + (_choices(sub[lev]) if lev in sub.columns else [])
        v = getattr(f, lev)
        if v not in (ALL, "", None) and lev in sub.columns:
            sub = sub[sub[lev].astype(str) == v]
    out["unit_type"] = [ALL] + (_choices(sub["unit_type"], unit_types) if "unit_type" in sub.columns else [])
    return out


def valid_filters(frame: pd.DataFrame, f: Filters, unit_types: list[str] | None = None) -> tuple[Filters, dict]:
    """``f`` with every choice that does not exist under the choices above it reset to :data:`ALL`
    (e.g. after a change of framework or period), and the options of each filter."""
    for _ in range(len(REGION_LEVELS) + 1):
        opts = filter_options(frame, f, unit_types)
        bad = {k: ALL for k, v in opts.items() if getattr(f, k) not in v}
        if not bad:
            return f, opts
        first = next(k for k in (*REGION_LEVELS, "unit_type") if k in bad)
        f = f.with_(**{first: ALL})
    return f, filter_options(frame, f, unit_types)


def sort_rows(frame: pd.DataFrame, by: str = "total", ascending: bool = False) -> pd.DataFrame:
    """Stable sort with unit_id as the tie-break (pages are deterministic); missing values last."""
    if by not in frame.columns:
        by = "total"
    key = frame[by]
    if by == "unit_name":
        key = key.astype(str)
    else:
        key = pd.to_numeric(key, errors="coerce")
    return (frame.assign(_k=key.to_numpy()).sort_values(["_k", "unit_id"], ascending=[ascending, True],
                                                        na_position="last", kind="mergesort").drop(columns="_k"))


@dataclass
class ViewState:
    """Current filters and selected unit; ``version`` counts filter changes, ``unit_version``
    changes of the selected unit (see the module doc)."""

    filters: Filters
    unit_id: str | None = None
    version: int = 0
    unit_version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # room for later tabs' shared choices

    def set_filters(self, new: Filters) -> set[str]:
        changed = new.changed(self.filters)
        if changed:
            self.filters = new
            self.version += 1
        return changed

    def select_unit(self, unit_id: str | None) -> bool:
        unit_id = None if not unit_id else str(unit_id)
        if unit_id == self.unit_id:
            return False
        self.unit_id = unit_id
        self.unit_version += 1
        return True

    def stamp(self, uses_unit: bool = False) -> tuple:
        """What a view's content depends on: the filters' version (and the unit's, for unit views)."""
        return (self.version, self.unit_version if uses_unit else None)
