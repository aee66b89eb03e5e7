"""Read respondent-level survey files (CSV or Excel) into a tidy table.

Format (docs/survey.md, CONTRACTS): one row per respondent with
``respondent_id, unit_id, period, age_group, sex, area, q1..qK, status``.
CSV encodings: UTF-8 with or without BOM, GBK and GB18030 (Excel on a
Chinese Windows saves "CSV" in GBK); the encoding is detected and named in the
result.  Problems are located (file, row as shown in Excel/a text editor,
column) and bilingual; rows with a problem are kept but marked in
``_problem`` so the validity report can count them, never silently dropped.

Items mapping (``surveys/items.yaml``) is loaded with :func:`qlwork.io.yamlsafe.load_yaml` (safe, bounded).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import periods as P
from ..errors import Problem, QlworkError, problems_frame
from ..io.csvtext import detect_encoding, read_csv_table, read_text  # noqa: F401 - re-exported

__all__ = [
    "Scale",
    "SCALES",
    "ItemsSpec",
    "DEFAULT_ITEMS",
    "load_items",
    "detect_encoding",
    "SurveyRead",
    "read_survey",
    "REQUIRED_COLUMNS",
]

def _is_half_year(label) -> bool:
    """A canonical half-year id (surveys are per evaluation period: 2025H1, 2025H2)."""
    return P.is_canonical(label) and P.grain_of(label) == "H"


REQUIRED_COLUMNS = ("respondent_id", "unit_id", "period", "status")
WEIGHTING_COLUMNS = ("age_group", "sex", "area")
MAX_LISTED = 200  # located problems listed one by one; the rest are summarised


@dataclass(frozen=True)
class Scale:
    """An answer scale: valid codes, don't-know codes, map to 0–100, satisfied codes.

    ``rule``: ``"map"`` → respondent score = mean of mapped item values;
    ``"rate"`` → score = 100 × share of items answered with a satisfied code
    (Jiangxi: 10 满意 and 9 基本满意 count as satisfied; DOMAIN.md §1.4, §3.1).
    """

    name: str
    valid: tuple
    dont_know: tuple
    mapping: Mapping[int, float]
    satisfied: tuple
    labels: Mapping[int, str] = field(default_factory=dict)
    rule: str = "map"

    @property
    def max_code(self) -> int:
        return max(self.valid)


SCALES: dict[str, Scale] = {
    # Likert 1–5 → 0/25/50/75/100 (CONTRACTS); 9 = 不了解.
    "likert5": Scale("likert5", (1, 2, 3, 4, 5), (9,), {1: 0.0, 2: 25.0, 3: 50.0, 4: 75.0, 5: 100.0}, (4, 5),
                     {1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意", 9: "不了解"}),
    # Jiangxi 10-point: 10 满意, 9 基本满意, ≤8 不满意; score = mean × 10; 99 = 不了解/不清楚.
    "ten_point": Scale("ten_point", tuple(range(1, 11)), (99,), {k: 10.0 * k for k in range(1, 11)}, (9, 10),
                       {10: "满意", 9: "基本满意", **{k: "不满意" for k in range(1, 9)}, 99: "不了解"}),
}
SCALES["ten_point_rate"] = Scale("ten_point_rate", SCALES["ten_point"].valid, (99,), SCALES["ten_point"].mapping,
                                 (9, 10), SCALES["ten_point"].labels, rule="rate")


@dataclass(frozen=True)
class ItemsSpec:
    """Items and their mapping to public indicators per framework.

    ``indicators``: ``{framework: {indicator_id: [items]}}``; ``overall`` uses all items.
    """

    items: tuple
    texts: Mapping[str, str]
    indicators: Mapping[str, Mapping[str, tuple]]
    scale: Scale
    source: str | None = None

    def indicator_items(self) -> list[tuple[str, str, tuple]]:
        return [(fw, ind, tuple(its)) for fw, m in self.indicators.items() for ind, its in m.items()]


DEFAULT_ITEMS = ItemsSpec(
    items=("q1", "q2", "q3", "q4", "q5"),
    texts={"q1": "干部廉洁自律", "q2": "办事公道", "q3": "信息公开", "q4": "服务态度", "q5": "干群关系"},
    indicators={"county": {"service_sat": ("q1", "q2", "q3", "q4", "q5")},
                "village": {"v_sat_integrity": ("q1", "q2"), "v_sat_disclosure": ("q3",),
                            "v_sat_relations": ("q4", "q5")}},
    scale=SCALES["likert5"],
)


def _as_items(v: Any) -> tuple:
    if isinstance(v, str):
        return tuple(s.strip() for s in re.split(r"[,，\s]+", v) if s.strip())
    if isinstance(v, Mapping):
        v = v.get("items", v.get("from", []))
        return _as_items(v)
    return tuple(str(s) for s in v)


def load_items(path: str | Path | Mapping | None = None, *, root: str | Path | None = None) -> ItemsSpec:
    """Load ``surveys/items.yaml`` (safe loader) into an :class:`ItemsSpec`.

    Accepted shape (tolerant)::

        scale: likert5            # or ten_point / ten_point_rate, or a mapping {map: {1: 0, ...}, dont_know: [9]}
        items: {q1: 干部廉洁自律, q2: ...}      # or a list of {id, text}
        indicators:               # or "mapping"
          county: {service_sat: [q1, q2, q3, q4, q5]}
          village: {v_sat_integrity: [q1, q2], ...}

    ``None`` returns :data:`DEFAULT_ITEMS` (the CONTRACTS mapping).
    """
    if path is None:
        return DEFAULT_ITEMS
    fname = None
    if isinstance(path, Mapping):
        data = dict(path)
    else:
        from ..io.guard import DEFAULT_LIMITS, read_input_bytes
        from ..io.yamlsafe import load_yaml

        fname = str(path)
        if not Path(path).exists() and not Path(path).is_symlink():
            raise QlworkError(Problem("missing_file", "找不到题目映射文件", "items file not found", file=fname))
        raw = read_input_bytes(path, root=root, label=fname, max_bytes=DEFAULT_LIMITS.max_yaml_bytes)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise QlworkError(Problem("bad_encoding", "题目映射文件不是 UTF-8 编码", "items YAML is not UTF-8", file=fname,
                                      found=str(e)[:80], expected="UTF-8")) from None
        # size, nesting depth, alias expansion and duplicate keys checked before anything is built
        data, _ = load_yaml(text, file=fname, what="题目映射")
    if not isinstance(data, Mapping):
        raise QlworkError(Problem("bad_items", "题目映射文件应为映射（键: 值）", "items file must be a mapping", file=fname))
    try:
        return _items_spec(data, fname)
    except QlworkError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # a code or score that is no number, a list for a map …
        raise QlworkError(Problem("bad_items", "题目映射文件的内容格式不对（量表代码和分值应为数字，映射应为 键: 值）",
                                  f"the items file is malformed (scale codes and scores must be numbers): {e!r}"[:200],
                                  file=fname, found=repr(e)[:80], expected="见 docs/survey.md 的示例 see docs/survey.md")) from None


def _items_spec(data: Mapping, fname: str | None) -> ItemsSpec:
    problems = []
    # scale
    sc = data.get("scale", "likert5")
    if isinstance(sc, str):
        if sc not in SCALES:
            problems.append(Problem("bad_scale", "未知的量表类型", "unknown scale", file=fname, column="scale",
                                    found=sc, expected=sorted(SCALES)))
            scale = SCALES["likert5"]
        else:
            scale = SCALES[sc]
    elif isinstance(sc, Mapping):
        base = SCALES.get(str(sc.get("type", sc.get("name", "likert5"))), SCALES["likert5"])
        mp = sc.get("map", sc.get("mapping", base.mapping))
        if isinstance(mp, (list, tuple)):
            mp = {i + 1: float(v) for i, v in enumerate(mp)}
        mp = {int(k): float(v) for k, v in dict(mp).items()}
        dk = sc.get("dont_know", base.dont_know)
        dk = tuple(int(x) for x in (dk if isinstance(dk, (list, tuple)) else [dk]))
        satisfied = tuple(int(x) for x in sc.get("satisfied", base.satisfied))
        scale = Scale(base.name, tuple(sorted(mp)), dk, mp, satisfied, base.labels, sc.get("rule", base.rule))
    else:
        scale = SCALES["likert5"]
    if "likert" in data and isinstance(data["likert"], Mapping):  # demo style: likert map at top level
        mp = {int(k): float(v) for k, v in data["likert"].items()}
        dk = data.get("dont_know", scale.dont_know)
        dk = tuple(int(x) for x in (dk if isinstance(dk, (list, tuple)) else [dk]))
        labels = {int(k): str(v) for k, v in (data.get("scale_labels") or {}).items()} or dict(scale.labels)
        satisfied = tuple(int(x) for x in data.get("satisfied", sorted(mp)[-2:]))
        scale = Scale("likert5" if len(mp) == 5 else f"likert{len(mp)}", tuple(sorted(mp)), dk, mp, satisfied,
                      labels)
    # items
    raw_items = data.get("items", {})
    texts: dict[str, str] = {}
    if isinstance(raw_items, Mapping) and raw_items and all(
            isinstance(v, Mapping) and "text" not in v for v in raw_items.values()):
        # per-framework wording ({county: {q1: ...}, village: {q1: ...}}): same item ids
        for fw_items in raw_items.values():
            for k, v in fw_items.items():
                texts.setdefault(str(k), str(v))
    elif isinstance(raw_items, Mapping):
        for k, v in raw_items.items():
            texts[str(k)] = v.get("text", "") if isinstance(v, Mapping) else str(v)
    elif isinstance(raw_items, list):
        for v in raw_items:
            if isinstance(v, Mapping):
                texts[str(v.get("id"))] = str(v.get("text", v.get("name", "")))
            else:
                texts[str(v)] = ""
    ind = data.get("indicators", data.get("mapping", None))
    indicators: dict[str, dict[str, tuple]] = {}
    if ind is None:
        indicators = {k: dict(v) for k, v in DEFAULT_ITEMS.indicators.items()}
    elif isinstance(ind, Mapping):
        for fw, m in ind.items():
            if isinstance(m, Mapping):
                indicators[str(fw)] = {str(k): _as_items(v) for k, v in m.items()}
    elif isinstance(ind, list):  # list of {framework, indicator, items}
        for rec in ind:
            indicators.setdefault(str(rec.get("framework", "county")), {})[str(rec.get("indicator", rec.get("id")))] = \
                _as_items(rec.get("items", []))
    items = tuple(texts) if texts else tuple(sorted({i for m in indicators.values() for v in m.values() for i in v}))
    for fw, m in indicators.items():
        for k, its in m.items():
            unknown = [i for i in its if i not in items]
            if unknown:
                problems.append(Problem("unknown_item", f"指标 {k} 引用了未定义的题目", f"indicator {k} uses undefined items",
                                        file=fname, column=f"indicators.{fw}.{k}", found=unknown, expected=list(items)))
    if problems:
        raise QlworkError(problems)
    return ItemsSpec(items=items, texts=texts, indicators=indicators, scale=scale, source=fname)


@dataclass(frozen=True)
class SurveyRead:
    """A survey file as a tidy respondent table plus located problems.

    ``data`` has the file's columns plus ``_row`` (row number in the file,
    header = 1) and ``_problem`` (code of the first data problem in that row,
    empty when clean).  Item columns are float with NaN for blanks.
    """

    data: pd.DataFrame
    problems: tuple
    file: str
    encoding: str
    items: tuple

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def to_frame(self) -> pd.DataFrame:
        return self.data.copy()

    def __repr__(self) -> str:
        return (f"SurveyRead(file={Path(self.file).name!r}, encoding={self.encoding!r}, rows={len(self.data)}, "
                f"problems={len(self.problems)}, flagged_rows={(self.data['_problem'] != '').sum()})")


_FULLWIDTH = str.maketrans("０１２３４５６７８９．－", "0123456789.-")


def excel_engine() -> str:
    """``calamine`` (fast) when python-calamine is installed, else ``openpyxl``."""
    import importlib.util

    return "calamine" if importlib.util.find_spec("python_calamine") else "openpyxl"


def _read_table(path: Path, sheet, root=None) -> tuple[pd.DataFrame, str]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        from ..io.excel import open_book

        book = open_book(path, str(path), root=root, facts=False)  # size, zip bomb, used range, hidden sheets
        if book.errors:
            raise QlworkError(list(book.errors))
        ok = book.readable()
        if sheet is None or isinstance(sheet, int):
            if not ok:
                raise QlworkError(list(book.sheet_errors) + list(book.notes) or [Problem(
                    "no_sheet", "工作簿中没有可读取的工作表", "no readable sheet in the workbook", file=str(path))])
            sheet = ok[sheet or 0] if (sheet or 0) < len(ok) else ok[0]
        elif sheet not in ok:
            raise QlworkError([p for p in book.sheet_errors + book.notes if p.sheet == sheet] or [Problem(
                "missing_sheet", f"找不到工作表 {sheet}", f"no sheet {sheet!r}", file=str(path), sheet=str(sheet))])
        try:
            df = pd.read_excel(io.BytesIO(book.data), sheet_name=sheet, dtype=str, engine=excel_engine())
        except Exception as e:  # the reader's own errors for a damaged sheet
            raise QlworkError(Problem("unreadable_file", "无法读取调查数据工作簿", f"cannot read the workbook: {type(e).__name__}",
                                      file=str(path), sheet=str(sheet), found=str(e)[:80])) from None
        return df, "xlsx"
    return read_csv_table(path, label=str(path), root=root)


def read_survey(
    path: str | Path,
    *,
    items: ItemsSpec | Sequence[str] | None = None,
    known_units: Iterable[str] | None = None,
    period: str | None = None,
    sheet: str | int | None = None,
    strict: bool = False,
    root: str | Path | None = None,
) -> SurveyRead:
    """Read one survey file (CSV in UTF-8/GBK/GB18030, or Excel) and check it.

    Checks (each a located, bilingual :class:`~qlwork.errors.Problem`):
    missing required or item columns (raised at once — nothing can be read);
    answers outside the scale (not a valid code or don't-know code);
    unknown ``unit_id`` (when ``known_units`` given); bad period label
    (not ``YYYYH1``/``YYYYH2``, or not ``period`` when given); unknown
    ``status``; duplicate respondent ids.  Rows with problems stay in the table
    with ``_problem`` set, so the validity report counts them.  ``strict=True``
    raises when any error-level problem is found.  A file in which no respondent answered
    any item raises (nothing could be estimated).  ``root``: the raw folder (a link is
    followed only inside it).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise QlworkError(Problem("missing_file", "找不到调查数据文件", "survey file not found", file=str(path)))
    spec = items if isinstance(items, ItemsSpec) else (
        DEFAULT_ITEMS if items is None else ItemsSpec(tuple(items), {}, {}, SCALES["likert5"]))
    df, enc = _read_table(path, sheet, root)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    fname = str(path)
    need = list(REQUIRED_COLUMNS) + list(spec.items)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise QlworkError([Problem("missing_column", f"调查数据缺少列 {c}", f"survey file lacks column {c}",
                                   file=fname, row=1, column=c, expected=need) for c in missing])
    problems: list[Problem] = []
    out = df.copy()
    for c in ("respondent_id", "unit_id", "period", "status"):
        out[c] = out[c].astype("str").str.strip()
    n = len(out)
    rows = np.arange(n) + 2
    flag = np.full(n, "", dtype=object)

    def report(mask: np.ndarray, code: str, zh: str, en: str, column: str, found: Sequence, expected: Any,
               severity: str = "error") -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        fresh = flag[idx] == ""
        flag[idx[fresh]] = code
        for k, i in enumerate(idx[:MAX_LISTED]):
            problems.append(Problem(code, zh, en, file=fname, row=int(rows[i]), column=column,
                                    found=found[k], expected=expected, severity=severity))
        if len(idx) > MAX_LISTED:
            problems.append(Problem(code, f"另有 {len(idx) - MAX_LISTED} 行同类问题未逐条列出",
                                    f"{len(idx) - MAX_LISTED} more rows with the same problem not listed",
                                    file=fname, column=column, severity=severity))

    sc = spec.scale
    allowed = np.array(sorted(set(sc.valid) | set(sc.dont_know)), dtype=float)
    answered = np.zeros(n, dtype=bool)
    for it in spec.items:
        txt = out[it].astype("str").str.strip().str.translate(_FULLWIDTH)
        num = pd.to_numeric(txt, errors="coerce").to_numpy(dtype=float, copy=True)
        blank = out[it].isna().to_numpy() | (txt.fillna("") == "").to_numpy()
        bad = ~blank & ~np.isin(num, allowed)
        report(bad, "answer_out_of_scale", f"题目 {it} 的答案不在量表内",
               f"answer to {it} is outside the scale", it, txt.to_numpy()[bad].tolist(),
               f"{list(sc.valid)} 或不了解 {list(sc.dont_know)}")
        num[bad] = np.nan
        out[it] = num
        answered |= ~np.isnan(num)
    if not answered.any():
        raise QlworkError(Problem(
            "no_answers", f"调查数据中没有任何有效答案（{n} 行，题目 {'、'.join(spec.items)} 全部为空或无效），无法估计",
            f"no respondent answered any item ({n} rows; every answer blank or invalid); nothing can be estimated",
            file=fname, row=2 if n else None, column=spec.items[0] if spec.items else None,
            found="全部为空 all blank" if n else "没有数据行 no data rows", expected=f"{list(sc.valid)} 中的答案 answers"))
    per = out["period"].to_numpy(dtype=object)
    # other spellings of a half-year ("2025年上半年", "2025 H1", "2025h1") are normalised with a
    # warning; labels that need a guess ("2025-1": month? quarter?) stay and are reported below.
    # A survey belongs to an evaluation period: a quarter or a month is reported, not rolled.
    odd = [p for p in pd.unique(per) if not _is_half_year(p)]
    canon = {p: P.normalize_half_year(p) for p in odd}
    canon = {p: c for p, c in canon.items() if c}
    if canon:
        m = np.isin(per, list(canon))
        prev = flag[m].copy()
        report(m, "period_normalized", "调查期次写法不规范，已按规范期次读取", "period label normalised",
               "period", [f"{p}" for p in per[m]], f"{'、'.join(sorted(set(canon.values())))}（YYYYH1|YYYYH2）",
               severity="warning")
        per = np.array([canon.get(p, p) for p in per], dtype=object)
        out["period"] = per
        flag[m] = prev  # a warning does not mark the row as a problem row
    bad_per = ~np.array([_is_half_year(p) for p in pd.unique(per)], dtype=bool)
    bad_set = set(np.asarray(pd.unique(per))[bad_per].tolist())
    mask = np.isin(per, list(bad_set)) if bad_set else np.zeros(n, dtype=bool)
    report(mask, "bad_period", "调查期次标签不合法", "bad period label", "period", per[mask].tolist(), "如 2025H2 (YYYYH1|YYYYH2)")
    if period is not None:
        other = ~mask & (per != period)
        report(other, "wrong_period", "调查期次与所选期次不一致", "period differs from the selected one", "period",
               per[other].tolist(), period)
    if known_units is not None:
        ku = pd.Index(pd.unique(np.asarray(list(known_units), dtype=object)))
        uid = out["unit_id"].to_numpy(dtype=object)
        unknown = ku.get_indexer(uid) < 0
        report(unknown, "unknown_unit", "单位编码不在单位名录中", "unit_id not in the unit registry", "unit_id",
               uid[unknown].tolist(), "单位名录 units.xlsx 中的编码")
    st = out["status"].to_numpy(dtype=object)
    bad_st = ~np.isin(st, ["完成", "中断"])
    report(bad_st, "bad_status", "访问状态应为 完成 或 中断", "status must be 完成 or 中断", "status",
           st[bad_st].tolist(), ["完成", "中断"])
    dup = out["respondent_id"].duplicated(keep="first").to_numpy()
    report(dup, "duplicate_respondent", "受访者编号重复", "duplicate respondent id", "respondent_id",
           out["respondent_id"].to_numpy(dtype=object)[dup].tolist(), "唯一编号")
    out["_row"] = rows
    out["_problem"] = flag.astype(str)
    res = SurveyRead(out, tuple(problems), fname, enc, tuple(spec.items))
    if strict and not res.ok:
        raise QlworkError([p for p in problems if p.severity == "error"])
    return res
