"""Synthetic inputs for the report tests: a unit registry (with formula-like names)
and raw indicator values for two periods, scored with the real ``qlwork.engine.index.compute_index``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from qlwork.framework import builtin_framework, load_framework

#: Unit names Excel would otherwise read as formulas (=, +, -, @).
TRICKY_NAMES = {0: '=HYPERLINK("http://example.invalid","点我")', 1: "+86联络处", 2: "-负号开头单位", 3: "@提及单位"}
PERIODS = ("2025H1", "2025H2")


def registry(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"U{i:06d}" for i in range(1, n + 1)]
    types = np.array(["机关", "学校", "医院", "企业"])[np.arange(n) % 4]
    counties = np.array(["甲县", "乙区"])[rng.integers(0, 2, n)]
    return pd.DataFrame({
        "unit_id": ids,
        "unit_name": [TRICKY_NAMES.get(i, f"测试单位{i + 1:04d}号") for i in range(n)],
        "unit_type": types, "city": "示范市", "county": counties,
        "township": [f"{c}城关镇" for c in counties], "framework": "county",
        "staff": rng.integers(10, 300, n), "population": rng.integers(1000, 50000, n)})


def raw_values(units: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """Long table (unit_id, period, indicator_id, value, file) inside each indicator's goalposts."""
    rng = np.random.default_rng(seed)
    fw = load_framework(builtin_framework("county"))
    rows = []
    types = units["unit_type"].to_numpy()
    for p in PERIODS:
        for iid, ind in fw.indicators.items():
            lo, hi = ind.goalposts or (0.0, 100.0)
            q = rng.beta(5.0, 2.0, len(units))  # most units do well, a tail does badly
            v = lo + (hi - lo) * (q if ind.direction > 0 else 1.0 - q)
            ok = np.ones(len(units), bool) if ind.applies_to is None else np.isin(types, ind.applies_to)
            rows.append(pd.DataFrame({"unit_id": units["unit_id"].to_numpy()[ok], "period": p,
                                      "indicator_id": iid, "value": v[ok],
                                      "file": f"departments/{p}/{ind.source}.xlsx"}))
    return pd.concat(rows, ignore_index=True)


def make_result(n: int = 40, seed: int = 7, **kw):
    from qlwork.engine.index import compute_index

    units = registry(n, seed)
    vals = raw_values(units, seed)
    fw = load_framework(builtin_framework("county"))
    kw.setdefault("normalization", "goalposts")
    return compute_index(vals, fw, period="2025H2", units=units, **kw)
