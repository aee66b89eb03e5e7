"""One home for what a person reads: column labels, method names, warning reasons,
grade colours and period labels.

Every output (Excel workbook, 体检报告单, notices, dashboard, charts) takes its
Chinese column labels from :data:`COLUMN_LABELS`, its grade colours from
:func:`grade_color` and its period text from :func:`period_label`, so the same
thing has the same name and colour everywhere.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["COLUMN_LABELS", "COLUMN_LABELS_EN", "WARNING_LABELS", "WARNING_SHORT", "GRADE_PALETTE", "VETO_COLOR",
           "MISSING_COLOR", "grade_color", "grade_colors", "period_label", "method_label", "column_label",
           "label_columns", "GRADE_RULE_LABELS"]

#: Chinese label of every result column a person sees (English gloss in COLUMN_LABELS_EN).
COLUMN_LABELS: dict[str, str] = {
    "framework": "指标体系",
    "period": "评价期",
    "unit_id": "单位编码",
    "unit_name": "单位名称",
    "unit_type": "单位类型",
    "peer_group": "同类组",
    "city": "市州",
    "county": "县市区",
    "township": "乡镇（街道）",
    "internal": "专业分",
    "public": "群众评价（获得感）",
    "bonus": "加分",
    "total_raw": "合成得分（未修约）",
    "total": "综合得分",
    "grade": "等级",
    "grade_rule": "定级依据",
    "rank": "同类名次",
    "n_peers": "同类单位数",
    "rank_in_region": "县市区内名次",
    "n_region": "县市区内单位数",
    "rank_in_scope": "范围内名次",
    "change": "较上期",
    "previous_total": "上期综合得分",
    "warnings": "预警",
    "veto": "一票否决事项",
    "indicator_id": "指标编码",
    "indicator": "指标",
    "value": "原始值",
    "normalized": "指标得分（0–100）",
    "weight": "权重",
    "points_lost": "失分",
    "peer_median": "同类中位数",
    "gap": "与同类中位数之差",
    "rank_lo": "名次区间下限(5%)",
    "rank_hi": "名次区间上限(95%)",
    "rank_median": "名次中位数",
    "p_bottom": "进入后N名的概率",
    "p_grade_change": "等级改变的概率",
}

COLUMN_LABELS_EN: dict[str, str] = {
    "framework": "framework", "period": "period", "unit_id": "unit code", "unit_name": "unit name",
    "unit_type": "unit type", "peer_group": "peer group", "city": "city", "county": "county",
    "township": "township", "internal": "internal score", "public": "public score", "bonus": "bonus points",
    "total_raw": "aggregated score (unrounded)", "total": "total score", "grade": "grade",
    "grade_rule": "grading rule", "rank": "rank in peer group", "n_peers": "peer-group size",
    "rank_in_region": "rank in county", "n_region": "units in county", "rank_in_scope": "rank in scope",
    "change": "change vs previous period", "previous_total": "previous total", "warnings": "warnings",
    "veto": "veto events", "indicator_id": "indicator code", "indicator": "indicator", "value": "raw value",
    "normalized": "indicator score (0–100)", "weight": "weight", "points_lost": "points lost",
    "peer_median": "peer median", "gap": "gap to peer median", "rank_lo": "rank interval low",
    "rank_hi": "rank interval high", "rank_median": "median rank", "p_bottom": "P(bottom N)",
    "p_grade_change": "P(grade changes)",
}

#: Warning codes → Chinese reason (templates take ``n`` = bottom N, ``d`` = drop points, ``g`` = veto grade).
WARNING_LABELS: dict[str, str] = {
    "veto": "发生一票否决事项，等级最高为{g}",
    "below_pass": "总分低于合格线",
    "bottom_n": "位列同类单位后{n}名",
    "large_drop": "较上期下降超过{d}分",
    "divergence": "群众评价显著低于专业分",
    "missing_data": "指标数据缺失，相关得分无法计算",
    "missing_public": "缺少群众评价，总分仅含专业分",
}

#: Short names for badges and console summaries.
WARNING_SHORT: dict[str, str] = {
    "veto": "一票否决", "below_pass": "低于合格线", "bottom_n": "同类末位", "large_drop": "大幅下降",
    "divergence": "群众评价偏低", "missing_data": "数据缺失", "missing_public": "缺群众评价",
}

#: Warnings that lead to a 预警通知书 (the others are data notes).
NOTICE_CODES = ("veto", "below_pass", "bottom_n", "large_drop", "divergence")

GRADE_RULE_LABELS = {"score-cutoff": "按分数线定等", "veto": "一票否决（等级封顶）", "missing": "数据缺失，不定等",
                     "quota": "按比例定等"}

#: Grade colours by grade position (best first): ColorBrewer RdBu (blue good, red bad),
#: colour-blind safe.  A vetoed unit is drawn in VETO_COLOR whatever its score.
GRADE_PALETTE: tuple[str, ...] = ("#2166AC", "#67A9CF", "#F4A582", "#B2182B")
VETO_COLOR = "#5B1A5E"
MISSING_COLOR = "#9E9E9E"

_DEFAULT_GRADES = ("优秀", "良好", "合格", "不合格")


def grade_colors(labels: Sequence[str] = _DEFAULT_GRADES) -> dict[str, str]:
    """Grade label → colour, keyed on the grade (never on the score)."""
    labels = list(labels)
    n = len(labels)
    if n <= len(GRADE_PALETTE):
        # best and worst keep the end colours; middle grades take the inner ones
        idx = [round(i * (len(GRADE_PALETTE) - 1) / max(n - 1, 1)) for i in range(n)]
        return {lab: GRADE_PALETTE[k] for lab, k in zip(labels, idx)}
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"]
    return {lab: matplotlib.colors.to_hex(cmap(1 - i / (n - 1))) for i, lab in enumerate(labels)}


def grade_color(grade: Any, labels: Sequence[str] = _DEFAULT_GRADES, *, vetoed: bool = False) -> str:
    """Colour of a unit's grade; vetoed units get :data:`VETO_COLOR`, a missing grade grey."""
    if vetoed:
        return VETO_COLOR
    if grade is None or (isinstance(grade, float) and grade != grade):
        return MISSING_COLOR
    return grade_colors(labels).get(str(grade), MISSING_COLOR)


