"""The methodology (方法说明) tables: every choice behind a published number.

DESIGN.md §4: every statistical choice is an explicit, recorded parameter and
is written into every export, so a published score can be reproduced.  This
module flattens ``IndexResult.params`` (whatever keys the engine records),
adds the framework identity, the weight table, the AHP random-index table
when weights came from AHP, and the input data files with SHA-256 checksums.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ._common import sha256_file

__all__ = ["methodology_table", "weights_table", "data_files_table", "data_files_from_values", "flatten_params"]

# Chinese labels for parameter keys the engines record (unknown keys are shown as-is).
PARAM_ZH = {
    "period": "评价期", "normalization": "标准化方法", "aggregation": "聚合方法",
    "weights": "权重", "weight_method": "权重方法", "weights_method": "权重方法",
    "imputation": "缺失值处理", "peer_group": "同类比较组", "social_share": "群众评价占比",
    "grades": "等次划分", "pass_mark": "合格线", "bottom_n": "末位数 N", "drop_points": "大幅下降阈值(分)",
    "outliers": "异常值处理", "seed": "随机种子", "seeds": "随机种子", "ri_table": "随机一致性指标 RI 表",
    "framework_id": "框架编号", "framework_version": "框架版本", "framework_fingerprint": "框架指纹",
    "divergence": "背离判定", "previous_period": "上期", "n_draws": "抽样次数", "draws": "抽样次数",
    "framework": "框架编号", "periods": "数据中的期别", "comparison_groups": "比较组（填补/标准化范围）",
    "region": "区域排名所用区划", "public": "群众评价来源", "public_detail": "群众评价口径",
    "rank_ties": "并列名次规则", "change_rule": "变化量计算规则", "geometric_eps": "几何聚合下限 ε",
    "constant_group_score": "组内无差异时的得分", "zscore_scale": "z 分数换算", "leaf_weights": "综合指标权重",
    "normalization_fallback": "标准化退回情形", "absent_indicators": "无数据的指标", "public_indicators": "群众评价指标",
    "ignored_not_applicable_values": "不适用而忽略的数值数", "n_units": "单位数", "n_rows": "单位×期别行数",
    "n_patterns": "指标可用模式数", "n_imputed": "填补的数值数", "n_outliers_changed": "异常值处理的数值数",
    "outlier_summary": "异常值处理摘要", "veto_units": "一票否决单位", "seconds": "计算用时(秒)",
    "ignored_rows": "忽略的数据行", "model": "权重扰动模型",
}


def _fmt(v: Any) -> str:
    if isinstance(v, pd.Series):
        return json.dumps({str(k): _num(x) for k, x in v.items()}, ensure_ascii=False)
    if isinstance(v, pd.DataFrame):
        return f"表 {v.shape[0]}×{v.shape[1]}: " + v.head(20).to_json(force_ascii=False)
    if isinstance(v, np.ndarray):
        return json.dumps(np.asarray(v).tolist(), ensure_ascii=False, default=str)
    if isinstance(v, (list, tuple)):
        return json.dumps([_num(x) for x in v], ensure_ascii=False, default=str)
    if v is None:
        return "无 (none)"
    return str(_num(v))


def _num(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [_num(y) for y in x]
    return x if isinstance(x, (int, float, str, bool)) or x is None else str(x)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dict → [(dotted key, text)]; Series/arrays are written out in full as JSON."""
    rows: list[tuple[str, str]] = []
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v and all(not isinstance(x, (Mapping, pd.Series)) for x in v.values()) \
                and len(v) > 12:
            rows.append((key, json.dumps({str(a): _num(b) for a, b in v.items()}, ensure_ascii=False, default=str)))
        elif isinstance(v, Mapping):
            if not v:
                rows.append((key, "{}"))
            rows.extend(flatten_params(v, prefix=key + "."))
        else:
            rows.append((key, _fmt(v)))
    return rows


def _ri_table(params: Mapping[str, Any]) -> Any:
    for k in ("ri_table", "RI", "ri"):
        if k in params:
            return params[k]
    w = params.get("weights")
    if isinstance(w, Mapping):
        for k in ("ri_table", "RI", "ri"):
            if k in w:
                return w[k]
    return None


