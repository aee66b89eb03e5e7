"""House style and every chart of the workbench (Chinese labels, A4 sizes).

All chart functions take tidy DataFrames with documented columns, never
mutate them, and return a :class:`matplotlib.figure.Figure` (pass ``ax=`` to
draw into an existing axes; the axes' figure is returned).  Titles and axis
labels are Chinese and say what is measured.  The CJK font is located by
:mod:`qlwork.charts.fonts`; every chart is drawn inside :func:`style_context`, so it
shows Chinese even if the caller never called :func:`apply_style` (which
importing this module does once, as DESIGN.md asks).

Colours are constants shared with the dashboard and the reports:
:data:`GRADE_COLORS` (优秀/良好/合格/不合格, a colour-blind-safe RdBu
diverging set: blue good, red bad), :data:`SCORE_CMAP` for scores 0–100 in
heat maps (same direction), :data:`CORR_CMAP` for correlations.

Sizes: :data:`FULL_WIDTH` / :data:`HALF_WIDTH` (inches) fit an A4 page with
25 mm margins (160 mm text width); heights grow with the number of rows so
that 40 units never overlap.  :func:`save_figure` writes PNG (300 dpi) and SVG
atomically with file names from a pattern.
"""
from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd

import matplotlib.pyplot as plt  # noqa: E402  (type hints only; figures are built without pyplot)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..io.safe import atomic_path, safe_filename  # noqa: E402
from ..errors import Problem, QlworkError  # noqa: E402
from .fonts import apply_style as _apply_fonts_style  # noqa: E402
from .fonts import cjk_font_family, font_rc  # noqa: E402

__all__ = [
    "GRADE_ORDER", "GRADE_COLORS", "GRADE_PALETTE", "SCORE_CMAP", "CORR_CMAP",
    "PASS_LINE_COLOR", "UNIT_COLOR", "PEER_COLOR", "SERIES_PALETTE",
    "MM", "A4_TEXT_WIDTH_MM", "FULL_WIDTH", "HALF_WIDTH", "ROW_HEIGHT",
    "apply_style", "style_context", "house_rc", "figsize", "wrap_label", "display_width",
    "save_figure", "grade_color", "unit_vs_peers",
    "ranking_bar", "profile_radar", "profile_dots", "region_heatmap", "trend_lines",
    "distribution_plot", "correlation_heatmap", "rank_interval_plot",
    "grade_probability_plot", "agreement_scatter", "bland_altman_plot", "weights_comparison",
]

# ----------------------------------------------------------------- constants
#: Grade labels, best first (same as qlwork.framework.DEFAULT_GRADES).
GRADE_ORDER: tuple[str, ...] = ("优秀", "良好", "合格", "不合格")
#: One colour per grade for every chart, dashboard and report (ColorBrewer RdBu,
#: colour-blind safe; blue = good, red = bad).
GRADE_COLORS: dict[str, str] = {
    "优秀": "#2166AC",
    "良好": "#67A9CF",
    "合格": "#F4A582",
    "不合格": "#B2182B",
}
GRADE_PALETTE: list[str] = [GRADE_COLORS[g] for g in GRADE_ORDER]
#: Colour for a grade not in GRADE_COLORS (e.g. custom bands, 无等级).
OTHER_GRADE_COLOR = "#9E9E9E"
#: Scores 0–100 in heat maps: red low … blue high, matching GRADE_COLORS.
SCORE_CMAP = "RdYlBu"
#: Correlations −1…1 (diverging, centred on 0).
CORR_CMAP = "RdBu_r"
PASS_LINE_COLOR = "#B2182B"
UNIT_COLOR = "#2166AC"
PEER_COLOR = "#8C8C8C"
STRONG_COLOR = "#1B7837"
WEAK_COLOR = "#B2182B"
#: Categorical series (nodes, unit types): seaborn "colorblind" without its pale pink and
#: yellow, which are unreadable as text on white.
SERIES_PALETTE: list[str] = ["#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC",
                             "#CA9161", "#56B4E9", "#7F3C8D", "#949494", "#3969AC"]

MM = 1 / 25.4
#: A4 (210 mm) minus 25 mm margins each side.
A4_TEXT_WIDTH_MM = 160.0
FULL_WIDTH = A4_TEXT_WIDTH_MM * MM          # ≈ 6.30 in
HALF_WIDTH = (A4_TEXT_WIDTH_MM - 6) / 2 * MM  # two side by side with a 6 mm gutter
#: Height per bar/row (inches) for a one-line tick label at the house font size.
ROW_HEIGHT = 0.19
_LINE_EXTRA = 0.13  # per additional wrapped line

_FONT_SCALE = 1.0


