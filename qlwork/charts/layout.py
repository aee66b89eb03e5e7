"""Layout helpers shared by every chart: label wrapping, input checks, legends, titles,
point labels that never overlap, and the atomic PNG/SVG export.

Nothing here chooses a colour or draws data; the chart modules (ranking, profiles,
indicators, regions, survey, sensitivity) do, with the colours of :mod:`.style`.
"""
from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import Problem, QlworkError
from ..io.safe import atomic_path, safe_filename
from .fonts import font_rc

__all__ = ["display_width", "wrap_label", "save_figure", "new_figure", "check_columns", "legend_below",
           "finish", "place_point_labels", "signed"]


# ------------------------------------------------------------------ wrapping
def display_width(text: str) -> float:
    """Width in full-width character units: CJK/full-width = 1, others = 0.5."""
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.5 for c in text)


_TOKEN = re.compile(r"[A-Za-z0-9_.%‰+\-]+|\s+|.", re.S)
_NO_LINE_START = set("，。、：；！？）》」』】%‰,.;:!?)")


def _split_long(tokens: list[str], width: float) -> list[str]:
    """Break Latin/digit runs wider than a line into line-sized pieces (like ``break_long_words``)."""
    out: list[str] = []
    for tok in tokens:
        if len(tok) > 1 and display_width(tok) > width:
            piece = ""
            for ch in tok:
                if piece and display_width(piece + ch) > width:
                    out.append(piece)
                    piece = ""
                piece += ch
            if piece:
                out.append(piece)
        else:
            out.append(tok)
    return out


