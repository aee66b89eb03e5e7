"""``qlwork registers`` — templates and checks of the registers in data/raw/registers/.

``template`` writes empty templates (header, fill-in instructions, drop-down lists) of the
veto, bonus, rectification-ledger and risk registers; ``check`` reads the ledger and risk
registers and prints every problem, located (exit 1 on errors).
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("registers", help="登记表模板与检查 register templates and checks",
                              description="生成登记表模板（一票否决、加分、整改台账、廉政风险点），检查整改台账与廉政风险点登记表"
                                          " — write register templates, check the follow-through registers")
    sub = p.add_subparsers(dest="registers_command", metavar="操作 action")
    t = sub.add_parser("template", help="写出空白模板 write empty templates")
    t.add_argument("--out", default=None, help="输出文件夹（默认 data/processed/templates）")
    t.add_argument("--which", default="veto,bonus,ledger,risk", help="逗号分隔：veto,bonus,ledger,risk")
    t.set_defaults(func=_template)
    c = sub.add_parser("check", help="检查整改台账与廉政风险点登记表 check the ledger and risk registers")
    c.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    c.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    c.set_defaults(func=_check)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _template(args) -> int:
    from pathlib import Path

    from ..workflow import Project
    from ..workflow.follow_through import register_templates

    prj = Project.open()
    out = Path(args.out) if args.out else prj.processed / "templates"
    for path in register_templates(out, [w.strip() for w in args.which.split(",") if w.strip()]):
        print(f"已写入 written: {prj.rel(path)}")
    return 0


def _check(args) -> int:
    from ..workflow import Project
    from ..workflow.follow_through import follow_registers

    prj = Project.open(raw=args.raw, processed=args.processed)
    regs = follow_registers(prj)
    for i, prob in enumerate(regs.problems, 1):
        kind = "错误 error" if prob.severity == "error" else "警告 warning"
        print(f"{i}. {kind} {prob}")
    n_l = 0 if regs.ledger_rows is None else len(regs.ledger_rows)
    n_r = 0 if regs.risk is None else len(regs.risk)
    print(f"整改台账 {n_l} 行，廉政风险点 {n_r} 行（有效）；{len(regs.errors)} 个错误，"
          f"{len(regs.problems) - len(regs.errors)} 个警告")
    return 1 if regs.errors else 0
