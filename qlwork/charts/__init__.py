"""Charts of the workbench, shared by notebooks, reports and the dashboard.

::

    from qlwork.charts import ranking_bar, show
    show(ranking_bar(off.ranking().query("framework == 'QLI'")))

Modules: :mod:`.style` (the palette keyed on grade from :mod:`qlwork.labels`, the
label table, sizes, rcParams), :mod:`.fonts` (CJK font), :mod:`.layout` (label
wrapping, legends, non-overlapping point labels, PNG/SVG export), :mod:`.display`
(inline display in JupyterLab / Voilà / executed notebooks) and the charts by
domain: :mod:`.ranking` (排行榜, trends), :mod:`.profiles` (unit vs peers),
:mod:`.indicators` (distributions, correlations, weights), :mod:`.regions`
(heat maps), :mod:`.survey` (群众评价 vs 专业分), :mod:`.sensitivity` (rank
intervals, grade probabilities).  Names are loaded on first use, so importing
``qlwork.charts.fonts`` does not import every chart.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "show": "display", "inline": "display", "figure_png": "display",
    "ranking_bar": "ranking", "trend_lines": "ranking",
    "unit_vs_peers": "profiles", "profile_radar": "profiles", "profile_dots": "profiles",
    "distribution_plot": "indicators", "correlation_heatmap": "indicators", "weights_comparison": "indicators",
    "region_heatmap": "regions",
    "agreement_scatter": "survey", "bland_altman_plot": "survey", "public_internal_scatter": "survey",
    "bland_altman_ci_plot": "survey", "region_gap_plot": "survey",
    "rank_interval_plot": "sensitivity", "grade_probability_plot": "sensitivity", "select_units": "sensitivity",
    "save_figure": "layout", "wrap_label": "layout", "display_width": "layout",
    "apply_style": "style", "style_context": "style", "figsize": "style", "grade_color": "style",
    "GRADE_COLORS": "style", "GRADE_ORDER": "style", "FULL_WIDTH": "style", "HALF_WIDTH": "style",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'qlwork.charts' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
