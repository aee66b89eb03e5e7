"""敏感性分析 — which units' grade or bottom-N status the weights could change.

Reads the persisted sensitivity analysis of the period (``qlwork sensitivity``,
computed around the official result with the spec's defaults) and leads with the
units a meeting must discuss: those whose **grade** is uncertain (kept in fewer than
95 % of the simulations) or whose **bottom-N status** is uncertain (P(后 N 名) between
5 % and 95 %), least stable first, one sentence each with whole-number rank bounds.
The first line says what was simulated (``params["description_zh"]``).  Units whose
grade and bottom-N status hold in at least 95 % of the simulations are counted, not
listed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...labels import period_label
from ..html import TABLE_CSS, esc, fmt_int, info_html
from ..widgets import figure_png, image, show_png
from . import Tab, register_tab

__all__ = ["SensitivityTab", "uncertain_units", "unit_sentence", "P_STABLE", "MAX_LISTED"]

P_STABLE = 0.95  # a grade / bottom-N status kept in ≥ 95 % of the simulations is stable
MAX_LISTED = 30
MAX_CHART = 20


def uncertain_units(table: pd.DataFrame, p: float = P_STABLE) -> pd.DataFrame:
    """Rows whose grade or bottom-N status is uncertain: bottom-N first (it decides warning
    notices), then grade; each least stable first.

    ``grade_uncertain``: P(正式等级) < p; ``bottom_uncertain``: 1 − p < P(后 N 名) < p.
    ``stability`` = min(P(正式等级), max(P(后 N 名), 1 − P(后 N 名))) — the probability
    that the less stable of the two statuses holds; sorted ascending, then by peer rank."""
    t = table.copy()
    pg = t["p_nominal_grade"].astype(float)
    pb = t["p_bottom_n"].astype(float).fillna(0.0) if "p_bottom_n" in t.columns else pd.Series(0.0, index=t.index)
    t["grade_uncertain"] = pg < p
    t["bottom_uncertain"] = (pb > 1 - p) & (pb < p)
    t["stability"] = np.minimum(pg, np.maximum(pb, 1 - pb))
    u = t[t["grade_uncertain"] | t["bottom_uncertain"]].assign(_b=lambda x: ~x["bottom_uncertain"])
    return u.sort_values(["_b", "stability", "nominal_rank", "unit_id"], kind="mergesort").drop(columns="_b")


def unit_sentence(r: pd.Series | dict, grades: list[str], bottom_n: int) -> str:
    """One sentence a meeting can read about one unit's uncertainty (HTML-escaped)."""
    g = str(r.get("grade") or r.get("nominal_grade") or "")
    lo, hi = fmt_int(r.get("rank_p05")), fmt_int(r.get("rank_p95"))
    rank, n = fmt_int(r.get("nominal_rank")), fmt_int(r.get("group_size"))
    probs = sorted(((float(r.get(f"p_{x}", 0.0) or 0.0), x) for x in grades if x != g), reverse=True)
    alt = "、".join(f"“{esc(x)}” {q:.0%}" for q, x in probs if q >= 0.005)
    where = "，".join(esc(v) for v in (r.get("unit_type"), r.get("township") or r.get("county")) if v)
    s = (f"<b>{esc(r.get('unit_name'))}</b>（{where}）：正式“{esc(g)}”、同类第 {rank}/{n} 名；"
         f"模拟中名次 {lo}–{hi}，保持“{esc(g)}” {float(r.get('p_nominal_grade')):.0%}" + (f"、{alt}" if alt else ""))
    pb = float(r.get("p_bottom_n") or 0.0)
    in_bottom = "bottom_n" in str(r.get("warnings") or "")
    if in_bottom or pb >= 0.005:
        s += (f"；进入后 {bottom_n} 名 {pb:.0%}（正式{'已' if in_bottom else '未'}列入"
              + ("，该预警不确定" if in_bottom and pb < P_STABLE else "") + "）")
    return s + "。"


