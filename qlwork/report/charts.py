"""Analyst charts (PNG + SVG) for a report set, drawn with the :mod:`qlwork.charts` package.

These are the matplotlib charts embedded in the Excel workbook and exported
alongside it; the per-unit reports use the light inline SVG of
:mod:`qlwork.report.svg` instead.  Each chart is optional: a chart whose input
is absent (no public scores, no sensitivity result) is skipped, and a failing
chart is reported in the returned ``skipped`` mapping rather than aborting the
report run.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._common import result_frame

__all__ = ["export_charts"]

MAX_BARS = 40


def export_charts(result, out_dir: str | Path, *, sensitivity_table: pd.DataFrame | None = None,
                  divergence: pd.DataFrame | None = None, stem: str = "", units=None,
                  dpi: int = 150) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Draw the standard charts into ``out_dir``; returns ({name: [png, svg]}, {name: reason skipped}).

    ``divergence``: a :func:`qlwork.analysis.compare.divergence` table (unit_id, flag_low_public);
    its flagged units are drawn red and labelled in 专业分与获得感.
    """
    from ..charts import layout, ranking, regions, sensitivity, survey

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fw = result.framework
    f = result_frame(result)
    if units is not None:  # a scope: the scope's units, with their official numbers
        f = f[f["unit_id"].isin(set(map(str, units)))]
    if divergence is None and getattr(result, "divergence", None) is not None:
        divergence = result.divergence  # the one divergence definition, from the result
    pass_mark = float((getattr(result, "params", {}) or {}).get("pass_mark", fw.pass_mark))
    done: dict[str, list[Path]] = {}
    skipped: dict[str, str] = {}
    pre = f"{stem}_" if stem else ""

    def draw(name: str, fn):
        try:
            fig = fn()
            if fig is None:
                return
            # the figures are pyplot-free: nothing to close, they are freed with their last reference
            done[name] = layout.save_figure(fig, out_dir / f"{pre}{name}", formats=("png", "svg"), dpi=dpi)
        except Exception as e:  # noqa: BLE001 - one failed chart must not stop the report
            skipped[name] = f"{type(e).__name__}: {e}"

    d = f.dropna(subset=["total"]) if "total" in f.columns else f.iloc[0:0]
    if len(d):
        if len(d) > MAX_BARS:  # the bottom of the list is what a review meeting discusses
            sub = d.nsmallest(MAX_BARS, "total")
            title = f"清廉指数排行榜（末位 {MAX_BARS} 名，共 {len(d)} 个单位）"
        else:
            sub, title = d, "清廉指数排行榜"
        draw("排行榜", lambda: ranking.ranking_bar(sub, label="unit_name", score="total",
                                              grade="grade" if "grade" in sub.columns else None,
                                              pass_mark=pass_mark, title=title))
        region = next((c for c in ("county", "city", "unit_type") if c in d.columns and d[c].nunique() > 1), None)
        nodes = [n for n in fw.level1 if n in d.columns]
        if region and nodes:
            long = d.melt(id_vars=[region], value_vars=nodes, var_name="node", value_name="score")
            long["node"] = long["node"].map(fw.name_of)
            draw("地区分维度热图", lambda: regions.region_heatmap(long, region=region, node="node", score="score",
                                                       node_order=[fw.name_of(n) for n in nodes]))
    if {"internal", "public"} <= set(f.columns) and f["public"].notna().sum() >= 3:
        sc = f.dropna(subset=["internal", "public"])
        flag = None
        cmp = divergence.reset_index() if divergence is not None and "unit_id" not in divergence.columns \
            else divergence
        if cmp is not None and {"unit_id", "flag_low_public"} <= set(cmp.columns):
            flagged = set(cmp.loc[cmp["flag_low_public"].fillna(False).astype(bool), "unit_id"].astype(str))
            sc = sc.assign(divergent=sc["unit_id"].isin(flagged))
            flag = "divergent"
        draw("专业分与获得感", lambda: survey.agreement_scatter(
            sc, x="internal", y="public", label="unit_name", flag=flag,
            group="unit_type" if "unit_type" in sc.columns else None))
    st = sensitivity_table
    if st is not None and {"rank_lo", "rank_hi"} <= set(st.columns) and "rank" in f.columns:
        # ranks are within a peer group, so each group gets its own chart (rank 10 of 12
        # schools and rank 10 of 40 organs do not belong on one axis)
        pg = next((c for c in ("peer_group", "unit_type") if c in f.columns), None)
        groups = [(None, f)] if pg is None or f[pg].nunique() <= 1 else \
            [(str(g), sub) for g, sub in f.groupby(pg, sort=True)]
        for g, sub in groups:
            name = "排名区间" if g is None else f"排名区间_{g}"
            draw(name, lambda sub=sub, g=g: _rank_interval(sensitivity.rank_interval_plot, st, sub, g))
    return done, skipped


def _rank_interval(plot, st: pd.DataFrame, f: pd.DataFrame, group: str | None):
    """Rank intervals of one peer group's bottom ``MAX_BARS`` units (official rank from the result)."""
    # the sensitivity table may carry its own unit_name/rank columns: the result's win
    own = st.drop(columns=[c for c in ("unit_name", "rank") if c in st.columns])
    s = own.join(f.set_index("unit_id")[["unit_name", "rank"]], how="inner")
    if "rank_median" not in s.columns:
        s["rank_median"] = (s["rank_lo"] + s["rank_hi"]) / 2
    s = s.dropna(subset=["rank"])
    n = len(s)
    if n < 2:
        return None
    s = s.nlargest(MAX_BARS, "rank")
    who = f"{group}（共 {n} 个单位）" if group else f"共 {n} 个单位"
    part = f"末位 {len(s)} 名，" if len(s) < n else ""
    return plot(s, label="unit_name", nominal="rank", nominal_label="正式名次",
                                    title=f"组内排名不确定性：{part}{who}，名义排名与5%–95%区间")
