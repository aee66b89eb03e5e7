"""From respondent files to per-unit public estimates (direct and shrunk).

:func:`estimate_public` runs validity rules → scores → raking within each
县市区 (vectorised over counties) → per-unit Hájek means with linearisation
SEs, satisfaction shares with Wilson/Clopper–Pearson intervals on n_eff,
the minimum-reporting rule → Fay–Herriot EBLUP (REML) and beta-binomial EB,
both shrinking toward unit-type × region group means only.

Output long table (one row per unit × public indicator, ``indicator_id``
``overall`` = all items): see :data:`ESTIMATE_COLUMNS`.  Direct and shrunk
estimates are kept side by side and labelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .estimates import REPORTING_DEFAULTS, group_estimates, proportion_interval, reporting_flags
from .read import DEFAULT_ITEMS, ItemsSpec, SurveyRead, load_items, read_survey
from .scoring import ValidityReport, ValidityRules, apply_validity, score_responses
from .shrinkage import beta_binomial, design_matrix, fay_herriot
from .weighting import RakeResult, rake_by

__all__ = ["SurveyResult", "estimate_public", "shrink", "public_component", "ESTIMATE_COLUMNS",
           "load_survey_inputs", "read_margins", "check_margins"]

ESTIMATE_COLUMNS = [
    "unit_id", "period", "indicator_id", "framework", "unit_type", "city", "county",
    "n", "n_eff", "deff", "mean", "se", "ci_low", "ci_high",
    "sat_share", "sat_ci_low", "sat_ci_high", "reportable", "flag_reason",
    "eblup", "eblup_mse", "eblup_se", "gamma", "eb_share", "eb_ci_low", "eb_ci_high",
]


@dataclass(frozen=True)
class SurveyResult:
    """Everything one survey period produced."""

    estimates: pd.DataFrame  # long: unit × indicator (ESTIMATE_COLUMNS)
    respondents: pd.DataFrame  # valid respondents with scores and weights
    validity: ValidityReport
    rake: RakeResult | None
    problems: tuple
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def overall(self) -> pd.DataFrame:
        return self.estimates[self.estimates["indicator_id"] == "overall"].set_index("unit_id")

    def __repr__(self) -> str:
        ov = self.overall()
        return (f"SurveyResult(period={self.params.get('period')}, respondents={len(self.validity.valid)}, "
                f"valid={int(self.validity.valid.sum())}, units={len(ov)}, "
                f"reportable={int(ov['reportable'].sum()) if len(ov) else 0}, "
                f"median n_eff={ov['n_eff'].median() if len(ov) else float('nan'):.1f})")


def load_survey_inputs(raw: str | Path, period: str):
    """Paths and tables for one period under a raw folder: survey file, items, margins, units."""
    from ..periods import HALF_YEAR_RE as PERIOD_RE

    raw = Path(raw)
    if not PERIOD_RE.match(str(period)):  # the period names files: never a path
        raise QlworkError(Problem("bad_period", "期次应写作 2025H1 或 2025H2", "period must look like 2025H1",
                                  column="period", found=str(period), expected="YYYYH1 或 YYYYH2"))
    sdir = raw / "surveys"
    cands = [sdir / f"survey_{period}.csv", sdir / f"survey_{period}.xlsx"]
    path = next((p for p in cands if _present(p)), None)  # a pipe or folder is found, then reported by the reader
    if path is None:
        raise QlworkError(Problem("missing_file", f"找不到期次 {period} 的调查数据", f"no survey file for {period}",
                                  file=str(cands[0])))
    from ..io.guard import input_file_problem

    bad = input_file_problem(path, root=raw)  # a pipe, device, folder or a link out of the raw folder
    if bad is not None:
        raise QlworkError(bad)
    items = load_items(sdir / "items.yaml", root=raw) if _present(sdir / "items.yaml") else DEFAULT_ITEMS
    margins = read_margins(sdir / "margins.csv", root=raw) if _present(sdir / "margins.csv") else None
    units = _load_units(raw)
    return path, items, margins, units


def _present(p: Path) -> bool:
    return p.exists() or p.is_symlink()


MARGIN_COLUMNS = ("county", "variable", "level", "population")


def read_margins(path: str | Path, *, root: str | Path | None = None, label: str | None = None) -> pd.DataFrame:
    """``margins.csv`` (county, variable, level, population) with every problem located:
    encoding (UTF-8, GBK or GB18030 detected; mixed lines reported), missing columns, a
    population that is not a plain non-negative number (``约36万``, ``36万``, blank, negative),
    and a cell listed twice.  Returns the table with ``population`` as float and ``_row``
    (the line in the file)."""
    from ..io.excel import normalize_text, parse_number
    from ..io.csvtext import read_csv_table

    label = label or str(path)
    df, _ = read_csv_table(path, label=label, root=root)
    df.attrs = {}
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    missing = [c for c in MARGIN_COLUMNS if c not in df.columns]
    if missing:
        raise QlworkError([Problem("missing_column", f"边际总体表缺少列 {c}", f"margins table lacks column {c}", file=label,
                                   row=1, column=c, found=list(df.columns), expected=list(MARGIN_COLUMNS))
                           for c in missing])
    problems = []
    pop = np.full(len(df), np.nan)
    for i, v in enumerate(df["population"].tolist()):
        p = parse_number(v, percent_ok=False)
        if p.ok and p.value >= 0:
            pop[i] = p.value
        else:
            problems.append(Problem(
                "bad_population", "总体人数应为非负的阿拉伯数字（如 360000，不写“约”“万”）",
                "population must be a plain non-negative number (e.g. 360000, no 约/万)", file=label, row=i + 2,
                column="population", found=v, expected="非负数字 a number >= 0"))
    out = df.copy()
    for c in ("county", "variable", "level"):
        out[c] = out[c].map(normalize_text)
    out["population"] = pop
    out["_row"] = np.arange(len(df)) + 2
    out.attrs["file"] = label
    dup = out.duplicated(["county", "variable", "level"], keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        r = out.iloc[i]
        problems.append(Problem("duplicate_margin", f"边际 {r['county']}/{r['variable']}/{r['level']} 重复出现",
                                "the same margin cell appears twice", file=label, row=int(r["_row"]), column="level",
                                found=r["level"], expected="每个县市区×变量×类别一行 one row per cell"))
    if problems:
        raise QlworkError(problems)
    return out


def check_margins(margins: pd.DataFrame, sample: pd.DataFrame, *, by: str = "county",
                  variables: Sequence[str] = ("age_group", "sex", "area"), label: str | None = None) -> list[Problem]:
    """Margin cells whose population is 0 although respondents of that cell exist: raking would
    give them weight 0 and drop them without a word — located errors naming the margins row."""
    if "population" not in margins.columns or by not in sample.columns:
        return []
    out = []
    zero = margins[(margins["population"] == 0) & margins["variable"].isin(list(variables))]
    for r in zero.itertuples(index=False):
        if r.variable not in sample.columns:
            continue
        n = int(((sample[by].astype(str) == str(r.county)) & (sample[r.variable].astype(str) == str(r.level))).sum())
        if n:
            out.append(Problem(
                "zero_population", f"边际总体表中 {r.county} 的 {r.variable}={r.level} 总体人数为 0，但有 {n} 名有效受访者属于该类；"
                "加权会把他们的权数变为 0（等于悄悄删除），请核对人数", f"population 0 for {r.county} {r.variable}={r.level} "
                f"although {n} valid respondents are in that cell; raking would silently drop them", file=label,
                row=int(getattr(r, "_row", 0)) or None, column="population", found=0,
                expected=f"> 0（有 {n} 名受访者 respondents）"))
    return out


def _load_units(raw: Path) -> pd.DataFrame:
    try:
        from ..io.ingest import load_units  # owned by the ingest helper
        u = load_units(raw)
    except (ImportError, AttributeError):
        from .read import excel_engine

        u = pd.read_excel(raw / "units.xlsx", sheet_name="单位名录", dtype=str, engine=excel_engine())
        u = u.rename(columns={"单位编码": "unit_id", "单位名称": "unit_name", "单位类型": "unit_type",
                              "市州": "city", "县市区": "county", "乡镇(街道)": "township", "框架": "framework",
                              "在编人数": "staff", "服务人口": "population"})
    if "unit_id" not in u.columns:
        u = u.reset_index()
    return u


def estimate_public(
    survey: pd.DataFrame | SurveyRead | str | Path,
    units: pd.DataFrame,
    margins: pd.DataFrame | None = None,
    items: ItemsSpec = DEFAULT_ITEMS,
    *,
    period: str | None = None,
    rules: ValidityRules = ValidityRules(),
    rake_vars: Sequence[str] = ("age_group", "sex", "area"),
    trim_k: float | None = 5.0,
    prop_method: str = "wilson",
    level: float = 0.95,
    reporting: dict | None = None,
    shrink_by: Sequence[str] | str = "auto",
    fh_method: str = "REML",
    do_shrink: bool = True,
) -> SurveyResult:
    """Per-unit public estimates for one period (see module docstring).

    ``units`` needs unit_id, unit_type, county, framework.  ``margins`` is the
    tidy ``margins.csv`` (county, variable, level, population); without it
    every respondent weighs 1.
    """
    reporting = {**REPORTING_DEFAULTS, **(reporting or {})}
    u = units.reset_index() if "unit_id" not in units.columns else units
    u = u.drop_duplicates("unit_id").set_index("unit_id")
    if not isinstance(survey, SurveyRead):
        if isinstance(survey, (str, Path)):
            survey = read_survey(survey, items=items, known_units=u.index, period=period)
        else:
            df = survey.copy()
            if "_problem" not in df.columns:
                df["_problem"] = np.where(df["unit_id"].isin(u.index), "", "unknown_unit")
            survey = SurveyRead(df, (), "<frame>", "", tuple(items.items))
    df = survey.data
    if period is None:
        per = pd.unique(df["period"])
        period = str(per[0]) if len(per) else ""
    vrep = apply_validity(df, items, rules)
    d = df.loc[vrep.valid.to_numpy()].copy()
    d = d.join(u[["unit_type", "county", "framework"]], on="unit_id")
    scores = score_responses(d, items)
    problems = list(survey.problems)
    rk = None
    if margins is not None and len(d):
        zero = check_margins(margins, d, variables=rake_vars, label=getattr(margins, "attrs", {}).get("file"))
        if zero:
            raise QlworkError(zero)
        m = margins[margins["variable"].isin(list(rake_vars))]
        rk = rake_by(d, m, by="county", trim_k=trim_k)
        w = rk.weights.to_numpy()
        problems += list(rk.problems)
    else:
        w = np.ones(len(d))
    d = pd.concat([d, scores], axis=1)
    d["weight"] = w
    res = _unit_estimates(d, items, u, period, prop_method=prop_method, level=level, reporting=reporting)
    if shrink_by == "auto":
        # the finest region level that keeps the design small: 县市区 for one or two
        # 市州 (county-scale data), 市州 for a whole province (≈120 counties)
        ncity = u["city"].nunique() if "city" in u.columns else 0
        shrink_by = ("unit_type", "city") if ncity >= 3 else ("unit_type", "county")
    shrink_by = tuple(shrink_by)
    if do_shrink:
        res = shrink(res, by=shrink_by, method=fh_method, level=level)
    params = {"period": period, "rules": vrep.rules.__dict__, "rake_vars": list(rake_vars), "trim_k": trim_k,
              "weighting": "raking within 县市区" if rk is not None else "none (equal weights)",
              "variance": "linearisation, with replacement", "prop_method": prop_method, "level": level,
              "reporting": reporting, "shrink_by": list(shrink_by), "fh_method": fh_method,
              "scale": items.scale.name, "score_rule": items.scale.rule}
    return SurveyResult(res, d, vrep, rk, tuple(problems), params)


def _unit_estimates(d: pd.DataFrame, items: ItemsSpec, u: pd.DataFrame, period: str, *, prop_method: str,
                    level: float, reporting: dict) -> pd.DataFrame:
    frames = []
    uid = pd.Categorical(d["unit_id"])
    ug = pd.Series(uid, index=d.index)
    fw_of = u["framework"].astype(str)
    targets = [("overall", None)] + [(ind, fw) for fw, ind, _ in items.indicator_items()]
    w = d["weight"].to_numpy()
    sat = d["satisfied"].to_numpy(dtype=float)
    sat_est = group_estimates(sat, w, ug, level=level)
    for ind, fw in targets:
        e = group_estimates(d[ind].to_numpy(dtype=float), w, ug, level=level)
        e = e[e["n"] > 0]
        e.index.name = "unit_id"
        e = e.reset_index()
        e["framework"] = e["unit_id"].map(fw_of)
        if fw is not None:
            e = e[e["framework"] == fw]
        e["indicator_id"] = ind
        s = sat_est.reindex(e["unit_id"])
        e["sat_share"] = s["mean"].to_numpy()
        lo, hi = proportion_interval(s["mean"].to_numpy(), s["n_eff"].to_numpy(), method=prop_method, level=level)
        e["sat_ci_low"], e["sat_ci_high"] = lo, hi
        e["sat_n_eff"] = s["n_eff"].to_numpy()
        frames.append(e)
    est = pd.concat(frames, ignore_index=True)
    est["period"] = period
    est["unit_type"] = est["unit_id"].map(u["unit_type"])
    est["county"] = est["unit_id"].map(u["county"])
    if "city" in u.columns:
        est["city"] = est["unit_id"].map(u["city"])
    est = pd.concat([est, reporting_flags(est, **reporting)], axis=1)
    return est


def shrink(est: pd.DataFrame, *, by: Sequence[str] = ("unit_type", "county"), method: str = "REML",
           level: float = 0.95, min_var: float = 1.0) -> pd.DataFrame:
    """Add Fay–Herriot EBLUP and beta-binomial EB columns to a long estimates table.

    Each indicator is shrunk separately toward group means built from the
    ``by`` labels (region / unit type) **only** — the internal score is never
    a covariate.  Units with n < 2 (no variance) keep NaN shrunk values.
    ``min_var`` floors the direct variance (points²) so a unit whose
    respondents all gave the same answer (se = 0) is not treated as exact.
    """
    out = est.copy()
    for c in ("eblup", "eblup_mse", "eblup_se", "gamma", "eb_share", "eb_ci_low", "eb_ci_high"):
        out[c] = np.nan
    for ind, sub in out.groupby("indicator_id", sort=False):
        ok = sub["se"].notna() & sub["mean"].notna()
        s = sub[ok]
        if len(s) < 3:
            continue
        groups = s[list(by)].astype(str)
        # keep only labels with more than one level so the design has full rank
        groups = groups[[c for c in groups.columns if groups[c].nunique() > 1]]
        X = design_matrix(groups) if len(groups.columns) else None
        var = np.maximum(s["se"].to_numpy() ** 2, min_var)
        fh = fay_herriot(s["mean"].to_numpy(), var, X, method=method)
        out.loc[s.index, "eblup"] = fh.estimates.to_numpy()
        out.loc[s.index, "eblup_mse"] = fh.mse.to_numpy()
        out.loc[s.index, "eblup_se"] = np.sqrt(fh.mse.to_numpy())
        out.loc[s.index, "gamma"] = fh.gamma.to_numpy()
        ne = s["sat_n_eff"].to_numpy()
        p = np.clip(s["sat_share"].to_numpy(), 0, 1)
        g = s.groupby(list(by), sort=True).ngroup().to_numpy()
        bb = beta_binomial(p * ne, ne, g, level=level)
        out.loc[s.index, "eb_share"] = bb.estimates.to_numpy()
        out.loc[s.index, "eb_ci_low"] = bb.ci_low.to_numpy()
        out.loc[s.index, "eb_ci_high"] = bb.ci_high.to_numpy()
    return out


def public_component(est: pd.DataFrame, which: str = "direct", indicator: str = "overall") -> pd.Series:
    """Public score per unit (0–100) for ``compute_index(public=...)``.

    ``which="direct"`` (official default, DOMAIN.md §3.5) or ``"eblup"``; the
    choice is stored in ``Series.attrs['public_source']`` so it can be recorded
    (with ``which="eblup"``, units without an EBLUP keep the direct value,
    counted in ``attrs['filled_with_direct']``).
    """
    if which not in ("direct", "eblup"):
        raise QlworkError(Problem("bad_choice", "公众评价口径须为 direct 或 eblup", "which must be direct or eblup",
                                  found=which))
    sub = est[est["indicator_id"] == indicator].set_index("unit_id")
    s = sub["mean" if which == "direct" else "eblup"].rename("public")
    filled = 0
    if which == "eblup":  # units too small for a variance (n < 2) keep their direct value
        miss = s.isna() & sub["mean"].notna()
        filled = int(miss.sum())
        s = s.where(~miss, sub["mean"])
    s = s.clip(0, 100)
    s.attrs["public_source"] = which
    s.attrs["filled_with_direct"] = filled
    return s
