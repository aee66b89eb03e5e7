"""Per-unit health-check report (体检报告单), rendered to self-contained HTML.

Everything that compares a unit with its peers is computed once for all units
(pandas group-bys over the score and normalised-indicator tables), so building
one report is a dictionary look-up plus a Jinja render; the charts are inline
SVG built from the numbers (:mod:`qlwork.report.svg`).

Rank/grade uncertainty: when a sensitivity result is passed its rank interval,
P(bottom N) and grade probabilities are shown.  Otherwise a deterministic
"closeness" band is shown: the ranks the unit could take if scores within
``tie_points`` (default 1 point) of it are treated as indistinguishable — TI and
WGI both warn that close scores are not different (DOMAIN.md §3.8).
"""
from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._common import report_stems, result_frame, units_frame
from .files import StaleFiles, listing, write_file
from .svg import gap_axis, score_bars, trend_line

__all__ = ["UnitReportBuilder", "render_unit_report", "write_unit_reports", "template_env", "sensitivity_frame"]

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_ENV = None


def template_env():
    """The shared Jinja2 environment (autoescaping on; templates in qlwork/templates)."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                                  autoescape=jinja2.select_autoescape(["html", "j2"]),
                                  trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["num"] = _num
        _ENV.filters["signed"] = _signed
        _ENV.filters["rank"] = _rank
        _ENV.filters["rule"] = lambda r: _RULES.get(str(r), str(r) if r else "按分数定等")
        from ..labels import period_label

        _ENV.filters["period"] = period_label
    return _ENV


def _num(v: Any, nd: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.{nd}f}"


_RULES = {"score-cutoff": "按分数线定等", "score": "按分数线定等", "quota": "按比例定等",
          "veto": "一票否决（等级封顶）", "missing": "数据缺失，不定等", "": "按分数线定等"}


def _rank(v: Any) -> str:
    f = _f(v)
    return "—" if math.isnan(f) else str(int(round(f)))


def _signed(v: Any, nd: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{float(v):+.{nd}f}"


def _f(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


_SENS_ALIASES = {
    "rank_lo": ("rank_lo", "rank_low", "rank_lower", "rank_p05", "rank_q05", "rank_5", "rank_ci_lo"),
    "rank_hi": ("rank_hi", "rank_high", "rank_upper", "rank_p95", "rank_q95", "rank_95", "rank_ci_hi"),
    "rank_median": ("rank_median", "median_rank", "rank_med", "rank_p50", "rank_q50"),
}


def sensitivity_frame(sensitivity: Any) -> pd.DataFrame | None:
    """Per-unit uncertainty table (index unit_id) from a sensitivity result or DataFrame.

    Recognised columns: rank_lo/rank_hi (or rank_p05/rank_p95 …), rank_median,
    p_bottom* (probability of being in the bottom N), p_<grade> or prob_<grade>.
    """
    if sensitivity is None:
        return None
    df = None
    if isinstance(sensitivity, pd.DataFrame):
        df = sensitivity
    else:
        for attr in ("unit_table", "rank_intervals", "units_frame", "unit_summary", "ranks"):
            v = getattr(sensitivity, attr, None)
            if callable(v):
                try:
                    v = v()
                except TypeError:
                    v = None
            if isinstance(v, pd.DataFrame) and len(v):
                df = v
                break
        if df is None and hasattr(sensitivity, "to_frame"):
            df = sensitivity.to_frame()
    if df is None or not isinstance(df, pd.DataFrame) or df.empty:
        return None
    df = df.copy()
    if "unit_id" in df.columns:
        if df["unit_id"].duplicated().any():
            return None
        df = df.set_index("unit_id")
    df.index = df.index.astype(str)
    ren = {}
    for std, names in _SENS_ALIASES.items():
        for n in names:
            if n in df.columns and std not in df.columns:
                ren[n] = std
                break
    return df.rename(columns=ren)


class UnitReportBuilder:
    """Precomputed peer statistics for every unit of an :class:`IndexResult`.

    Parameters
    ----------
    result : IndexResult
    sensitivity : optional sensitivity result / DataFrame (see :func:`sensitivity_frame`)
    history : optional long table (unit_id, period, total) of earlier periods for the trend
    period, scope : labels printed on the report
    tie_points : closeness band for the deterministic rank interval when no sensitivity result
    n_top : how many strongest/weakest indicators to list
    """

    def __init__(self, result, *, sensitivity: Any = None, history: pd.DataFrame | None = None,
                 compare: Any = None, period: str | None = None, scope: str | None = None,
                 tie_points: float = 1.0, n_top: int = 3, scope_ids: Iterable[str] | None = None,
                 rescored: str | None = None, improvement: Any = "auto", risk_points: Mapping[str, list] | None = None):
        # Every number comes from the (official) result: peer statistics over the whole result,
        # even when only a scope's units are reported (``scope_ids``); ``compare`` is kept for
        # callers of the old signature and ignored — divergence is a warning of the result.
        self.result = result
        self.rescored, self._risk = rescored or "", dict(risk_points or {})  # unit → 廉政风险点 rows
        # 限期治理建议 (qlwork.report.remedy): "auto" = planned on first use for the warned units reported
        # (never for a labelled re-scoring), None = no section, or a ready ImprovementPlan
        self._plan = None if (improvement is None or rescored) else improvement
        self.dec = int(getattr(result, "decimals", 2))
        self.fw = fw = result.framework
        params = dict(getattr(result, "params", {}) or {})
        self.params = params
        self.period = period or getattr(result, "period", None) or params.get("period") or ""
        self.scope = scope or ""
        self.tie_points = float(tie_points)
        self.n_top = int(n_top)
        self.frame = result_frame(result).set_index("unit_id")
        scores = result.scores.copy()
        scores.index = scores.index.astype(str)
        self.scores = scores
        self.units = units_frame(result).reindex(scores.index)
        norm = result.normalized.copy()
        norm.index = norm.index.astype(str)
        self.norm = norm.reindex(scores.index)
        self.pass_mark = _f(params.get("pass_mark", fw.pass_mark))
        if math.isnan(self.pass_mark):
            self.pass_mark = float(fw.pass_mark)
        g = params.get("grades")
        if isinstance(g, Mapping):
            g = list(g.items())
        try:
            self.grades = sorted(((str(a), float(b)) for a, b in (g or fw.grades)), key=lambda t: -t[1])
        except (TypeError, ValueError):
            self.grades = sorted(fw.grades, key=lambda t: -t[1])

        peer_col = params.get("peer_group", "unit_type")
        if "peer_group" in self.units.columns and self.units["peer_group"].notna().all():
            groups = self.units["peer_group"].astype(str)
        elif isinstance(peer_col, str) and peer_col in self.units.columns:
            groups = self.units[peer_col].astype(str).fillna("全部")
        else:
            groups = pd.Series("全部", index=scores.index)
        self.groups = groups.rename("peer")
        self.peer_label = {"unit_type": "同类型单位", "county": "同县市区单位", "city": "同市州单位"}.get(
            peer_col if isinstance(peer_col, str) else "", "同组单位")

        self.level1 = [n for n in fw.level1 if n in scores.columns]
        self.score_cols = self.level1 + [c for c in ("internal", "public", "bonus", "total") if c in scores.columns]
        sc = scores[self.score_cols].astype(float)
        grp = sc.groupby(self.groups)
        self.q25 = grp.quantile(0.25)
        self.q50 = grp.median()
        self.q75 = grp.quantile(0.75)
        self.node_rank = grp.rank(ascending=False, method="min")
        self.group_n = self.groups.map(self.groups.value_counts())

        ind_cols = [c for c in fw.indicator_ids if c in self.norm.columns]
        self.ind_cols = ind_cols
        nv = self.norm[ind_cols].astype(float)
        self.ind_median = nv.groupby(self.groups).median()
        # the weights that scored each unit and the points it lost on each indicator — the exact
        # decomposition of the result (Σ points lost = 100 − internal score), not a re-derivation
        it = result.indicator_table()
        self.eff_w = it.pivot(index="unit_id", columns="indicator_id", values="weight").reindex(
            index=nv.index, columns=ind_cols).fillna(0.0)
        self.loss = it.pivot(index="unit_id", columns="indicator_id", values="points_lost").reindex(
            index=nv.index, columns=ind_cols).fillna(0.0)
        self.ind_median = it.pivot_table(index="unit_id", columns="indicator_id", values="peer_median").reindex(
            columns=ind_cols)
        W = self.eff_w.to_numpy()
        self.l1_of = {i: fw.level1_of(i) for i in ind_cols}
        self.scope_ids = None if scope_ids is None else [u for u in scores.index if u in set(map(str, scope_ids))]
        from ..labels import grade_colors

        self.grade_labels = [lab for lab, _ in self.grades]
        self.colors = grade_colors(self.grade_labels)

        w = getattr(result, "warnings", None)
        if w is None or len(w) == 0:
            w = pd.DataFrame(columns=["unit_id", "code", "reason_zh", "detail"])
        w = w.copy()
        w["unit_id"] = w["unit_id"].astype(str)
        if "period" in w.columns and self.period:
            w = w[w["period"].astype(str).isin([str(self.period), "当期"]) | w["period"].isna()]
        info = w["code"].astype(str).isin(INFO_CODES)
        self.warn = {k: v for k, v in w[~info].groupby("unit_id", sort=False)}
        self.notes = {k: v for k, v in w[info].groupby("unit_id", sort=False)}

        self.sens = sensitivity_frame(sensitivity)
        self.history = None
        if history is None and getattr(result, "history", None) is not None and len(result.history):
            rh = result.history
            if isinstance(rh.index, pd.MultiIndex) and "total" in rh.columns:
                history = rh["total"].rename("total").reset_index()
        if history is not None and len(history):
            h = history.copy()
            h["unit_id"] = h["unit_id"].astype(str)
            piv = h.pivot_table(index="unit_id", columns="period", values="total", aggfunc="first")
            self.history = piv.reindex(columns=sorted(piv.columns))
            hg = self.groups.reindex(self.history.index)
            self.history_peer = self.history.groupby(hg).median()
        # deterministic closeness band: sorted totals per peer group
        tot_s = scores["total"].astype(float) if "total" in scores.columns else pd.Series(np.nan, index=scores.index)
        self._sorted_totals = {k: np.sort(v.dropna().to_numpy()) for k, v in tot_s.groupby(self.groups)}
        self.generated = _dt.date.today().isoformat()
        # the scoring methods in words (never the internal English values)
        from ..labels import method_label

        spec = getattr(result, "spec", None)
        pick = (lambda k: getattr(spec, k)) if spec is not None else (lambda k: params.get(k, ""))
        self.methods_zh = {k: method_label(k, pick(k)) for k in ("normalization", "aggregation", "imputation",
                                                                  "outliers", "peer_group")}
        self.spec_fingerprint = spec.fingerprint() if spec is not None else params.get("spec_fingerprint", "")
        # plain-array / dict caches: per-unit look-ups without pandas indexing (1,500 reports in seconds)
        self._pos = {u: k for k, u in enumerate(scores.index)}
        self._gid = self.groups.to_numpy()
        self._N, self._L, self._W = nv.to_numpy(dtype=float), self.loss.to_numpy(), W
        self._col = {c: j for j, c in enumerate(ind_cols)}
        self._MED = self.ind_median.reindex(nv.index).to_numpy(dtype=float)
        self._S = {c: sc[c].to_numpy(dtype=float) for c in self.score_cols}
        self._Q = {(g, c): (float(self.q25.at[g, c]), float(self.q50.at[g, c]), float(self.q75.at[g, c]))
                   for g in self.q50.index for c in self.score_cols}
        self._NR = {c: self.node_rank[c].to_numpy(dtype=float) for c in self.score_cols}
        self._frame_rows = self.frame.to_dict("index")
        # file stems <code>_<name> of every unit of the result (stable whatever subset is written)
        self._stems = report_stems({u: self._frame_rows.get(u, {}).get("unit_name") for u in scores.index})
        self._unit_rows = self.units.to_dict("index")
        self._gn = self.group_n.to_numpy()
        self._fp = fw.fingerprint()
        self._meta = {i: (fw.indicators[i].name, fw.name_of(self.l1_of[i]) if self.l1_of.get(i) else "",
                          self.l1_of.get(i), fw.indicators[i].source) for i in ind_cols}
        self._warn_rows = {k: v.to_dict("records") for k, v in self.warn.items()}
        self._note_rows = {k: v.to_dict("records") for k, v in self.notes.items()}
        self._hist_rows, self._hist_peer = {}, {}
        if self.history is not None:
            self._hist_rows = {u: [float(x) for x in r] for u, r in zip(self.history.index, self.history.to_numpy(float))}
            self._hist_peer = {gg: [float(x) for x in r] for gg, r in
                               zip(self.history_peer.index, self.history_peer.to_numpy(float))}
        if self.sens is not None:
            self._sens_rows = self.sens.to_dict("index")
        # previous period's indicator scores, to name the indicators behind a large drop
        self._prev = None
        nh, prev = getattr(result, "normalized_history", None), params.get("previous_period")
        if nh is not None and prev is not None and isinstance(nh.index, pd.MultiIndex) \
                and prev in nh.index.get_level_values(0):
            pm = nh.xs(prev, level=0)
            pm.index = pm.index.astype(str)
            self._prev = pm.reindex(index=scores.index, columns=ind_cols).to_numpy(dtype=float)

    # ---------------------------------------------------------------- pieces
    def stem(self, uid: str) -> str:
        """File stem of a unit's report files: ``<code>_<name>`` (safe as a file name)."""
        return self._stems[str(uid)]

    def unit_ids(self) -> list[str]:
        """The units reported: the scope's (``scope_ids``) or every unit of the result."""
        return list(self.scores.index) if self.scope_ids is None else list(self.scope_ids)

    def _color(self, uid: str | None = None, grade: Any = None) -> str:
        from ..labels import grade_color

        row = self._frame_rows.get(uid, {}) if uid is not None else {}
        g = grade if grade is not None else row.get("grade")
        return grade_color(g, self.grade_labels, vetoed=bool(row.get("veto")))

    def _score_color(self, v: float) -> str:
        """Colour of an indicator or goal score by the grade band it falls in (same palette as grades)."""
        if v is None or math.isnan(v):
            return self.colors.get(self.grade_labels[-1], "#9E9E9E")
        for lab, lo in self.grades:
            if v >= lo:
                return self.colors[lab]
        return self.colors[self.grade_labels[-1]]

    def indicator_rows(self, uid: str, ids: Sequence[str] | None = None) -> list[dict]:
        k = self._pos[uid]
        x, loss, w = self._N[k], self._L[k], self._W[k]
        med = self._MED[k]
        tot_loss = float(loss.sum())
        out = []
        for i in (ids or self.ind_cols):
            j = self._col[i]
            v = float(x[j])
            if math.isnan(v):
                continue
            name, node, l1, source = self._meta[i]
            m = float(med[j]) if med is not None else float("nan")
            out.append({"id": i, "name": name, "node": node, "node_id": l1, "source": source, "value": v,
                        "peer_median": m, "diff": v - m, "weight": float(w[j]), "loss": float(loss[j]),
                        "loss_share": float(loss[j]) / tot_loss if tot_loss > 0 else 0.0,
                        "public": bool(self.fw.indicators[i].public),
                        "color": self._score_color(v)})
        return out

    def behind(self, uid: str, node_id: str | None = None, k: int = 3) -> list[dict]:
        """Indicators behind a warning: the largest weighted point losses (under ``node_id``)."""
        ids = self.fw.leaves_under(node_id) if node_id else None
        rows = self.indicator_rows(uid, [i for i in ids if i in self.ind_cols] if ids else None)
        rows = [r for r in rows if r["loss"] > 0]
        return sorted(rows, key=lambda r: -r["loss"])[:k]

    def _component_rows(self, uid: str) -> list[dict]:
        """The public (获得感) and internal (专业分) scores against their peer medians."""
        k, g = self._pos[uid], self._gid[self._pos[uid]]
        out = []
        for c, name in (("public", "获得感（群众评价）"), ("internal", "专业分")):
            if c in self._S and not math.isnan(self._S[c][k]):
                q = self._Q.get((g, c), (math.nan,) * 3)
                v = float(self._S[c][k])
                out.append({"id": c, "name": name, "node": "", "node_id": None, "source": "", "value": v,
                            "peer_median": q[1], "diff": v - q[1], "weight": 0.0, "loss": 0.0, "loss_share": 0.0,
                            "color": self._score_color(v)})
        return out

    def dropped(self, uid: str, k: int = 3) -> list[dict]:
        """Indicators whose 0–100 score fell most since the previous period (behind a large drop)."""
        j = self._pos[uid]
        delta = self._N[j] - self._prev[j]
        rows = {r["id"]: r for r in self.indicator_rows(uid)}
        order = [self.ind_cols[c] for c in np.argsort(np.nan_to_num(delta, nan=np.inf)) if delta[c] < 0]
        out = []
        for i in order[:k]:
            r = dict(rows[i])
            r["change"] = float(delta[self._col[i]])
            out.append(r)
        return out

    def node_of_warning(self, code: str, detail: str) -> str | None:
        text = f"{code} {detail}"
        for n in self.level1:
            if n in text.split() or f"({n})" in text or self.fw.name_of(n) in text or text.endswith(n):
                return n
        return None

    def warnings_of(self, uid: str) -> list[dict]:
        out = []
        for r in self._warn_rows.get(uid, ()):
            code, detail = str(r.get("code", "")), "" if pd.isna(r.get("detail")) else str(r.get("detail"))
            node = self.node_of_warning(code, detail)
            if code == "large_drop" and self._prev is not None:
                behind = self.dropped(uid, 3)
            elif "diverg" in code or "背离" in str(r.get("reason_zh", "")):
                pub = [i for i in self.fw.public_indicators() if i in self.ind_cols]
                behind = self._component_rows(uid) + self.indicator_rows(uid, pub)
            else:
                behind = self.behind(uid, node, 3)
            p_bottom = None
            if code == "bottom_n" and self.sens is not None:
                srow = self._sens_rows.get(uid, {})
                pb = next((srow[c] for c in srow if str(c).startswith("p_bottom")), None)
                p_bottom = None if pb is None or self._isna(pb) else float(pb)
            out.append({"code": code, "reason": str(r.get("reason_zh", code)), "detail": detail,
                        "node": self.fw.name_of(node) if node else "", "behind": behind,
                        "level": _warning_level(code), "p_bottom": p_bottom,
                        # DOMAIN.md §3.8: bottom-N by point estimate but P(bottom N) < 0.5 is shown as uncertain
                        "uncertain": p_bottom is not None and p_bottom < 0.5})
        return out

    def uncertainty(self, uid: str) -> dict:
        k = self._pos[uid]
        total = float(self._S["total"][k]) if "total" in self._S else float("nan")
        g = self._gid[k]
        n = int(self._gn[k])
        u: dict[str, Any] = {"source": "closeness", "n": n, "tie_points": self.tie_points}
        if self.sens is not None and uid in self._sens_rows:
            s = self._sens_rows[uid]
            u["source"] = "sensitivity"
            for key in ("rank_lo", "rank_hi", "rank_median"):
                if key in s:
                    u[key] = _f(s[key])
            pb = [c for c in s if str(c).startswith("p_bottom")]
            if pb:
                u["p_bottom"] = _f(s[pb[0]])
            probs = []
            for name, _ in self.grades:
                for c in (f"p_{name}", f"prob_{name}", name):
                    if c in s:
                        probs.append({"grade": name, "p": _f(s[c])})
                        break
            u["grade_probs"] = probs
        elif not math.isnan(total):
            arr = self._sorted_totals.get(g, np.array([]))
            d = self.tie_points
            u["rank_lo"] = 1 + int(arr.size - np.searchsorted(arr, total + d, side="right"))
            u["rank_hi"] = int(arr.size - np.searchsorted(arr, total - d, side="left"))
            u["n_close"] = max(u["rank_hi"] - u["rank_lo"], 0)
        if not math.isnan(total):
            cuts = [lo for _, lo in self.grades if lo > 0]
            if cuts:
                nearest = min(cuts, key=lambda c: abs(total - c))
                u["nearest_cut"] = nearest
                u["margin"] = total - nearest
                u["grade_stable"] = abs(total - nearest) > self.tie_points
        return u

    def improvement_plan(self, units: Iterable[str] | None = None):
        """The improvement plan of the warned units among ``units`` (default: those reported), computed
        once (:func:`qlwork.report.remedy.plan_for_builder`)."""
        if isinstance(self._plan, str):
            from .remedy import plan_for_builder

            self._plan = plan_for_builder(self.result, self.unit_ids() if units is None else units)
        return self._plan

    def improvement(self, uid: str) -> dict | None:
        """The 限期治理建议 section of one unit (:func:`qlwork.report.remedy.unit_section`)."""
        from .remedy import unit_section

        return unit_section(self.improvement_plan(), uid, dec=self.dec)

    def _isna(self, v) -> bool:
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))

    def context(self, uid: str) -> dict:
        """Everything the 体检报告单 template shows for one unit (plain Python values)."""
        uid = str(uid)
        fw = self.fw
        k = self._pos[uid]
        row = self._frame_rows.get(uid, {})
        urow = self._unit_rows.get(uid, {})
        g = self._gid[k]
        nan = float("nan")

        def sc(c):
            return float(self._S[c][k]) if c in self._S else nan

        def stat(c, j=1):
            q = self._Q.get((g, c))
            return q[j] if q else nan

        nodes = [{"id": c, "label": fw.name_of(c), "value": sc(c), "p25": stat(c, 0), "median": stat(c),
                  "p75": stat(c, 2), "rank": float(self._NR[c][k])} for c in self.level1]
        bars = [dict(n) for n in nodes]
        if "total" in self._S:
            bars.append({"label": "综合得分", "value": sc("total"), "p25": stat("total", 0),
                         "median": stat("total"), "p75": stat("total", 2), "color": self._color(uid),
                         "dec": self.dec})
        inds = self.indicator_rows(uid)
        by_id = {r["id"]: r for r in inds}
        st, wk = self.result.strengths_weaknesses(uid, self.n_top)  # one rule: dashboard and print agree
        strongest = [dict(by_id[i], gap=g) for i, g in zip(st["indicator_id"], st["diff"]) if i in by_id]
        weakest = [dict(by_id[i], gap=g) for i, g in zip(wk["indicator_id"], wk["diff"]) if i in by_id]
        decomposition = {"rows": [r for r in inds if not r.get("public")],
                         "lost": float(sum(r["loss"] for r in inds if not r.get("public"))),
                         "internal": sc("internal")}

        trend = None
        if self.history is not None and uid in self._hist_rows:
            periods = list(self.history.columns)
            vals = list(self._hist_rows[uid])
            peer = list(self._hist_peer[g]) if g in self._hist_peer else None
            if self.period and self.period not in periods and not math.isnan(sc("total")):
                periods.append(self.period)
                vals.append(sc("total"))
                if peer is not None:
                    peer.append(stat("total"))
            trend = {"periods": periods, "values": vals,
                     "svg": trend_line(periods, vals, peer=peer, pass_mark=self.pass_mark)}

        internal, public = sc("internal"), sc("public")
        gap = None
        if not math.isnan(public):
            pi, pp = stat("internal"), stat("public")
            diverges = any(r.get("code") == "divergence" for r in self._warn_rows.get(uid, ()))
            gap = {"internal": internal, "public": public, "gap": public - internal,
                   "peer_internal": pi, "peer_public": pp, "peer_gap": pp - pi, "diverges": diverges,
                   "svg": gap_axis(internal, public, peer_internal=pi, peer_public=pp)}

        def rv(key):
            v = row.get(key)
            return None if self._isna(v) else v

        region = " / ".join(str(urow[c]) for c in ("city", "county", "township")
                            if isinstance(urow.get(c), str) and urow.get(c))
        notes = [str(r.get("reason_zh") or r.get("code")) + (f"：{r['detail']}" if isinstance(r.get("detail"), str)
                                                           and r.get("detail") else "")
                 for r in self._note_rows.get(uid, ())]
        return {
            "unit_id": uid,
            "unit_name": rv("unit_name") or urow.get("unit_name") or uid,
            "unit_type": rv("unit_type") or urow.get("unit_type") or "",
            "region": region, "period": self.period, "scope": self.scope,
            "framework": {"id": fw.id, "name": fw.name, "version": fw.version, "fingerprint": self._fp},
            "total": sc("total"), "peer_median_total": stat("total"), "grade": rv("grade") or "",
            "dec": self.dec, "bonus": sc("bonus") if "bonus" in self._S else 0.0,
            "bonus_detail": rv("bonus_detail") or "", "veto": rv("veto") or "", "rescored": self.rescored,
            "decomposition": decomposition,
            "grade_rule": rv("grade_rule") or "", "rank": rv("rank"), "rank_in_region": rv("rank_in_region"),
            "peer_n": int(self._gn[k]), "peer_group": g, "peer_label": self.peer_label, "change": rv("change"),
            "internal": internal, "public": public,
            "nodes": nodes, "nodes_svg": score_bars(bars, pass_mark=self.pass_mark, grades=self.grades),
            "strongest": strongest, "weakest": weakest, "indicators": inds,
            "trend": trend, "gap": gap, "warnings": self.warnings_of(uid), "notes": notes,
            "uncertainty": self.uncertainty(uid), "pass_mark": self.pass_mark,
            "grades": self.grades, "social_share": self.params.get("social_share", fw.social_share),
            "normalization": self.params.get("normalization", ""),
            "aggregation": self.params.get("aggregation", ""),
            "methods_zh": self.methods_zh, "spec_fingerprint": self.spec_fingerprint,
            "generated": self.generated,
            "grade_color": self._color(uid), "risk_points": self._risk.get(uid, []),  # partial _risk_points
            "improvement": self.improvement(uid),
        }

    def render(self, uid: str, template: str = "unit_report.html.j2") -> str:
        return template_env().get_template(template).render(**self.context(uid))


