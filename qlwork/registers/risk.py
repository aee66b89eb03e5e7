"""The integrity-risk register (廉政风险点登记表): posts per unit and the risk points of each post.

File ``data/raw/registers/廉政风险点登记表.xlsx`` (sheet 廉政风险点), one row per risk point;
a post without any identified risk point is one row with the risk columns blank::

    单位编码 | 岗位名称 | 是否关键岗位 | 风险点编号 | 风险点描述 | 风险等级 | 防控措施 | 责任人 | 最近评估日期

A key post (关键岗位) handles money, goods or affairs (管钱、管物、管事: finance, procurement,
approval, enforcement, project management) and is watched closely.

Checks (each a located problem, besides those of :func:`~qlwork.registers.base.read_register`:
unknown unit, a level outside 高/中/低, 是否关键岗位 not 是/否, unreadable date):

- ``duplicate_entry``: the same 风险点编号 twice for one unit;
- ``missing_value``: a risk point (编号 or 描述 given) without 风险等级 or 最近评估日期, or a level
  without a risk point;
- ``inconsistent_key_post``: one post marked 是 on one row and 否 on another.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import Problem
from .base import Column, RegisterSchema, is_blank, read_register

__all__ = ["RISK", "LEVELS", "read_risk_register", "uncontrolled_high"]

LEVELS = ("高", "中", "低")

RISK = RegisterSchema(
    name="risk", title="廉政风险点登记表", file_name="廉政风险点登记表.xlsx", sheet="廉政风险点",
    columns=(
        Column("unit_id", "单位编码", "unit", help="单位名录中的单位编码"),
        Column("post", "岗位名称", "text", aliases=("岗位",), help="如 财务会计、政府采购、项目审批"),
        Column("key_post", "是否关键岗位", "choice", choices=("是", "否"),
               help="管钱、管物、管事的岗位填“是”"),
        Column("risk_id", "风险点编号", "text", required=False, help="单位内唯一，如 FX-01；岗位尚未排查出风险点时留空"),
        Column("risk", "风险点描述", "text", required=False, help="如 虚列支出、拆分采购规避招标"),
        Column("level", "风险等级", "choice", choices=LEVELS, required=False, help="高、中、低"),
        Column("controls", "防控措施", "text", required=False, help="已落实的制度或技术防控措施；未落实留空"),
        Column("owner", "责任人", "text", required=False, help="风险点防控责任人"),
        Column("reviewed", "最近评估日期", "date", required=False, help="最近一次风险评估（排查）日期，如 2025-09-30"),
    ),
    description="对各岗位进行廉政风险分析：风险点、等级、防控措施、责任人与最近评估日期；关键岗位（管钱、管物、管事）重点监督。",
)


def read_risk_register(path: str | Path, *, units: pd.DataFrame | None = None,
                       label: str | None = None, root=None) -> tuple[pd.DataFrame, list[Problem]]:
    """The risk register → (rows: the schema's keys + file/sheet/row/_bad, problems).

    The checks are vectorised (a province register has tens of thousands of rows); only the
    rows with a problem are visited one by one."""
    df, probs = read_register(path, RISK, units=units, label=label, positions=(where_col := {}), root=root)
    if not len(df):
        return df, probs
    reported = {(p.row, p.column) for p in probs}
    blank = df.map(is_blank)

    def not_reported(key: str) -> pd.Series:
        col = where_col.get(key)
        return pd.Series([(int(r), col) not in reported for r in df["row"]], index=df.index)

    def flag(mask: pd.Series, code, zh, en, key, found, expected) -> None:
        for i in df.index[mask.to_numpy(bool)]:
            r = df.loc[i]
            probs.append(Problem(code, zh(r) if callable(zh) else zh, en, file=r["file"], sheet=r["sheet"],
                                 row=int(r["row"]), column=where_col.get(key, key),
                                 found=found(r) if callable(found) else found,
                                 expected=expected(r) if callable(expected) else expected))
        df.loc[mask.to_numpy(bool), "_bad"] = True

    has_risk = ~blank["risk_id"] | ~blank["risk"]
    flag(has_risk & blank["risk_id"], "missing_value", "风险点未编号", "risk point without an id", "risk_id",
         "空白 blank", "单位内唯一的编号，如 FX-01")
    flag(has_risk & blank["level"] & not_reported("level"), "missing_value", "风险点未填写风险等级",
         "risk point without a level", "level", "空白 blank", "、".join(LEVELS))
    flag(has_risk & blank["reviewed"] & not_reported("reviewed"), "missing_value", "风险点未填写最近评估日期",
         "risk point without a review date", "reviewed", "空白 blank", "日期，如 2025-09-30")
    flag(~has_risk & ~blank["level"], "missing_value", "填写了风险等级，但没有风险点", "a level without a risk point",
         "risk", lambda r: r["level"], "风险点编号与描述")
    ids = df[~blank["risk_id"] & ~blank["unit_id"]]
    key = ids["unit_id"].astype(str) + "|" + ids["risk_id"].astype(str)
    dup = key.duplicated(keep="first")
    first_row = ids.groupby(key.to_numpy())["row"].transform("first")
    mask = pd.Series(False, index=df.index)
    mask[dup[dup].index] = True
    flag(mask, "duplicate_entry", lambda r: f"与第 {int(first_row[r.name])} 行重复（单位编码、风险点编号相同）",
         "duplicate risk point", "risk_id", lambda r: f"{r['unit_id']}|{r['risk_id']}", "每个风险点只登记一次")
    ok = df[~blank["unit_id"] & ~blank["post"] & df["key_post"].isin(["是", "否"])]
    if len(ok):
        pkey = ok["unit_id"].astype(str) + "|" + ok["post"].astype(str)
        first_val = ok.groupby(pkey.to_numpy())["key_post"].transform("first")
        first_at = ok.groupby(pkey.to_numpy())["row"].transform("first")
        mask = pd.Series(False, index=df.index)
        mask[ok.index[(ok["key_post"] != first_val).to_numpy()]] = True
        flag(mask, "inconsistent_key_post",
             lambda r: f"岗位“{r['post']}”在第 {int(first_at[r.name])} 行为“{first_val[r.name]}”，此处为“{r['key_post']}”",
             "a post marked key and not key", "key_post", lambda r: r["key_post"], lambda r: first_val[r.name])
    return df, probs


def uncontrolled_high(risk: pd.DataFrame | None) -> dict[str, list[dict]]:
    """Unit → its high-level risk points without control measures (post, risk_id, risk, owner, reviewed)."""
    if risk is None or not len(risk):
        return {}
    cols = ["post", "risk_id", "risk", "owner", "reviewed"]
    r = risk[(risk["level"] == "高") & risk["controls"].isna() & risk["risk_id"].notna()]
    return {str(u): g[cols].astype(object).where(g[cols].notna(), None).to_dict("records")
            for u, g in r.groupby(r["unit_id"].astype(str))}
