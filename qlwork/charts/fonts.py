"""Find and register a CJK (Chinese) font for matplotlib at runtime.

A chart that shows boxes (豆腐块) instead of Chinese characters is useless in a
report, and matplotlib's default DejaVu Sans has no CJK glyphs.  This module
locates a font that covers the characters we draw, registers it with
matplotlib's font manager, reads the *family name from the font file itself*
(never hard-coded: Debian's ``.ttc`` and the mplfonts ``.otf`` spell it
differently) and puts it first in ``font.sans-serif``.

Search order (first hit wins):

1. the ``mplfonts`` wheel's ``fonts/NotoSansCJKsc-Regular.otf`` (ships with the
   package, so it works on any machine, incl. Windows without Chinese fonts);
2. Debian/Ubuntu ``fonts-noto-cjk``: ``/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc``
   (a collection; the Simplified-Chinese face is chosen by its family name);
3. any other font matplotlib knows about (system fonts, e.g. Microsoft YaHei,
   SimHei, PingFang SC, WenQuanYi) whose character map covers a probe string.

The environment variable ``QLWORK_CJK_FONT`` (a file path) overrides the search.

The rest of the house style (sizes, grid, colours) is :mod:`qlwork.charts.style`,
whose ``apply_style``/``style_context`` put :func:`font_rc` on top of it.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, QlworkError

__all__ = [
    "CJKFont",
    "find_cjk_font",
    "register_cjk_font",
    "cjk_font_family",
    "font_rc",
    "PROBE_TEXT",
]

#: Characters every candidate must cover: grades, node names, report words,
#: full-width punctuation (symbols such as − ‰ fall back to DejaVu Sans).
PROBE_TEXT = "清廉指数优秀良好合格不合格干部正政府明社会朗村事爽民心乡风朴群和睦排行榜体检报告单（）：，、"

DEBIAN_NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

# Families worth trying when scanning system fonts, in preference order.
_PREFERRED_NAMES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei",
    "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "SimHei", "Heiti SC", "Noto Sans SC", "Sarasa Gothic SC", "Droid Sans Fallback",
)


@dataclass(frozen=True)
class CJKFont:
    """A located CJK font: file, face inside a collection, family read from the file."""

    path: Path
    face_index: int
    family: str
    origin: str  # "env" | "mplfonts" | "debian" | "system"

    def __repr__(self) -> str:
        return f"CJKFont({self.family!r}, {self.path.name}#{self.face_index}, from {self.origin})"


def _faces(path: Path) -> list[tuple[int, str, set[int]]]:
    """(face index, family name, char codes) for every face in a font file."""
    from matplotlib import ft2font

    out = []
    try:
        first = ft2font.FT2Font(str(path))
    except Exception:  # unreadable / not a font: skip quietly, the search goes on
        return out
    n = getattr(first, "num_faces", 1) or 1
    for i in range(n):
        try:
            f = first if i == 0 else ft2font.FT2Font(str(path), face_index=i)
        except Exception:
            continue
        out.append((i, f.family_name, set(f.get_charmap())))
    return out


def _covers(charmap: set[int], text: str = PROBE_TEXT) -> bool:
    return all(ord(c) in charmap for c in text)


def _pick_face(path: Path, origin: str) -> CJKFont | None:
    """Best face of ``path`` covering the probe; prefer Simplified-Chinese, non-mono."""
    faces = [(i, fam) for i, fam, cm in _faces(path) if _covers(cm)]
    if not faces:
        return None

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        fam = item[1]
        sc = 0 if (" SC" in fam or fam.endswith("SC") or " CN" in fam or "GB" in fam) else 1
        mono = 1 if "Mono" in fam else 0
        return (mono, sc)

    i, fam = min(faces, key=rank)
    return CJKFont(Path(path), i, fam, origin)


def _mplfonts_dir() -> Path | None:
    # find_spec, not import: locating the wheel's files needs no side effects.
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "fonts"


@functools.lru_cache(maxsize=None)
def find_cjk_font() -> CJKFont:
    """Locate a CJK font (see module docstring for the order); cached per process.

    Raises :class:`QlworkError` when no installed font covers Chinese text.
    """
    env = os.environ.get("QLWORK_CJK_FONT")
    if env:
        hit = _pick_face(Path(env), "env")
        if hit:
            return hit
    d = _mplfonts_dir()
    if d is not None:
        for name in ("NotoSansCJKsc-Regular.otf", "SourceHanSansSC-Regular.otf", "SimHei.ttf"):
            if (d / name).is_file():
                hit = _pick_face(d / name, "mplfonts")
                if hit:
                    return hit
    if DEBIAN_NOTO_CJK.is_file():
        hit = _pick_face(DEBIAN_NOTO_CJK, "debian")
        if hit:
            return hit
    from matplotlib import font_manager as fm

    entries = {e.name: e for e in fm.fontManager.ttflist}
    for name in _PREFERRED_NAMES:
        if name in entries:
            hit = _pick_face(Path(entries[name].fname), "system")
            if hit:
                return hit
    for path in sorted(set(fm.findSystemFonts())):
        hit = _pick_face(Path(path), "system")
        if hit:
            return hit
    raise QlworkError(Problem(
        "no_cjk_font",
        "找不到可显示中文的字体。请安装 mplfonts（pip install mplfonts）或 fonts-noto-cjk，"
        "或用环境变量 QLWORK_CJK_FONT 指定字体文件",
        "no font with Chinese glyphs found; install mplfonts or fonts-noto-cjk, or set QLWORK_CJK_FONT",
        expected="Noto Sans CJK SC / 思源黑体 / 微软雅黑 等中文字体"))


@functools.lru_cache(maxsize=None)
def register_cjk_font() -> CJKFont:
    """Find the CJK font and add it to matplotlib's font manager (idempotent)."""
    from matplotlib import font_manager as fm

    font = find_cjk_font()
    known = {Path(e.fname).resolve() for e in fm.fontManager.ttflist}
    paths = [font.path]
    # The wheel has no bold face; Debian's bold collection gives real bold titles.
    bold = DEBIAN_NOTO_CJK.with_name("NotoSansCJK-Bold.ttc")
    if bold.is_file() and any(fam == font.family for _, fam, _ in _faces(bold)):
        paths.append(bold)
    for p in paths:
        if p.resolve() not in known:
            fm.fontManager.addfont(str(p))
    return font


def cjk_font_family() -> str:
    """Family name of the registered CJK font, e.g. ``"Noto Sans CJK SC"``."""
    return register_cjk_font().family


def font_rc() -> dict:
    """rcParams that make every text element use the CJK font (for ``rc_context``).

    The CJK family goes first in ``font.sans-serif`` (Noto Sans CJK also has
    Latin glyphs and the math minus); DejaVu Sans stays as fallback for any
    symbol it lacks.  SVG keeps text as text (searchable, editable in Word or
    Inkscape) with a CSS font list ending in generic sans-serif.
    """
    from matplotlib import font_manager as fm

    fam = cjk_font_family()
    # Only families that exist: an unknown name makes matplotlib log a warning per text.
    installed = {e.name for e in fm.fontManager.ttflist}
    fallback = [f for f in ("DejaVu Sans",) if f in installed]
    return {
        # Concrete names in font.family are copied into every Text when it is
        # created, so a figure drawn later (notebook display, savefig after an
        # rcParams reset) still uses the CJK font.
        "font.family": [fam, *fallback, "sans-serif"],
        "font.sans-serif": [fam, *fallback],
        "axes.unicode_minus": True,
        "svg.fonttype": "none",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
    }
