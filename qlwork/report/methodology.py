"""The methodology (方法说明): every choice behind a published number, in words a reviewer reads.

DESIGN.md §4: every statistical choice is an explicit, recorded parameter and is
written into every export, so a published score can be reproduced.  The table
here is for people: the scoring specification in plain Chinese
(:meth:`qlwork.spec.IndexSpec.describe_zh`), what the data held (units per peer
group, imputed and treated values, indicators without data), the sensitivity
analysis in one sentence, and the input files with SHA-256 checksums — with
project-relative paths, numbers without float noise, method names instead of
internal values and never raw JSON (``null``, ``-Infinity``).  The machine-readable
record is the spec itself (``results/<period>/spec.yaml``, reproduced by
``qlwork score --spec``), whose fingerprint the table names.
"""
from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..labels import method_label, period_label
from ._common import sha256_file

__all__ = ["methodology_table", "weights_table", "data_files_table", "data_files_from_values", "plain",
           "rel_path", "METHOD_COLUMNS"]

#: Columns of the 方法说明 table.
METHOD_COLUMNS = ["类别", "项目", "内容"]

_RANK_TIES = {"min": "并列者取最小名次（如 1、2、2、4）", "dense": "并列者名次相同且不跳号（如 1、2、2、3）",
              "average": "并列者取平均名次"}
_CHANGE = {"total": "本期综合得分 − 上期综合得分（同一规格）", "internal": "本期专业分 − 上期专业分"}


def plain(v: Any, digits: int = 6) -> str:
    """A value as a person reads it: no JSON, no float noise (0.04000000000000001 → 0.04),
    infinities and missing values in words, lists joined with 、."""
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10000 else str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "—"
        if math.isinf(f):
            return "无上限" if f > 0 else "无下限"
        r = round(f, digits)
        return str(int(r)) if r == int(r) and abs(r) < 1e15 else f"{r:.{digits}f}".rstrip("0").rstrip(".")
    if isinstance(v, Mapping):
        return "；".join(f"{k}：{plain(x, digits)}" for k, x in v.items()) or "—"
    if isinstance(v, (list, tuple, set, np.ndarray, pd.Series)):
        items = list(v.items()) if isinstance(v, pd.Series) else list(v)
        if isinstance(v, pd.Series):
            return "；".join(f"{k}：{plain(x, digits)}" for k, x in items) or "—"
        return "、".join(plain(x, digits) for x in items) or "无"
    return str(v)


def rel_path(p: str | Path, root: str | Path | None) -> str:
    """A path relative to the project root; a file outside it is named by its file name only
    (never an absolute path of this machine)."""
    p = Path(p)
    if root is not None:
        try:
            return p.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return p.name if p.is_absolute() else p.as_posix()


def _names(fw, ids) -> str:
    ids = list(ids or [])
    if not ids:
        return "无"
    out = []
    for i in ids:
        try:
            out.append(fw.name_of(i))
        except KeyError:
            out.append(str(i))
    return "、".join(out)


def _spec_rows(result) -> list[tuple[str, str]]:
    spec = getattr(result, "spec", None)
    if spec is not None:
        return [(k, v) for k, v in spec.describe_zh() if k not in ("指标体系", "规格指纹")]
    # a result without a spec (older callers): the recorded choices, in words
    p = dict(getattr(result, "params", {}) or {})
    fw = result.framework
    rows = [(lab, method_label(key, p[key])) for key, lab in (
        ("normalization", "标准化方法"), ("aggregation", "合成方法"), ("imputation", "缺失值处理"),
        ("outliers", "异常值处理"), ("peer_group", "同类比较组")) if key in p]
    share = p.get("social_share", fw.social_share)
    rows.append(("群众评价", f"占总分 {plain(100 * float(share))}%"))
    return rows


