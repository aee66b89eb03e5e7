"""AHP expert questionnaires (``ahp/expert_E01.xlsx`` …).

Each expert's judgments are built from the framework's local weights: the expert's
own weights w_e = w·exp(N(0, 0.2²)) (renormalised), then a_ij = w_e,i / w_e,j ·
exp(N(0, 0.15²)) snapped to the nearest Saaty value (1/9 … 9, in log distance).
Consistent experts are redrawn (with less noise) until every matrix has
CR < 0.1 (Saaty 1980; RI of Saaty 1980 table).  Expert E04 is made inconsistent
at node ``QLI_G2`` (CR > 0.1, a few judgments reversed) and expert E05 leaves one
pair of ``QLV_V1`` blank (both a_ij and a_ji).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from openpyxl import Workbook

from ..io.excel import save_deterministic
from ..framework import Framework

__all__ = ["write_ahp_workbooks", "consistency_ratio", "SAATY", "EXPERTS"]

SAATY = np.array([1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6, 7, 8, 9])
_RI = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}

EXPERTS = [
    ("E01", "张建国", "清江市纪委监委 党风政风监督室主任", 0.20),
    ("E02", "李慧敏", "清江大学公共管理学院 教授", 0.20),
    ("E03", "王志强", "临川县审计局 副局长", 0.15),
    ("E04", "刘晓燕", "清江市委组织部 干部监督科科长", 0.15),
    ("E05", "陈立新", "东城街道 纪工委书记", 0.15),
    ("E06", "赵文博", "清江市社科院 副研究员", 0.15),
]
INCONSISTENT = ("E04", "QLI_G2")
SKIPPED = ("E05", "QLV_V1", 0, 2)  # expert, sheet, row index i, col index j (0-based children)


def consistency_ratio(A: np.ndarray) -> float:
    """Saaty's CR = ((λ_max − n)/(n − 1)) / RI(n); 0 for n ≤ 2."""
    n = A.shape[0]
    if n <= 2:
        return 0.0
    lam = np.max(np.real(np.linalg.eigvals(A)))
    return float((lam - n) / (n - 1) / _RI[n])


def _snap(r: np.ndarray) -> np.ndarray:
    idx = np.abs(np.log(r)[..., None] - np.log(SAATY)).argmin(-1)
    return SAATY[idx]


def _matrix(rng: np.random.Generator, w: np.ndarray, noise_w: float, noise_a: float) -> np.ndarray:
    n = len(w)
    we = w * np.exp(rng.normal(0, noise_w, n))
    we /= we.sum()
    A = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a = _snap(np.array(we[i] / we[j] * np.exp(rng.normal(0, noise_a))))
            A[i, j] = a
            A[j, i] = 1 / a
    return A


def _cell(a: float):
    """A judgment as written by hand: integers as numbers, reciprocals as text "1/k"."""
    if a >= 1:
        return int(round(a))
    return f"1/{int(round(1 / a))}"


def write_ahp_workbooks(out: Path, rng: np.random.Generator, frameworks: dict[str, Framework]) -> list[dict]:
    """Write one questionnaire per expert; return rows of (expert, sheet, n, CR, note)."""
    log: list[dict] = []
    for eid, name, org, weight in EXPERTS:
        wb = Workbook()
        info = wb.active
        info.title = "专家信息"
        for row in (("专家编号", eid), ("姓名", name), ("单位/职务", org), ("权重", weight)):
            info.append(list(row))
        for fw in frameworks.values():
            for nid in [i for i in fw.depth_first() if i in fw.nodes]:
                node = fw.nodes[nid]
                kids = list(node.children)
                w = np.array([fw.item(c).weight for c in kids], float)
                sheet = f"{fw.id}_{nid}"
                noise_w, noise_a = 0.2, 0.15
                for _ in range(50):
                    A = _matrix(rng, w, noise_w, noise_a)
                    if consistency_ratio(A) < 0.1:
                        break
                    noise_w *= 0.7
                    noise_a *= 0.7
                note = ""
                if (eid, sheet) == INCONSISTENT:
                    order = np.argsort(-w)
                    for a, b in [(order[0], order[-1]), (order[1], order[-2]), (order[0], order[-2]),
                                 (order[2], order[-1]), (order[1], order[-1])]:
                        A[a, b], A[b, a] = 1 / max(A[a, b], 3), max(A[a, b], 3)
                        if consistency_ratio(A) > 0.15:
                            break
                    note = "故意不一致 deliberately inconsistent"
                cr = consistency_ratio(A)
                ws = wb.create_sheet(sheet)
                ws.append([f"层次分析法判断矩阵：{node.name}（专家 {eid}）"])
                ws.append(["a_ij 表示行元素相对列元素的重要程度，1–9 标度，倒数写作 1/3"])
                ws.append(["编号", "名称"] + kids)
                blank = None
                if (eid, sheet) == SKIPPED[:2]:
                    blank = SKIPPED[2:]
                    note = f"漏填一对判断 one pair left blank ({kids[blank[0]]}, {kids[blank[1]]})"
                for i, c in enumerate(kids):
                    row = [c, fw.name_of(c)]
                    for j in range(len(kids)):
                        if blank and {i, j} == set(blank):
                            row.append(None)
                        else:
                            row.append(1 if i == j else _cell(A[i, j]))
                    ws.append(row)
                log.append({"expert": eid, "sheet": sheet, "n": len(kids), "cr": round(max(cr, 0.0), 4), "note": note})
        wb.properties.creator = "qlwork demo"
        save_deterministic(wb, out / "ahp" / f"expert_{eid}.xlsx")
    return log
