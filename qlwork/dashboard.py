"""Building blocks of the review dashboard (评审看板, ``dashboards/review.ipynb``).

The notebook stays thin: it calls :func:`build_review_dashboard` and displays
``.widget``.  Data come from the processed Parquet store (fast to open), with
``data/raw/units.xlsx`` as a fallback before ingestion has run.  Every widget
callback is wrapped by :func:`guarded`, so an error shows as a readable
Chinese message inside the page instead of failing silently.
"""
from __future__ import annotations

import functools
import html
import traceback
from pathlib import Path

import pandas as pd

from .errors import QlworkError
from .paths import processed_dir, project_root, raw_dir

__all__ = ["load_units_table", "unit_counts", "error_html", "guarded", "build_review_dashboard"]

ERROR_CLASS = "qlwork-error"


def error_html(exc: BaseException | str, *, context: str = "") -> str:
    """A readable Chinese alert for an exception (no traceback)."""
    if isinstance(exc, QlworkError):
        body = "<br>".join(html.escape(str(p)) for p in exc.problems)
    elif isinstance(exc, BaseException):
        body = html.escape(f"{type(exc).__name__}: {exc}")
    else:
        body = html.escape(str(exc))
    title = "操作未完成" + (f"（{html.escape(context)}）" if context else "")
    return (f'<div class="{ERROR_CLASS}" style="border:1px solid #d9534f;background:#fdf0ef;'
            f'color:#a94442;padding:8px 12px;border-radius:4px;margin:4px 0">'
            f"<b>{title}</b><br>{body}<br><small>请检查所选条件或数据后重试；如问题持续，请联系数据管理员。"
            f" The action failed; details above.</small></div>")


def guarded(target, context: str = ""):
    """Decorator: run a widget callback, showing any error in ``target``.

    ``target`` is an ``ipywidgets.HTML`` (or a callable returning one) whose
    value becomes the error alert; it is cleared when the callback succeeds.
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            box = target() if callable(target) else target
            try:
                out = fn(*a, **k)
            except Exception as e:  # noqa: BLE001 — shown to the user, never swallowed
                box.value = error_html(e, context=context)
                traceback.print_exc()  # lands in the server log, not the page
                return None
            box.value = ""
            return out
        return wrapper
    return deco


def load_units_table(root: str | Path | None = None) -> pd.DataFrame:
    """The unit registry: ``data/processed/units.parquet`` or, before
    ingestion, ``data/raw/units.xlsx`` (sheet 单位名录)."""
    root = Path(root) if root else project_root()
    p = processed_dir(root) / "units.parquet"
    if p.is_file():
        return pd.read_parquet(p)
    x = raw_dir(root) / "units.xlsx"
    if x.is_file():
        df = pd.read_excel(x, sheet_name="单位名录")
        ren = {"单位编码": "unit_id", "单位名称": "unit_name", "单位类型": "unit_type", "市州": "city",
               "县市区": "county", "乡镇(街道)": "township", "框架": "framework",
               "在编人数": "staff", "服务人口": "population"}
        df = df.rename(columns={c: v for c, v in ren.items() if c in df.columns})
        return df
    raise QlworkError("尚无数据：请先运行 `qlwork demo --out data/raw` 和 `qlwork ingest`",
                      "no data yet: run qlwork demo and qlwork ingest first")


def unit_counts(units: pd.DataFrame) -> pd.DataFrame:
    """Unit counts by 市州/县市区 × 单位类型 with totals."""
    t = pd.crosstab([units["city"].rename("市州"), units["county"].rename("县市区")],
                    units["unit_type"].rename("单位类型"), margins=True, margins_name="合计")
    return t


def build_review_dashboard(root: str | Path | None = None):
    """Build the dashboard; returns an object with ``.widget`` to display."""
    import ipywidgets as w

    class _Placeholder:
        def __init__(self):
            self.error = w.HTML().add_class("qlw-errors")
            title = w.HTML("<h2>清廉指数评审看板</h2>")
            try:
                units = load_units_table(root)
                counts = unit_counts(units)
                body = w.HTML(f"<h3>单位数量（市州/县市区 × 单位类型）</h3>"
                              + counts.to_html(classes="qlw-counts", border=0))
            except Exception as e:  # noqa: BLE001
                body = w.HTML()
                self.error.value = error_html(e, context="读取单位名录")
            self.widget = w.VBox([title, self.error, body]).add_class("qlw-ready")

    return _Placeholder()
