"""Late money (issue 16 item 3): a late receipt is paid once, to the owners of its period.

The late-money case (tests/revenue/cases/late-money, ARITHMETIC.md) is finalized for
2026-07 through the real CLI; the July subsidy arrives on 2026-08-20 (receipts import);
the 2026-08 run pays it as adjustment lines to July's owners; 2026-09 pays nothing again.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from pvledger.cli import main
from revenue.adjustments import STATE_KEY, labels, paid_keys, unpaid
from revenue.late_money import NO_ACCOUNT
from revenue.ledger import Ledger
from revenue.payout import ledger_path
from tests.revenue.helpers import read_csv, setup_case

RECEIPTS = (
    "received_on,payer,station_id,component,period,amount_fen,reference\n"
    "2026-08-20,finance_bureau,v-dongpi,national_subsidy,2026-07,100000,BT-2026-01\n"
    "2026-08-20,finance_bureau,s-hh-1,national_subsidy,2026-07,16208,BT-2026-02\n"
    "2026-08-20,finance_bureau,c-a,national_subsidy,2026-07,43570,BT-2026-03\n"
)


def _cli(cfg, *args: str) -> int:
    return main(["-c", str(cfg.path), *args])


def import_receipts(cfg, f, now: str) -> None:
    """Import a receipts file as `pvledger receipts import` does, at a set time (the
    command takes the wall clock; a test must not)."""
    from revenue.receipt_import import import_file

    with Ledger(ledger_path(cfg)) as led:
        import_file(cfg, led, f, now)


@pytest.fixture
def july(tmp_path):
    """The case with 2026-07 finalized and the July subsidy received on 2026-08-20."""
    cfg = setup_case("late-money", tmp_path)
    assert _cli(cfg, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "7")) == 0
    f = tmp_path / "receipts.csv"
    f.write_text(RECEIPTS, encoding="utf-8")
    import_receipts(cfg, f, "2026-08-25T01:00:00Z")
    return cfg


def _run(cfg, tmp_path, period: str, *flags: str) -> dict[str, bytes]:
    out = tmp_path / f"out-{period}-{len(flags)}"
    assert _cli(cfg, "revenue", "--period", period, "--out", str(out), *flags) == 0
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _amounts(rows: list[dict]) -> dict[tuple[str, str, str], int]:
    """(payee, station, last part of the ref) -> amount [fen]."""
    out = {}
    for r in rows:
        out[(r["payee"], r["station_id"], r["ref"].rsplit("/", 1)[-1])] = int(r["amount_fen"])
    return out


# Hand arithmetic (rules of July, percent deductions only: the monthly amounts, loan
# interest and post wages of July were settled by July's run; months = 0 makes them 0):
# v-dongpi 100,000: O&M 2.9 % = 2,900, reserve 2 % = 2,000 -> 95,100 to the pools:
#   jobs 60 % = 57,060, projects 25 % = 23,775, awards (remainder) 14,265
# s-hh-1 16,208: no withholding taken again -> hh-1 16,208
# c-a 43,570: O&M 2.9 % = 1,263.53 -> 1,264 -> 42,306 by July's shares (hh-1 2, hh-2 1):
#   hh-1 28,204, hh-2 14,102 (hh-3 joined in August: nothing); hh-2 has no account
WANT = {
    ("dongpi", "v-dongpi", "pool:jobs"): 57_060,
    ("dongpi", "v-dongpi", "pool:projects"): 23_775,
    ("dongpi", "v-dongpi", "pool:awards"): 14_265,
    ("hh-1", "s-hh-1", "household:hh-1"): 16_208,
    ("hh-1", "c-a", "hh-1"): 28_204,
    ("hh-2", "c-a", "hh-2"): 14_102,
}


def test_late_subsidy_is_paid_by_the_next_run_to_the_owners_of_its_period(july, tmp_path):
    files = _run(july, tmp_path, "2026-08", "--final")
    rows = read_csv(files["adjustment-lines-2026-08.csv"])
    assert _amounts(rows) == WANT
    assert {r["label_zh"] for r in rows} == {"2026-07补贴 2026-08到账"}
    assert {r["label_en"] for r in rows} == {"2026-07 subsidy received 2026-08"}
    reasons = {r["payee"]: r["unpaid_reason"] for r in rows if r["payee_kind"] == "household"}
    assert reasons == {"hh-1": "", "hh-2": NO_ACCOUNT}  # listed, not dropped
    # households: August's own lines are 0 (no August readings), so the amounts paid now
    # are the payable late lines; hh-2's line is listed with its reason, not counted
    hh = {r["household_id"]: r for r in read_csv(files["households-2026-08.csv"])}
    assert int(hh["hh-1"]["amount_fen"]) == 16_208 + 28_204
    assert int(hh["hh-2"]["amount_fen"]) == 0
    assert "unpaid 14102 fen" in hh["hh-2"]["flags"]
    lines = read_csv(files["household-lines-2026-08.csv"])
    late = [x for x in lines if x["line_kind"] == "late_receipt"]
    assert sorted((x["household_id"], int(x["amount_fen"])) for x in late) == [
        ("hh-1", 16_208),
        ("hh-1", 28_204),
        ("hh-2", 14_102),
    ]
    pools = read_csv(files["villages-2026-08.csv"])
    late_pools = {p["pool"]: int(p["amount_fen"]) for p in pools if "subsidy" in p["flags"]}
    assert late_pools == {"jobs": 57_060, "projects": 23_775, "awards": 14_265}
    # the notice sheet shows each line with its label, names masked
    with zipfile.ZipFile(io.BytesIO(files["payouts-2026-08.xlsx"])) as z:
        text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    assert "2026-07补贴 2026-08到账" in text and "李*" in text and "无银行账户" in text
    # the ledger knows what each receipt paid
    with Ledger(ledger_path(july)) as led:
        run = led.effective_final("2026-08")
        keys = json.loads(run.state)[STATE_KEY]
        assert len(keys) == len(WANT) and paid_keys(led) == dict.fromkeys(keys, "2026-08")


def test_a_draft_pays_nothing_and_a_later_final_run_pays_the_same_lines_never_again(
    july, tmp_path, capsys
):
    capsys.readouterr()
    draft = read_csv(_run(july, tmp_path, "2026-08")["adjustment-lines-2026-08.csv"])
    # 57,060 + 23,775 + 14,265 + 16,208 + 28,204 + 14,102 = 153,614 fen, hh-2's unpaid
    said = capsys.readouterr().out
    assert "+ 6 adjustment lines of other periods, 1536.14 yuan (1 listed unpaid)" in said
    final = read_csv(_run(july, tmp_path, "2026-08", "--final")["adjustment-lines-2026-08.csv"])
    assert _amounts(draft) == _amounts(final) == WANT  # a draft marks nothing paid
    sept = _run(july, tmp_path, "2026-09", "--final")
    assert read_csv(sept["adjustment-lines-2026-09.csv"]) == []
    hh = {r["household_id"]: int(r["amount_fen"]) for r in read_csv(sept["households-2026-09.csv"])}
    assert sum(hh.values()) == 0  # nothing of July's subsidy again
    # a correction of August recomputes what August paid (its own keys are not "earlier")
    again = _run(july, tmp_path, "2026-08", "--supersede", "--reason", "recheck")
    assert _amounts(read_csv(again["adjustment-lines-2026-08.csv"])) == WANT


def test_the_month_of_the_money_itself_and_cash_now_components_are_not_late(july, tmp_path):
    f = tmp_path / "coal.csv"
    f.write_text(
        "received_on,payer,station_id,component,period,amount_fen,reference\n"
        "2026-08-10,grid_company,v-dongpi,coal_benchmark,2026-07,513318,GD-07\n",
        encoding="utf-8",
    )
    import_receipts(july, f, "2026-08-25T01:00:00Z")
    rows = read_csv(_run(july, tmp_path, "2026-08")["adjustment-lines-2026-08.csv"])
    # the coal part was paid as cash now by July's run: only the subsidy lines are late
    assert _amounts(rows) == WANT


def test_labels_come_from_the_source_templates():
    assert labels("late_receipt", "2025", component="national_subsidy", received="2026-11") == (
        "2025年补贴 2026-11到账",
        "2025 subsidy received 2026-11",
    )


def test_unpaid_drops_paid_keys_only():
    from revenue.adjustments import AdjustmentLine

    a = AdjustmentLine("late_receipt", "r1", "household", "hh-1", "v", "s", "2025", 5, "", "")
    b = AdjustmentLine("late_receipt", "r2", "household", "hh-1", "v", "s", "2025", 7, "", "")
    assert unpaid([b, a], {"late_receipt/r1"}) == (b,)
    assert unpaid([b, a], ()) == (a, b)


@pytest.mark.parametrize(
    ("member", "says"),
    [
        ("{household: hh-2, shares: 1, until: 2026-08-15}", "is not the first of a month"),
        ("{household: hh-2, shares: 1, since: 2026-08-01, until: 2026-08-01}", "must be after"),
    ],
)
def test_dated_membership_is_validated_at_load(tmp_path, member, says):
    from core.config import load_config
    from core.problems import BadInput
    from tests.revenue.helpers import CASES

    text = (CASES / "late-money" / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("{household: hh-2, shares: 1, until: 2026-08-01}", member)
    f = tmp_path / "config.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        load_config(f)
    assert "cooperatives" in str(exc.value) and says in str(exc.value)


def test_a_member_who_left_gets_no_line_in_later_periods(july, tmp_path):
    files = _run(july, tmp_path, "2026-08")
    coop = {
        r["household_id"]
        for r in read_csv(files["household-lines-2026-08.csv"])
        if r["line_kind"] == "cooperative"
    }
    assert coop == {"hh-1", "hh-3"}  # August's members: hh-2 left, hh-3 joined
