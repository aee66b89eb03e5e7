"""Reading AHP expert questionnaires (专家判断矩阵问卷) in the demo Excel format.

One workbook per expert (``ahp/expert_E01.xlsx`` …):

* sheet ``专家信息``: rows ``专家编号 | E01``, ``姓名 | …``, ``单位/职务 | …``, ``权重 | 0.2``
  (key in column A, value in column B);
* one sheet per framework inner node, named ``<framework id>_<node id>``
  (``QLI_QLI``, ``QLI_G1``, ``QLV_V3``).  Row 1 title, row 2 note, row 3 header
  ``编号 | 名称 | <child ids…>``, rows 4.. one per child: A = child id, B = name,
  C.. = judgments ``a_ij`` (row over column), written as numbers (3) or text
  fractions ("1/3"; full-width digits and "／" are accepted).

Every problem is a located, bilingual :class:`~qlwork.errors.Problem` naming
the expert, file, sheet and cell: a judgment that is not a number, zero or
negative, off the Saaty scale (1/9 … 9; a value within ``tol`` in log distance,
e.g. 0.333, is read as the scale value 1/3), a non-reciprocal pair, a diagonal
≠ 1, a blank pair, a header that does not match the row ids, or (when
frameworks are given) a sheet whose children differ from the framework node.

Blank pairs (both ``a_ij`` and ``a_ji`` empty) are errors with
``blank="error"``; with ``blank="nan"`` they become NaN (reported as
warnings) so :func:`qlwork.weights.complete_matrix` can fill them.  A sheet
whose lower triangle is entirely empty is read as upper-triangle-only (the
reciprocals are implied).
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..io.safe import save_workbook
from ..errors import Problem, QlworkError, problems_frame
from .ahp import SAATY_SCALE, saaty_label

__all__ = ["read_questionnaire", "read_questionnaires", "Questionnaire", "QuestionnaireSet",
           "write_questionnaire", "parse_judgment", "INFO_SHEET"]

INFO_SHEET = "专家信息"
_FRAC = re.compile(r"^(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)$")
_LOG_SCALE = np.log(np.array(SAATY_SCALE))


def parse_judgment(v: Any) -> tuple[float | None, str | None]:
    """(value, error code) for one cell: None for blank; codes 'not_a_number'."""
    if v is None:
        return None, None
    if isinstance(v, bool):
        return None, "not_a_number"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return (None, None) if isinstance(v, float) and math.isnan(v) else (float(v), None)
    s = unicodedata.normalize("NFKC", str(v)).strip().replace("÷", "/")
    if s == "":
        return None, None
    m = _FRAC.match(s)
    if m:
        den = float(m.group(2))
        return (float(m.group(1)) / den if den != 0 else 0.0), None
    try:
        return float(s), None
    except ValueError:
        return None, "not_a_number"


@dataclass(frozen=True)
class Questionnaire:
    """One expert's workbook: info and one matrix (DataFrame, labels = child ids) per sheet."""

    expert_id: str
    name: str
    org: str
    weight: float
    file: str
    matrices: Mapping[str, pd.DataFrame] = field(repr=False)  # sheet name → matrix
    problems: tuple[Problem, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class QuestionnaireSet:
    """All questionnaires of a folder.

    ``matrices[sheet][expert_id]`` is a DataFrame; ``experts`` one row per expert.
    """

    experts: pd.DataFrame
    matrices: Mapping[str, Mapping[str, pd.DataFrame]] = field(repr=False)
    problems: tuple[Problem, ...] = field(default=(), repr=False)
    params: dict = field(default_factory=dict)

    @property
    def expert_weights(self) -> pd.Series:
        return self.experts.set_index("expert_id")["weight"].astype(float)

    def node(self, framework_id: str, node_id: str) -> dict[str, pd.DataFrame]:
        return dict(self.matrices.get(f"{framework_id}_{node_id}", {}))

    def for_framework(self, framework_id: str) -> dict[str, dict[str, pd.DataFrame]]:
        """node id → {expert → matrix} for one framework."""
        pre = f"{framework_id}_"
        return {k[len(pre):]: dict(v) for k, v in self.matrices.items() if k.startswith(pre)}

    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def to_frame(self) -> pd.DataFrame:
        """Tidy judgments: sheet, expert, row, column, value."""
        rows = []
        for sheet, by in self.matrices.items():
            for e, m in by.items():
                for i in m.index:
                    for j in m.columns:
                        rows.append({"sheet": sheet, "expert": e, "row": i, "column": j, "value": m.loc[i, j]})
        return pd.DataFrame(rows, columns=["sheet", "expert", "row", "column", "value"])

    def __repr__(self) -> str:
        n_err = sum(p.severity == "error" for p in self.problems)
        return (f"QuestionnaireSet(experts={len(self.experts)}, sheets={len(self.matrices)}, "
                f"problems={len(self.problems)} ({n_err} errors))")


def _cell(col: int, row: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col)}{row}"