def _data_rows(result) -> list[tuple[str, str]]:
    p = dict(getattr(result, "params", {}) or {})
    fw = result.framework
    rows = []
    if "n_units" in p:
        rows.append(("参评单位", f"{plain(p['n_units'])} 个"))
    u = getattr(result, "units", None)
    if isinstance(u, pd.DataFrame) and "peer_group" in u.columns and len(u):
        counts = u["peer_group"].astype(str).value_counts()
        rows.append(("同类组及单位数", "、".join(f"{g} {n} 个" for g, n in counts.items())))
    if p.get("periods"):
        rows.append(("数据中的评价期", "、".join(period_label(x) for x in p["periods"])))
    if p.get("previous_period"):
        rows.append(("“较上期”对比的评价期", period_label(p["previous_period"])))
    for key, label, unit in (("n_imputed", "插补的数值", "个"), ("n_outliers_changed", "异常值处理改动的数值", "个"),
                             ("ignored_not_applicable_values", "不适用于该类单位而不计的数值", "个")):
        if key in p:
            rows.append((label, f"{plain(p[key])} {unit}"))
    if "absent_indicators" in p:
        rows.append(("本期无数据的指标", _names(fw, p["absent_indicators"])))
    if p.get("public_indicators"):
        rows.append(("群众评价指标", _names(fw, p["public_indicators"])))
    if "veto_units" in p:
        rows.append(("一票否决单位", f"{len(p['veto_units'] or [])} 个"))
    if p.get("bonus_over_cap"):
        rows.append(("加分超过上限而截断的单位", f"{plain(p['bonus_over_cap'])} 个"))
    if p.get("rank_ties") in _RANK_TIES:
        rows.append(("并列名次", _RANK_TIES[p["rank_ties"]]))
    if p.get("change_rule") in _CHANGE:
        rows.append(("较上期变化", _CHANGE[p["change_rule"]]))
    if p.get("constant_group_score") is not None:
        rows.append(("同类单位取值全相同的指标", f"各单位均记 {plain(p['constant_group_score'])} 分"))
    return rows


def _ri_text(result) -> str | None:
    """The AHP random-index table, when the weights came from AHP judgments."""
    spec = getattr(result, "spec", None)
    method = getattr(getattr(spec, "weights", None), "method", None)
    if method != "ahp":
        return None
    from ..weights.ahp import DEFAULT_RI_TABLE, RI_TABLES

    t = RI_TABLES.get(DEFAULT_RI_TABLE)
    return None if t is None else f"{t.name}（n = 1…{t.max_n}）：" + "、".join(plain(v, 4) for v in t.values) + \
        f"。出处：{t.source}"


