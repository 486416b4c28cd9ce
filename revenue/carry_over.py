"""Carried-over lines: what an earlier batch did not pay, paid by the next run.

An adjustment provider (revenue/adjustments.py PROVIDERS): for a run of ``period`` it
returns one line per

- failed transfer of a confirmed batch (source ``carried_failed``: the bank returned it,
  e.g. a closed account or a wrong name), and
- unpaid line of a batch (source ``carried_unpaid``: no valid account, or a line its run
  had left unpaid),

of every batch whose run's period started before ``period``. The ref is the batch line
("2026-10-r3/17"); adjustments.collect() drops the refs an earlier final run paid, so
each is paid exactly once, by the first final run after the batch (a line that fails
again is a new line of that run's batch, with a new ref).
"""

from __future__ import annotations

from core.config import Config
from revenue.adjustments import AdjustmentLine, labels
from revenue.ledger import Ledger
from revenue.payees import NO_VALID_ACCOUNT, payable
from revenue.period import Period, parse_period

FAILED, UNPAID = "carried_failed", "carried_unpaid"


def adjustments(config: Config, ledger: Ledger, period: Period) -> list[AdjustmentLine]:
    """The carried-over lines a run of ``period`` owes (see the module docstring)."""
    rows = ledger.db.execute(
        "SELECT b.batch_id, b.period, l.line_no, l.status, l.payee, l.village, l.amount_fen, "
        "l.period_of, l.reason, r.status, r.bank_reason FROM payment_lines l "
        "JOIN payment_batches b USING (batch_id) "
        "LEFT JOIN payment_results r USING (batch_id, line_no) "
        "ORDER BY b.batch_id, l.line_no"
    ).fetchall()
    out = []
    for batch_id, run_period, no, status, payee, village, fen, period_of, reason, res, why in rows:
        if parse_period(run_period).start >= period.start:
            continue  # this period's own batch (or a later one) is not "earlier"
        if status == "unpaid":
            plain = NO_VALID_ACCOUNT in reason
            source = UNPAID
            note_zh, note_en = ("无有效银行账户", "no valid account") if plain else (reason, reason)
        elif res == "failed":
            source, note_zh, note_en = FAILED, why, why
        else:
            continue  # paid, or not confirmed yet
        zh, en = labels(source, period_of)
        hh = config.household_by_id.get(payee)
        # still no valid account: the run lists the line as unpaid, its batch carries it on
        _, still = payable(hh)
        out.append(
            AdjustmentLine(
                source=source,
                ref=f"{batch_id}/{no}",
                payee_kind="household",
                payee=payee,
                village=hh.village if hh else village,
                station="",
                period_of=period_of,
                amount_fen=fen,
                label_zh=f"{zh}（{note_zh}）" if note_zh else zh,
                label_en=f"{en} ({note_en})" if note_en else en,
                unpaid_reason=still,
            )
        )
    return out
