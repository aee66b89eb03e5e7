"""Building blocks of the review dashboard (评审看板, ``dashboards/review.ipynb``).

The notebook stays thin: it calls :func:`build_review_dashboard` and displays
``.widget``.  Data come from the processed Parquet store (fast to open; raw
``units.xlsx`` only as a fallback before ingestion has run).  Every widget
callback is wrapped by :func:`guarded`, so an error shows as a readable
Chinese message inside the page, never as a silent failure.

Layers, each usable without a browser (``tests/test_dashboard_widgets.py``):

* :func:`load_dashboard_data` → :class:`DashboardData` (registry, values,
  frameworks, periods, optional survey / sensitivity results);
* :class:`IndexCache` — one :func:`qlwork.engine.index.compute_index` per
  (framework, period), memoised; :func:`standard_frame` gives one tidy row
  per unit;
* pure table helpers: :func:`filter_ranking`, :func:`sort_ranking`,
  :func:`ranking_html`, :func:`rebalance`;
* :class:`WeightModel` — live re-ranking for new level-1 weights without
  re-running the pipeline: the normalised matrix X (units × indicators) is
  computed once by ``compute_index``; for new weights the effective leaf
  weights (missing indicators renormalised within their node,
  :func:`qlwork.engine.index.effective_weights`) are recomputed and the scores are
  one matrix product (:func:`qlwork.engine.index.aggregate_matrix`);
* :class:`ReviewDashboard` — the ipywidgets application (tabs 排行榜,
  体检报告单, 权重调整, 敏感性分析, 群众评价, 数据概况).
"""
from __future__ import annotations

import base64
import functools
import html
import io
import json
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..paths import processed_dir, project_root, raw_dir
from ..periods import sort_periods
from ..io.store import read_store

__all__ = [
    "DashboardData", "load_dashboard_data", "load_units_table", "unit_counts",
    "IndexCache", "standard_frame", "filter_ranking", "sort_ranking", "ranking_html",
    "rebalance", "WeightModel", "grade_colors", "error_html", "guarded",
    "ReviewDashboard", "build_review_dashboard", "ALL",
]

ERROR_CLASS = "qlwork-error"
ALL = "全部"
FRAMEWORK_KEYS = ("county", "village")
#: Same as qlwork.charts.plots.GRADE_COLORS (ColorBrewer RdBu; blue good, red bad).
_FALLBACK_GRADE_COLORS = {"优秀": "#2166AC", "良好": "#67A9CF", "合格": "#F4A582", "不合格": "#B2182B"}
WARNING_LABELS = {
    "below_pass": "未达及格线", "below_pass_mark": "未达及格线", "pass_mark": "未达及格线",
    "bottom_n": "同类末位", "bottom": "同类末位", "large_drop": "大幅下降", "drop": "大幅下降",
    "divergence": "内外差异", "gap": "内外差异", "veto": "一票否决", "missing": "数据缺失",
    "imputed": "含插补值", "outlier": "离群值", "missing_data": "数据缺失", "missing_public": "缺群众评价",
}


# ---------------------------------------------------------------- errors
def error_html(exc: BaseException | str, *, context: str = "") -> str:
    """A readable Chinese alert for an exception (no traceback)."""
    if isinstance(exc, QlworkError):
        body = "<br>".join(html.escape(str(p)) for p in exc.problems)
    elif isinstance(exc, BaseException):
        body = html.escape(f"{type(exc).__name__}: {exc}")
    else:
        body = html.escape(str(exc))
    title = "操作未完成" + (f"（{html.escape(context)}）" if context else "")
    return (f'<div class="{ERROR_CLASS}" style="border:1px solid #d9534f;background:#fdf0ef;'
            f'color:#a94442;padding:8px 12px;border-radius:4px;margin:4px 0">'
            f"<b>{title}</b><br>{body}<br><small>请检查所选条件或数据后重试；如问题持续，请联系数据管理员。"
            f" The action failed; details above.</small></div>")


def info_html(text: str) -> str:
    return (f'<div class="qlw-info" style="border:1px solid #bcd;background:#f3f7fb;color:#245;'
            f'padding:8px 12px;border-radius:4px;margin:4px 0">{text}</div>')


