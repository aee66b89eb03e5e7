"""Follow-through on the county demo: the demo registers (planted errors found once), items from the
official warnings (the indicators the notice names), the ledger update end to end (nothing lost,
status only forward, idempotent, the pre-filled register round trip), 回头看 and 重点名录 against a
direct computation, region results against a pandas group-by and a hand t interval, the township
view and the public release, the documents, the review workbook sheets, the dashboard tab data and
the commands.  Everything reads the official results the session's demo wrote — nothing is re-scored."""
from __future__ import annotations

import os
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qlwork.errors import QlworkError
from qlwork.labels import NOTICE_CODES

AS_OF = "2026-01-31"


@pytest.fixture(scope="module")
def root(demo_root, tmp_path_factory) -> Path:
    """A copy of the session demo with the demo follow-through registers (qlwork demo --follow-through)."""
    from qlwork.demo.follow_through import write_follow_through

    r = tmp_path_factory.mktemp("follow") / "project"
    shutil.copytree(demo_root, r, ignore=shutil.ignore_patterns("notebooks", "dashboards", "reports"))
    write_follow_through(r / "data" / "raw", r / "data" / "processed")
    return r


def project(root):
    from qlwork.workflow import Project

    return Project.open(root)


@pytest.fixture(scope="module")
def updated(root):
    """``qlwork ledger update --period 2025H2 --as-of 2026-01-31 --exclude-invalid`` (in-process)."""
    from qlwork.workflow.follow_through import ledger_update

    return ledger_update(project(root), "2025H2", as_of=AS_OF, exclude_invalid=True)


def test_demo_register_errors_each_found_once(root):
    from qlwork.io.validate import validate

    raw = root / "data" / "raw"
    truth = pd.read_csv(raw / "_truth" / "follow_through_errors.csv", encoding="utf-8-sig", dtype=str).fillna("")
    rep = validate(raw)
    got = sorted((p.file, str(p.row), p.code, (p.column or "")[:1]) for p in rep.problems
                 if p.file in set(truth["file"]))
    want = sorted(zip(truth["file"], truth["row"], truth["code"], truth["column"]))
    assert got == want
    assert len(want) == 11 and {"closed_without_date", "deadline_before_issue", "inconsistent_key_post"} <= set(truth.code)


def test_items_name_the_indicators_the_notice_names(root):
    from qlwork.followup.items import items_from_warnings
    from qlwork.report.unit_report import UnitReportBuilder
    from qlwork.workflow import load_result

    off = load_result(root / "data" / "processed", "2025H2")
    items = items_from_warnings(off)
    assert items["item_id"].is_unique
    assert items_from_warnings(off)["item_id"].tolist() == items["item_id"].tolist()  # deterministic
    assert set(items["issued"].astype(str)) == {"2026-01-15"} and set(items["deadline"].astype(str)) == {"2026-02-14"}
    w = off.warnings()
    w = w[w["code"].isin(NOTICE_CODES)]
    assert set(items["unit_id"]) == set(w["unit_id"])  # every warned unit has items, no other unit
    checked = 0
    for fid, res in off.results.items():
        b = UnitReportBuilder(res)
        fw_w = w[w["framework"] == fid]
        for uid, g in fw_w.groupby("unit_id"):
            codes = set(g["code"])
            mine = items[items["unit_id"] == uid]
            if codes & {"below_pass", "bottom_n"}:
                # the notice's "主要相关指标" of a below-pass warning: the 3 largest points lost
                want = {r["id"] for r in b.behind(uid, None, 3)}
                got = set(mine[~mine["item_id"].str.contains("divergence|veto")]["indicators"])
                assert got == want, uid
                checked += 1
            assert (mine["item_id"].str.endswith("divergence")).sum() == int("divergence" in codes)
            assert (mine["item_id"].str.contains("-veto-")).sum() == int((g["code"] == "veto").sum())
    assert checked >= 5
    assert set(items["klass"]) <= {"堵点", "痛点", "污染点"}
    assert (items.loc[items["item_id"].str.contains("-veto-"), "klass"] == "污染点").all()


