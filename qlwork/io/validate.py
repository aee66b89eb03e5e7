"""Check the raw data folder and report every problem at once, located.

:func:`validate` reads the unit registry, the frameworks and every department
workbook (via :mod:`qlwork.io.ingest`) and returns a :class:`ValidationReport`.
Nothing under the raw folder is ever written.

Checks (problem ``code`` in brackets; all errors unless noted):

- files (:mod:`qlwork.io.guard`): not a regular file or a link out of the raw folder
  [not_regular_file, outside_raw, broken_link], too large, zip bomb, DTD, used range too
  large [used_range], hidden sheets [hidden_sheet, warning], external links [external_link,
  warning]
- registry: missing columns, rows without id, duplicate ids [duplicate_unit], ids with
  separators, "..", control or invisible characters [unsafe_id, id_too_long], look-alike
  ids [lookalike_id, confusable_id], control/invisible characters in names [bad_text],
  non-numeric staff/population [bad_number], unknown framework key [unknown_framework],
  unit type not listed in its framework [unknown_unit_type, warning]
- workbook layout: unreadable file, sheet without a 单位编码 header [unknown_sheet],
  no recognisable indicator header [no_indicator_columns], header that is no indicator
  [unknown_column], indicator twice [duplicate_column], values without unit id
  [missing_unit_id], period folder that is no canonical period id — 2025H1, 2025Q1,
  2025-03 (:mod:`qlwork.periods`) [bad_period], a workbook outside any period folder [misplaced_file]
- rows: unit not in the registry [unknown_unit] (one per row; [lookalike_id] with the registry
  row when it looks like a registry id, [unsafe_id] for a path-like id), unit in a sheet of
  another framework [wrong_sheet], the same unit–period–indicator reported again
  [duplicate] (one per repeated row; the first occurrence is kept)
- cells: text that is no number [non_numeric], value outside the indicator's valid
  range (``range`` in the framework: negative counts, rates over 100 %) [out_of_range],
  applicable indicator blank or marked missing [missing_value], value given for an
  indicator that does not apply to the unit type [not_applicable_value, warning]
- registers (registers/): veto and bonus (:mod:`qlwork.registers.rules`), the rectification ledger
  and the risk register (:mod:`qlwork.registers.ledger`, :mod:`qlwork.registers.risk`); indicators
  a framework derives from a register (:mod:`qlwork.followup.measures`) [unknown_measure,
  register_missing (warning)]
- periods (any grain: half-years, quarters, months): months inside the reported span
  without any workbook, a department missing a period of its own grain (a period not yet
  ended at the last reported month is not due), or a unit reported by a department in
  other periods but not this one [period_gap]; a unit never reported by a department
  whose indicators apply to it [unit_not_reported]; the same unit and indicator reported
  for overlapping periods of different grains — a month inside a reported quarter or
  half-year — [period_overlap] (one per file and sheet, first row located; the coarser
  submission is kept); a half-year whose monthly or quarterly parts are not all in, so
  no value is rolled up yet [rollup_incomplete, warning]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError, problems_frame
from .. import periods as P
from .ingest import REGISTRY_FILE, department_files, load_frameworks, read_departments, read_units
from ..paths import raw_dir as default_raw_dir
from .ids import describe_chars, id_problem, skeleton

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
    derived: pd.DataFrame | None = None  # values of indicators derived from registers (qlwork.followup.measures)
    rolled: object = None  # qlwork.io.rollup.RollupResult of the valid cells (half-year values)


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

    # unknown units (one problem per row); a look-alike of a registry id or an unsafe id is named as such
    m = ~known
    if m.any():
        reg = {skeleton(u): (u, int(x)) for u, x in zip(units["unit_id"], units["excel_row"])}
    for r in cells.loc[m].drop_duplicates(row_key).itertuples(index=False):
        problems.append(_unknown_id_problem(r, reg, units.attrs.get("sheet")))
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
    ind_meta = {(k, i.id): i for k, fw in frameworks.items() for i in fw.reported.values()}
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

    # periods: overlaps between grains, gaps in the reported span, roll-ups not yet complete
    good = [(p, d, path) for p, d, path in files if P.is_canonical(p)]
    periods = P.sort_periods({p for p, _, _ in good})
    rolled = None
    if periods:
        ov, ov_probs = _overlaps(cells, valid)
        valid &= ~ov
        problems += ov_probs
        problems += _file_gaps(good)
        problems += _unit_gaps(cells, known, units, frameworks, layout, good)
        keep = valid & st_ok
        if keep.any():
            from .rollup import rollup_all

            rolled = rollup_all(cells.loc[keep, ["unit_id", "period", "indicator_id", "value", "source", "file",
                                                 "sheet", "row", "column"]], frameworks, grain="H")
            problems += _rollup_warnings(rolled, cells.loc[keep])

    # veto and bonus registers (qlwork.registers.rules): located problems, valid rows kept
    from ..registers.rules import read_rule_registers

    # registers belong to evaluation periods (half-years): those the submissions of any grain touch
    halves = P.sort_periods({P.parse(p).parent("H").id for p in periods})
    veto, bonus, reg_problems = read_rule_registers(base, units=units, frameworks=frameworks,
                                                    periods=halves or None, period_parser=P.normalize_half_year)
    problems += reg_problems
    # follow-through registers (整改台账, 廉政风险点) and the framework indicators derived from them
    from ..followup.measures import derived_values
    from ..registers.follow import read_follow_registers

    fregs = read_follow_registers(base, units=units, frameworks=frameworks, periods=halves or None,
                                  period_parser=P.normalize_half_year)
    derived, dprobs = derived_values(frameworks, units, halves, ledger=fregs.ledger, risk=fregs.risk)
    problems += list(fregs.problems) + dprobs

    problems = _sorted(problems)
    cells = cells.assign(valid=valid)
    rep = ValidationReport(tuple(problems), base, n_files=len(files), n_cells=n, n_units=len(units),
                           periods=tuple(periods))
    return CheckResult(rep, cells, units, frameworks, veto, bonus, derived, rolled)


def _unknown_id_problem(r, reg: dict, reg_sheet: str | None) -> Problem:
    """A data row whose unit id is not in the registry: a look-alike of a registry id (with
    its row), an unsafe id, or simply unknown."""
    loc = dict(file=r.file, sheet=r.sheet, row=r.row, column=r.unit_col)
    twin = reg.get(skeleton(r.unit_id))
    if twin is not None:
        odd = [c for c in str(r.unit_id) if not c.isascii()] or list(str(r.unit_id))
        return Problem("lookalike_id", f"单位编码 {r.unit_id!r} 与单位名录第 {twin[1]} 行的 {twin[0]!r} 看起来相同，但不是同一编码"
                       f"（{describe_chars(odd[:3])}），该行未采用", f"unit id {r.unit_id!r} looks like {twin[0]!r} "
                       f"(registry row {twin[1]}{', sheet ' + reg_sheet if reg_sheet else ''}) but differs; row not used",
                       found=repr(r.unit_id), expected=f"{twin[0]}（单位名录 {REGISTRY_FILE} 第 {twin[1]} 行）", **loc)
    bad = id_problem(r.unit_id)
    if bad is not None:
        return Problem(bad[0], f"单位编码 {r.unit_id!r}：{bad[1]}，该行未采用", f"unit id {r.unit_id!r}: {bad[2]}; row not used",
                       found=bad[3], expected="单位名录 units.xlsx 中的编码 an id from the registry", **loc)
    return Problem("unknown_unit", f"单位编码 {r.unit_id} 不在单位名录中，该行未采用",
                   "unit id not in the unit registry; row not used", found=r.unit_id,
                   expected="单位名录 units.xlsx 中的编码 an id from the registry", **loc)


def _grain_table(labels) -> pd.DataFrame:
    uniq = pd.unique(pd.Series(labels, dtype=object).astype(str))
    rec = []
    for u in uniq:
        p = P.try_parse(u)
        rec.append((u, p.first_month if p else -1, p.last_month if p else -1, p.n_months if p else 0))
    return pd.DataFrame(rec, columns=["period", "m0", "m1", "nm"]).set_index("period")


def _overlaps(cells: pd.DataFrame, valid: np.ndarray) -> tuple[np.ndarray, list[Problem]]:
    """Cells whose unit and indicator are also reported for a coarser period that overlaps
    them (a month inside a reported quarter or half-year).  The coarser cell is kept; one
    problem per (file, sheet, coarser file), located at the first such row."""
    n = len(cells)
    out = np.zeros(n, bool)
    if not n or not valid.any():
        return out, []
    gt = _grain_table(cells["period"])
    nm = cells["period"].map(gt["nm"]).to_numpy()
    sub = pd.DataFrame({"i": np.flatnonzero(valid), "unit_id": cells["unit_id"].to_numpy()[valid],
                        "indicator_id": cells["indicator_id"].to_numpy()[valid], "nm": nm[valid]})
    # only indicators reported at more than one grain can overlap
    multi = sub.groupby("indicator_id")["nm"].nunique()
    sub = sub[sub["indicator_id"].isin(multi.index[multi > 1])]
    if sub.empty:
        return out, []
    per = cells["period"].to_numpy()[sub["i"].to_numpy()]
    sub = sub.assign(period=per, m0=gt.loc[per, "m0"].to_numpy(), m1=gt.loc[per, "m1"].to_numpy())
    sub = sub.drop_duplicates(["unit_id", "indicator_id", "period"])  # same-period repeats are `duplicate`
    key = ["unit_id", "indicator_id"]
    pairs = sub.merge(sub, on=key, suffixes=("", "_c"))
    pairs = pairs[(pairs["nm_c"] > pairs["nm"]) & (pairs["m0"] <= pairs["m1_c"]) & (pairs["m0_c"] <= pairs["m1"])]
    if pairs.empty:
        return out, []
    pairs = pairs.sort_values(["i", "nm_c"], ascending=[True, False]).drop_duplicates("i")
    out[pairs["i"].to_numpy()] = True
    fine = cells.iloc[pairs["i"].to_numpy()]
    coarse = cells.iloc[pairs["i_c"].to_numpy()]
    tab = pd.DataFrame({"file": fine["file"].to_numpy(), "sheet": fine["sheet"].to_numpy(),
                        "row": fine["row"].to_numpy(), "column": fine["unit_col"].to_numpy(),
                        "period": fine["period"].to_numpy(), "unit_id": fine["unit_id"].to_numpy(),
                        "cfile": coarse["file"].to_numpy(), "cperiod": coarse["period"].to_numpy()})
    probs = []
    for (f, sh, cf), g in tab.groupby(["file", "sheet", "cfile"], sort=True):
        first = g.sort_values("row").iloc[0]
        rows = g["row"].nunique()
        probs.append(Problem(
            "period_overlap",
            f"{first['period']} 报表中的 {rows} 行与已报送的 {first['cperiod']} 报表（{cf}）期间重叠"
            f"（如单位 {first['unit_id']}），同一单位同一指标同一月份只能报送一次；这些行未采用，以 {first['cperiod']} 为准",
            f"{rows} row(s) overlap the {first['cperiod']} submission ({cf}): a unit, indicator and month may be "
            f"reported once; these rows are not used, the {first['cperiod']} value is kept",
            file=f, sheet=sh, row=int(first["row"]), column=first["column"], found=f"{rows} 行 rows",
            expected=f"不与 {first['cperiod']} 重叠的期别 a period outside {first['cperiod']}"))
    return out, probs


def _file_gaps(files) -> list[Problem]:
    """Months inside the reported span without any workbook, and departments missing a period of
    their own grain (only periods that have ended by the last reported month are due)."""
    out: list[Problem] = []
    spans = [(p, d, P.parse(p)) for p, d, _ in files]
    first = min(x.first_month for _, _, x in spans)
    last = max(x.last_month for _, _, x in spans)
    covered = np.zeros(last - first + 1, bool)
    for _, _, x in spans:
        covered[x.first_month - first:x.last_month - first + 1] = True
    grains = pd.Series([x.grain for _, _, x in spans])
    g_all = grains.mode().iloc[0] if len(grains) else "H"
    seen = set()
    for m in np.flatnonzero(~covered):
        per = P.covering(first + int(m), g_all)
        if per.id in seen:
            continue
        seen.add(per.id)
        out.append(Problem(
            "period_gap", f"缺少 {per.id}（{per.label_zh}）期的全部部门报表（前后各期都有）",
            f"no workbook at all for period {per.id} (earlier and later periods exist)",
            file=f"departments/{per.id}/", found="无文件 no files", expected=f"departments/{per.id}/<部门>.xlsx"))
    by_dept: dict[str, list] = {}
    for _, d, x in spans:
        by_dept.setdefault(d, []).append(x)
    for d in sorted(by_dept):
        xs = by_dept[d]
        g = pd.Series([x.grain for x in xs]).mode().iloc[0]
        have = np.zeros(last - first + 1, bool)
        for x in xs:
            have[x.first_month - first:x.last_month - first + 1] = True
        due = set()
        for m in np.flatnonzero(covered & ~have):
            per = P.covering(first + int(m), g)
            if per.last_month <= last:  # a period still running at the last reported month is not due
                due.add(per)
        for per in sorted(due):
            out.append(Problem(
                "period_gap", f"部门 {d} 缺少 {per.id}（{per.label_zh}）期报表",
                f"department {d} has no workbook for period {per.id}",
                file=f"departments/{per.id}/{d}.xlsx", found="文件不存在 file missing", expected="该期报表"))
    return out


def _rollup_warnings(rolled, cells: pd.DataFrame) -> list[Problem]:
    """One warning per half-year and indicator whose finer parts do not yet give a value."""
    inc = rolled.incomplete
    if inc.empty:
        return []
    out = []
    src = cells.drop_duplicates("indicator_id").set_index("indicator_id")
    for (per, ind), g in inc.groupby(["period", "indicator_id"], sort=True):
        r = g.iloc[0]
        cov = g["months_covered"].astype(int)
        f = src["file"].get(ind) if ind in src.index else None
        out.append(Problem(
            "rollup_incomplete",
            f"{per}（{P.label_zh(per)}）指标 {ind}：{len(g)} 个单位的分期数据不全（已有 {cov.min()}–{cov.max()} 个月，"
            f"共 {int(r['months_expected'])} 个月），半年值暂不汇总；{r['reason'].split(' ')[0]}",
            f"{per} indicator {ind}: the finer parts of {len(g)} unit(s) do not cover the half-year yet; no value is "
            "rolled up", file=f, column=ind, found=f"{cov.max()}/{int(r['months_expected'])} 个月 months",
            expected="该半年的全部月份 every month of the half-year", severity="warning"))
    return out


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