@register_tab
class SensitivityTab(Tab):
    key, title, order = "sensitivity", "敏感性分析", 40

    def build(self):
        w = self.w
        self.out = w.HTML().add_class("qlw-sensitivity")
        self.listing = w.HTML(layout=w.Layout(flex="1 1 640px", min_width="0")).add_class("qlw-sens-list")
        self.chart_grades = image("qlw-sens-grades", "100%")
        self.chart_ranks = image("qlw-sens-ranks", "100%")
        charts = w.VBox([self.chart_grades, self.chart_ranks], layout=w.Layout(flex="0 1 600px", min_width="0"))
        self.box.children = [self.out, w.HBox([self.listing, charts], layout=w.Layout(
            flex_flow="row wrap", align_items="flex-start", grid_gap="8px 24px", width="100%"))]

    def render(self):
        app = self.app
        f = app.state.filters
        fw = app.framework
        head = f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}"
        sens = app.data.sensitivity(f.period)
        table = sens.of(f.framework) if sens is not None else None
        show_png(self.chart_grades, None)
        show_png(self.chart_ranks, None)
        self.listing.value = ""
        scope = app.scope_rows()
        if table is None:
            why = ("结果是按另一套评分规格计算的，已不适用于当前正式结果" if sens is not None and f.framework in sens.stale
                   else "尚无结果")
            self.out.value = self.head(head, n_units=len(scope)) + info_html(
                f"{esc(period_label(f.period))}（{esc(fw.name)}）的敏感性分析{why}。运行 "
                f"<code>qlwork sensitivity --period {esc(f.period)}</code> 后，此处列出等级或后 N 名状态不确定的单位。")
            return
        params = sens.params.get(f.framework, {})
        bottom_n = int(params.get("bottom_n") or app.spec.warnings.bottom_n)
        grades = app.grades
        t = table[table["unit_id"].isin(set(scope["unit_id"]))].copy()
        for c in ("unit_type", "county", "township", "grade", "warnings", "total"):
            t[c] = scope[c].reindex(t.index).to_numpy()
        u = uncertain_units(t)
        self.uncertain = u
        n_grade, n_bottom = int(u["grade_uncertain"].sum()), int(u["bottom_uncertain"].sum())
        desc = params.get("description_zh") or "（未记录模拟方法）"
        listed = u.head(MAX_LISTED)
        items = "".join(f'<li data-unit="{esc(r["unit_id"])}">{unit_sentence(r, grades, bottom_n)}</li>'
                        for _, r in listed.iterrows())
        count = (f"以下按不稳定程度列出全部 {len(u)} 个" if len(u) <= MAX_LISTED
                 else f"共 {len(u)} 个，以下列出最不稳定的 {MAX_LISTED} 个")
        summary = (f"筛选范围内 <b>{len(t)}</b> 个单位中，等级不确定（保持正式等级的概率 &lt; 95%）的 "
                   f"<b class='qlw-n-grade'>{n_grade}</b> 个，后 {bottom_n} 名状态不确定（进入同类后 {bottom_n} 名的概率在 "
                   f"5%–95% 之间）的 <b class='qlw-n-bottom'>{n_bottom}</b> 个；其余 {len(t) - len(u)} 个单位的等级与后 "
                   f"{bottom_n} 名状态在至少 95% 的模拟中不变。")
        body = (f"<div class='qlw-sim-desc' style='margin:4px 0'><b>模拟了什么：</b>{esc(desc)}</div>"
                f"<div style='margin:4px 0'>{summary}</div>")
        if len(u):
            self.listing.value = (TABLE_CSS + f"<div style='margin-top:6px'><b>需要关注的单位</b>（{count}；"
                                  f"名次区间为 90% 的模拟所落的范围）：</div>"
                                  f"<ol class='qlw-sentences qlw-uncertain'>{items}</ol>")
        else:
            body += info_html("筛选范围内没有等级或后 N 名状态不确定的单位。")
        self.out.value = (TABLE_CSS + self.head(head, n_units=len(t), uncertain=len(u)) + body)
        if app.chart_enabled and len(u):
            self._charts(u.head(MAX_CHART), grades)

    def _charts(self, u: pd.DataFrame, grades):
        from ...charts.plots import grade_probability_plot, rank_interval_plot

        names = (u["unit_name"].astype(str) + "（" + u["unit_type"].astype(str) + "）").to_numpy()
        gcols = [g for g in grades if f"p_{g}" in u.columns]
        d = pd.DataFrame({"unit": names, **{g: u[f"p_{g}"].astype(float).to_numpy() for g in gcols}})
        show_png(self.chart_grades, figure_png(grade_probability_plot(
            d, grades=gcols, sort=False, title=f"等级概率：最不稳定的 {len(u)} 个单位（按不稳定程度排列）")))
        groups = u["peer_group"].astype(str).unique() if "peer_group" in u.columns else []
        if len(groups) == 1:  # ranks are within a peer group: one chart only for one group
            d = pd.DataFrame({"unit": names, "nominal_rank": u["nominal_rank"].astype(float).to_numpy(),
                              "rank_median": u["median_rank"].astype(float).to_numpy(),
                              "rank_lo": u["rank_p05"].astype(float).to_numpy(),
                              "rank_hi": u["rank_p95"].astype(float).to_numpy()})
            show_png(self.chart_ranks, figure_png(rank_interval_plot(
                d, title=f"{groups[0]}：正式名次与 90% 名次区间", interval_label="5%–95% 名次区间")))