def _read_sheet(ws, eid: str, fname: str, blank: str, tol: float, probs: list[Problem]) -> pd.DataFrame | None:
    sheet = ws.title
    rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]

    def prob(code, zh, en, row=None, col=None, found=None, expected=None, severity="error"):
        probs.append(Problem(code, f"专家 {eid}：{zh}", f"expert {eid}: {en}", file=fname, sheet=sheet, row=row,
                             column=col, found=found, expected=expected, severity=severity))

    if len(rows) < 4:
        prob("bad_sheet", "判断矩阵表格式不对：少于 4 行", "judgment sheet has fewer than 4 rows", found=len(rows),
             expected="标题、说明、表头、矩阵 title, note, header, matrix")
        return None
    header = [c for c in rows[2][2:]]
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    ids = [str(h).strip() for h in header]
    n = len(ids)
    body = rows[3:3 + n]
    row_ids = [str(r[0]).strip() if r and r[0] is not None else "" for r in body]
    if n == 0 or row_ids != ids:
        prob("header_mismatch", "表头的编号与各行编号不一致", "header ids differ from row ids", row=3, col="C",
             found={"header": ids, "rows": row_ids}, expected="同样顺序的同一组编号 same ids in the same order")
        return None
    raw = np.full((n, n), np.nan)
    bad = np.zeros((n, n), dtype=bool)  # cells already reported as errors
    for i in range(n):
        r = body[i] + [None] * (2 + n - len(body[i]))
        for j in range(n):
            excel_row, excel_col = 4 + i, 3 + j
            v, err = parse_judgment(r[2 + j])
            where = _cell(excel_col, excel_row)
            if err:
                bad[i, j] = True
                prob("not_a_number", f"单元格 {where} 不是数字或分数", f"cell {where} is not a number or fraction",
                     excel_row, where, r[2 + j], "1–9 或 1/2–1/9")
                continue
            if v is None:
                continue
            if v <= 0 or not np.isfinite(v):
                bad[i, j] = True
            if v == 0:
                prob("zero_judgment", f"单元格 {where} 为 0，判断值必须为正", f"cell {where} is zero", excel_row, where, r[2 + j],
                     "1–9 或 1/2–1/9")
                continue
            if v < 0:
                prob("nonpositive_judgment", f"单元格 {where} 为负数", f"cell {where} is negative", excel_row, where, r[2 + j],
                     "1–9 或 1/2–1/9")
                continue
            d = np.abs(np.log(v) - _LOG_SCALE)
            k = int(d.argmin())
            if d[k] > tol:
                bad[i, j] = True
                prob("off_scale", f"单元格 {where} 的判断值 {r[2 + j]} 不在 1–9 标度上", f"cell {where}: {r[2 + j]} is off the 1–9 scale",
                     excel_row, where, r[2 + j], "1, 2, …, 9 或其倒数 1/2, …, 1/9")
                continue
            raw[i, j] = SAATY_SCALE[k]
    lower_empty = all(np.isnan(raw[i, j]) for i in range(n) for j in range(i))
    a = raw.copy()
    for i in range(n):
        if np.isnan(a[i, i]):
            a[i, i] = 1.0
        elif a[i, i] != 1.0:
            where = _cell(3 + i, 4 + i)
            prob("bad_diagonal", f"对角线单元格 {where} 应为 1", f"diagonal cell {where} must be 1", 4 + i, where, a[i, i], 1)
            a[i, i] = 1.0
    for i in range(n):
        for j in range(i + 1, n):
            up, lo = a[i, j], a[j, i]
            cu, cl = _cell(3 + j, 4 + i), _cell(3 + i, 4 + j)
            if bad[i, j] or bad[j, i]:
                a[i, j] = a[j, i] = np.nan  # a located error already; the pair is unusable
                continue
            if np.isfinite(up) and np.isfinite(lo):
                if abs(np.log(up * lo)) > tol:
                    prob("not_reciprocal", f"{cu}（{ids[i]}→{ids[j]}）与 {cl} 不互为倒数",
                         f"{cu} and {cl} are not reciprocal", 4 + i, cu,
                         {cu: saaty_label(up), cl: saaty_label(lo)}, f"{cl} = 1/{saaty_label(up)}")
                    a[i, j] = a[j, i] = np.nan
            elif np.isfinite(up) and not lower_empty:
                prob("half_blank", f"{cl} 为空，已按 {cu} 的倒数补齐", f"{cl} blank; filled with the reciprocal of {cu}",
                     4 + j, cl, None, f"1/{saaty_label(up)}", severity="warning")
                a[j, i] = 1.0 / up
            elif np.isfinite(up):
                a[j, i] = 1.0 / up
            elif np.isfinite(lo):
                prob("half_blank", f"{cu} 为空，已按 {cl} 的倒数补齐", f"{cu} blank; filled with the reciprocal of {cl}",
                     4 + i, cu, None, f"1/{saaty_label(lo)}", severity="warning")
                a[i, j] = 1.0 / lo
            else:
                prob("blank_pair", f"{cu}（{ids[i]}→{ids[j]}）及其对称单元格 {cl} 均为空（漏填）",
                     f"pair {ids[i]}/{ids[j]} left blank ({cu}, {cl})", 4 + i, cu, None,
                     "1–9 或 1/2–1/9", severity="warning" if blank == "nan" else "error")
    return pd.DataFrame(a, index=pd.Index(ids), columns=pd.Index(ids))


