"""The embedded synthetic demo province (``qlwork demo``).

:func:`generate_demo` writes a complete raw-data folder shaped like real
submissions (layout in ``docs/data.md``): the unit registry, both frameworks,
messy department workbooks for four half-years (with deliberate errors in one
file; 信访 reports monthly and 宣传 quarterly, with anomalies planted in the monthly
series — :mod:`.monthly`), AHP expert questionnaires, respondent-level surveys with population
margins, and the hidden truth under ``_truth/`` for recovery tests.

Same ``seed`` and ``scale`` → byte-identical files.  Every random draw comes from
one ``numpy.random.Generator`` seeded with ``seed``; each part draws from its own
child generator (``SeedSequence.spawn``) so changing one part does not shift the
others.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.safe import (MARKER, atomic_path, atomic_write_text, output_errors, read_marker, remove_own,
                       write_marker)
from ..errors import Problem, QlworkError
from ..io.excel import rows_xml, save_deterministic
from ..framework import load_framework
from ..paths import PACKAGE_DATA, raw_dir
from .ahp import write_ahp_workbooks
from .departments import ERROR_FILE, write_department_workbooks
from .latent import PERIODS, indicator_values, latent_scores
from .monthly import ANOMALY_COLUMNS, SCHEDULE, fine_values, monthly_latent, plant_anomalies, to_grain
from .regions import SCALES, build_registry
from .registers import write_register_truth, write_rule_registers
from .survey import write_surveys

__all__ = ["generate_demo", "DemoSummary", "DEFAULT_SEED", "PERIODS", "UNIT_COLUMNS"]

DEFAULT_SEED = 20251231

#: registry sheet columns (Chinese header → internal name)
UNIT_COLUMNS = {
    "单位编码": "unit_id", "单位名称": "unit_name", "单位类型": "unit_type", "市州": "city",
    "县市区": "county", "乡镇(街道)": "township", "框架": "framework", "在编人数": "staff",
    "服务人口": "population",
}


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    out_dir: Path
    scale: str
    seed: int
    n_units: int
    units_by_type: dict = field(default_factory=dict)
    periods: tuple = PERIODS
    respondents: dict = field(default_factory=dict)
    n_files: int = 0
    deliberate_errors: int = 0
    seconds: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        rows = [("输出目录 out_dir", str(self.out_dir)), ("规模 scale", self.scale), ("随机种子 seed", self.seed),
                ("单位数 units", self.n_units)]
        rows += [(f"单位类型 {k}", v) for k, v in self.units_by_type.items()]
        rows += [(f"受访者 respondents {k}", v) for k, v in self.respondents.items()]
        rows += [("文件数 files", self.n_files), ("故意错误 deliberate errors", self.deliberate_errors),
                 ("用时(秒) seconds", round(self.seconds, 1))]
        return pd.DataFrame(rows, columns=["项目 item", "值 value"])

    def summary_zh(self) -> str:
        types = "、".join(f"{k} {v}" for k, v in self.units_by_type.items())
        resp = sum(self.respondents.values())
        return (f"已生成示例数据（{self.scale} 规模，种子 {self.seed}）：{self.n_units} 个单位（{types}），"
                f"{len(self.periods)} 期，受访者 {resp} 人，文件 {self.n_files} 个，故意错误 {self.deliberate_errors} 处，"
                f"用时 {self.seconds:.1f} 秒 → {self.out_dir}")

    def __repr__(self) -> str:
        return (f"DemoSummary(scale={self.scale!r}, seed={self.seed}, units={self.n_units}, "
                f"respondents={sum(self.respondents.values())}, files={self.n_files}, out_dir='{self.out_dir}')")


def generate_demo(out_dir: str | Path | None = None, scale: str = "county", seed: int = DEFAULT_SEED,
                  *, force: bool = False, progress: bool = False) -> DemoSummary:
    """Write the synthetic demo province into ``out_dir`` (default ``data/raw``).

    Parameters
    ----------
    out_dir : folder to write; must be empty or missing unless ``force`` (then the
        files qlwork writes are replaced and stale department/survey files removed).
    scale : ``"county"`` (≈1,500 units, seconds) or ``"province"`` (≈30,000 units,
        ≈1,000,000 survey responses in the last period).
    seed : random seed; the same seed and scale give byte-identical files.
    """
    t0 = time.perf_counter()
    if scale not in SCALES:
        raise QlworkError(Problem("bad_scale", f"未知的规模 {scale!r}", "unknown scale", found=scale,
                                  expected=" 或 ".join(SCALES)))
    out = Path(out_dir) if out_dir is not None else raw_dir()
    if out.exists() and not out.is_dir():
        raise QlworkError(Problem("not_a_folder", "输出路径不是文件夹", "output path is not a folder", file=str(out)))
    # The folder's own README (data/raw/README.md) and dotfiles do not make it "non-empty".
    if out.is_dir() and any(p.name != "README.md" and not p.name.startswith(".") for p in out.iterdir()):
        if not force:
            raise QlworkError(Problem(
                "folder_not_empty", "输出文件夹非空；如需覆盖请加 --force",
                "output folder is not empty; use --force to overwrite", file=str(out),
                expected="空文件夹 an empty folder"))
        mark = read_marker(out)
        if mark is None or mark.get("kind") != "demo" or not isinstance(mark.get("files"), list):
            # --force replaces a demo qlwork wrote, never a person's data
            raise QlworkError(Problem(
                "foreign_folder", "该文件夹不是 qlwork demo 生成的（没有 .qlwork-output 标记），--force 也不会覆盖或删除其中的文件；"
                "请指定新的或空的文件夹", "the folder was not written by qlwork demo (no .qlwork-output marker); even "
                "--force does not overwrite or delete its files — give a new or empty folder", file=str(out),
                found=sorted(p.name for p in out.iterdir())[:5], expected="空文件夹或 qlwork demo 文件夹 an empty or demo folder"))
        remove_own(out, mark["files"])  # only the files the earlier demo wrote; anything added stays
    with output_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    before = {p for p in out.rglob("*") if p.is_file()}

    ss = np.random.SeedSequence(int(seed))
    r_reg, r_lat, r_val, r_dep, r_ahp, r_srv = (np.random.default_rng(s) for s in ss.spawn(6))
    # the monthly part draws from child 7 (child 6 is the rule registers', spawned below): adding it
    # moved no other file
    r_mon = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key + (7,)))
    spec = SCALES[scale]
    units = build_registry(r_reg, spec)
    fws = {"county": load_framework(PACKAGE_DATA / "framework_county.yaml"),
           "village": load_framework(PACKAGE_DATA / "framework_village.yaml")}
    lat = latent_scores(r_lat, units, len(PERIODS))
    values = {}
    for key, fw in fws.items():
        m = (units["framework"] == key).to_numpy()
        values[key] = indicator_values(r_val, fw, units[m].reset_index(drop=True), lat["internal"][m])

    fine, anomalies = _fine(r_mon, fws, units, lat)

    _write_registry(out, units)
    for key in fws:
        shutil.copyfile(PACKAGE_DATA / f"framework_{key}.yaml", out / f"framework_{key}.yaml")
    region = units["city"].iloc[0] if spec.cities == 1 else "省"
    errors = write_department_workbooks(out, r_dep, units, fws, values, PERIODS, region, fine=fine, fine_rng=r_mon)
    ahp_log = write_ahp_workbooks(out, r_ahp, fws)
    sizes = write_surveys(out, r_srv, units, lat["public"], PERIODS, spec.survey_median, spec.survey_median_other)
    _write_truth(out, units, lat, errors, ahp_log, seed, scale, anomalies)
    reg_errors = write_rule_registers(out, np.random.default_rng(ss.spawn(1)[0]), units, lat["internal"], PERIODS)
    write_register_truth(out, reg_errors)

    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and p not in before and p.name != MARKER)
    write_marker(out, "demo", written)
    n_files = len(written)
    return DemoSummary(
        out_dir=out, scale=scale, seed=int(seed), n_units=len(units),
        units_by_type={k: int(v) for k, v in units["unit_type"].value_counts().reindex(
            ["机关", "村居", "学校", "医院", "企业"]).items()},
        periods=PERIODS, respondents=sizes, n_files=n_files, deliberate_errors=len(errors) + len(reg_errors),
        seconds=time.perf_counter() - t0,
    )


def _fine(rng: np.random.Generator, fws: dict, units: pd.DataFrame, lat: dict) -> tuple[dict, pd.DataFrame]:
    """Monthly series of the monthly/quarterly departments (:mod:`.monthly`), anomalies planted;
    → ({department: (period ids, {framework key: {id: array}})}, anomaly truth table)."""
    lat_m = monthly_latent(lat["internal"], lat["big_drop"])
    monthly, truth = {}, []
    for key, fw in fws.items():
        m = (units["framework"] == key).to_numpy()
        uu = units[m].reset_index(drop=True)
        vals, t1 = fine_values(rng, fw, uu, lat_m[m])
        t2 = plant_anomalies(rng, fw, uu, vals, lat["big_drop"][m])
        monthly[key] = vals
        truth += t1 + t2
    fine = {}
    for dept, grain in SCHEDULE.items():
        arrays, ids = {}, None
        for key, fw in fws.items():
            sub = {i: v for i, v in monthly[key].items() if fw.reported[i].source == dept}
            if sub:
                ids, arrays[key] = to_grain(sub, fw, grain)
        if ids is not None:
            fine[dept] = (ids, arrays)
    return fine, pd.DataFrame(truth, columns=ANOMALY_COLUMNS)


def _write_registry(out: Path, units: pd.DataFrame) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("单位名录")
    ws.append(list(UNIT_COLUMNS))
    cols = list(UNIT_COLUMNS.values())
    body = [[v.item() if hasattr(v, "item") else v for v in row] for row in units[cols].itertuples(index=False)]
    save_deterministic(wb, out / "units.xlsx", append_rows={"单位名录": rows_xml(body, 2)})


def _write_truth(out: Path, units: pd.DataFrame, lat: dict, errors: list, ahp_log: list, seed: int, scale: str,
                 anomalies: pd.DataFrame) -> None:
    tdir = out / "_truth"
    n, T = lat["internal"].shape
    df = pd.DataFrame({
        "unit_id": np.repeat(units["unit_id"].to_numpy(), T),
        "period": np.tile(np.array(PERIODS), n),
        "latent_internal": np.round(lat["internal"].ravel(), 2),
        "latent_public": np.round(lat["public"].ravel(), 2),
        "low_public": np.repeat(lat["low_public"], T),
        "big_drop": np.repeat(lat["big_drop"], T) & (np.tile(np.arange(T), n) == T - 1),
    })
    with atomic_path(tdir / "latent.csv") as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    cols = ["file", "sheet", "row", "column", "code", "unit_id", "indicator_id", "found", "description"]
    e = pd.DataFrame(errors, columns=cols)
    e["row"] = e["row"].astype("Int64")
    with atomic_path(tdir / "deliberate_errors.csv") as tmp:
        e.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    with atomic_path(tdir / "ahp_experts.csv") as tmp:
        pd.DataFrame(ahp_log).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    with atomic_path(tdir / "anomalies.csv") as tmp:
        anomalies.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    atomic_write_text(tdir / "README.md", f"""# 隐藏真值 hidden truth (scale={scale}, seed={seed})

For recovery tests ONLY — the qlwork pipeline never reads this folder.

- `latent.csv`: unit_id, period, latent_internal (0–100), latent_public (0–100),
  low_public (units whose public satisfaction is 30–40 points below their internal
  score, all periods), big_drop (True in the last period for units whose latent
  internal score fell by 18–28 points).
- `deliberate_errors.csv`: every error planted in `departments/{ERROR_FILE[0]}/{ERROR_FILE[1]}.xlsx`
  with file, sheet, Excel row, column letter, problem code (as reported by
  `qlwork validate`), unit, indicator and the value found.  A `period_gap` has no row.
- `ahp_experts.csv`: consistency ratio of every expert matrix; E04 is deliberately
  inconsistent at QLI_G2, E05 left one pair of QLV_V1 blank.
- `anomalies.csv`: what was planted in the monthly 信访 series (qlwork.demo.monthly):
  unit_id, indicator_id, kind (spike, level_shift, drift, joint, latent_drop,
  common_shock — the last is normal behaviour of a whole peer group, not an anomaly),
  start and end month, magnitude in robust SDs, direction (+1 up, −1 down), detail.
  Scored by `qlwork.monitor.evaluate` (docs/monitoring.md).
""")
