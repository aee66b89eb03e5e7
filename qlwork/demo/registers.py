"""Demo veto and bonus registers (``data/raw/registers/``) with two deliberate errors.

Veto events go to units whose latent score is high in their period, so the cap
visibly changes a grade (a 良好/优秀 unit becomes 不合格); bonus items go to a
dozen units, one of which gets two items adding up to more than the cap.  The
two planted errors (an undeclared veto id, an item above the cap) are listed in
``_truth/register_errors.csv`` for the validation tests.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path
from ..registers.base import write_template
from ..registers.rules import BONUS, REGISTER_DIR, VETO

__all__ = ["write_rule_registers"]

_BONUS_ITEMS = ("廉洁文化阵地建设获省级表彰", "清廉单元建设经验被市级推广", "数字化监督平台创新应用",
                "廉政风险防控做法获县级推广", "村务监督工作获评示范", "清廉家庭创建工作突出")


def write_rule_registers(out: Path, rng: np.random.Generator, units: pd.DataFrame, latent_internal: np.ndarray,
                         periods: tuple) -> list[dict]:
    """Write both registers; returns the planted errors (file, sheet, row, code, unit_id, description)."""
    T = len(periods)
    last, prev = periods[-1], periods[-2]
    fw = units["framework"].to_numpy()

    def top(kind: str, t: int, k: int, exclude=()) -> list[str]:
        m = (fw == kind) & ~units["unit_id"].isin(list(exclude)).to_numpy()
        idx = np.flatnonzero(m)
        order = idx[np.argsort(-latent_internal[idx, t], kind="stable")]
        pick = rng.choice(order[: max(20, k)], size=k, replace=False)
        return units["unit_id"].to_numpy()[np.sort(pick)].tolist()

    v_last = top("village", T - 1, 2)
    v_prev = top("village", T - 2, 1, v_last)
    hosp = units[(units["unit_type"] == "医院")]["unit_id"].tolist()
    jg = units[(units["unit_type"] == "机关")]["unit_id"].tolist()
    c_last = [hosp[int(rng.integers(len(hosp)))]] if hosp else []
    c_prev = [jg[int(rng.integers(len(jg)))]] if jg else []
    veto = [
        {"unit_id": v_last[0], "period": last, "veto_id": "lagging_party", "description": "村党组织被县委组织部确定为后进党组织",
         "reference": "县组通〔2025〕18号", "date": "2025-11-20"},
        {"unit_id": v_last[1], "period": last, "veto_id": "mass_incident", "description": "因征地补偿引发规模性群体事件",
         "reference": "县信联〔2025〕7号", "date": "2025-10-09"},
        {"unit_id": v_prev[0], "period": prev, "veto_id": "finance_violation", "description": "村级财务严重违规被审计查实",
         "reference": "县审〔2025〕33号", "date": "2025-06-12"},
    ]
    if c_last:
        veto.append({"unit_id": c_last[0], "period": last, "veto_id": "major_fraud", "description": "重大医保骗保案被查实",
                     "reference": "县医保〔2025〕12号", "date": "2025-12-02"})
    if c_prev:
        veto.append({"unit_id": c_prev[0], "period": periods[-3], "veto_id": "leader_case",
                     "description": "班子成员被立案审查", "reference": "县纪〔2024〕41号", "date": "2024-12-15"})
    # deliberate error: an id the framework does not declare
    bad_veto_unit = top("village", T - 1, 1, [r["unit_id"] for r in veto])[0]
    veto.append({"unit_id": bad_veto_unit, "period": last, "veto_id": "village_lagging", "description": "（编号写错）",
                 "reference": "", "date": "2025-11-30"})
    errors = [{"file": f"{REGISTER_DIR}/{VETO.file_name}", "sheet": VETO.sheet, "row": 2 + len(veto),
               "code": "unknown_veto", "unit_id": bad_veto_unit, "description": "否决事项编号不在指标体系清单中"}]

    taken = {r["unit_id"] for r in veto}
    cand = [u for u in units["unit_id"] if u not in taken]
    picks = [cand[int(i)] for i in np.sort(rng.choice(len(cand), size=12, replace=False))]
    bonus = []
    for k, u in enumerate(picks):
        per = last if k % 3 else prev
        bonus.append({"unit_id": u, "period": per, "item": _BONUS_ITEMS[k % len(_BONUS_ITEMS)],
                      "points": float(rng.choice([1.0, 1.5, 2.0, 3.0])), "basis": f"县清廉办〔2025〕{20 + k}号"})
    # one unit with two items adding up to 6 > cap 5 (capped when scored, a warning in validation)
    bonus.append({"unit_id": picks[1], "period": bonus[1]["period"], "item": "清廉单元建设经验被省级推广",
                  "points": 4.0, "basis": "省清廉办通报"})
    # deliberate error: one item above the cap
    bonus.append({"unit_id": picks[4], "period": last, "item": "重点工作加分", "points": 8.0, "basis": "（超过上限）"})
    errors.append({"file": f"{REGISTER_DIR}/{BONUS.file_name}", "sheet": BONUS.sheet, "row": 2 + len(bonus),
                   "code": "bonus_above_cap", "unit_id": picks[4], "description": "单项加分超过上限"})
    d = out / REGISTER_DIR
    write_template(d / VETO.file_name, VETO, veto)
    write_template(d / BONUS.file_name, BONUS, bonus)
    return errors


def write_register_truth(out: Path, errors: list[dict]) -> None:
    with atomic_path(out / "_truth" / "register_errors.csv") as tmp:
        pd.DataFrame(errors).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