def test_ledger_update_end_to_end(root, updated):
    from qlwork.io.catalogue import read_table
    from qlwork.registers.ledger import read_ledger
    from qlwork.workflow.follow_through import follow_registers, ledger_update

    prj = project(root)
    st = updated.state
    regs = follow_registers(prj)
    valid = set(regs.ledger["item_id"])
    new = set(st.table.loc[st.table["origin"] == "new", "item_id"])
    assert valid <= set(st.table["item_id"]) and st.table["item_id"].is_unique
    assert new and all(i.startswith("2025H2-") for i in new)
    assert len(st.table) == len(valid | new)
    assert {p.code for p in st.errors} == {"bad_choice", "closed_without_date", "deadline_before_issue",
                                           "unknown_unit", "unknown_indicator", "duplicate_entry",
                                           "missing_value", "inconsistent_key_post"}
    stored = read_table("ledger", prj.processed)
    assert list(stored["item_id"]) == list(st.table["item_id"])
    assert (stored["as_of"] == AS_OF).all()
    # overdue from the dates: not closed and deadline before 2026-01-31
    od = (stored["status_eff"] != "已销号") & (pd.to_datetime(stored["deadline"]) < pd.Timestamp(AS_OF))
    assert (od == stored["overdue"]).all() and stored["overdue"].sum() > 10
    assert not stored.loc[stored["origin"] == "new", "overdue"].any()  # deadline 2026-02-14 not passed
    # the pre-filled register goes back to the units: every item, plus the rows with errors to correct
    back = prj.processed / "ledger" / "整改台账_2025H2.xlsx"
    rows, probs = read_ledger(back, units=prj.units())
    assert set(st.table["item_id"]) <= set(rows["item_id"])
    bad_ids = set(regs.ledger_rows.loc[regs.ledger_rows["_bad"].astype(bool), "item_id"]) - set(st.table["item_id"])
    assert bad_ids and bad_ids <= set(rows["item_id"])
    # a second update changes nothing and adds nothing
    again = ledger_update(project(root), "2025H2", as_of=AS_OF, exclude_invalid=True).state
    assert again.counts()["new"] == len(new) and list(again.table["status"]) == list(st.table["status"])


def test_filled_register_moves_forward_never_back(root, updated, tmp_path):
    """Units fill in the pre-filled register; it replaces the raw one: a step forward is taken, a step
    back is refused (located) and the earlier status kept."""
    from openpyxl import load_workbook

    from qlwork.workflow.follow_through import ledger_state, ledger_update

    r = tmp_path / "p"
    shutil.copytree(root, r)
    prj = project(r)
    src = prj.processed / "ledger" / "整改台账_2025H2.xlsx"
    wb = load_workbook(src)
    ws = wb["整改台账"]
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    target = next(i for i in range(3, ws.max_row + 1) if str(ws.cell(i, 1).value).startswith("2025H2-"))
    iid = ws.cell(target, 1).value
    ws.cell(target, col["整改状态"]).value = "整改中"
    ws.cell(target, col["责任人"]).value = "张三"
    dest = prj.raw / "registers" / "整改台账.xlsx"
    wb.save(dest)
    up = ledger_update(project(r), "2025H2", as_of=AS_OF, exclude_invalid=True)
    row = up.state.table.set_index("item_id").loc[iid]
    assert (row["status"], row["origin"]) == ("整改中", "register")
    ws.cell(target, col["整改状态"]).value = "未整改"
    wb.save(dest)
    st = ledger_state(project(r), "2025H2", as_of=AS_OF)
    back = [p for p in st.problems if p.code == "status_backward"]
    assert [(p.row, p.found) for p in back] == [(target, "未整改")]
    assert st.table.set_index("item_id").loc[iid, "status"] == "整改中"
    with pytest.raises(QlworkError) as e:
        ledger_update(project(r), "2025H2", as_of=AS_OF)
    assert "status_backward" in {p.code for p in e.value.problems}


