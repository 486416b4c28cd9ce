"""The words of the payout run, import and ledger check pages, as zh/en data.

Like web/pages/notices.py these pages keep their words here rather than in the shared
catalogue; column and table names come from revenue/export.py's Chinese headers, the
same the workbook uses.
"""

from __future__ import annotations

from django.utils.translation import get_language

from revenue.export import POOLS_ZH, SHEETS_ZH, ZH

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "nav": "结算",
        "title": "收益结算",
        "intro": "台账中记录的每一次结算：草稿、定稿与被更正的定稿。"
        "草稿由一人计算，须由另一位财务人员定稿。",
        "none": "台账中还没有结算。",
        "compute": "计算草稿",
        "period": "结算期",
        "period_hint": "YYYY-MM 或 YYYYQn，例如 2026-08",
        "run": "结算批次",
        "status": "状态",
        "recorded": "记录时间",
        "by": "计算人",
        "finalized_by": "定稿人",
        "supersedes": "更正批次",
        "open": "查看",
        "s.draft": "草稿",
        "s.final": "定稿",
        "s.superseded": "已被更正",
        "cli": "（命令行）",
        "run_title": "结算批次 {seq} · {period}",
        "summary": "{count} 户农户合计 {households} 元；村集体资金合计 {pools} 元",
        "inputs": "输入哈希",
        "superseded_by": "已被批次 {seq} 更正",
        "reason": "更正原因",
        "history": "经办记录",
        "action": "操作",
        "user": "用户",
        "at": "时间",
        "run.compute": "计算草稿",
        "run.finalize": "定稿",
        "run.supersede": "更正定稿",
        "run.refused": "结算操作被拒绝",
        "recorded_cli": "在命令行记录",
        "d.run": "批次",
        "d.period": "结算期",
        "d.draft": "草稿批次",
        "d.supersedes": "被更正批次",
        "d.reason": "原因",
        "d.problem": "原因",
        "finalize": "定稿",
        "finalize_hint": "定稿后不可更改；由计算草稿以外的财务人员操作。",
        "supersede": "执行更正",
        "supersede_hint": "按上面的申请重新计算本期并替换此定稿；"
        "原定稿保留在台账中，标为已被更正。",
        "correction": "申请更正",
        "correction_hint": "定稿不可更改。发现错误时写明原因申请更正，由另一位财务人员执行。",
        "run.correction": "申请更正",
        "asked": "已申请更正，请另一位财务人员执行。",
        "asked_by": "{user} 于 {at} 申请更正：{reason}",
        "already_asked": "此定稿已有待执行的更正申请。",
        "not_asked": "此定稿没有待执行的更正申请：请先写明原因申请更正。",
        "four_eyes_correction": "双人复核：更正由 {user} 申请，不能由同一人执行，"
        "请另一位财务人员执行。",
        "not_in_force": "只有有效的定稿可以更正。",
        "superseded": "已更正：批次 {seq} 替换定稿 {old}。",
        "downloads": "下载（台账记录的文件）",
        "notice": "公示表（PDF）",
        "differences": "与被更正批次的差异",
        "table": "表",
        "key": "编号",
        "old": "原金额(元)",
        "new": "新金额(元)",
        "difference": "差额(元)",
        "no_rows": "无",
        "no_differences": "与被更正批次相比，没有一行金额变化。",
        "yes": "是",
        "no": "否",
        "computed": "已计算草稿（批次 {seq}），请另一位财务人员核对后定稿。",
        "finalized": "已定稿：批次 {seq}（依据草稿 {draft}）。",
        "not_draft": "只有草稿可以定稿。",
        "inputs_differ": "注意：定稿的输入与草稿 {draft} 不同（草稿之后数据有变化），请核对定稿。",
        "d.same_inputs": "与草稿输入相同",
        "newer_run": "本期已有更新的批次 {seq}：请在最新的草稿上操作。",
        "cli_draft": "此草稿在命令行计算，未记录计算人：请在网页上重新计算草稿，由另一人定稿。",
        "four_eyes": "双人复核：草稿由 {user} 计算，不能由同一人定稿，请另一位财务人员定稿。",
        "inputs_changed": "草稿之后有新的抄表或结算单导入：请重新计算草稿再定稿。",
        "no_final": "本期还没有定稿，无需更正：请直接定稿。",
        "has_final": "本期已在批次 {seq} 定稿：定稿不可更改，请在该批次页面写明原因申请更正。",
        "need_reason": "更正定稿须写明原因。",
        "t.checks": "检查",
        "col.village_name": "村",
    },
    "en": {
        "nav": "Payout runs",
        "title": "Payout runs",
        "intro": "Every run the ledger recorded: drafts, final runs and superseded ones. One "
        "person computes a draft; another finance user finalizes it.",
        "none": "No run in the ledger yet.",
        "compute": "Compute a draft",
        "period": "Period",
        "period_hint": "YYYY-MM or YYYYQn, e.g. 2026-08",
        "run": "Run",
        "status": "Status",
        "recorded": "Recorded",
        "by": "Computed by",
        "finalized_by": "Finalized by",
        "supersedes": "Supersedes",
        "open": "open",
        "s.draft": "draft",
        "s.final": "final",
        "s.superseded": "superseded",
        "cli": "(command line)",
        "run_title": "Run {seq} · {period}",
        "summary": "{count} households, {households} yuan in all; village pools {pools} yuan",
        "inputs": "Inputs hash",
        "superseded_by": "superseded by run {seq}",
        "reason": "Reason for the correction",
        "history": "Who did what",
        "action": "Action",
        "user": "User",
        "at": "Time",
        "run.compute": "draft computed",
        "run.finalize": "run finalized",
        "run.supersede": "final run superseded",
        "run.refused": "run action refused",
        "recorded_cli": "recorded on the command line",
        "d.run": "run",
        "d.period": "period",
        "d.draft": "draft",
        "d.supersedes": "supersedes",
        "d.reason": "reason",
        "d.problem": "why",
        "finalize": "Finalize",
        "finalize_hint": "A final run never changes; finalized by a finance user other than "
        "the one who computed the draft.",
        "supersede": "Carry out the correction",
        "supersede_hint": "Compute the period again as asked above and supersede this final "
        "run; it stays in the ledger, marked superseded.",
        "correction": "Ask for a correction",
        "correction_hint": "A final run never changes. To correct it, say why; another finance "
        "user carries the correction out.",
        "run.correction": "correction asked",
        "asked": "Correction asked: another finance user carries it out.",
        "asked_by": "{user} asked for a correction at {at}: {reason}",
        "already_asked": "A correction of this final run is already asked.",
        "not_asked": "No correction of this final run is asked: ask for one with a reason first.",
        "four_eyes_correction": "Four eyes: {user} asked for this correction and cannot also "
        "carry it out; another finance user must.",
        "not_in_force": "Only a final run in force can be corrected.",
        "superseded": "Superseded: run {seq} replaces final run {old}.",
        "downloads": "Downloads (the files the ledger recorded)",
        "notice": "Notice sheet (PDF)",
        "differences": "Differences from the superseded run",
        "table": "Table",
        "key": "Line",
        "old": "Old (yuan)",
        "new": "New (yuan)",
        "difference": "Difference (yuan)",
        "no_rows": "none",
        "no_differences": "No line's amount differs from the superseded run.",
        "yes": "yes",
        "no": "no",
        "computed": "Draft computed (run {seq}): another finance user checks and finalizes it.",
        "finalized": "Finalized: run {seq} (from draft {draft}).",
        "not_draft": "Only a draft can be finalized.",
        "inputs_differ": "Note: the final run's inputs differ from draft {draft}'s (the data "
        "changed after the draft): check the final run.",
        "d.same_inputs": "same inputs as the draft",
        "newer_run": "The period has a newer run {seq}: act on the newest draft.",
        "cli_draft": "This draft was computed on the command line, with no user recorded: "
        "compute a draft here and let another person finalize it.",
        "four_eyes": "Four eyes: {user} computed this draft and cannot also finalize it; "
        "another finance user must.",
        "inputs_changed": "Meter readings or statements were imported after this draft: "
        "compute a new draft before finalizing.",
        "no_final": "The period has no final run to supersede: finalize instead.",
        "has_final": "The period was finalized in run {seq}: a final run never changes; "
        "ask for a correction with a reason on that run's page.",
        "need_reason": "Superseding a final run needs a reason.",
        "t.checks": "Checks",
        "col.village_name": "Village",
    },
}

