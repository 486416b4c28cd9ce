"""Properties of batches and confirmations over random counties (hypothesis).

- a batch's transfers + unpaid lines equal the run's household lines, fen for fen;
- a confirmation never changes an amount (and one that tries is refused, nothing changed);
- paid + failed = the batch total;
- a failed or unpaid line is paid exactly once later: the next run carries it, the run
  after does not; a household with a valid account has, over the batches, received
  exactly what it was owed;
- the GBK template round-trips names and amounts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.problems import BadInput
from revenue.adjustments import collect
from revenue.bank_template import load_template
from revenue.confirm import results
from revenue.ledger import Ledger
from revenue.payments import confirm_file, make_batch
from revenue.payout import ledger_path
from revenue.period import parse_period
from tests.payments import bank
from tests.payments.helpers import NOW, bad_card, card, final_run, ledger_snapshot, write_config

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: GBK has these; a name of 2-4 of them
HAN = (
    "张王李赵刘陈杨黄吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文华明国建平秀英兰芳玉珍"
)

household = st.tuples(
    st.integers(0, 10**9),  # amount [fen], up to 10 million yuan
    st.sampled_from(["valid", "valid", "valid", "invalid", "missing"]),
    st.text(HAN, min_size=2, max_size=4),
)


def _county(folder: Path, rows: list[tuple[int, str, str]]):
    hh = []
    for i, (_, acct, name) in enumerate(rows, start=1):
        h = {"id": f"hh-{i}", "name": name, "village": "dongpi"}
        if acct != "missing":
            h["account"] = card(i) if acct == "valid" else bad_card(i)
        hh.append(h)
    return write_config(folder, hh)


def _batch(cfg, run, out):
    with Ledger(ledger_path(cfg)) as ledger:
        return make_batch(cfg, ledger, run, bank_id="gen", out_dir=out, now=NOW).batch


def _confirm(cfg, t, folder, name, batch_file, failed):
    f = folder / name
    f.write_bytes(bank.answer(t, batch_file.read_bytes(), failed))
    with Ledger(ledger_path(cfg)) as ledger:
        return confirm_file(cfg, ledger, f, now=NOW)[1]


@SETTINGS
@given(rows=st.lists(household, min_size=1, max_size=8), data=st.data())
def test_totals_tie_and_every_owed_fen_is_paid_exactly_once(rows, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = _county(folder / "c", rows)
        t = load_template("generic-csv", folder)
        owed = {f"hh-{i}": amt for i, (amt, _, _) in enumerate(rows, start=1)}
        final_run(cfg, "2026-07", owed)
        b1 = _batch(cfg, 1, folder / "pay")
        # transfers + unpaid = the run's household lines
        assert b1.total_fen + b1.unpaid_fen == sum(owed.values())
        for ln in b1.lines:
            assert ln.amount_fen == owed[ln.payee] > 0
        valid = {f"hh-{i}" for i, (_, a, _) in enumerate(rows, start=1) if a == "valid"}
        assert {ln.payee for ln in b1.transfers} == {h for h in valid if owed[h] > 0}
        nos = [ln.line_no for ln in b1.transfers]
        failed = data.draw(st.sets(st.sampled_from(nos)) if nos else st.just(set()))
        file1 = folder / "pay" / b1.file_name(t)
        n = _confirm(cfg, t, folder, "r1.csv", file1, {no: "账户已销户" for no in failed})
        assert n["paid_fen"] + n["failed_fen"] == b1.total_fen
        with Ledger(ledger_path(cfg)) as ledger:
            got = ledger.db.execute(
                "SELECT line_no, amount_fen FROM payment_results ORDER BY line_no"
            ).fetchall()
            assert got == [(ln.line_no, ln.amount_fen) for ln in b1.transfers]
            carried = collect(cfg, ledger, parse_period("2026-08"))
        want = {f"2026-07-r1/{no}" for no in failed} | {
            f"2026-07-r1/{ln.line_no}" for ln in b1.unpaid
        }
        assert {a.ref for a in carried} == want
        by_ref = {f"{b1.batch_id}/{ln.line_no}": ln for ln in b1.lines}
        for a in carried:
            assert a.amount_fen == by_ref[a.ref].amount_fen and a.payee == by_ref[a.ref].payee
        # the next run pays them; its batch sends the ones with an account again
        final_run(cfg, "2026-08", {}, carried)
        b2 = _batch(cfg, 2, folder / "pay")
        assert b2.total_fen + b2.unpaid_fen == sum(a.amount_fen for a in carried)
        file2 = folder / "pay" / b2.file_name(t)
        if b2.transfers:
            _confirm(cfg, t, folder, "r2.csv", file2, {})
        with Ledger(ledger_path(cfg)) as ledger:
            later = collect(cfg, ledger, parse_period("2026-09"))
            paid = {}
            for fen, payee in ledger.db.execute(
                "SELECT r.amount_fen, l.payee FROM payment_results r "
                "JOIN payment_lines l USING (batch_id, line_no) WHERE r.status = 'paid'"
            ):
                paid[payee] = paid.get(payee, 0) + fen
        # never again: only batch 2's unpaid lines (no valid account still) are carried
        assert {a.ref for a in later} == {f"{b2.batch_id}/{ln.line_no}" for ln in b2.unpaid}
        assert not {a.ref for a in later} & want
        for h, amt in owed.items():
            assert paid.get(h, 0) == (amt if h in valid else 0)
        invalid_owed = sum(amt for h, amt in owed.items() if h not in valid)
        assert sum(a.amount_fen for a in later) == invalid_owed


@SETTINGS
@given(
    rows=st.lists(household, min_size=1, max_size=5),
    delta=st.integers(-(10**6), 10**6).filter(bool),
    which=st.integers(0, 4),
)
def test_a_confirmation_never_changes_an_amount(rows, delta, which):
    rows[0] = (max(rows[0][0], 1), "valid", rows[0][2])  # at least one transfer
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = _county(folder / "c", rows)
        t = load_template("generic-csv", folder)
        final_run(cfg, "2026-07", {f"hh-{i}": r[0] for i, r in enumerate(rows, start=1)})
        b = _batch(cfg, 1, folder / "pay")
        ln = b.transfers[which % len(b.transfers)]
        rows_ = bank.read_rows(t, bank.answer(t, (folder / "pay" / b.file_name(t)).read_bytes()))
        _, lines = bank.line_rows(t, rows_)
        amount = next(i for i, c in enumerate(t.columns) if c.field == "amount")
        r = rows_[lines[ln.line_no - 1]]
        r[amount] = f"{(ln.amount_fen + delta) / 100:.2f}"
        f = folder / "changed.csv"
        f.write_bytes(bank.write_rows(t, rows_))
        before = ledger_snapshot(cfg)
        try:
            with Ledger(ledger_path(cfg)) as ledger:
                confirm_file(cfg, ledger, f, now=NOW)
        except BadInput as exc:
            assert f"line {ln.line_no}" in exc.render() and "differs" in exc.render()
        else:
            raise AssertionError("a changed amount was accepted")
        assert ledger_snapshot(cfg) == before
        with Ledger(ledger_path(cfg)) as ledger:
            assert results(ledger, b.batch_id) == {}


@SETTINGS
@given(rows=st.lists(household, min_size=1, max_size=6))
def test_gbk_template_round_trips_names_accounts_and_amounts(rows):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = _county(folder / "c", rows)
        t = load_template("generic-csv", folder)
        assert t.encoding == "gbk"
        final_run(cfg, "2026-07", {f"hh-{i}": r[0] for i, r in enumerate(rows, start=1)})
        b = _batch(cfg, 1, folder / "pay")
        data = (folder / "pay" / b.file_name(t)).read_bytes()
        got = bank.read_rows(t, data)  # decoded as GBK by the csv module
        _, lines = bank.line_rows(t, got)
        assert len(lines) == len(b.transfers)
        for i, ln in zip(lines, b.transfers, strict=True):
            no, account, name, amount = got[i][:4]
            assert (int(no), account) == (ln.line_no, ln.account)
            assert name == cfg.household_by_id[ln.payee].name
            assert round(float(amount) * 100) == ln.amount_fen
