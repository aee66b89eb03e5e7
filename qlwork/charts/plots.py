"""Every chart under its historical import path (``from qlwork.charts import plots as P``).

The charts now live in domain modules — :mod:`.style` (palette keyed on grade,
label table, sizes, rcParams), :mod:`.layout` (wrapping, legends, export),
:mod:`.ranking`, :mod:`.profiles`, :mod:`.indicators`, :mod:`.regions`,
:mod:`.survey`, :mod:`.sensitivity` and :mod:`.display` (inline display in
notebooks); this module only re-exports them so existing callers keep working.
New code imports from :mod:`qlwork.charts` directly.
"""
from __future__ import annotations

from .display import inline, show
from .indicators import correlation_heatmap, distribution_plot, weights_comparison
from .layout import (_check, _finish, _legend_below, _new, _num, _place_point_labels, _wrap_all,  # noqa: F401
                     _wrap_title, display_width, save_figure, wrap_label)
from .profiles import profile_dots, profile_radar, unit_vs_peers
from .ranking import _period_key, ranking_bar, trend_lines  # noqa: F401
from .regions import region_heatmap
from .sensitivity import grade_probability_plot, rank_interval_plot
from .style import (A4_TEXT_WIDTH_MM, CORR_CMAP, FULL_WIDTH, GRADE_COLORS, GRADE_ORDER, GRADE_PALETTE,
                    HALF_WIDTH, MM, OTHER_GRADE_COLOR, PASS_LINE_COLOR, PEER_COLOR, ROW_HEIGHT, SCORE_CMAP,
                    SERIES_PALETTE, STRONG_COLOR, UNIT_COLOR, VETO_COLOR, WEAK_COLOR, apply_style, figsize,
                    grade_color, house_rc, style_context)
from .survey import agreement_scatter, bland_altman_plot

__all__ = [
    "GRADE_ORDER", "GRADE_COLORS", "GRADE_PALETTE", "OTHER_GRADE_COLOR", "VETO_COLOR", "SCORE_CMAP", "CORR_CMAP",
    "PASS_LINE_COLOR", "UNIT_COLOR", "PEER_COLOR", "STRONG_COLOR", "WEAK_COLOR", "SERIES_PALETTE",
    "MM", "A4_TEXT_WIDTH_MM", "FULL_WIDTH", "HALF_WIDTH", "ROW_HEIGHT",
    "apply_style", "style_context", "house_rc", "figsize", "wrap_label", "display_width",
    "save_figure", "grade_color", "unit_vs_peers", "show", "inline",
    "ranking_bar", "profile_radar", "profile_dots", "region_heatmap", "trend_lines",
    "distribution_plot", "correlation_heatmap", "rank_interval_plot",
    "grade_probability_plot", "agreement_scatter", "bland_altman_plot", "weights_comparison",
]