def period_label(period: Any) -> str:
    """Period as a person reads it: 2025H2 → 2025年下半年, 2025Q1 → 2025年第一季度, 2025-03 → 2025年3月
    (:func:`qlwork.periods.label_zh`, the one home of periods)."""
    from .periods import label_zh

    return label_zh(str(period).strip())


_METHODS: dict[str, dict[str, str]] = {
    "normalization": {"minmax": "同类同期最小–最大值法（0–100）", "zscore": "标准分（50 + 10z，截断于 0–100）",
                      "goalposts": "固定阈值法（goalposts）", "target": "目标值距离法", "rank": "百分位名次法"},
    "aggregation": {"arithmetic": "加权算术平均", "geometric": "加权几何平均"},
    "imputation": {"none": "不插补（缺失指标所在各级得分不计算）", "mean": "同类同期均值插补",
                   "median": "同类同期中位数插补", "reweight": "按可得指标在本节点内重新分配权重"},
    "outliers": {"none": "不处理", "winsorise": "缩尾处理（winsorise）", "log": "对数变换"},
    "public_source": {"survey-direct": "问卷调查直接加权估计（Hájek）", "survey-eblup": "问卷调查小域估计（Fay–Herriot EBLUP）",
                      "indicators": "指标体系中的群众评价指标", "none": "不计群众评价"},
    "peer_group": {"unit_type": "同类型单位", "county": "同县市区单位", "city": "同市州单位", "all": "全部单位",
                   "全部": "全部单位"},
}


def method_label(kind: str, value: Any) -> str:
    """Chinese name of a method choice (falls back to the value itself)."""
    v = str(value)
    if kind == "public_source" and v.startswith("file:"):
        return f"群众评价得分文件 {v[5:]}"
    return _METHODS.get(kind, {}).get(v, v)


