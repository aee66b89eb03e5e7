"""CJK font discovery and the house style (qlwork.charts.fonts)."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib import font_manager as fm
from matplotlib import ft2font
from matplotlib.figure import Figure

from qlwork.charts import fonts
from qlwork.errors import QlworkError


def _glyph_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "missing from font" in str(w.message)]


def test_found_font_covers_chinese_and_family_is_read_from_file():
    f = fonts.find_cjk_font()
    assert f.path.is_file()
    face = ft2font.FT2Font(str(f.path), face_index=f.face_index)
    # The family is whatever the file says, not a hard-coded guess.
    assert face.family_name == f.family
    cm = face.get_charmap()
    assert all(ord(c) in cm for c in fonts.PROBE_TEXT)
    assert fonts.cjk_font_family() == f.family
    assert f.family in {e.name for e in fm.fontManager.ttflist}


def test_prefers_mplfonts_wheel():
    d = fonts._mplfonts_dir()
    if d is None or not (d / "NotoSansCJKsc-Regular.otf").is_file():
        pytest.skip("mplfonts wheel not installed")
    assert fonts.find_cjk_font().origin == "mplfonts"
    assert fonts.find_cjk_font().family == "Noto Sans CJK SC"


def test_debian_collection_picks_simplified_chinese_face():
    if not fonts.DEBIAN_NOTO_CJK.is_file():
        pytest.skip("fonts-noto-cjk not installed")
    hit = fonts._pick_face(fonts.DEBIAN_NOTO_CJK, "debian")
    # The .ttc holds JP, KR, SC, TC, HK (+ Mono) faces; SC must win, not face 0 (JP).
    assert hit.family == "Noto Sans CJK SC"
    assert hit.face_index != 0


def test_font_without_cjk_is_rejected():
    dejavu = Path(fm.findfont("DejaVu Sans"))
    assert fonts._pick_face(dejavu, "system") is None


def test_env_override(monkeypatch):
    if not fonts.DEBIAN_NOTO_CJK.is_file():
        pytest.skip("fonts-noto-cjk not installed")
    fonts.find_cjk_font.cache_clear()
    monkeypatch.setenv("QLWORK_CJK_FONT", str(fonts.DEBIAN_NOTO_CJK))
    try:
        f = fonts.find_cjk_font()
        assert f.origin == "env" and f.path == fonts.DEBIAN_NOTO_CJK
    finally:
        monkeypatch.delenv("QLWORK_CJK_FONT")
        fonts.find_cjk_font.cache_clear()


def test_no_font_is_a_located_bilingual_error(monkeypatch):
    fonts.find_cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "_mplfonts_dir", lambda: None)
    monkeypatch.setattr(fonts, "DEBIAN_NOTO_CJK", Path("/nonexistent.ttc"))
    monkeypatch.setattr(fonts, "_pick_face", lambda path, origin: None)
    try:
        with pytest.raises(QlworkError, match="找不到可显示中文的字体") as e:
            fonts.find_cjk_font()
        assert "no font with Chinese glyphs" in str(e.value)
    finally:
        fonts.find_cjk_font.cache_clear()


def test_apply_style_survives_rcparams_reset():
    from qlwork.charts.style import apply_style

    with mpl.rc_context():
        fam = apply_style()
        assert mpl.rcParams["font.sans-serif"][0] == fam
        mpl.rcdefaults()  # what a caller's own style reset does (DejaVu Sans first)
        assert mpl.rcParams["font.sans-serif"][0] != fam
        apply_style()
        assert mpl.rcParams["font.sans-serif"][0] == fam
        assert mpl.rcParams["font.family"][0] == fam


def _render(text: str) -> list[str]:
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.set_title(text)
    ax.set_xlabel("负数 −1.5 与 ‰")
    ax.plot([-1, 1], [-2, 2])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    return _glyph_warnings(rec)


def test_detector_catches_missing_glyphs_without_cjk_font():
    # Negative control: with DejaVu only, Chinese must produce the warning we test for.
    with mpl.rc_context({"font.family": ["DejaVu Sans"], "font.sans-serif": ["DejaVu Sans"]}):
        assert _render("清廉指数排行榜")


def test_no_missing_glyphs_with_house_fonts():
    with mpl.rc_context(fonts.font_rc()):
        assert _render("清廉指数排行榜：优秀、良好、合格、不合格（２０２５年）") == []
