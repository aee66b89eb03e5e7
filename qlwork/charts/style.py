"""The house style of every chart: colours, sizes, rcParams, the CJK font.

One palette keyed on the **grade** (never on the score), taken from
:func:`qlwork.labels.grade_colors` — the same colours as the dashboard, the Excel
workbook and the 体检报告单; a vetoed unit is drawn in :data:`qlwork.labels.VETO_COLOR`
whatever its score.  Axis and legend words come from the label table
:data:`qlwork.labels.COLUMN_LABELS` (综合得分, 等级, 同类名次 …), so a chart says
what a table says.  The CJK font is located and registered by
:mod:`qlwork.charts.fonts`; every chart draws inside :func:`style_context`, so
Chinese shows even when a caller changed rcParams.

The rcParams are written out here (a white grid at "paper" size, as seaborn's
``whitegrid``/``paper`` theme gives): seaborn is not imported, which saves about
two seconds of import time in the dashboard and notebooks.

Sizes: :data:`FULL_WIDTH` / :data:`HALF_WIDTH` (inches) fit an A4 page with
25 mm margins (160 mm text width); heights grow with the number of rows
(:func:`figsize`) so that 40 units never overlap.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import matplotlib as mpl
from cycler import cycler

from ..errors import Problem, QlworkError
from ..labels import COLUMN_LABELS, MISSING_COLOR, VETO_COLOR, grade_colors
from ..labels import grade_color as _label_grade_color
from .fonts import cjk_font_family, font_rc

__all__ = [
    "GRADE_ORDER", "GRADE_COLORS", "GRADE_PALETTE", "OTHER_GRADE_COLOR", "VETO_COLOR", "SCORE_CMAP", "CORR_CMAP",
    "PASS_LINE_COLOR", "UNIT_COLOR", "PEER_COLOR", "STRONG_COLOR", "WEAK_COLOR", "SERIES_PALETTE",
    "MM", "A4_TEXT_WIDTH_MM", "FULL_WIDTH", "HALF_WIDTH", "ROW_HEIGHT", "LABELS",
    "house_rc", "apply_style", "style_context", "figsize", "grade_color", "score_axis_label",
]

# ------------------------------------------------------------------ colours
#: Grade labels, best first (same as qlwork.framework.DEFAULT_GRADES).
GRADE_ORDER: tuple[str, ...] = ("优秀", "良好", "合格", "不合格")
#: One colour per grade (qlwork.labels.grade_colors: ColorBrewer RdBu, colour-blind safe;
#: blue = good, red = bad) — the only grade palette of the workbench.
GRADE_COLORS: dict[str, str] = grade_colors(GRADE_ORDER)
GRADE_PALETTE: list[str] = [GRADE_COLORS[g] for g in GRADE_ORDER]
#: Colour for a grade the palette does not know (无等级, missing).
OTHER_GRADE_COLOR = MISSING_COLOR
#: Scores 0–100 in heat maps: red low … blue high, the direction of the grade palette.
SCORE_CMAP = "RdYlBu"
#: Correlations −1…1 (diverging, centred on 0).
CORR_CMAP = "RdBu_r"
PASS_LINE_COLOR = GRADE_COLORS["不合格"]
UNIT_COLOR = GRADE_COLORS["优秀"]
PEER_COLOR = "#8C8C8C"
STRONG_COLOR = "#1B7837"
WEAK_COLOR = GRADE_COLORS["不合格"]
#: Categorical series (nodes, unit types): the "colorblind" set without its pale pink and
#: yellow, which are unreadable as text on white.
SERIES_PALETTE: list[str] = ["#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC",
                             "#CA9161", "#56B4E9", "#7F3C8D", "#949494", "#3969AC"]

#: The label table (qlwork.labels.COLUMN_LABELS): chart words for result columns.
LABELS = COLUMN_LABELS


def grade_color(grade: object, labels=GRADE_ORDER, *, vetoed: bool = False) -> str:
    """Colour of a grade (keyed on the grade; vetoed → VETO_COLOR; unknown / missing → grey)."""
    return _label_grade_color(grade, tuple(labels), vetoed=vetoed)


def score_axis_label(column: str = "total", scale: str = "0–100") -> str:
    """Axis label of a score column from the label table, e.g. ``综合得分（0–100）``."""
    return f"{LABELS.get(column, column)}（{scale}）" if scale else LABELS.get(column, column)


# -------------------------------------------------------------------- sizes
MM = 1 / 25.4
#: A4 (210 mm) minus 25 mm margins each side.
A4_TEXT_WIDTH_MM = 160.0
FULL_WIDTH = A4_TEXT_WIDTH_MM * MM          # ≈ 6.30 in
HALF_WIDTH = (A4_TEXT_WIDTH_MM - 6) / 2 * MM  # two side by side with a 6 mm gutter
#: Height per bar/row (inches) for a one-line tick label at the house font size.
ROW_HEIGHT = 0.19
_LINE_EXTRA = 0.13  # per additional wrapped line

_FONT_SCALE = 1.0

# A white grid at "paper" size (the values of seaborn 0.13's whitegrid + paper theme, written
# out so that seaborn need not be imported); sizes scale with ``font_scale``.
_BASE_RC = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.linewidth": 1.0, "figure.facecolor": "white",
    "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 0.8,
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
    "text.color": ".15", "xtick.bottom": False, "xtick.top": False, "ytick.left": False, "ytick.right": False,
    "xtick.color": ".15", "ytick.color": ".15", "xtick.direction": "out", "ytick.direction": "out",
    "xtick.major.width": 1.0, "ytick.major.width": 1.0, "xtick.minor.width": 0.8, "ytick.minor.width": 0.8,
    "patch.linewidth": 0.8,
}
_SIZED_RC = {  # multiplied by font_scale
    "font.size": 9.6, "axes.labelsize": 9.6, "axes.titlesize": 9.6, "legend.fontsize": 8.8,
    "legend.title_fontsize": 9.6, "xtick.labelsize": 8.8, "ytick.labelsize": 8.8, "lines.linewidth": 1.2,
    "lines.markersize": 4.8, "xtick.major.size": 4.8, "ytick.major.size": 4.8, "xtick.minor.size": 3.2,
    "ytick.minor.size": 3.2,
}


def house_rc(font_scale: float = _FONT_SCALE) -> dict:
    """The complete rcParams of the house style (white grid, paper sizes, CJK font)."""
    rc: dict = dict(_BASE_RC)
    rc.update({k: v * font_scale for k, v in _SIZED_RC.items()})
    rc.update(font_rc())
    rc.update({
        "axes.prop_cycle": cycler(color=SERIES_PALETTE),
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
    """Apply the house style globally (for the caller's own pyplot charts); returns the CJK family."""
    mpl.rcParams.update(house_rc(font_scale))
    return cjk_font_family()


@contextlib.contextmanager
def style_context(font_scale: float = _FONT_SCALE) -> Iterator[None]:
    """Temporarily use the house style (every chart function draws inside one)."""
    with mpl.rc_context(house_rc(font_scale)):
        yield


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

