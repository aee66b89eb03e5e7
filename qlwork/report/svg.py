"""Hand-built inline SVG charts for the per-unit reports.

Drawing 1,500 reports with matplotlib takes minutes (≈0.1–0.3 s per figure);
these charts are a few hundred bytes of SVG built from the numbers directly,
so a whole county renders in seconds, prints sharply at any size and needs no
font embedding (the browser's CJK font stack draws the labels).
"""
from __future__ import annotations

import math
from html import escape
from typing import Sequence

__all__ = ["score_bars", "trend_line", "gap_axis", "grade_color"]

_GRID = "#d0d5dd"
_TEXT = "#1f2937"
_MUTED = "#6b7280"
_BAND = "#e5e7eb"
#: Width (px) of a value label such as "100.0" at font size 11 (≈ 0.6 em per digit or point).
_VALUE_W = 30


def grade_color(score: float | None, grades: Sequence[tuple[str, float]] = (), pass_mark: float = 60.0) -> str:
    """Colour of a score by the grade band it falls in — the house palette keyed on the grade
    (:func:`qlwork.labels.grade_colors`).  A unit's *total* is drawn in its grade's colour by the
    caller (``row["color"]``), so a vetoed unit is never drawn in a good grade's colour."""
    from ..labels import MISSING_COLOR, grade_colors

    if score is None or (isinstance(score, float) and math.isnan(score)):
        return MISSING_COLOR
    bands = sorted(grades, key=lambda t: -t[1]) if grades else [("优秀", 90.0), ("良好", 80.0), ("合格", pass_mark),
                                                                 ("不合格", -math.inf)]
    cols = grade_colors([lab for lab, _ in bands])
    for lab, lo in bands:
        if score >= lo:
            return cols[lab]
    return cols[bands[-1][0]]


def _f(x: float) -> str:
    return f"{x:.1f}"