#: English names of a run's tables (the Chinese ones are the workbook's sheet names)
TABLES_EN = {
    "checks": "Checks",
    "villages": "Village pools",
    "cooperatives": "Cooperatives",
    "households": "Households",
    "reconciliation": "Reconciliation against the grid statement",
}


#: the mandatory checks' names (revenue/checks.py) in Chinese; an unlisted one shows as written
CHECKS_ZH = {
    "inputs are complete (no energy error, tariff or rule missing)": "输入完整（无电量错误，电价与分配规则齐全）",  # noqa: E501
    "station lines add up": "各电站明细相加一致",
    "lines sum exactly to the distributable amounts": "各项分配之和恰等于可分配金额",
    "invariant: households + cooperative residue + village pools == distributable": "恒等式：农户 + 合作社尾差 + 村集体资金 = 可分配金额",  # noqa: E501
    "no negative line": "没有负数行",
    "every station and every shareholder has a line": "每个电站和每位受益人都有一行",
    "adjustment lines: each paid once, none negative": "补发明细：每项只付一次，没有负数",
    "pool uses add up (carried in + income = uses + balance)": "资金池收支平衡（上期结转 + 收入 = 支出 + 结余）",  # noqa: E501
}
#: coded values of a run's tables, in Chinese: column -> value -> words
VALUES_ZH = {
    "energy_source": {"statement": "结算单", "export_meter": "关口表", "inverter": "逆变器"},
    "residue_to": {"reserve": "留作储备", "carry_forward": "结转下期"},
}
#: flags (the part before ":") in Chinese
FLAGS_ZH = {"legacy_beneficiary_share": "原协议受益分成"}
FLAGS_EN = {"legacy_beneficiary_share": "legacy beneficiary share"}


