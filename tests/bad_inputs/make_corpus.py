"""Build the bad-input corpus: small files, each one realistic mistake, plus cases.yaml.

Run ``.venv/bin/python tests/bad_inputs/make_corpus.py`` from the project root; the
output is deterministic (fixed workbook timestamps, no randomness), so re-running it
must leave ``git status`` clean.  ``tests/test_bad_inputs.py`` checks that too.

Layout::

    tests/bad_inputs/base/          framework_county.yaml (a 3-indicator test framework), units.xlsx
    tests/bad_inputs/files/         one file per case
    tests/bad_inputs/cases.yaml     per file: loader, where to put it, expected problems

Loaders (see tests/test_bad_inputs.py):

- ``department``: a raw folder = base + the file copied to ``dest``
  (default ``departments/2025H1/纪检监察.xlsx``), then ``qlwork.io.validate.validate``;
- ``registry``: base framework + the file as ``units.xlsx``, then ``qlwork.io.ingest.read_units``;
- ``framework``: ``qlwork.framework.load_framework(file)``;
- ``questionnaire``: ``qlwork.weights.questionnaire.read_questionnaire(file, frameworks=[base framework])``;
- ``survey``: ``qlwork.survey.read.read_survey(file, known_units=base units)``.

Each expected problem lists the parts the user must see: ``code`` and any of
``file``, ``sheet``, ``row``, ``column`` (exact), ``found``, ``expected``, ``zh``
(Chinese message), ``en`` (English gloss) (substrings), ``severity``.
"""
from __future__ import annotations

import csv
import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import yaml
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
from qlwork.io.excel import save_deterministic  # noqa: E402

FILES = HERE / "files"
BASE = HERE / "base"
DEPT = "departments/2025H1/纪检监察.xlsx"