# --------------------------------------------------------------------- style
def house_rc(font_scale: float = _FONT_SCALE) -> dict:
    """The complete rcParams of the house style (seaborn whitegrid/paper + CJK font)."""
    import seaborn as sns

    rc: dict = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=font_scale))
    rc.update(font_rc())
    rc.update({
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "axes.titleweight": "bold",
        "axes.titlesize": rc["axes.titlesize"] * 1.1,
        "axes.titlelocation": "left",
        "figure.constrained_layout.use": True,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return rc


def apply_style(font_scale: float = _FONT_SCALE) -> str:
    """Apply the house style globally (seaborn theme, then CJK font); returns the family."""
    _apply_fonts_style(context="paper", font_scale=font_scale)
    mpl.rcParams.update(house_rc(font_scale))
    return cjk_font_family()


@contextlib.contextmanager
def style_context(font_scale: float = _FONT_SCALE) -> Iterator[None]:
    """Temporarily use the house style (every chart function draws inside one)."""
    with mpl.rc_context(house_rc(font_scale)):
        yield


apply_style()


def figsize(width: str | float = "full", rows: int | None = None, *, aspect: float = 0.62,
            max_lines: int = 1, extra: float = 0.9) -> tuple[float, float]:
    """Figure size in inches for A4 reports.

    ``width`` is ``"full"``, ``"half"`` or inches.  Without ``rows`` the height
    is ``width × aspect``; with ``rows`` (bars or units on the y axis) it is
    ``rows × (ROW_HEIGHT + (max_lines − 1) × 0.13) + extra`` (title, axis, legend),
    so a 40-unit ranking gets taller instead of overlapping.
    """
    w = {"full": FULL_WIDTH, "half": HALF_WIDTH}.get(width, width) if isinstance(width, str) else float(width)
    if isinstance(w, str):
        raise QlworkError(Problem("bad_width", f"图宽应为 full、half 或英寸数，收到 {width!r}",
                                  "width must be 'full', 'half' or inches", found=width))
    if rows is None:
        return (w, w * aspect)
    per = ROW_HEIGHT + max(max_lines - 1, 0) * _LINE_EXTRA
    return (w, max(2.2, rows * per + extra))


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


def _new(ax, size) -> tuple[Figure, plt.Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def grade_color(grade: object) -> str:
    """Colour of a grade label (grey for unknown / missing)."""
    return GRADE_COLORS.get(str(grade), OTHER_GRADE_COLOR)


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
    if note:
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


# ------------------------------------------------------------ ranking (排行榜)
def ranking_bar(data: pd.DataFrame, *, label: str = "unit_name", score: str = "total",
                grade: str | None = "grade", pass_mark: float | None = 60.0,
                title: str = "清廉指数排行榜", xlabel: str = "综合得分（0–100）",
                top_n: int | None = None, highlight: Iterable[str] | None = None,
                label_width: float = 11, show_values: bool = True, xlim: tuple[float, float] | None = None,
                ax=None) -> Figure:
    """Horizontal ranking bars, best at the top, coloured by grade, with the pass line.

    Columns: ``label`` (unit name), ``score`` (0–100), ``grade`` (优秀/良好/合格/
    不合格; optional — bars are neutral grey-blue without it).  ``highlight``
    lists labels drawn in bold.  ``top_n`` keeps the best n.
    """
    cols = [label, score] + ([grade] if grade and grade in data.columns else [])
    _check(data, [label, score], "排行榜")
    d = data[cols].dropna(subset=[score]).sort_values(score, ascending=False, kind="mergesort")
    if top_n:
        d = d.head(top_n)
    n = len(d)
    labels, lines = _wrap_all(d[label], label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.1))
        y = np.arange(n)
        colors = [grade_color(g) for g in d[grade]] if grade in d.columns else [UNIT_COLOR] * n
        vals = d[score].to_numpy(float)
        ax.barh(y, vals, color=colors, height=0.72, edgecolor="none")
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        lo = 0.0 if xlim is None else xlim[0]
        hi = (max(100.0, np.nanmax(vals) * 1.02) if xlim is None else xlim[1])
        ax.set_xlim(lo, hi + (8 if show_values and xlim is None else 0))
        ax.grid(axis="y", visible=False)
        if show_values:
            fs = mpl.rcParams["ytick.labelsize"]
            for yi, v in zip(y, vals):
                ax.text(v + 0.6, yi, f"{v:.1f}", va="center", ha="left", fontsize=fs * 0.9, color="#333333")
        handles = []
        if grade in d.columns:
            present = set(d[grade].astype(str))
            handles = [Patch(color=grade_color(g), label=g) for g in GRADE_ORDER if g in present]
            handles += [Patch(color=grade_color(g), label=g) for g in sorted(present - set(GRADE_ORDER))
                        if g not in ("nan", "None", "<NA>", "")]
        if pass_mark is not None:
            ax.axvline(pass_mark, color=PASS_LINE_COLOR, ls="--", lw=1.0)
            handles.append(Line2D([], [], color=PASS_LINE_COLOR, ls="--", lw=1.0, label=f"合格线 {pass_mark:g} 分"))
        if highlight:
            hl = set(map(str, highlight))
            for t, name in zip(ax.get_yticklabels(), d[label].astype(str)):
                if name in hl:
                    t.set_fontweight("bold")
                    t.set_color(UNIT_COLOR)
        if handles:
            # Below the axes, outside the bars: never covers a bar or competes with a long title.
            _legend_below(fig, ax, handles=handles, ncols=len(handles))
        return _finish(fig, ax, title, xlabel, None)


# ------------------------------------------------------ unit vs peers (体检报告单)
def unit_vs_peers(scores: pd.DataFrame, unit_id: object, *, dimensions: Sequence[str] | None = None,
                  peers: Iterable | None = None, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The table behind the health-check profile: a unit against its peer group.

    ``scores``: units × dimensions (index = unit ids; columns node or indicator
    ids, scores 0–100).  ``peers``: unit ids of the peer group (default: all
    rows).  Returns one row per dimension with columns ``dimension`` (id),
    ``label`` (Chinese name from ``names``), ``score``, ``peer_median``,
    ``peer_q1``, ``peer_q3`` (25 %/75 % quantiles, linear interpolation),
    ``peer_n`` and ``percentile`` (share of peers scoring strictly lower plus
    half the ties, ×100).
    """
    if unit_id not in scores.index:
        raise QlworkError(Problem("unknown_unit", f"得分表中没有单位 {unit_id!r}", "unit not in scores", found=unit_id))
    dims = list(dimensions) if dimensions is not None else list(scores.columns)
    peer_df = scores.loc[list(peers), dims] if peers is not None else scores[dims]
    x = scores.loc[unit_id, dims].astype(float)
    P = peer_df.astype(float).to_numpy()
    xv = x.to_numpy()
    valid = ~np.isnan(P)
    n = valid.sum(axis=0)
    lower = np.where(valid, P < xv, False).sum(axis=0)
    ties = np.where(valid, P == xv, False).sum(axis=0)
    pct = np.where(n > 0, (lower + 0.5 * ties) / np.maximum(n, 1) * 100, np.nan)
    names = dict(names or {})
    return pd.DataFrame({
        "dimension": dims,
        "label": [names.get(d, d) for d in dims],
        "score": xv,
        "peer_median": np.nanmedian(P, axis=0) if P.size else np.nan,
        "peer_q1": np.nanquantile(P, 0.25, axis=0) if P.size else np.nan,
        "peer_q3": np.nanquantile(P, 0.75, axis=0) if P.size else np.nan,
        "peer_n": n,
        "percentile": pct,
    })


_PROFILE_COLS = ["label", "score", "peer_median", "peer_q1", "peer_q3"]


def profile_radar(profile: pd.DataFrame, *, title: str = "各维度得分与同类单位比较",
                  unit_name: str = "本单位", peer_name: str = "同类单位", label_width: float = 7,
                  rmax: float = 100.0, ax=None) -> Figure:
    """Radar chart: the unit's score per dimension over the peer median and IQR band.

    Columns (see :func:`unit_vs_peers`): ``label``, ``score``, ``peer_median``,
    ``peer_q1``, ``peer_q3``.  At least 3 dimensions.
    """
    _check(profile, _PROFILE_COLS, "雷达图")
    if len(profile) < 3:
        raise QlworkError(Problem("too_few_dimensions", "雷达图至少需要 3 个维度，可改用点图 profile_dots",
                                  "a radar needs at least 3 dimensions; use profile_dots", found=len(profile)))
    d = profile[_PROFILE_COLS].reset_index(drop=True)
    k = len(d)
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    closed = np.r_[ang, ang[:1]]

    def ring(col: str) -> np.ndarray:
        v = d[col].to_numpy(float)
        return np.r_[v, v[:1]]

    with style_context():
        if ax is None:
            fig = Figure(figsize=(HALF_WIDTH * 1.25, HALF_WIDTH * 1.25), layout="constrained")
            ax = fig.add_subplot(projection="polar")
        else:
            fig = ax.figure
        ax.set_theta_offset(np.pi / 2)
        ax.set_theta_direction(-1)
        ax.fill_between(closed, ring("peer_q1"), ring("peer_q3"), color=PEER_COLOR, alpha=0.25,
                        label=f"{peer_name}四分位区间（25%–75%）", lw=0)
        ax.plot(closed, ring("peer_median"), color=PEER_COLOR, lw=1.2, ls="--", label=f"{peer_name}中位数")
        ax.plot(closed, ring("score"), color=UNIT_COLOR, lw=1.8, marker="o", ms=3.5, label=unit_name)
        ax.set_xticks(ang, [wrap_label(x, label_width, 3) for x in d["label"]])
        ax.set_ylim(0, rmax)
        rticks = np.linspace(0, rmax, 5)[1:]
        ax.set_yticks(rticks, [""] * len(rticks))
        # Radial scale written between the first two spokes on a white patch above the data:
        # polygon edges cross every angle between spokes, and plain tick labels sit under them.
        theta = np.pi / k
        for r in rticks:
            ax.text(theta, r, f"{r:g}", ha="center", va="center", zorder=6, color="#666666",
                    fontsize=mpl.rcParams["ytick.labelsize"] * 0.85,
                    bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        ax.tick_params(axis="x", pad=2)
        _legend_below(fig, ax, ncols=1)
        if title:
            ax.set_title(title, loc="center", pad=14)
        return fig


def profile_dots(profile: pd.DataFrame, *, title: str = "各维度得分与同类单位比较",
                 xlabel: str = "得分（0–100）", unit_name: str = "本单位", peer_name: str = "同类单位",
                 label_width: float = 10, xlim: tuple[float, float] = (0, 100), ax=None) -> Figure:
    """Dot plot: per dimension, the peer IQR bar, the peer median tick and the unit's dot.

    Columns as :func:`profile_radar`.  The dot is green above the peer Q3 (强项
    strength), red below Q1 (弱项 weakness), blue otherwise.
    """
    _check(profile, _PROFILE_COLS, "点图")
    d = profile[_PROFILE_COLS].reset_index(drop=True)
    n = len(d)
    labels, lines = _wrap_all(d["label"], label_width)
    s = d["score"].to_numpy(float)
    q1, q3, med = (d[c].to_numpy(float) for c in ("peer_q1", "peer_q3", "peer_median"))
    col = np.where(s > q3, STRONG_COLOR, np.where(s < q1, WEAK_COLOR, UNIT_COLOR))
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.3))
        y = np.arange(n)
        ax.hlines(y, q1, q3, color=PEER_COLOR, alpha=0.45, lw=7, label=f"{peer_name}四分位区间（25%–75%）")
        ax.scatter(med, y, marker="|", s=140, color="#444444", lw=1.6, label=f"{peer_name}中位数", zorder=3)
        ax.scatter(s, y, s=38, color=col, zorder=4, edgecolor="white", lw=0.6)
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(*xlim)
        ax.grid(axis="y", visible=False)
        handles, _ = ax.get_legend_handles_labels()
        handles += [Line2D([], [], ls="", marker="o", color=c, label=lab) for c, lab in
                    ((UNIT_COLOR, unit_name), (STRONG_COLOR, f"{unit_name}（强项：高于75%分位）"),
                     (WEAK_COLOR, f"{unit_name}（弱项：低于25%分位）"))]
        _legend_below(fig, ax, handles=handles, ncols=2)
        return _finish(fig, ax, title, xlabel, None)


# ------------------------------------------------------------ region heat map
def region_heatmap(data: pd.DataFrame, *, region: str = "region", node: str = "node",
                   score: str = "score", agg: str = "mean", title: str = "各地区分维度平均得分",
                   node_order: Sequence[str] | None = None, annotate: bool | None = None,
                   vmin: float = 40, vmax: float = 100, label_width: float = 8, ax=None) -> Figure:
    """Heat map regions (rows) × nodes (columns) of scores 0–100.

    Columns: ``region`` (e.g. 县市区 name), ``node`` (dimension label) and
    ``score``; several rows per cell are aggregated with ``agg`` (mean by
    default; unit-level tables can be passed directly).  Colour map
    :data:`SCORE_CMAP` (red low, blue high) on ``vmin``–``vmax`` = 40–100 by
    default, so the midpoint (yellow) is 70, 60 (pass) is orange and 90
    (优秀) is blue; values below ``vmin`` take the darkest red.
    """
    _check(data, [region, node, score], "地区热力图")
    tab = data.pivot_table(index=region, columns=node, values=score, aggfunc=agg, observed=True, sort=False)
    if node_order is not None:
        tab = tab.reindex(columns=[c for c in node_order if c in tab.columns])
    nr, nc = tab.shape
    rlabels, rl = _wrap_all(tab.index, label_width)
    annotate = (nr * nc <= 400) if annotate is None else annotate
    with style_context():
        # Characters that fit one column: axes ≈ 80 % of the width, 1 pt = 1/72 in.
        col_chars = max(3.0, math.floor(FULL_WIDTH * 0.8 / max(nc, 1) / (mpl.rcParams["xtick.labelsize"] / 72)) - 1)
        clabels, _ = _wrap_all(tab.columns, col_chars, 3)
        fig, ax = _new(ax, figsize("full", nr, max_lines=rl, extra=1.6))
        im = ax.imshow(tab.to_numpy(float), cmap=SCORE_CMAP, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(np.arange(nc), clabels)
        ax.set_yticks(np.arange(nr), rlabels)
        ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
        ax.grid(False)
        for s in ax.spines.values():
            s.set_visible(False)
        if annotate:
            v = tab.to_numpy(float)
            fs = mpl.rcParams["xtick.labelsize"] * 0.85
            mid = (vmin + vmax) / 2
            span = (vmax - vmin) or 1
            for i in range(nr):
                for j in range(nc):
                    if np.isfinite(v[i, j]):
                        dark = abs(v[i, j] - mid) / span > 0.3
                        ax.text(j, i, f"{v[i, j]:.1f}", ha="center", va="center", fontsize=fs,
                                color="white" if dark else "#222222")
        cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 6 / max(nr, 1)) if nr > 6 else 1.0, pad=0.02,
                          extend="min" if np.nanmin(tab.to_numpy(float)) < vmin else "neither")
        cb.set_label("平均得分" if agg == "mean" else "得分")
        return _finish(fig, ax, title, None, None)


# ---------------------------------------------------------------- trend lines
from ..periods import sort_key as _period_key  # noqa: E402  (the one home of period order)


def trend_lines(data: pd.DataFrame, *, period: str = "period", score: str = "score",
                series: str = "unit_name", highlight: Iterable[str] | None = None,
                pass_mark: float | None = None, title: str = "得分变化趋势", ylabel: str = "得分（0–100）",
                max_labelled: int = 8, ylim: tuple[float, float] | None = None, ax=None) -> Figure:
    """Lines over periods (2024H1 < 2024H2 < 2025H1 …, any grain: :func:`qlwork.periods.sort_key`), one per series.

    Columns: ``period``, ``score``, ``series`` (unit or node label).  With at most
    ``max_labelled`` series every line gets a colour and an end label; with more,
    lines are thin grey and only ``highlight`` series are coloured and labelled.
    """
    _check(data, [period, score, series], "趋势图")
    d = data[[period, score, series]].dropna(subset=[score])
    periods = sorted(d[period].astype(str).unique(), key=_period_key)
    pos = {p: i for i, p in enumerate(periods)}
    names = [str(x) for x in d[series].astype(str).unique()]
    hl = list(map(str, highlight)) if highlight is not None else (names if len(names) <= max_labelled else [])
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.5))
        k = 0
        ends = []
        for name, g in d.assign(_x=d[period].astype(str).map(pos)).groupby(d[series].astype(str), sort=False):
            g = g.sort_values("_x")
            if name in hl:
                c = SERIES_PALETTE[k % len(SERIES_PALETTE)]
                k += 1
                ax.plot(g["_x"], g[score], marker="o", ms=3.5, lw=1.6, color=c, zorder=3)
                ends.append((float(g[score].iloc[-1]), int(g["_x"].iloc[-1]), name, c))
            else:
                ax.plot(g["_x"], g[score], lw=0.6, color=PEER_COLOR, alpha=0.45, zorder=1)
        if ylim is not None:
            ax.set_ylim(*ylim)
        # End labels, spread vertically so they never overlap: one label height
        # (font size × 1.3, converted to data units with the axes' approximate
        # height) apart, then shifted down as a block if they run off the top.
        if ends:
            ends.sort()
            lo, hi = ax.get_ylim()
            fs = mpl.rcParams["legend.fontsize"]
            fs = mpl.font_manager.FontProperties(size=fs).get_size_in_points()
            axes_pts = fig.get_figheight() * 72 * 0.62
            gap = 1.3 * fs * (hi - lo) / axes_pts
            ys = [e[0] for e in ends]
            pos = []
            for v in ys:
                pos.append(max(v, pos[-1] + gap) if pos else v)
            over = pos[-1] - (hi - gap / 2)
            if over > 0:
                pos = [p - over for p in pos]
            under = (lo + gap / 2) - pos[0]
            if under > 0:  # too many labels for the height: extend the axis instead
                ax.set_ylim(lo - under, hi)
            moved = any(abs(yv - v) > gap / 3 for (v, *_), yv in zip(ends, pos))
            dx = 0.22 if moved else 0.08
            for (v, x, name, c), yv in zip(ends, pos):
                if moved:  # leader lines fan out in the gap left of the labels, never through them
                    ax.plot([x + 0.03, x + dx - 0.03], [v, yv], color=c, lw=0.5, zorder=2)
                ax.text(x + dx, yv, wrap_label(name, 12, 1), va="center", ha="left", color=c, fontsize=fs)
        if pass_mark is not None:
            ax.axhline(pass_mark, color=PASS_LINE_COLOR, ls="--", lw=1.0)
            ax.text(0, pass_mark, f"合格线 {pass_mark:g} ", color=PASS_LINE_COLOR, va="bottom", ha="left",
                    fontsize=mpl.rcParams["xtick.labelsize"])
        ax.set_xticks(range(len(periods)), periods)
        ax.set_xlim(-0.2, len(periods) - 1 + (1.4 if ends else 0.2))
        return _finish(fig, ax, title, "考核期", ylabel)


# ------------------------------------------------------- distributions per indicator
def distribution_plot(data: pd.DataFrame, *, indicator: str = "indicator", value: str = "value",
                      group: str | None = None, unit: str | None = None, ncols: int = 3,
                      title: str = "各指标取值分布", points: bool = True, max_points: int = 400,
                      seed: int = 0) -> Figure:
    """Small multiples: one box plot (with jittered points) per indicator.

    Columns: ``indicator`` (label), ``value``; optional ``group`` (e.g. 单位类型:
    one box per group) and ``unit`` (measurement unit shown in each panel's
    x label).  Indicators have their own scales, so each panel has its own
    axis.  ``max_points`` caps the jittered points per panel (sampled with
    ``seed``).
    """
    cols = [indicator, value] + [c for c in (group, unit) if c]
    _check(data, cols, "分布图")
    d = data[cols].dropna(subset=[value])
    inds = [str(x) for x in d[indicator].astype(str).unique()]
    groups = [str(x) for x in d[group].astype(str).unique()] if group else [None]
    n = len(inds)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    gh = max(1.0, 0.28 * len(groups) + 0.55)
    rng = np.random.default_rng(seed)
    with style_context():
        fig = Figure(figsize=(FULL_WIDTH, nrows * (gh + 0.45) + 0.5), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        # Characters that fit above one panel (its share of the width, minus the tick-label gutter).
        title_chars = max(6.0, math.floor(FULL_WIDTH / ncols * 72 / mpl.rcParams["axes.labelsize"]) - 4)
        for ax, ind in zip(axes, inds):
            sub = d[d[indicator].astype(str) == ind]
            data_g = [sub[value].to_numpy(float) if g is None else
                      sub.loc[sub[group].astype(str) == g, value].to_numpy(float) for g in groups]
            pos = np.arange(len(groups))
            nonempty = [i for i, v in enumerate(data_g) if len(v)]
            ax.boxplot([data_g[i] for i in nonempty], positions=pos[nonempty], orientation="horizontal",
                       widths=0.55, showfliers=not points, patch_artist=True,
                       boxprops=dict(facecolor="#DCE6F0", edgecolor="#4A6A8A", lw=0.8),
                       medianprops=dict(color="#B2182B", lw=1.2),
                       whiskerprops=dict(color="#4A6A8A", lw=0.8), capprops=dict(color="#4A6A8A", lw=0.8))
            if points:
                for i in nonempty:
                    v = data_g[i]
                    if len(v) > max_points:
                        v = rng.choice(v, max_points, replace=False)
                    ax.scatter(v, i + rng.uniform(-0.18, 0.18, len(v)), s=3, color="#333333", alpha=0.35,
                               lw=0, zorder=3)
            if group:
                ax.set_yticks(pos, [wrap_label(g, 5, 1) for g in groups])
            else:
                ax.set_yticks([])
            ax.set_ylim(len(groups) - 0.4, -0.6)
            ax.set_title(wrap_label(ind, title_chars, 2), fontsize=mpl.rcParams["axes.labelsize"], loc="left",
                         fontweight="normal")
            if unit:
                u = sub[unit].dropna().astype(str)
                ax.set_xlabel(f"单位：{u.iloc[0]}" if len(u) else "")
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="x", labelsize=mpl.rcParams["xtick.labelsize"] * 0.9)
        for ax in axes[n:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=mpl.rcParams["axes.titlesize"])
        return fig


# --------------------------------------------------------------- correlations
def correlation_heatmap(corr: pd.DataFrame, *, groups: Mapping[str, str] | pd.Series | None = None,
                        names: Mapping[str, str] | None = None, title: str = "指标相关系数矩阵",
                        method_label: str = "Pearson", annotate: bool | None = None,
                        lower: bool = True, label_width: float = 9, ax=None) -> Figure:
    """Heat map of a square correlation matrix (−1…1, :data:`CORR_CMAP`).

    ``corr``: square DataFrame with the same labels on index and columns (e.g.
    ``qlwork.analysis.coherence.correlation_matrix``).  ``groups`` maps each variable to
    its node; variables are kept in the given order and lines separate nodes.
    ``names`` maps ids to display labels.  ``lower`` masks the upper triangle.
    """
    if not isinstance(corr, pd.DataFrame) or corr.shape[0] != corr.shape[1]:
        raise QlworkError(Problem("bad_plot_input", "相关系数热力图需要方阵 DataFrame",
                                  "correlation heat map needs a square DataFrame",
                                  found=getattr(corr, "shape", type(corr).__name__)))
    m = corr.to_numpy(float).copy()
    k = m.shape[0]
    if lower:
        m[np.triu_indices(k, 1)] = np.nan
    names = dict(names or {})
    labels, lines = _wrap_all([names.get(c, c) for c in corr.columns], label_width)
    annotate = k <= 16 if annotate is None else annotate
    side = min(FULL_WIDTH, max(HALF_WIDTH, 0.3 * k + 2.2))
    with style_context():
        fig, ax = _new(ax, (max(side, 3.6) + 0.9, max(side, 3.6) + 0.15 * lines))
        im = ax.imshow(m, cmap=CORR_CMAP, vmin=-1, vmax=1)
        fs = mpl.rcParams["xtick.labelsize"] * (1.0 if k <= 20 else max(0.55, 20 / k))
        ax.set_xticks(np.arange(k), labels, rotation=90, fontsize=fs)
        ax.set_yticks(np.arange(k), labels, fontsize=fs)
        ax.grid(False)
        for s in ax.spines.values():
            s.set_visible(False)
        if annotate:
            for i in range(k):
                for j in range(k):
                    if np.isfinite(m[i, j]) and i != j:
                        ax.text(j, i, f"{m[i, j]:.2f}".replace("0.", ".", 1) if m[i, j] >= 0 else
                                "−" + f"{-m[i, j]:.2f}".replace("0.", ".", 1),
                                ha="center", va="center", fontsize=fs * 0.8,
                                color="white" if abs(m[i, j]) > 0.6 else "#222222")
        if groups is not None:
            g = pd.Series(groups).reindex(corr.columns).astype(str).to_numpy()
            cuts = [i for i in range(1, k) if g[i] != g[i - 1]]
            for c in cuts:
                ax.axhline(c - 0.5, color="#333333", lw=0.8)
                ax.axvline(c - 0.5, color="#333333", lw=0.8)
        cb = fig.colorbar(im, ax=ax, shrink=0.7, pad=0.02)
        cb.set_label(f"{method_label} 相关系数")
        return _finish(fig, ax, title, None, None)


# ------------------------------------------------------------ rank intervals
def rank_interval_plot(data: pd.DataFrame, *, label: str = "unit", nominal: str = "nominal_rank",
                       median: str = "rank_median", lo: str = "rank_lo", hi: str = "rank_hi",
                       title: str = "排名不确定性：名义排名与5%–95%排名区间",
                       interval_label: str = "5%–95% 排名区间", label_width: float = 11, ax=None) -> Figure:
    """Units sorted by nominal rank (1 at the top) with their simulated rank intervals.

    Columns: ``label`` (unit name), ``nominal`` (rank under the official
    settings), ``median`` (median simulated rank), ``lo``/``hi`` (e.g. 5th and
    95th percentile ranks).  Rank 1 = best.
    """
    _check(data, [label, nominal, median, lo, hi], "排名区间图")
    d = data[[label, nominal, median, lo, hi]].sort_values(nominal, kind="mergesort")
    n = len(d)
    labels, lines = _wrap_all([f"{int(r) if float(r).is_integer() else r}. {x}" for x, r in
                               zip(d[label], d[nominal])], label_width + 2)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.3))
        y = np.arange(n)
        ax.hlines(y, d[lo], d[hi], color=UNIT_COLOR, alpha=0.55, lw=3.2, label=interval_label)
        ax.scatter(d[median], y, s=16, color=UNIT_COLOR, zorder=3, label="模拟排名中位数")
        ax.scatter(d[nominal], y, s=22, marker="D", facecolor="white", edgecolor="#B2182B", lw=1.0,
                   zorder=4, label="名义排名")
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        top = float(np.nanmax(d[[nominal, hi]].to_numpy(float)))
        ax.set_xlim(0.5, top + 0.5)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))  # ranks are whole numbers
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=3)
        return _finish(fig, ax, title, "排名（1 = 最好）", None)


# ------------------------------------------------------- grade probabilities
def grade_probability_plot(data: pd.DataFrame, *, label: str = "unit", grades: Sequence[str] = GRADE_ORDER,
                           grade: str = "grade", probability: str = "probability", sort: bool = True,
                           title: str = "等级概率（模拟中各等级出现的比例）", label_width: float = 11,
                           ax=None) -> Figure:
    """Stacked horizontal bars of P(grade) per unit.

    Either wide — column ``label`` plus one column per grade in ``grades``
    (probabilities summing to 1 per row) — or tidy — columns ``label``,
    ``grade``, ``probability``.  With ``sort`` units are ordered by expected
    grade (best first).
    """
    if isinstance(data, pd.DataFrame) and grade in data.columns and probability in data.columns:
        _check(data, [label, grade, probability], "等级概率图")
        wide = data.pivot_table(index=label, columns=grade, values=probability, aggfunc="sum",
                                sort=False).reset_index()
    else:
        _check(data, [label], "等级概率图")
        wide = data
    gs = [g for g in grades if g in wide.columns]
    if not gs:
        raise QlworkError(Problem("missing_columns", f"等级概率图：没有等级列 {list(grades)}",
                                  "no grade-probability columns", found=list(map(str, wide.columns)),
                                  expected=list(grades)))
    P = wide[gs].to_numpy(float)
    P = np.nan_to_num(P)
    order = np.arange(len(wide))
    if sort:
        expected = P @ np.arange(len(gs))  # 0 = best grade
        order = np.lexsort((-P[:, 0], expected))
    P = P[order]
    names = wide[label].to_numpy()[order]
    n = len(names)
    labels, lines = _wrap_all(names, label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.2))
        y = np.arange(n)
        left = np.zeros(n)
        for j, g in enumerate(gs):
            ax.barh(y, P[:, j], left=left, color=grade_color(g), height=0.75, label=g, edgecolor="white", lw=0.3)
            left += P[:, j]
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=len(gs), title="等级")
        return _finish(fig, ax, title, "概率", None)


# ------------------------------------------------------- internal vs public
def agreement_scatter(data: pd.DataFrame, *, x: str = "internal", y: str = "public",
                      label: str | None = None, flag: str | None = None, group: str | None = None,
                      title: str = "专业分与获得感（群众评价）对比", xlabel: str = "专业分（内部考核，0–100）",
                      ylabel: str = "获得感（群众满意度，0–100）", quadrants: bool = True,
                      max_labels: int = 12, ax=None) -> Figure:
    """Scatter of internal vs public scores with the identity line and peer-median quadrants.

    Columns: ``x`` (internal score), ``y`` (public score); optional ``label``
    (unit name, written next to flagged points), ``flag`` (bool: divergence
    flag, drawn red), ``group`` (unit type, coloured).  The text box gives n,
    Spearman ρ and Pearson r.
    """
    cols = [x, y] + [c for c in (label, flag, group) if c]
    _check(data, cols, "散点图")
    d = data[cols].dropna(subset=[x, y])
    xv, yv = d[x].to_numpy(float), d[y].to_numpy(float)
    from scipy import stats

    rho = stats.spearmanr(xv, yv).statistic if len(d) > 2 else np.nan
    r = np.corrcoef(xv, yv)[0, 1] if len(d) > 2 else np.nan
    with style_context():
        fig, ax = _new(ax, (FULL_WIDTH * 0.8, FULL_WIDTH * 0.8))
        if group:
            for i, (g, sub) in enumerate(d.groupby(group, sort=False)):
                ax.scatter(sub[x], sub[y], s=12, alpha=0.7, color=SERIES_PALETTE[i % 10], label=str(g), lw=0)
        else:
            ax.scatter(xv, yv, s=12, alpha=0.65, color=UNIT_COLOR, lw=0)
        lo = float(np.nanmin([xv.min(), yv.min()]))
        hi = float(np.nanmax([xv.max(), yv.max()]))
        pad = (hi - lo) * 0.05 + 1e-9
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#555555", lw=0.8, ls=":", label="y = x（完全一致）")
        if quadrants:
            mx, my = np.median(xv), np.median(yv)
            ax.axvline(mx, color=PEER_COLOR, lw=0.7, ls="--")
            ax.axhline(my, color=PEER_COLOR, lw=0.7, ls="--")
            ax.text(hi + pad, lo - pad, "专业分高、获得感低", ha="right", va="bottom", color=WEAK_COLOR,
                    fontsize=mpl.rcParams["xtick.labelsize"])
            ax.text(lo - pad, hi + pad, " 专业分低、获得感高", ha="left", va="top", color="#555555",
                    fontsize=mpl.rcParams["xtick.labelsize"])
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        if flag:
            fl = d[d[flag].astype(bool)]
            ax.scatter(fl[x], fl[y], s=30, facecolor="none", edgecolor=WEAK_COLOR, lw=1.0, label="背离预警", zorder=4)
            if label:
                handles, _ = ax.get_legend_handles_labels()
                _legend_below(fig, ax, handles=handles, ncols=min(4, len(handles)),
                              title=f"n = {len(d)}，Spearman ρ = {rho:.2f}，Pearson r = {r:.2f}")
                _finish(fig, ax, title, xlabel, ylabel)  # layout final before labels are measured
                _place_point_labels(fig, ax, fl[x].to_numpy(float), fl[y].to_numpy(float),
                                    [wrap_label(v, 10, 1) for v in fl[label]], max_labels, color=WEAK_COLOR)
                return fig
        handles, _ = ax.get_legend_handles_labels()
        _legend_below(fig, ax, handles=handles, ncols=min(4, len(handles)),
                      title=f"n = {len(d)}，Spearman ρ = {rho:.2f}，Pearson r = {r:.2f}")
        return _finish(fig, ax, title, xlabel, ylabel)


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


def bland_altman_plot(data: pd.DataFrame, *, a: str = "internal", b: str = "public",
                      title: str = "Bland–Altman 一致性图：专业分 − 获得感",
                      xlabel: str = "两者均值（0–100）", ylabel: str = "差值（专业分 − 获得感）",
                      z: float = 1.96, ax=None) -> Figure:
    """Bland–Altman plot of ``a − b`` against ``(a + b) / 2``.

    Columns: ``a`` and ``b`` (two scores on the same scale).  Bias = mean(d),
    limits of agreement = bias ± z·SD(d) with SD on n − 1 (Bland & Altman,
    Lancet 1986; same as statsmodels ``mean_diff_plot``).  The numbers are in
    the line labels; compute them for tables with ``qlwork.analysis.compare``.
    """
    _check(data, [a, b], "Bland–Altman 图")
    d = data[[a, b]].dropna()
    av, bv = d[a].to_numpy(float), d[b].to_numpy(float)
    diff = av - bv
    mean = (av + bv) / 2
    bias = diff.mean()
    sd = diff.std(ddof=1) if len(diff) > 1 else np.nan
    lo, hi = bias - z * sd, bias + z * sd
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.55))
        ax.scatter(mean, diff, s=11, alpha=0.6, color=UNIT_COLOR, lw=0)
        ax.axhline(0, color="#555555", lw=0.7, ls=":")
        fs = mpl.rcParams["xtick.labelsize"]
        for v, txt, c, ls in ((bias, f"平均差 {_num(bias)}", "#222222", "-"),
                              (hi, f"上限 {_num(hi)}", WEAK_COLOR, "--"), (lo, f"下限 {_num(lo)}", WEAK_COLOR, "--")):
            ax.axhline(v, color=c, lw=1.0, ls=ls)
            ax.text(1.0, v, f" {txt}", transform=ax.get_yaxis_transform(), va="center", ha="left",
                    color=c, fontsize=fs)
        span = max(abs(diff - bias).max() if len(diff) else 0, z * sd if np.isfinite(sd) else 0) or 1.0
        ax.set_ylim(bias - span * 1.15, bias + span * 1.15)
        return _finish(fig, ax, title, xlabel, ylabel,
                       note=f"n = {len(d)}；一致性界限 = 平均差 ± {z:g} × 标准差（Bland & Altman 1986）")


# --------------------------------------------------- nominal vs effective weights
def weights_comparison(data: pd.DataFrame, *, label: str = "name", nominal: str = "nominal_weight",
                       effective: str = "r2_share", title: str = "名义权重与有效权重对比",
                       effective_label: str = "有效权重（与总分相关系数平方的占比）",
                       label_width: float = 12, ax=None) -> Figure:
    """Paired bars per indicator: the nominal weight and the data-driven effective weight.

    Columns: ``label`` (indicator name), ``nominal`` and ``effective`` (shares
    summing to 1, e.g. ``qlwork.analysis.coherence.effective_weights`` output).  Order
    is kept (framework order).
    """
    _check(data, [label, nominal, effective], "权重对比图")
    d = data[[label, nominal, effective]]
    n = len(d)
    labels, lines = _wrap_all(d[label], label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.2))
        y = np.arange(n)
        ax.barh(y - 0.19, d[nominal], height=0.36, color=PEER_COLOR, label="名义权重")
        ax.barh(y + 0.19, d[effective], height=0.36, color=UNIT_COLOR, label=effective_label)
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=2)
        return _finish(fig, ax, title, "权重占比", None)
