"""One truth: the same unit shows the same score, grade, peer rank and warnings everywhere.

On the county demo with survey scores (``demo_root_full``), for every unit of both
frameworks in the latest two periods and for two scopes (a county and a township):
the official result (``results/<period>/ranking.parquet``), the review workbook
(汇总排行), every 体检报告单 HTML and the set of 预警通知书 agree on the score
(2 decimals), grade, peer rank and warning set.  A scoped report never re-scores.
"""
from __future__ import annotations

import html as _html
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from qlwork.labels import NOTICE_CODES, WARNING_LABELS

PERIODS = ("2025H1", "2025H2")


@pytest.fixture(scope="module")
def project(demo_root_full):
    from qlwork.workflow import Project

    return Project.open(demo_root_full)


def _scopes(off):
    rk = off.ranking()
    county = rk["county"].value_counts().index[0]
    towns = rk[rk["county"] == county]["township"].value_counts()
    township = towns.index[len(towns) // 2]
    return [county, township]


def _codes(v) -> set:
    return set() if v is None or (isinstance(v, float) and v != v) else set(filter(None, str(v).split(";")))


def _workbook_rows(path: Path) -> pd.DataFrame:
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb["汇总排行"]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    return pd.DataFrame(rows[1:], columns=rows[0])


_TOTAL = re.compile(r'<div class="k">综合得分</div><div class="v"[^>]*>([0-9.]+)</div>')
_GRADE = re.compile(r'<div class="k">等级</div><div class="v"[^>]*>([^<]+)</div>')
_RANK = re.compile(r'排名</div><div class="v">(\d+|—)<span')
_UID = re.compile(r'<td class="k">单位编码</td><td>([^<]+)</td>')


def _html_facts(text: str) -> dict:
    return {"unit_id": _UID.search(text).group(1), "total": float(_TOTAL.search(text).group(1)),
            "grade": _html.unescape(_GRADE.search(text).group(1)), "rank": _RANK.search(text).group(1),
            "reasons": set(re.findall(r'<div class="warn [a-z]+ avoid"><b>([^<]+)</b>', text))}


@pytest.mark.slow
@pytest.mark.parametrize("period", PERIODS)
def test_every_output_shows_the_official_numbers(project, period, tmp_path):
    from qlwork.workflow import load_result
    from qlwork.workflow.reporting import report

    off = load_result(project.processed, period)
    rk = off.ranking().set_index("unit_id")
    warn = off.warnings()
    assert set(rk["framework"]) == {"QLI", "QLV"}
    for scope in _scopes(off):
        sc = off.scope(scope)
        rs = report(project, period, scope, out=tmp_path / f"{period}_{scope}", charts=False)
        ids = set(sc.unit_ids)
        # --- the review workbooks (one per framework): every unit of the scope, official numbers
        seen = set()
        for book in rs.workbooks:
            if "预警汇总" in book.name:
                continue
            t = _workbook_rows(book)
            for r in t.itertuples(index=False):
                row = dict(zip(t.columns, r))
                uid = row["单位编码"]
                o = rk.loc[uid]
                assert round(row["综合得分"], 2) == round(o["total"], 2), (uid, "workbook total")
                assert row["等级"] == o["grade"] and int(row["同类名次"]) == int(o["rank"]), uid
                assert _codes(row["预警"]) == _codes(o["warnings"]), uid
                seen.add(uid)
        assert seen == ids, "the workbook lists exactly the scope's units"
        # --- every 体检报告单
        got = {}
        for p in rs.unit_reports:
            f = _html_facts(Path(p).read_text(encoding="utf-8"))
            got[f["unit_id"]] = f
        assert set(got) == ids
        for uid, f in got.items():
            o = rk.loc[uid]
            assert f"{o['total']:.2f}" == f"{f['total']:.2f}", (uid, "report total")
            assert f["grade"] == o["grade"] and f["rank"] == str(int(o["rank"])), uid
            codes = set(warn[(warn.unit_id == uid)]["code"]) & set(NOTICE_CODES)
            reasons = {WARNING_LABELS[c].format(n=off.results[o["framework"]].spec.warnings.bottom_n,
                                                d=f"{off.results[o['framework']].spec.warnings.drop_points:g}",
                                                g=off.results[o["framework"]].spec.veto_cap) for c in codes}
            assert f["reasons"] == reasons, uid
        # --- notices: exactly the scope's units with a notice-type warning
        warned = set(warn[warn.unit_id.isin(ids) & warn.code.isin(NOTICE_CODES)]["unit_id"])
        noticed = set()
        for p in rs.notices:
            m = _UID.search(Path(p).read_text(encoding="utf-8"))
            noticed.add(m.group(1) if m else Path(p).name.split("_")[0])
        assert noticed == warned


def test_a_scope_never_rescores(project):
    """The issue's case: in a county report each unit keeps its official score, grade and peer rank;
    in a three-unit township nobody is 'bottom 3' unless the official result says so."""
    from qlwork.workflow import load_result

    off = load_result(project.processed, PERIODS[-1])
    full = off.ranking().set_index("unit_id")
    for scope in _scopes(off):
        part = off.scope(scope).ranking(off).set_index("unit_id")
        cols = ["total", "grade", "rank", "warnings"]
        pd.testing.assert_frame_equal(part[cols], full.loc[part.index, cols])
        assert part["rank_in_scope"].min() == 1


def test_rescored_scope_is_labelled_and_issues_no_notices(project, tmp_path):
    from qlwork.workflow import RESCORE_LABEL, load_result
    from qlwork.workflow.reporting import report

    off = load_result(project.processed, PERIODS[-1])
    township = _scopes(off)[1]
    rs = report(project, PERIODS[-1], township, out=tmp_path / "re", charts=False, rescore=True)
    assert rs.notices == ()
    for p in rs.unit_reports:
        assert RESCORE_LABEL in Path(p).read_text(encoding="utf-8")
    for book in rs.workbooks:
        wb = openpyxl.load_workbook(book, read_only=True)
        ws = wb["汇总排行"]
        first = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
        assert RESCORE_LABEL in first
        wb.close()


def test_decomposition_adds_up_for_every_demo_unit(project):
    """Σ points lost = 100 − internal, and Σ weight × score = internal, for every unit of both frameworks
    (unit types that lack indicators included): the weights printed are the ones that scored the unit."""
    from qlwork.workflow import load_result

    off = load_result(project.processed, PERIODS[-1])
    for fid, r in off.results.items():
        t = r.indicator_table()
        t = t[~t["public"]]
        internal = r.scores["internal"].dropna()
        lost = t.groupby("unit_id")["points_lost"].sum().reindex(internal.index)
        pd.testing.assert_series_equal(lost, 100 - internal, check_names=False, atol=1e-9)
        wsum = (t["weight"] * t["normalized"]).groupby(t["unit_id"]).sum().reindex(internal.index)
        pd.testing.assert_series_equal(wsum, internal, check_names=False, atol=1e-9)
        w = t.groupby("unit_id")["weight"].sum().reindex(internal.index)
        assert ((w - 1).abs() < 1e-9).all()
        # types that lack indicators (e.g. 企业 has no 三公经费): their weights differ from the framework's
        types = r.units.reindex(internal.index)["unit_type"]
        assert types.nunique() >= 1


def test_strengths_and_weaknesses_are_disjoint_and_never_list_a_zero_gap(project):
    from qlwork.workflow import load_result

    off = load_result(project.processed, PERIODS[-1])
    for r in off.results.values():
        for uid in r.scores.index[:300]:
            st, wk = r.strengths_weaknesses(uid)
            assert not set(st.indicator_id) & set(wk.indicator_id)
            assert (st["diff"] > 0).all() and (wk["diff"] < 0).all()


@pytest.mark.parametrize("period", PERIODS)
def test_dashboard_ranking_shows_the_official_numbers(project, period):
    """The review dashboard's 排行榜 (its widget state, paged through: what a committee member
    reads) shows every unit of both frameworks — all units, a county and a township — with
    the official score (2 dp), grade, peer rank and warning set."""
    from dashboard_state import ranking_state

    from qlwork.dashboard.app import ReviewDashboard
    from qlwork.dashboard.data import DashboardData
    from qlwork.workflow import load_result

    off = load_result(project.processed, period)
    rk = off.ranking().set_index("unit_id")
    county, township = _scopes(off)
    app = ReviewDashboard(DashboardData.open(project.root), chart=False)
    for fid in ("QLI", "QLV"):
        for scope in (dict(), dict(county=county), dict(county=county, township=township)):
            if "township" in scope and not (rk[(rk["framework"] == fid)]["township"] == township).any():
                continue
            shown = ranking_state(app, period=period, framework=fid, **scope)
            exp = rk[rk["framework"] == fid]
            for k, v in scope.items():
                exp = exp[exp[k] == v]
            assert sorted(shown["unit_id"]) == sorted(exp.index), (fid, scope)
            for r in shown.to_dict("records"):
                o = rk.loc[r["unit_id"]]
                assert r["综合得分"] == ("—" if pd.isna(o["total"]) else f"{o['total']:.2f}"), r["unit_id"]
                assert r["等级"] == (o["grade"] or "—"), r["unit_id"]
                assert r["同类名次"].split("/")[0] == ("—" if pd.isna(o["rank"]) else str(int(o["rank"]))), r["unit_id"]
                assert set(r["codes"]) == _codes(o["warnings"]), r["unit_id"]
