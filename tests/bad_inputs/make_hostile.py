"""Hostile and careless inputs for the corpus (issue 17), added to cases.yaml by make_corpus.py.

Each class of the issue gets cases: ids that write outside the output folder or look like
other ids, unbounded resources (used range, zip bombs, billion laughs, deep nesting, pipes,
links to devices), hidden sheets, formula names, non-numeric settings, survey/margins
encodings, disk full, output folders qlwork does not own and traversal in every CLI option.
A case without ``file`` builds what it needs at test time (``setup``: a named pipe, a
link, a folder named like a file) or runs the CLI on a small project (``argv``).
"""
from __future__ import annotations

import io
import struct
import zipfile

from make_corpus import (  # noqa: E402 - sibling script, imported with its folder on sys.path
    DEPT, FILES, FW_HEAD, HEAD, NOTE, TITLE, UNITS, body, dept, edit, fw_yaml, survey, survey_rows, write_bytes, xlsx,
)

FW_OK_TAIL = """  - id: A
    name: 甲
    weight: 1.0
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 1.0}
"""
FW_OK = FW_HEAD + FW_OK_TAIL


def add_member(name: str, member: str, data: bytes) -> str:
    """Append a zip member to a corpus workbook (fixed timestamp, deterministic)."""
    path = FILES / name
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, d in items:
            zout.writestr(info, d)
        zi = zipfile.ZipInfo(member, date_time=(2025, 12, 31, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zout.writestr(zi, data)
    path.write_bytes(buf.getvalue())
    return name


def rewrite(name: str, member: str, fn) -> str:
    """Rewrite one member of a corpus workbook (compression level 9: padding packs small)."""
    path = FILES / name
    with zipfile.ZipFile(path) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info, d in items:
            zout.writestr(info, fn(d) if info.filename == member else d)
    path.write_bytes(buf.getvalue())
    return name


def set_declared_size(name: str, member: str, size: int) -> str:
    """Overwrite the uncompressed size a zip's central directory declares for ``member``."""
    path = FILES / name
    data = bytearray(path.read_bytes())
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            raise ValueError(member)
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        if bytes(data[pos + 46:pos + 46 + n]).decode() == member:
            struct.pack_into("<I", data, pos + 24, size)
            path.write_bytes(bytes(data))
            return name
        pos += 46 + n + m + k


def reg(name: str, rows) -> str:
    xlsx(FILES / name, {"单位名录": rows})
    return name


def reg_row(uid=None, name=None, utype=None, i=1):
    r = list(UNITS[i])
    if uid is not None:
        r[0] = uid
    if name is not None:
        r[1] = name
    if utype is not None:
        r[2] = utype
    return r


def build_hostile(case) -> None:
    B = body()
    R = "registry"
    # ================================================================ ids → file names, look-alikes
    bad_ids = [
        ("reg_id_traversal.xlsx", "../../../../../raw/pwned", "unsafe_id", "路径分隔符", "path separator",
         "单位编码 ../../../../../raw/pwned：写进文件名会落到 data/raw a unit id that would write into data/raw"),
        ("reg_id_slash.xlsx", "YY/001", "unsafe_id", "路径分隔符", "path separator", "单位编码含斜杠 YY/001 an id with a slash"),
        ("reg_id_backslash.xlsx", "YY\\001", "unsafe_id", "路径分隔符", "path separator", "单位编码含反斜杠 a backslash"),
        ("reg_id_dotdot.xlsx", "..", "unsafe_id", "“..”", "'..'", "单位编码为“..” the id '..'"),
        ("reg_id_zwsp.xlsx", "U\u200b9", "unsafe_id", "不可见字符", "invisible", "单位编码含零宽空格 U+200B zero-width space"),
        ("reg_id_bom.xlsx", "\ufeffU9", "unsafe_id", "不可见字符", "invisible", "单位编码以 BOM 开头 a BOM before the id"),
        ("reg_id_word_joiner.xlsx", "U\u20609", "unsafe_id", "不可见字符", "invisible", "单位编码含连接符 U+2060 word joiner"),
        ("reg_id_rtl_override.xlsx", "U9\u202e1", "unsafe_id", "不可见字符", "invisible",
         "单位编码含从右到左覆盖符 U+202E right-to-left override"),
        ("reg_id_private_use.xlsx", "U9\ue000", "unsafe_id", "私用区", "private-use", "单位编码含私用区字符 a private-use character"),
        ("reg_id_too_long.xlsx", "U" + "9" * 120, "id_too_long", "编码过长", "too long", "单位编码 121 个字符 an id of 121 characters"),
    ]
    for fname, uid, code, zh, en, note in bad_ids:
        case(reg(fname, [UNITS[0], *UNITS[1:], reg_row(uid)]), R,
             [{"code": code, "file": "units.xlsx", "row": 6, "column": "A", "zh": zh, "en": en}], note=note)
    case(reg("reg_id_control_char.xlsx", [UNITS[0], *UNITS[1:], reg_row("U9_x0007_")]), R,
         [{"code": "unsafe_id", "row": 6, "column": "A", "zh": "控制字符", "en": "control characters"}],
         note="单位编码含控制字符 BEL（_x0007_） a control character in an id")
    case(reg("reg_lookalike_cyrillic.xlsx", [*UNITS, reg_row("U\u04211")]), R,
         [{"code": "confusable_id", "row": 6, "column": "A", "zh": "形近", "en": "pass for Latin"}],
         note="单位编码含西里尔字母 С（像拉丁 C；无同形编码时也报告） a Cyrillic letter in an id")
    case(reg("reg_lookalike_cyrillic_twin.xlsx", [*UNITS, reg_row("U\u04271"), ["UO1", *UNITS[1][1:]],
                                                 ["U\u041e1", *UNITS[2][1:]]]), R,
         [{"code": "lookalike_id", "row": 8, "column": "A", "found": "UО1", "zh": "第 7 行", "en": "registry row 7"}],
         note="名录中 UО1（西里尔 О）与 UO1（拉丁 O）两行：后者报为形近 Cyrillic О twin of a Latin id")
    case(reg("reg_lookalike_case.xlsx", [*UNITS, reg_row("u1")]), R,
         [{"code": "lookalike_id", "row": 6, "found": "u1", "zh": "第 2 行", "en": "case or width"}],
         note="名录中 u1 与 U1 只差大小写（Windows 上文件名相同） ids differing only in case")
    case(reg("reg_lookalike_fullwidth.xlsx", [*UNITS, reg_row("Ｕ１")]), R,
         [{"code": "duplicate_unit", "row": 6, "found": "Ｕ１", "zh": "第 2 行"}],
         note="名录中全角 Ｕ１ 与 U1：按半角比较为重复 full-width digits, a duplicate after NFKC")
    case(reg("reg_name_control_char.xlsx", [UNITS[0], reg_row(name="甲_x0007_局"), *UNITS[2:]]), R,
         [{"code": "bad_text", "row": 2, "column": "B", "zh": "控制字符", "en": "control characters"}],
         note="单位名称含控制字符（导入能过，报告失败） a control character in a unit name")
    case(reg("reg_name_rtl_override.xlsx", [UNITS[0], reg_row(name="甲局\u202egpj.exe"), *UNITS[2:]]), R,
         [{"code": "bad_text", "row": 2, "column": "B", "zh": "不可见字符", "en": "invisible"}],
         note="单位名称含 U+202E 方向覆盖符（伪装文件名） a bidi override in a name")
    case(reg("reg_name_very_long.xlsx", [UNITS[0], reg_row(name="甲" * 5000), *UNITS[2:]]), R,
         [{"code": "text_too_long", "row": 2, "column": "B", "zh": "过长", "en": "too long"}],
         note="单位名称 5000 字 a 5,000-character unit name")
    case(reg("reg_name_formula.xlsx", [UNITS[0], reg_row(name='=HYPERLINK("http://example.invalid","点我")'),
                                       *UNITS[2:]]), R, ok=True,
         note="单位名称是公式文本：照常读取（导出时保持为文字，见 test_safety） a formula-like name is plain text")
    case(reg("reg_type_zwsp.xlsx", [UNITS[0], reg_row(utype="机\u200b关"), *UNITS[2:]]), R,
         [{"code": "bad_text", "row": 2, "column": "C", "zh": "不可见字符"}],
         note="单位类型含零宽空格（看似“机关”却对不上） an invisible character in a unit type")

    # department data: look-alikes of registry ids
    for fname, uid, code, zh, note in [
        ("dept_id_zwsp.xlsx", "U\u200b1", "lookalike_id", "第 2 行", "数据中的 U1 含零宽空格 a zero-width space in a data id"),
        ("dept_id_cyrillic.xlsx", "U\u0406", "lookalike_id", "第 2 行", "数据中的 U1 写成 UІ（西里尔 І） a Cyrillic І for 1"),
        ("dept_id_letter_o.xlsx", "UO1", "unknown_unit", "不在单位名录中", "数据中的 UO1（字母 O）：名录无形近编码，报未知"),
        ("dept_id_case.xlsx", "u1", "lookalike_id", "第 2 行", "数据中写成小写 u1 the id in lower case"),
        ("dept_id_word_joiner.xlsx", "U1\u2060", "lookalike_id", "第 2 行", "数据中的 U1 后有连接符 U+2060 a word joiner"),
        ("dept_id_traversal.xlsx", "../../x", "unsafe_id", "路径分隔符", "数据中的编码是 ../../x a path as id"),
        ("dept_id_very_long.xlsx", "U" + "1" * 40000, "id_too_long", "编码过长", "40,000 字符的编码 a 40,000-character id cell"),
    ]:
        case(dept(fname, rows=edit(B, 0, 1, uid)), "department",
             [{"code": code, "file": DEPT, "sheet": "数据", "row": 5, "column": "B", "zh": zh}], note=note)

    # ================================================================ workbooks: resources and structure
    far = dept("dept_used_range_xfd.xlsx")
    rewrite(far, "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'))
    case(far, "department", [{"code": "used_range", "file": DEPT, "sheet": "数据", "found": "A1:XFD1048576",
                              "zh": "已用区域过大", "en": "used range"}],
         note="XFD1048576 有一个值：读取器会分配 170 亿个单元格（512 GiB）；现在报告且不读 one value in the last cell")
    far2 = dept("dept_used_range_wide_tall.xlsx")
    rewrite(far2, "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'<row r="1000000"><c r="BA1000000" t="n"><v>1</v></c></row></sheetData>'))
    case(far2, "department", [{"code": "used_range", "sheet": "数据", "found": "A1:BA1000000"}],
         note="BA1000000 有值（53 列 × 100 万行） a stray value far right and down")
    nopos = dept("dept_used_range_implicit.xlsx")
    rewrite(nopos, "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'<row r="9999999">' + b'<c t="n"><v>1</v></c>' * 8 + b"</row></sheetData>"))
    case(nopos, "department", [{"code": "used_range", "sheet": "数据", "found": "A1:H9999999"}],
         note="没有位置属性的单元格放在第 9999999 行（超出 Excel 行数） cells without positions at row 9,999,999")
    stray = dept("dept_stray_value_far_right.xlsx")
    rewrite(stray, "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'<row r="12"><c r="XFD12" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    case(stray, "department", ok=True, values={"U1/pct": 95.0},
         note="第 12 行 XFD 列有个字符（16384 列 × 12 行，仍可读）：照常读取 a stray character in XFD12, still small")
    tall = dept("dept_million_rows.xlsx")
    rewrite(tall, "xl/worksheets/sheet1.xml", lambda x: x.replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>\xe5\xa4\x87\xe6\xb3\xa8</t></is></c>'
                         b"</row></sheetData>"))
    case(tall, "department", ok=True, values={"U2/cnt": 1.0},
         note="最后一行 A1048576 有“备注”（1,048,576 行的表照常读取） a 1,048,576-row sheet is still read")
    bomb = dept("dept_zip_bomb_ratio.xlsx")
    rewrite(bomb, "xl/worksheets/sheet1.xml", lambda x: x.replace(b"</worksheet>", b" " * (20 << 20) + b"</worksheet>"))
    case(bomb, "department", [{"code": "zip_bomb", "file": DEPT, "zh": "压缩比异常", "en": "zip bomb"}],
         note="20 KB 的工作表解压成 20 MB 空白（压缩炸弹） a sheet that unpacks 1,000×")
    lie = dept("dept_zip_declares_2gib.xlsx")
    set_declared_size(lie, "xl/worksheets/sheet1.xml", 0x7FFFFFFF)
    case(lie, "department", [{"code": "zip_bomb", "file": DEPT, "zh": "解压后过大", "en": "unpacks to"}],
         note="压缩包目录声称工作表解压后 2 GiB a member declaring 2 GiB unpacked")
    small = dept("dept_zip_size_lie.xlsx")
    set_declared_size(small, "xl/worksheets/sheet1.xml", 100)
    case(small, "department", [{"code": "unreadable_file", "file": DEPT, "zh": "已损坏", "en": "corrupt"}],
         note="压缩包目录把工作表大小少报（实际更大，CRC 不符） a member that unpacks to more than it declares")
    sst = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           b'2006/main" count="1" uniqueCount="1"><si><t>x</t></si></sst>')
    ss = add_member(dept("dept_shared_strings_bomb.xlsx"), "xl/sharedStrings.xml",
                    sst.replace(b"</sst>", b" " * (24 << 20) + b"</sst>"))
    case(ss, "department", [{"code": "zip_bomb", "file": DEPT, "zh": "sharedStrings", "found": "24.0 MB"}],
         note="共享字符串表解压成 24 MB（压缩炸弹） a huge shared-strings part")
    dtd = add_member(dept("dept_xml_entity_expansion.xlsx"), "xl/sharedStrings.xml", sst.replace(
        b"?>", b'?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', 1))
    case(dtd, "department", [{"code": "xml_dtd", "file": DEPT, "zh": "DTD", "en": "DTD"}],
         note="共享字符串 XML 含实体定义（XML 实体膨胀） an XML entity bomb in sharedStrings")
    ext = dept("dept_external_link.xlsx")
    add_member(ext, "xl/externalLinks/externalLink1.xml",
               b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b'<externalBook><sheetNames><sheetName val="S"/></sheetNames></externalBook></externalLink>')
    case(ext, "department", [{"code": "external_link", "severity": "warning", "file": DEPT, "zh": "外部工作簿",
                              "en": "external workbook"}], ok=True, values={"U1/pct": 95.0},
         note="工作簿链接了外部工作簿：值是缓存副本，提示核对 a workbook with external links")
    trav = dept("dept_zip_member_traversal.xlsx")
    add_member(trav, "../../../../evil.txt", b"pwned")
    case(trav, "department", ok=True, values={"U1/pct": 95.0},
         note="压缩包成员名含 ../（从不解压到磁盘，照常读取，不写任何文件） a zip member named ../../evil.txt")
    # hidden sheets: a stale copy placed first must not win
    stale = [[1, "U1", "甲局", 9, 11, "/"], [2, "U2", "乙校", 9, 11, 9], [3, "U3", "丙校", 9, 11, 9], [4, "U4", "丁局", 9, 11, "/"]]
    xlsx(FILES / "dept_hidden_stale_copy_first.xlsx", {"旧数据": TITLE + HEAD + stale + NOTE, "数据": TITLE + HEAD + B + NOTE},
         states={"旧数据": "hidden"})
    case("dept_hidden_stale_copy_first.xlsx", "department",
         [{"code": "hidden_sheet", "severity": "warning", "sheet": "旧数据", "zh": "隐藏", "en": "hidden"}], ok=True,
         values={"U1/pct": 95.0, "U2/cnt": 1.0},
         note="隐藏的旧副本放在第一张：不读取并提示，当前数据表生效 a hidden stale copy placed first")
    extra = [[5, "U1", "甲局", 7, 50, "/"]]
    xlsx(FILES / "dept_very_hidden_rows.xlsx", {"数据": TITLE + HEAD + B + NOTE, "x": TITLE + HEAD + extra + NOTE},
         states={"x": "veryHidden"})
    case("dept_very_hidden_rows.xlsx", "department",
         [{"code": "hidden_sheet", "severity": "warning", "sheet": "x", "found": "veryHidden"}], ok=True,
         values={"U1/pct": 95.0}, note="深度隐藏（veryHidden）的表里另有数据：不读取并提示 rows in a very-hidden sheet")
    xlsx(FILES / "dept_only_hidden.xlsx", {"数据": TITLE + HEAD + B + NOTE, "说明": []}, states={"数据": "hidden"})
    case("dept_only_hidden.xlsx", "department",
         [{"code": "hidden_sheet", "severity": "warning", "sheet": "数据"}, {"code": "empty_workbook", "file": DEPT}],
         note="数据只在隐藏表中：提示隐藏表，且工作簿视为空 data only in a hidden sheet")
    case(dept("dept_sheet_named_formula.xlsx", sheet="=HYPERLINK(1)"), "department", ok=True, values={"U1/pct": 95.0},
         note="工作表名是公式文本：只作名字使用 a sheet named like a formula")
    # file types (built at test time: a pipe, a device link, a folder, links out of the raw folder)
    for setup, code, zh, note in [
        ("fifo", "not_regular_file", "命名管道", "部门报表是一个命名管道（validate 会一直等待） a named pipe called 纪检监察.xlsx"),
        ("dev_zero", "outside_raw", "之外", "指向 /dev/zero 的符号链接 a symlink to /dev/zero"),
        ("dir", "not_regular_file", "文件夹", "名为 纪检监察.xlsx 的文件夹 a folder named like a workbook"),
        ("outside_link", "outside_raw", "之外", "指向原始数据文件夹之外的文件 a link to /etc/hostname"),
        ("broken_link", "broken_link", "失效", "失效的符号链接 a broken symlink"),
    ]:
        case(None, "department", [{"code": code, "file": DEPT, "zh": zh}], setup=setup, note=note,
             id=f"dept_setup_{setup}")
    case(None, "department", ok=True, values={"U1/pct": 95.0}, setup="inside_link", id="dept_setup_inside_link",
         note="指向原始数据文件夹内另一文件的符号链接：照常读取 a link inside the raw folder is followed")
    case(None, "department", [{"code": "not_regular_file", "file": "framework_county.yaml", "zh": "文件夹"}],
         setup="dir", dest="framework_county.yaml", id="fw_setup_dir",
         note="名为 framework_county.yaml 的文件夹 a folder named like a framework file")
    case(None, "department", [{"code": "not_regular_file", "file": "framework_county.yaml", "zh": "命名管道"}],
         setup="fifo", dest="framework_county.yaml", id="fw_setup_fifo", note="框架文件是命名管道 a framework FIFO")
    case(None, "department", [{"code": "not_regular_file", "file": "units.xlsx"}], setup="fifo", dest="units.xlsx",
         id="reg_setup_fifo", note="单位名录是命名管道 a registry FIFO")
    case(None, "department", [{"code": "outside_raw", "file": "units.xlsx"}], setup="dev_zero", dest="units.xlsx",
         id="reg_setup_dev_zero", note="单位名录是指向 /dev/zero 的链接 a registry linked to /dev/zero")
    case(None, "department", [{"code": "outside_raw", "file": "departments/2025-03/纪检监察.xlsx", "zh": "之外"}],
         setup="outside_folder_link", dest="departments/2025-03/纪检监察.xlsx", id="dept_setup_month_folder_link",
         note="月份文件夹 2025-03 是指向原始数据文件夹之外的符号链接：不读取 a month folder linked out of the raw folder")
    for rname in ("一票否决事项登记表", "整改台账", "廉政风险点登记表"):
        for setup, code in (("outside_xlsx_link", "outside_raw"), ("broken_link", "broken_link"),
                            ("dir", "not_regular_file")):
            case(None, "department", [{"code": code, "file": f"registers/{rname}.xlsx"}], setup=setup,
                 dest=f"registers/{rname}.xlsx", id=f"regs_setup_{setup}_{rname}",
                 note=f"{rname}是{ {'outside_xlsx_link': '指向原始数据文件夹之外工作簿的链接', 'broken_link': '失效的链接', 'dir': '文件夹'}[setup]}：报告而不是跳过或读取 "
                      f"a register that is {setup.replace('_', ' ')} is reported, never skipped or followed")
    case(None, "department", [{"code": "not_regular_file", "file": "departments/2025H1/纪检监察.xls"}], setup="fifo",
         dest="departments/2025H1/纪检监察.xls", id="dept_setup_fifo_xls",
         note="名为 .xls 的命名管道（旧格式检查也不能卡住） a FIFO named .xls")

    # ================================================================ framework YAML
    laughs = FW_OK + "veto:\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"  - &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    case(fw_yaml("fw_billion_laughs.yaml", laughs), "framework",
         [{"code": "yaml_aliases", "zh": "展开后过大", "en": "billion laughs"}], raises=True,
         note="1 KB 的嵌套锚点展开成 10⁹ 个节点（billion laughs） nested aliases")
    case(fw_yaml("fw_deep_flow.yaml", FW_OK + "veto: " + "[" * 400 + "]" * 400 + "\n"), "framework",
         [{"code": "yaml_too_deep", "zh": "嵌套层数过多", "en": "nested deeper"}], raises=True,
         note="400 层嵌套的列表 400 levels of nesting")
    deep = FW_HEAD + "".join("  " * i + f"  - id: n{i}\n" + "  " * i + "    weight: 1\n" + "  " * i + "    children:\n"
                             for i in range(60)) + "  " * 60 + "  - {id: x, direction: 1, weight: 1}\n"
    case(fw_yaml("fw_deep_tree.yaml", deep), "framework", [{"code": "yaml_too_deep"}], raises=True,
         note="60 层的指标树 a 60-level tree")
    case(fw_yaml("fw_alias_in_veto_cycle.yaml", FW_OK + "veto: &v [1, *v]\n"), "framework",
         [{"code": "cycle", "zh": "循环引用", "en": "cycle"}], raises=True,
         note="veto 中的别名引用自身（递归结构） a recursive alias outside the tree")
    case(fw_yaml("fw_anchors_ok.yaml", FW_HEAD + """  - &g
    id: A
    name: 甲
    weight: 0.5
    children:
      - &leaf {id: cnt, name: 问题数, direction: -1, weight: 1.0}
  - id: B
    name: 乙
    weight: 0.5
    children:
      - {<<: *leaf, id: cnt2}
"""), "framework", ok=True, note="正常使用锚点和合并键：照常读取 anchors and a merge key used as intended")
    for fname, setting, code, found, note in [
        ("fw_pass_mark_chinese.yaml", "pass_mark: 六十", "bad_setting", "六十", "合格线写成“六十” pass_mark in words"),
        ("fw_bottom_n_chinese.yaml", "bottom_n: 三", "bad_setting", "三", "末位数写成“三” bottom_n in words"),
        ("fw_bottom_n_fraction.yaml", "bottom_n: 2.5", "bad_setting", "2.5", "末位数 2.5 a fractional bottom_n"),
        ("fw_bottom_n_negative.yaml", "bottom_n: -1", "bad_setting", "-1", "末位数 -1 a negative bottom_n"),
        ("fw_pass_mark_nan.yaml", "pass_mark: .nan", "bad_setting", "nan", "pass_mark: .nan（会静默取消全部低于合格线预警） NaN"),
        ("fw_pass_mark_inf.yaml", "pass_mark: .inf", "bad_setting", "inf", "pass_mark: .inf"),
        ("fw_pass_mark_bool.yaml", "pass_mark: yes", "bad_setting", "True", "pass_mark: yes（YAML 布尔） a YAML boolean"),
        ("fw_drop_points_text.yaml", "drop_points: 十分", "bad_setting", "十分", "降幅阈值写成文字 drop_points in words"),
        ("fw_grades_nan.yaml", "grades: {优秀: .nan, 良好: 80, 合格: 60, 不合格: 0}", "bad_grades", "nan",
         "grades 中优秀为 .nan（会静默删掉一个等级） a NaN grade bound"),
        ("fw_grades_text.yaml", "grades: {优秀: 九十, 良好: 80, 合格: 60, 不合格: 0}", "bad_grades", "九十", "等级下限写成文字"),
        ("fw_grades_duplicate_bound.yaml", "grades: {优秀: 80, 良好: 80, 合格: 60, 不合格: 0}", "bad_grades", "80",
         "两个等级下限相同 two grades with one bound"),
        ("fw_unit_types_string.yaml", None, "bad_setting", "机关", "unit_types 写成一个字符串 unit_types as a string"),
    ]:
        text = FW_OK + setting + "\n" if setting else FW_HEAD.replace("unit_types: [机关, 学校]", "unit_types: 机关") + FW_OK_TAIL
        key = (setting or "unit_types").split(":")[0]
        line = text.splitlines().index(next(s for s in text.splitlines() if s.startswith(key))) + 1
        case(fw_yaml(fname, text), "framework", [{"code": code, "column": key, "row": line, "found": found,
                                                  "zh": key, "en": key}], raises=True, note=note)
    case(fw_yaml("fw_duplicate_top_key.yaml", FW_OK + "children: []\n"), "framework",
         [{"code": "duplicate_key", "found": "children", "zh": "重复", "en": "twice"}], raises=True,
         note="顶层 children 写了两次（后者会悄悄覆盖前者） a duplicated key")
    for fname, old, new, code, zh, note in [
        ("fw_id_traversal.yaml", "id: T\n", "id: ../../raw/T\n", "unsafe_id", "路径分隔符",
         "框架编号含 ../（工作簿和图表会写进 data/raw） a framework id with ../"),
        ("fw_node_id_slash.yaml", "id: A\n", "id: A/B\n", "unsafe_id", "路径分隔符", "节点编号含斜杠 a node id with a slash"),
        ("fw_indicator_id_zwsp.yaml", "id: cnt,", "id: \"c\\u200bnt\",", "unsafe_id", "不可见字符",
         "指标编号含零宽空格 a zero-width space in an indicator id"),
        ("fw_id_control.yaml", "id: A\n", "id: \"A\\x07\"\n", "unsafe_id", "控制字符", "节点编号含控制字符 a control character"),
        ("fw_name_control.yaml", "name: 甲\n", "name: \"甲\\x07\"\n", "bad_text", "控制字符",
         "节点名称含控制字符 a control character in a node name"),
    ]:
        case(fw_yaml(fname, FW_OK.replace(old, new, 1)), "framework", [{"code": code, "zh": zh}], raises=True, note=note)
    case(fw_yaml("fw_lookalike_ids.yaml", FW_HEAD + """  - id: A
    name: 甲
    weight: 0.5
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 1.0}
  - id: \u0410
    name: 乙
    weight: 0.5
    children:
      - {id: pct, name: 整改率, direction: 1, weight: 1.0}
"""), "framework", [{"code": "lookalike_id", "found": "\u0410", "zh": "看起来相同", "en": "looks like"}], raises=True,
         note="两个节点编号 A（拉丁）与 А（西里尔）形同 a Latin and a Cyrillic A")
    case(fw_yaml("fw_name_formula.yaml", FW_OK.replace("name: 甲\n", "name: '=HYPERLINK(\"http://example.invalid\",\"x\")'\n")),
         "framework", ok=True, note="目标名称是 =HYPERLINK(…)：可以读取，导出时为文字（见 test_safety） a formula-like goal name")
    case(fw_yaml("fw_empty.yaml", ""), "framework", [{"code": "bad_framework"}], raises=True, note="空文件 an empty file")
    case(fw_yaml("fw_top_list.yaml", "- id: T\n"), "framework", [{"code": "bad_framework", "found": "list"}],
         raises=True, note="顶层是列表 a list at the top")
    case(fw_yaml("fw_veto_scalar.yaml", FW_OK + "veto: 1\n"), "framework", [{"code": "bad_setting", "column": "veto"}],
         raises=True, note="veto 写成一个数字（原先 TypeError） veto as a number")
    case(fw_yaml("fw_binary_tag.yaml", FW_OK.replace("    name: 甲\n", "    name: 甲\n    description: !!binary aGVsbG8=\n")),
         "framework", ok=True,
         note="!!binary 标签是普通数据（安全加载器支持，不执行任何东西） a !!binary value is plain data")

    # ================================================================ survey items YAML
    case(fw_yaml("items_billion_laughs.yaml", "items: {q1: a}\n" + "x: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))), "items",
         [{"code": "yaml_aliases"}], raises=True, note="题目映射文件的 billion laughs nested aliases in items.yaml")
    case(fw_yaml("items_duplicate_key.yaml", "items: {q1: 甲, q2: 乙}\nitems: {q1: 丙}\n"), "items",
         [{"code": "duplicate_key", "row": 2, "found": "items"}], raises=True, note="items 写了两次 a duplicated key")
    case(fw_yaml("items_scale_text.yaml", "likert: {一: 0, 二: 50}\nitems: {q1: 甲}\n"), "items",
         [{"code": "bad_items", "zh": "格式不对", "en": "malformed"}], raises=True,
         note="量表代码写成汉字 scale codes in words")
    case(fw_yaml("items_python_tag.yaml", "items: !!python/object/apply:os.system [echo hi]\n"), "items",
         [{"code": "yaml_syntax", "row": 1}], raises=True, note="题目映射文件中的 Python 标签 a python tag")
    case(fw_yaml("items_deep.yaml", "items: " + "{a: " * 100 + "1" + "}" * 100 + "\n"), "items",
         [{"code": "yaml_too_deep"}], raises=True, note="100 层嵌套 100 levels of nesting")

    # ================================================================ survey CSV
    S = survey_rows()
    raw_ok = survey("survey_clean_ref.csv", S)
    case(raw_ok, "survey", ok=True, values={"R001/sex": "男"}, note="参照：正确的调查文件 clean survey")
    head = ",".join(["respondent_id", "unit_id", "period", "age_group", "sex", "area", "q1", "q2", "q3", "q4", "q5",
                     "status"])
    case(write_bytes("survey_nul_bytes.csv", (head + "\r\nR001,U1,2025H1,30-39,男,城镇,5,4,4,5,3,完成\r\n"
                                                     "R002,U1\x00\x00,2025H1,40-49,女,农村,4,4,4,5,4,完成\r\n").encode()),
         "survey", [{"code": "nul_bytes", "row": 3, "zh": "空字符", "en": "NUL"}], raises=True,
         note="CSV 中有 NUL 字节（0x00） NUL bytes in a CSV")
    mixed = (head + "\r\nR001,U1,2025H1,30-39,男,城镇,5,4,4,5,3,完成\r\n").encode("utf-8") + \
        "R002,U1,2025H1,40-49,女,农村,4,4,4,5,4,完成\r\n".encode("gbk") + \
        "R003,U2,2025H1,18-29,女,城镇,3,2,4,4,4,完成\r\n".encode("utf-8")
    case(write_bytes("survey_mixed_utf8_gbk.csv", mixed), "survey",
         [{"code": "mixed_encoding", "row": 3, "zh": "UTF-8", "en": "GBK"}], raises=True,
         note="UTF-8 文件中粘贴了 GBK 行 a UTF-8 survey with some GBK lines")
    blank = [[*r[:6], None, None, None, None, None, r[11]] for r in S]
    case(survey("survey_all_blank.csv", blank), "survey",
         [{"code": "no_answers", "zh": "没有任何有效答案", "en": "no respondent answered"}], raises=True,
         note="所有答案都是空白（原先静默输出空估计） every answer blank")
    case(survey("survey_header_only.csv", []), "survey", [{"code": "no_answers", "found": "没有数据行"}], raises=True,
         note="只有表头没有数据 a header and no rows")
    case(write_bytes("survey_empty.csv", b""), "survey", [{"code": "empty_file", "zh": "空的", "en": "empty"}],
         raises=True, note="0 字节的文件 an empty file")
    case(write_bytes("survey_unbalanced_quote.csv", (head + '\r\nR001,U1,2025H1,30-39,男,城镇,5,4,4,5,3,完成\r\n'
                                                           'R002,"U1,2025H1,40-49,女,农村,4,4,4,5,4,完成\r\n').encode()),
         "survey", [{"code": "bad_csv", "zh": "CSV 格式错误", "en": "malformed CSV"}], raises=True,
         note="引号不成对（其后整个文件成了一个字段） an unbalanced quote")
    case(write_bytes("survey_extra_field.csv", (head + '\r\nR001,U1,2025H1,30-39,男,城镇,5,4,4,5,3,完成,x,y\r\n').encode()),
         "survey", [{"code": "bad_csv", "row": 2, "found": "14"}], raises=True,
         note="第一行数据比表头多两列（pandas 会把多出的列当作索引，整行错位） a first row with extra fields")
    long_id = [[S[0][0], "U1" * 200000, *S[0][2:]], *S[1:]]
    case(survey("survey_very_long_cell.csv", long_id), "survey",
         [{"code": "unknown_unit", "row": 2, "column": "unit_id"}], note="400 KB 的单位编码单元格 a 400 KB cell")
    case(survey("survey_id_zwsp.csv", [[S[0][0], "U\u200b1", *S[0][2:]], *S[1:]]), "survey",
         [{"code": "unknown_unit", "row": 2, "column": "unit_id"}], note="受访者单位编码含零宽空格 a zero-width space")
    case(write_bytes("survey_cr_only.csv", (head + "\rR001,U1,2025H1,30-39,男,城镇,5,4,4,5,3,完成\r").encode()),
         "survey", ok=True, values={"R001/sex": "男"}, note="只用 CR 换行（旧 Mac） CR-only line endings")

    # ================================================================ margins CSV
    def margins(name, rows, enc="utf-8-sig", head_=("county", "variable", "level", "population")) -> str:
        text = ",".join(head_) + "\r\n" + "".join(",".join(map(str, r)) + "\r\n" for r in rows)
        return write_bytes(name, text.encode(enc))

    M = [["临川县", "sex", "男", 360000], ["临川县", "sex", "女", 350000], ["临川县", "area", "城镇", 300000],
         ["临川县", "area", "农村", 410000]]
    case(margins("margins_gbk.csv", M, enc="gbk"), "margins", ok=True, note="GBK 编码的边际表：自动识别 margins in GBK")
    case(margins("margins_approx_population.csv", [M[0], ["临川县", "sex", "女", "约36万"], *M[2:]]), "margins",
         [{"code": "bad_population", "row": 3, "column": "population", "found": "约36万", "zh": "阿拉伯数字"}],
         raises=True, note="人口写成“约36万” a population as 约36万")
    case(margins("margins_negative.csv", [M[0], ["临川县", "sex", "女", -5], *M[2:]]), "margins",
         [{"code": "bad_population", "row": 3, "found": "-5"}], raises=True, note="负的人口 a negative population")
    case(margins("margins_blank_population.csv", [M[0], ["临川县", "sex", "女", ""], *M[2:]]), "margins",
         [{"code": "bad_population", "row": 3}], raises=True, note="人口空白 a blank population")
    case(margins("margins_duplicate.csv", [*M, M[1]]), "margins", [{"code": "duplicate_margin", "row": 6}],
         raises=True, note="同一格写了两次 a margin cell twice")
    case(margins("margins_missing_column.csv", [r[:3] for r in M], head_=("county", "variable", "level")), "margins",
         [{"code": "missing_column", "column": "population"}], raises=True, note="缺少 population 列")
    case(write_bytes("margins_mixed_encoding.csv", "county,variable,level,population\r\n临川县,sex,男,1\r\n".encode()
                     + "临川县,sex,女,2\r\n".encode("gbk")), "margins", [{"code": "mixed_encoding", "row": 3}],
         raises=True, note="边际表 UTF-8 与 GBK 行混杂 mixed encodings")
    case(write_bytes("margins_utf16.csv", "\ufeffcounty,variable,level,population\r\n".encode("utf-16-le")), "margins",
         [{"code": "bad_encoding", "found": "UTF-16"}], raises=True, note="UTF-16 边际表")
    case(write_bytes("margins_nul.csv", b"county,variable,level,population\r\n\x00\x00\x00\r\n"), "margins",
         [{"code": "nul_bytes", "row": 2}], raises=True, note="边际表中有 NUL 字节")
