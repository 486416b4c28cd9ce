"""A small county for payment tests: a config with banks, and final runs in a real ledger.

Runs are appended to the ledger as revenue/publish.py records them (``state["amounts"]``,
the adjustment keys under adjustments.STATE_KEY, the ``adjustment-lines-PERIOD.csv``
file), so batches are made from what a final run records, not from a recomputation.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

from stdnum import luhn

from core.config import Config, load_config
from revenue.adjustments import STATE_KEY, AdjustmentLine
from revenue.ledger import Ledger
from revenue.payout import ledger_path

NOW = dt.datetime(2026, 8, 5, 2, 0, tzinfo=dt.UTC)

ADJ_COLUMNS = (
    "source",
    "ref",
    "payee_kind",
    "payee",
    "village_id",
    "station_id",
    "period_of",
    "amount_fen",
    "amount_yuan",
    "label_zh",
    "label_en",
    "unpaid_reason",
)


def card(n: int, prefix: str = "621700") -> str:
    """A 19-digit card number with a correct Luhn digit."""
    body = f"{prefix}{n:012d}"
    return body + luhn.calc_check_digit(body)


def bad_card(n: int) -> str:
    """A 19-digit card number whose Luhn digit is wrong (one digit mistyped)."""
    good = card(n)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def write_config(
    folder: Path,
    households: list[dict],
    *,
    banks: str = "",
    default: str | None = None,
) -> Config:
    """config.yaml with one village, the households (id, name, account, id_number) and banks."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "site: {name: 测试县, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98}",
        "storage: {backend: sqlite, path: data/store.db}",
        "villages:",
        "  - {id: dongpi, name: 东陂村}",
        "households:",
    ]
    for h in households:
        cells = ", ".join(f'{k}: "{v}"' for k, v in h.items())
        lines.append(f"  - {{{cells}}}")
    lines.append("payments:")
    if default:
        lines.append(f"  bank: {default}")
    lines.append("  banks:")
    lines.append(
        banks
        or "    - {id: gen, template: generic-csv, payer_name: 测试县乡村振兴局, "
        'payer_account: "3624010012345678"}\n'
        "    - {id: rcc, template: county-agri-xlsx, payer_name: 测试县乡村振兴局, "
        'payer_account: "3624010012345678"}'
    )
    (folder / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(folder / "config.yaml")


def adjustment_csv(lines: list[AdjustmentLine]) -> bytes:
    """An adjustment-lines CSV as revenue/export.py writes it."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, ADJ_COLUMNS, lineterminator="\n")
    w.writeheader()
    for a in lines:
        w.writerow(
            {
                "source": a.source,
                "ref": a.ref,
                "payee_kind": a.payee_kind,
                "payee": a.payee,
                "village_id": a.village,
                "station_id": a.station,
                "period_of": a.period_of,
                "amount_fen": a.amount_fen,
                "amount_yuan": f"{a.amount_fen / 100:.2f}",
                "label_zh": a.label_zh,
                "label_en": a.label_en,
                "unpaid_reason": a.unpaid_reason,
            }
        )
    return ("\ufeff" + buf.getvalue()).encode()


def final_run(
    config: Config,
    period: str,
    households: dict[str, int],
    adjustments: tuple[AdjustmentLine, ...] = (),
    *,
    status: str = "final",
    supersedes: int | None = None,
) -> int:
    """Record a run of ``period`` paying ``households`` [fen] and ``adjustments``; its seq."""
    files = {f"households-{period}.csv": repr(sorted(households.items())).encode()}
    if adjustments:
        files[f"adjustment-lines-{period}.csv"] = adjustment_csv(list(adjustments))
    state = {"amounts": {"households": dict(households)}}
    if adjustments:
        state[STATE_KEY] = sorted(a.key for a in adjustments)
    with Ledger(ledger_path(config)) as ledger:
        rec = ledger.append(
            period=period,
            status=status,
            inputs_hash=hashlib.sha256(repr(state).encode()).hexdigest(),
            files=files,
            state=state,
            recorded_at=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            supersedes=supersedes,
            reason="correction" if supersedes else "",
        )
    return rec.seq


def ledger_snapshot(config: Config) -> tuple:
    """What a refused command must leave as it was: the chain head, the head file, the rows."""
    with Ledger(ledger_path(config)) as ledger:
        return (ledger.head(), ledger.read_head(), ledger.rows())
