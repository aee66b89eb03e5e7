"""The veto (一票否决) and bonus (加分) registers that feed the official result.

Files (``data/raw/registers/``, templates written by ``qlwork registers template``)::

    一票否决事项登记表.xlsx   单位编码 | 期别 | 否决事项编号 | 事项说明 | 认定文号 | 认定日期
    加分事项登记表.xlsx       单位编码 | 期别 | 加分项目 | 分值 | 依据

Checks (each a located problem): unknown unit; a veto id the unit's framework does
not declare (``veto:`` in the framework YAML); a period that cannot be read or is
not one of the data's periods; bonus points that are not a number, negative or
above the framework's cap (``bonus: {cap: 5}``) for one item; duplicates (same
unit, period and veto id / bonus item).  A unit whose items add up to more than
the cap is capped when scored (:mod:`qlwork.engine.rules`) and reported as a
warning here.  Bonus for a framework without a bonus rule is an error.
"""
from __future__ import annotations


from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import Problem
from ..io.guard import raw_label
from .base import Column, RegisterSchema, is_blank, read_register, write_template

__all__ = ["VETO", "BONUS", "read_veto", "read_bonus", "read_rule_registers", "REGISTER_DIR", "VETO_COLUMNS",
           "BONUS_COLUMNS"]

REGISTER_DIR = "registers"

VETO = RegisterSchema(
    name="veto", title="一票否决事项登记表", file_name="一票否决事项登记表.xlsx", sheet="一票否决",
    columns=(
        Column("unit_id", "单位编码", "unit", help="单位名录中的单位编码，如 U000123"),
        Column("period", "期别", "period", help="评价期，如 2025H2 或 2025年下半年"),
        Column("veto_id", "否决事项编号", "text", aliases=("否决事项", "事项编号"),
               help="指标体系 veto 清单中的编号，如 leader_case"),
        Column("description", "事项说明", "text", required=False, help="简要说明认定的事实"),
        Column("reference", "认定文号", "text", required=False, aliases=("文号",), help="认定文件的文号"),
        Column("date", "认定日期", "date", required=False, help="如 2025-11-20"),
    ),
    unique=("unit_id", "period", "veto_id"),
    description="发生一票否决事项的单位：当期等级最高为规格中的封顶等级（默认不合格），并发出一票否决预警。",
)

BONUS = RegisterSchema(
    name="bonus", title="加分事项登记表", file_name="加分事项登记表.xlsx", sheet="加分",
    columns=(
        Column("unit_id", "单位编码", "unit", help="单位名录中的单位编码"),
        Column("period", "期别", "period", help="评价期，如 2025H2"),
        Column("item", "加分项目", "text", aliases=("项目",), help="如 创新做法被省级推广"),
        Column("points", "分值", "number", aliases=("加分", "加分分值"), min_value=0.0,
               help="本项加分（≥ 0，单项不超过指标体系的加分上限）"),
        Column("basis", "依据", "text", required=False, aliases=("加分依据",), help="文件或表彰依据"),
    ),
    unique=("unit_id", "period", "item"),
    description="合成后另加的分数，单位当期合计不超过指标体系的加分上限。",
)

VETO_COLUMNS = ["unit_id", "period", "veto_id", "name", "description", "reference", "date", "file", "sheet", "row"]
BONUS_COLUMNS = ["unit_id", "period", "item", "points", "basis", "file", "sheet", "row"]


def _framework_of(units: pd.DataFrame | None) -> Mapping[str, str]:
    if units is None or "framework" not in units.columns:
        return {}
    return dict(zip(units["unit_id"].astype(str), units["framework"].astype(str)))


def read_veto(path: str | Path, *, units=None, frameworks: Mapping | None = None, periods=None,
              label: str | None = None, period_parser=None, root=None) -> tuple[pd.DataFrame, list[Problem]]:
    """The veto register → (events: unit_id, period, veto_id, name, …, problems)."""
    df, probs = read_register(path, VETO, units=units, label=label, period_parser=period_parser, root=root)
    fw_of = _framework_of(units)
    names: list = []
    for i, r in df.iterrows():
        fw = (frameworks or {}).get(fw_of.get(str(r["unit_id"]), ""))
        name = None
        if fw is not None and r["veto_id"] is not None:
            decl = {str(v.get("id")): v for v in fw.veto}
            if str(r["veto_id"]) not in decl:
                probs.append(Problem("unknown_veto", f"否决事项编号 {r['veto_id']} 不在指标体系“{fw.name}”的一票否决清单中",
                                     "veto id not declared by the unit's framework", file=r["file"], sheet=r["sheet"],
                                     row=int(r["row"]), column="否决事项编号", found=r["veto_id"],
                                     expected="、".join(f"{k}（{v.get('name', '')}）" for k, v in decl.items()) or "（该体系未设一票否决）"))
                df.loc[i, "_bad"] = True
            else:
                name = str(decl[str(r["veto_id"])].get("name", r["veto_id"]))
        names.append(name or (str(r["veto_id"]) if r["veto_id"] is not None else None))
    df["name"] = names
    probs += _period_problems(df, periods, "期别")
    return df, probs


