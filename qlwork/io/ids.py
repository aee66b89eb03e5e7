"""Rules for identifiers: unit ids, framework/node/indicator ids (issue 17).

An id names a unit or an indicator in every table, and ends up in file names (reports,
notices, charts).  Two failures matter:

- an id that is **unsafe**: a path separator (``/``, ``\\``), ``..``, a control character,
  or an *invisible* one (zero-width space U+200B, BOM U+FEFF, word joiner U+2060, soft
  hyphen, bidirectional controls …) — it could write outside the output folder, or it
  names a unit that nobody can type;
- an id that **looks like** another one: ``U0О1`` with a Cyrillic О, ``U００1`` in full-width
  digits, ``u001`` next to ``U001`` — on screen the same unit, in the data a new one.

:func:`id_problem` checks one id; :func:`skeleton` maps an id to what a reader sees
(NFKC, case-folded, invisible characters dropped, Cyrillic/Greek letters that look Latin
mapped to Latin, O/o → 0 and l/I → 1 — after Unicode TR39's confusable skeletons,
restricted to the characters that occur in codes), so two ids with one skeleton are look-alikes; :func:`confusable_chars`
names the letters of another script that pass for Latin.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import Problem

__all__ = ["id_problem", "text_problem", "skeleton", "confusable_chars", "describe_chars", "visible",
           "registry_id_problem", "INVISIBLE"]

#: characters that render as nothing (beyond the Unicode "format" category Cf)
INVISIBLE = frozenset("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0\u2800")

# Cyrillic and Greek letters that pass for Latin ones in a code (TR39 confusables, subset)
_CONFUSABLE = {
    **dict(zip("АВЕКМНОРСТУХЅІЈаеорсухѕіјԁһӏԛԝ", "ABEKMHOPCTYXSIJaeopcyxsijdhlqw")),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ", "ABEZHIKMNOPTYXaiknoptux")),
    "ǀ": "l", "ı": "i", "ȷ": "j", "ℓ": "l", "Ⅰ": "I", "ⅰ": "i", "Ⅴ": "V", "Ⅹ": "X",
}
# in a skeleton, letters that pass for digits become the digit (U0O1 ~ U001, UI1 ~ U11): TR39 maps them together
_AS_DIGIT = {**dict.fromkeys("Oo", "0"), **dict.fromkeys("lI|", "1")}
_SEPARATORS = frozenset("/\\")


def _hex(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def describe_chars(chars) -> str:
    """``"U+200B ZERO WIDTH SPACE, U+041E CYRILLIC CAPITAL LETTER O"``."""
    return ", ".join(_hex(c) for c in dict.fromkeys(chars))


def _invisible(ch: str) -> bool:
    return ch in INVISIBLE or unicodedata.category(ch) in ("Cf", "Zl", "Zp")


_INVISIBLE_RE = re.compile("[" + "".join(sorted(INVISIBLE)) + "]")
# letters that pass for digits, for the skeleton of a plain ASCII id (the common case, at C speed)
_ASCII_SKELETON = str.maketrans("OoIl|", "00111")


def _plain(s: str) -> bool:
    """True for text whose every character is printable and visible — no control, format,
    separator, private-use or unassigned character (``str.isprintable`` tests exactly those
    categories, at C speed; spaces other than ASCII count as unprintable too)."""
    return s.isprintable() and not _INVISIBLE_RE.search(s)


def id_problem(value: Any, *, max_chars: int = 64) -> tuple[str, str, str, str] | None:
    """``(code, 中文, English, found)`` when ``value`` cannot be an id, else None.

    Codes: ``unsafe_id`` (path separator, ``..``, control, invisible, private-use or
    unassigned character) and ``id_too_long``."""
    s = str(value)
    if _plain(s) and "/" not in s and "\\" not in s and ".." not in s and len(s) <= max_chars:
        return None  # the common case, decided at C speed
    ctrl = [c for c in s if unicodedata.category(c) == "Cc"]
    if ctrl:
        return ("unsafe_id", f"编码含控制字符 {describe_chars(ctrl)}", f"id holds control characters "
                f"{describe_chars(ctrl)}", repr(s))
    inv = [c for c in s if _invisible(c)]
    if inv:
        return ("unsafe_id", f"编码含不可见字符 {describe_chars(inv)}（如零宽空格、BOM、连接符），看起来与另一个编码相同",
                f"id holds invisible characters {describe_chars(inv)} (zero-width space, BOM, joiner …): it looks "
                "like another id", repr(s))
    odd = [c for c in s if unicodedata.category(c) in ("Co", "Cn", "Cs")]
    if odd:
        return ("unsafe_id", f"编码含私用区或未分配的字符 {describe_chars(odd)}",
                f"id holds private-use or unassigned characters {describe_chars(odd)}", repr(s))
    if any(c in _SEPARATORS for c in s) or ".." in s:
        return ("unsafe_id", "编码含路径分隔符（/ 或 \\）或“..”，不能作为编码（会被当作文件路径）",
                "id holds a path separator (/ or \\) or '..'; not usable as an id (it reads as a file path)", s)
    if len(s) > max_chars:
        return ("id_too_long", f"编码过长（{len(s)} 个字符，上限 {max_chars}）",
                f"id too long ({len(s)} characters; limit {max_chars})", s[:40] + "…")
    return None


def text_problem(value: Any, *, max_chars: int = 200) -> tuple[str, str, str, str] | None:
    """``(code, 中文, English, found)`` for a name or label that would break an output or hide
    something: control characters (``bad_text``), invisible characters (``bad_text``), or
    more than ``max_chars`` characters (``text_too_long``)."""
    s = str(value)
    if _plain(s.replace(" ", "")) and len(s) <= max_chars:
        return None
    ctrl = [c for c in s if unicodedata.category(c) == "Cc"]
    if ctrl:
        return ("bad_text", f"文字含控制字符 {describe_chars(ctrl)}，无法写入报告和 Excel",
                f"text holds control characters {describe_chars(ctrl)}, which reports and Excel cannot hold", repr(s))
    inv = [c for c in s if _invisible(c)]
    if inv:
        return ("bad_text", f"文字含不可见字符 {describe_chars(inv)}", f"text holds invisible characters "
                f"{describe_chars(inv)}", repr(s))
    if len(s) > max_chars:
        return ("text_too_long", f"文字过长（{len(s)} 个字符，上限 {max_chars}）",
                f"text too long ({len(s)} characters; limit {max_chars})", s[:40] + "…")
    return None


def confusable_chars(value: Any) -> list[str]:
    """Letters of another script in ``value`` that pass for Latin ones — only when the id
    also holds Latin letters or digits (a whole-Cyrillic name is not a look-alike)."""
    s = str(value)
    if s.isascii():
        return []
    conf = [c for c in s if c in _CONFUSABLE]
    if conf and any(c.isascii() and c.isalnum() for c in s):
        return conf
    return []


def skeleton(value: Any, *, fold_case: bool = True) -> str:
    """What a reader sees: NFKC (full width → ASCII), case-folded, invisible characters
    dropped, Cyrillic/Greek look-alikes mapped to Latin.  Equal skeletons = look-alikes.
    ``fold_case=False`` keeps case (framework ids: node ``A`` and indicator ``a`` are fine —
    they never share a file name; unit ids are case-folded because they do)."""
    s = str(value)
    if s.isascii() and s.isprintable():
        s = s.strip().translate(_ASCII_SKELETON)
        return s.casefold() if fold_case else s
    s = unicodedata.normalize("NFKC", s)
    s = "".join(_CONFUSABLE.get(c, c) for c in s if not _invisible(c) and unicodedata.category(c) != "Cc")
    s = "".join(_AS_DIGIT.get(c, c) for c in s.strip())
    return s.casefold() if fold_case else s


def visible(text: str) -> str:
    """``text`` without control and invisible characters."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc" and not _invisible(c))


