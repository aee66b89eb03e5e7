"""The index specification (指数规格): every choice that makes an official result.

An :class:`IndexSpec` is frozen, serialisable (YAML/JSON) and fingerprinted.  It
names the framework (and its fingerprint), where the weights come from, the
normalisation, aggregation, imputation and outlier rule, the social-evaluation
share and which public score is used, the peer grouping, the grade bands and
pass mark, the veto and bonus rules, the warning rules, the published precision
and the defaults of the sensitivity analysis.  ``qlwork score --spec FILE``
reads one; the spec that produced a result is written next to it
(``data/processed/results/<period>/spec.yaml``) and into every export's
方法说明, so any published number can be reproduced from the spec and the
input checksums in the result's manifest.

Defaults come from the framework (grades, pass mark, share, bottom N, drop
points, bonus cap); everything else has the house default below.  A spec file
holds either one spec (``framework: QLI`` …) or several under
``specs: [...]`` (one per framework).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import Problem, QlworkError

__all__ = ["IndexSpec", "WarningRules", "SensitivityDefaults", "WeightSource", "Precision",
           "NORMALIZATIONS", "AGGREGATIONS", "IMPUTATIONS", "OUTLIERS", "PUBLIC_SOURCES",
           "load_specs", "dump_specs", "spec_for"]

NORMALIZATIONS = ("minmax", "zscore", "goalposts", "target", "rank")
AGGREGATIONS = ("arithmetic", "geometric")
IMPUTATIONS = ("none", "mean", "median", "reweight")
OUTLIERS = ("none", "winsorise", "log")
#: survey-direct / survey-eblup: ``qlwork survey`` output (direct Hájek estimate or
#: Fay–Herriot EBLUP); indicators: the framework's public indicators in the data;
#: none: no public component (total = internal); file:<path>: a table of scores.
PUBLIC_SOURCES = ("survey-direct", "survey-eblup", "indicators", "none")


def _err(code: str, zh: str, en: str, **kw) -> QlworkError:
    return QlworkError(Problem(code, zh, en, **kw))


def _finite(name: str, v: Any, *, lo: float | None = None, hi: float | None = None, where: str = "") -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise _err("bad_spec", f"规格项 {name} 必须是数字{where}", f"spec field {name} must be a number",
                   column=name, found=v, expected="数字 a number") from None
    if not math.isfinite(f) or (lo is not None and f < lo) or (hi is not None and f > hi):
        rng = f"[{'' if lo is None else lo:g}, {'' if hi is None else hi:g}]" if (lo is not None or hi is not None) else ""
        raise _err("bad_spec", f"规格项 {name} 的值 {v!r} 无效{where}", f"spec field {name} is out of range",
                   column=name, found=v, expected=f"有限数 a finite number {rng}".strip())
    return f


def _choice(name: str, v: Any, choices) -> str:
    if v not in choices:
        raise _err("bad_spec", f"规格项 {name} 的取值 {v!r} 无效", f"unknown value for spec field {name}",
                   column=name, found=v, expected=" | ".join(choices))
    return v


@dataclass(frozen=True)
class Precision:
    """Published precision: scores are published rounded half-up to ``decimals``.

    Grades, ranks and warnings follow the published score; equal published
    scores share a rank.  Rounding is done on the 1e-6 grid first, so float
    noise (89.99499999999999 for an exact 89.995) never decides a grade.
    """

    decimals: int = 2
    rounding: str = "half-up"

    def __post_init__(self):
        d = self.decimals
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6:
            raise _err("bad_spec", f"公布精度 decimals={d!r} 无效", "precision.decimals must be an integer 0–6",
                       column="precision.decimals", found=d, expected="0–6 的整数")
        _choice("precision.rounding", self.rounding, ("half-up",))


@dataclass(frozen=True)
class WarningRules:
    """Which warnings are raised and with what thresholds (预警规则).

    * ``below_pass`` — published total below the pass mark (总分低于合格线);
    * ``bottom_n`` — among the last N of the peer group (N = 0 switches it off),
      only in peer groups with at least ``bottom_min_group`` ranked units (default
      N + 1: a unit alone in its type is never "bottom 3");
    * ``large_drop`` — change against the previous period below −``drop_points``;
    * ``missing_data`` / ``missing_public`` — data gaps;
    * ``veto`` — always raised for a vetoed unit (一票否决);
    * ``divergence`` — public score significantly *below* the internal score
      (one-sided z-gap with Benjamini–Hochberg across the peer group,
      :func:`qlwork.analysis.compare.divergence_flags`), when the public score
      has a standard error.

    The house default is the seeds' rule: below the pass mark or in the bottom three.
    """

    below_pass: bool = True
    bottom_n: int = 3
    bottom_min_group: int | None = None
    large_drop: bool = True
    drop_points: float = 10.0
    missing_data: bool = True
    missing_public: bool = True
    divergence: bool = True
    divergence_alpha: float = 0.05

    def __post_init__(self):
        for k in ("below_pass", "large_drop", "missing_data", "missing_public", "divergence"):
            if not isinstance(getattr(self, k), bool):
                raise _err("bad_spec", f"预警规则 {k} 必须是 true/false", f"warnings.{k} must be a boolean",
                           column=f"warnings.{k}", found=getattr(self, k), expected="true / false")
        n = self.bottom_n
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _err("bad_spec", f"预警规则 bottom_n={n!r} 必须是非负整数", "warnings.bottom_n must be an integer ≥ 0",
                       column="warnings.bottom_n", found=n, expected="0, 1, 2, …")
        if self.bottom_min_group is not None:
            m = self.bottom_min_group
            if isinstance(m, bool) or not isinstance(m, int) or m < 1:
                raise _err("bad_spec", f"预警规则 bottom_min_group={m!r} 必须是正整数",
                           "warnings.bottom_min_group must be an integer ≥ 1", column="warnings.bottom_min_group",
                           found=m, expected="1, 2, …")
        _finite("warnings.drop_points", self.drop_points, lo=0)
        _finite("warnings.divergence_alpha", self.divergence_alpha, lo=0, hi=1)

    @property
    def min_group(self) -> int:
        """Smallest peer group (ranked units) in which bottom-N is applied."""
        return self.bottom_min_group if self.bottom_min_group is not None else self.bottom_n + 1


@dataclass(frozen=True)
class SensitivityDefaults:
    """Defaults of the weight-uncertainty analysis, the same on every surface.

    Dirichlet weights centred on the official ones, ``w ~ Dir(κ·w0)`` per sibling
    group (``Var w_i = w0_i(1 − w0_i)/(κ + 1)``), ``draws`` draws from ``seed``.
    """

    model: str = "dirichlet"
    concentration: float = 100.0
    draws: int = 2000
    seed: int = 20251231

    def __post_init__(self):
        _choice("sensitivity.model", self.model, ("dirichlet", "uniform"))
        _finite("sensitivity.concentration", self.concentration, lo=1e-9)
        for k in ("draws", "seed"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if k == "draws" else 0):
                raise _err("bad_spec", f"敏感性分析 {k}={v!r} 无效", f"sensitivity.{k} must be a non-negative integer",
                           column=f"sensitivity.{k}", found=v, expected="整数 an integer")


@dataclass(frozen=True)
class WeightSource:
    """Where the weights come from: the framework, a ``qlwork weights`` file, or explicit.

    ``values`` always holds the resolved local weights (id → weight within its
    sibling group) once the spec is resolved, so the spec alone reproduces the
    score; ``path`` (relative to the project root) and ``method`` say where they
    came from.
    """

    source: str = "framework"  # framework | file | explicit
    path: str | None = None
    method: str | None = None  # ahp / entropy / critic / combined … (for a file)
    values: Mapping[str, float] | None = None

    def __post_init__(self):
        _choice("weights.source", self.source, ("framework", "file", "explicit"))
        if self.source != "framework" and not self.values and not self.path:
            raise _err("bad_spec", "权重来源为文件或显式指定时须给出权重", "weights from a file or explicit need values",
                       column="weights", expected="values 或 path")
        if self.values is not None:
            for k, v in self.values.items():
                _finite(f"weights.values.{k}", v, lo=0)


@dataclass(frozen=True)
class IndexSpec:
    """Every choice that makes an official result (see the module docstring)."""

    framework: str
    framework_fingerprint: str | None = None
    weights: WeightSource = field(default_factory=WeightSource)
    normalization: str = "minmax"
    aggregation: str = "arithmetic"
    imputation: str = "none"
    outliers: str = "none"
    geometric_eps: float = 1.0
    constant_group_score: float = 100.0
    social_share: float = 0.0
    public_source: str = "survey-direct"
    peer_group: str = "unit_type"
    region: str = "county"
    grades: tuple[tuple[str, float], ...] = (("优秀", 90.0), ("良好", 80.0), ("合格", 60.0), ("不合格", 0.0))
    pass_mark: float = 60.0
    veto_grade: str | None = None  # grade a veto caps at (default: the lowest grade)
    bonus_cap: float = 0.0
    warnings: WarningRules = field(default_factory=WarningRules)
    precision: Precision = field(default_factory=Precision)
    sensitivity: SensitivityDefaults = field(default_factory=SensitivityDefaults)

    def __post_init__(self):
        if not isinstance(self.framework, str) or not self.framework:
            raise _err("bad_spec", "规格必须指明框架编号 framework", "spec needs a framework id",
                       column="framework", found=self.framework, expected="框架编号，如 QLI")
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("aggregation", self.aggregation, AGGREGATIONS)
        _choice("imputation", self.imputation, IMPUTATIONS)
        _choice("outliers", self.outliers, OUTLIERS)
        if not (self.public_source in PUBLIC_SOURCES or str(self.public_source).startswith("file:")):
            _choice("public_source", self.public_source, PUBLIC_SOURCES + ("file:<路径>",))
        _finite("geometric_eps", self.geometric_eps, lo=1e-12)
        _finite("constant_group_score", self.constant_group_score, lo=0, hi=100)
        _finite("social_share", self.social_share, lo=0, hi=1)
        _finite("pass_mark", self.pass_mark)
        _finite("bonus_cap", self.bonus_cap, lo=0)
        if not isinstance(self.peer_group, str) or not self.peer_group:
            raise _err("bad_spec", "peer_group 必须是单位名录的列名或 all", "peer_group must be a registry column or 'all'",
                       column="peer_group", found=self.peer_group, expected="unit_type / county / all …")
        g = self.grades
        if len(g) < 2:
            raise _err("bad_spec", "等级至少需要两档", "at least two grade bands are needed", column="grades",
                       found=g, expected="如 优秀 90、良好 80、合格 60、不合格 0")
        labels = [lab for lab, _ in g]
        if len(set(labels)) != len(labels):
            raise _err("bad_spec", f"等级名称重复：{labels}", "duplicate grade labels", column="grades", found=labels)
        for lab, lo in g[:-1]:
            _finite(f"grades.{lab}", lo)
        bounds = [lo for _, lo in g[:-1]]
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
            raise _err("bad_spec", f"等级分数线须从高到低严格递减：{g}", "grade cut-offs must strictly decrease",
                       column="grades", found=g, expected="如 90 > 80 > 60")
        if self.veto_grade is not None and self.veto_grade not in labels:
            raise _err("bad_spec", f"一票否决封顶等级 {self.veto_grade!r} 不是已定义的等级", "veto_grade is not a grade",
                       column="veto_grade", found=self.veto_grade, expected="、".join(labels))

    # ------------------------------------------------------------ views
    @property
    def grade_labels(self) -> tuple[str, ...]:
        return tuple(lab for lab, _ in self.grades)

    @property
    def veto_cap(self) -> str:
        return self.veto_grade or self.grades[-1][0]

    @property
    def outlier_rule(self) -> str | None:
        return None if self.outliers == "none" else self.outliers

    def bands(self) -> tuple[tuple[str, float], ...]:
        """Grade bands for :func:`qlwork.engine.grading.parse_bands` (last band open below)."""
        return tuple(self.grades[:-1]) + ((self.grades[-1][0], -math.inf),)

    # ------------------------------------------------------------ building
    @classmethod
    def from_framework(cls, fw, **overrides) -> "IndexSpec":
        """The framework's defaults (grades, pass mark, share, bottom N, drop, bonus cap) + ``overrides``."""
        grades = tuple((str(lab), (0.0 if not math.isfinite(float(lo)) else float(lo))) for lab, lo in fw.grades)
        cap = float((fw.bonus or {}).get("cap", 0.0) or 0.0) if isinstance(fw.bonus, Mapping) else 0.0
        warn = WarningRules(bottom_n=int(fw.bottom_n), drop_points=float(fw.drop_points))
        base = dict(framework=fw.id, framework_fingerprint=fw.fingerprint(), social_share=float(fw.social_share),
                    grades=grades, pass_mark=float(fw.pass_mark), bonus_cap=cap, warnings=warn)
        return cls.from_dict({**_asdict(cls(**base)), **_flatten_overrides(overrides)})

    def replace(self, **changes) -> "IndexSpec":
        """A copy with fields replaced (nested fields as ``warnings={"bottom_n": 5}`` or objects)."""
        return type(self).from_dict({**_asdict(self), **_flatten_overrides(changes)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "") -> "IndexSpec":
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise _err("bad_spec", f"规格中有未知字段 {unknown}{where}", "unknown fields in the spec",
                       column=",".join(unknown), found=unknown, expected="、".join(sorted(known)))
        kw = dict(d)
        for name, sub in (("warnings", WarningRules), ("precision", Precision), ("sensitivity", SensitivityDefaults),
                          ("weights", WeightSource)):
            v = kw.get(name)
            if isinstance(v, Mapping):
                sk = {f.name for f in dataclasses.fields(sub)}
                bad = sorted(set(v) - sk)
                if bad:
                    raise _err("bad_spec", f"规格 {name} 中有未知字段 {bad}{where}", f"unknown fields in spec.{name}",
                               column=name, found=bad, expected="、".join(sorted(sk)))
                v = dict(v)
                if name == "weights" and v.get("values") is not None:
                    v["values"] = {str(k): float(x) for k, x in dict(v["values"]).items()}
                kw[name] = sub(**v)
        if "grades" in kw:
            kw["grades"] = _grades(kw["grades"])
        return cls(**kw)

    def to_dict(self) -> dict:
        return _asdict(self)

    def fingerprint(self) -> str:
        """SHA-256 (12 hex digits) of the canonical JSON of the spec."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def describe_zh(self) -> list[tuple[str, str]]:
        """(项目, 取值) rows of the 方法说明 in plain Chinese."""
        from .labels import method_label

        g = "、".join(f"{lab} ≥ {lo:g}" for lab, lo in self.grades[:-1]) + f"、其余为{self.grades[-1][0]}"
        w = self.warnings
        rules = []
        if w.below_pass:
            rules.append(f"总分低于合格线 {self.pass_mark:g} 分")
        if w.bottom_n:
            rules.append(f"位列同类单位后 {w.bottom_n} 名（同类单位不少于 {w.min_group} 个时）")
        if w.large_drop:
            rules.append(f"较上期下降超过 {w.drop_points:g} 分")
        if w.divergence:
            rules.append(f"群众评价显著低于专业分（单侧 z 检验，BH 校正 α = {w.divergence_alpha:g}）")
        ws = self.weights
        wsrc = {"framework": "指标体系文件中的权重", "file": f"权重文件 {ws.path or ''}（{ws.method or ''}）",
                "explicit": "显式指定的权重"}[ws.source]
        return [
            ("指标体系", f"{self.framework}（指纹 {self.framework_fingerprint or '—'}）"),
            ("权重来源", wsrc),
            ("标准化方法", method_label("normalization", self.normalization)),
            ("合成方法", method_label("aggregation", self.aggregation)),
            ("缺失值处理", method_label("imputation", self.imputation)),
            ("异常值处理", method_label("outliers", self.outliers)),
            ("群众评价", f"{method_label('public_source', self.public_source)}，占总分 {self.social_share:.0%}"),
            ("同类比较组", method_label("peer_group", self.peer_group)),
            ("等级划分", g),
            ("一票否决", f"发生否决事项的单位等级最高为{self.veto_cap}"),
            ("加分", f"合成后另加，最多 {self.bonus_cap:g} 分" if self.bonus_cap > 0 else "不设加分"),
            ("公布精度", f"总分四舍五入保留 {self.precision.decimals} 位小数；等级、排名、预警均按公布分数"),
            ("预警规则", "；".join(rules) or "无"),
            ("敏感性分析", f"狄利克雷权重扰动（κ = {self.sensitivity.concentration:g}），"
                         f"{self.sensitivity.draws} 次抽样，随机种子 {self.sensitivity.seed}"),
            ("规格指纹", self.fingerprint()),
        ]


def _grades(g) -> tuple[tuple[str, float], ...]:
    if isinstance(g, Mapping):
        items = list(g.items())
    else:
        items = [tuple(x) for x in g]
    out = []
    for it in items:
        if len(it) != 2:
            raise _err("bad_spec", f"等级项 {it!r} 应为（名称, 分数线）", "grade band must be (label, lower bound)",
                       column="grades", found=it)
        lab, lo = it
        lo = 0.0 if lo is None else lo
        out.append((str(lab), _finite(f"grades.{lab}", lo) if not (isinstance(lo, float) and lo == -math.inf) else 0.0))
    out.sort(key=lambda t: -t[1])
    return tuple(out)


def _asdict(spec) -> dict:
    d = dataclasses.asdict(spec)
    d["grades"] = [[lab, lo] for lab, lo in spec.grades]
    if d["weights"].get("values") is not None:
        d["weights"]["values"] = {k: float(v) for k, v in sorted(d["weights"]["values"].items())}
    return d


def _flatten_overrides(ov: Mapping[str, Any]) -> dict:
    """Overrides as plain dicts (nested dataclasses → dicts; partial nested dicts are merged later)."""
    out = {}
    for k, v in ov.items():
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = dataclasses.asdict(v)
        out[k] = v
    return out


def _merge_nested(base: dict, over: Mapping[str, Any]) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "grades":
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def spec_for(fw, overrides: Mapping[str, Any] | None = None) -> IndexSpec:
    """The framework's default spec with (possibly partial, nested) overrides merged in."""
    base = IndexSpec.from_framework(fw).to_dict()
    spec = IndexSpec.from_dict(_merge_nested(base, overrides or {}))
    if spec.framework != fw.id:
        raise _err("bad_spec", f"规格的框架 {spec.framework} 与 {fw.id} 不符", "spec is for another framework",
                   column="framework", found=spec.framework, expected=fw.id)
    fp = fw.fingerprint()
    if spec.framework_fingerprint not in (None, fp):
        raise _err("spec_framework_changed",
                   f"规格记录的框架指纹 {spec.framework_fingerprint} 与当前框架文件 {fp} 不一致：框架已被修改",
                   "the framework changed since the spec was written", column="framework_fingerprint",
                   found=spec.framework_fingerprint, expected=fp)
    return spec.replace(framework_fingerprint=fp)


def load_specs(path: str | Path) -> dict[str, dict]:
    """Spec overrides per framework id from a YAML/JSON file (one spec or ``specs: [...]``).

    Returns ``{framework_id: overrides}``; resolve each with :func:`spec_for`.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _err("bad_spec_file", f"无法读取规格文件：{e}", "cannot read the spec file", file=str(p),
                   expected="UTF-8 编码的 YAML/JSON 文件") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise _err("bad_spec_file", f"规格文件不是有效的 YAML：{getattr(e, 'problem', e)}", "the spec file is not valid YAML",
                   file=str(p), row=(mark.line + 1) if mark else None, expected="YAML/JSON") from None
    items = doc.get("specs") if isinstance(doc, Mapping) and "specs" in doc else [doc]
    if not isinstance(items, list) or not all(isinstance(x, Mapping) for x in items):
        raise _err("bad_spec_file", "规格文件应为一个规格（映射）或 specs: 列表", "a spec file holds a mapping or specs: [...]",
                   file=str(p), found=type(doc).__name__, expected="mapping")
    out: dict[str, dict] = {}
    for x in items:
        fid = x.get("framework")
        if not fid:
            raise _err("bad_spec_file", "规格缺少 framework 字段", "a spec lacks its framework id", file=str(p),
                       column="framework", expected="框架编号，如 QLI")
        if str(fid) in out:
            raise _err("bad_spec_file", f"框架 {fid} 的规格重复", "two specs for one framework", file=str(p),
                       column="framework", found=fid)
        IndexSpec.from_dict(x, where=f"（{p.name}）") if {"framework"} < set(x) and len(x) > 12 else None
        out[str(fid)] = dict(x)
    return out


def dump_specs(specs: Mapping[str, IndexSpec]) -> str:
    """YAML text of several specs (``specs: [...]``), the form :func:`load_specs` reads."""
    import yaml

    return yaml.safe_dump({"specs": [s.to_dict() for s in specs.values()]}, allow_unicode=True, sort_keys=False)