def _sensitivity_rows(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not params:
        return []
    if params.get("description_zh"):  # written by qlwork.workflow.uncertainty.describe_simulation
        return [("模拟方式", str(params["description_zh"]))]
    return [("模拟方式", f"权重随机扰动，共模拟 {plain(params.get('draws'))} 次（随机种子 {plain(params.get('seed'))}）")]


def methodology_table(result, *, period: str | None = None, sensitivity: Mapping[str, Any] | None = None,
                      root: str | Path | None = None, result_files: Iterable[str | Path] = (),
                      extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per fact a reviewer needs: 类别 (section), 项目 (item), 内容 (plain Chinese text).

    ``sensitivity``: the params of the sensitivity analysis shown with the result (its
    ``description_zh`` sentence); ``result_files``: the official result's manifest/spec
    (listed relative to ``root``); ``extra``: further (label → value) rows.
    """
    fw = result.framework
    spec = getattr(result, "spec", None)
    params = dict(getattr(result, "params", {}) or {})
    period = period or getattr(result, "period", None) or params.get("period") or ""
    rows: list[tuple[str, str, str]] = []

    def add(cat: str, items: Iterable[tuple[str, str]]) -> None:
        rows.extend((cat, k, v) for k, v in items)

    ident = [("评价期", period_label(period) if period else "—"),
             ("指标体系", f"{fw.name}（编号 {fw.id}，版本 {fw.version or '—'}，指纹 {fw.fingerprint()}）")]
    if getattr(fw, "source", None):
        ident.append(("指标体系文件", rel_path(fw.source, root) if Path(str(fw.source)).suffix else "内置指标体系"))
    if spec is not None:
        ident.append(("计分规格", f"指纹 {spec.fingerprint()}；全文见正式结果的 spec.yaml，"
                                  f"可用 qlwork score --spec 重现"))
    for f in result_files:
        ident.append(("正式结果", rel_path(f, root)))
    add("评价结果", ident)
    add("计分方法", _spec_rows(result))
    ri = _ri_text(result)
    if ri:
        add("计分方法", [("层次分析法随机一致性指标 RI", ri)])
    add("数据与处理", _data_rows(result))
    add("敏感性分析", _sensitivity_rows(sensitivity))
    add("附加说明", ((str(k), plain(v)) for k, v in (extra or {}).items()))
    from .._version import __version__

    add("生成", [("生成时间", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")),
                 ("软件", f"qlwork {__version__}")])
    return pd.DataFrame(rows, columns=METHOD_COLUMNS)


def weights_table(result) -> pd.DataFrame:
    """Indicator table with the effective leaf weights actually used."""
    fw = result.framework
    lw = getattr(result, "leaf_weights", None)
    if lw is None:
        lw = fw.leaf_weights()
    rows = []
    for iid, ind in fw.indicators.items():
        l1 = fw.level1_of(iid)
        rows.append({
            "指标编号": iid, "指标名称": ind.name, "英文名称": ind.name_en,
            "一级指标": fw.name_of(l1) if l1 else "", "方向": "正向(+)" if ind.direction > 0 else "逆向(−)",
            "计量单位": ind.unit, "来源部门": ind.source,
            "适用单位类型": "全部" if ind.applies_to is None else "、".join(ind.applies_to),
            # rounded to 12 places: 0.2 × 0.2 is 0.04000000000000001 in binary floating point
            "局部权重": round(float(ind.weight), 12), "综合权重": round(float(lw.get(iid, np.nan)), 12),
            "目标值区间": "" if ind.goalposts is None else
            f"{plain(ind.goalposts[0]).replace('-', '−')} 至 {plain(ind.goalposts[1]).replace('-', '−')}",
        })
    return pd.DataFrame(rows)


def data_files_from_values(values: pd.DataFrame | None, raw_dir: str | Path | None = None,
                           extra: Iterable[str | Path] = ()) -> list[Path]:
    """Input files behind a result: the provenance ``file`` column plus registry/framework files.
    A value rolled up from months or quarters names every file it came from, ``"; "``-separated
    (:mod:`qlwork.io.rollup`)."""
    files: list[Path] = []
    raw = Path(raw_dir) if raw_dir else None
    if values is not None and "file" in values.columns:
        names = pd.unique(values["file"].dropna().astype(str))
        for f in dict.fromkeys(x for n in names for x in n.split("; ") if x):
            p = Path(f)
            if not p.is_absolute() and raw is not None:
                p = raw / p
            files.append(p)
    if raw is not None:
        for pat in ("units.xlsx", "framework_*.yaml", "surveys/*.csv", "surveys/*.yaml", "ahp/*.xlsx"):
            files.extend(sorted(raw.glob(pat)))
    files.extend(Path(p) for p in extra)
    seen, out = set(), []
    for p in files:
        key = str(p.resolve()) if p.exists() else str(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def data_files_table(files: Iterable[str | Path], root: str | Path | None = None) -> pd.DataFrame:
    """Path (relative to ``root``; the file name for a file outside it), size, modification time and
    SHA-256 of each file."""
    rows = []
    for p in files:
        p = Path(p)
        rel = rel_path(p, root)
        if p.is_file():
            st = p.stat()
            rows.append({"文件": rel, "字节数": int(st.st_size),
                         "修改时间": _dt.datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M:%S"),
                         "SHA-256": sha256_file(p)})
        else:
            rows.append({"文件": rel, "字节数": None, "修改时间": "", "SHA-256": "文件不存在"})
    return pd.DataFrame(rows, columns=["文件", "字节数", "修改时间", "SHA-256"])