def read_bonus(path: str | Path, *, units=None, frameworks: Mapping | None = None, periods=None,
               label: str | None = None, period_parser=None, root=None) -> tuple[pd.DataFrame, list[Problem]]:
    """The bonus register → (items: unit_id, period, item, points, basis, …, problems)."""
    df, probs = read_register(path, BONUS, units=units, label=label, period_parser=period_parser, root=root)
    fw_of = _framework_of(units)
    for i, r in df.iterrows():
        fw = (frameworks or {}).get(fw_of.get(str(r["unit_id"]), ""))
        if fw is None or r["points"] is None or r["_bad"]:
            continue
        cap = float((fw.bonus or {}).get("cap", 0) or 0) if isinstance(fw.bonus, Mapping) else 0.0
        where = dict(file=r["file"], sheet=r["sheet"], row=int(r["row"]), column="分值")
        if cap <= 0:
            probs.append(Problem("no_bonus_rule", f"指标体系“{fw.name}”未设加分规则，不能登记加分",
                                 "the unit's framework has no bonus rule", found=r["points"],
                                 expected="在指标体系 YAML 中设置 bonus: {cap: …}", **where))
            df.loc[i, "_bad"] = True
        elif float(r["points"]) > cap + 1e-12:
            probs.append(Problem("bonus_above_cap", f"单项加分 {r['points']:g} 超过上限 {cap:g} 分",
                                 "bonus item above the framework's cap", found=r["points"], expected=f"0–{cap:g}", **where))
            df.loc[i, "_bad"] = True
    ok = df[~df["_bad"].astype(bool)]
    if len(ok):
        sums = ok.groupby(["unit_id", "period"])["points"].sum()
        for (uid, per), tot in sums.items():
            fw = (frameworks or {}).get(fw_of.get(str(uid), ""))
            cap = float((fw.bonus or {}).get("cap", 0) or 0) if fw is not None and isinstance(fw.bonus, Mapping) else None
            if cap and tot > cap + 1e-12:
                first = ok[(ok.unit_id == uid) & (ok.period == per)].iloc[0]
                probs.append(Problem("bonus_sum_capped", f"单位 {uid} 在 {per} 的加分合计 {tot:g} 分，超过上限，按 {cap:g} 分计",
                                     "bonus items add up to more than the cap; the cap applies", file=first["file"],
                                     sheet=first["sheet"], row=int(first["row"]), column="分值", found=tot,
                                     expected=f"≤ {cap:g}", severity="warning"))
    probs += _period_problems(df, periods, "期别")
    return df, probs


def _period_problems(df, periods, col_title) -> list[Problem]:
    if periods is None or not len(df):
        return []
    known = set(map(str, periods))
    out = []
    for i, r in df.iterrows():
        if not is_blank(r["period"]) and str(r["period"]) not in known:  # unreadable periods: reported already
            out.append(Problem("unknown_period", f"期别 {r['period']} 不是数据中的评价期", "period not in the data",
                               file=r["file"], sheet=r["sheet"], row=int(r["row"]), column=col_title, found=r["period"],
                               expected="、".join(sorted(known))))
            df.loc[i, "_bad"] = True
    return out


def _present(p: Path) -> bool:
    """Something stands at ``p`` (a file, a folder, a pipe, a link even a broken one)."""
    return p.exists() or p.is_symlink()


def read_rule_registers(raw_dir: str | Path, *, units=None, frameworks=None, periods=None,
                        base: Path | None = None, period_parser=None) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """(veto events, bonus items, problems) from ``<raw>/registers/``; empty tables when absent.

    Rows with an error are left out of the tables (their problems say why).
    """
    d = Path(raw_dir) / REGISTER_DIR
    probs: list[Problem] = []
    veto = pd.DataFrame(columns=VETO_COLUMNS)
    bonus = pd.DataFrame(columns=BONUS_COLUMNS)

    def lab(p: Path) -> str:  # the name as written under the raw folder, not a link target's
        return raw_label(p, base or Path(raw_dir), default=p.name)

    vp, bp = d / VETO.file_name, d / BONUS.file_name
    if _present(vp):  # a folder, pipe or broken link named like the register is reported, never skipped
        v, pr = read_veto(vp, units=units, frameworks=frameworks, periods=periods, label=lab(vp),
                          period_parser=period_parser, root=Path(raw_dir))
        probs += pr
        veto = v[~v["_bad"].astype(bool)].reindex(columns=VETO_COLUMNS).reset_index(drop=True)
    if _present(bp):
        b, pr = read_bonus(bp, units=units, frameworks=frameworks, periods=periods, label=lab(bp),
                           period_parser=period_parser, root=Path(raw_dir))
        probs += pr
        bonus = b[~b["_bad"].astype(bool)].reindex(columns=BONUS_COLUMNS).reset_index(drop=True)
    for t in (veto, bonus):
        for c in ("file", "sheet"):
            t[c] = t[c].astype(object)
    veto["date"] = veto["date"].astype(str).where(veto["date"].notna(), None)
    bonus["points"] = pd.to_numeric(bonus["points"], errors="coerce").astype(float)
    return veto, bonus, probs


def write_templates(out_dir: str | Path) -> list[Path]:
    """Empty templates of both registers (with the instruction row)."""
    d = Path(out_dir)
    return [write_template(d / VETO.file_name, VETO), write_template(d / BONUS.file_name, BONUS)]