def test_inspection_list_and_follow_up_against_direct_computation(root, updated):
    from qlwork.io.catalogue import read_table
    from qlwork.workflow import load_result

    prj = project(root)
    st = updated.state.table
    ins = read_table("inspection", prj.processed, period="2025H2")
    has = {c: set(ins.loc[ins["reason_codes"].str.contains(c), "unit_id"]) for c in ("overdue", "repeated")}
    assert has["overdue"] == set(st.loc[st["overdue"], "unit_id"])
    offs = {p: load_result(prj.processed, p) for p in ("2025H1", "2025H2")}
    warned = [set(o.warnings().query("code in @NOTICE_CODES")["unit_id"]) for o in offs.values()]
    assert has["repeated"] == warned[0] & warned[1] and has["repeated"]
    assert set(ins["unit_id"]) == has["overdue"] | has["repeated"]
    fu = read_table("ledger_followup", prj.processed, period="2025H2")
    assert set(fu["item_id"]) == set(st.loc[st["period"] == "2025H1", "item_id"])
    one = fu[fu["n_linked"] == 1].head(20)
    for r in one.itertuples():
        b = offs["2025H1"].results[r.framework].normalized.at[r.unit_id, r.indicators]
        a = offs["2025H2"].results[r.framework].normalized.at[r.unit_id, r.indicators]
        assert (r.before, r.after) == pytest.approx((b, a))
        assert r.verdict == ("已改善" if a > b else "未改善")
        assert r.repeated == (r.unit_id in warned[1])


def test_region_results_match_a_direct_groupby(root):
    from qlwork.followup.regions import region_results
    from qlwork.workflow import load_result

    off = load_result(root / "data" / "processed", "2025H2")
    reg = region_results(off)
    rk = off.ranking()
    for fid in off.results:
        f = rk[rk["framework"] == fid]
        for lv in ("city", "county", "township"):
            g = f.groupby(lv)["total"]
            direct = pd.DataFrame({"n": g.count(), "mean": g.mean(), "min": g.min(), "max": g.max(),
                                   "median": g.median(), "q25": g.quantile(0.25),
                                   "top": f.assign(t=f["grade"] == "优秀").groupby(lv)["t"].mean(),
                                   "bottom": f.assign(t=f["grade"] == "不合格").groupby(lv)["t"].mean(),
                                   "change": f.groupby(lv)["change"].mean()})
            mine = reg[(reg["framework"] == fid) & (reg["level"] == lv)].set_index("region")
            assert sorted(mine.index) == sorted(direct.index)
            d = direct.reindex(mine.index)
            assert (mine["n_scored"] == d["n"]).all()
            for a, b in (("mean", "mean"), ("min", "min"), ("max", "max"), ("median", "median"), ("q25", "q25"),
                         ("share_top", "top"), ("share_bottom", "bottom"), ("change", "change")):
                np.testing.assert_allclose(mine[a].to_numpy(float), d[b].to_numpy(float), rtol=0, atol=1e-12)
            # rank of the mean among the level's regions (competition ranking, 1 = highest)
            m = mine["mean"].round(2)
            assert (mine["rank"] == m.apply(lambda x: int((m > x).sum()) + 1)).all()
    # a hand t interval: one county
    r = reg[(reg["level"] == "county")].iloc[0]
    x = rk[(rk["framework"] == r["framework"]) & (rk["county"] == r["region"])]["total"].to_numpy(float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((x.mean() - half, x.mean() + half))
    # bootstrap: seeded, reproducible, close to the t interval for a large region
    b1 = region_results(off, ci="bootstrap", levels=("county",), draws=1000, seed=7)
    b2 = region_results(off, ci="bootstrap", levels=("county",), draws=1000, seed=7)
    pd.testing.assert_frame_equal(b1, b2)
    big = b1.sort_values("n_scored").iloc[-1]
    tt = reg[(reg["level"] == "county") & (reg["region"] == big["region"]) & (reg["framework"] == big["framework"])].iloc[0]
    assert abs(big["ci_low"] - tt["ci_low"]) < 0.3 and abs(big["ci_high"] - tt["ci_high"]) < 0.3
    # small regions: truncated to the score scale; n = 1 has no interval
    assert (reg["ci_high"].dropna() <= 105).all() and (reg["ci_low"].dropna() >= 0).all()
    assert reg.loc[reg["n_scored"] < 2, "ci_low"].isna().all()


def test_township_view_and_public_release(root):
    from qlwork.workflow import load_result
    from qlwork.workflow.follow_reports import publish
    from qlwork.workflow.follow_through import PUBLIC_COLUMNS, public_ranking, township_view

    prj = project(root)
    off = load_result(prj.processed, "2025H2")
    rk = off.ranking().set_index("unit_id")
    town = rk[rk["unit_type"] == "村居"]["township"].value_counts().index[0]
    tv = township_view(prj, "2025H2", town)
    assert set(tv["unit_type"]) == {"村居"} and len(tv) == int(((rk["township"] == town) & (rk["unit_type"] == "村居")).sum())
    assert (tv.set_index("unit_id")["total"] == rk.loc[tv["unit_id"], "total"]).all()  # official, never re-scored
    want = tv["total"].apply(lambda x: int((tv["total"] > x).sum()) + 1)
    assert (tv["rank_in_scope"].astype(int) == want).all()
    pub = public_ranking(prj, "2025H2", town)
    assert list(pub.columns) == ["framework"] + PUBLIC_COLUMNS
    html, xlsx = publish(prj, "2025H2", town)
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"\d+\.\d\d", re.sub(r"<style>.*?</style>", "", text, flags=re.S))  # no score anywhere
    assert town in text and "公开发布版" in text
    got = pd.read_excel(xlsx, sheet_name=None, engine="openpyxl")
    for df in got.values():
        assert not {"综合得分", "专业分", "得分"} & set(df.columns)
    with pytest.raises(QlworkError):
        township_view(prj, "2025H2", rk["county"].iloc[0])