def _read_info(wb, eid_default: str, fname: str, probs: list[Problem]) -> tuple[str, str, str, float]:
    info = {"专家编号": eid_default, "姓名": "", "单位/职务": "", "权重": 1.0}
    if INFO_SHEET not in wb.sheetnames:
        probs.append(Problem("missing_info_sheet", f"缺少“{INFO_SHEET}”工作表，专家编号取自文件名 {eid_default}",
                             "expert-info sheet missing; id taken from the file name", file=fname, sheet=INFO_SHEET,
                             severity="warning"))
        return eid_default, "", "", 1.0
    ws = wb[INFO_SHEET]
    for r_idx, row in enumerate(ws.iter_rows(min_row=1, max_col=2, values_only=True), start=1):
        if not row or row[0] is None:
            continue
        key = str(row[0]).strip()
        if key in info:
            val = row[1] if len(row) > 1 else None
            if key == "权重":
                v, err = parse_judgment(val)
                if err or v is None or v < 0:
                    probs.append(Problem("bad_expert_weight", "专家权重必须是非负数字", "expert weight must be a number >= 0",
                                         file=fname, sheet=INFO_SHEET, row=r_idx, column=f"B{r_idx}", found=val,
                                         expected=">= 0"))
                    v = 1.0
                info[key] = v
            else:
                info[key] = "" if val is None else str(val).strip()
    return str(info["专家编号"] or eid_default), str(info["姓名"]), str(info["单位/职务"]), float(info["权重"])


