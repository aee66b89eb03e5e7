"""Synthetic region tree (市州 > 县市区 > 乡镇(街道)) and unit registry.

Names are invented from common place-name characters (清江市, 临川县, 东城街道,
青石村); they are plausible, not real.  Everything is drawn from the ``rng``
passed in, so the same seed gives the same province.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ScaleSpec", "SCALES", "build_registry"]

_FIRST = list("清临青云安平长东西南北桃梅柳石龙凤金白沙丰兴宁永新和泰福华嘉德江湖山溪源阳岭林桥塘坪田")
_SECOND = list("江川阳山河湖溪源宁安平丰兴华城岭林桥塘坪田口湾洲水陵州泉峰冈")
_VILLAGE2 = list("家庄坪塘湾冲岭桥坝铺岗源溪村里口林田山屋垅")
_BUREAUS = [
    "财政局", "教育局", "卫生健康局", "自然资源局", "住房和城乡建设局", "交通运输局", "水利局",
    "农业农村局", "商务局", "文化旅游广电体育局", "民政局", "人力资源和社会保障局", "市场监督管理局",
    "审计局", "统计局", "医疗保障局", "应急管理局", "林业局", "司法局", "发展和改革局",
    "工业和信息化局", "退役军人事务局", "行政审批服务局", "信访局", "城市管理局",
]
_INDUSTRY = [
    "建设集团有限公司", "城市建设投资集团有限公司", "水务有限公司", "交通投资有限公司",
    "粮食购销有限公司", "旅游开发有限公司", "农业发展有限公司", "供销合作有限公司",
    "电力工程有限公司", "环保科技有限公司", "物流有限公司", "食品有限公司",
]


@dataclass(frozen=True)
class ScaleSpec:
    """Size of the synthetic province (ranges are inclusive, drawn uniformly)."""

    cities: int
    counties_per_city: tuple[int, int]
    townships_per_county: tuple[int, int]
    villages_per_township: tuple[int, int]
    bureaus_per_county: tuple[int, int]
    survey_median: float           # median respondents per unit in the latest period
    survey_median_other: float     # … in earlier periods


SCALES = {
    # ≈1,500 units: one 市州, three 县市区
    "county": ScaleSpec(1, (3, 3), (11, 13), (30, 40), (20, 25), 35.0, 35.0),
    # ≈30,000 units: 14 市州, ≈120 县市区, ≈1,800 乡镇
    "province": ScaleSpec(14, (8, 9), (14, 16), (10, 13), (20, 25), 26.0, 8.0),
}


def _names(rng: np.random.Generator, n: int, suffix: str, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        a, b = rng.choice(_FIRST), rng.choice(_SECOND)
        if a == b:
            continue
        name = f"{a}{b}{suffix}"
        if name in taken:
            continue
        taken.add(name)
        out.append(name)
    return out


def build_registry(rng: np.random.Generator, spec: ScaleSpec) -> pd.DataFrame:
    """The unit registry (one row per unit), ordered by region then type.

    Columns: unit_id, unit_name, unit_type, city, county, township, framework,
    staff, population, and helper codes city_i/county_i/township_i.
    """
    rows: list[tuple] = []
    city_taken: set[str] = set()
    county_taken: set[str] = set()
    cities = _names(rng, spec.cities, "市", city_taken)
    ti_global = 0
    ci_global = 0
    for ci, city in enumerate(cities):
        n_counties = int(rng.integers(spec.counties_per_city[0], spec.counties_per_city[1] + 1))
        county_suffix = rng.choice(["县", "县", "县", "区", "市"], size=n_counties)
        county_suffix[0] = "区"  # the city seat
        counties = [_names(rng, 1, s, county_taken)[0] for s in county_suffix]
        for county in counties:
            short = county[:-1]
            n_town = int(rng.integers(spec.townships_per_county[0], spec.townships_per_county[1] + 1))
            n_street = max(1, n_town // 5)
            town_taken: set[str] = set()
            towns = _names(rng, n_street, "街道", town_taken) + _names(
                rng, n_town - n_street, "", town_taken)
            towns = towns[:n_street] + [t + ("镇" if rng.random() < 0.75 else "乡") for t in towns[n_street:]]
            seat = towns[0]
            # county-level organs, hospitals, schools, enterprises sit in the seat township
            n_bur = int(rng.integers(spec.bureaus_per_county[0], spec.bureaus_per_county[1] + 1))
            for b in rng.choice(_BUREAUS, size=n_bur, replace=False):
                rows.append((f"{county}{b}", "机关", city, county, seat, ci_global, ti_global))
            for h in ("人民医院", "中医医院", "妇幼保健院"):
                rows.append((f"{county}{h}", "医院", city, county, seat, ci_global, ti_global))
            for s in ("第一中学", "第二中学", "实验小学", "职业中等专业学校"):
                rows.append((f"{county}{s}", "学校", city, county, seat, ci_global, ti_global))
            ent_taken: set[str] = set()
            for ind in rng.choice(_INDUSTRY, size=3, replace=False):
                rows.append((f"{short}{ind}", "企业", city, county, seat, ci_global, ti_global))
            for ti, town in enumerate(towns):
                tshort = town[:-2] if town.endswith("街道") else town[:-1]
                tid = ti_global + ti
                gov = f"{town}办事处" if town.endswith("街道") else f"{town}人民政府"
                rows.append((gov, "机关", city, county, town, ci_global, tid))
                rows.append((f"{tshort}中心小学", "学校", city, county, town, ci_global, tid))
                if rng.random() < 0.6:
                    rows.append((f"{tshort}中学", "学校", city, county, town, ci_global, tid))
                if not town.endswith("街道"):
                    rows.append((f"{town}卫生院", "医院", city, county, town, ci_global, tid))
                for _ in range(int(rng.integers(0, 3))):
                    nm = _names(rng, 1, "", ent_taken)[0]
                    rows.append((f"{short}{nm}{rng.choice(_INDUSTRY)}", "企业", city, county, town, ci_global, tid))
                n_vil = int(rng.integers(spec.villages_per_township[0], spec.villages_per_township[1] + 1))
                vil_taken: set[str] = set()
                for j in range(n_vil):
                    is_comm = town.endswith("街道") or j < 1
                    while True:
                        nm = str(rng.choice(_FIRST)) + str(rng.choice(_VILLAGE2 if not is_comm else _SECOND))
                        if nm not in vil_taken:
                            vil_taken.add(nm)
                            break
                    rows.append((nm + ("社区" if is_comm else "村"), "村居", city, county, town, ci_global, tid))
            ti_global += n_town
            ci_global += 1
    df = pd.DataFrame(rows, columns=["unit_name", "unit_type", "city", "county", "township", "county_i", "township_i"])
    city_of_county = df.groupby("county_i")["city"].first()
    df["city_i"] = df["county_i"].map({k: cities.index(v) for k, v in city_of_county.items()})
    n = len(df)
    df.insert(0, "unit_id", [f"U{i + 1:06d}" for i in range(n)])
    df["framework"] = np.where(df["unit_type"] == "村居", "village", "county")
    t = df["unit_type"].to_numpy()
    staff = np.empty(n)
    pop = np.empty(n)
    lo_hi = {"机关": (15, 150, 2e3, 8e4), "学校": (25, 220, 5e2, 4e3), "医院": (40, 1200, 1e4, 3e5),
             "企业": (30, 1500, 1e3, 5e4), "村居": (5, 13, 6e2, 6e3)}
    for ty, (s0, s1, p0, p1) in lo_hi.items():
        m = t == ty
        k = int(m.sum())
        staff[m] = np.round(np.exp(rng.uniform(np.log(s0), np.log(s1), k)))
        pop[m] = np.round(np.exp(rng.uniform(np.log(p0), np.log(p1), k)), -1)
    df["staff"] = staff.astype(int)
    df["population"] = pop.astype(int)
    return df
