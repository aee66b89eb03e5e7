"""Read what the review dashboard shows from its widget state (no browser).

:func:`parse_table` turns a table of a tab (an ``ipywidgets.HTML`` value) into rows of
the texts a person sees; :func:`ranking_state` pages through the 排行榜 of a
framework, period and scope and returns every unit's shown score, grade, peer rank
and warning set — used by the widget tests and the cross-output consistency test.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd


class _TableParser(HTMLParser):
    def __init__(self, table_class: str):
        super().__init__(convert_charrefs=True)
        self.cls = table_class
        self.depth = 0  # inside the wanted table
        self.head: list[str] = []
        self.head_rows = 0
        self.rows: list[dict] = []
        self._row = None
        self._cell = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and self.depth == 0 and self.cls in (a.get("class") or "").split():
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "table":
            self.depth += 1
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            if self._in_head:
                self.head_rows += 1
            self._row = {"_attrs": a, "_cells": [], "_codes": []}
        elif tag in ("td", "th"):
            self._cell = {"text": "", "attrs": a}
        elif tag == "span" and self._cell is not None and "data-code" in a:
            self._row["_codes"].append(a["data-code"])

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "table":
            self.depth -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = re.sub(r"\s+", " ", self._cell["text"]).strip()
            if tag == "th":
                self.head.append(text)
            else:
                self._row["_cells"].append((text, self._cell["attrs"]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row["_cells"]:
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def parse_table(html: str, table_class: str) -> tuple[list[str], list[dict], int]:
    """(header texts, rows, number of header rows) of the table with CSS class ``table_class``.

    Each row: ``unit_id`` (``data-unit``), one entry per header with the cell's visible text,
    and ``codes`` (warning codes of its badges)."""
    p = _TableParser(table_class)
    p.feed(html)
    out = []
    for r in p.rows:
        row = {"unit_id": r["_attrs"].get("data-unit"), "changed": "qlw-changed" in (r["_attrs"].get("class") or ""),
               "codes": frozenset(r["_codes"])}
        for h, (text, _a) in zip(p.head, r["_cells"]):
            row[h] = text
        out.append(row)
    return p.head, out, p.head_rows


def ranking_state(app, *, period: str, framework: str, county: str | None = None,
                  township: str | None = None) -> pd.DataFrame:
    """Every unit the 排行榜 shows for these filters, as shown (paging through it):
    unit_id, 综合得分 text, 等级 text, 同类名次 text ("9/104"), 预警 codes."""
    from qlwork.dashboard.state import ALL

    app.set_filter(period=period, framework=framework)
    app.set_filter(city=ALL, county=county or ALL)
    if township:
        app.set_filter(township=township)
    app.show_tab("ranking")
    tab = app.tab("ranking")
    tab.size_dd.value = max(tab.size_dd.options)
    tab.page = 0
    tab.refresh(force=True)
    rows = []
    while True:
        _, page, _ = parse_table(tab.table.value, "qlw-rank")
        rows += page
        if tab.next_btn.disabled:
            break
        tab.next_btn.click()
    assert app.error.value == "", app.error.value
    return pd.DataFrame(rows)
