"""The catalogue of ``data/processed/``: the one place naming every artefact and its schema.

Every table qlwork writes into the processed store is declared here — its path
pattern, the command that produces it and its columns (name → kind) — and is
written and read through :func:`write_table` / :func:`read_table`, which check
the schema both ways.  A consumer never guesses a producer's column names:
it asks for an artefact by name.

Kinds: ``str`` (text, may be missing), ``float``, ``int`` (may be nullable), ``bool``,
``any``.  ``extra="float"`` allows further float columns (one per node or
indicator of a framework, which differ between frameworks).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import Problem, QlworkError
from .atomic import atomic_path
from .store import read_store

__all__ = ["Artefact", "CATALOGUE", "artefact", "path_of", "write_table", "read_table", "check_schema", "match_path"]


@dataclass(frozen=True)
class Artefact:
    name: str
    pattern: str  # relative to data/processed, with {period} / {framework} / {method} fields
    command: str
    columns: Mapping[str, str]
    required: tuple[str, ...] = ()  # columns that must exist (default: all declared)
    extra: str | None = None  # kind of undeclared columns allowed (None: none allowed)
    description: str = ""

    def path(self, root: str | Path, **fields) -> Path:
        return Path(root) / self.pattern.format(**fields)

    def regex(self) -> re.Pattern:
        rx = re.escape(self.pattern)
        for f in ("period", "framework", "method"):
            rx = rx.replace(re.escape("{" + f + "}"), rf"(?P<{f}>[^/]+)")
        return re.compile("^" + rx + "$")


_S, _F, _I, _B, _A = "str", "float", "int", "bool", "any"

_RANKING = {"framework": _S, "period": _S, "unit_id": _S, "unit_name": _S, "unit_type": _S, "peer_group": _S,
            "city": _S, "county": _S, "township": _S, "internal": _F, "public": _F, "bonus": _F, "total_raw": _F,
            "total": _F, "rank": _I, "n_peers": _I, "rank_in_region": _I, "grade": _S, "grade_rule": _S,
            "change": _F, "veto": _S, "bonus_detail": _S, "warnings": _S}

CATALOGUE: dict[str, Artefact] = {a.name: a for a in [
    Artefact("values", "values.parquet", "qlwork ingest",
             {"unit_id": _S, "period": _S, "indicator_id": _S, "value": _F, "source": _S, "file": _S, "sheet": _S,
              "row": _I, "column": _S}, required=("unit_id", "period", "indicator_id", "value"),
             description="部门报表中的有效数值（长表）"),
    Artefact("units", "units.parquet", "qlwork ingest",
             {"unit_id": _S, "unit_name": _S, "unit_type": _S, "city": _S, "county": _S, "township": _S,
              "framework": _S, "staff": _F, "population": _F}, required=("unit_id", "unit_type"),
             description="单位名录"),
    Artefact("problems", "problems.parquet", "qlwork ingest",
             {"code": _S, "message": _S, "message_en": _S, "file": _S, "sheet": _S, "row": _I, "column": _S,
              "found": _S, "expected": _S, "severity": _S}, description="校验发现的问题"),
    Artefact("veto", "veto.parquet", "qlwork ingest",
             {"unit_id": _S, "period": _S, "veto_id": _S, "name": _S, "description": _S, "reference": _S, "date": _S,
              "file": _S, "sheet": _S, "row": _I}, description="一票否决事项（登记表中的有效行）"),
    Artefact("bonus", "bonus.parquet", "qlwork ingest",
             {"unit_id": _S, "period": _S, "item": _S, "points": _F, "basis": _S, "file": _S, "sheet": _S, "row": _I},
             description="加分事项（登记表中的有效行）"),
    Artefact("weights", "weights_{method}.parquet", "qlwork weights",
             {"framework": _S, "id": _S, "name": _S, "parent": _S, "is_indicator": _B, "local_weight": _F,
              "global_weight": _F, "framework_weight": _F, "approach": _S, "method": _S},
             extra=_A, description="权重（AHP / 熵权 / CRITIC / 组合）"),
    Artefact("public", "public_{period}.parquet", "qlwork survey",
             {"unit_id": _S, "framework": _S, "indicator_id": _S, "period": _S, "n": _I, "n_eff": _F, "mean": _F,
              "se": _F, "ci_low": _F, "ci_high": _F, "eblup": _F, "reportable": _B},
             extra=_A, description="问卷调查的单位估计（overall 为群众评价得分）"),
    Artefact("sensitivity", "sensitivity_{period}.parquet", "qlwork sensitivity",
             {"framework": _S, "unit_id": _S, "nominal_rank": _I, "nominal_score": _F},
             extra=_A, description="名次区间与等级概率（敏感性分析）"),
    # the official result (qlwork score): one folder per period
    Artefact("result_ranking", "results/{period}/ranking.parquet", "qlwork score", _RANKING,
             description="正式结果：全部单位的综合得分、等级、名次与预警"),
    Artefact("result_warnings", "results/{period}/warnings.parquet", "qlwork score",
             {"framework": _S, "unit_id": _S, "period": _S, "code": _S, "reason_zh": _S, "detail": _S},
             description="正式结果：预警"),
    Artefact("result_scores", "results/{period}/{framework}/scores.parquet", "qlwork score",
             {"unit_id": _S, "internal": _F, "public": _F, "public_se": _F, "bonus": _F, "total_raw": _F, "total": _F},
             extra=_F, description="正式结果：各节点得分（列为节点编号）"),
    Artefact("result_unit_ranking", "results/{period}/{framework}/ranking.parquet", "qlwork score",
             {"unit_id": _S, "rank": _I, "n_peers": _I, "rank_in_region": _I, "grade": _S, "grade_rule": _S,
              "change": _F, "veto": _S, "bonus_detail": _S}, description="正式结果：名次、等级、变化"),
    Artefact("result_units", "results/{period}/{framework}/units.parquet", "qlwork score",
             {"unit_id": _S, "unit_name": _S, "unit_type": _S, "peer_group": _S}, extra=_A,
             description="正式结果：参评单位（含同类组）"),
    Artefact("result_fw_warnings", "results/{period}/{framework}/warnings.parquet", "qlwork score",
             {"unit_id": _S, "period": _S, "code": _S, "reason_zh": _S, "detail": _S}, description="预警"),
    Artefact("result_history", "results/{period}/{framework}/history.parquet", "qlwork score",
             {"period": _S, "unit_id": _S, "internal": _F, "public": _F, "bonus": _F, "total_raw": _F, "total": _F},
             extra=_F, description="各期得分（同一规格）"),
    Artefact("result_weights", "results/{period}/{framework}/effective_weights.parquet", "qlwork score",
             {"unit_id": _S}, extra=_F, description="为各单位计分的有效权重"),
    Artefact("result_stage", "results/{period}/{framework}/stage_{method}.parquet", "qlwork score",
             {"unit_id": _S}, extra=_F, description="构建阶段：原始值、插补后、处理后、标准化后"),
    Artefact("result_imputed", "results/{period}/{framework}/imputed.parquet", "qlwork score",
             {"unit_id": _S, "period": _S, "indicator_id": _S, "method": _S, "value": _F}, description="插补记录"),
    Artefact("result_outliers", "results/{period}/{framework}/outliers.parquet", "qlwork score",
             {"unit_id": _S, "period": _S, "indicator_id": _S, "original": _F, "treated": _F, "treatment": _S},
             description="异常值处理记录"),
    Artefact("result_divergence", "results/{period}/{framework}/divergence.parquet", "qlwork score",
             {"unit_id": _S, "internal": _F, "public": _F, "public_se": _F, "flag_low_public": _B}, extra=_A,
             description="专业分与群众评价背离检验"),
]}


def artefact(name: str) -> Artefact:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise QlworkError(Problem("unknown_artefact", f"目录中没有数据表 {name}", "no such artefact in the catalogue",
                                  found=name, expected="、".join(CATALOGUE))) from None


def path_of(name: str, root: str | Path, **fields) -> Path:
    return artefact(name).path(root, **fields)


def match_path(rel: str) -> tuple[Artefact, dict] | None:
    """The artefact a path relative to data/processed belongs to, with its fields (or None)."""
    rel = rel.replace("\\", "/")
    for a in CATALOGUE.values():
        m = a.regex().match(rel)
        if m:
            return a, m.groupdict()
    return None


def _kind_ok(series: pd.Series, kind: str) -> bool:
    dt = series.dtype
    if kind == _A:
        return True
    if series.isna().all():
        return True
    if kind == _F:
        return pd.api.types.is_float_dtype(dt) or pd.api.types.is_integer_dtype(dt)
    if kind == _I:
        return pd.api.types.is_integer_dtype(dt) or (pd.api.types.is_float_dtype(dt) and
                                                     bool((series.dropna() % 1 == 0).all()))
    if kind == _B:
        return pd.api.types.is_bool_dtype(dt)
    if kind == _S:
        return pd.api.types.is_string_dtype(dt) or pd.api.types.is_object_dtype(dt)
    return False


def check_schema(df: pd.DataFrame, a: Artefact, *, file: str | None = None) -> list[Problem]:
    """Problems of ``df`` against the artefact's declared columns (empty list = conforms)."""
    probs = []
    required = a.required or tuple(a.columns)
    for c in required:
        if c not in df.columns:
            probs.append(Problem("schema_missing_column", f"{a.name} 缺少列 {c}", f"{a.name} lacks column {c}",
                                 file=file, column=c, expected=a.columns[c]))
    for c in df.columns:
        kind = a.columns.get(c, a.extra)
        if kind is None:
            probs.append(Problem("schema_extra_column", f"{a.name} 有未声明的列 {c}", f"{a.name} has an undeclared column {c}",
                                 file=file, column=str(c), expected="、".join(a.columns)))
        elif not _kind_ok(df[c], kind):
            probs.append(Problem("schema_bad_type", f"{a.name} 的列 {c} 类型为 {df[c].dtype}，应为 {kind}",
                                 f"{a.name}.{c} has dtype {df[c].dtype}, expected {kind}", file=file, column=str(c),
                                 found=str(df[c].dtype), expected=kind))
    return probs


def write_table(name: str, df: pd.DataFrame, root: str | Path, **fields) -> Path:
    """Check ``df`` against the catalogue and write it atomically; returns the path."""
    a = artefact(name)
    p = a.path(root, **fields)
    probs = check_schema(df, a, file=str(p))
    if probs:
        raise QlworkError(probs)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        df.to_parquet(tmp, index=False)
    return p


def read_table(name: str, root: str | Path, *, columns=None, **fields) -> pd.DataFrame:
    """Read an artefact through :func:`qlwork.io.store.read_store` and check its schema."""
    a = artefact(name)
    p = a.path(root, **fields)
    df = read_store(p, columns=columns, command=a.command)
    probs = [x for x in check_schema(df, a, file=str(p))
             if columns is None or x.code != "schema_missing_column"]
    if probs:
        raise QlworkError([Problem(x.code, x.message + f"，请重新运行 {a.command}", x.message_en + f"; re-run `{a.command}`",
                                   file=x.file, column=x.column, found=x.found, expected=x.expected) for x in probs])
    return df