def _ri_text(ri: Any) -> str:
    """The RI table by name with its values and published source (qlwork.weights.ahp)."""
    try:
        from ..weights.ahp import DEFAULT_RI_TABLE, RI_TABLES
    except Exception:  # noqa: BLE001 - AHP module optional
        return _fmt(ri) if ri is not None else "未记录 (not recorded)"
    if ri is None or isinstance(ri, str):
        name = ri or DEFAULT_RI_TABLE
        t = RI_TABLES.get(name)
        if t is None:
            return str(name)
        head = f"{t.name}{'（默认）' if ri is None else ''}: n=1..{t.max_n} "
        return head + ", ".join(f"{v:g}" for v in t.values) + f" — {t.source}"
    if hasattr(ri, "values") and hasattr(ri, "name"):
        return f"{ri.name}: " + ", ".join(f"{v:g}" for v in ri.values) + f" — {getattr(ri, 'source', '')}"
    return _fmt(ri)


def methodology_table(result, *, data_files: pd.DataFrame | None = None,
                      extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per recorded choice: 类别 category, 参数 key, 说明 label, 取值 value."""
    fw = result.framework
    params = dict(getattr(result, "params", {}) or {})
    rows: list[dict] = []

    def add(cat, key, value, label=None):
        base = key.split(".")[-1]
        rows.append({"类别": cat, "参数": key, "说明": label or PARAM_ZH.get(key, PARAM_ZH.get(base, "")),
                     "取值": value})

    add("框架 framework", "framework_id", fw.id, "框架编号")
    add("框架 framework", "framework_name", fw.name, "框架名称")
    add("框架 framework", "framework_version", fw.version or "", "框架版本")
    add("框架 framework", "framework_fingerprint", fw.fingerprint(), "框架指纹 (SHA-256 前 12 位)")
    add("框架 framework", "framework_source", str(fw.source or ""), "框架文件")
    add("框架 framework", "grades", _fmt(list(fw.grades)), "等次划分 (框架默认)")
    add("框架 framework", "pass_mark", fw.pass_mark, "合格线 (框架默认)")
    add("框架 framework", "social_share", fw.social_share, "群众评价占比 (框架默认)")
    for key, text in flatten_params(params):
        add("计算参数 parameters", key, text)
    ri = _ri_table(params)
    add("权重 weights", "ri_table", _ri_text(ri), "随机一致性指标 RI 表（权重来自层次分析法判断矩阵时使用）")
    for k, v in (extra or {}).items():
        add("附加 extra", str(k), _fmt(v))
    add("生成 generated", "generated_at", _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "生成时间")
    try:
        from .._version import __version__
        add("生成 generated", "qlwork_version", __version__, "软件版本")
    except Exception:  # noqa: BLE001
        pass
    out = pd.DataFrame(rows, columns=["类别", "参数", "说明", "取值"])
    out["取值"] = out["取值"].map(lambda v: v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
    return out


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
            "指标编号": iid, "指标名称": ind.name, "英文": ind.name_en,
            "一级指标": fw.name_of(l1) if l1 else "", "方向": "正向(+)" if ind.direction > 0 else "逆向(−)",
            "单位": ind.unit, "来源部门": ind.source,
            "适用单位类型": "全部" if ind.applies_to is None else "、".join(ind.applies_to),
            "局部权重": float(ind.weight), "综合权重": float(lw.get(iid, np.nan)),
            "目标值区间": "" if ind.goalposts is None else f"{ind.goalposts[0]:g}–{ind.goalposts[1]:g}",
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
    """Path (relative to ``root`` when possible), size, modification time and SHA-256 of each file."""
    rows = []
    for p in files:
        p = Path(p)
        rel = str(p)
        if root is not None:
            try:
                rel = str(p.resolve().relative_to(Path(root).resolve()))
            except ValueError:
                pass
        if p.is_file():
            st = p.stat()
            rows.append({"文件": rel, "字节数": int(st.st_size),
                         "修改时间": _dt.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds"),
                         "SHA-256": sha256_file(p)})
        else:
            rows.append({"文件": rel, "字节数": None, "修改时间": "", "SHA-256": "文件不存在 (missing)"})
    return pd.DataFrame(rows, columns=["文件", "字节数", "修改时间", "SHA-256"])
