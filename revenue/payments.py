"""The payments workflow over the ledger: batch a final run, confirm its return file.

``make_batch`` and ``confirm_file`` are what `pvledger payments` runs (and the demo):
each refuses a ledger that fails verification, refuses bad input with every problem
(BadInput, nothing written), records what it did in the ledger and writes its files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.config.payments import Bank
from core.problems import BadInput, Problem
from revenue import batch as rb
from revenue import confirm as rc
from revenue.bank_template import Template, decode, load_template
from revenue.ledger import Ledger, LedgerBroken


@dataclass(frozen=True)
class BatchOutcome:
    """A batch and the files written for it."""

    batch: rb.Batch
    written: tuple[Path, ...]
    new: bool  # False: the batch was recorded before, its file written again


def stamp(now: dt.datetime | None) -> str:
    """The ledger's time stamp (UTC, seconds)."""
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def require_intact(ledger: Ledger) -> None:
    """LedgerBroken unless `revenue verify` would pass: no money moves on edited records."""
    broken = ledger.verify()
    if broken:
        raise LedgerBroken(
            f"{ledger.path}: the ledger fails verification, nothing written:\n"
            + "\n".join(f"  {p}" for p in broken[:20])
            + "\nrun `pvledger revenue verify` for every problem"
        )


def bank_of(config: Config, bank_id: str | None) -> Bank:
    """The configured bank (the default when None); BadInput naming the fix otherwise."""
    bank = config.payments.bank_by_id(bank_id)
    if bank is None:
        ids = ", ".join(b.id for b in config.payments.banks) or "none configured"
        raise BadInput(
            [
                Problem(
                    "--bank" if bank_id else "payments.bank",
                    f"no bank {bank_id!r}" if bank_id else "no default bank",
                    f"name one of the banks under payments.banks ({ids}), "
                    "or set payments.bank (docs/payments.md)",
                )
            ]
        )
    return bank


def template_of(config: Config, bank: Bank) -> Template:
    """The bank's template, read and validated."""
    return load_template(bank.template, config.base_dir)


def make_batch(
    config: Config,
    ledger: Ledger,
    run_seq: int,
    *,
    bank_id: str | None,
    out_dir: Path,
    now: dt.datetime | None = None,
) -> BatchOutcome:
    """Record the batch of a final run (once) and write its bank file and unpaid list."""
    require_intact(ledger)
    run = rb.final_run(ledger, run_seq)
    existing = rb.load(ledger, rb.batch_id_for(run))
    if existing is not None and bank_id is not None and bank_id != existing.bank:
        raise BadInput(
            [
                Problem(
                    "--bank",
                    f"run {run_seq} was batched for bank {existing.bank} "
                    f"({existing.batch_id}); a run is paid through one batch",
                    f"leave out --bank, or give --bank {existing.bank}",
                )
            ]
        )
    bank = bank_of(config, existing.bank if existing else bank_id)
    t = template_of(config, bank)
    batch = existing or rb.plan(config, ledger, run, bank)
    if existing is None:
        rb.record(ledger, batch, t, stamp(now))
    written = [
        rb.write_private(out_dir / batch.file_name(t), rb.render(config, batch, bank, t)),
        rb.write_private(out_dir / f"unpaid-{batch.batch_id}.csv", rb.unpaid_csv(batch)),
    ]
    return BatchOutcome(batch, tuple(written), existing is None)


def read_for_batch(
    config: Config, ledger: Ledger, path: Path, bank_id: str | None
) -> tuple[rb.Batch, Template, rc.ReturnFile]:
    """The recorded batch a return file answers, its template, and the file's results."""
    shown = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(
            [Problem("FILE", f"cannot be read ({exc.strerror})", "give the return file")],
            what=shown,
        ) from None
    banks = [bank_of(config, bank_id)] if bank_id else list(config.payments.banks)
    found: dict[str, rb.Batch] = {}
    decoded: dict[tuple, list[list[str]]] = {}  # how a template reads a file -> its rows
    for bank in banks:
        t = template_of(config, bank)
        try:
            rows = decoded.get(_reading(t)) or decode(t, data, shown)
        except BadInput:
            continue  # another bank's format
        decoded[_reading(t)] = rows
        bid = rc.batch_id_of(t, rows)
        b = rb.load(ledger, bid) if bid else None
        if b is not None:
            found[b.batch_id] = b
        elif bid:
            raise BadInput(
                [
                    Problem(
                        "(batch)",
                        f"a return file for batch {bid!r}, which this ledger does not hold",
                        "give the return file of a batch from `pvledger payments list`",
                    )
                ],
                what=shown,
            )
    if len(found) != 1:
        raise BadInput(
            [
                Problem(
                    "(batch)",
                    "names no batch of this ledger in the header of any configured bank's template",
                    "give the bank's return file of a batch from `pvledger payments list`",
                )
            ],
            what=shown,
        )
    batch = next(iter(found.values()))
    bank = bank_of(config, batch.bank)
    t = template_of(config, bank)
    return batch, t, rc.read_return(t, data, path.name, decoded.get(_reading(t)))


def _reading(t: Template) -> tuple:
    """What decoding a file depends on: two templates equal here read it the same."""
    return (t.format, t.encoding, t.delimiter, t.sheet)


def confirm_file(
    config: Config,
    ledger: Ledger,
    path: Path,
    *,
    bank_id: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[rb.Batch, dict[str, int]]:
    """Check a return file against its batch and record it; BadInput when it does not tie."""
    require_intact(ledger)
    batch, t, ret = read_for_batch(config, ledger, path, bank_id)
    problems = rc.check(ledger, batch, ret, t)
    if problems:
        raise BadInput(problems, what=str(path))
    return batch, rc.record(ledger, batch, ret, stamp(now))


def status(ledger: Ledger) -> list[dict]:
    """Every batch with its confirmation: counts and amounts [fen]."""
    out = []
    for b in rb.batches(ledger):
        conf = ledger.db.execute(
            "SELECT paid_fen, failed_fen, recorded_at, file_name FROM payment_confirmations "
            "WHERE batch_id = ?",
            (b["batch_id"],),
        ).fetchone()
        failed = ledger.db.execute(
            "SELECT count(*) FROM payment_results WHERE batch_id = ? AND status = 'failed'",
            (b["batch_id"],),
        ).fetchone()[0]
        unpaid = ledger.db.execute(
            "SELECT count(*) FROM payment_lines WHERE batch_id = ? AND status = 'unpaid'",
            (b["batch_id"],),
        ).fetchone()[0]
        out.append(
            {
                **b,
                "unpaid": unpaid,
                "confirmed_at": conf[2] if conf else "",
                "return_file": conf[3] if conf else "",
                "paid_fen": conf[0] if conf else None,
                "failed_fen": conf[1] if conf else None,
                "failed": failed,
            }
        )
    return out
