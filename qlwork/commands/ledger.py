"""``qlwork ledger`` — the rectification ledger (整改台账): update, status, follow-up.

``update`` merges the register (data/raw/registers/整改台账.xlsx) with the items of a period's
warnings and writes data/processed/ledger/ (the merged ledger, 回头看, 重点名录 and the
pre-filled register for the units); ``status`` prints the ledger on a date without writing.
Every date is given (``--as-of``); see :mod:`qlwork.workflow.follow_through`.
"""
from __future__ import annotations


def _common(p) -> None:
    p.add_argument("--period", required=True, help="期别，如 2025H2；all 表示全部有正式结果的期别")
    p.add_argument("--as-of", required=True, dest="as_of", help="截至日期，如 2026-01-31（逾期按此日期判定）")
    p.add_argument("--issued", default=None, help="预警通知书下发日期（默认：期末后第 15 天）")
    p.add_argument("--deadline-days", type=int, default=None, help="整改期限天数（默认 30）")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")


def register(subparsers) -> None:
    p = subparsers.add_parser("ledger", help="整改台账：合并预警、状态、回头看、重点名录 rectification ledger",
                              description="整改台账：把登记表与各期预警生成的整改事项合并（不丢失事项、状态只能向前），"
                                          "按截至日期判定逾期，回头看关联指标是否改善，列出重点名录 — rectification ledger")
    sub = p.add_subparsers(dest="ledger_command", metavar="操作 action")
    u = sub.add_parser("update", help="合并并写入 data/processed/ledger/ merge and write")
    _common(u)
    u.add_argument("--exclude-invalid", action="store_true",
                   help="登记表有错误时仍然合并（出错的行保留上次状态）merge even when the register has errors")
    u.set_defaults(func=_update)
    s = sub.add_parser("status", help="显示台账状态（不写文件）show the ledger on a date")
    _common(s)
    s.add_argument("--scope", default=None, help="范围：市州、县市区、乡镇或单位类型")
    s.add_argument("--top", type=int, default=10, help="列出的逾期事项数")
    s.set_defaults(func=_status)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _args(args):
    from ..workflow import Project

    prj = Project.open(raw=args.raw, processed=args.processed)
    policy = {"deadline_days": args.deadline_days} if args.deadline_days is not None else None
    return prj, policy


def _update(args) -> int:
    from ..workflow.follow_through import ledger_update

    prj, policy = _args(args)
    up = ledger_update(prj, args.period, as_of=args.as_of, issued=args.issued, policy=policy,
                       exclude_invalid=args.exclude_invalid)
    for prob in up.state.problems:
        print(("错误 error " if prob.severity == "error" else "警告 warning ") + str(prob))
    print(up.summary_zh())
    for path in up.paths:
        print(f"已写入 written: {prj.rel(path)}")
    return 0


def _status(args) -> int:
    from ..followup.feedback import ledger_summary
    from ..workflow.follow_through import inspection, ledger_state, officials

    prj, policy = _args(args)
    st = ledger_state(prj, args.period, as_of=args.as_of, issued=args.issued, policy=policy)
    t = st.table
    if args.scope:
        per = st.periods[-1]
        sc = officials(prj, [per])[per].scope(args.scope)
        t = t[t["unit_id"].isin(sc.unit_ids)]
    print(st.summary_zh())
    s = ledger_summary(t)
    for r in s.itertuples():
        rate = "—" if r.close_rate != r.close_rate else f"{100 * r.close_rate:.1f}%"
        print(f"  {r.group}：事项 {r.n_items}，已到期 {r.n_due}，已销号 {r.n_closed}，逾期 {r.n_overdue}，到期事项销号率 {rate}")
    od = t[t["overdue"]].sort_values("days_overdue", ascending=False).head(args.top)
    for r in od.itertuples():
        print(f"  逾期 {r.days_overdue} 天：{r.item_id} {r.problem}（期限 {r.deadline}）")
    ins = inspection(prj, st.periods[-1], state=st)
    if args.scope:
        ins = ins[ins["unit_id"].isin(t["unit_id"])]
    print(f"重点名录 {len(ins)} 个单位")
    for r in ins.head(args.top).itertuples():
        print(f"  {r.unit_name}（{r.unit_id}）：{r.reasons}")
    return 0