#: Data-quality codes: shown in the report, but not 预警 reasons (no notice is issued for them).
INFO_CODES = frozenset({"missing_data", "missing_public"})


def _warning_level(code: str) -> str:
    """Huai'an pattern (DOMAIN.md §2.2): red = veto; yellow = below pass / bottom N; blue = the rest."""
    c = code.lower()
    if "red" in c or "veto" in c:
        return "red"
    if c in ("below_pass", "bottom_n") or "yellow" in c:
        return "yellow"
    return "blue"


def render_unit_report(result, unit_id: str, **kw) -> str:
    """HTML of one unit's 体检报告单 (builds the peer statistics; use the builder for batches)."""
    b = UnitReportBuilder(result, **kw)
    b.improvement_plan([str(unit_id)])  # 限期治理建议 of this unit only
    return b.render(unit_id)


def write_unit_reports(result_or_builder, out_dir: str | Path, *, units: Iterable[str] | None = None,
                       progress: bool = True, atomic: bool = True, **kw) -> list[Path]:
    """Write ``<out_dir>/<code>_<name>.html`` for every unit (or ``units``), each file atomically
    (``atomic=False`` only inside a staging folder, see :func:`write_file`).  When only some units are
    written into an existing set, each unit's earlier files (another name, the old ``<code>.html``) go."""
    from tqdm.auto import tqdm

    b = result_or_builder if isinstance(result_or_builder, UnitReportBuilder) else UnitReportBuilder(result_or_builder, **kw)
    out_dir = Path(out_dir)
    ids = b.unit_ids() if units is None else [str(u) for u in units]
    stale = StaleFiles(out_dir, {f"{b.stem(u)}.{ext}" for u in b.unit_ids() for ext in ("html", "pdf")}) \
        if listing(out_dir) else None
    out_dir.mkdir(parents=True, exist_ok=True)
    tpl = template_env().get_template("unit_report.html.j2")
    paths = []
    for uid in tqdm(ids, desc="体检报告单 unit reports", unit="份", disable=not progress, leave=False):
        p = out_dir / f"{b.stem(uid)}.html"
        if stale is not None:
            stale.remove(uid, {p.name})
        write_file(p, tpl.render(**b.context(uid)), atomic=atomic)
        paths.append(p)
    return paths
