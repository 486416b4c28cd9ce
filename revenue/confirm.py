"""The bank's return file of a batch: every transfer paid or failed, with the bank's reason.

``read_return`` finds the batch the file answers (the ``{batch_id}`` cell of the
template's header), its column titles (the batch file's, plus the template's status and
reason columns) and one result per line. ``check`` compares it with the recorded batch
and lists every problem at once: a file for a batch the ledger does not hold, a batch
confirmed before, a line number the batch does not have (or an unpaid line, which was
never sent), a line twice or missing, an account or amount that differs from the batch,
a status word the template does not know. Any problem -> BadInput (exit 2), nothing is
recorded. ``record`` writes the confirmation and its results (tables
``payment_confirmations`` and ``payment_results``) as one chain entry: paid + failed =
the batch's control total, or nothing is written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from core.problems import BadInput, Problem
from revenue.bank_template import Template, decode
from revenue.batch import Batch, amount_fen, amount_text
from revenue.ledger import Ledger

PAID, FAILED = "paid", "failed"
#: what revenue/batch.batch_id_for writes: PERIOD-rRUN
BATCH_ID_RE = re.compile(r"^\d{4}(-\d{2}|Q[1-4])-r\d+$")


@dataclass(frozen=True)
class Result:
    """One line of a return file."""

    line_no: int
    account: str | None  # None when the template has no account column
    amount_fen: int | None  # None when the cell is not an exact amount
    amount_text: str
    status: str  # paid | failed | the word found, when unknown
    reason: str
    file_line: int


@dataclass(frozen=True)
class ReturnFile:
    """What a return file says: the batch, its header controls and every line's result."""

    batch_id: str
    header: dict[str, str]  # placeholder -> the cell's text ({count}, {total})
    results: tuple[Result, ...]
    sha256: str
    name: str


def _placeholders(t: Template) -> dict[str, tuple[int, int, re.Pattern[str]]]:
    """placeholder -> (row, column, pattern) of the header cell that shows it."""
    out = {}
    for r, row in enumerate(t.header):
        for c, cell in enumerate(row):
            for name in ("batch_id", "count", "total"):
                token = "{" + name + "}"
                if token in cell and name not in out:
                    parts = [re.escape(p) for p in cell.split(token)]
                    pattern = "(.+?)".join(parts)
                    pattern = re.sub(r"\\\{[a-z_]+\\\}", ".*?", pattern)
                    out[name] = (r, c, re.compile(f"^{pattern}$", re.S))
    return out


def batch_id_of(t: Template, rows: list[list[str]]) -> str | None:
    """The batch id a file's header shows, read with a template; None when it does not fit."""
    r, c, pat = _placeholders(t)["batch_id"]
    row = rows[r] if r < len(rows) else []
    # the row's fixed cells ("批次号") must be the template's too: a file of another
    # layout has some text where the id would be
    for j, want in enumerate(t.header[r]):
        if "{" not in want and (row[j] if j < len(row) else "") != want.strip():
            return None
    m = pat.match(row[c] if c < len(row) else "")
    bid = m.group(1).strip() if m else ""
    return bid if BATCH_ID_RE.match(bid) else None


def read_return(
    t: Template, data: bytes, name: str, rows: list[list[str]] | None = None
) -> ReturnFile:
    """Parse a return file with the batch's template (BadInput when it is not one);
    ``rows``: the file already decoded with that template (a workbook is slow to read)."""
    rows = decode(t, data, name) if rows is None else rows
    problems: list[Problem] = []
    header = {}
    for key, (r, c, pat) in _placeholders(t).items():
        cell = rows[r][c] if r < len(rows) and c < len(rows[r]) else ""
        m = pat.match(cell)
        header[key] = m.group(1).strip() if m else ""
    titles = t.titles()
    at = next((i for i, row in enumerate(rows) if row[: len(titles)] == titles), None)
    if at is None:
        raise BadInput(
            [Problem("(header)", f"no row with the columns {', '.join(titles)}", _RETURN_FIX)],
            what=name,
        )
    title_row = rows[at]
    ret = t.returns
    missing = [x for x in (ret.status_title, ret.reason_title) if x not in title_row]
    if missing:
        raise BadInput(
            [
                Problem(
                    "(header)",
                    f"no column {' or '.join(missing)}: this is not a return file "
                    "(the batch file itself?)",
                    _RETURN_FIX,
                    file=name,
                    line=at + 1,
                )
            ],
            what=name,
        )
    col = {c.field: i for i, c in enumerate(t.columns)}
    st_i, re_i = title_row.index(ret.status_title), title_row.index(ret.reason_title)
    words = {w: PAID for w in ret.paid} | {w: FAILED for w in ret.failed}
    results = []
    for i in range(at + 1, len(rows)):
        row = rows[i] + [""] * (len(title_row) - len(rows[i]))
        if not any(row):
            continue
        no = row[col["line_no"]]
        if not no.isdigit():
            break  # the trailer
        word = row[st_i]
        if word not in words:
            problems.append(
                Problem(
                    ret.status_title,
                    f"{word!r} is neither paid ({', '.join(ret.paid)}) "
                    f"nor failed ({', '.join(ret.failed)})",
                    "the bank's result words are set in the template's return: section",
                    file=name,
                    line=i + 1,
                )
            )
        results.append(
            Result(
                int(no),
                row[col["account"]],
                amount_fen(t, row[col["amount"]]),
                row[col["amount"]],
                words.get(word, word),
                row[re_i],
                i + 1,
            )
        )
    if problems:
        raise BadInput(problems, what=name)
    sha = hashlib.sha256(data).hexdigest()
    return ReturnFile(header["batch_id"], header, tuple(results), sha, name)


