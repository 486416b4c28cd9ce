"""The demo's paperwork after its final run: one village's notice (公示 PDF) and one
household's annual statement (xlsx and PDF), linked from report.html."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.config import Config
from revenue.ledger import RunRecord

#: the village whose notice the demo prints (the first the run names when it is absent)
NOTICE_VILLAGE = "dongpi"


def write_paperwork(
    config: Config, record: RunRecord, out: Path, published: dt.date, lang: str = "en"
) -> list[tuple[str, str]]:
    """Write the notice and the statement into ``out``; (link text, file name) for each."""
    from revenue import notice
    from revenue import statements as st
    from revenue import statements_out as so
    from revenue.ledger import Ledger
    from revenue.notice_pdf import file_name, render_notice
    from revenue.payout import ledger_path
    from revenue.period import parse_period

    with Ledger(ledger_path(config)) as ledger:
        run = notice.final_run(ledger, record.seq)
        villages = notice.villages_of(notice.notice_files(ledger, run), run.period)
        village = NOTICE_VILLAGE if NOTICE_VILLAGE in villages else villages[0]
        board = notice.build(config, ledger, run, village)
        year = parse_period(run.period).start.year
        households = [
            s for s in st.household_statements(config, ledger, year) if s.village_id == village
        ]
    # the household of the village paid most: a statement with something on it
    one = min(households, key=lambda s: (-s.total_fen, s.household_id))
    notice_name = file_name(board)
    (out / notice_name).write_bytes(render_notice(config, board, published))
    stem = so.file_stem(one)
    (out / f"{stem}.pdf").write_bytes(so.household_pdf(one))
    (out / f"{stem}.xlsx").write_bytes(so.household_xlsx(one))
    zh = lang == "zh"
    return [
        (
            f"{board.village_name} {run.period} 公示 PDF（核对码 {board.check_code}）"
            if zh
            else f"Notice (公示) of {board.village_name}, {run.period}, PDF "
            f"(check code {board.check_code})",
            notice_name,
        ),
        (
            f"{one.household_id} {year} 年度对账单 PDF" if zh else
            f"Annual statement {year} of household {one.household_id}, PDF",
            f"{stem}.pdf",
        ),
        (
            f"{one.household_id} {year} 年度对账单 Excel" if zh else
            f"Annual statement {year} of household {one.household_id}, Excel",
            f"{stem}.xlsx",
        ),
    ]  # fmt: skip
