"""``qlwork feedback`` / ``qlwork jurisdiction`` / ``qlwork publish`` — follow-through documents.

feedback: one document per recipient level (党委/政府主要领导, 分管联系领导, 被评价单位党组织主要负责人);
jurisdiction: the report of one 市州/县市区/乡镇 (its result, units, warnings, ledger);
publish: the public-release ranking (rank and grade only).  All from the official result
(:mod:`qlwork.workflow.follow_reports`).
"""
from __future__ import annotations


def _common(p, *, as_of: bool = True) -> None:
    p.add_argument("--period", required=True, help="期别，如 2025H2")
    if as_of:
        p.add_argument("--as-of", required=True, dest="as_of", help="整改情况截至日期，如 2026-01-31")
    p.add_argument("--out", default=None, help="输出文件夹（默认 data/processed/follow/<期别>/<范围>）")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")


def register(subparsers) -> None:
    f = subparsers.add_parser("feedback", help="分级反馈：按反馈对象生成报告 feedback by recipient level",
                              description="按反馈对象（党委政府主要领导、分管联系领导、被评价单位党组织主要负责人）生成反馈报告，"
                                          "数据均来自正式结果 — feedback documents per recipient level")
    _common(f)
    f.add_argument("--scope", required=True, help="范围：市州、县市区或乡镇名称")
    f.add_argument("--levels", default="leaders,in_charge,unit", help="逗号分隔：leaders,in_charge,unit")
    f.add_argument("--units", default=None, help="只为这些单位生成单位反馈（逗号分隔的单位编码）")
    f.set_defaults(func=_feedback)
    j = subparsers.add_parser("jurisdiction", help="辖区报告：一个县市区或乡镇的结果、单位、预警与整改 jurisdiction report",
                              description="一个市州、县市区或乡镇的辖区报告：本辖区结果与同级比较、下辖区域、各单位、预警、"
                                          "整改台账与重点名录（乡镇即其村居的结果）— jurisdiction report")
    _common(j)
    j.add_argument("--scope", required=True, help="市州、县市区或乡镇名称")
    j.set_defaults(func=_jurisdiction)
    p = subparsers.add_parser("publish", help="公开发布版排名：只有名次与等级 public-release ranking",
                              description="公开发布版：各同类组的名次与等级，不含得分与指标数据 — rank and grade only")
    _common(p, as_of=False)
    p.add_argument("--scope", default=None, help="范围（默认全部）；乡镇发布其村居时用范围内名次")
    p.set_defaults(func=_publish)


def _prj(args):
    from ..workflow import Project

    return Project.open(raw=args.raw, processed=args.processed)


def _feedback(args) -> int:
    from ..workflow.follow_reports import feedback

    prj = _prj(args)
    units = None if not args.units else [u.strip() for u in args.units.split(",") if u.strip()]
    fs = feedback(prj, args.period, args.scope, as_of=args.as_of, out=args.out,
                  levels=[x.strip() for x in args.levels.split(",") if x.strip()], units=units)
    print(f"已写入 {len(fs.files)} 份反馈报告 written: {prj.rel(fs.out_dir)}/index.html")
    return 0


def _jurisdiction(args) -> int:
    from ..workflow.follow_reports import jurisdiction_report

    prj = _prj(args)
    for path in jurisdiction_report(prj, args.period, args.scope, as_of=args.as_of, out=args.out):
        print(f"已写入 written: {prj.rel(path)}")
    return 0


def _publish(args) -> int:
    from ..workflow.follow_reports import publish

    prj = _prj(args)
    for path in publish(prj, args.period, args.scope, out=args.out):
        print(f"已写入 written: {prj.rel(path)}")
    return 0
