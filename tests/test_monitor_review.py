"""What a person sees of 超常预警 outside the notebook: the review workbook's sheet and the
dashboard's trend chart, both from the stored tables (checked against the alert table read
with pandas and against the monitor's own result)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

PERIOD = "2025H2"


@pytest.fixture(scope="module")
def prj(demo_root_full):
    from qlwork.workflow import Project

    return Project.open(demo_root_full)


@pytest.fixture(scope="module")
def stored(prj) -> pd.DataFrame:
    a = pd.read_parquet(Path(prj.processed) / f"alerts_{PERIOD}.parquet")
    a["unit_id"] = a["unit_id"].astype(str)
    return a


def test_alert_sheet_condenses_the_stored_alerts(prj, stored):
    from qlwork.workflow.monitoring import alert_sheet

    sheet = alert_sheet(prj.processed, PERIOD)
    groups = stored.groupby(["unit_id", "indicator_id", "detector"])
    assert len(sheet) == groups.ngroups > 0
    # strongest first, each row's strength the largest of its group, months = alerted periods
    assert sheet["强度"].is_monotonic_decreasing
    want = groups["strength"].max().round(1).sort_values(ascending=False).to_numpy()
    assert sheet["强度"].to_numpy() == pytest.approx(want)
    assert sheet["预警月数"].sum() == len(stored)
    assert set(sheet["方向"]) <= {"变差", "变好"}
    assert alert_sheet(prj.processed, "2024H1") is None  # not monitored: no sheet, no error


def test_review_workbook_has_the_alert_sheet_of_its_units(prj, stored, tmp_path):
    from openpyxl import load_workbook

    from qlwork.report import generate_reports
    from qlwork.workflow import load_result
    from qlwork.workflow.monitoring import ALERT_SHEET, alert_sheet

    off = load_result(prj.processed, PERIOD)
    rk = off.ranking()
    county = rk.loc[rk["unit_id"].astype(str).isin(stored["unit_id"]), "county"].value_counts().index[0]
    sc = off.scope(county)
    rs = generate_reports(list(off.results.values()), period=PERIOD, scope=county, out_dir=tmp_path / "r",
                          scope_units=sc.unit_ids, follow_through={ALERT_SHEET: alert_sheet(prj.processed, PERIOD)},
                          charts=False, unit_reports=False, notices=False, progress=False)
    seen = 0
    for wbp in rs.workbooks:
        wb = load_workbook(wbp, read_only=True)
        assert ALERT_SHEET in wb.sheetnames
        rows = list(wb[ALERT_SHEET].iter_rows(values_only=True))
        head = rows[0]
        assert head[:5] == ("单位编码", "单位名称", "单位类型", "指标", "检测方法")
        ids = {r[0] for r in rows[1:] if r[0] not in (None, "无 (none)")}
        fw_units = set(rk.loc[rk["framework"] == wbp.stem.rsplit("_", 1)[-1], "unit_id"].astype(str)) & set(sc.unit_ids)
        want = stored[stored["unit_id"].isin(fw_units)].groupby(["unit_id", "indicator_id", "detector"]).ngroups
        assert ids <= fw_units and len([r for r in rows[1:] if r[0] not in (None, "无 (none)")]) == want
        seen += want
    assert seen > 0


def test_dashboard_series_equals_the_monitor_result(prj, stored):
    """The dashboard draws a unit's series from values_fine without re-monitoring
    (stored_series); it equals the series of the monitor's own panel (unit_series)."""
    from qlwork.monitor import monitor
    from qlwork.monitor.views import stored_series, unit_series

    res = monitor(prj.values_fine(), prj.units(), prj.frameworks_by_key(), period=PERIOD)
    picks = stored.sort_values("strength", ascending=False).drop_duplicates("detector").head(4)
    for r in picks.itertuples():
        ind = r.indicator_id.split("+")[0]
        a = unit_series(res, r.unit_id, ind).reset_index(drop=True)
        b = stored_series(prj.values_fine(), prj.units(), prj.frameworks_by_key(), stored, r.unit_id, ind)
        pd.testing.assert_frame_equal(a, b.reset_index(drop=True))
        assert b["alert"].any() and b.attrs["peer_group"] == a.attrs["peer_group"]