def score_bars(rows: Sequence[dict], *, width: int = 660, label_w: int = 150, row_h: int = 26,
               pass_mark: float = 60.0, grades: Sequence[tuple[str, float]] = ()) -> str:
    """Horizontal 0–100 bars: the unit's score, the peers' interquartile band and median.

    rows: dicts with label, value, p25, median, p75 (peer statistics may be None).
    """
    right = 52
    plot_w = width - label_w - right
    top, bottom = 20, 18
    h = top + bottom + row_h * len(rows)
    sx = lambda v: label_w + plot_w * max(0.0, min(100.0, v)) / 100.0  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" width="100%" '
           f'role="img" class="chart">']
    for t in range(0, 101, 20):
        x = _f(sx(t))
        out.append(f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{h - bottom}" stroke="{_GRID}" stroke-width="0.6"/>'
                   f'<text x="{x}" y="{h - 6}" font-size="10" fill="{_MUTED}" text-anchor="middle">{t}</text>')
    pm = _f(sx(pass_mark))
    out.append(f'<line x1="{pm}" y1="{top - 10}" x2="{pm}" y2="{h - bottom}" stroke="#dc2626" '
               f'stroke-dasharray="3 2" stroke-width="1"/>'
               f'<text x="{pm}" y="{top - 12}" font-size="9" fill="#dc2626" text-anchor="middle">合格线 {pass_mark:g}</text>')
    for i, r in enumerate(rows):
        y0 = top + i * row_h
        yc = y0 + row_h / 2
        out.append(f'<text x="{label_w - 8}" y="{_f(yc + 4)}" font-size="12" fill="{_TEXT}" '
                   f'text-anchor="end">{escape(str(r["label"]))}</text>')
        p25, med, p75 = r.get("p25"), r.get("median"), r.get("p75")
        if p25 is not None and p75 is not None and not (math.isnan(p25) or math.isnan(p75)):
            out.append(f'<rect x="{_f(sx(p25))}" y="{_f(y0 + 4)}" width="{_f(max(sx(p75) - sx(p25), 1))}" '
                       f'height="{row_h - 8}" fill="{_BAND}"/>')
        v = r.get("value")
        if v is not None and not math.isnan(v):
            col = r.get("color") or grade_color(v, grades, pass_mark)
            tx = sx(v) + 4
            if med is not None and not math.isnan(med) and tx - 3 < sx(med) < tx + _VALUE_W + 1:
                tx = sx(med) + 4  # the peer-median tick would cross the value: write it after the tick
            out.append(f'<rect x="{label_w}" y="{_f(y0 + 9)}" width="{_f(sx(v) - label_w)}" '
                       f'height="{row_h - 18}" fill="{col}" rx="2"/>'
                       f'<text x="{_f(tx)}" y="{_f(yc + 4)}" font-size="11" fill="{_TEXT}">{v:.{int(r.get("dec", 1))}f}</text>')
        else:
            out.append(f'<text x="{label_w + 4}" y="{_f(yc + 4)}" font-size="11" fill="{_MUTED}">无数据</text>')
        if med is not None and not math.isnan(med):
            xm = _f(sx(med))
            out.append(f'<line x1="{xm}" y1="{_f(y0 + 3)}" x2="{xm}" y2="{_f(y0 + row_h - 3)}" '
                       f'stroke="{_TEXT}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def trend_line(periods: Sequence[str], values: Sequence[float], *, peer: Sequence[float] | None = None,
               width: int = 320, height: int = 130, pass_mark: float = 60.0) -> str:
    """Total score over periods (solid) with the peer median (dashed) and the pass mark."""
    n = len(periods)
    left, right, top, bottom = 44, 26, 14, 28
    pw, ph = width - left - right, height - top - bottom
    finite = [v for v in list(values) + list(peer or []) if v is not None and not math.isnan(v)]
    lo = min([pass_mark] + finite) if finite else 0.0
    hi = max([pass_mark] + finite) if finite else 100.0
    lo, hi = max(0.0, math.floor((lo - 5) / 10) * 10), min(100.0, math.ceil((hi + 5) / 10) * 10)
    if hi <= lo:
        lo, hi = 0.0, 100.0
    sx = lambda i: left + (pw * (i / (n - 1)) if n > 1 else pw / 2)  # noqa: E731
    sy = lambda v: top + ph * (1 - (v - lo) / (hi - lo))  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" class="chart">']
    for t in range(int(lo), int(hi) + 1, 10):
        y = _f(sy(t))
        out.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="{_GRID}" stroke-width="0.5"/>'
                   f'<text x="{left - 4}" y="{_f(sy(t) + 3)}" font-size="9" fill="{_MUTED}" text-anchor="end">{t}</text>')
    if lo <= pass_mark <= hi:
        y = _f(sy(pass_mark))
        out.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="#dc2626" '
                   f'stroke-dasharray="3 2" stroke-width="1"/>')
    from ..periods import label_zh

    for i, p in enumerate(periods):
        # as a person reads it (2025年 / 上半年), on two lines so that four periods never overlap
        year, _, rest = label_zh(p).partition("年")
        x = _f(sx(i))
        if rest:
            out.append(f'<text x="{x}" y="{height - 13}" font-size="9" fill="{_MUTED}" text-anchor="middle">'
                       f'<tspan x="{x}">{escape(year)}年</tspan><tspan x="{x}" dy="10">{escape(rest)}</tspan></text>')
        else:
            out.append(f'<text x="{x}" y="{height - 6}" font-size="10" fill="{_MUTED}" '
                       f'text-anchor="middle">{escape(str(p))}</text>')

    def path(vals, style):
        pts = [(sx(i), sy(v)) for i, v in enumerate(vals) if v is not None and not math.isnan(v)]
        if not pts:
            return ""
        d = " ".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        return f'<polyline points="{d}" fill="none" {style}/>'

    if peer is not None:
        out.append(path(peer, f'stroke="{_MUTED}" stroke-width="1.5" stroke-dasharray="4 3"'))
    out.append(path(values, 'stroke="#1d4ed8" stroke-width="2.2"'))
    for i, v in enumerate(values):
        if v is not None and not math.isnan(v):
            anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
            out.append(f'<circle cx="{_f(sx(i))}" cy="{_f(sy(v))}" r="3.2" fill="#1d4ed8"/>'
                       f'<text x="{_f(sx(i))}" y="{_f(_label_baseline(sy(v), _at(peer, i, sy)))}" '
                       f'font-size="9.5" fill="{_TEXT}" text-anchor="{anchor}">{v:.1f}</text>')
    out.append("</svg>")
    return "".join(out)


