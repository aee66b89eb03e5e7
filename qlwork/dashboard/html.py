"""Small HTML pieces every tab of the review dashboard uses.

Pure functions returning strings (no widgets, no pandas-heavy work), so a tab's
content can be checked without a browser.  Grade colours, column labels, warning
names and period labels come from :mod:`qlwork.labels` only; scores are printed
as the official result publishes them (``total`` with 2 decimals).
"""
from __future__ import annotations

import html as _html
import math
import re
from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import QlworkError
from ..labels import VETO_COLOR, WARNING_SHORT, grade_color, period_label

__all__ = ["esc", "fmt", "fmt_int", "is_missing", "info_html", "error_html", "grade_badge", "warning_badges",
           "change_html", "text_colour", "table_html", "scope_css", "period_label", "ERROR_CLASS",
           "TABLE_CSS", "view_head", "td", "warning_codes", "relative_path"]

ERROR_CLASS = "qlwork-error"


def esc(v: Any) -> str:
    return _html.escape("" if v is None else str(v), quote=True)


def is_missing(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    return isinstance(v, float) and math.isnan(v)


def fmt(v: Any, nd: int = 1) -> str:
    """A number with ``nd`` decimals, "—" when missing."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(f) else f"{f:.{nd}f}"


def fmt_int(v: Any) -> str:
    """A rank or count as a whole number ("—" when missing): 9.0 → "9"."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(f) else str(int(round(f)))


def info_html(text: str, cls: str = "qlw-info") -> str:
    """A neutral hint box (``text`` is HTML: escape what you put in)."""
    return (f'<div class="{cls}" style="border:1px solid #bcd;background:#f3f7fb;color:#245;'
            f'padding:8px 12px;border-radius:4px;margin:4px 0;box-sizing:border-box;max-width:100%">{text}</div>')


def relative_path(path: Any) -> str:
    """A file as a person should read it on the page: relative to the project (``data/…``),
    never the folders of the server."""
    s = str(path or "").replace("\\", "/")
    if "/data/" in s:
        return "data/" + s.split("/data/", 1)[1]
    return s.rsplit("/", 1)[-1] if s.startswith("/") or re.match(r"^[A-Za-z]:/", s) else s


def error_html(exc: BaseException | str, *, context: str = "") -> str:
    """A readable Chinese alert for an exception (no traceback; located problems listed)."""
    if isinstance(exc, QlworkError):
        body = "<br>".join(esc(replace(p, file=relative_path(p.file)) if p.file else p) for p in exc.problems)
    elif isinstance(exc, BaseException):
        body = esc(f"{type(exc).__name__}: {exc}")
    else:
        body = esc(exc)
    title = "操作未完成" + (f"（{esc(context)}）" if context else "")
    return (f'<div class="{ERROR_CLASS}" style="border:1px solid #d9534f;background:#fdf0ef;'
            f'color:#a94442;padding:8px 12px;border-radius:4px;margin:4px 0;box-sizing:border-box;max-width:100%">'
            f"<b>{title}</b><br>{body}<br><small>请检查所选条件或数据后重试；如问题持续，请联系数据管理员。"
            f" The action failed; details above.</small></div>")


def text_colour(bg: str) -> str:
    """Black or white text, whichever reads better on ``bg`` (#rrggbb)."""
    try:
        r, g, b = (int(bg[i:i + 2], 16) for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#000"
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def grade_badge(grade: Any, grades: Sequence[str], *, vetoed: bool = False) -> str:
    """The grade on its colour (qlwork.labels.grade_color: keyed on the grade; vetoed units purple)."""
    if is_missing(grade) or str(grade) == "":
        return '<span class="qlw-grade" data-v="">—</span>'
    bg = grade_color(str(grade), list(grades), vetoed=vetoed)
    title = ' title="一票否决"' if vetoed else ""
    return (f'<span class="qlw-grade" data-v="{esc(grade)}"{title} style="background:{bg};color:{text_colour(bg)};'
            f'padding:1px 6px;border-radius:3px;white-space:nowrap">{esc(grade)}</span>')


def warning_codes(text: Any) -> list[str]:
    """Warning codes of a ranking row (codes joined by ';' in the official result)."""
    if is_missing(text) or not str(text).strip():
        return []
    return [c.strip() for c in re.split(r"[;；,]", str(text)) if c.strip()]


def warning_badges(text: Any) -> str:
    """One badge per warning code (short names from qlwork.labels.WARNING_SHORT)."""
    out = []
    for code in warning_codes(text):
        colour = (VETO_COLOR, "#fff", VETO_COLOR) if code == "veto" else ("#fff3cd", "#8a5300", "#f0c36d")
        out.append(f'<span class="qlw-warn" data-code="{esc(code)}" style="background:{colour[0]};color:{colour[1]};'
                   f'border:1px solid {colour[2]};padding:0 4px;border-radius:3px;white-space:nowrap;'
                   f'font-size:12px;display:inline-block;margin:1px 2px 1px 0">{esc(WARNING_SHORT.get(code, code))}</span>')
    return "".join(out)


def change_html(v: Any, nd: int = 2) -> str:
    """Change against the previous period, signed, coloured (green up, red down)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(f):
        return "—"
    if f > 0:
        return f'<span style="color:#1a7f37">▲{f:.{nd}f}</span>'
    if f < 0:
        return f'<span style="color:#c62828">▼{-f:.{nd}f}</span>'
    return f'<span style="color:#666">{0:.{nd}f}</span>'


TABLE_CSS = """<style>
.qlw-table{border-collapse:collapse;font-size:13px;line-height:1.35}
.qlw-table th{background:#f2f4f7;padding:4px 5px;border-bottom:2px solid #ccd;text-align:center;
  white-space:normal;word-break:keep-all;vertical-align:bottom;font-weight:600}
.qlw-table td{padding:3px 5px;border-bottom:1px solid #eee;white-space:nowrap;text-align:right}
.qlw-table td.t{text-align:left}
.qlw-table td.c{text-align:center}
.qlw-table td.name{max-width:16em;overflow:hidden;text-overflow:ellipsis}
.qlw-table td.warn{white-space:normal;min-width:6em;text-align:left}
.qlw-table.qlw-wrap td{white-space:normal;vertical-align:top}
.qlw-table tr.qlw-changed td{background:#fff7d6}
.qlw-table tr:hover td{background:#eef5ff}
.qlw-table small{color:#777}
.qlw-head{font-size:15px;font-weight:600;margin:4px 0 2px 0;color:#1f2937}
.qlw-sub{color:#555;margin:2px 0 6px 0}
.qlw-sentences li{margin:2px 0}
.qlw-cols{columns:2 26em;column-gap:28px}
</style>"""


def td(content: Any, cls: str = "", attrs: str = "") -> str:
    """One cell; ``content`` is HTML (escape text with :func:`esc` first)."""
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}{attrs}>{content}</td>"


def table_html(columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Any]], *, cls: str = "",
               attrs: str = "") -> str:
    """A plain table: ``columns`` = (key, header text); each row maps key → one ``<td>`` (see :func:`td`)
    and may carry ``_attrs`` (attributes of its ``<tr>``).  One header row, never a blank one."""
    head = "".join(f'<th data-col="{esc(k)}">{esc(h)}</th>' for k, h in columns)
    body = []
    for r in rows:
        cells = "".join(r.get(k, "<td></td>") for k, _ in columns)
        body.append(f"<tr{r.get('_attrs', '')}>{cells}</tr>")
    return f'<table class="qlw-table {cls}" {attrs}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def frame_html(frame: pd.DataFrame, *, max_rows: int = 50, cls: str = "", nd: int = 1) -> str:
    """A labelled DataFrame (Chinese headers already, e.g. from :func:`qlwork.labels.label_columns`) as a
    table: text escaped, numbers with ``nd`` decimals (whole numbers without), blanks for missing
    values; at most ``max_rows`` rows with a line saying how many were left out."""
    if frame is None or not len(frame.columns):
        return ""
    cols = [(f"c{i}", str(c)) for i, c in enumerate(frame.columns)]
    rows = []
    for rec in frame.head(max_rows).itertuples(index=False):
        row = {}
        for (key, _), v in zip(cols, rec):
            if is_missing(v):
                row[key] = td("")
            elif isinstance(v, (bool, np.bool_)):
                row[key] = td("是" if v else "否", "t")
            elif isinstance(v, (int, np.integer)):
                row[key] = td(str(int(v)))
            elif isinstance(v, (float, np.floating)):
                row[key] = td(str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else fmt(v, nd))
            else:
                text = str(v).replace("T00:00:00", "")
                # ids, dates and grades stay on one line; long text takes the squeeze
                row[key] = td(esc(text), "t nw" if len(text) <= 12 else "t")
        rows.append(row)
    more = (f"<div style='color:#777'>共 {len(frame)} 行，仅列出前 {max_rows} 行。</div>"
            if len(frame) > max_rows else "")
    return table_html(cols, rows, cls=cls) + more


def view_head(title: str, sub: str = "", *, view: str, version: int, n_units: int | None = None,
              extra_attrs: Mapping[str, Any] | None = None) -> str:
    """The heading of a view: what it shows and for which selection.

    The ``qlw-view`` element carries ``data-view``, ``data-version`` (bumped by every
    re-render: a browser test waits for it) and ``data-n-units`` (the units in scope)."""
    attrs = f' data-view="{esc(view)}" data-version="{int(version)}"'
    if n_units is not None:
        attrs += f' data-n-units="{int(n_units)}"'
    for k, v in (extra_attrs or {}).items():
        attrs += f' data-{esc(k)}="{esc(v)}"'
    return (f'<div class="qlw-view"{attrs}><div class="qlw-head">{title}</div>'
            + (f'<div class="qlw-sub">{sub}</div>' if sub else "") + "</div>")


# ------------------------------------------------------------------ scoped CSS
_RULE = re.compile(r"\s*([^{}]+?)\s*\{([^{}]*)\}", re.S)


def _blocks(css: str) -> list[tuple[str, str]]:
    """Top-level (prelude, body) pairs of a style sheet; nested bodies kept as text."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out, i, n = [], 0, len(css)
    while i < n:
        j = css.find("{", i)
        if j < 0:
            break
        depth, k = 1, j + 1
        while k < n and depth:
            depth += {"{": 1, "}": -1}.get(css[k], 0)
            k += 1
        out.append((css[i:j].strip(), css[j + 1:k - 1]))
        i = k
    return out


def _scope_selector(sel: str, root: str) -> str:
    parts = []
    for s in sel.split(","):
        s = s.strip()
        if not s:
            continue
        if s in ("html", "body"):
            parts.append(root)
        elif s == "*":
            parts.append(f"{root}, {root} *")
        else:
            parts.append(f"{root} {s}")
    return ", ".join(dict.fromkeys(parts))


def scope_css(css: str, root: str, *, media: str = "screen") -> str:
    """A style sheet confined to the element ``root`` (e.g. ``.qlw-report``).

    Every selector is prefixed with ``root`` (``html``/``body`` become ``root`` itself),
    ``@page`` is dropped, and ``@media`` blocks are kept only for ``media`` (unwrapped)
    — so the printed 体检报告单's CSS can style its partial inside the dashboard page
    without touching the rest of it."""
    out = []
    for prelude, body in _blocks(css):
        if prelude.startswith("@page"):
            continue
        if prelude.startswith("@media"):
            if media in prelude:
                out.append(scope_css(body, root, media=media))
            continue
        if prelude.startswith("@"):
            continue
        out.append(f"{_scope_selector(prelude, root)} {{{body.strip()}}}")
    return "\n".join(out)