def value_label(column: str, value: str) -> str:
    """A coded cell value (a check, an energy source, a flag) in the page's language."""
    zh = lang() == "zh"
    if column == "check":
        return CHECKS_ZH.get(value, value) if zh else value
    if column == "flags":
        parts = []
        for flag in filter(None, (f.strip() for f in value.split(";"))):
            code, sep, rest = flag.partition(":")
            words_ = (FLAGS_ZH if zh else FLAGS_EN).get(code, code)
            parts.append(words_ + (("：" if zh else ": ") + rest if sep else ""))
        return "；".join(parts) if zh else "; ".join(parts)
    if zh:
        return VALUES_ZH.get(column, {}).get(value, value)
    return value.replace("_", " ") if column in VALUES_ZH else value


def lang() -> str:
    """The page's language: zh or en."""
    return "zh" if (get_language() or "").startswith("zh") else "en"


def words() -> dict[str, str]:
    """The words of the page's language."""
    return TEXT[lang()]


def column_label(column: str) -> str:
    """A column's header in the page's language (the workbook's Chinese headers)."""
    if lang() == "zh":
        return ZH.get(column, column)
    if column == "village_id":
        return "village"  # the page shows its name
    return column.replace("_yuan", " (yuan)").replace("_wh", " (Wh)").replace("_", " ")


def table_label(name: str) -> str:
    """A table's title in the page's language."""
    if lang() == "zh":
        return "对账（与电网结算单）" if name == "reconciliation" else SHEETS_ZH.get(name, name)
    return TABLES_EN.get(name, name)


def pool_label(pool: str) -> str:
    """A village pool's name in the page's language."""
    return POOLS_ZH.get(pool, pool) if lang() == "zh" else pool
