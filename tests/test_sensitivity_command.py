"""``qlwork sensitivity`` on the county-scale demo project."""
from __future__ import annotations

import json

import pandas as pd

from qlwork.cli import main


def test_command_writes_parquet_and_prints_least_stable(demo_root, capsys, tmp_path):
    proc = tmp_path / "processed"
    proc.mkdir()
    for f in ("values.parquet", "units.parquet"):
        (proc / f).write_bytes((demo_root / "data" / "processed" / f).read_bytes())
    raw = str(demo_root / "data" / "raw")
    assert main(["score", "--processed", str(proc), "--raw", raw, "--period", "2025H2"]) == 0
    argv = ["sensitivity", "--processed", str(proc), "--raw", raw,
            "--draws", "200", "--seed", "7", "--top", "3", "--no-progress"]
    assert main(argv + ["--period", "2025H2"]) == 0
    out = capsys.readouterr().out
    assert "最不稳定" in out and "sensitivity_2025H2.parquet" in out
    df = pd.read_parquet(proc / "sensitivity_2025H2.parquet")
    assert {"unit_id", "framework", "period", "median_rank", "rank_p05", "rank_p95", "p_bottom_n",
            "mean_abs_rank_shift", "p_nominal_grade"} <= set(df.columns)
    assert set(df["framework"]) == {"QLI", "QLV"} and (df["period"] == "2025H2").all()
    # the nominal ranks are the official ones (the design is the official result's)
    off = pd.read_parquet(proc / "results" / "2025H2" / "ranking.parquet").set_index("unit_id")
    s = df.set_index("unit_id")
    assert (s["nominal_rank"] == off.loc[s.index, "rank"].astype(int)).all()
    assert "模拟方式" in out and "κ = 100" in out  # what was simulated, with the spec's default κ
    assert not any(p.name.endswith(".tmp") for p in proc.iterdir())
    params = json.loads((proc / "sensitivity_2025H2.params.json").read_text(encoding="utf-8"))
    assert params["QLI"]["seed"] == 7 and params["QLI"]["draws"] == 200
    # same seed → identical file content
    first = df.copy()
    assert main(argv + ["--period", "2025H2", "--jobs", "2", "--chunk-size", "64"]) == 0
    pd.testing.assert_frame_equal(first, pd.read_parquet(proc / "sensitivity_2025H2.parquet"))
    # imputation choice as an uncertain input: one normalised matrix per imputation, mixed per draw
    assert main(["sensitivity", "--processed", str(proc), "--raw", str(demo_root / "data" / "raw"), "--draws", "64",
                 "--period", "2025H2", "--imputations", "none,mean", "--no-progress"]) == 0
    params = json.loads((proc / "sensitivity_2025H2.params.json").read_text(encoding="utf-8"))
    assert params["QLI"]["variants"][0].endswith("/none") and len(params["QLI"]["variants"]) == 2
    assert sum(params["QLI"]["variant_share"].values()) == 1


def test_command_missing_store_is_a_located_error(tmp_path, capsys):
    assert main(["sensitivity", "--processed", str(tmp_path), "--draws", "5"]) == 2
    assert "qlwork ingest" in capsys.readouterr().err
