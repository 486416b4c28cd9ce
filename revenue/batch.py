"""Bank batches: the transfers of a final run, as the file its bank imports (issue 17).

``plan(config, ledger, run, bank)`` lists the lines a final run owes households: one per
household for the run's own period (its recorded ``amounts``), one per household
adjustment line the run paid (its recorded ``adjustment-lines-PERIOD.csv``: late money,
lines carried over from earlier batches). A line whose household has no valid account
(core/config/payees.py) or that the run itself left unpaid is an *unpaid* line: it is
not in the bank file, it is recorded with its reason and revenue/carry_over.py hands it
to the next run, so it is never dropped. Totals tie by construction and are checked:
transfers + unpaid = the run's household lines.

``record`` writes the batch and its lines into the ledger (tables ``payment_batches``
and ``payment_lines``, one chain entry, covered by `revenue verify`); ``render`` makes the
file from the recorded lines with the bank's template (revenue/bank_template.py), and
``write_private`` writes it with mode 0600: it is the one output with full account and
ID numbers.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from core.config import Config
from core.config.payments import Bank
from core.problems import BadInput, Problem
from revenue.bank_template import Template, encode, fill
from revenue.diff import recorded_amounts
from revenue.ledger import COVERED, Ledger, RunRecord
from revenue.money import fen_to_yuan_str
from revenue.payees import payable

TRANSFER, UNPAID = "transfer", "unpaid"
#: the source of a batch line paying a run's own period
RUN_SOURCE = "run"


@dataclass(frozen=True)
class BatchLine:
    """One line of a batch: a transfer to a household's account, or an unpaid line [fen]."""

    line_no: int
    status: str  # transfer | unpaid
    payee: str  # household id
    village: str
    account: str  # the digits the bank is given; "" on an unpaid line
    amount_fen: int
    source: str  # "run" or the adjustment line's source
    ref: str  # the never-pay-twice key of what this line pays
    period_of: str  # the period the money belongs to
    reason: str = ""  # why an unpaid line is unpaid


@dataclass(frozen=True)
class Batch:
    """A final run's batch for one bank."""

    batch_id: str
    run_seq: int
    period: str
    bank: str
    template: str
    lines: tuple[BatchLine, ...]

    @property
    def transfers(self) -> tuple[BatchLine, ...]:
        """The lines in the bank file."""
        return tuple(ln for ln in self.lines if ln.status == TRANSFER)

    @property
    def unpaid(self) -> tuple[BatchLine, ...]:
        """The lines left out of the bank file, with their reasons."""
        return tuple(ln for ln in self.lines if ln.status == UNPAID)

    @property
    def total_fen(self) -> int:
        """The control total of the bank file."""
        return sum(ln.amount_fen for ln in self.transfers)

    @property
    def unpaid_fen(self) -> int:
        """What the unpaid lines owe."""
        return sum(ln.amount_fen for ln in self.unpaid)

    def file_name(self, t: Template) -> str:
        """batch-PERIOD-rRUN-BANK.csv|xlsx."""
        return f"batch-{self.batch_id}-{self.bank}{t.suffix}"


def batch_id_for(run: RunRecord) -> str:
    """The batch id of a run: PERIOD-rRUN (one batch per final run)."""
    return f"{run.period}-r{run.seq}"


def final_run(ledger: Ledger, run_seq: int) -> RunRecord:
    """The run, when it is final and no later run supersedes it; BadInput otherwise."""
    run = next((r for r in ledger.runs() if r.seq == run_seq), None)
    fix = "give the number of a final run (`pvledger payments list` shows them)"
    if run is None:
        raise BadInput([Problem("--run", f"there is no run {run_seq} in the ledger", fix)])
    if run.status != "final":
        raise BadInput([Problem("--run", f"run {run_seq} is a {run.status} run", fix)])
    eff = ledger.effective_final(run.period)
    if eff is not None and eff.seq != run.seq:
        raise BadInput(
            [
                Problem(
                    "--run",
                    f"run {run_seq} was superseded by run {eff.seq} ({run.period})",
                    f"batch run {eff.seq}",
                )
            ]
        )
    # a correction of a run already sent to the bank would pay everything again
    by_seq = {r.seq: r for r in ledger.runs()}
    prev = run.supersedes
    while prev is not None:
        sent = ledger.db.execute(
            "SELECT batch_id FROM payment_batches WHERE run_seq = ?", (prev,)
        ).fetchone()
        if sent:
            raise BadInput(
                [
                    Problem(
                        "--run",
                        f"run {run_seq} corrects run {prev}, which batch {sent[0]} already "
                        "paid: a batch of the correction would pay every line again",
                        "pay the differences in correction-PERIOD.csv by hand (docs/payments.md)",
                    )
                ]
            )
        prev = by_seq[prev].supersedes if prev in by_seq else None
    return run