def _at(peer: Sequence[float] | None, i: int, sy) -> float | None:
    """The peer line's y at point ``i`` (None where there is no peer value)."""
    if peer is None or i >= len(peer):
        return None
    v = peer[i]
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else sy(v)


#: Value labels in the trend chart: 9.5 px text, baseline 6 px above or 13 px below the point.
_LABEL_ABOVE, _LABEL_BELOW, _LABEL_H = 6.0, 13.0, 9.5


def _label_baseline(y: float, peer_y: float | None) -> float:
    """Baseline for a value label: above the point unless the peer line runs through that
    spot, then below it (or whichever side keeps farther from the line)."""
    above = y - _LABEL_ABOVE
    if peer_y is None:
        return above
    below = y + _LABEL_BELOW

    def clear(base: float) -> float:  # distance from the line to the text band [base − h, base]
        top = base - _LABEL_H
        return 0.0 if top - 2 <= peer_y <= base + 2 else min(abs(peer_y - top), abs(peer_y - base))

    return above if clear(above) > 0 or clear(above) >= clear(below) else below


def gap_axis(internal: float | None, public: float | None, *, peer_internal: float | None = None,
             peer_public: float | None = None, width: int = 320, height: int = 92) -> str:
    """Internal (专业分) and public (获得感) scores as two dots on one 0–100 axis, gap shaded."""
    left, right = 16, 16
    pw = width - left - right
    sx = lambda v: left + pw * max(0.0, min(100.0, v)) / 100.0  # noqa: E731
    y = 46
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" class="chart">',
           f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="{_GRID}" stroke-width="2"/>']
    for t in range(0, 101, 20):
        out.append(f'<text x="{_f(sx(t))}" y="{height - 4}" font-size="9" fill="{_MUTED}" text-anchor="middle">{t}</text>'
                   f'<line x1="{_f(sx(t))}" y1="{y - 3}" x2="{_f(sx(t))}" y2="{y + 3}" stroke="{_GRID}"/>')
    ok = lambda v: v is not None and not math.isnan(v)  # noqa: E731
    if ok(internal) and ok(public):
        a, b = sorted((sx(internal), sx(public)))
        out.append(f'<rect x="{_f(a)}" y="{y - 5}" width="{_f(max(b - a, 1))}" height="10" fill="#fde68a"/>')
    for v, pv, col, lab, dy in ((internal, peer_internal, "#1d4ed8", "专业分", -14),
                                (public, peer_public, "#c2410c", "获得感", 26)):
        if ok(pv):  # peer median: hollow ring on the axis, never under a label
            out.append(f'<circle cx="{_f(sx(pv))}" cy="{y}" r="7.5" fill="none" stroke="{col}" '
                       f'stroke-width="1.3" stroke-dasharray="2 1.5"/>')
        if ok(v):
            out.append(f'<circle cx="{_f(sx(v))}" cy="{y}" r="6" fill="{col}"/>'
                       f'<text x="{_f(sx(v))}" y="{y + dy}" font-size="10.5" fill="{col}" '
                       f'text-anchor="middle">{lab} {v:.1f}</text>')
    out.append("</svg>")
    return "".join(out)