def read_questionnaire(path: str | Path, *, blank: str = "nan", tol: float = 0.02,
                       frameworks: Mapping[str, Any] | Iterable[Any] | None = None,
                       root: str | Path | None = None) -> Questionnaire:
    """Read one expert workbook; problems are collected in ``.problems`` (never raised here)."""
    from openpyxl import load_workbook

    if blank not in ("nan", "error"):
        raise QlworkError(Problem("bad_option", "blank 只能是 'nan' 或 'error'", "blank must be 'nan' or 'error'", found=blank))
    import io

    from ..io.excel import open_book

    path = Path(path)
    fname = path.name
    probs: list[Problem] = []
    if not path.exists() and not path.is_symlink():
        raise QlworkError(Problem("file_not_found", "找不到问卷文件", "questionnaire file not found", file=str(path)))
    # file type, size, zip bomb and used range are checked before openpyxl parses anything
    book = open_book(path, fname, root=root, facts=False)
    if book.errors:
        raise QlworkError([Problem("bad_workbook", f"无法读取问卷工作簿：{p.message}", f"cannot read workbook: {p.message_en}",
                                   file=fname, found=p.found, expected=p.expected) for p in book.errors])
    probs += list(book.notes) + list(book.sheet_errors)
    skip = {s.name for s in book.sheets if s.hidden} | {p.sheet for p in book.sheet_errors}
    try:
        wb = load_workbook(io.BytesIO(book.data), data_only=True, read_only=False)
    except Exception as e:  # openpyxl raises several types for a non-xlsx file
        raise QlworkError(Problem("bad_workbook", "无法读取问卷工作簿（不是有效的 xlsx 文件）", "cannot read workbook",
                                  file=fname, found=str(e)[:80], expected=".xlsx")) from None
    m = re.search(r"expert_([^.]+)$", path.stem)
    eid, name, org, weight = _read_info(wb, m.group(1) if m else path.stem, fname, probs)
    fws = _fw_map(frameworks)
    mats: dict[str, pd.DataFrame] = {}
    for ws in wb.worksheets:
        if ws.title == INFO_SHEET or ws.title in skip:  # hidden or oversized sheets are reported, not read
            continue
        mat = _read_sheet(ws, eid, fname, blank, tol, probs)
        if mat is None:
            continue
        if fws:
            _check_against_framework(ws.title, mat, fws, eid, fname, probs)
        mats[ws.title] = mat
    if fws:
        for fid, fw in fws.items():
            for nid in fw.nodes:
                if f"{fid}_{nid}" not in mats:
                    probs.append(Problem("missing_sheet", f"专家 {eid}：缺少节点 {nid}（{fw.name_of(nid)}）的判断矩阵表 {fid}_{nid}",
                                         f"expert {eid}: no sheet {fid}_{nid}", file=fname, sheet=f"{fid}_{nid}",
                                         severity="warning"))
    return Questionnaire(eid, name, org, weight, fname, mats, tuple(probs))


def _fw_map(frameworks) -> dict[str, Any]:
    if frameworks is None:
        return {}
    if isinstance(frameworks, Mapping):
        return {str(k): v for k, v in frameworks.items()}
    return {fw.id: fw for fw in frameworks}


def _check_against_framework(sheet: str, mat: pd.DataFrame, fws: dict, eid: str, fname: str, probs: list[Problem]) -> None:
    fid = next((f for f in sorted(fws, key=len, reverse=True) if sheet.startswith(f + "_")), None)
    nid = sheet[len(fid) + 1:] if fid else None
    if fid is None or nid not in fws[fid].nodes:
        probs.append(Problem("unknown_node", f"专家 {eid}：工作表 {sheet} 不对应任何框架节点",
                             f"expert {eid}: sheet {sheet} matches no framework node", file=fname, sheet=sheet,
                             found=sheet, expected="<框架编号>_<节点编号>，如 QLI_G1", severity="warning"))
        return
    kids = list(fws[fid].nodes[nid].children)
    if set(kids) != set(mat.index):
        probs.append(Problem("children_mismatch", f"专家 {eid}：{sheet} 的比较元素与框架节点 {nid} 的下级不一致",
                             f"expert {eid}: elements of {sheet} differ from the children of {nid}", file=fname,
                             sheet=sheet, row=3, column="C", found=list(mat.index), expected=kids))