def owed(ledger: Ledger, run: RunRecord) -> list[dict]:
    """What a final run owes households: its own lines and its household adjustment lines."""
    out = []
    households = recorded_amounts(ledger, run).get("households", {})
    for h in sorted(households):
        out.append(
            {
                "payee": h,
                "amount_fen": households[h],
                "source": RUN_SOURCE,
                "ref": f"run{run.seq}/{h}",
                "period_of": run.period,
                "reason": "",
            }
        )
    data = ledger.files(run.seq).get(f"adjustment-lines-{run.period}.csv")
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))) if data else ():
        if row["payee_kind"] != "household":
            continue  # village and cooperative money stays with the collective's accounts
        out.append(
            {
                "payee": row["payee"],
                "amount_fen": int(row["amount_fen"]),
                "source": row["source"],
                "ref": f"{row['source']}/{row['ref']}",
                "period_of": row["period_of"],
                "reason": _unpaid(row.get("unpaid_reason", "")),
            }
        )
    return out


def _unpaid(reason: str) -> str:
    """A run's unpaid reason as a batch line's: "unpaid: ..." ("" stays "")."""
    return reason if not reason or reason.startswith("unpaid") else f"unpaid: {reason}"


def plan(config: Config, ledger: Ledger, run: RunRecord, bank: Bank) -> Batch:
    """The batch of a final run for a bank (pure over the ledger's records and the registry)."""
    owed_lines = owed(ledger, run)
    bad = [o for o in owed_lines if o["amount_fen"] < 0]
    if bad:
        raise BadInput(
            [
                Problem(f"run {run.seq}", f"{o['ref']}: negative amount {o['amount_fen']} fen")
                for o in bad
            ]
        )
    transfers, unpaid = [], []
    for o in owed_lines:
        if o["amount_fen"] == 0:
            continue  # nothing to transfer, nothing owed
        hh = config.household_by_id.get(o["payee"])
        account, reason = payable(hh)
        reason = o["reason"] or reason
        village = hh.village if hh else ""
        item = (o, village, account if not reason else "", reason)
        (unpaid if reason else transfers).append(item)
    lines = [
        BatchLine(
            n,
            UNPAID if reason else TRANSFER,
            o["payee"],
            village,
            account,
            o["amount_fen"],
            o["source"],
            o["ref"],
            o["period_of"],
            reason,
        )
        for n, (o, village, account, reason) in enumerate(transfers + unpaid, start=1)
    ]
    batch = Batch(batch_id_for(run), run.seq, run.period, bank.id, bank.template, tuple(lines))
    owed_fen = sum(o["amount_fen"] for o in owed_lines)
    if batch.total_fen + batch.unpaid_fen != owed_fen:  # every fen is a transfer or unpaid
        raise RuntimeError(f"batch {batch.batch_id}: totals do not tie with run {run.seq}")
    return batch


def record(ledger: Ledger, batch: Batch, t: Template, recorded_at: str) -> None:
    """Record the batch and its lines in the ledger (one chain entry)."""
    ledger.record(
        # kind "import": `revenue verify` checks covered rows against import entries
        "import",
        f"payment-batch/{batch.batch_id}",
        {
            "payment_batches": [
                {
                    "batch_id": batch.batch_id,
                    "run_seq": batch.run_seq,
                    "period": batch.period,
                    "bank": batch.bank,
                    "template": batch.template,
                    "file_name": batch.file_name(t),
                    "count": len(batch.transfers),
                    "total_fen": batch.total_fen,
                    "unpaid_fen": batch.unpaid_fen,
                    "recorded_at": recorded_at,
                }
            ],
            "payment_lines": [
                {
                    "batch_id": batch.batch_id,
                    "line_no": ln.line_no,
                    "status": ln.status,
                    "payee": ln.payee,
                    "village": ln.village,
                    "account": ln.account,
                    "amount_fen": ln.amount_fen,
                    "source": ln.source,
                    "ref": ln.ref,
                    "period_of": ln.period_of,
                    "reason": ln.reason,
                }
                for ln in batch.lines
            ],
        },
        recorded_at,
    )


