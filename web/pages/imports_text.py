"""The words of the imports and ledger check pages, as zh/en data (see runs_text.py)."""

from __future__ import annotations

from web.pages.runs_text import lang

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "nav": "导入",
        "title": "导入抄表与结算单",
        "intro": "上传关口表抄表或电网结算单 CSV（与 pvledger import-meter 相同的格式与校验）。"
        "先试导入查看每一行的问题；有任何错误行则整个文件都不导入。",
        "file": "CSV 文件",
        "dry_run": "试导入（不写入）",
        "import": "导入",
        "no_file": "请选择一个 CSV 文件。",
        "too_big": "文件超过 {mb} MB。",
        "bad_rows": "{file}：{n} 个问题，未导入任何数据",
        "line": "行",
        "where": "列",
        "message": "问题",
        "fix": "改正方法",
        "dry_ok": "{file}：试导入通过，可导入 {statements} 张结算单、"
        "{readings} 条抄表（尚未写入）。",
        "imported": "{file}：已导入 {statements} 张结算单、{readings} 条抄表。",
        "already": "{file}：此文件已导入过，未作任何更改。",
        "history": "已导入的文件",
        "rows": "行数",
        "name": "文件",
        "by": "导入人",
        "cli": "（命令行）",
        "at": "导入时间",
        "none": "还没有导入过文件。",
        "import.meter": "导入抄表/结算单",
        "import.refused": "导入被拒绝",
        "d.file": "文件",
        "d.sha256": "SHA-256",
        "d.statements": "结算单",
        "d.readings": "抄表",
        "d.problems": "问题数",
        "l.nav": "台账校验",
        "l.title": "台账校验",
        "l.intro": "与 pvledger revenue verify 相同的检查：哈希链、头文件、每次结算及其文件、"
        "每条结算单、抄表与导入记录。",
        "l.ok": "哈希链完整：每次结算、文件、结算单、抄表和导入都与台账一致。",
        "l.bad": "台账被改动：{n} 个问题",
        "l.none": "还没有台账（尚未结算或导入）。",
        "l.counts": "{runs} 次结算，{imports} 次导入（{statements} 张结算单，{readings} 条抄表）",
        "l.head": "链：{entries} 条记录，头哈希",
    },
    "en": {
        "nav": "Imports",
        "title": "Import meter readings and statements",
        "intro": "Upload a grid meter or settlement statement CSV (the format and checks of "
        "pvledger import-meter). A dry run lists every bad row; a file with any bad row "
        "imports nothing.",
        "file": "CSV file",
        "dry_run": "Dry run (writes nothing)",
        "import": "Import",
        "no_file": "Choose a CSV file.",
        "too_big": "The file is larger than {mb} MB.",
        "bad_rows": "{file}: {n} problems, nothing imported",
        "line": "Line",
        "where": "Column",
        "message": "Problem",
        "fix": "Fix",
        "dry_ok": "{file}: the dry run passed: {statements} statements and {readings} "
        "readings would be imported (nothing written yet).",
        "imported": "{file}: imported {statements} statements and {readings} readings.",
        "already": "{file}: already imported, nothing changed.",
        "history": "Imported files",
        "rows": "Rows",
        "name": "File",
        "by": "Imported by",
        "cli": "(command line)",
        "at": "Imported",
        "none": "No file imported yet.",
        "import.meter": "meter/statement import",
        "import.refused": "import refused",
        "d.file": "file",
        "d.sha256": "SHA-256",
        "d.statements": "statements",
        "d.readings": "readings",
        "d.problems": "problems",
        "l.nav": "Ledger check",
        "l.title": "Ledger check",
        "l.intro": "The checks of pvledger revenue verify: the hash chain, the head file, "
        "every run and its files, every statement, reading and import.",
        "l.ok": "Hash chain intact; every run, file, statement, reading and import matches.",
        "l.bad": "The ledger was changed: {n} problems",
        "l.none": "No ledger yet (no run or import recorded).",
        "l.counts": "{runs} runs, {imports} imports ({statements} statements, {readings} readings)",
        "l.head": "chain: {entries} entries, head",
    },
}


def words() -> dict[str, str]:
    """The words of the page's language."""
    return TEXT[lang()]
