"""Check the raw data folder and report every problem at once, located.

:func:`validate` reads the unit registry, the frameworks and every department
workbook (via :mod:`qlwork.io.ingest`) and returns a :class:`ValidationReport`.
Nothing under the raw folder is ever written.

Checks (problem ``code`` in brackets; all errors unless noted):

- registry: missing columns, rows without id, duplicate ids [duplicate_unit], non-numeric
  staff/population [bad_number], unknown framework key [unknown_framework], unit type
  not listed in its framework [unknown_unit_type, warning]
- workbook layout: unreadable file, sheet without a 单位编码 header [unknown_sheet],
  no recognisable indicator header [no_indicator_columns], header that is no indicator
  [unknown_column], indicator twice [duplicate_column], values without unit id
  [missing_unit_id], period folder not like 2025H1 [bad_period]
- rows: unit not in the registry [unknown_unit] (one per row), unit in a sheet of
  another framework [wrong_sheet], the same unit–period–indicator reported again
  [duplicate] (one per repeated row; the first occurrence is kept)
- cells: text that is no number [non_numeric], value outside the indicator's valid
  range (``range`` in the framework: negative counts, rates over 100 %) [out_of_range],
  applicable indicator blank or marked missing [missing_value], value given for an
  indicator that does not apply to the unit type [not_applicable_value, warning]
- periods: a half-year without any workbook, a department missing a period, or a
  unit reported by a department in other periods but not this one [period_gap];
  a unit never reported by a department whose indicators apply to it [unit_not_reported]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError, problems_frame
from .ingest import (
    PERIOD_RE, REGISTRY_FILE, department_files, load_frameworks, normalize_period, period_range, read_departments,
    read_units,
)
from ..paths import raw_dir as default_raw_dir

__all__ = ["validate", "ValidationReport", "run_checks", "CheckResult"]


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in a raw folder.  ``ok`` is True when there is no error
    (warnings allowed)."""

    problems: tuple[Problem, ...]
    raw_dir: Path
    n_files: int = 0
    n_cells: int = 0
    n_units: int = 0
    periods: tuple = ()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per problem (columns of :class:`qlwork.errors.Problem`)."""
        return problems_frame(self.problems)

    def counts(self) -> pd.Series:
        """Number of problems per code."""
        return pd.Series([p.code for p in self.problems], dtype=str).value_counts().sort_index()

    def summary_zh(self) -> str:
        head = (f"检查了 {self.n_files} 个部门工作簿、{self.n_cells} 个单元格、{self.n_units} 个单位"
                f"（期别 {'、'.join(self.periods) or '无'}）：")
        if not self.problems:
            return head + "未发现问题。 No problems found."
        return head + (f"{len(self.errors)} 个错误、{len(self.warnings)} 个警告。 "
                       f"{len(self.errors)} errors, {len(self.warnings)} warnings.")

    def __str__(self) -> str:
        lines = [f"{'错误' if p.severity == 'error' else '警告'} {i}. {p}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines + [self.summary_zh()])

    def __repr__(self) -> str:
        return (f"ValidationReport(ok={self.ok}, errors={len(self.errors)}, warnings={len(self.warnings)}, "
                f"files={self.n_files}, cells={self.n_cells}, raw_dir='{self.raw_dir}')")


@dataclass(frozen=True)
class CheckResult:
    """Report plus what was read (used by :func:`qlwork.io.build.ingest`).

    ``cells`` has a boolean ``valid`` column: False for cells excluded by an error
    (unknown unit, wrong sheet, duplicate, non-numeric, out of range) or a
    not-applicable value."""

    report: ValidationReport
    cells: pd.DataFrame
    units: pd.DataFrame | None
    frameworks: dict = field(default_factory=dict)
    veto: pd.DataFrame | None = None  # valid rows of the veto register (registers/一票否决事项登记表.xlsx)
    bonus: pd.DataFrame | None = None  # valid rows of the bonus register (registers/加分事项登记表.xlsx)


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _range_text(lo: float, hi: float) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return "任意数"
    if math.isinf(hi):
        return f"≥ {_fmt(lo)}"
    if math.isinf(lo):
        return f"≤ {_fmt(hi)}"
    return f"{_fmt(lo)} – {_fmt(hi)}"


def run_checks(raw_dir: str | Path | None = None, *, progress: bool = False) -> CheckResult:
    """Read and check everything; see the module docstring for the checks."""
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    problems: list[Problem] = []
    if not base.is_dir():
        rep = ValidationReport((Problem("folder_not_found", "找不到原始数据文件夹，可先运行 qlwork demo 生成示例数据",
                                        "raw data folder not found; run `qlwork demo` for demo data",
                                        file=str(base)),), base)
        return CheckResult(rep, pd.DataFrame(), None, {})
    try:
        frameworks = load_frameworks(base)
    except QlworkError as e:
        rep = ValidationReport(tuple(e.problems), base)
        return CheckResult(rep, pd.DataFrame(), None, {})

    units, uprobs = read_units(base)
    problems += uprobs
    ucols = units.attrs.get("columns", {})
    usheet = units.attrs.get("sheet")
    for r in units.itertuples(index=False):
        if r.framework and r.framework not in frameworks:
            problems.append(Problem(
                "unknown_framework", f"框架 {r.framework!r} 没有对应的 framework_{r.framework}.yaml",
                f"framework {r.framework!r} has no framework_{r.framework}.yaml", file=REGISTRY_FILE, sheet=usheet,
                row=r.excel_row, column=ucols.get("framework"), found=r.framework, expected=" 或 ".join(frameworks)))
        elif r.framework in frameworks:
            fw = frameworks[r.framework]
            if fw.unit_types and r.unit_type not in fw.unit_types:
                problems.append(Problem(
                    "unknown_unit_type", f"单位类型 {r.unit_type!r} 不在框架 {r.framework} 的单位类型中",
                    f"unit type {r.unit_type!r} is not listed in framework {r.framework}", file=REGISTRY_FILE,
                    sheet=usheet, row=r.excel_row, column=ucols.get("unit_type"), found=r.unit_type,
                    expected="、".join(fw.unit_types), severity="warning"))

    cells, lprobs, layout = read_departments(base, frameworks, progress=progress)
    problems += lprobs
    files = department_files(base)
    n = len(cells)
    valid = np.ones(n, bool)

    uid = cells["unit_id"]
    known = uid.isin(units["unit_id"]).to_numpy()
    # Series (Arrow strings), not object arrays: millions of cells at province scale
    ufw = uid.map(dict(zip(units["unit_id"], units["framework"])))
    utype = uid.map(dict(zip(units["unit_id"], units["unit_type"])))
    row_key = ["file", "sheet", "row"]

    # unknown units (one problem per row)
    m = ~known
    for r in cells.loc[m].drop_duplicates(row_key).itertuples(index=False):
        problems.append(Problem(
            "unknown_unit", f"单位编码 {r.unit_id} 不在单位名录中，该行未采用",
            "unit id not in the unit registry; row not used", file=r.file, sheet=r.sheet, row=r.row,
            column=r.unit_col, found=r.unit_id, expected="单位名录 units.xlsx 中的编码 an id from the registry"))
    valid &= known

    # unit in a sheet of another framework
    m = known & (ufw != cells["framework"]).fillna(True).to_numpy(dtype=bool)
    for r in cells.loc[m].drop_duplicates(row_key).itertuples(index=False):
        problems.append(Problem(
            "wrong_sheet", f"单位 {r.unit_id} 不属于本工作表的指标框架（{r.framework}），该行未采用",
            "unit belongs to another framework than this sheet; row not used", file=r.file, sheet=r.sheet,
            row=r.row, column=r.unit_col, found=r.unit_id, expected=f"框架为 {r.framework} 的单位"))
    valid &= ~m

    # duplicates: the same unit–period–indicator again (keep the first, one problem per repeated row)
    key = cells[["unit_id", "period", "indicator_id"]]
    cand = valid.copy()
    dup = np.zeros(n, bool)
    if cand.any():
        d = key[cand].duplicated(keep="first").to_numpy()
        dup[np.flatnonzero(cand)[d]] = True
    if dup.any():
        k3 = ["unit_id", "period", "indicator_id"]
        dupkeys = cells.loc[dup, k3].drop_duplicates()
        involved = cand & key.merge(dupkeys.assign(_d=True), on=k3, how="left")["_d"].notna().to_numpy()
        first = cells[involved & ~dup].set_index(k3)
        for r in cells.loc[dup].drop_duplicates(row_key).itertuples(index=False):
            f = first.loc[(r.unit_id, r.period, r.indicator_id)]
            where = (f"{f['file']} 工作表 {f['sheet']} 第 {f['row']} 行" if f["file"] != r.file
                     else f"工作表 {f['sheet']} 第 {f['row']} 行")
            problems.append(Problem(
                "duplicate", f"单位 {r.unit_id} 本期重复填报（首次出现于{where}），重复行未采用",
                "unit reported twice for this period; the repeated row is not used", file=r.file, sheet=r.sheet,
                row=r.row, column=r.unit_col, found=r.unit_id,
                expected=f"每个单位每期每个指标一个值（已在{where}）"))
    valid &= ~dup

    # cell checks on the rows that are used
    ind_meta = {(k, i.id): i for k, fw in frameworks.items() for i in fw.indicators.values()}
    st_ok = (cells["status"] == "ok").to_numpy(dtype=bool)
    st_nonnum = (cells["status"] == "non_numeric").to_numpy(dtype=bool)
    st_missing = (cells["status"] == "missing").to_numpy(dtype=bool)
    vals = cells["value"].to_numpy(dtype=float)
    fwk = cells["framework"]
    ind = cells["indicator_id"]
    # per-cell range and applicability by index lookup into small tables (no per-cell Python objects)
    keys = list(ind_meta)
    pos = pd.MultiIndex.from_tuples(keys).get_indexer(pd.MultiIndex.from_arrays([fwk, ind])) if n else np.zeros(0, int)
    lo = np.array([ind_meta[k].valid_range[0] for k in keys], float)[pos] if n else np.zeros(0)
    hi = np.array([ind_meta[k].valid_range[1] for k in keys], float)[pos] if n else np.zeros(0)
    types = sorted(str(t) for t in utype.dropna().unique())
    app_tab = np.array([[ind_meta[k].applies(t) for t in types] for k in keys], bool).reshape(len(keys), len(types))
    tpos = pd.Index(types).get_indexer(utype) if n else np.zeros(0, int)
    applies = np.where(tpos >= 0, app_tab[pos, np.maximum(tpos, 0)] if n and types else False, False) if n \
        else np.zeros(0, bool)
    used = valid.copy()
    nonnum = used & st_nonnum
    oor = used & st_ok & ((vals < lo) | (vals > hi))
    missing = used & st_missing & applies
    notapp = used & st_ok & ~applies & ~oor
    for mask, code in ((nonnum, "non_numeric"), (oor, "out_of_range"), (missing, "missing_value"),
                       (notapp, "not_applicable_value")):
        for i in np.flatnonzero(mask):
            r = cells.iloc[i]
            meta = ind_meta[(r["framework"], r["indicator_id"])]
            nm = f"{meta.name}（{meta.id}）"
            loc = dict(file=r["file"], sheet=r["sheet"], row=int(r["row"]), column=r["column"])
            if code == "non_numeric":
                problems.append(Problem(code, f"单位 {r['unit_id']} 指标 {nm} 的值不是数字，未采用",
                                        "value is not a number; not used", found=r["text"],
                                        expected=f"数字 a number（{meta.unit}）", **loc))
            elif code == "out_of_range":
                rng = _range_text(meta.valid_range[0], meta.valid_range[1])
                problems.append(Problem(code, f"单位 {r['unit_id']} 指标 {nm} 的值超出合理范围 {rng}，未采用",
                                        "value outside the indicator's valid range; not used",
                                        found=_fmt(float(r["value"])), expected=f"{rng}（{meta.unit}）", **loc))
            elif code == "missing_value":
                problems.append(Problem(code, f"单位 {r['unit_id']}（{utype.iloc[i]}）缺少适用指标 {nm} 的值",
                                        "applicable indicator has no value", found=r["text"] if isinstance(r["text"], str) and r["text"] else "空白 blank",
                                        expected=f"数值 a value（{meta.unit}）", **loc))
            else:
                problems.append(Problem(code, f"指标 {nm} 不适用于单位类型 {utype.iloc[i]}，该值未采用",
                                        "indicator does not apply to this unit type; value not used",
                                        found=_fmt(float(r["value"])), expected="“/” 不适用 not applicable",
                                        severity="warning", **loc))
    valid &= ~(nonnum | oor | notapp)

    # mixed scale in a percent column: 0.95 among 95, 98, "96%" — the fraction was meant as 95 %.
    # Only where the evidence is clear: a rate (kind percent) whose column is mostly ≥ 50, and a
    # fraction 0.5 ≤ v < 1 whose ×100 lies inside the column's range.  Low percentages (0.3 among
    # 1–18) are left alone: there the two scales cannot be told apart.
    is_pct = np.array([ind_meta[k].unit in ("%", "％") and ind_meta[k].kind in ("percent", "")
                       for k in keys], bool)[pos] if n else np.zeros(0, bool)
    cand = valid & st_ok & is_pct
    if cand.any():
        sub = cells.loc[cand, ["file", "sheet", "column", "value"]]
        big = sub[sub["value"] > 1].groupby(["file", "sheet", "column"], sort=False)["value"].agg(
            ["min", "max", "median"])
        big = big[big["median"] >= 50]
        frac = sub[(sub["value"] >= 0.5) & (sub["value"] < 1)]
        if len(big) and len(frac):
            j = frac.join(big, on=["file", "sheet", "column"], how="inner")
            hit = j[(j["value"] * 100 >= j["min"]) & (j["value"] * 100 <= j["max"])]
            mixed = np.zeros(n, bool)
            mixed[hit.index.to_numpy()] = True  # cells has a RangeIndex
            for i in np.flatnonzero(mixed):
                r = cells.iloc[i]
                meta = ind_meta[(r["framework"], r["indicator_id"])]
                v = float(r["value"])
                g = big.loc[(r["file"], r["sheet"], r["column"])]
                problems.append(Problem(
                    "mixed_scale", f"单位 {r['unit_id']} 指标 {meta.name}（{meta.id}）的值 {_fmt(v)} 像小数写法（{_fmt(v * 100)}%？），"
                    f"而本列其他值按百分数填写（{_fmt(g['min'])}–{_fmt(g['max'])}），比例尺不一致，未采用",
                    f"value {_fmt(v)} looks like a fraction ({_fmt(v * 100)} %?) while the rest of the column is in percent; "
                    "mixed scale, not used", file=r["file"], sheet=r["sheet"], row=int(r["row"]), column=r["column"],
                    found=_fmt(v), expected=f"百分数，如 {_fmt(v * 100)}（{meta.unit}） percent, e.g. {_fmt(v * 100)}"))
            valid &= ~mixed

    # periods
    good = [(p, d, path) for p, d, path in files if PERIOD_RE.match(p)]
    periods = sorted({p for p, _, _ in good})
    if periods:
        full = period_range(periods[0], periods[-1])
        for p in full:
            if p not in periods:
                problems.append(Problem(
                    "period_gap", f"缺少 {p} 期的全部部门报表（前后各期都有）",
                    f"no workbook at all for period {p} (earlier and later periods exist)",
                    file=f"departments/{p}/", found="无文件 no files", expected=f"departments/{p}/<部门>.xlsx"))
        depts = sorted({d for _, d, _ in good})
        have = {(p, d) for p, d, _ in good}
        for d in depts:
            for p in periods:
                if (p, d) not in have:
                    problems.append(Problem(
                        "period_gap", f"部门 {d} 缺少 {p} 期报表",
                        f"department {d} has no workbook for period {p}",
                        file=f"departments/{p}/{d}.xlsx", found="文件不存在 file missing", expected="该期报表"))
        problems += _unit_gaps(cells, known, units, frameworks, layout, good)

    # veto and bonus registers (qlwork.registers.rules): located problems, valid rows kept
    from ..registers.rules import read_rule_registers

    veto, bonus, reg_problems = read_rule_registers(base, units=units, frameworks=frameworks,
                                                    periods=periods or None, period_parser=normalize_period)
    problems += reg_problems

    problems = _sorted(problems)
    cells = cells.assign(valid=valid)
    rep = ValidationReport(tuple(problems), base, n_files=len(files), n_cells=n, n_units=len(units),
                           periods=tuple(periods))
    return CheckResult(rep, cells, units, frameworks, veto, bonus)


def _unit_gaps(cells, known, units, frameworks, layout, files) -> list[Problem]:
    """Units that a department reports in some periods but not in another (period_gap),
    or never although some of its indicators apply (unit_not_reported)."""
    out: list[Problem] = []
    if units.empty:
        return out
    # (file, framework) → first sheet with that framework, its period and department
    rows = []
    for p, d, path in files:
        # labels in layout are relative to the raw folder; find by suffix
        lbl = next((k for k in layout if k.endswith(f"departments/{p}/{d}.xlsx")), None)
        if lbl is None:
            continue
        seen = set()
        for sheet, fk in layout[lbl].items():
            if fk not in seen:
                seen.add(fk)
                rows.append((lbl, sheet, p, d, fk))
    if not rows:
        return out
    fsheets = pd.DataFrame(rows, columns=["file", "sheet", "period", "source", "framework"])
    # indicators each department reports per framework (from the headers actually read)
    cols = cells[["source", "framework", "indicator_id"]].drop_duplicates()
    need_types: dict[tuple, set] = {}
    for (src, fk), g in cols.groupby(["source", "framework"]):
        fw = frameworks[fk]
        types = set(units.loc[units["framework"] == fk, "unit_type"])
        need_types[(src, fk)] = {t for t in types if any(fw.indicators[i].applies(t) for i in g["indicator_id"])}
    exp = fsheets.merge(units[["unit_id", "unit_type", "framework"]], on="framework")
    exp = exp[[t in need_types.get((s, f), set()) for s, f, t in zip(exp["source"], exp["framework"], exp["unit_type"])]]
    present = cells.loc[known, ["unit_id", "period", "source"]].drop_duplicates()
    exp = exp.merge(present.assign(_p=True), on=["unit_id", "period", "source"], how="left")
    miss = exp[exp["_p"].isna()]
    if miss.empty:
        return out
    ever = set(zip(present["unit_id"], present["source"]))
    gap = np.array([(u, s) in ever for u, s in zip(miss["unit_id"], miss["source"])], bool)
    for r in miss[gap].itertuples(index=False):
        out.append(Problem(
            "period_gap", f"单位 {r.unit_id} 在 {r.period} 期 {r.source} 报表中缺失（其他期有填报）",
            f"unit {r.unit_id} is missing from the {r.period} {r.source} workbook (reported in other periods)",
            file=r.file, sheet=r.sheet, found="无此单位 unit absent", expected=f"单位 {r.unit_id} 一行 a row for the unit"))
    for (u, s), g in miss[~gap].groupby(["unit_id", "source"], sort=True):
        first = g.sort_values("period").iloc[0]
        out.append(Problem(
            "unit_not_reported", f"单位 {u} 从未出现在 {s} 报表中（期别 {'、'.join(sorted(g['period']))}），其适用指标全部缺失",
            f"unit {u} never appears in the {s} workbooks; its applicable indicators are all missing",
            file=first["file"], sheet=first["sheet"], found="无此单位 unit absent", expected=f"单位 {u} 一行 a row for the unit"))
    return out


def _sorted(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem):
        reg = 0 if p.file == REGISTRY_FILE else 1
        return (reg, p.file or "", p.sheet or "", p.row if p.row is not None else 10**9, len(p.column or ""),
                p.column or "", p.code)
    return sorted(problems, key=key)


def validate(raw_dir: str | Path | None = None, *, progress: bool = False) -> ValidationReport:
    """Check the raw folder (default ``data/raw``) and return every problem found.

    Read-only: nothing under ``raw_dir`` is created, changed or deleted.
    """
    return run_checks(raw_dir, progress=progress).report
