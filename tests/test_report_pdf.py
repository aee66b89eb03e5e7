"""PDF printing (qlwork.report.pdf): one browser, batched print jobs split at named destinations,
sheets shrunk to fit their page, page counts — and every 体检报告单 of the county demo on exactly
two pages (the promise in docs/reports.md), every notice on one."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from qlwork.report.pdf import MIN_ZOOM, find_chromium, pdf_page_count, print_pdfs

NEEDS_CHROMIUM = pytest.mark.skipif(find_chromium() is None, reason="未安装 Chromium (no Chromium)")
pikepdf = pytest.importorskip("pikepdf")

_HEAD = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<style>@page {{ size: A4; margin: 14mm 13mm; }} body {{ margin: 0; font: 11pt "Noto Sans CJK SC", sans-serif; }}
.sheet {{ --sheet-height: 269mm; break-after: page; }} .sheet:last-of-type {{ break-after: auto; }}
p {{ margin: 0; height: 9mm; }}</style></head>"""


def _doc(path: Path, title: str, rows: tuple[int, ...]) -> Path:
    """A report with one sheet per entry of ``rows``, each with that many 9-mm lines (29 fit a page)."""
    sheets = "".join(f'<section class="sheet">{"".join(f"<p>{title} 第{k + 1}行</p>" for k in range(n))}</section>'
                     for n in rows)
    path.write_text(_HEAD.format(title=title) + f"<body>{sheets}</body></html>", encoding="utf-8")
    return path


def _pages(p: Path) -> int:
    with pikepdf.open(p) as pdf:  # a second, independent count
        return len(pdf.pages)


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_batches_split_into_one_pdf_per_report(tmp_path):
    rows = [(10, 20), (29, 5), (10,), (33, 10), (3, 3, 3)]  # sheet 1 of the 4th report is 33 lines: shrunk
    htmls = [_doc(tmp_path / f"U{k}_单位{k}.html", f"单位{k} 体检报告单", r) for k, r in enumerate(rows)]
    odd = tmp_path / "other.html"  # another template (different <head>): printed alone
    odd.write_text("<html><head><title>x</title></head><body><p>另一种文件</p></body></html>", encoding="utf-8")
    r = print_pdfs([*htmls, odd], tmp_path / "pdf", progress=False, workers=2, batch=3)
    assert [p.name for p in r.pdfs] == [h.stem + ".pdf" for h in [*htmls, odd]]
    want = [len(x) for x in rows] + [1]
    assert [r.pages[p] for p in r.pdfs] == want == [_pages(p) for p in r.pdfs]
    assert [pdf_page_count(p) for p in r.pdfs] == want
    for p, h in zip(r.pdfs, htmls):
        with pikepdf.open(p) as pdf:
            assert str(pdf.docinfo["/Title"]) == re.search("<title>(.*)</title>", h.read_text()).group(1)
            assert not any("/Annots" in pg.obj for pg in pdf.pages)  # the batch markers are gone
    z = r.zoom[r.pdfs[3]]
    assert 0.85 < z[0] <= 269 / 297 and z[1] == 1  # 33 lines × 9 mm = 297 mm on a 269-mm page
    assert r.zoom[r.pdfs[0]] == [1, 1]


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_a_sheet_too_long_even_shrunk_shows_in_the_page_count(tmp_path):
    h = _doc(tmp_path / "long.html", "太长", (80,))  # 720 mm: would need zoom 0.37 < MIN_ZOOM
    r = print_pdfs([h, _doc(tmp_path / "ok.html", "正常", (5,))], tmp_path / "pdf", progress=False, batch=2)
    assert r.pages[tmp_path / "pdf" / "long.pdf"] > 1 and r.zoom[tmp_path / "pdf" / "long.pdf"] == [MIN_ZOOM]
    assert r.over(1) == {tmp_path / "pdf" / "long.pdf": r.pages[tmp_path / "pdf" / "long.pdf"]}
    assert r.pages[tmp_path / "pdf" / "ok.pdf"] == 1  # the next report still starts on its own page


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_batched_and_single_print_give_the_same_pages(tmp_path):
    htmls = [_doc(tmp_path / f"d{k}.html", f"文档{k}", (k * 9 + 1, 28)) for k in range(4)]
    a = print_pdfs(htmls, tmp_path / "a", progress=False, batch=4)
    b = print_pdfs(htmls, tmp_path / "b", progress=False, batch=1, workers=1)
    assert [a.pages[p] for p in a.pdfs] == [b.pages[p] for p in b.pdfs] == [2, 2, 2, 2]
    assert [a.zoom[p] for p in a.pdfs] == [b.zoom[p] for p in b.pdfs]


def test_page_count_reads_the_page_tree():
    one = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n"
    assert pdf_page_count(one) == 2
    assert pdf_page_count(b"<< /Type /Page /Parent 1 0 R >> << /Type /Page >> << /Type /Pages >>") == 2


@NEEDS_CHROMIUM
@pytest.mark.browser
@pytest.mark.slow
def test_every_unit_of_the_county_demo_prints_on_two_pages(demo_root_full, tmp_path):
    """The printed 体检报告单 of every unit of both frameworks (1,489 units) has exactly two A4 pages and
    every 预警通知书 one; files are named <code>_<name>.pdf after the official result's names."""
    from qlwork.workflow import Project, available_periods, load_result
    from qlwork.workflow.reporting import report

    prj = Project.open(demo_root_full)
    period = available_periods(prj.processed)[-1]
    ranking = load_result(prj.processed, period).ranking()
    rs = report(prj, period, None, pdf=True, charts=False, out=tmp_path / "all")
    units = sorted((tmp_path / "all" / "units").glob("*.pdf"))
    notices = sorted((tmp_path / "all" / "notices").glob("*.pdf"))
    assert len(units) == len(ranking) == 1489 and len(notices) == len(rs.notices) > 0
    by_code = {p.name.split("_", 1)[0]: p for p in units}
    assert set(by_code) == set(ranking["unit_id"])
    for uid, name in zip(ranking["unit_id"], ranking["unit_name"]):
        assert by_code[uid].name.startswith(f"{uid}_{name[:4]}")  # the official name, made file-safe
    pages = Counter(_pages(p) for p in units)
    assert pages == Counter({2: 1489}), pages
    assert Counter(_pages(p) for p in notices) == Counter({1: len(notices)})
    assert not [m for m in rs.messages if "超出页数" in m]