def _greedy(tokens: list[str], width: float) -> list[str]:
    lines: list[str] = []
    cur = ""
    for tok in _split_long(tokens, width):
        if tok.isspace():
            if cur:
                cur += " "
            continue
        w = display_width(cur + tok)
        protected = tok[0] in _NO_LINE_START or cur[-1:] in ("（", "(", "《", "“")
        # Typographic rules may stretch a line by one character, never more.
        if cur and w > width and (not protected or w > width + 1):
            lines.append(cur.rstrip())
            cur = tok
        else:
            cur += tok
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def wrap_label(text: object, width: float = 10, max_lines: int | None = None) -> str:
    """Wrap a (Chinese) label to lines of at most ``width`` full-width characters.

    ``textwrap`` splits only at spaces, which Chinese text lacks; here each CJK
    character is a break opportunity, runs of Latin letters/digits stay whole
    (unless wider than a line), closing punctuation never starts a line and an opening bracket never ends
    one.  Lines are balanced (the fewest lines greedy wrapping needs, made as
    even as possible, so no lone character dangles on the last line), and a
    parenthetical "（…）" starts its own line when that costs no extra line.
    With ``max_lines`` the last line ends in "…" when text is cut.
    """
    s = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    if display_width(s) <= width:
        return s
    tokens = _TOKEN.findall(s)
    lines = _greedy(tokens, width)
    n = len(lines)
    cut = s.find("（")
    if n == 2 and cut > 0 and display_width(s[:cut]) <= width and display_width(s[cut:]) <= width:
        lines = [s[:cut].rstrip(), s[cut:]]
    else:
        # Balance: the narrowest width that still needs only n lines.
        target = display_width(s) / n
        w = math.ceil(target * 2) / 2
        while w < width:
            trial = _greedy(tokens, w)
            if len(trial) <= n:
                lines = trial
                break
            w += 0.5
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and display_width(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return "\n".join(lines)


def _wrap_all(labels: Iterable, width: float, max_lines: int | None = 2) -> tuple[list[str], int]:
    out = [wrap_label(x, width, max_lines) for x in labels]
    return out, max((o.count("\n") + 1 for o in out), default=1)


# ------------------------------------------------------------------- helpers
def _check(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise QlworkError(Problem("bad_plot_input", f"{what}：输入应为 DataFrame，收到 {type(df).__name__}",
                                  f"{what}: expected a DataFrame", found=type(df).__name__))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise QlworkError(Problem(
            "missing_columns", f"{what}：缺少列 {missing}", f"{what}: missing columns {missing}",
            found=list(map(str, df.columns)), expected=list(cols)))
    if len(df) == 0:
        raise QlworkError(Problem("empty_plot_input", f"{what}：没有数据行", f"{what}: no rows"))


def _new(ax, size) -> tuple[Figure, mpl.axes.Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _legend_below(fig: Figure, ax, handles=None, **kw) -> None:
    """Legend under the axes, outside it (constrained layout makes room; never overlaps)."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if ax is fig.axes[0] and len(fig.axes) == 1:
        fig.legend(handles=handles, loc="outside lower center", **kw)
    else:  # drawing into a caller's axes: keep the legend with that axes
        ax.legend(handles=handles, loc="best", **kw)


def _wrap_title(fig: Figure, title: str, share: float = 0.72) -> str:
    """Wrap a left-aligned axes title to about ``share`` of the figure width.

    Titles start at the axes' left edge (after the tick labels), so only part of
    the figure width is available; constrained layout does not wrap text.
    """
    fs = mpl.font_manager.FontProperties(size=mpl.rcParams["axes.titlesize"]).get_size_in_points()
    chars = max(8.0, math.floor(fig.get_figwidth() * 72 * share / fs))
    return "\n".join(wrap_label(line, chars) for line in str(title).split("\n"))


def _finish(fig: Figure, ax, title: str | None, xlabel: str | None, ylabel: str | None,
            note: str | None = None) -> Figure:
    if title:
        ax.set_title(_wrap_title(fig, title))
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if note and fig.legends:
        # a legend below the axes takes the place of a bottom note: the note becomes its title
        lg = fig.legends[0]
        old = lg.get_title().get_text()
        lg.set_title(f"{old}\n{note}" if old else note, prop={"size": mpl.rcParams["font.size"] * 0.8})
        lg.get_title().set_color("#555555")
    elif note:
        # supxlabel is part of the constrained layout, so the note never overlaps the axis label.
        fig.supxlabel(note, x=0.01, ha="left", fontsize=mpl.rcParams["font.size"] * 0.8, color="#555555")
    return fig


# -------------------------------------------------------------- export
def _safe(value: object) -> str:
    # one rule for names (qlwork.io.safe): no separators, "..", control characters or device names
    return safe_filename(value, hashed=False)


def save_figure(fig: Figure, path_pattern: str | Path, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 300, svg_text: bool = True, **fields) -> list[Path]:
    """Write ``fig`` once per format, atomically, and return the paths written.

    ``path_pattern`` is a ``str.format`` pattern without extension, e.g.
    ``"out/{period}/排行榜_{unit_type}"``; ``fields`` fill it (values are made
    file-name safe: slashes, colons and spaces become ``_``).  If the pattern
    contains ``{ext}`` it is used for the extension, otherwise ``.<format>`` is
    appended.  PNG at ``dpi`` (300 for print); SVG keeps text as text
    (``svg.fonttype = none``) so Chinese stays searchable and editable — the
    viewer then needs a Chinese font; ``svg_text=False`` writes glyph outlines
    instead (looks identical everywhere, not editable).
    Metadata dates are dropped so the same figure gives the same bytes.
    """
    pattern = str(path_pattern)
    try:
        base = pattern.format(**{k: _safe(v) for k, v in fields.items()}, ext="{ext}")
    except KeyError as e:
        raise QlworkError(Problem("bad_pattern", f"文件名模式缺少字段 {e}", f"file-name pattern field {e} not given",
                                  found=pattern, expected=f"save_figure(..., {e.args[0]}=...)")) from None
    out = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        target = Path(base.replace("{ext}", fmt) if "{ext}" in base else f"{base}.{fmt}")
        meta = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None}}.get(fmt)
        # A fixed hash salt makes SVG element ids, hence the bytes, reproducible.
        rc = {**font_rc(), "svg.hashsalt": "qlwork", "svg.fonttype": "none" if svg_text else "path"}
        with mpl.rc_context(rc), atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
        out.append(target)
    return out


def _place_point_labels(fig: Figure, ax, xs, ys, texts, max_labels: int, *, avoid=None, avoid_bars=None,
                        **kw) -> int:
    """Label points without overlaps: try positions around each point, skip what cannot fit.

    Lays the figure out once (constrained layout fixes the axes) and measures each
    label with the renderer.  A label is kept only where it stays inside the axes and
    overlaps no earlier label, no marker of the points given in ``avoid`` (x, y arrays
    in data units; default: the labelled points themselves) and no vertical bar in
    ``avoid_bars`` (x, y_low, y_high arrays, e.g. error bars).  Positions are tried
    close to the point first, then further out with a thin leader line.  Returns the
    number placed.
    """
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else fig._get_renderer()
    box_ax = ax.get_window_extent(r)
    fs = mpl.rcParams["xtick.labelsize"] * 0.85
    placed: list = [t.get_window_extent(r) for t in ax.texts if t.get_visible() and t.get_text().strip()]
    to_px = ax.transData.transform
    ax_pts = np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]) if avoid is None else \
        np.column_stack([np.asarray(avoid[0], float), np.asarray(avoid[1], float)])
    ax_pts = ax_pts[np.isfinite(ax_pts).all(axis=1)]
    pts = to_px(ax_pts) if len(ax_pts) else np.empty((0, 2))
    bars = np.empty((0, 3))
    if avoid_bars is not None:
        bx, blo, bhi = (np.asarray(a, float) for a in avoid_bars)
        ok = np.isfinite(bx) & np.isfinite(blo) & np.isfinite(bhi)
        if ok.any():
            lo = to_px(np.column_stack([bx[ok], blo[ok]]))
            hi = to_px(np.column_stack([bx[ok], bhi[ok]]))
            bars = np.column_stack([lo[:, 0], np.minimum(lo[:, 1], hi[:, 1]), np.maximum(lo[:, 1], hi[:, 1])])
    pad = 3.0  # marker half-size in pixels

    def free(b) -> bool:
        if b.x0 < box_ax.x0 or b.x1 > box_ax.x1 or b.y0 < box_ax.y0 or b.y1 > box_ax.y1:
            return False
        if any(b.overlaps(p) for p in placed):
            return False
        if len(pts) and np.any((pts[:, 0] + pad > b.x0) & (pts[:, 0] - pad < b.x1)
                               & (pts[:, 1] + pad > b.y0) & (pts[:, 1] - pad < b.y1)):
            return False
        if len(bars) and np.any((bars[:, 0] + 1 > b.x0) & (bars[:, 0] - 1 < b.x1)
                                & (bars[:, 2] > b.y0) & (bars[:, 1] < b.y1)):
            return False
        return True

    dirs = ((1, 1, "left", "bottom"), (1, -1, "left", "top"), (-1, 1, "right", "bottom"), (-1, -1, "right", "top"),
            (1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"), (0, -1, "center", "top"))
    n = 0
    for xv, yv, t in zip(xs, ys, texts):
        if n >= max_labels:
            break
        for dist in (4, 12, 22, 34):
            done = False
            for sx, sy, ha, va in dirs:
                far = dist > 4
                arrow = dict(arrowprops=dict(arrowstyle="-", lw=0.5, color=kw.get("color", "#555555"),
                                             shrinkA=0, shrinkB=2)) if far else {}
                a = ax.annotate(t, (xv, yv), xytext=(sx * dist, sy * dist * 0.8), textcoords="offset points",
                                ha=ha, va=va, fontsize=fs, **arrow, **kw)
                a.update_positions(r)
                b = mpl.text.Text.get_window_extent(a, r)  # the text only, without the leader line
                if free(b):
                    placed.append(b)
                    n += 1
                    done = True
                    break
                a.remove()
            if done:
                break
    return n


def _num(v: float, digits: int = 1) -> str:
    """Signed number with a true minus sign (U+2212), as typeset in reports."""
    return f"{v:+.{digits}f}".replace("-", "−")




# public names for the chart modules (the underscored ones stay for old callers)
check_columns = _check
new_figure = _new
legend_below = _legend_below
finish = _finish
place_point_labels = _place_point_labels
signed = _num