def guarded(target, context: str = ""):
    """Decorator: run a widget callback, showing any error in ``target``.

    ``target`` is an ``ipywidgets.HTML`` (or a callable returning one) whose
    value becomes the error alert; it is cleared when the callback succeeds.
    The traceback goes to the server log (stderr), never to the page.
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            box = target() if callable(target) else target
            try:
                out = fn(*a, **k)
            except Exception as e:  # noqa: BLE001 — shown to the user, never swallowed
                box.value = error_html(e, context=context)
                traceback.print_exc()
                return None
            box.value = ""
            return out
        return wrapper
    return deco


# ---------------------------------------------------------------- data
def load_units_table(root: str | Path | None = None) -> pd.DataFrame:
    """The unit registry: ``data/processed/units.parquet`` or, before
    ingestion, ``data/raw/units.xlsx`` (sheet 单位名录)."""
    root = Path(root) if root else project_root()
    p = processed_dir(root) / "units.parquet"
    if p.is_file():
        df = read_store(p)
    else:
        x = raw_dir(root) / "units.xlsx"
        if not x.is_file():
            raise QlworkError(Problem(
                "no_data", "尚无数据：请先运行 `qlwork demo --out data/raw` 和 `qlwork ingest --exclude-invalid`",
                "no processed data yet: run qlwork demo and qlwork ingest first",
                file=str(p)))
        df = pd.read_excel(x, sheet_name="单位名录")
        ren = {"单位编码": "unit_id", "单位名称": "unit_name", "单位类型": "unit_type", "市州": "city",
               "县市区": "county", "乡镇(街道)": "township", "框架": "framework",
               "在编人数": "staff", "服务人口": "population"}
        df = df.rename(columns={c: v for c, v in ren.items() if c in df.columns})
    if "unit_id" not in df.columns:
        df = df.reset_index()
    df["unit_id"] = df["unit_id"].astype(str)
    return df


def unit_counts(units: pd.DataFrame) -> pd.DataFrame:
    """Unit counts by 市州/县市区 × 单位类型 with totals (合计)."""
    return pd.crosstab([units["city"].rename("市州"), units["county"].rename("县市区")],
                       units["unit_type"].rename("单位类型"), margins=True, margins_name="合计")


@dataclass
class DashboardData:
    """Everything the dashboard reads, loaded once per kernel."""

    root: Path
    units: pd.DataFrame
    values: pd.DataFrame | None
    frameworks: dict
    periods: list
    public: dict = field(default_factory=dict)        # period -> DataFrame(unit_id, public, ...)
    sensitivity: dict = field(default_factory=dict)   # period -> DataFrame (per unit)

    def public_table(self) -> pd.DataFrame | None:
        """Survey scores of every period with a ``public_<period>.parquet``
        as one table (unit_id, period, public) for ``compute_index(public=)``."""
        parts = []
        for p, df in self.public.items():
            s = _public_series(df)
            if s is not None:
                parts.append(pd.DataFrame({"unit_id": s.index.astype(str), "period": p,
                                           "public": s.to_numpy(float)}))
        return pd.concat(parts, ignore_index=True) if parts else None

    def framework_units(self, key: str) -> pd.DataFrame:
        u = self.units
        if "framework" in u.columns:
            return u[u["framework"].astype(str) == key]
        fw = self.frameworks[key]
        return u[u["unit_type"].isin(fw.unit_types)]


def _load_frameworks(root: Path) -> dict:
    from ..framework import builtin_framework, load_framework

    out = {}
    for key in FRAMEWORK_KEYS:
        p = raw_dir(root) / f"framework_{key}.yaml"
        out[key] = load_framework(p if p.is_file() else builtin_framework(key))
    return out


def load_dashboard_data(root: str | Path | None = None) -> DashboardData:
    """Read the processed store (and optional survey / sensitivity results)."""
    root = Path(root) if root else project_root()
    units = load_units_table(root)
    pdir = processed_dir(root)
    values = None
    if (pdir / "values.parquet").exists():
        values = read_store(pdir / "values.parquet", columns=["unit_id", "period", "indicator_id", "value"])
        values["unit_id"] = values["unit_id"].astype(str)
        values["period"] = values["period"].astype(str)
    periods = sort_periods(values["period"].unique().tolist()) if values is not None else []
    public, sens = {}, {}
    for p in periods:
        f = pdir / f"public_{p}.parquet"
        if f.is_file():
            public[p] = read_store(f)
        f = pdir / f"sensitivity_{p}.parquet"
        if f.is_file():
            sens[p] = read_store(f)
    return DashboardData(root=root, units=units, values=values, frameworks=_load_frameworks(root),
                         periods=periods, public=public, sensitivity=sens)


def _public_series(df: pd.DataFrame | None) -> pd.Series | None:
    """Public (survey) score per unit from a ``public_<period>.parquet`` table:
    the direct estimate of the ``overall`` item (``qlwork survey`` output, the
    official choice, DOMAIN.md §3.5), or a plain unit_id/public table."""
    if df is None or len(df) == 0:
        return None
    if "indicator_id" in df.columns and "mean" in df.columns:
        from ..survey.pipeline import public_component

        s = public_component(df, "direct", "overall")
        s.index = s.index.astype(str)
        return s.astype(float).dropna()
    d = df.set_index("unit_id") if "unit_id" in df.columns else df
    d.index = d.index.astype(str)
    for c in ("public", "score", "estimate", "public_score"):
        if c in d.columns:
            return d[c].astype(float).dropna()
    return None


# ---------------------------------------------------------------- index results
def standard_frame(result) -> pd.DataFrame:
    """``result.to_frame()`` with unit_id as a column and the columns the
    dashboard needs (missing ones filled), whatever optional extras exist."""
    f = result.to_frame()
    if "unit_id" not in f.columns:
        f = f.reset_index()
        if "unit_id" not in f.columns:
            f = f.rename(columns={f.columns[0]: "unit_id"})
    f = f.reset_index(drop=True)
    f["unit_id"] = f["unit_id"].astype(str)
    units = getattr(result, "units", None)
    if units is not None and len(units):
        u = units.reset_index() if "unit_id" not in units.columns else units
        u = u.assign(unit_id=u["unit_id"].astype(str)).set_index("unit_id")
        for c in ("unit_name", "unit_type", "city", "county", "township"):
            if c not in f.columns and c in u.columns:
                f[c] = f["unit_id"].map(u[c])
    for c in ("unit_name", "unit_type", "city", "county"):
        if c not in f.columns:
            f[c] = ""
    for c in ("rank", "change", "total"):
        if c not in f.columns:
            f[c] = np.nan
    if "warnings" not in f.columns:
        f["warnings"] = ""
    f["warnings"] = f["warnings"].map(_warning_text)
    return f


def _warning_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (list, tuple, set, np.ndarray)):
        return "；".join(str(x) for x in v if str(x))
    return str(v)


class IndexCache:
    """One :func:`compute_index` per (framework key, period), memoised.

    The engine scores every period in the data (``result.history``) and
    fills ``change`` against the previous one itself, so one call per
    (framework, period) is all the dashboard needs.
    """

    def __init__(self, data: DashboardData, **index_kw):
        self.data = data
        self.index_kw = index_kw
        self._res: dict = {}
        self._frames: dict = {}
        self._values: dict = {}

    def values_for(self, key: str) -> pd.DataFrame:
        if key not in self._values:
            ids = set(self.data.framework_units(key)["unit_id"])
            v = self.data.values
            self._values[key] = v[v["unit_id"].isin(ids)]
        return self._values[key]

    def result(self, key: str, period: str):
        k = (key, period)
        if k not in self._res:
            from ..engine.index import compute_index

            if self.data.values is None:
                raise QlworkError(Problem("no_values", "尚无指标数据：请先运行 `qlwork ingest --exclude-invalid`",
                                          "no values.parquet yet", file=str(processed_dir(self.data.root))))
            kw = dict(self.index_kw)
            pub = self.data.public_table()
            if pub is not None:
                kw.setdefault("public", pub)
            self._res[k] = compute_index(self.values_for(key), self.data.frameworks[key], period=period,
                                         units=self.data.framework_units(key), **kw)
        return self._res[k]

    def frame(self, key: str, period: str) -> pd.DataFrame:
        k = (key, period)
        if k not in self._frames:
            self._frames[k] = standard_frame(self.result(key, period))
        return self._frames[k]


# ---------------------------------------------------------------- table helpers
def filter_ranking(frame: pd.DataFrame, *, unit_type: str = ALL, city: str = ALL, county: str = ALL,
                   search: str = "") -> pd.DataFrame:
    """Rows of a standard frame matching the filters (``ALL`` = no filter)."""
    m = np.ones(len(frame), dtype=bool)
    if unit_type and unit_type != ALL:
        m &= (frame["unit_type"] == unit_type).to_numpy()
    if city and city != ALL:
        m &= (frame["city"] == city).to_numpy()
    if county and county != ALL:
        m &= (frame["county"] == county).to_numpy()
    if search:
        m &= frame["unit_name"].astype(str).str.contains(search, regex=False).to_numpy()
    return frame[m]


def sort_ranking(frame: pd.DataFrame, by: str = "total", ascending: bool = False) -> pd.DataFrame:
    """Stable sort with unit_id as the tie-break (so pages are deterministic)."""
    if by not in frame.columns:
        by = "total"
    key = frame[by]
    return frame.assign(_k=key).sort_values(["_k", "unit_id"], ascending=[ascending, True],
                                            na_position="last", kind="mergesort").drop(columns="_k")


def grade_colors() -> dict:
    """Grade → colour: :data:`qlwork.charts.plots.GRADE_COLORS` once the charting
    module is loaded, else the same palette (a copy, so that the first paint
    does not wait seconds for seaborn; a test keeps the two equal)."""
    import sys

    plots = sys.modules.get("qlwork.charts.plots")
    g = getattr(plots, "GRADE_COLORS", None) if plots is not None else None
    return {**_FALLBACK_GRADE_COLORS, **dict(g)} if isinstance(g, Mapping) else dict(_FALLBACK_GRADE_COLORS)


def _fmt(v: Any, nd: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(f) else f"{f:.{nd}f}"


def _text_colour(bg: str) -> str:
    try:
        r, g, b = (int(bg[i:i + 2], 16) for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#000"
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _rank_move(v: Any) -> str:
    f = _f(v)
    if math.isnan(f) or f == 0:
        return '<span style="color:#666">—</span>'
    return (f'<span style="color:#1a7f37">↑{int(f)}</span>' if f > 0
            else f'<span style="color:#c62828">↓{int(-f)}</span>')


def grade_badge(grade: Any, colors: Mapping[str, str]) -> str:
    if grade is None or (isinstance(grade, float) and math.isnan(grade)) or str(grade) == "":
        return "—"
    bg = colors.get(str(grade), "#ccc")
    return (f'<span class="qlw-grade" style="background:{bg};color:{_text_colour(bg)};padding:1px 6px;'
            f'border-radius:3px;white-space:nowrap">{html.escape(str(grade))}</span>')


def change_html(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(f):
        return "—"
    if f > 0.05:
        return f'<span style="color:#1a7f37">▲{f:.1f}</span>'
    if f < -0.05:
        return f'<span style="color:#c62828">▼{-f:.1f}</span>'
    return '<span style="color:#666">0.0</span>'


def warning_badges(text: str) -> str:
    if not text:
        return ""
    out = []
    for part in str(text).replace(",", "；").replace(";", "；").split("；"):
        part = part.strip()
        if not part:
            continue
        label = WARNING_LABELS.get(part, part)
        out.append(f'<span class="qlw-warn" title="{html.escape(part)}" style="background:#fff3cd;'
                   f'color:#8a5300;border:1px solid #f0c36d;padding:0 4px;border-radius:3px;margin-right:2px;'
                   f'white-space:nowrap;font-size:12px">⚠{html.escape(label)}</span>')
    return "".join(out)


TABLE_CSS = """<style>
.qlw-table{border-collapse:collapse;font-size:13px;width:100%;line-height:1.4}
.qlw-table th{background:#f2f4f7;position:sticky;top:0;padding:4px 6px;line-height:1.4;border-bottom:2px solid #ccd;
  text-align:center;white-space:nowrap}
