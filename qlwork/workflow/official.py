"""The official result (正式结果): computed once per period by ``qlwork score``, read by every face.

``data/processed/results/<period>/``::

    manifest.json        spec of each framework, fingerprints, input checksums, version, time
    spec.yaml            the specs (``qlwork score --spec spec.yaml`` reproduces the result)
    ranking.parquet      every unit: scores, grade, ranks, change, veto, bonus, warnings (all frameworks)
    warnings.parquet     every warning
    <framework id>/      the rest of each framework's IndexResult: node scores, ranking, registry rows,
                         build stages, effective weights, history, imputation and outlier logs,
                         divergence test, framework.json (the framework as scored)

Written whole or not at all (a staging folder swapped in).  :func:`load_result`
rebuilds the :class:`~qlwork.engine.result.IndexResult` of each framework from these
files — reports, notices, the dashboard, notebooks and the sensitivity command read
it and never re-score.  A *scope* is a filter (:meth:`OfficialResult.scope`).
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import Problem, QlworkError
from ..engine.result import IndexResult
from ..framework import load_framework
from ..io.atomic import atomic_write_text
from ..io.catalogue import path_of, read_table, write_table
from ..spec import IndexSpec, dump_specs

__all__ = ["OfficialResult", "save_result", "load_result", "result_dir", "RESULT_COLUMNS", "available_periods"]

#: Columns of the combined ranking (``results/<period>/ranking.parquet``), in display order.
RESULT_COLUMNS = ["framework", "period", "unit_id", "unit_name", "unit_type", "peer_group", "city", "county",
                  "township", "internal", "public", "bonus", "total_raw", "total", "rank", "n_peers",
                  "rank_in_region", "grade", "grade_rule", "change", "veto", "bonus_detail", "warnings"]


def result_dir(processed: str | Path, period: str) -> Path:
    return Path(processed) / "results" / str(period)


def available_periods(processed: str | Path) -> list[str]:
    d = Path(processed) / "results"
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "manifest.json").is_file())


@dataclass(frozen=True, repr=False)
class OfficialResult:
    """The official result of one period: one :class:`IndexResult` per framework plus its manifest."""

    period: str
    results: Mapping[str, IndexResult]  # framework id → result
    manifest: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def frameworks(self) -> list[str]:
        return list(self.results)

    def ranking(self) -> pd.DataFrame:
        """Every unit of every framework (columns :data:`RESULT_COLUMNS`)."""
        if "ranking" not in self._cache:
            parts = []
            for fid, r in self.results.items():
                f = r.to_frame().reset_index(drop=True)
                f.insert(0, "framework", fid)
                f.insert(1, "period", r.period)
                parts.append(f.reindex(columns=RESULT_COLUMNS))
            out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RESULT_COLUMNS)
            for c in ("rank", "n_peers", "rank_in_region"):
                out[c] = out[c].astype("Int64")
            for c in ("framework", "period", "unit_id", "unit_name", "unit_type", "peer_group", "city", "county",
                      "township", "grade", "grade_rule", "veto", "bonus_detail", "warnings"):
                out[c] = out[c].astype(object).where(out[c].notna(), None)
            self._cache["ranking"] = out
        return self._cache["ranking"]

    def warnings(self) -> pd.DataFrame:
        parts = [r.warnings.assign(framework=fid) for fid, r in self.results.items()]
        cols = ["framework", "unit_id", "period", "code", "reason_zh", "detail"]
        return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)

    def framework_of(self, unit_id: str) -> str:
        for fid, r in self.results.items():
            if str(unit_id) in r.scores.index:
                return fid
        raise QlworkError(Problem("unknown_unit", f"{self.period} 的正式结果中没有单位 {unit_id}",
                                  "unit not in the official result", found=unit_id))

    def unit(self, unit_id: str, n_indicators: int = 3):
        """The :class:`~qlwork.engine.result.UnitReport` of one unit (from the official result)."""
        return self.results[self.framework_of(unit_id)].unit(unit_id, n_indicators)

    def scope(self, scope: str | None) -> "Scope":
        """The units of a 市州, 县市区, 乡镇 or unit type (a filter; nothing is re-scored)."""
        return Scope.of(self, scope)

    def __repr__(self) -> str:
        parts = "; ".join(f"{fid}: {len(r.scores)} 个单位" for fid, r in self.results.items())
        return f"OfficialResult({self.period}: {parts}; 规格 {self.manifest.get('spec_fingerprints', {})})"


@dataclass(frozen=True)
class Scope:
    """A filter on the official result: the units of one region or unit type."""

    label: str
    column: str | None  # registry column matched (city / county / township / unit_type), None = all
    unit_ids: frozenset

    @classmethod
    def of(cls, official: OfficialResult, scope: str | None) -> "Scope":
        rk = official.ranking()
        if scope is None or str(scope).strip() in ("", "全部", "all", "ALL"):
            return cls("全部", None, frozenset(rk["unit_id"]))
        s = str(scope).strip()
        for col in ("city", "county", "township", "unit_type"):
            m = rk[col].astype(str) == s
            if m.any():
                return cls(s, col, frozenset(rk.loc[m, "unit_id"]))
        choices = []
        for col in ("city", "county", "unit_type"):
            choices += sorted(rk[col].dropna().astype(str).unique())[:20]
        raise QlworkError(Problem("unknown_scope", f"找不到范围“{s}”：不是已知的市州、县市区、乡镇或单位类型",
                                  "scope is not a known 市州, 县市区, 乡镇 or unit type", column="scope", found=s,
                                  expected="、".join(choices[:40])))

    def filter(self, df: pd.DataFrame) -> pd.DataFrame:
        return df[df["unit_id"].astype(str).isin(self.unit_ids)]

    def ranking(self, official: OfficialResult) -> pd.DataFrame:
        """The official ranking of the scope, with ``rank_in_scope`` (official published totals,
        peer group within the scope; competition ranking)."""
        from ..engine.grading import rank_within

        f = self.filter(official.ranking()).copy()
        dec = {fid: r.decimals for fid, r in official.results.items()}
        f["rank_in_scope"] = pd.array([pd.NA] * len(f), dtype="Int64")
        for fid, g in f.groupby("framework"):
            rk = rank_within(g["total"], g["peer_group"], decimals=dec.get(fid, 2))
            f.loc[g.index, "rank_in_scope"] = rk.to_numpy()
        return f


# ----------------------------------------------------------------- persistence
def _json(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        f = float(obj)
        return None if not np.isfinite(f) else f
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, (Path, _dt.date)):
        return str(obj)
    return str(obj)


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.index = out.index.astype(str)
    return out.rename_axis("unit_id").reset_index()


def save_result(official: OfficialResult, processed: str | Path, *, inputs: Mapping[str, str] | None = None,
                command: str = "") -> Path:
    """Write the official result of one period (whole or nothing); returns its folder."""
    from ..report.batch import staging_dir, swap_dirs

    target = result_dir(processed, official.period)
    stage = staging_dir(target, keep_existing=False)
    try:
        root = stage.parent.parent  # catalogue paths are relative to data/processed
        per = stage.name  # results/<staging folder>/… until the swap

        def put(name, df, **kw):
            a_path = path_of(name, root, period=per, **kw)
            write_table(name, df, root, period=per, **kw)
            return a_path

        put("result_ranking", official.ranking())
        put("result_warnings", official.warnings())
        specs = {}
        for fid, r in official.results.items():
            sc = _wide(r.scores)
            sc["public_se"] = (r.public_se.reindex(r.scores.index).to_numpy(dtype=float)
                               if r.public_se is not None else np.nan)
            put("result_scores", sc, framework=fid)
            rk = _wide(r.ranking)
            for c in ("grade", "grade_rule", "veto", "bonus_detail"):
                rk[c] = rk[c].astype(object).where(rk[c].notna(), None)
            put("result_unit_ranking", rk, framework=fid)
            units = _wide(r.units.reindex(r.scores.index))
            for c in units.columns:
                if units[c].dtype == object:
                    units[c] = units[c].where(units[c].notna(), None)
            put("result_units", units, framework=fid)
            put("result_fw_warnings", r.warnings.reset_index(drop=True), framework=fid)
            h = r.history.reset_index()
            h["period"] = h["period"].astype(str)
            h["unit_id"] = h["unit_id"].astype(str)
            put("result_history", h, framework=fid)
            put("result_weights", _wide(r.effective_weights), framework=fid)
            for name, t in r.stages.items():
                put("result_stage", _wide(t), framework=fid, method=name)
            put("result_imputed", r.imputed.reset_index(drop=True).astype({"unit_id": str, "period": str}), framework=fid)
            put("result_outliers", r.outliers.reset_index(drop=True).astype({"unit_id": str, "period": str}), framework=fid)
            if r.divergence is not None:
                dv = r.divergence.reset_index()
                dv["unit_id"] = dv["unit_id"].astype(str)
                for c in dv.columns:
                    if dv[c].dtype == object:
                        dv[c] = dv[c].astype(str).where(dv[c].notna(), None)
                put("result_divergence", dv, framework=fid)
            d = stage / fid
            atomic_write_text(d / "framework.json", json.dumps(r.framework.to_dict(), ensure_ascii=False, indent=1,
                                                               default=_json))
            atomic_write_text(d / "params.json", json.dumps(r.params, ensure_ascii=False, indent=1, default=_json))
            specs[fid] = r.spec
        atomic_write_text(stage / "spec.yaml", dump_specs(specs))
        manifest = {
            "period": official.period,
            "kind": "official",
            "specs": {fid: s.to_dict() for fid, s in specs.items()},
            "spec_fingerprints": {fid: s.fingerprint() for fid, s in specs.items()},
            "framework_fingerprints": {fid: r.framework.fingerprint() for fid, r in official.results.items()},
            "inputs": dict(inputs or {}),
            "software": {"qlwork": __version__},
            "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "counts": {fid: {"units": int(len(r.scores)), "warnings": int(len(r.warnings)),
                             "grades": {str(k): int(v) for k, v in r.ranking["grade"].value_counts().items()}}
                       for fid, r in official.results.items()},
        }
        atomic_write_text(stage / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1, default=_json))
        swap_dirs(stage, target)
    except BaseException:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
        raise
    return target


def load_result(processed: str | Path, period: str) -> OfficialResult:
    """The official result of ``period`` as written by ``qlwork score`` (located error when missing)."""
    d = result_dir(processed, period)
    man = d / "manifest.json"
    if not man.is_file():
        have = available_periods(processed)
        raise QlworkError(Problem("no_official_result", f"还没有 {period} 的正式结果，请先运行 qlwork score --period {period}",
                                  f"no official result for {period}; run `qlwork score --period {period}`",
                                  file=str(man), found="、".join(have) or "无 none",
                                  expected=f"results/{period}/manifest.json"))
    try:
        manifest = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QlworkError(Problem("store_unreadable", f"无法读取 {period} 正式结果的 manifest.json，请重新运行 qlwork score",
                                  "cannot read manifest.json; re-run `qlwork score`", file=str(man), found=str(e)[:100])) \
            from None
    results = {}
    for fid, sd in manifest.get("specs", {}).items():
        results[fid] = _load_framework_result(processed, period, fid, IndexSpec.from_dict(sd))
    return OfficialResult(period=period, results=results, manifest=manifest)


def _load_framework_result(processed, period, fid, spec) -> IndexResult:
    d = result_dir(processed, period) / fid
    fw = load_framework(json.loads((d / "framework.json").read_text(encoding="utf-8")))
    params = json.loads((d / "params.json").read_text(encoding="utf-8"))

    def wide(name, **kw):
        t = read_table(name, processed, period=period, framework=fid, **kw)
        return t.set_index("unit_id").rename_axis("unit_id")

    sc = wide("result_scores")
    pse = sc.pop("public_se")
    pse = pse if pse.notna().any() else None
    rk = wide("result_unit_ranking")
    for c in ("rank", "n_peers", "rank_in_region"):
        rk[c] = rk[c].astype("Int64")
    rk["veto"] = rk["veto"].fillna("")
    rk["bonus_detail"] = rk["bonus_detail"].fillna("")
    units = wide("result_units")
    warn = read_table("result_fw_warnings", processed, period=period, framework=fid)
    h = read_table("result_history", processed, period=period, framework=fid).set_index(["period", "unit_id"])
    eff = wide("result_weights")
    stages = {}
    for name in ("raw", "imputed", "treated", "normalised"):
        p = path_of("result_stage", processed, period=period, framework=fid, method=name)
        if p.is_file():
            stages[name] = wide("result_stage", method=name)
    imputed = read_table("result_imputed", processed, period=period, framework=fid)
    outl = read_table("result_outliers", processed, period=period, framework=fid)
    dv = None
    if path_of("result_divergence", processed, period=period, framework=fid).is_file():
        dv = read_table("result_divergence", processed, period=period, framework=fid).set_index("unit_id")
    ids = fw.indicator_ids
    norm = stages.get("normalised", pd.DataFrame(index=sc.index, columns=ids)).reindex(columns=ids)
    from ..engine.aggregate import effective_weights

    is_pub = np.array([fw.indicators[i].public for i in ids])
    absent = np.array([i in set(params.get("absent_indicators", [])) for i in ids])
    int_w = pd.Series(effective_weights(fw, None, ~is_pub & ~absent)[0], index=ids, name="internal_weight")
    nh = None
    return IndexResult(scores=sc, normalized=norm, leaf_weights=fw.leaf_weights().reindex(ids), framework=fw,
                       units=units, params=params, imputed=imputed, outliers=outl, warnings=warn, period=period,
                       history=h, ranking=rk, raw_z=None, normalized_history=nh, internal_weights=int_w, spec=spec,
                       stages=stages, effective_weights=eff, public_se=pse, divergence=dv)


def input_checksums(project, files: Iterable[str | Path]) -> dict[str, str]:
    """``{relative path: sha256}`` of the files an official result was computed from."""
    from .project import sha256_file

    out = {}
    for f in files:
        p = Path(f)
        if p.is_file():
            out[project.rel(p)] = sha256_file(p)
    return out