def read_questionnaires(folder: str | Path | Iterable[str | Path] | None = None, *, blank: str = "nan",
                        tol: float = 0.02, frameworks: Mapping[str, Any] | Iterable[Any] | None = None,
                        strict: bool = True) -> QuestionnaireSet:
    """Read every ``expert_*.xlsx`` in ``folder`` (default ``data/raw/ahp``).

    With ``strict`` any error-severity problem raises :class:`QlworkError` listing
    all of them; otherwise the set is returned with the problems attached and the
    offending judgments set to NaN.
    """
    from ..paths import raw_dir

    if folder is None:
        folder = raw_dir() / "ahp"
    if isinstance(folder, (str, Path)):
        folder = Path(folder)
        if not folder.is_dir():
            raise QlworkError(Problem("folder_not_found", "找不到专家问卷文件夹", "questionnaire folder not found",
                                      file=str(folder), expected="data/raw/ahp（先运行 qlwork demo）"))
        files = sorted(folder.glob("expert_*.xlsx"))
        if not files:
            raise QlworkError(Problem("no_questionnaires", "文件夹中没有 expert_*.xlsx 问卷", "no expert_*.xlsx files",
                                      file=str(folder)))
    else:
        files = [Path(f) for f in folder]
    root = folder if isinstance(folder, Path) else None  # links are followed only inside the folder
    qs = [read_questionnaire(f, blank=blank, tol=tol, frameworks=frameworks, root=root) for f in files]
    probs: list[Problem] = [p for q in qs for p in q.problems]
    seen: dict[str, str] = {}
    for q in qs:
        if q.expert_id in seen:
            probs.append(Problem("duplicate_expert", f"专家编号 {q.expert_id} 重复（另见 {seen[q.expert_id]}）",
                                 f"expert id {q.expert_id} appears twice", file=q.file, sheet=INFO_SHEET,
                                 found=q.expert_id, expected="唯一编号 unique id"))
        seen[q.expert_id] = q.file
    if strict and any(p.severity == "error" for p in probs):
        raise QlworkError([p for p in probs if p.severity == "error"])
    experts = pd.DataFrame([{"expert_id": q.expert_id, "name": q.name, "org": q.org, "weight": q.weight, "file": q.file}
                            for q in qs], columns=["expert_id", "name", "org", "weight", "file"])
    mats: dict[str, dict[str, pd.DataFrame]] = {}
    for q in qs:
        for sheet, m in q.matrices.items():
            mats.setdefault(sheet, {})[q.expert_id] = m
    return QuestionnaireSet(experts, mats, tuple(probs), {"blank": blank, "tol": tol, "strict": strict,
                                                          "files": [f.name for f in files]})


def write_questionnaire(path: str | Path, expert_id: str, matrices: Mapping[str, Any], *, name: str = "",
                        org: str = "", weight: float = 1.0, names: Mapping[str, str] | None = None,
                        node_names: Mapping[str, str] | None = None) -> Path:
    """Write a workbook in the questionnaire format (for blank templates and tests).

    ``matrices``: sheet name → labelled DataFrame (NaN = blank cell; values are written
    as integers or "1/k" text, other numbers as they are).
    """
    from openpyxl import Workbook

    wb = Workbook()
    info = wb.active
    info.title = INFO_SHEET
    for row in (("专家编号", expert_id), ("姓名", name), ("单位/职务", org), ("权重", weight)):
        info.append(list(row))
    names = names or {}
    for sheet, m in matrices.items():
        m = m if isinstance(m, pd.DataFrame) else pd.DataFrame(m)
        ids = [str(i) for i in m.index]
        ws = wb.create_sheet(sheet)
        title = (node_names or {}).get(sheet, sheet)
        ws.append([f"层次分析法判断矩阵：{title}（专家 {expert_id}）"])
        ws.append(["a_ij 表示行元素相对列元素的重要程度，1–9 标度，倒数写作 1/3"])
        ws.append(["编号", "名称"] + ids)
        for i, rid in enumerate(ids):
            row: list[Any] = [rid, names.get(rid, rid)]
            for j in range(len(ids)):
                v = m.iat[i, j]
                if isinstance(v, str) or v is None:
                    row.append(v)
                elif isinstance(v, float) and math.isnan(v):
                    row.append(None)
                elif v >= 1 and abs(v - round(v)) < 1e-9:
                    row.append(int(round(v)))
                elif v < 1 and abs(1 / v - round(1 / v)) < 1e-9:
                    row.append(f"1/{int(round(1 / v))}")
                else:
                    row.append(float(v))
            ws.append(row)
    return save_workbook(wb, Path(path))  # atomic, every cell formula-safe