_RETURN_FIX = (
    "give the bank's return file: the batch file with its result and reason columns filled in"
)


def check(ledger: Ledger, batch: Batch, ret: ReturnFile, t: Template) -> list[Problem]:
    """Every way the return file disagrees with the recorded batch ([] when it ties)."""
    name = ret.name
    out = []
    done = ledger.db.execute(
        "SELECT file_name, file_sha256, recorded_at FROM payment_confirmations WHERE batch_id = ?",
        (batch.batch_id,),
    ).fetchone()
    if done:
        same = " (this same file)" if done[1] == ret.sha256 else ""
        out.append(
            Problem(
                "(batch)",
                f"batch {batch.batch_id} was confirmed at {done[2]} from {done[0]}{same}",
                "a batch is confirmed once; failed lines are already carried to the next run",
                file=name,
            )
        )
        return out
    for key, want in (("count", str(len(batch.transfers))), ("total", None)):
        got = ret.header.get(key)
        if got is None:
            continue
        if key == "total":
            want = amount_text(t, batch.total_fen)
            ok = amount_fen(t, got) == batch.total_fen
        else:
            ok = got == want
        if not ok:
            out.append(
                Problem(
                    f"(header {key})",
                    f"says {got!r}, the batch has {want}",
                    "the return file must answer this batch unchanged",
                    file=name,
                )
            )
    lines = {ln.line_no: ln for ln in batch.lines}
    seen: dict[int, int] = {}
    for r in ret.results:
        ln = lines.get(r.line_no)
        if ln is None or ln.status != "transfer":
            what = "an unpaid line, never sent" if ln else "not a line of the batch"
            out.append(
                Problem(
                    f"line {r.line_no}",
                    f"{what} ({batch.batch_id} has lines 1-{len(batch.transfers)})",
                    "remove the row",
                    file=name,
                    line=r.file_line,
                )
            )
            continue
        if r.line_no in seen:
            out.append(
                Problem(
                    f"line {r.line_no}",
                    f"given twice (first at line {seen[r.line_no]})",
                    "keep one result per line",
                    file=name,
                    line=r.file_line,
                )
            )
            continue
        seen[r.line_no] = r.file_line
        if r.amount_fen != ln.amount_fen:
            out.append(
                Problem(
                    f"line {r.line_no}",
                    f"amount {r.amount_text!r} differs from the batch's "
                    f"{amount_text(t, ln.amount_fen)}",
                    "a confirmation never changes an amount: correct the file",
                    file=name,
                    line=r.file_line,
                )
            )
        if r.account != ln.account:
            out.append(
                Problem(
                    f"line {r.line_no}",
                    "account differs from the batch's",
                    "the return file must answer the batch unchanged",
                    file=name,
                    line=r.file_line,
                )
            )
    for ln in batch.transfers:
        if ln.line_no not in seen:
            out.append(
                Problem(
                    f"line {ln.line_no}",
                    "missing: every line of the batch must be paid or failed",
                    "give the bank's whole return file",
                    file=name,
                )
            )
    return out


def record(ledger: Ledger, batch: Batch, ret: ReturnFile, recorded_at: str) -> dict[str, int]:
    """Record the confirmation; {"paid_fen", "failed_fen", "paid", "failed"}."""
    by_line = {r.line_no: r for r in ret.results}
    results = []
    for ln in batch.transfers:
        r = by_line[ln.line_no]
        results.append(
            {
                "batch_id": batch.batch_id,
                "line_no": ln.line_no,
                "status": r.status,
                "bank_reason": r.reason if r.status == FAILED else "",
                # from the batch, never from the file: a confirmation changes no amount
                "amount_fen": ln.amount_fen,
            }
        )
    paid = sum(x["amount_fen"] for x in results if x["status"] == PAID)
    failed = sum(x["amount_fen"] for x in results if x["status"] == FAILED)
    if paid + failed != batch.total_fen:
        raise RuntimeError(f"batch {batch.batch_id}: paid + failed != the batch total")
    ledger.record(
        "import",  # see revenue/batch.record
        f"payment-confirmation/{batch.batch_id}",
        {
            "payment_confirmations": [
                {
                    "batch_id": batch.batch_id,
                    "file_sha256": ret.sha256,
                    "file_name": ret.name,
                    "paid_fen": paid,
                    "failed_fen": failed,
                    "recorded_at": recorded_at,
                }
            ],
            "payment_results": results,
        },
        recorded_at,
    )
    n_failed = sum(1 for x in results if x["status"] == FAILED)
    return {
        "paid_fen": paid,
        "failed_fen": failed,
        "paid": len(results) - n_failed,
        "failed": n_failed,
    }


def results(ledger: Ledger, batch_id: str) -> dict[int, tuple[str, str]]:
    """line_no -> (status, bank reason) of a confirmed batch ({} when unconfirmed)."""
    return {
        n: (s, r)
        for n, s, r in ledger.db.execute(
            "SELECT line_no, status, bank_reason FROM payment_results WHERE batch_id = ?",
            (batch_id,),
        )
    }