# ------------------------------------------------------------------ base folder
FW = {"id": "T", "name": "测试框架", "unit_types": ["机关", "学校"], "children": [
    {"id": "A", "name": "甲", "weight": 1.0, "children": [
        {"id": "cnt", "name": "问题数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.5, "range": [0, None]},
        {"id": "pct", "name": "整改率", "direction": 1, "unit": "%", "source": "纪检监察", "kind": "percent",
         "weight": 0.3, "range": [0, 100]},
        {"id": "sch", "name": "乱收费数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.2, "range": [0, None], "applies_to": ["学校"]}]}]}
UNIT_HEAD = ["单位编码", "单位名称", "单位类型", "市州", "县市区", "乡镇(街道)", "框架", "在编人数", "服务人口"]
UNITS = [UNIT_HEAD,
         ["U1", "甲局", "机关", "清江市", "临川县", "东城街道", "county", 20, 1000],
         ["U2", "乙校", "学校", "清江市", "临川县", "东城街道", "county", 30, 800],
         ["U3", "丙校", "学校", "清江市", "临川县", "西城街道", "county", 40, 900],
         ["U4", "丁局", "机关", "清江市", "临川县", "西城街道", "county", 25, 1200]]
TITLE = [["2025年上半年清廉单元建设监测指标数据报送表（纪检监察）"], ["填报单位：临川县纪委监委（盖章）"]]
HEAD = [["序号", "单位编码", "单位名称", "甲", None, None],
        [None, None, None, "问题数（件）", "整改率（%）", "乱收费数（件）"]]
NOTE = [[], ["备注：“/”表示不适用"]]


def body():
    """Excel rows 5-8 of a clean department sheet."""
    return [[1, "U1", "甲局", 0, 95, "/"],
            [2, "U2", "乙校", 1, 98.5, 0],
            [3, "U3", "丙校", 2, 100, 1],
            [4, "U4", "丁局", 3, 96, "/"]]


def xlsx(path: Path, sheets: dict[str, list], *, merges: dict[str, list[str]] | None = None,
         states: dict[str, str] | None = None) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
        for ref in (merges or {}).get(name, []):
            ws.merge_cells(ref)
        ws.sheet_state = (states or {}).get(name, "visible")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_deterministic(wb, path, allow_formulas=True)  # some cases need a real formula


def dept(name: str, rows=None, *, sheet="数据", title=True, head=None, merges=None) -> str:
    rows = body() if rows is None else rows
    xlsx(FILES / name, {sheet: (TITLE if title else []) + (head or HEAD) + rows + NOTE},
         merges={sheet: merges} if merges else None)
    return name


def edit(rows, r, c, v):
    """rows[r][c] = v on a copy; r is 0-based in body() (Excel row r + 5)."""
    out = [list(x) for x in rows]
    out[r][c] = v
    return out


def write_bytes(name: str, data: bytes) -> str:
    (FILES / name).write_bytes(data)
    return name


def patch_zip(src: Path, dst: Path, member: str, fn) -> None:
    """Rewrite one zip member (keeps entry order and the fixed timestamps)."""
    with zipfile.ZipFile(src) as zin:
        items = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == member:
                data = fn(data)
            zout.writestr(info, data)
    dst.write_bytes(buf.getvalue())


def ole(kind: str) -> bytes:
    """A fake OLE compound file: the 8 magic bytes, a 512-byte header and the stream
    name that tells an encrypted .xlsx (EncryptedPackage) from a .xls (Workbook)."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    head = head.ljust(512, b"\x00")
    stream = kind.encode("utf-16-le")
    return head + stream.ljust(512, b"\x00")


# ------------------------------------------------------------------ survey files
SURVEY_HEAD = ["respondent_id", "unit_id", "period", "age_group", "sex", "area", "q1", "q2", "q3", "q4", "q5", "status"]


def survey_rows():
    return [["R001", "U1", "2025H1", "30-39", "男", "城镇", 5, 4, 4, 5, 3, "完成"],
            ["R002", "U1", "2025H1", "40-49", "女", "农村", 4, 4, 9, 5, 4, "完成"],
            ["R003", "U2", "2025H1", "18-29", "女", "城镇", 3, 2, 4, 4, 4, "完成"],
            ["R004", "U3", "2025H1", "60-65", "男", "农村", 5, 5, None, None, None, "中断"]]


def survey(name: str, rows, *, encoding="utf-8-sig", head=SURVEY_HEAD) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(head)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    (FILES / name).write_bytes(buf.getvalue().encode(encoding))
    return name


# ------------------------------------------------------------------ questionnaires
AHP_IDS = ["cnt", "pct", "sch"]
AHP_OK = [[1, 3, 5], ["1/3", 1, 2], ["1/5", "1/2", 1]]


def ahp(name: str, matrix, *, sheet="T_A", ids=AHP_IDS) -> str:
    rows = [["层次分析法判断矩阵：甲（专家 E01）"], ["a_ij 表示行元素相对列元素的重要程度，1–9 标度，倒数写作 1/3"],
            ["编号", "名称"] + ids]
    names = {"cnt": "问题数", "pct": "整改率", "sch": "乱收费数"}
    rows += [[i, names.get(i, i)] + list(r) for i, r in zip(ids, matrix)]
    info = [["专家编号", "E01"], ["姓名", "张三"], ["单位/职务", "临川县纪委"], ["权重", 1]]
    xlsx(FILES / name, {"专家信息": info, sheet: rows})
    return name


def fw_yaml(name: str, text: str, encoding="utf-8") -> str:
    (FILES / name).write_bytes(text.encode(encoding))
    return name


FW_HEAD = """id: T
name: 测试框架
unit_types: [机关, 学校]
children:
"""


# ------------------------------------------------------------------ the cases
def build() -> list[dict]:
    cases: list[dict] = []

    def case(file, loader, problems=None, *, dest=None, note="", ok=None, values=None, encoding=None,
             raises=None, setup=None, id=None, **extra):
        c = {"id": id or file, "file": file, "loader": loader, "mistake": note}
        if setup:
            c["setup"] = setup
        c.update(extra)
        if dest:
            c["dest"] = dest
        if problems:
            c["problems"] = problems
        if ok is not None:
            c["no_errors"] = ok
        if values:
            c["values"] = values
        if encoding:
            c["encoding"] = encoding
        if raises is not None:
            c["raises"] = raises
        cases.append(c)

    B = body()
    # ---- department workbooks -------------------------------------------------
    case(dept("dept_clean.xlsx"), "department", ok=True, note="参照：无错误的报表 clean reference workbook",
         values={"U1/pct": 95.0, "U2/cnt": 1.0})
    case(dept("dept_sheet_without_header.xlsx", title=False,
              head=[["序号", "单位代号", "单位名称", "问题数（件）", "整改率（%）", "乱收费数（件）"]], rows=[r for r in B]),
         "department", [{"code": "unknown_sheet", "file": DEPT, "sheet": "数据", "zh": "找不到表头“单位编码”",
                         "en": "no 单位编码 header", "expected": "单位编码"}],
         note="单位编码列表头写成“单位代号”，整张表无法识别 the unit-id header is misspelt")
    # header moved down a row: a blank row between the group row and the indicator-name row
    case(dept("dept_header_moved_down.xlsx", head=[HEAD[0], [None] * 6, HEAD[1]]), "department",
         [{"code": "no_indicator_columns", "file": DEPT, "sheet": "数据", "row": 3, "zh": "没有可识别的指标名称",
           "en": "no indicator column recognised"}],
         note="表头下移一行（两行表头之间插入空行） the indicator-name header row moved down by a blank row")
    case(dept("dept_merged_data_cells.xlsx", rows=edit(B, 2, 3, None),
              merges=["D6:D7"]), "department",
         [{"code": "merged_cells", "file": DEPT, "sheet": "数据", "row": 6, "column": "D", "found": "D6:D7",
           "zh": "合并单元格", "en": "merged cells"},
          {"code": "missing_value", "row": 7, "column": "D"}],
         note="数据区合并单元格（两个单位共用一个值） merged cells in the data area")
    case(dept("dept_unit_id_fullwidth_space.xlsx", rows=edit(B, 0, 1, "U1\u3000")), "department",
         [{"code": "normalized_id", "severity": "warning", "row": 5, "column": "B", "found": "U1\u3000",
           "expected": "U1", "zh": "已按 'U1' 匹配", "en": "matched as 'U1'"}], ok=True, values={"U1/pct": 95.0},
         note="单位编码后多了一个全角空格：按去空格后的编码匹配，并给出提示 unit id with a trailing full-width space")
    case(dept("dept_duplicate_unit.xlsx", rows=B + [[5, "U2", "乙校", 4, 90, 2]]), "department",
         [{"code": "duplicate", "file": DEPT, "sheet": "数据", "row": 9, "column": "B", "found": "U2",
           "zh": "重复填报", "en": "reported twice", "expected": "第 6 行"}],
         note="同一单位填了两行 the same unit twice")
    case(dept("dept_unknown_unit.xlsx", rows=edit(B, 2, 1, "U9")), "department",
         [{"code": "unknown_unit", "row": 7, "column": "B", "found": "U9", "zh": "不在单位名录中",
           "en": "not in the unit registry"}], note="单位编码不在名录中 a unit not in the registry")
    case(dept("dept_thousands_separator.xlsx", rows=edit(B, 3, 3, "1,234")), "department", ok=True,
         values={"U4/cnt": 1234.0},
         note="千分位逗号“1,234”：按三位分组时接受为 1234 thousands separator accepted (groups of three)")
    case(dept("dept_thousands_in_percent.xlsx", rows=edit(B, 3, 4, "9,650")), "department",
         [{"code": "out_of_range", "row": 8, "column": "E", "found": "9650", "zh": "超出合理范围",
           "en": "outside the indicator's valid range", "expected": "0 – 100"}],
         note="百分率列写了“9,650”（应为 96.50）：读作 9650，超出范围 thousands separator making a rate out of range")
    case(dept("dept_decimal_comma.xlsx", rows=edit(B, 1, 4, "98,5")), "department",
         [{"code": "non_numeric", "row": 6, "column": "E", "found": "98,5", "zh": "不是数字",
           "en": "not a number"}], note="小数点写成逗号“98,5”（不是千分位）decimal comma, never read as 985")
    case(dept("dept_lost_decimal_point.xlsx", rows=edit(B, 0, 4, 6522)), "department",
         [{"code": "out_of_range", "row": 5, "column": "E", "found": "6522", "zh": "超出合理范围",
           "en": "outside the indicator's valid range", "expected": "0 – 100"}],
         note="丢了小数点：65.22 写成 6522 lost decimal point")
    case(dept("dept_mixed_percent_scale.xlsx", rows=[[1, "U1", "甲局", 0, "95%", "/"], [2, "U2", "乙校", 1, 0.96, 0],
                                                     [3, "U3", "丙校", 2, 97, 1], [4, "U4", "丁局", 3, "98.5%", "/"]]),
         "department",
         [{"code": "mixed_scale", "row": 6, "column": "E", "found": "0.96", "expected": "96", "zh": "比例尺不一致",
           "en": "mixed scale"}], values={"U1/pct": 95.0, "U3/pct": 97.0},
         note="同一列百分率写法混用：“95%”、0.96、97 percentages as 95%, 0.95 and 95 in one column")
    case(dept("dept_date_instead_of_number.xlsx", rows=edit(B, 2, 3, datetime(2025, 3, 1))), "department",
         [{"code": "non_numeric", "row": 7, "column": "D", "found": "日期 date 2025-03-01", "zh": "不是数字",
           "en": "not a number"}], note="单元格是日期（格式被设成日期） a date instead of a number")
    case(dept("dept_text_pending.xlsx", rows=edit(B, 1, 3, "待核实")), "department",
         [{"code": "non_numeric", "row": 6, "column": "D", "found": "待核实", "expected": "数字"}],
         note="填了文字“待核实” text instead of a number")
    case(dept("dept_boolean.xlsx", rows=edit(B, 1, 3, True)), "department",
         [{"code": "non_numeric", "row": 6, "column": "D", "found": "True"}], note="填了 TRUE a boolean")
    case(dept("dept_negative_count.xlsx", rows=edit(B, 3, 3, -2)), "department",
         [{"code": "out_of_range", "row": 8, "column": "D", "found": "-2", "expected": "≥ 0"}],
         note="件数为负 a negative count")
    case(dept("dept_missing_marker.xlsx", rows=edit(B, 2, 4, "—")), "department",
         [{"code": "missing_value", "row": 7, "column": "E", "found": "—", "zh": "缺少适用指标",
           "en": "applicable indicator has no value"}], note="适用指标填了“—” a missing marker where a value is due")
    case(dept("dept_not_applicable_value.xlsx", rows=edit(B, 0, 5, 2)), "department",
         [{"code": "not_applicable_value", "severity": "warning", "row": 5, "column": "F", "found": "2",
           "zh": "不适用于单位类型 机关"}], note="不适用的指标填了数 a value for a non-applicable indicator")
    case(dept("dept_unknown_column.xlsx", head=[HEAD[0], [None, None, None, "问题数量（件）", "整改率（%）", "乱收费数（件）"]]),
         "department",
         [{"code": "unknown_column", "row": 4, "column": "D", "found": "问题数量(件)", "zh": "不是框架中的指标",
           "en": "matches no indicator"}], note="指标名称写错 a misspelt indicator header")
    case(dept("dept_duplicate_column.xlsx", head=[HEAD[0], [None, None, None, "问题数（件）", "整改率（%）", "问题数"]]),
         "department",
         [{"code": "duplicate_column", "row": 3, "column": "F", "found": "cnt", "zh": "出现两次"}],
         note="同一指标两列 the same indicator in two columns")
    case(dept("dept_missing_unit_id.xlsx", rows=edit(B, 1, 1, None)), "department",
         [{"code": "missing_unit_id", "row": 6, "column": "B", "zh": "没有单位编码", "en": "no unit id"}],
         note="有数据但漏填单位编码 a data row without unit id")
    formula_rows = edit(B, 1, 3, "=D5+1")
    case(dept("dept_formula_no_cached_value.xlsx", rows=formula_rows), "department",
         [{"code": "formula_no_value", "row": 6, "column": "D", "zh": "没有保存计算结果", "en": "never evaluated"},
          {"code": "missing_value", "row": 6, "column": "D"}],
         note="公式单元格没有缓存值（脚本生成、从未在 Excel 中保存） a formula without a cached value")
    # a formula WITH a cached value: the cached 7 is used, the formula (which would give 1) is not evaluated
    src = FILES / dept("dept_formula_cached_value.xlsx", rows=formula_rows)
    patch_zip(src, src, "xl/worksheets/sheet1.xml", lambda x: x.replace(b"<f>D5+1</f><v></v>", b"<f>D5+1</f><v>7</v>")
              .replace(b"<f>D5+1</f><v />", b"<f>D5+1</f><v>7</v>"))
    case(src.name, "department", ok=True, values={"U2/cnt": 7.0},
         note="公式单元格有缓存值：采用缓存值 7，公式本身（=D5+1 → 1）不被执行 cached value used, formula never evaluated")
    xlsx(FILES / "dept_empty_workbook.xlsx", {"Sheet1": []})
    case("dept_empty_workbook.xlsx", "department",
         [{"code": "empty_workbook", "file": DEPT, "zh": "工作簿是空的", "en": "workbook is empty"}],
         note="空工作簿 an empty workbook")
    xlsx(FILES / "dept_title_only.xlsx", {"数据": TITLE})
    case("dept_title_only.xlsx", "department",
         [{"code": "no_data_sheet", "file": DEPT, "sheet": "数据", "zh": "没有含“单位编码”表头的数据表",
           "en": "nothing read"}],
         note="只有标题，没有表头和数据（不算空，但没有任何单位数据） a title but no table")
    case(write_bytes("dept_not_a_workbook_zip.xlsx", _zip_of({"readme.txt": "这不是工作簿"})), "department",
         [{"code": "unreadable_file", "file": DEPT, "zh": "没有工作簿内容", "en": "corrupt or not an Excel file",
           "found": "zip"}], note="扩展名是 .xlsx 的普通压缩包 a zip that is not a workbook")
    case(write_bytes("dept_truncated.xlsx", (FILES / "dept_clean.xlsx").read_bytes()[:700]), "department",
         [{"code": "unreadable_file", "file": DEPT, "zh": "不是有效的 xlsx 工作簿", "en": "corrupt, truncated"}],
         note="传输中断，文件不完整 a truncated .xlsx")
    case(write_bytes("dept_csv_renamed.xlsx", "单位编码,问题数\nU1,0\n".encode("gbk")), "department",
         [{"code": "unreadable_file", "file": DEPT, "zh": "扩展名不对", "en": "renamed"}],
         note="CSV 文件改了扩展名 a CSV renamed to .xlsx")
    case(write_bytes("dept_password_protected.xlsx", ole("EncryptedPackage")), "department",
         [{"code": "encrypted_file", "file": DEPT, "zh": "设置了打开密码", "en": "password-protected",
           "expected": ".xlsx"}], note="设置了打开密码的工作簿（OLE 加密容器） a password-protected workbook")
    case(write_bytes("dept_legacy.xls", ole("Workbook")), "department",
         [{"code": "xls_format", "file": "departments/2025H1/纪检监察.xls", "zh": "另存为 .xlsx",
           "en": "please save as .xlsx", "found": ".xls"}], dest="departments/2025H1/纪检监察.xls",
         note="旧版 .xls 文件 an Excel 97-2003 .xls file")
    case(dept("dept_period_chinese.xlsx"), "department",
         [{"code": "bad_period", "found": "2025年上半年", "expected": "2025H1",
           "zh": "请改名为 2025H1", "en": "rename it to 2025H1"}],
         dest="departments/2025年上半年/纪检监察.xlsx",
         note="期别文件夹写成“2025年上半年”：不读取，提示改名为 2025H1（文件夹名是期别的键，不静默合并） period folder in Chinese")
    case(dept("dept_period_space.xlsx"), "department",
         [{"code": "bad_period", "found": "2025 H1", "expected": "2025H1", "zh": "请改名为 2025H1"}],
         dest="departments/2025 H1/纪检监察.xlsx", note="期别文件夹写成“2025 H1” period folder with a space")
    case(dept("dept_period_dash.xlsx"), "department",
         [{"code": "bad_period", "found": "2025-1", "expected": "2025-03（月）", "zh": "不是期别",
           "en": "not a period like 2025H1, 2025Q1 or 2025-03"}], dest="departments/2025-1/纪检监察.xlsx",
         note="期别写成“2025-1”（月？季？半年？无法判断） an ambiguous period label, reported")
    case(dept("dept_period_quarter.xlsx"), "department", ok=True, dest="departments/2025Q1/纪检监察.xlsx",
         note="季度报送“2025Q1”：按季度读取（期别可为半年、季度或月） a quarterly submission, read as such")
    case(dept("dept_period_quarter_chinese.xlsx"), "department",
         [{"code": "bad_period", "found": "2025年第一季度", "expected": "2025Q1", "zh": "请改名为 2025Q1"}],
         dest="departments/2025年第一季度/纪检监察.xlsx",
         note="季度文件夹写成“2025年第一季度”：不读取，提示改名为 2025Q1 quarter folder in Chinese")
    case(dept("dept_period_month_chinese.xlsx"), "department",
         [{"code": "bad_period", "found": "2025年3月", "expected": "2025-03", "zh": "请改名为 2025-03"}],
         dest="departments/2025年3月/纪检监察.xlsx",
         note="月份文件夹写成“2025年3月”：不读取，提示改名为 2025-03 month folder in Chinese")

    # ---- unit registry -----------------------------------------------------------
    xlsx(FILES / "reg_clean.xlsx", {"单位名录": UNITS})
    case("reg_clean.xlsx", "registry", ok=True, note="参照：正确的单位名录 clean registry")
    xlsx(FILES / "reg_wrong_sheet_name.xlsx", {"填表说明": [["请按模板填写单位名录"]], "单位名单": UNITS})
    case("reg_wrong_sheet_name.xlsx", "registry",
         [{"code": "sheet_name", "severity": "warning", "file": "units.xlsx", "sheet": "单位名单",
           "expected": "单位名录", "zh": "应名为“单位名录”", "en": "no sheet named 单位名录"}],
         note="工作表名写成“单位名单”，第一张是说明页 wrong sheet name")
    xlsx(FILES / "reg_no_header.xlsx", {"Sheet1": [["编号", "名称"], ["U1", "甲局"]]})
    case("reg_no_header.xlsx", "registry",
         [{"code": "no_header", "file": "units.xlsx", "sheet": "Sheet1", "zh": "找不到表头“单位编码”",
           "en": "no 单位编码 header", "expected": "单位名录"}], note="名录没有“单位编码”表头 registry without its header")
    xlsx(FILES / "reg_empty.xlsx", {"Sheet1": []})
    case("reg_empty.xlsx", "registry",
         [{"code": "no_header", "file": "units.xlsx", "zh": "单位名录是空的", "en": "registry is empty"}],
         note="空的单位名录 an empty registry")
    case(write_bytes("reg_encrypted.xlsx", ole("EncryptedPackage")), "registry",
         [{"code": "encrypted_file", "file": "units.xlsx", "zh": "打开密码", "en": "password-protected"}],
         note="加密的单位名录 a password-protected registry")
    xlsx(FILES / "reg_duplicate_unit.xlsx", {"单位名录": UNITS + [["U2", "乙校（重复）", "学校", "清江市", "临川县", "东城街道", "county", 30, 800]]})
    case("reg_duplicate_unit.xlsx", "registry",
         [{"code": "duplicate_unit", "row": 6, "column": "A", "found": "U2", "zh": "首次出现于第 3 行",
           "en": "appears twice"}], note="名录中单位重复 the same unit twice in the registry")
    xlsx(FILES / "reg_name_fullwidth_space.xlsx",
         {"单位名录": [UNITS[0], ["U1", "甲局\u3000", *UNITS[1][2:]], *UNITS[2:]]})
    case("reg_name_fullwidth_space.xlsx", "registry",
         [{"code": "normalized_text", "severity": "warning", "row": 2, "column": "B", "found": "甲局\u3000",
           "expected": "甲局", "zh": "已按 '甲局' 读取和匹配", "en": "read and matched as '甲局'"}],
         ok=True, note="单位名称末尾有全角空格：去掉后读取，并提示 unit name with a trailing full-width space")
    xlsx(FILES / "reg_missing_column.xlsx", {"单位名录": [[c for c in r[:6]] for r in UNITS]})
    case("reg_missing_column.xlsx", "registry",
         [{"code": "missing_column", "row": 1, "zh": "缺少列", "en": "lacks columns", "expected": "框架"}],
         note="缺少“框架”列 a required column missing")
    xlsx(FILES / "reg_bad_staff.xlsx", {"单位名录": [UNITS[0], [*UNITS[1][:7], "二十", 1000], *UNITS[2:]]})
    case("reg_bad_staff.xlsx", "registry",
         [{"code": "bad_number", "row": 2, "column": "H", "found": "二十", "expected": ">= 0", "zh": "在编人数"}],
         note="在编人数写成汉字“二十” staff written in Chinese numerals")

    # ---- framework YAML --------------------------------------------------------
    case(fw_yaml("fw_cycle_alias.yaml", FW_HEAD + """  - &g1
    id: A
    name: 甲
    weight: 1.0
    children:
      - *g1
"""), "framework", [{"code": "cycle", "zh": "循环引用", "en": "cycle", "found": "T > A > A"}], raises=True,
         note="YAML 锚点/别名让节点包含自身（递归结构） a recursive structure via anchors")
    case(fw_yaml("fw_duplicate_id.yaml", FW_HEAD + """  - id: A
    name: 甲
    weight: 0.5
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 1.0}
  - id: B
    name: 乙
    weight: 0.5
    children:
      - {id: cnt, name: 问题数（二）, direction: -1, weight: 1.0}
"""), "framework", [{"code": "duplicate_id", "row": 14, "found": "cnt", "zh": "重复", "en": "duplicate id"}],
         raises=True, note="两个指标用了同一个 id a duplicate id")
    case(fw_yaml("fw_weights_not_one.yaml", FW_HEAD + """  - id: A
    name: 甲
    weight: 0.6
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 0.5}
      - {id: pct, name: 整改率, direction: 1, weight: 0.4}
  - id: B
    name: 乙
    weight: 0.5
    children:
      - {id: sch, name: 乱收费数, direction: -1, weight: 1.0}
"""), "framework",
         [{"code": "weights_not_one", "column": "T", "found": "1.1", "expected": "1", "zh": "权重之和为 1.1",
           "en": "sum to 1.1"},
          {"code": "weights_not_one", "column": "T.children[A]", "found": "0.9", "zh": "权重之和为 0.9"}],
         raises=True, note="同级权重之和不为 1 weights that do not sum to 1")
    case(fw_yaml("fw_python_tag.yaml", FW_HEAD + """  - id: A
    name: !!python/object/apply:os.system ["echo hacked > /tmp/qlwork_hacked"]
    weight: 1.0
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 1.0}
"""), "framework", [{"code": "yaml_syntax", "row": 6, "zh": "YAML 语法错误"}], raises=True,
         note="YAML 中的 Python 标签（不安全加载才会执行）：安全加载拒绝 a python tag, refused by the safe loader")
    case(fw_yaml("fw_bad_direction.yaml", FW_HEAD + """  - id: A
    name: 甲
    weight: 1.0
    children:
      - {id: cnt, name: 问题数, direction: 负向, weight: 1.0}
"""), "framework", [{"code": "bad_direction", "row": 9, "found": "负向", "expected": "1 或 -1"}], raises=True,
         note="方向写成中文“负向” direction in words")
    case(fw_yaml("fw_gbk.yaml", FW_HEAD + """  - id: A
    name: 甲
    weight: 1.0
    children:
      - {id: cnt, name: 问题数, direction: -1, weight: 1.0}
""", encoding="gbk"), "framework", [{"code": "bad_encoding", "expected": "UTF-8", "zh": "不是 UTF-8",
                                    "en": "not UTF-8"}], raises=True,
         note="框架文件用 GBK 保存 a framework saved in GBK")
    case(fw_yaml("fw_tab_indent.yaml", FW_HEAD + "  - id: A\n\tname: 甲\n"), "framework",
         [{"code": "yaml_syntax", "zh": "YAML 语法错误", "en": "YAML syntax error"}], raises=True,
         note="用 Tab 缩进 tab indentation")

    # ---- AHP questionnaires ----------------------------------------------------------
    case(ahp("ahp_clean.xlsx", AHP_OK), "questionnaire", ok=True, note="参照：正确的判断矩阵 clean questionnaire")
    case(ahp("ahp_not_reciprocal.xlsx", [[1, 3, 5], [3, 1, 2], ["1/5", "1/2", 1]]), "questionnaire",
         [{"code": "not_reciprocal", "sheet": "T_A", "row": 4, "column": "D4", "zh": "不互为倒数",
           "en": "not reciprocal", "expected": "C5 = 1/3"}],
         note="判断矩阵不互反：a12=3 且 a21=3 a non-reciprocal matrix")
    case(ahp("ahp_off_scale.xlsx", [[1, 12, 5], ["1/12", 1, 2], ["1/5", "1/2", 1]]), "questionnaire",
         [{"code": "off_scale", "sheet": "T_A", "column": "D4", "zh": "不在 1–9 标度上", "en": "off the 1–9 scale"}],
         note="判断值 12 超出 1–9 标度 a judgment off the Saaty scale")
    case(ahp("ahp_text_judgment.xlsx", [[1, "稍重要", 5], [None, 1, 2], ["1/5", "1/2", 1]]), "questionnaire",
         [{"code": "not_a_number", "sheet": "T_A", "column": "D4", "found": "稍重要", "zh": "不是数字或分数"}],
         note="判断值写成文字“稍重要” a judgment in words")
    case(ahp("ahp_wrong_sheet_name.xlsx", AHP_OK, sheet="甲"), "questionnaire",
         [{"code": "unknown_node", "sheet": None, "zh": "不对应任何框架节点", "en": "matches no framework node"},
          {"code": "missing_sheet", "sheet": "T_A", "severity": "warning"}],
         note="判断矩阵表名写成“甲”（应为 T_A） wrong sheet name")
    case(write_bytes("ahp_corrupt.xlsx", b"PK\x03\x04" + b"\x00" * 40), "questionnaire",
         [{"code": "bad_workbook", "zh": "无法读取问卷工作簿", "en": "cannot read workbook"}], raises=True,
         note="损坏的问卷文件 a corrupt questionnaire")

    # ---- survey files ---------------------------------------------------------------------
    S = survey_rows()
    case(survey("survey_gbk.csv", S, encoding="gbk"), "survey", ok=True, encoding="gbk",
         values={"R001/status": "完成", "R002/sex": "女"},
         note="GBK 编码的 CSV（Excel 中文版默认另存格式）：自动识别并读对，结果中注明编码 a CSV in GBK, detected and named")
    case(survey("survey_gb18030.csv", [*S[:3], ["R005", "U2", "2025H1", "30-39", "男", "城镇", 4, 4, 4, 4, 4, "完成"],
                                       ["R006", "U2", "2025H1", "50-59", "女", "农村", 3, 3, 3, 3, 3, "完成"]]
                + [["R007", "U3", "2025H1", "18-29", "男", "城镇", 5, 5, 5, 5, 5, "完成"]], encoding="gb18030"),
         "survey", ok=True, encoding="gbk", note="GB18030 编码（此处内容与 GBK 相同，识别为 gbk） GB18030 content")
    case(survey("survey_answer_out_of_scale.csv", [S[0], ["R002", "U1", "2025H1", "40-49", "女", "农村", 4, 6, 9, 5, 4, "完成"], *S[2:]]),
         "survey", [{"code": "answer_out_of_scale", "row": 3, "column": "q2", "found": "6", "zh": "不在量表内",
                     "en": "outside the scale", "expected": "9"}], note="答案 6 超出 1–5 量表 an answer outside the scale")
    case(survey("survey_answer_text.csv", [S[0], ["R002", "U1", "2025H1", "40-49", "女", "农村", "满意", 4, 9, 5, 4, "完成"], *S[2:]]),
         "survey", [{"code": "answer_out_of_scale", "row": 3, "column": "q1", "found": "满意"}],
         note="答案写成文字“满意” an answer in words")
    case(survey("survey_period_forms.csv", [S[0], ["R002", "U1", "2025年上半年", "40-49", "女", "农村", 4, 4, 9, 5, 4, "完成"],
                                            ["R003", "U2", "2025-1", "18-29", "女", "城镇", 3, 2, 4, 4, 4, "完成"], S[3]]),
         "survey", [{"code": "period_normalized", "severity": "warning", "row": 3, "column": "period",
                     "found": "2025年上半年", "expected": "2025H1"},
                    {"code": "bad_period", "row": 4, "column": "period", "found": "2025-1", "zh": "期次标签不合法",
                     "en": "bad period label"}],
         note="期次写法不一：“2025年上半年”识别为 2025H1（提示），“2025-1”无法判断（报错） period labels in other forms")
    case(survey("survey_unknown_unit.csv", [S[0], ["R002", "U99", "2025H1", "40-49", "女", "农村", 4, 4, 9, 5, 4, "完成"], *S[2:]]),
         "survey", [{"code": "unknown_unit", "row": 3, "column": "unit_id", "found": "U99"}],
         note="单位编码不在名录中 an unknown unit")
    case(survey("survey_duplicate_respondent.csv", [*S, S[1]]), "survey",
         [{"code": "duplicate_respondent", "row": 6, "column": "respondent_id", "found": "R002"}],
         note="受访者重复录入 a respondent entered twice")
    case(survey("survey_missing_column.csv", [r[:-1] for r in S], head=SURVEY_HEAD[:-1]), "survey",
         [{"code": "missing_column", "column": "status", "zh": "缺少列 status", "en": "lacks column status"}],
         raises=True, note="缺少 status 列 a required column missing")
    case(write_bytes("survey_utf16.csv", ("\ufeff" + ",".join(SURVEY_HEAD) + "\r\n").encode("utf-16-le")), "survey",
         [{"code": "bad_encoding", "found": "UTF-16", "expected": "UTF-8", "zh": "UTF-16 编码", "en": "UTF-16"}],
         raises=True, note="UTF-16 编码（“Unicode 文本”另存） a UTF-16 file")
    case(survey("survey_formula_text.csv", [[*S[0][:11], "完成"], ["R002", "U1", "2025H1", "40-49", "女", "农村", "=1+4", 4, 9, 5, 4, "完成"]]),
         "survey", [{"code": "answer_out_of_scale", "row": 3, "column": "q1", "found": "=1+4"}],
         note="答案单元格是公式文本“=1+4”：不计算，按超出量表报告 formula text is never evaluated")

    # ---- hostile and careless inputs (issue 17) and the command line ------------------------
    from make_hostile import build_hostile
    from make_cli import build_cli

    build_hostile(case)
    build_cli(case)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def _zip_of(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2025, 12, 31, 0, 0, 0)), text)
    return buf.getvalue()


def main() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    BASE.mkdir(parents=True, exist_ok=True)
    for p in FILES.iterdir():
        p.unlink()
    (BASE / "framework_county.yaml").write_text(yaml.safe_dump(FW, allow_unicode=True, sort_keys=False),
                                                encoding="utf-8")
    xlsx(BASE / "units.xlsx", {"单位名录": UNITS})
    cases = build()
    header = ("# Generated by tests/bad_inputs/make_corpus.py — edit the script, not this file.\n"
              "# One entry per file in files/: the mistake, the loader, and what the user must see.\n")
    (HERE / "cases.yaml").write_text(header + yaml.safe_dump({"cases": cases}, allow_unicode=True, sort_keys=False,
                                                             width=120), encoding="utf-8")
    print(f"{len(cases)} cases, {len(list(FILES.iterdir()))} files")


if __name__ == "__main__":
    main()
