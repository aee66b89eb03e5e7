"""The faces of monitoring: ``qlwork monitor`` (alert file, Chinese summary, located errors),
the views the dashboard and the review workbook will call, and the charts (Chinese text,
PNG bytes)."""
from __future__ import annotations

import json
from contextlib import redirect_stdout
from io import StringIO

import pandas as pd
import pytest

from qlwork.cli import main
from qlwork.monitor import ALERT_COLUMNS, monitor
from qlwork.monitor.store import available_alerts, default_period, read_alerts
from qlwork.monitor.views import SERIES_COLUMNS, alert_counts, alerts_for, condense_alerts, unit_series


@pytest.fixture(scope="module")
def run(demo_root):
    from qlwork.io.ingest import load_frameworks

    proc = demo_root / "data" / "processed"
    fine = pd.read_parquet(proc / "values_fine.parquet")
    units = pd.read_parquet(proc / "units.parquet")
    return monitor(fine, units, load_frameworks(demo_root / "data" / "raw"), period="2025H2"), units


def test_cli_writes_alerts_and_prints_a_chinese_summary(demo_root, tmp_path):
    out = StringIO()
    with redirect_stdout(out):
        rc = main(["monitor", "--processed", str(demo_root / "data" / "processed"), "--raw",
                   str(demo_root / "data" / "raw"), "--out", str(tmp_path), "--top", "3"])
    text = out.getvalue()
    assert rc == 0 and "动态监测 2025年下半年" in text and "预警只提示核查，不改变得分和等级" in text
    a = read_alerts(tmp_path, "2025H2")
    assert list(a.columns) == ALERT_COLUMNS and len(a) > 100
    assert set(a["period"]) <= {f"2025-{m:02d}" for m in range(7, 13)}
    meta = json.loads((tmp_path / "alerts_2025H2.params.json").read_text(encoding="utf-8"))
    assert meta["params"]["fdr"] == 0.05 and meta["n_alerts"] == len(a) and meta["tests"]
    assert available_alerts(tmp_path) == ["2025H2"]


def test_cli_month_period_detector_subset_and_errors(demo_root, tmp_path, capsys):
    args = ["monitor", "--processed", str(demo_root / "data" / "processed"), "--raw", str(demo_root / "data" / "raw"),
            "--out", str(tmp_path)]
    assert main(args + ["--period", "2025-12", "--detectors", "history,peers"]) == 0
    a = read_alerts(tmp_path, "2025-12")
    assert set(a["detector"]) <= {"history", "peers"} and set(a["period"]) == {"2025-12"}
    assert main(args + ["--period", "2023H1"]) == 2
    err = capsys.readouterr().err
    assert "unknown_period" in err and "2024-01 … 2025-12" in err
    assert main(args + ["--period", "2025-1"]) == 2 and "bad_period" in capsys.readouterr().err


def test_cli_refuses_to_write_into_raw(demo_root, capsys):
    raw = demo_root / "data" / "raw"
    assert main(["monitor", "--processed", str(demo_root / "data" / "processed"), "--raw", str(raw),
                 "--out", str(raw / "x")]) == 2
    assert not (raw / "x").exists() and "raw" in capsys.readouterr().err


def test_missing_store_is_a_located_error(tmp_path):
    from qlwork.errors import QlworkError

    with pytest.raises(QlworkError) as e:
        read_alerts(tmp_path, "2025H2")
    assert "qlwork monitor" in e.value.problems[0].message


def test_default_period_is_the_half_year_of_the_latest_month(demo_root):
    fine = pd.read_parquet(demo_root / "data" / "processed" / "values_fine.parquet")
    assert default_period(fine) == "2025H2"
    assert default_period(fine[fine.period < "2025-07"]) == "2025H1"


def test_views(run):
    res, units = run
    a = res.alerts
    county = units["county"].iloc[0]
    sub = alerts_for(a, units, period="2025-12", county=county)
    ids = set(units.loc[units["county"] == county, "unit_id"])
    assert len(sub) and set(sub["unit_id"]) <= ids and set(sub["period"]) == {"2025-12"}
    assert sub["strength"].is_monotonic_decreasing
    assert alerts_for(a, period="2025Q4", detectors="history", worse_only=True)["worse"].all()
    c = condense_alerts(a)
    assert len(c) < len(a) and c["months"].sum() == len(a)
    assert list(alert_counts(a).index) == [f"2025-{m:02d}" for m in range(7, 13)]
    r = a[a.detector == "history"].iloc[0]
    s = unit_series(res, r.unit_id, r.indicator_id)
    assert list(s.columns) == SERIES_COLUMNS and len(s) == 24
    row = s.set_index("period").loc[r.period]
    assert row["alert"] and "本单位历史" in row["detectors"] and row["value"] == r.value
    assert (s["peer_p10"] <= s["peer_median"]).all() and (s["peer_median"] <= s["peer_p90"]).all()
    assert s.attrs["unit_name"] == r.unit_name and s.attrs["peer_name"] == r.peer_group


def test_charts(run):
    from qlwork.charts.monitoring import alerts_by_period, sparkline, sparkline_png

    res, _ = run
    r = res.alerts[res.alerts.detector == "shift"].iloc[0]
    fig = sparkline(unit_series(res, r.unit_id, r.indicator_id))
    texts = [ax.get_title(loc="left") for ax in fig.axes]
    texts += [t.get_text() for ax in fig.axes for t in [ax.yaxis.label, *ax.get_xticklabels()]]
    texts += [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert any(r.unit_name in t for t in texts) and "同类中位数" in texts and "预警（提示核查）" in texts
    assert any("2025年" in t for t in texts)
    png = sparkline_png(res, r.unit_id, r.indicator_id)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert alerts_by_period(res.alerts).axes[0].get_ylabel() == "预警条数"