def batches(ledger: Ledger) -> list[dict]:
    """Every recorded batch row, in batch id order."""
    cols = COVERED["payment_batches"][0]
    q = f"SELECT {', '.join(cols)} FROM payment_batches ORDER BY run_seq, batch_id"
    return [dict(zip(cols, r, strict=True)) for r in ledger.db.execute(q)]


def load(ledger: Ledger, batch_id: str) -> Batch | None:
    """A recorded batch with its lines; None when there is none of that id."""
    row = next((b for b in batches(ledger) if b["batch_id"] == batch_id), None)
    if row is None:
        return None
    lines = tuple(
        BatchLine(*r)
        for r in ledger.db.execute(
            "SELECT line_no, status, payee, village, account, amount_fen, source, ref, "
            "period_of, reason FROM payment_lines WHERE batch_id = ? ORDER BY line_no",
            (batch_id,),
        )
    )
    return Batch(batch_id, row["run_seq"], row["period"], row["bank"], row["template"], lines)


def amount_text(t: Template, fen: int) -> str:
    """An amount as the template's unit writes it: "123.45" yuan or "12345" fen."""
    return fen_to_yuan_str(fen) if t.amount_unit == "yuan" else str(fen)


def amount_fen(t: Template, text: str) -> int | None:
    """An amount cell back to fen; None when it is not an exact amount in the unit."""
    try:
        d = Decimal(text.replace(",", ""))
    except ArithmeticError:
        return None
    fen = d * 100 if t.amount_unit == "yuan" else d
    return int(fen) if d.is_finite() and fen == fen.to_integral_value() else None


def header_values(config: Config, batch: Batch, bank: Bank, t: Template) -> dict[str, str]:
    """The values header and trailer placeholders take."""
    return {
        "batch_id": batch.batch_id,
        "count": str(len(batch.transfers)),
        "total": amount_text(t, batch.total_fen),
        "payer_name": bank.payer_name,
        "payer_account": bank.payer_account,
        "purpose": bank.purpose,
        "period": batch.period,
        "run": str(batch.run_seq),
    }


def render(config: Config, batch: Batch, bank: Bank, t: Template) -> bytes:
    """The bank file: header, the column titles, one row per transfer, trailer."""
    values = header_values(config, batch, bank, t)
    rows = [*fill(t.header, values), t.titles()]
    for ln in batch.transfers:
        hh = config.household_by_id.get(ln.payee)
        fields = {
            "line_no": str(ln.line_no),
            "account": ln.account,
            "name": hh.name if hh else "",
            "amount": amount_text(t, ln.amount_fen),
            "id_number": hh.id_number if hh else "",
            "memo": f"{bank.purpose} {ln.period_of}".strip(),
            "ref": ln.ref,
            "payee": ln.payee,
        }
        rows.append([fields[c.field] for c in t.columns])
    return encode(t, rows + fill(t.trailer, values))


UNPAID_COLUMNS = (
    "line_no",
    "household_id",
    "village_id",
    "amount_fen",
    "amount_yuan",
    "ref",
    "period_of",
    "reason",
)


def unpaid_csv(batch: Batch) -> bytes:
    """The unpaid lines for finance staff (no account numbers), UTF-8 with BOM."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(UNPAID_COLUMNS)
    for ln in batch.unpaid:
        row = [ln.line_no, ln.payee, ln.village, ln.amount_fen, fen_to_yuan_str(ln.amount_fen)]
        w.writerow([*row, ln.ref, ln.period_of, ln.reason])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_private(path: Path, data: bytes) -> Path:
    """Write a file readable by its owner only (0600), atomically, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing temp file keeps its mode otherwise
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path