def registry_id_problem(uid: str, seen_skel: dict, *, file: str, sheet: str | None, row: int,
                        column: str | None) -> Problem | None:
    """An unsafe id (separator, "..", control or invisible characters), an id with letters of
    another script that pass for Latin, or a look-alike of an earlier row (same skeleton:
    NFKC, case, confusables) — located, with the other row."""
    bad = id_problem(uid)
    if bad is not None:
        return Problem(bad[0], f"单位编码 {uid!r}：{bad[1]}，该行未采用", f"unit id {uid!r}: {bad[2]}; row not used",
                       file=file, sheet=sheet, row=row, column=column, found=bad[3],
                       expected="由字母、数字、汉字和 - _ . 组成的编码 letters, digits and - _ .")
    conf = confusable_chars(uid)
    other = seen_skel.get(skeleton(uid))
    if other is not None:
        return Problem("lookalike_id", f"单位编码 {uid!r} 与名录第 {other[1]} 行的 {other[0]!r} 看起来相同"
                       + (f"（含 {describe_chars(conf)}）" if conf else "（大小写或全角/半角不同）") + "，该行未采用",
                       f"unit id {uid!r} looks the same as {other[0]!r} in registry row {other[1]}"
                       + (f" ({describe_chars(conf)})" if conf else " (case or width differs)") + "; row not used",
                       file=file, sheet=sheet, row=row, column=column, found=uid,
                       expected=f"与第 {other[1]} 行不同的编码，或同一单位只写一行 a distinct id")
    if conf:
        return Problem("confusable_id", f"单位编码 {uid!r} 含与拉丁字母形近的其他文字字母 {describe_chars(conf)}，"
                       "看起来是拉丁字母，输入时无法对上；该行未采用", f"unit id {uid!r} holds letters of another script "
                       f"that pass for Latin ({describe_chars(conf)}); nobody can type it — row not used",
                       file=file, sheet=sheet, row=row, column=column, found=uid,
                       expected="拉丁字母和数字 Latin letters and digits")
    return None