.qlw-table td{padding:3px 6px;line-height:1.4;border-bottom:1px solid #eee;white-space:nowrap;text-align:right}
.qlw-table td.t{text-align:left}
.qlw-table tr.qlw-changed td{background:#fff7d6}
.qlw-table tr:hover td{background:#eef5ff}
</style>"""


def ranking_html(rows: pd.DataFrame, framework, *, start: int = 0, seq: int = 0, css_class: str = "qlw-rank",
                 extra_cols: Mapping[str, str] | None = None, changed: set | None = None) -> str:
    """The ranking table (one page of rows) as HTML with grade colours,
    change arrows and warning badges.  Each ``<tr>`` carries ``data-unit``;
    the table carries ``data-seq`` so a browser test can wait for updates."""
    colors = grade_colors()
    nodes = [n for n in framework.level1 if n in rows.columns]
    show_public = "public" in rows.columns and rows["public"].notna().any()
    head = ["序号", "单位名称", "类型", "市州", "县市区"] + [framework.name_of(n) for n in nodes]
    if show_public:
        head += ["专业分", "群众评价"]
    head += ["综合得分", "等级", "较上期", "同类名次"]
    extra_cols = dict(extra_cols or {})
    head += list(extra_cols.values())
    head += ["预警"]
    out = [TABLE_CSS, f'<table class="qlw-table {css_class}" data-seq="{seq}" data-rows="{len(rows)}"><thead><tr>']
    out += [f"<th>{html.escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    changed = changed or set()
    for i, r in enumerate(rows.itertuples(index=False), start=start + 1):
        d = r._asdict()
        uid = str(d["unit_id"])
        cls = ' class="qlw-changed"' if uid in changed else ""
        cells = [str(i), f'<td class="t" title="{html.escape(uid)}">{html.escape(str(d["unit_name"]))}</td>',
                 f'<td class="t">{html.escape(str(d["unit_type"]))}</td>',
                 f'<td class="t">{html.escape(str(d["city"]))}</td>',
                 f'<td class="t">{html.escape(str(d["county"]))}</td>']
        cells[0] = f"<td>{i}</td>"
        cells += [f"<td>{_fmt(d.get(n))}</td>" for n in nodes]
        if show_public:
            cells += [f"<td>{_fmt(d.get('internal'))}</td>", f"<td>{_fmt(d.get('public'))}</td>"]
        cells += [f'<td class="qlw-total"><b>{_fmt(d.get("total"), 2)}</b></td>',
                  f'<td style="text-align:center">{grade_badge(d.get("grade"), colors)}</td>',
                  f"<td>{change_html(d.get('change'))}</td>",
                  f"<td>{_fmt(d.get('rank'), 0)}</td>"]
        for c in extra_cols:
            v = d.get(c)
            cells.append(f"<td>{v if isinstance(v, str) else _fmt(v, 2)}</td>")
        cells.append(f'<td class="t">{warning_badges(d.get("warnings", ""))}</td>')
        out.append(f'<tr data-unit="{html.escape(uid)}"{cls}>' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if len(rows) == 0:
        out.append(info_html("没有符合筛选条件的单位。"))
    return "".join(out)


# ---------------------------------------------------------------- weights
def rebalance(weights: Mapping[str, float], changed: str, value: float, *, step: float = 1e-9) -> dict:
    """New level-1 weights with ``weights[changed] = value`` and the others
    rescaled proportionally so that all sum to 1 (equal shares if the others
    were all zero).  Values are clipped to [0, 1]."""
    value = float(min(max(value, 0.0), 1.0))
    others = {k: max(float(v), 0.0) for k, v in weights.items() if k != changed}
    rest = 1.0 - value
    tot = sum(others.values())
    if not others:
        return {changed: 1.0}
    if tot <= step:
        new = {k: rest / len(others) for k in others}
    else:
        new = {k: v / tot * rest for k, v in others.items()}
    new[changed] = value
    return {k: new[k] for k in weights}


def round_weights(weights: Mapping[str, float], step: float = 0.001, keep: str | None = None) -> dict:
    """Weights on a grid of ``step`` that still sum to exactly 1 (largest
    remainder / Hamilton rounding), so the numbers shown are the numbers used.
    ``keep`` (a key already on the grid) is left unchanged."""
    w = _normalise(weights)
    units = int(round(1 / step))
    fixed = {keep: int(round(w[keep] * units))} if keep in w else {}
    rest = {k: v for k, v in w.items() if k not in fixed}
    budget = units - sum(fixed.values())
    tot = sum(rest.values())
    raw = {k: (v / tot * budget if tot > 0 else budget / len(rest)) for k, v in rest.items()} if rest else {}
    fl = {k: int(math.floor(v)) for k, v in raw.items()}
    left = budget - sum(fl.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - fl[k]), k))[:max(left, 0)]:
        fl[k] += 1
    out = {**fl, **fixed}
    return {k: out[k] / units for k in weights}


class WeightModel:
    """Fast what-if re-ranking for new level-1 weights on one IndexResult.

    Mirrors :func:`qlwork.engine.index.compute_index` without re-running it: the
    normalised matrix X (units × indicators, 0–100, ``result.normalized``) is
    computed once.  For level-1 weights w the framework's local weights are
    replaced (``Framework.with_weights``); the effective leaf weights of each
    unit's availability pattern (internal indicators present; missing ones
    renormalised within their node, :func:`qlwork.engine.aggregate.effective_weights`)
    give the internal score as one weighted sum per unit
    (:func:`qlwork.engine.aggregate.aggregate_rows`, arithmetic or geometric).  The
    public part does not depend on the level-1 weights, so
    total = (1 − s)·internal + s·public where a public score exists
    (s = ``params['social_share']``), else internal — the same rule as the
    engine.  Units whose internal score was undefined (missing data under
    imputation "none") stay undefined.
    """

    def __init__(self, result, frame: pd.DataFrame | None = None):
        from ..engine.aggregate import effective_weights  # noqa: F401 — fail early if missing

        self.result = result
        self.framework = result.framework
        fr = frame if frame is not None else standard_frame(result)
        self.frame = fr.set_index(fr["unit_id"].astype(str).to_numpy())
        self.unit_ids = self.frame.index.to_numpy()
        params = dict(getattr(result, "params", {}) or {})
        self.params = params
        self.method = params.get("aggregation", "arithmetic")
        self.eps = float(params.get("geometric_eps", 1.0) or 1.0)
        fw = self.framework
        self.base = _normalise({n: _item_weight(fw, n) for n in fw.level1})
        norm = result.normalized.copy()
        norm.index = norm.index.astype(str)
        ids = fw.indicator_ids
        self.X = norm.reindex(index=self.unit_ids, columns=ids).to_numpy(float)
        is_pub = np.array([fw.indicators[i].public for i in ids], bool)
        avail = ~np.isnan(self.X) & ~is_pub[None, :]
        self.patterns, inv = np.unique(avail, axis=0, return_inverse=True)
        self.pattern_of = inv.reshape(-1)
        sc = result.scores.copy()
        sc.index = sc.index.astype(str)
        sc = sc.reindex(self.unit_ids)
        self.internal_defined = sc["internal"].notna().to_numpy() if "internal" in sc.columns else \
            np.ones(len(sc), bool)
        self.public = sc["public"].to_numpy(float) if "public" in sc.columns else np.full(len(sc), np.nan)
        self.is_pub = is_pub
        self.public_defined = ~np.isnan(self.public)
        # public from the public indicators (no survey argument): its weights are
        # the leaf weights, which move with the level-1 weights
        self.public_from_indicators = params.get("public") == "indicators" and is_pub.any()
        share = _f(params.get("social_share", fw.social_share))
        self.share = 0.0 if math.isnan(share) else share
        self.bands = _grade_bands(result)
        self.veto = (self.frame["grade_rule"].astype(str) == "veto").to_numpy() \
            if "grade_rule" in self.frame.columns else np.zeros(len(sc), bool)
        self.groups = (result.units["peer_group"].reindex(self.unit_ids).astype(str)
                       if "peer_group" in getattr(result, "units", pd.DataFrame()).columns
                       else self.frame["unit_type"].astype(str))

    def internal(self, level1: Mapping[str, float]) -> np.ndarray:
        from ..engine.aggregate import aggregate_rows, effective_weights

        fw = self.framework.with_weights(_normalise(level1), normalize=False)
        W = effective_weights(fw, None, self.patterns)  # patterns × indicators
        s = aggregate_rows(self.X, W[self.pattern_of], self.method, self.eps)
        return np.where(self.internal_defined, s, np.nan)

    def public_score(self, level1: Mapping[str, float]) -> np.ndarray:
        """Public score: fixed survey input, or (as in the engine) the mean of the
        public indicators weighted by the new leaf weights."""
        if not self.public_from_indicators:
            return self.public
        from ..engine.aggregate import aggregate_rows

        fw = self.framework.with_weights(_normalise(level1), normalize=False)
        lw = fw.leaf_weights().reindex(fw.indicator_ids).to_numpy(float)
        avail = ~np.isnan(self.X) & self.is_pub[None, :]
        Wr = np.where(avail, lw[None, :], 0.0)
        tot = Wr.sum(axis=1, keepdims=True)
        Wr = np.divide(Wr, tot, out=np.zeros_like(Wr), where=tot > 0)
        pub = aggregate_rows(self.X, Wr, self.method, self.eps)
        return np.where(self.public_defined, pub, np.nan)

    def total(self, level1: Mapping[str, float]) -> np.ndarray:
        inner = self.internal(level1)
        pub = self.public_score(level1)
        has_pub = ~np.isnan(pub)
        return np.where(has_pub, (1.0 - self.share) * inner + self.share * np.nan_to_num(pub), inner)

    def rerank(self, level1: Mapping[str, float]) -> pd.DataFrame:
        """Standard frame with the new total, rank and grade, plus
        ``base_total``/``base_rank``/``base_grade``, ``rank_change`` and
        ``grade_changed``."""
        from ..engine.grading import assign_grades, rank_within

        t = pd.Series(self.total(level1), index=self.unit_ids)
        f = self.frame.copy()
        f["base_total"] = f["total"]
        f["base_rank"] = f["rank"]
        f["base_grade"] = f["grade"] if "grade" in f.columns else ""
        f["total"] = t.to_numpy()
        f["rank"] = rank_within(t, self.groups.set_axis(self.unit_ids)).to_numpy()
        g = assign_grades(t, self.bands).astype(object).to_numpy()
        low = self.bands[-1][0]
        f["grade"] = np.where(self.veto, low, g)
        f["rank_change"] = (pd.to_numeric(f["base_rank"], errors="coerce")
                            - pd.to_numeric(f["rank"], errors="coerce")).to_numpy()
        f["grade_changed"] = (f["grade"].astype(str) != f["base_grade"].astype(str)).to_numpy()
        return f.reset_index(drop=True)


def _item_weight(fw, i: str) -> float:
    return float(fw.nodes[i].weight if i in fw.nodes else fw.indicators[i].weight)


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _normalise(w: Mapping[str, float]) -> dict:
    s = sum(max(float(v), 0.0) for v in w.values())
    if s <= 0:
        raise QlworkError(Problem("bad_weights", "一级指标权重之和必须大于 0", "level-1 weights must sum to > 0",
                                  found=dict(w), expected="至少一个权重大于 0"))
    return {k: max(float(v), 0.0) / s for k, v in w.items()}


def _grade_bands(result) -> list:
    from ..engine.grading import parse_bands

    g = (getattr(result, "params", {}) or {}).get("grades")
    try:
        bands = parse_bands([(a, -math.inf if b is None else b) for a, b in g] if g else result.framework.grades)
    except Exception:  # noqa: BLE001 — fall back to the framework's bands
        bands = parse_bands(result.framework.grades)
    return list(bands)


PRESET_FILES = {"ahp": "AHP 专家组权重", "entropy": "熵权法", "critic": "CRITIC 法", "combined": "组合赋权",
                "combine": "组合赋权", "pca": "主成分法"}


def preset_from_table(df: pd.DataFrame, framework) -> dict | None:
    """Level-1 weights of ``framework`` from a weights table (``qlwork weights``
    output: framework, id, local_weight / global_weight), or None.

    Level-1 local weights when present; else the sums of the indicators'
    global weights under each level-1 node."""
    d = df
    if "framework" in d.columns:
        d = d[d["framework"].astype(str).isin([framework.id, *FRAMEWORK_KEYS_OF.get(framework.id, ())])]
    idc = next((c for c in ("id", "node", "indicator_id") if c in d.columns), None)
    if idc is None or d.empty:
        return None
    d = d.drop_duplicates(idc).set_index(d[idc].astype(str))
    l1 = framework.level1
    if "local_weight" in d.columns and set(l1) <= set(d.index):
        s = d.loc[l1, "local_weight"].astype(float)
    elif "global_weight" in d.columns and set(framework.indicator_ids) & set(d.index):
        g = d["global_weight"].astype(float)
        s = pd.Series({n: float(g.reindex(framework.leaves_under(n)).fillna(0).sum()) for n in l1})
    else:
        return None
    if s.isna().any() or s.sum() <= 0:
        return None
    return _normalise(s.to_dict())


FRAMEWORK_KEYS_OF = {"QLI": ("county",), "QLV": ("village",)}


def weight_presets(framework, data: DashboardData | None = None) -> dict:
    """Named level-1 weight sets: the framework default, equal weights, and
    those in ``data/processed/weights_<method>.parquet`` (``qlwork weights``
    writes ``weights_ahp.parquet``; entropy / CRITIC / combined when present)."""
    l1 = framework.level1
    out = {"框架默认权重": _normalise({n: _item_weight(framework, n) for n in l1}),
           "等权重": {n: 1.0 / len(l1) for n in l1}}
    if data is None:
        return out
    for f in sorted(processed_dir(data.root).glob("weights_*.parquet")):
        method = f.stem[len("weights_"):]
        try:
            w = preset_from_table(read_store(f), framework)
        except Exception:  # noqa: BLE001 — an unreadable optional file just adds no preset
            traceback.print_exc()
            continue
        if w:
            out[PRESET_FILES.get(method.lower(), method)] = w
    return out


# ---------------------------------------------------------------- charts
def _fig_png(fig, dpi: int = 96) -> bytes:
    """PNG bytes of a matplotlib Figure (qlwork.charts.plots returns pyplot-free Figures)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 — a pyplot-free Figure needs no closing
        pass
    return buf.getvalue()


def ranking_chart_png(rows: pd.DataFrame, framework, title: str = "") -> bytes:
    """The 排行榜 bar chart (qlwork.charts.plots.ranking_bar): grade colours and the pass line."""
    from ..charts.plots import ranking_bar

    d = rows.assign(unit_name=rows["unit_name"].astype(str), grade=rows["grade"].astype(str))
    return _fig_png(ranking_bar(d, label="unit_name", score="total", grade="grade",
                                pass_mark=framework.pass_mark, title=title or "排行榜", label_width=9))


def unit_profile_png(peers: pd.DataFrame, title: str) -> bytes:
    """Dot plot of the unit's level-1 scores against the peer IQR and median."""
    from ..charts.plots import profile_dots

    return _fig_png(profile_dots(peers, title=title))


def trend_png(trend: pd.DataFrame, title: str = "综合得分走势") -> bytes:
    from ..charts.plots import trend_lines

    return _fig_png(trend_lines(trend, period="period", score="score", series="series", title=title,
                                ylim=(0, 100)))


def _data_link(data: bytes, filename: str, mime: str, label: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<a class="qlw-download" download="{html.escape(filename)}" href="data:{mime};base64,{b64}" '
            f'style="margin-right:12px">⬇ {html.escape(label)}</a>')


# ---------------------------------------------------------------- the app
class ReviewDashboard:
    """The ipywidgets review dashboard; display ``.widget``.

    Views (tabs): 排行榜 (filters, sortable ranking table, bar chart),
    体检报告单 (one unit against its peers), 权重调整 (level-1 sliders, presets,
    live re-ranking), 敏感性分析 and 群众评价 (when results exist), 数据概况.
    """

    PAGE_SIZES = (20, 50, 100)
    MAX_CHANGED = 100

    def __init__(self, data: DashboardData, *, page_size: int = 20, chart: bool = True,
                 background_chart: bool = False):
        import ipywidgets as w

        self.w = w
        self.data = data
        self.cache = IndexCache(data)
        self.chart_enabled = chart
        self.seq = 0
        self.wseq = 0
        self.page = 0
        self.last_update_s = float("nan")
        self.weight_update_s = float("nan")
        self._weights_lock = False
        self._wmodel: dict = {}
        self.error = w.HTML().add_class("qlw-errors")

        # ---------- filters (shared by 排行榜 and 权重调整)
        fw_opts = [(f"{fw.name}", k) for k, fw in data.frameworks.items()
                   if len(data.framework_units(k))]
        if not fw_opts:
            raise QlworkError(Problem("no_units", "单位名录为空或没有匹配任何指标体系", "no units for any framework"))
        lay = w.Layout(width="auto")
        style = {"description_width": "initial"}
        self.framework_dd = w.Dropdown(options=fw_opts, value=fw_opts[0][1], description="指标体系",
                                       style=style, layout=lay).add_class("qlw-framework")
        if not data.periods:
            raise QlworkError(Problem("no_values", "尚无指标数据：请先运行 `qlwork ingest --exclude-invalid`",
                                      "no values.parquet yet"))
        self.period_dd = w.Dropdown(options=data.periods, value=data.periods[-1], description="评价期",
                                    style=style, layout=lay).add_class("qlw-period")
        self.type_dd = w.Dropdown(description="单位类型", style=style, layout=lay).add_class("qlw-unit-type")
        self.city_dd = w.Dropdown(description="市州", style=style, layout=lay).add_class("qlw-city")
        self.county_dd = w.Dropdown(description="县市区", style=style, layout=lay).add_class("qlw-county")
        self.sort_dd = w.Dropdown(description="排序", style=style, layout=lay).add_class("qlw-sort")
        self.order_tb = w.ToggleButtons(options=[("降序", False), ("升序", True)], value=False,
                                        style={"button_width": "52px"}).add_class("qlw-order")
        self.size_dd = w.Dropdown(options=list(self.PAGE_SIZES), value=page_size, description="每页",
                                  style=style, layout=w.Layout(width="110px")).add_class("qlw-page-size")
        self.prev_btn = w.Button(description="上一页", layout=w.Layout(width="70px")).add_class("qlw-prev")
        self.next_btn = w.Button(description="下一页", layout=w.Layout(width="70px")).add_class("qlw-next")
        self.page_lbl = w.HTML().add_class("qlw-page")
        self.summary = w.HTML().add_class("qlw-summary")
        self.table = w.HTML().add_class("qlw-rank-table")
        self.chart = w.Image(format="png", layout=w.Layout(max_width="560px")).add_class("qlw-chart")
        self.pick_dd = w.Dropdown(description="查看单位", style=style,
                                  layout=w.Layout(width="320px")).add_class("qlw-pick")
        self.open_btn = w.Button(description="打开体检报告单", button_style="info",
                                 layout=w.Layout(width="140px")).add_class("qlw-open-unit")

        # ---------- unit view
        self.search_tx = w.Text(placeholder="输入单位名称关键字", description="搜索单位", style=style,
                                layout=w.Layout(width="300px")).add_class("qlw-unit-search")
        self.unit_dd = w.Dropdown(description="单位", style=style,
                                  layout=w.Layout(width="380px")).add_class("qlw-unit-select")
        self.unit_card = w.HTML().add_class("qlw-unit-card")
        self.unit_chart = w.Image(format="png", layout=w.Layout(max_width="600px")).add_class("qlw-unit-chart")
        self.unit_trend = w.Image(format="png", layout=w.Layout(max_width="460px")).add_class("qlw-unit-trend")
        self.unit_dl_btn = w.Button(description="生成下载文件", layout=w.Layout(width="130px")).add_class("qlw-unit-dl")
        self.unit_links = w.HTML().add_class("qlw-unit-links")

        # ---------- weights view
        self.preset_dd = w.Dropdown(description="预设权重", style=style, layout=lay).add_class("qlw-preset")
        self.reset_btn = w.Button(description="恢复默认", icon="undo", layout=w.Layout(width="110px")).add_class("qlw-reset")
        self.slider_box = w.VBox()
        self.sliders: dict = {}
        self.wsum = w.HTML().add_class("qlw-weights-sum")
        self.wsummary = w.HTML().add_class("qlw-weights-summary")
        self.wtable = w.HTML().add_class("qlw-weights-table")

        # ---------- other views
        self.sens_box = w.VBox().add_class("qlw-sensitivity")
        self.survey_box = w.VBox().add_class("qlw-survey")
        self.overview = w.HTML().add_class("qlw-overview")

        filters = w.HBox([self.framework_dd, self.period_dd, self.type_dd, self.city_dd, self.county_dd],
                         layout=w.Layout(flex_flow="row wrap", grid_gap="4px 12px"))
        sortbar = w.HBox([self.sort_dd, self.order_tb, self.size_dd, self.prev_btn, self.page_lbl, self.next_btn],
                         layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        pickbar = w.HBox([self.pick_dd, self.open_btn], layout=w.Layout(flex_flow="row wrap", grid_gap="4px 8px"))
        table_box = w.Box([self.table], layout=w.Layout(overflow="auto", flex="1 1 760px", max_height="640px"))
        chart_box = w.Box([self.chart], layout=w.Layout(flex="0 1 560px"))
        rank_view = w.VBox([sortbar, self.summary, pickbar,
                            w.HBox([table_box, chart_box], layout=w.Layout(flex_flow="row wrap",
                                                                           align_items="flex-start"))])
        self.unit_card.layout = w.Layout(flex="1 1 620px", min_width="0")
        unit_view = w.VBox([
            w.HBox([self.search_tx, self.unit_dd, self.unit_dl_btn],
                   layout=w.Layout(flex_flow="row wrap", grid_gap="4px 10px")),
            self.unit_links,
            w.HBox([self.unit_card, w.VBox([self.unit_chart, self.unit_trend], layout=w.Layout(flex="0 1 600px"))],
                   layout=w.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px 24px"))])
        weights_view = w.VBox([
            w.HTML("<div style='color:#555'>拖动滑块调整一级指标权重（其余权重按比例自动调整，合计始终为 1）；"
                   "排名与等级即时更新，等级发生变化的单位以黄色底色标出。筛选条件与“排行榜”相同。</div>"),
            w.HBox([self.preset_dd, self.reset_btn,
                    w.HTML("<small style='color:#777'>预设只设置一级指标权重；二级及以下沿用指标体系权重。</small>")],
                   layout=w.Layout(grid_gap="4px 10px", align_items="center")),
            w.HBox([self.slider_box, self.wsum], layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            self.wsummary,
            w.Box([self.wtable], layout=w.Layout(overflow="auto", max_height="560px"))])
        self.tabs = w.Tab(children=[rank_view, unit_view, weights_view, self.sens_box, self.survey_box,
                                    self.overview])
        for i, t in enumerate(["排行榜", "体检报告单", "权重调整", "敏感性分析", "群众评价", "数据概况"]):
            self.tabs.set_title(i, t)
        self.tabs.add_class("qlw-tabs")
        self.status = w.HTML().add_class("qlw-status")
        self.widget = w.VBox([filters, self.error, self.tabs, self.status],
                             layout=w.Layout(width="100%")).add_class("qlw-app")

        # ---------- wiring (every callback guarded)
        g = functools.partial(guarded, self.error)
        self.framework_dd.observe(g("切换指标体系")(self._on_framework), "value")
        self.period_dd.observe(g("切换评价期")(self._on_filter), "value")
        self.type_dd.observe(g("筛选单位类型")(self._on_filter), "value")
        self.city_dd.observe(g("筛选市州")(self._on_city), "value")
        self.county_dd.observe(g("筛选县市区")(self._on_filter), "value")
        self.sort_dd.observe(g("排序")(self._on_filter), "value")
        self.order_tb.observe(g("排序")(self._on_filter), "value")
        self.size_dd.observe(g("每页行数")(self._on_filter), "value")
        self.prev_btn.on_click(g("翻页")(lambda _b: self._turn(-1)))
        self.next_btn.on_click(g("翻页")(lambda _b: self._turn(+1)))
        self.open_btn.on_click(g("打开体检报告单")(lambda _b: self.open_unit(self.pick_dd.value)))
        self.search_tx.observe(g("搜索单位")(self._on_search), "value")
        self.unit_dd.observe(g("体检报告单")(lambda ch: self.show_unit(ch["new"])), "value")
        self.unit_dl_btn.on_click(g("生成下载文件")(lambda _b: self.make_downloads()))
        self.preset_dd.observe(g("预设权重")(self._on_preset), "value")
        self.reset_btn.on_click(g("恢复默认权重")(lambda _b: self.reset_weights()))
        self.tabs.observe(g("切换视图")(self._on_tab), "selected_index")

        self._busy = False
        self._chart_gen = 0
        # First paint fast: the charting stack (seaborn, CJK font) takes seconds to
        # import, so the first chart is drawn in a background thread after the
        # table is on screen; later charts are drawn in the callbacks.
        self._defer_chart = background_chart and chart
        g("初始化看板")(self._setup_framework)()
        self.widget.add_class("qlw-ready")
        if self._defer_chart:
            import threading

            threading.Thread(target=self._first_chart, name="qlw-first-chart", daemon=True).start()

    def _first_chart(self, delay: float = 2.0):
        # Let the browser fetch the widgets' state first: on a busy machine the
        # import of the charting stack would otherwise compete with the first paint.
        time.sleep(delay)
        gen = self._chart_gen
        try:
            rows, title = self._page_rows()
            png = ranking_chart_png(rows, self.framework, title) if len(rows) else b""
            if gen == self._chart_gen:
                self.chart.value = png
        except Exception as e:  # noqa: BLE001 — shown in the page
            traceback.print_exc()
            self.error.value = error_html(e, context="绘制排行榜图")
        finally:
            self._defer_chart = False

    def _page_rows(self):
        rows = self.filtered()
        size = int(self.size_dd.value)
        start = self.page * size
        page_rows = rows.iloc[start:start + size]
        title = f"{self.period_dd.value} 排行榜（第 {start + 1}–{start + len(page_rows)} 名）"
        return page_rows, title

    # ------------------------------------------------------------ state
    @property
    def key(self) -> str:
        return self.framework_dd.value

    @property
    def framework(self):
        return self.data.frameworks[self.key]

    def frame(self) -> pd.DataFrame:
        return self.cache.frame(self.key, self.period_dd.value)

    def filtered(self) -> pd.DataFrame:
        f = filter_ranking(self.frame(), unit_type=self.type_dd.value or ALL, city=self.city_dd.value or ALL,
                           county=self.county_dd.value or ALL)
        return sort_ranking(f, self.sort_dd.value or "total", bool(self.order_tb.value))

    def _setup_framework(self):
        """(Re)fill the options that depend on the framework, then redraw."""
        self._busy = True
        try:
            fw = self.framework
            units = self.data.framework_units(self.key)
            types = [t for t in (fw.unit_types or ()) if t in set(units["unit_type"])]
            types += sorted(set(units["unit_type"]) - set(types))
            self.type_dd.options = [ALL] + types
            self.type_dd.value = ALL
            self.city_dd.options = [ALL] + sorted(units["city"].dropna().astype(str).unique())
            self.city_dd.value = ALL
            self._fill_counties()
            sort_opts = [("综合得分", "total"), ("同类名次", "rank"), ("较上期变化", "change")]
            sort_opts += [(fw.name_of(n), n) for n in fw.level1]
            sort_opts += [("单位名称", "unit_name")]
            self.sort_dd.options = sort_opts
            self.sort_dd.value = "total"
            self._build_sliders()
        finally:
            self._busy = False
        self.page = 0
        self.refresh()
        self._unit_options()

    def _fill_counties(self):
        units = self.data.framework_units(self.key)
        if self.city_dd.value and self.city_dd.value != ALL:
            units = units[units["city"] == self.city_dd.value]
        self.county_dd.options = [ALL] + sorted(units["county"].dropna().astype(str).unique())
        self.county_dd.value = ALL

    def _on_framework(self, _ch):
        self._setup_framework()

    def _on_city(self, _ch):
        if self._busy:
            return
        self._busy = True
        try:
            self._fill_counties()
        finally:
            self._busy = False
        self._on_filter(None)

    def _on_filter(self, _ch):
        if self._busy:
            return
        self.page = 0
        self.refresh()

    def _turn(self, d: int):
        n = len(self.filtered())
        pages = max(1, math.ceil(n / self.size_dd.value))
        self.page = min(max(self.page + d, 0), pages - 1)
        self.refresh(chart=True)

    def _on_tab(self, ch):
        if self._busy:
            return
        idx = ch["new"]
        loading = self.w.HTML(info_html("正在计算，请稍候……"))
        if idx == 3:
            self.sens_box.children = [loading]
        elif idx == 4:
            self.survey_box.children = [loading]
        if idx == 2:
            self.update_weights()
        elif idx == 3:
            self.show_sensitivity()
        elif idx == 4:
            self.show_survey()
        elif idx == 5:
            self.show_overview()

    # ------------------------------------------------------------ 排行榜
    def refresh(self, chart: bool = True):
        t0 = time.perf_counter()
        rows = self.filtered()
        size = int(self.size_dd.value)
        n = len(rows)
        pages = max(1, math.ceil(n / size))
        self.page = min(self.page, pages - 1)
        start = self.page * size
        page_rows = rows.iloc[start:start + size]
        self.seq += 1
        self.table.value = ranking_html(page_rows, self.framework, start=start, seq=self.seq)
        self.page_lbl.value = f"第 {self.page + 1} / {pages} 页（{start + 1 if n else 0}–{min(start + size, n)}，共 {n} 个单位）"
        self.prev_btn.disabled = self.page == 0
        self.next_btn.disabled = self.page >= pages - 1
        self.summary.value = self._summary_html(rows)
        opts = [(f"{r.unit_name}（{r.county}）", r.unit_id) for r in page_rows.itertuples()]
        self.pick_dd.options = opts
        if opts:
            self.pick_dd.value = opts[0][1]
        self._chart_gen = getattr(self, "_chart_gen", 0) + 1
        if chart and self.chart_enabled and not getattr(self, "_defer_chart", False):
            title = f"{self.period_dd.value} 排行榜（第 {start + 1}–{min(start + size, n)} 名）"
            self.chart.value = ranking_chart_png(page_rows, self.framework, title) if n else b""
        if self.tabs.selected_index == 2:
            self.update_weights()
        self.last_update_s = time.perf_counter() - t0
        self.status.value = (f'<span style="color:#888;font-size:12px">{html.escape(self.framework.name)} · '
                             f'{html.escape(self.period_dd.value)} · 更新用时 {self.last_update_s:.2f} 秒</span>')

    def _summary_html(self, rows: pd.DataFrame) -> str:
        if not len(rows):
            return ""
        colors = grade_colors()
        parts = [f"<b>{len(rows)}</b> 个单位"]
        if "grade" in rows.columns:
            vc = rows["grade"].astype(str).value_counts()
            for g, _lo in self.framework.grades:
                parts.append(f"{grade_badge(g, colors)} {int(vc.get(g, 0))}")
        nw = int((rows["warnings"].astype(str) != "").sum())
        parts.append(f"⚠ 有预警 <b>{nw}</b>")
        parts.append(f"平均分 <b>{rows['total'].mean():.1f}</b>")
        return '<div style="margin:4px 0">' + "　".join(parts) + "</div>"

    # ------------------------------------------------------------ 体检报告单
    def _unit_options(self, text: str = ""):
        f = self.frame()
        if text:
            f = f[f["unit_name"].astype(str).str.contains(text, regex=False)]
        f = f.sort_values("unit_name").head(200)
        opts = [(f"{r.unit_name}（{r.unit_type}，{r.county}）", r.unit_id) for r in f.itertuples()]
        cur = self.unit_dd.value
        self.unit_dd.options = opts
        if cur in {v for _, v in opts}:
            self.unit_dd.value = cur

    def _on_search(self, ch):
        self._unit_options(ch["new"].strip())
        if self.unit_dd.options and self.unit_dd.value is None:
            self.unit_dd.value = self.unit_dd.options[0][1]

    def open_unit(self, unit_id: str | None):
        if not unit_id:
            return
        self.search_tx.value = ""
        self._unit_options()
        if unit_id not in {v for _, v in self.unit_dd.options}:
            f = self.frame()
            r = f[f["unit_id"] == unit_id].iloc[0]
            self.unit_dd.options = list(self.unit_dd.options) + [(f"{r.unit_name}（{r.unit_type}，{r.county}）", unit_id)]
        self.tabs.selected_index = 1
        if self.unit_dd.value == unit_id:
            self.show_unit(unit_id)
        else:
            self.unit_dd.value = unit_id

    def unit_summary(self, unit_id: str) -> dict:
        """Everything shown on the unit's 体检报告单 (pure data, tested):
        ``result.unit(unit_id)`` plus the peer median trend and, when a
        sensitivity result exists, the rank interval and grade probabilities."""
        period = self.period_dd.value
        res = self.cache.result(self.key, period)
        rep = res.unit(unit_id)
        f = self.frame().set_index("unit_id", drop=False)
        row = f.loc[str(unit_id)]
        fw = self.framework
        peers = rep.peers.loc[[n for n in fw.level1 if n in rep.peers.index]]
        profile = pd.DataFrame({"label": peers["name"].to_numpy(), "score": peers["score"].to_numpy(float),
                                "peer_median": peers["median"].to_numpy(float),
                                "peer_q1": peers["q1"].to_numpy(float), "peer_q3": peers["q3"].to_numpy(float),
                                "peer_mean": peers["peer_mean"].to_numpy(float)}, index=peers.index)
        trend = []
        hist = getattr(res, "history", None)
        if hist is not None and len(hist):
            pg = res.units["peer_group"]
            h = hist[hist.index.get_level_values("period") <= period]
            mates = pg.index[pg == pg.get(str(unit_id))]
            hp = h[h.index.get_level_values("unit_id").isin(mates)]
            med = hp["total"].groupby(level="period").median()
            mine = h.xs(str(unit_id), level="unit_id")["total"] if str(unit_id) in h.index.get_level_values(
                "unit_id") else pd.Series(dtype=float)
            for p in med.index:
                trend.append({"period": p, "series": "本单位", "score": float(mine.get(p, np.nan))})
                trend.append({"period": p, "series": "同类单位中位数", "score": float(med[p])})
        out = {"unit_id": str(unit_id), "row": row, "report": rep, "profile": profile,
               "strongest": rep.strongest, "weakest": rep.weakest, "trend": pd.DataFrame(trend),
               "n_peers": rep.n_peers}
        sc = rep.scores
        internal, public = _f(sc.get("internal")), _f(sc.get("public"))
        out["internal"], out["public"] = internal, public
        out["gap"] = internal - public if not (math.isnan(internal) or math.isnan(public)) else float("nan")
        sens = self.data.sensitivity.get(period)
        if sens is not None:
            from ..report.unit_report import sensitivity_frame

            sf = sensitivity_frame(sens)
            if sf is not None and str(unit_id) in sf.index:
                out["sensitivity"] = sf.loc[str(unit_id)]
        return out

    def show_unit(self, unit_id: str | None):
        self.unit_links.value = ""
        if not unit_id:
            self.unit_card.value = info_html("请在上方搜索或从排行榜选择一个单位。")
            self.unit_chart.value = b""
            self.unit_trend.value = b""
            return
        s = self.unit_summary(unit_id)
        r, rep = s["row"], s["report"]
        colors = grade_colors()
        e = html.escape
        region_rank = (f"　县市区内名次 <b>{_fmt(rep.rank_in_region, 0)}</b> / {rep.n_region}"
                       if rep.rank_in_region is not None and rep.n_region else "")
        veto = "（一票否决）" if rep.grade_rule == "veto" else ""
        head = (f"<h3 class='qlw-unit-name' style='margin:6px 0'>{e(str(r['unit_name']))} "
                f"<small style='color:#666'>{e(str(r['unit_type']))} · {e(str(r['city']))} {e(str(r['county']))} · "
                f"{e(self.period_dd.value)}</small></h3>"
                f"<div style='font-size:15px;line-height:1.9'>综合得分 <b class='qlw-unit-total'>{_fmt(r['total'], 2)}</b>"
                f"　等级 {grade_badge(r.get('grade'), colors)}{veto}"
                f"　同类名次 <b>{_fmt(rep.rank, 0)}</b> / {s['n_peers']}{region_rank}"
                f"　较上期 {change_html(r.get('change'))}　{warning_badges(r.get('warnings', ''))}</div>")
        if len(rep.warnings):
            head += "<ul style='color:#8a5300;margin:2px 0'>" + "".join(
                f"<li>{e(str(w.reason_zh))}（{e(str(w.detail))}）</li>" for w in rep.warnings.itertuples()) + "</ul>"
        prof = s["profile"]
        trs = "".join(
            f"<tr><td class='t'>{e(str(n.label))}</td><td><b>{_fmt(n.score)}</b></td><td>{_fmt(n.peer_mean)}</td>"
            f"<td>{_fmt(n.peer_q1)} – {_fmt(n.peer_q3)}</td><td class='t'>"
            + ("<span style='color:#1a7f37'>强项（高于75%分位）</span>" if n.score > n.peer_q3 else
               "<span style='color:#c62828'>弱项（低于25%分位）</span>" if n.score < n.peer_q1 else "居中")
            + "</td></tr>" for n in prof.itertuples())
        node_html = (f"<h4>一级指标得分与同类单位比较（同类 {s['n_peers']} 个单位）</h4><table class='qlw-table' "
                     f"style='width:auto'><thead><tr><th>一级指标</th><th>本单位</th><th>同类平均</th>"
                     f"<th>同类四分位区间</th><th>位置</th></tr></thead><tbody>{trs}</tbody></table>")

        def ind_list(df):
            return "".join(f"<li>{e(str(i.name))}：{_fmt(i.normalized)} 分（同类中位 {_fmt(i.peer_median)}，"
                           f"差 {_f(i.diff):+.1f}）</li>" for i in df.itertuples())

        sw = (f"<div style='display:flex;flex-wrap:wrap;column-gap:32px'><div><h4 style='color:#1a7f37'>相对优势指标</h4>"
              f"<ol>{ind_list(s['strongest'])}</ol></div><div><h4 style='color:#c62828'>相对薄弱指标</h4>"
              f"<ol>{ind_list(s['weakest'])}</ol></div></div>")
        if not math.isnan(s["gap"]):
            gap = (f"<h4>专业分与群众评价</h4><div>专业分 <b>{_fmt(s['internal'])}</b>，群众评价 <b>{_fmt(s['public'])}</b>，"
                   f"差值 <b>{s['gap']:+.1f}</b>"
                   + ("（群众评价明显低于专业分，需关注“纸面合规”）" if s["gap"] >= 15 else "") + "</div>")
        else:
            gap = "<h4>专业分与群众评价</h4><div style='color:#777'>本期暂无该单位的群众评价结果。</div>"
        if "sensitivity" in s:
            sv = s["sensitivity"]
            probs = [(g, sv[f"p_{g}"]) for g, _ in self.framework.grades if f"p_{g}" in sv.index]
            ptxt = "，".join(f"{e(g)} {_f(p) * 100:.0f}%" for g, p in probs)
            pb = [c for c in sv.index if str(c).startswith("p_bottom")]
            sens = (f"<h4>名次与等级的不确定性</h4><div>模拟名次区间 <b>{_fmt(sv.get('rank_lo'), 0)} – "
                    f"{_fmt(sv.get('rank_hi'), 0)}</b>" + (f"；等级概率：{ptxt}" if ptxt else "")
                    + (f"；位列末位的概率 {_f(sv[pb[0]]) * 100:.0f}%" if pb else "") + "</div>")
        else:
            sens = ("<h4>名次与等级的不确定性</h4><div style='color:#777'>尚无敏感性分析结果"
                    "（运行敏感性分析后显示名次区间与等级概率）。</div>")
        self.unit_card.value = TABLE_CSS + head + node_html + sw + gap + sens
        if self.chart_enabled:
            self.unit_chart.value = unit_profile_png(prof, f"{r['unit_name']}：一级指标与同类单位比较")
            self.unit_trend.value = trend_png(s["trend"]) if len(s["trend"]) else b""

    def make_downloads(self):
        """Data-URI links: the unit's 体检报告单 (HTML) and an Excel workbook of
        the current selection (via qlwork.report when present)."""
        uid = self.unit_dd.value
        links = []
        res = self.cache.result(self.key, self.period_dd.value)
        try:
            from ..report.unit_report import render_unit_report
        except ImportError:
            render_unit_report = None
        if uid and render_unit_report is not None:
            htm = render_unit_report(res, uid, period=self.period_dd.value,
                                     sensitivity=self.data.sensitivity.get(self.period_dd.value))
            links.append(_data_link(htm.encode("utf-8"), f"体检报告单_{uid}_{self.period_dd.value}.html",
                                    "text/html", "下载体检报告单（HTML，可打印）"))
        rows = self.filtered()
        wb = self._workbook_bytes(res, rows)
        if wb is not None:
            links.append(_data_link(wb, f"清廉指数_{self.period_dd.value}_{self.scope_label()}.xlsx",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                    f"下载当前筛选的 Excel 工作簿（{len(rows)} 个单位）"))
        self.unit_links.value = "".join(links) or info_html("报告模块尚未提供下载。")

    def scope_label(self) -> str:
        parts = [v for v in (self.city_dd.value, self.county_dd.value, self.type_dd.value) if v and v != ALL]
        return "·".join(parts) or "全部"

    def _workbook_bytes(self, res, rows: pd.DataFrame) -> bytes:
        """The review workbook (``qlwork.report.write_workbook``) for the units
        of the current selection, with their official ranks; a plain ranking
        sheet if the report module is unavailable."""
        import dataclasses
        import tempfile

        ids = pd.Index(rows["unit_id"].astype(str))
        with tempfile.TemporaryDirectory() as td:
            out = Path(td) / "book.xlsx"
            try:
                from ..report import write_workbook
            except ImportError:
                write_workbook = None
            if write_workbook is not None:
                keep = res.scores.index.astype(str).isin(ids)
                sub = dataclasses.replace(
                    res, scores=res.scores[keep], normalized=res.normalized[keep],
                    ranking=res.ranking[res.ranking.index.astype(str).isin(ids)],
                    warnings=res.warnings[res.warnings["unit_id"].astype(str).isin(ids)])
                write_workbook(sub, out, period=self.period_dd.value, scope=self.scope_label(),
                               sensitivity=self.data.sensitivity.get(self.period_dd.value))
                return out.read_bytes()
            fw = self.framework
            cols = ["unit_id", "unit_name", "unit_type", "city", "county"] + \
                   [n for n in fw.level1 if n in rows.columns] + ["total", "grade", "rank", "change", "warnings"]
            cols = [c for c in cols if c in rows.columns]
            zh = {"unit_id": "单位编码", "unit_name": "单位名称", "unit_type": "单位类型", "city": "市州",
                  "county": "县市区", "total": "综合得分", "grade": "等级", "rank": "同类名次",
                  "change": "较上期变化", "warnings": "预警"}
            zh.update({n: fw.name_of(n) for n in fw.level1})
            from ..io.safe_export import safe_excel  # text cells stay text, never formulas

            safe_excel({"汇总排行": rows[cols].rename(columns=zh)}, out)
            return out.read_bytes()

    # ------------------------------------------------------------ 权重调整
    def weight_model(self) -> WeightModel:
        k = (self.key, self.period_dd.value)
        if k not in self._wmodel:
            self._wmodel[k] = WeightModel(self.cache.result(*k), self.frame())
        return self._wmodel[k]

    def _build_sliders(self):
        w = self.w
        fw = self.framework
        self.presets = weight_presets(fw, self.data)
        self._weights_lock = True
        try:
            self.preset_dd.options = list(self.presets)
            self.preset_dd.value = "框架默认权重"
        finally:
            self._weights_lock = False
        base = round_weights(self.presets["框架默认权重"])
        self.sliders = {}
        rows = []
        for n in fw.level1:
            s = w.FloatSlider(value=base[n], min=0.0, max=1.0, step=0.001, readout_format=".3f",
                              continuous_update=False, description=fw.name_of(n),
                              style={"description_width": "80px"},
                              layout=w.Layout(width="420px")).add_class(f"qlw-w-{n}").add_class("qlw-wslider")
            s.observe(guarded(self.error, "调整权重")(functools.partial(self._on_slider, n)), "value")
            self.sliders[n] = s
            rows.append(s)
        self.slider_box.children = rows
        self._show_wsum()

    def current_weights(self) -> dict:
        return {n: float(s.value) for n, s in self.sliders.items()}

    def set_weights(self, weights: Mapping[str, float]):
        weights = round_weights(weights)
        self._weights_lock = True
        try:
            for n, v in weights.items():
                self.sliders[n].value = v
        finally:
            self._weights_lock = False
        self.update_weights()

    def _on_slider(self, node: str, ch):
        if self._weights_lock:
            return
        val = round(float(ch["new"]), 3)
        new = round_weights(rebalance(self.current_weights() | {node: ch["old"]}, node, val), keep=node)
        self._weights_lock = True
        try:
            for n, v in new.items():
                self.sliders[n].value = v
        finally:
            self._weights_lock = False
        self.update_weights()

    def _on_preset(self, ch):
        if self._weights_lock or ch["new"] is None:
            return
        self.set_weights(self.presets[ch["new"]])

    def reset_weights(self):
        self._weights_lock = True
        try:
            self.preset_dd.value = "框架默认权重"
        finally:
            self._weights_lock = False
        self.set_weights(self.presets["框架默认权重"])

    def _show_wsum(self):
        tot = sum(self.current_weights().values())
        self.wsum.value = (f"<div style='padding:6px 12px;color:#345'>权重合计 <b class='qlw-wtotal'>{tot:.3f}</b></div>")

    def update_weights(self):
        """Re-rank the current selection under the slider weights."""
        t0 = time.perf_counter()
        self._show_wsum()
        weights = _normalise(self.current_weights())
        model = self.weight_model()
        new = model.rerank(weights)
        sel = filter_ranking(new, unit_type=self.type_dd.value or ALL, city=self.city_dd.value or ALL,
                             county=self.county_dd.value or ALL)
        sel = sort_ranking(sel, "total", False)
        changed = sel[sel["grade_changed"]]
        self.wseq += 1
        top = sel.head(int(self.size_dd.value))
        # the top of the ranking plus the units whose grade changed (at most
        # MAX_CHANGED more rows, so a province-scale page stays light)
        extra = changed[~changed["unit_id"].isin(top["unit_id"])]
        shown = pd.concat([top, extra.head(self.MAX_CHANGED)])
        colors = grade_colors()
        shown = sel[sel["unit_id"].isin(shown["unit_id"])]
        shown = shown.assign(base_total_txt=[_fmt(v, 2) for v in shown["base_total"]],
                             base_grade_html=[grade_badge(g, colors) for g in shown["base_grade"]],
                             rank_change_html=[_rank_move(v) for v in shown["rank_change"]])
        self.wtable.value = ranking_html(
            shown, self.framework, seq=self.wseq, css_class="qlw-wrank",
            extra_cols={"base_total_txt": "原得分", "base_grade_html": "原等级", "rank_change_html": "名次变化"},
            changed=set(changed["unit_id"]))
        self.weight_update_s = time.perf_counter() - t0
        wt = "，".join(f"{html.escape(self.framework.name_of(n))} {v:.3f}" for n, v in weights.items())
        self.wsummary.value = (
            f"<div style='margin:6px 0' class='qlw-wcurrent' data-weights='{html.escape(json.dumps(weights))}'>"
            f"当前权重：{wt}。筛选范围内 <b>{len(sel)}</b> 个单位，"
            f"<b class='qlw-nchanged'>{len(changed)}</b> 个单位等级发生变化（黄色底色）。"
            f"表中为前 {len(top)} 名及" + (f"其余等级变化单位中的前 {self.MAX_CHANGED} 个。" if len(extra) > self.MAX_CHANGED
                                        else "全部等级变化单位。")
            + (("<br>等级变化：" + "；".join(
                f"{html.escape(str(r.unit_name))}（{html.escape(str(r.base_grade))}→{html.escape(str(r.grade))}）"
                for r in changed.head(12).itertuples()) + ("……" if len(changed) > 12 else "")) if len(changed) else "")
            + f"<br><span style='color:#888;font-size:12px'>重新计算用时 {self.weight_update_s:.2f} 秒</span></div>")

    # ------------------------------------------------------------ 敏感性 / 群众评价 / 概况
    def _selection(self) -> pd.DataFrame:
        return filter_ranking(self.frame(), unit_type=self.type_dd.value or ALL, city=self.city_dd.value or ALL,
                              county=self.county_dd.value or ALL)

    def sensitivity_table(self) -> pd.DataFrame | None:
        """Per-unit rank intervals / grade probabilities of the current period,
        framework and filters (``sensitivity_<period>.parquet``), or None."""
        sens = self.data.sensitivity.get(self.period_dd.value)
        if sens is None:
            return None
        from ..report.unit_report import sensitivity_frame

        if "framework" in sens.columns:
            sens = sens[sens["framework"].astype(str).isin([self.key, self.framework.id])]
        sf = sensitivity_frame(sens)
        if sf is None or sf.empty:
            return None
        if "rank_median" not in sf.columns and "median_rank" in sf.columns:
            sf = sf.rename(columns={"median_rank": "rank_median"})
        sel = self._selection().set_index("unit_id", drop=False)
        sf = sf[sf.index.isin(sel.index)]
        sf = sf.drop(columns=[c for c in ("unit_name", "total", "rank") if c in sf.columns])
        sf = sf.join(sel[["unit_name", "total", "rank"]])
        if "nominal_rank" not in sf.columns:
            sf["nominal_rank"] = sf["rank"]
        return sf.sort_values(["nominal_rank", "unit_name"])

    def show_sensitivity(self):
        """Rank intervals and grade probabilities from ``sensitivity_<period>.parquet``."""
        w = self.w
        p = self.period_dd.value
        sf = self.sensitivity_table()
        if sf is None:
            self.sens_box.children = [w.HTML(info_html(
                f"尚无 {html.escape(p)}（{html.escape(self.framework.name)}）的敏感性分析结果。运行 "
                f"<code>qlwork sensitivity --period {html.escape(p)}</code> 后，此处显示名次区间图与等级概率。"))]
            return
        head = sf.head(40)
        grades = [g for g, _ in self.framework.grades]
        gcols = [f"p_{g}" for g in grades if f"p_{g}" in sf.columns]
        children = []
        if self.chart_enabled and len(head):
            from ..charts.plots import grade_probability_plot, rank_interval_plot

            names = head["unit_name"].astype(str)
            if (self.type_dd.value or ALL) == ALL:  # ranks are within unit type: say which
                names = names + "（" + head.index.map(self.frame().set_index("unit_id")["unit_type"]).astype(str) + "）"
            if {"rank_lo", "rank_hi"} <= set(sf.columns):
                d = pd.DataFrame({"unit": names.to_numpy(),
                                  "nominal_rank": head["nominal_rank"].astype(float).to_numpy(),
                                  "rank_median": (head["rank_median"] if "rank_median" in head.columns
                                                  else head["nominal_rank"]).astype(float).to_numpy(),
                                  "rank_lo": head["rank_lo"].astype(float).to_numpy(),
                                  "rank_hi": head["rank_hi"].astype(float).to_numpy()})
                children.append(w.Image(value=_fig_png(rank_interval_plot(d, title=f"{p} 名次区间（同类名次前 40）")),
                                        format="png", layout=w.Layout(max_width="600px")))
            if gcols:
                d = head[gcols].rename(columns=lambda c: str(c)[2:]).astype(float)
                d.insert(0, "unit", names.to_numpy())
                children.append(w.Image(value=_fig_png(grade_probability_plot(d.reset_index(drop=True))),
                                        format="png", layout=w.Layout(max_width="600px")))
        cols = {"unit_name": "单位名称", "nominal_rank": "同类名次", "total": "综合得分", "rank_lo": "名次区间下限",
                "rank_hi": "名次区间上限", "rank_median": "名次中位数", **{c: f"P({c[2:]})" for c in gcols},
                "p_nominal_grade": "保持原等级概率", "p_bottom_n": "位列末位概率"}
        tab = head[[c for c in cols if c in head.columns]].rename(columns=cols)
        n_unstable = int((sf["p_nominal_grade"] < 0.95).sum()) if "p_nominal_grade" in sf.columns else None
        note = (f"筛选范围内 {len(sf)} 个单位，等级不稳定（保持原等级概率 < 95%）的 {n_unstable} 个。"
                if n_unstable is not None else f"筛选范围内 {len(sf)} 个单位。")
        children.append(w.HTML(f"<h4>{html.escape(p)} 名次区间与等级概率（同类名次前 40 个单位）</h4><div>{note}</div>"
                               + TABLE_CSS + tab.to_html(float_format=lambda v: f"{v:.2f}", classes="qlw-table",
                                                         border=0, index=False, na_rep="—")))
        self.sens_box.children = [w.HBox(children[:-1], layout=w.Layout(flex_flow="row wrap")), children[-1]]

    def show_survey(self):
        """Internal vs public: agreement statistics and divergent units."""
        w = self.w
        p = self.period_dd.value
        sel = self._selection()
        d = sel.dropna(subset=["internal", "public"]) if {"internal", "public"} <= set(sel.columns) else sel.iloc[:0]
        if len(d) < 5:
            self.survey_box.children = [w.HTML(info_html(
                f"尚无 {html.escape(p)} 的群众评价（满意度调查）结果，或当前筛选范围内不足 5 个单位。"
                f"调查估计保存为 data/processed/public_{html.escape(p)}.parquet 后，此处显示专业分与群众评价的对比。"))]
            return
        from ..analysis.compare import agreement

        ag = agreement(d, group="unit_type")
        diff = d["internal"] - d["public"]
        o = ag.loc["全部"]
        lo, hi = _f(o.get("ba_loa_low")), _f(o.get("ba_loa_high"))
        flag = (diff < lo) | (diff > hi)
        dd = d.assign(divergent=flag.to_numpy(), gap=diff.to_numpy())
        names = {"n": "单位数", "spearman": "Spearman ρ", "kendall_tau_b": "Kendall τ-b", "ccc": "Lin CCC",
                 "ba_bias": "平均差（专业−群众）", "ba_loa_low": "一致性界限下限", "ba_loa_high": "一致性界限上限"}
        tab = ag[[c for c in names if c in ag.columns]].rename(columns=names)
        tab.index.name = "单位类型"
        div = dd[dd["divergent"]].sort_values("gap", ascending=False)
        lst = "".join(f"<li>{html.escape(str(r.unit_name))}（{html.escape(str(r.unit_type))}）：专业分 {r.internal:.1f}，"
                      f"群众评价 {r.public:.1f}，差 {r.gap:+.1f}</li>" for r in div.head(15).itertuples())
        info = w.HTML(TABLE_CSS + f"<h4>{html.escape(p)} 专业分与群众评价的一致性</h4>"
                      + tab.to_html(float_format=lambda v: f"{v:.3f}", classes="qlw-table", border=0)
                      + f"<h4>差异超出 Bland–Altman 一致性界限的单位（{len(div)} 个，列出前 15 个）</h4><ol>{lst}</ol>")
        children = [info]
        if self.chart_enabled:
            from ..charts.plots import agreement_scatter

            fig = agreement_scatter(dd.assign(unit_name=dd["unit_name"].astype(str)), label="unit_name",
                                    flag="divergent", max_labels=8)
            children.insert(0, w.Image(value=_fig_png(fig), format="png", layout=w.Layout(max_width="560px")))
        self.survey_box.children = [w.HBox(children, layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))]

    def show_overview(self):
        counts = unit_counts(self.data.units)
        n_val = 0 if self.data.values is None else len(self.data.values)
        self.overview.value = (TABLE_CSS + f"<h4>数据概况</h4><div>单位 {len(self.data.units)} 个，指标数据 {n_val} 条，"
                               f"评价期：{'、'.join(self.data.periods)}。数据目录：{html.escape(str(self.data.root))}</div>"
                               f"<h4>单位数量（市州/县市区 × 单位类型）</h4>"
                               + counts.to_html(classes="qlw-table qlw-counts", border=0))


def build_review_dashboard(root: str | Path | None = None, **kw):
    """Build the dashboard from the project's processed data.

    Never raises: a problem (no data yet, a broken file) becomes a readable
    Chinese message in the page.  Returns an object with ``.widget``.
    """
    import ipywidgets as w

    try:
        return ReviewDashboard(load_dashboard_data(root), **kw)
    except Exception as e:  # noqa: BLE001 — the page must explain, not show a traceback
        traceback.print_exc()

        class _Failed:
            widget = w.VBox([w.HTML(error_html(e, context="加载评审看板"))]).add_class("qlw-ready")
            error = e
        return _Failed()