def test_feedback_by_level_and_jurisdiction_report(root, updated):
    from qlwork.workflow import load_result
    from qlwork.workflow.follow_reports import feedback, jurisdiction_report

    prj = project(root)
    off = load_result(prj.processed, "2025H2")
    rk = off.ranking()
    county = rk["county"].iloc[0]
    units = rk[rk["county"] == county].sort_values("total")["unit_id"].head(2).tolist()
    fs = feedback(prj, "2025H2", county, as_of=AS_OF, units=units)
    names = {p.relative_to(fs.out_dir).as_posix() for p in fs.files}
    types = sorted(rk.loc[rk["county"] == county, "unit_type"].unique())
    assert names == ({"01_党委政府主要领导.html"} | {f"02_分管联系领导_{t}.html" for t in types}
                     | {f"03_单位党组织主要负责人/{u}.html" for u in units})
    index = (fs.out_dir / "index.html").read_text(encoding="utf-8")
    assert all(t in index for t in ("党委、政府主要领导", "分管联系领导", "被评价单位党组织主要负责人"))
    leaders = (fs.out_dir / "01_党委政府主要领导.html").read_text(encoding="utf-8")
    ind_names = {i.name for r in off.results.values() for i in r.framework.indicators.values()}
    assert not [n for n in ind_names if n in leaders]  # no indicator detail for the leaders
    for u in units:
        doc = (fs.out_dir / f"03_单位党组织主要负责人/{u}.html").read_text(encoding="utf-8")
        r = rk.set_index("unit_id").loc[u]
        assert f"{r['total']:.2f} 分" in doc and f"等级“{r['grade']}”" in doc
    # the folder is qlwork's: a second run replaces it; a foreign folder is never replaced
    assert feedback(prj, "2025H2", county, as_of=AS_OF, levels=["leaders"]).files
    foreign = prj.processed / "foreign"
    (foreign / "分级反馈").mkdir(parents=True)
    (foreign / "分级反馈" / "thesis.docx").write_text("mine", encoding="utf-8")
    with pytest.raises(QlworkError):
        feedback(prj, "2025H2", county, as_of=AS_OF, out=foreign, levels=["leaders"])
    assert (foreign / "分级反馈" / "thesis.docx").read_text(encoding="utf-8") == "mine"
    html, xlsx = jurisdiction_report(prj, "2025H2", county, as_of=AS_OF)
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="openpyxl")
    units_sheet = next(df for name, df in sheets.items() if "各单位结果" in name)
    assert len(units_sheet) == int((rk["county"] == county).sum())
    assert "方法说明" in sheets and "整改台账" in "".join(sheets)


