"""群众评价 — how the public (survey) score agrees with the internal score.

Agreement statistics of 专业分 and 群众评价 per unit type (Spearman ρ, Kendall τ-b,
Lin's CCC, Bland–Altman bias and limits, :func:`qlwork.analysis.compare.agreement`)
for the units of the current filters, the scatter of the two with its 95 % intervals,
and the units with the official **divergence** warning — the one definition, computed
at scoring time: public score significantly *below* what peers with the same internal
score get (one-sided test, BH correction).  Only those units are marked; a public
score above expectation is not a warning.
"""
from __future__ import annotations

import math

import pandas as pd

from ...labels import COLUMN_LABELS, WARNING_LABELS, period_label
from ..html import TABLE_CSS, esc, fmt, info_html, table_html, td, warning_codes
from ..widgets import figure_png, image, show_png
from . import Tab, register_tab

__all__ = ["SurveyTab", "survey_frame", "MAX_LISTED"]

MIN_UNITS = 5
MAX_LISTED = 30


def survey_frame(result, scope: pd.DataFrame) -> pd.DataFrame:
    """Scope rows with internal, public, public_se, the divergence test columns of the result
    (public_expected, resid_gap, p_low_adj) and ``diverges`` (the official divergence warning)."""
    d = scope.copy()
    dv = result.divergence
    if dv is not None:
        dv = dv.copy()
        dv.index = dv.index.astype(str)
        for c in ("public_se", "public_expected", "resid_gap", "p_low_adj"):
            if c in dv.columns:
                d[c] = dv[c].reindex(d.index).to_numpy(float)
    if "public_se" not in d.columns:
        se = result.public_se
        d["public_se"] = se.reindex(d.index).to_numpy(float) if se is not None else math.nan
    d["diverges"] = d["warnings"].map(lambda v: "divergence" in warning_codes(v)).astype(bool)
    return d


@register_tab
class SurveyTab(Tab):
    key, title, order = "survey", "群众评价", 50

    def build(self):
        w = self.w
        self.out = w.HTML().add_class("qlw-survey")
        self.chart = image("qlw-survey-chart", "620px")
        self.listing = w.HTML(layout=w.Layout(flex="1 1 420px", min_width="320px")).add_class("qlw-survey-list")
        self.box.children = [self.out, w.HBox([self.chart, self.listing],
                                              layout=w.Layout(flex_flow="row wrap", align_items="flex-start",
                                                              grid_gap="8px 24px"))]

    def render(self):
        app = self.app
        f = app.state.filters
        fw = app.framework
        res = app.index_result
        head = f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}"
        d = survey_frame(res, app.scope_rows())
        both = d.dropna(subset=["internal", "public"])
        self.frame = both
        show_png(self.chart, None)
        self.listing.value = ""
        if len(both) < MIN_UNITS:
            self.out.value = self.head(head, n_units=len(both)) + info_html(
                f"{esc(period_label(f.period))} 当前筛选范围内有群众评价（满意度调查）结果的单位不足 {MIN_UNITS} 个"
                f"（{len(both)} 个）。调查结果由 <code>qlwork survey --period {esc(f.period)}</code> 生成，"
                "并经 <code>qlwork score</code> 计入正式结果后在此显示。")
            return
        from ...analysis.compare import agreement

        ag = agreement(both, group="unit_type")
        rows = []
        for g, r in ag.iterrows():
            rows.append({"group": td(esc(g), "t"), "n": td(int(r["n"])),
                         **{k: td(fmt(r.get(k), 3)) for k in ("spearman", "kendall_tau_b", "ccc")},
                         "bias": td(fmt(r.get("ba_bias"), 2)),
                         "loa": td("—" if _nan(r.get("ba_loa_low")) else
                                   f"{fmt(r.get('ba_loa_low'), 2)} ～ {fmt(r.get('ba_loa_high'), 2)}")})
        cols = [("group", COLUMN_LABELS["unit_type"]), ("n", "单位数"), ("spearman", "Spearman ρ"),
                ("kendall_tau_b", "Kendall τ-b"), ("ccc", "Lin CCC"), ("bias", "平均差（专业分−群众评价）"),
                ("loa", "95% 一致性界限")]
        stats = table_html(cols, rows, cls="qlw-agreement", attrs='style="width:auto"')
        if (ag["n"] < MIN_UNITS).any():
            stats += f"<div style='color:#777;font-size:12px'>单位数少于 {MIN_UNITS} 个的类型不计算一致性统计量（—）。</div>"
        div = both[both["diverges"]].sort_values(["resid_gap" if "resid_gap" in both.columns else "public", "unit_id"])
        n_div = len(div)
        items = "".join(
            f'<li data-unit="{esc(r.unit_id)}"><b>{esc(r.unit_name)}</b>（{esc(r.unit_type)}）：群众评价 {fmt(r.public)}，'
            f"专业分 {fmt(r.internal)}"
            + (f"，比专业分相近的同类单位预期低 {-r.resid_gap:.1f} 分" if not _nan(getattr(r, "resid_gap", math.nan)) else "")
            + (f"（单侧检验校正后 {_p(r.p_low_adj)}）" if not _nan(getattr(r, "p_low_adj", math.nan)) else "")
            + "</li>" for r in div.head(MAX_LISTED).itertuples())
        count = (f"{n_div} 个" if n_div <= MAX_LISTED else f"共 {n_div} 个，列出差距最大的 {MAX_LISTED} 个")
        self.listing.value = (
            f"<div class='qlw-head' style='font-size:14px'>背离预警：{esc(WARNING_LABELS['divergence'])}"
            f"（<span class='qlw-n-div'>{count}</span>）</div>"
            + (f"<ol class='qlw-sentences qlw-divergent'>{items}</ol>" if n_div else
               "<div style='color:#555'>当前筛选范围内没有单位触发背离预警。</div>")
            + "<div style='color:#777;font-size:12px'>背离预警只针对群众评价明显<b>低于</b>预期的单位（正式结果的预警规则："
              "与专业分相近的同类单位比较，单侧检验并做多重比较校正）；群众评价高于预期不是预警。</div>")
        self.out.value = (TABLE_CSS + self.head(head, f"有专业分与群众评价的单位 {len(both)} 个", n_units=len(both),
                                                divergent=n_div)
                          + f"<div class='qlw-head' style='font-size:14px'>专业分与群众评价的一致性</div>{stats}")
        if app.chart_enabled:
            from ...charts.survey import public_internal_scatter

            cd = both.assign(unit_name=both["unit_name"].astype(str))
            fig = public_internal_scatter(cd, flag="diverges", label="unit_name",
                                          expected="public_expected" if "public_expected" in cd.columns else None,
                                          title=f"{period_label(f.period)} 专业分与群众评价（{f.scope_label()}）",
                                          max_labels=10)
            show_png(self.chart, figure_png(fig))


def _nan(v) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