def column_label(col: str, framework=None) -> str:
    """Chinese label of a result column; node/indicator ids take the framework's names."""
    if col in COLUMN_LABELS:
        return COLUMN_LABELS[col]
    if framework is not None:
        names = framework.names()
        if col in names:
            return names[col]
    return col


def label_columns(df, framework=None, mapping: Mapping[str, str] | None = None):
    """A copy of ``df`` with Chinese column labels."""
    extra = dict(mapping or {})
    return df.rename(columns={c: extra.get(c, column_label(c, framework)) for c in df.columns})


#: Follow-through columns (整改台账, 廉政风险点, 重点名录, regions) — one lookup with COLUMN_LABELS.
FOLLOW_LABELS: dict[str, str] = {
    "item_id": "事项编号", "warning": "预警类型", "problem": "问题描述", "klass": "问题类别",
    "indicators": "关联指标", "risk_points": "关联风险点", "resp_unit": "责任单位", "person": "责任人",
    "issued": "下发日期", "deadline": "整改期限", "status": "整改状态（填报）", "status_eff": "整改状态",
    "measures": "整改措施", "closed": "销号日期", "evidence": "佐证材料", "note": "备注", "origin": "来源",
    "as_of": "截至日期", "overdue": "是否逾期", "days_overdue": "逾期天数", "closed_late": "逾期后销号",
    "n_items": "整改事项数", "n_due": "已到期事项数", "n_closed": "已销号事项数", "n_closed_on_time": "按期销号事项数",
    "rect_close_rate": "整改销号率(%)", "rect_ontime_rate": "按期销号率(%)", "rect_overdue": "逾期未销号事项数",
    "post": "岗位名称", "key_post": "是否关键岗位", "risk_id": "风险点编号", "risk": "风险点描述", "level": "风险等级",
    "controls": "防控措施", "owner": "责任人", "reviewed": "最近评估日期", "review_overdue": "评估是否逾期",
    "n_posts": "岗位数", "n_key_posts": "关键岗位数", "n_key_covered": "已覆盖关键岗位数", "n_risk_points": "风险点数",
    "n_high": "高等级风险点数", "risk_high_uncontrolled": "未落实防控的高等级风险点数",
    "risk_high_posts_uncontrolled": "高风险点未落实防控的岗位数", "risk_review_overdue": "逾期未评估风险点数",
    "risk_key_post_coverage": "关键岗位防控覆盖率(%)",
    "reason_codes": "列入原因代码", "reasons": "列入重点名录的原因", "n_overdue": "逾期事项数",
    "oldest_deadline": "最早整改期限", "warned_periods": "连续预警期别",
    "followup_period": "回头看期别", "n_linked": "关联指标数", "before": "整改前指标得分", "after": "本期指标得分",
    "n_improved": "改善的指标数", "verdict": "回头看结论", "repeated": "本期再次预警", "current_warnings": "本期预警",
    "level_name": "区域层级", "region": "区域", "parent": "上级区域", "n_units": "单位数", "n_scored": "有得分单位数",
    "mean": "平均综合得分", "sd": "标准差", "se": "标准误", "ci_low": "95%置信区间下限", "ci_high": "95%置信区间上限",
    "min": "最低分", "q25": "下四分位数", "median": "中位数", "q75": "上四分位数", "max": "最高分",
    "grade_counts": "等级分布", "n_top": "优秀单位数", "share_top": "优秀占比", "n_bottom": "不合格单位数",
    "share_bottom": "不合格占比", "n_regions": "同级区域数", "rank_in_parent": "上级区域内名次",
    "n_in_parent": "上级区域内同级区域数", "n_change": "有上期得分单位数", "method": "方法",
}
COLUMN_LABELS.update({k: v for k, v in FOLLOW_LABELS.items() if k not in COLUMN_LABELS})
__all__ += ["FOLLOW_LABELS"]