def test_review_workbook_gains_ledger_and_inspection_sheets(root, updated, tmp_path):
    from openpyxl import load_workbook

    from qlwork.report import generate_reports
    from qlwork.workflow import load_result
    from qlwork.workflow.follow_through import review_sheets

    prj = project(root)
    off = load_result(prj.processed, "2025H2")
    sheets = review_sheets(prj, "2025H2")
    assert set(sheets) == {"整改台账", "重点名录"}
    town = off.ranking()["township"].value_counts().index[-1]
    sc = off.scope(town)
    rs = generate_reports(list(off.results.values()), period="2025H2", scope=town, out_dir=tmp_path / "r",
                          scope_units=sc.unit_ids, follow_through=sheets, charts=False, unit_reports=False,
                          notices=False, progress=False)
    for wbp in rs.workbooks:
        wb = load_workbook(wbp, read_only=True)
        assert {"整改台账", "重点名录"} <= set(wb.sheetnames)
        rows = list(wb["整改台账"].iter_rows(values_only=True))
        assert rows[0][:3] == ("事项编号", "单位编码", "评价期")
        assert {r[1] for r in rows[1:] if r[1] not in (None, "无 (none)")} <= set(sc.unit_ids)


def test_dashboard_tab_data(root, updated):
    from qlwork.workflow.follow_views import rectification_tab, risk_tab

    prj = project(root)
    rk = prj.units()
    county = rk["county"].iloc[0]
    d = rectification_tab(prj, "2025H2", county=county)
    items = d.tables["整改事项"]
    assert d.figures["整改事项"] == len(items) and d.figures["截至日期"] == AS_OF
    assert d.figures["逾期未销号"] == int((items["整改状态"] == "逾期").sum())
    assert set(items["县市区"]) == {county}
    for t in d.tables.values():
        assert all(re.search(r"[\u4e00-\u9fff]", str(c)) for c in t.columns), list(t.columns)
    r = risk_tab(prj, "2025H2", county=county, as_of=AS_OF)
    hi = r.tables["未落实防控的高等级风险点"]
    assert r.figures["未落实防控的高等级风险点"] == len(hi) and (hi["风险等级"] == "高").all()
    assert hi["防控措施"].isna().all()
    per_unit = r.tables["各单位"]
    assert int(per_unit["未落实防控的高等级风险点数"].sum()) == len(hi)
    for t in r.tables.values():
        assert all(re.search(r"[\u4e00-\u9fff]", str(c)) for c in t.columns), list(t.columns)


def _cli(root, *argv):
    from qlwork.cli import main

    old = os.environ.get("QLWORK_ROOT")
    os.environ["QLWORK_ROOT"] = str(root)
    out, err = StringIO(), StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(list(argv))
    finally:
        if old is None:
            os.environ.pop("QLWORK_ROOT", None)
        else:
            os.environ["QLWORK_ROOT"] = old
    return rc, out.getvalue(), err.getvalue()


def test_commands(root, updated):
    from qlwork.io.catalogue import read_table

    rc, out, err = _cli(root, "ledger", "update", "--period", "2025H2", "--as-of", AS_OF)
    assert rc == 2 and "[closed_without_date]" in err and "第 " in err and "Traceback" not in err
    rc, out, _ = _cli(root, "registers", "check")
    assert rc == 1 and "11 个错误" in out
    rc, out, _ = _cli(root, "ledger", "status", "--period", "2025H2", "--as-of", AS_OF, "--top", "2")
    assert rc == 0 and "重点名录" in out and "到期事项销号率" in out
    rc, out, _ = _cli(root, "regions", "--period", "2025H2", "--level", "county")
    assert rc == 0 and "县市区" in out
    t = read_table("regions", root / "data" / "processed", period="2025H2")
    assert set(t["level"]) == {"city", "county", "township"}
    rc, out, err = _cli(root, "ledger", "status", "--period", "2025H2", "--as-of", "yesterday")
    assert rc == 2 and "[bad_date]" in err
