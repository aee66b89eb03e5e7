"""Command-line cases of the corpus: output folders qlwork does not own, traversal in every
option, disk full, ids that would escape the output folder.  Run by tests/test_bad_inputs.py
on a copy of a small project (tests/bad_inputs/base + the clean department workbook, survey,
margins and AHP questionnaire of files/, ingested), with ``QLWORK_ROOT`` pointing at it.

Keys: ``argv``; ``exit`` (expected code); ``problems`` ([code] and message parts that stderr
must show); ``project`` (files, folders and links to create first); ``before`` (commands that
must succeed first); ``enospc`` (a writer patched to fail with "No space left on device"
after writing a few bytes); ``out`` (the only folder allowed to change); ``expect`` (globs
that must exist under ``out``)."""
from __future__ import annotations

from make_corpus import survey, survey_rows, write_bytes  # noqa: E402 - sibling script

P = "2025H1"
RESCORE = ["score", "--period", P]  # the official result is scored again from the altered store


def build_cli(case) -> None:
    # files the project template uses (also readable corpus inputs on their own)
    survey("cli_survey.csv", survey_rows() + [["R005", "U2", P, "50-59", "男", "城镇", 4, 4, 4, 4, 4, "完成"],
                                              ["R006", "U4", P, "30-39", "女", "农村", 3, 3, 3, 3, 3, "完成"]])
    case("cli_survey.csv", "survey", ok=True, values={"R005/sex": "男"}, note="CLI 项目所用调查数据 the CLI project's survey")
    margins = [("临川县", v, lvl, n) for v, lvl, n in (
        ("sex", "男", 360000), ("sex", "女", 350000), ("area", "城镇", 300000), ("area", "农村", 410000),
        ("age_group", "18-29", 100000), ("age_group", "30-39", 150000), ("age_group", "40-49", 160000),
        ("age_group", "50-59", 150000), ("age_group", "60-65", 150000))]
    write_bytes("cli_margins.csv", ("county,variable,level,population\r\n" + "".join(
        ",".join(map(str, r)) + "\r\n" for r in margins)).encode("utf-8-sig"))
    case("cli_margins.csv", "margins", ok=True, note="CLI 项目所用边际表 the CLI project's margins")

    def cli(id_, argv, problems=None, *, exit=2, note="", **kw):
        case(None, "cli", problems, id=f"cli_{id_}", argv=argv, exit=exit, note=note, **kw)

    docs = [{"write": "mydocs/thesis.docx", "text": "我的论文 my thesis"}]
    cli("regions_bootstrap_zero_draws", ["regions", "--period", P, "--ci", "bootstrap", "--draws", "0"],
        [{"code": "bad_method", "zh": "重抽样次数", "en": "bootstrap draws"}],
        note="regions --draws 0：原先是 numpy IndexError 回溯 zero bootstrap draws gave a traceback")
    # ---- replacing or writing into folders qlwork does not own
    cli("report_out_data", ["report", "--period", P, "--out", "data", "--no-charts", "--quiet"],
        [{"code": "foreign_folder", "zh": "不会替换或删除", "en": "not replaced or deleted"}],
        note="report --out data：原先删掉整个 data/raw 和 data/processed the report swap deleted data/")
    cli("report_out_mydocs", ["report", "--period", P, "--out", "mydocs", "--no-charts", "--quiet"],
        [{"code": "foreign_folder", "zh": "qlwork"}], project=docs,
        note="report --out mydocs：原先删掉其中的 thesis.docx the swap deleted a thesis")
    cli("report_out_project_root", ["report", "--period", P, "--out", ".", "--no-charts", "--quiet"],
        [{"code": "foreign_folder"}], note="report --out .（项目根目录） the project root")
    cli("report_out_filesystem_root", ["report", "--period", P, "--out", "/", "--no-charts", "--quiet"],
        [{"code": "foreign_folder"}], note="report --out /")
    cli("report_out_processed", ["report", "--period", P, "--out", "data/processed", "--no-charts", "--quiet"],
        [{"code": "foreign_folder"}], note="report --out data/processed（数据存储，不是报告文件夹） the store itself")
    cli("report_out_dev_null", ["report", "--period", P, "--out", "/dev/null", "--no-charts", "--quiet"],
        [{"code": "not_a_folder", "en": "not a folder"}], note="report --out /dev/null")
    cli("report_out_existing_file", ["report", "--period", P, "--out", "mydocs/thesis.docx", "--no-charts", "--quiet"],
        [{"code": "not_a_folder"}], project=docs, note="report --out 指向已有文件 an existing file")
    cli("report_out_link_to_raw", ["report", "--period", P, "--out", "to_raw/r", "--no-charts", "--quiet"],
        [{"code": "output_in_raw", "zh": "只读", "en": "read-only"}], project=[{"symlink": "to_raw", "to": "data/raw"}],
        note="--out 经符号链接指向 data/raw a link into the raw folder")
    cli("report_out_dotdot_raw", ["report", "--period", P, "--out", "data/processed/../raw/r", "--no-charts", "--quiet"],
        [{"code": "output_in_raw"}], note="--out data/processed/../raw/r")
    cli("report_foreign_file_in_set", ["report", "--period", P, "--out", "rep", "--no-charts", "--quiet"],
        [{"code": "foreign_files", "zh": "不是 qlwork 生成的文件", "en": "did not write"}],
        before=[["report", "--period", P, "--out", "rep", "--no-charts", "--quiet"]],
        project_after=[{"write": "rep/我的批注.docx", "text": "notes"}],
        note="报告文件夹里有人放了自己的文件：不替换（不会删掉它） a person's file inside a report set")
    cli("report_new_folder", ["report", "--period", P, "--out", "newrep", "--no-charts", "--quiet"], exit=0,
        out="newrep", expect=["newrep/.qlwork-output", "newrep/units/U1_*.html", "newrep/index.html"],
        note="新文件夹：创建并标记 a new folder is created and marked")
    cli("report_empty_folder", ["report", "--period", P, "--out", "empty", "--no-charts", "--quiet"], exit=0,
        out="empty", project=[{"mkdir": "empty"}], expect=["empty/.qlwork-output", "empty/manifest.json"],
        note="空文件夹：可以使用 an empty folder may be used")
    cli("report_replaces_own_set", ["report", "--period", P, "--out", "rep", "--no-charts", "--quiet"], exit=0,
        out="rep", before=[["report", "--period", P, "--out", "rep", "--no-charts", "--quiet"]],
        expect=["rep/units/U1_*.html"], note="qlwork 自己的报告文件夹：整体替换 its own report set is replaced")
    cli("ingest_out_mydocs", ["ingest", "--out", "mydocs"], [{"code": "foreign_folder", "zh": "不会向其中写入"}],
        project=docs, note="ingest --out mydocs")
    cli("ingest_out_dev_null", ["ingest", "--out", "/dev/null"], [{"code": "not_a_folder"}], note="ingest --out /dev/null")
    cli("ingest_out_raw_dotdot", ["ingest", "--out", "data/raw/../raw"], [{"code": "output_in_raw"}],
        note="ingest --out data/raw/../raw")
    cli("survey_out_mydocs", ["survey", "--period", P, "--out", "mydocs"], [{"code": "foreign_folder"}], project=docs,
        note="survey --out mydocs")
    cli("weights_out_existing_file", ["weights", "--framework", "county", "--out", "mydocs/thesis.docx"],
        [{"code": "foreign_file", "zh": "未覆盖", "en": "not overwritten"}], project=docs,
        note="weights --out 指向他人的已有文件 an existing file of someone else")
    cli("weights_out_folder", ["weights", "--framework", "county", "--out", "mydocs"], [{"code": "bad_output"}],
        project=docs, note="weights --out 指向文件夹 a folder as output file")
    cli("weights_out_new_file", ["weights", "--framework", "county", "--out", "mydocs/w.csv"], exit=0, out="mydocs",
        project=docs, expect=["mydocs/w.csv", "mydocs/thesis.docx"],
        note="weights --out 新文件：写入，不动旁边的文件 a new file beside a person's file")
    cli("demo_force_mydocs", ["demo", "--out", "mydocs", "--force"], [{"code": "foreign_folder", "zh": "--force"}],
        project=docs, note="demo --force 指向他人的文件夹：拒绝（原先会删子文件夹） demo --force on a person's folder")
    cli("demo_force_processed", ["demo", "--out", "data/processed", "--force"], [{"code": "foreign_folder"}],
        note="demo --force 指向数据存储 demo --force on the store")
    # ---- traversal and nonsense in every option
    for cmd in (["report", "--period", "../../../raw", "--no-charts"], ["score", "--period", "2025H1/../.."],
                ["survey", "--period", "../x"], ["sensitivity", "--period", ".."], ["report", "--period", "2025H1\x00"]):
        cli(f"period_traversal_{cmd[0]}{'_nul' if chr(0) in cmd[2] else ''}", cmd, [{"code": "bad_period", "zh": "2025H1"}],
            note=f"{cmd[0]} --period {cmd[2]!r}")
    cli("report_scope_traversal", ["report", "--period", P, "--scope", "../../raw", "--no-charts"],
        [{"code": "unknown_scope"}], note="report --scope ../../raw")
    cli("report_units_traversal", ["report", "--period", P, "--units", "../x,U1", "--no-charts"],
        [{"code": "unknown_unit"}], note="report --units ../x")
    cli("weights_framework_traversal", ["weights", "--framework", "../../x"], [{"code": "unknown_framework"}],
        note="weights --framework ../../x")
    cli("score_public_not_a_table", ["score", "--period", P, "--public", "/etc/hostname"], [{"code": "bad_public"}],
        note="score --public 指向不是得分表的文件 a file that is no score table")
    cli("score_public_fifo", ["score", "--period", P, "--public", "pipe.csv"], [{"code": "not_regular_file"}],
        project=[{"fifo": "pipe.csv"}], note="score --public 指向命名管道 a named pipe")
    cli("ingest_raw_missing", ["ingest", "--raw", "nowhere"], [{"code": "folder_not_found"}],
        note="ingest --raw 指向不存在的文件夹 a missing raw folder")
    # ---- survey margins: population 0 where respondents exist
    cli("survey_zero_population", ["survey", "--period", P], [{"code": "zero_population", "zh": "为 0", "en": "silently"}],
        project=[{"replace": "data/raw/surveys/margins.csv", "old": "男,360000", "new": "男,0"}],
        note="边际表中男性人口为 0，但有男性受访者（原先被悄悄加权为 0） population 0 where respondents exist")
    # ---- ids that would escape the output folder (validation is the first wall, file names the second)
    cli("report_traversal_unit_id", ["report", "--period", P, "--no-charts", "--quiet"], exit=0,
        out="data/processed/reports", project=[{"rename_unit": "U1", "to": "../../../../../raw/pwned"}], before=[RESCORE],
        expect=["data/processed/reports/2025H1/全部/units/raw_pwned-*.html"],
        note="数据存储中的单位编码是 ../../../../../raw/pwned：报告写在输出文件夹内（原先写到 data/raw/pwned.html）")
    cli("report_slash_unit_id", ["report", "--period", P, "--no-charts", "--quiet"], exit=0,
        out="data/processed/reports", project=[{"rename_unit": "U2", "to": "YY/001"}], before=[RESCORE],
        expect=["data/processed/reports/2025H1/全部/units/YY_001-*.html"],
        note="单位编码 YY/001：不再报 traceback the id YY/001 no longer crashes the report")
    cli("report_reserved_unit_id", ["report", "--period", P, "--no-charts", "--quiet"], exit=0,
        out="data/processed/reports", project=[{"rename_unit": "U3", "to": "CON"}], before=[RESCORE],
        expect=["data/processed/reports/2025H1/全部/units/_CON-*.html"], note="单位编码 CON（Windows 设备名） a device name")
    # ---- disk full while writing: a located message, the old output intact
    for id_, argv, target in [
        ("score", ["score", "--period", P], "pandas.DataFrame.to_parquet"),
        ("ingest", ["ingest"], "pandas.DataFrame.to_parquet"),
        ("survey", ["survey", "--period", P], "pyarrow.parquet.write_table"),
        ("report", ["report", "--period", P, "--no-charts", "--quiet"], "pathlib.Path.write_text"),
        ("report_workbook", ["report", "--period", P, "--no-charts", "--quiet"], "openpyxl.Workbook.save"),
    ]:
        cli(f"enospc_{id_}", argv, [{"code": "disk_full", "zh": "磁盘空间不足", "en": "no space left"}],
            before=[argv], enospc=target, note=f"{argv[0]} 写入时磁盘已满 disk full during {argv[0]} ({target})")
