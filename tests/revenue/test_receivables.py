"""Receivables (issue 16 item 2): accrued - received = outstanding per line, totals tie,
due dates by settlement cycle, ageing buckets, catalogue status; the CLI on a real ledger."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.store import open_store
from pvledger.cli import main
from revenue.receivables import (
    ALL_BUCKETS,
    GROUPS,
    NOT_DUE,
    SETTLED,
    Accrual,
    Cycle,
    Received,
    bucket,
    due_date,
    receivables,
    totals,
)
from tests.revenue.helpers import setup_case, write_rows

CYCLES = {"coal_benchmark": Cycle("quarterly", 1), "national_subsidy": Cycle("annual", 3)}
D = dt.date


def test_due_dates_by_cycle():
    q1 = Cycle("quarterly", 1)
    assert due_date("2025-01", q1) == due_date("2025-03", q1) == D(2025, 4, 30)
    assert due_date("2025-12", q1) == D(2026, 1, 31)  # Q4: end of January next year
    year = Cycle("annual", 3)
    assert due_date("2025-01", year) == due_date("2025-12", year) == D(2026, 3, 31)  # 61号
    assert due_date("2024-02", Cycle("monthly", 1)) == D(2024, 3, 31)
    assert due_date("2024-01", Cycle("monthly", 1)) == D(2024, 2, 29)  # leap year
    assert due_date("2025-06", Cycle("monthly", 0)) == D(2025, 6, 30)


def test_bucket_boundaries():
    due = D(2025, 4, 30)
    assert bucket(1, 0, due, due) == NOT_DUE  # due today: not late yet
    assert bucket(1, 1, due, due + dt.timedelta(1)) == "0-90"
    for days, name in ((90, "0-90"), (91, "91-180"), (180, "91-180"), (181, "181-365"),
                       (365, "181-365"), (366, "over 365"), (4000, "over 365")):  # fmt: skip
        assert bucket(1, days, due, due + dt.timedelta(days)) == name
    assert bucket(0, 500, due, due + dt.timedelta(500)) == SETTLED
    assert bucket(-5, 500, due, due + dt.timedelta(500)) == SETTLED  # received more


def test_worked_example_two_years_of_one_village_station():
    # a village station, 2025-Q1 and 2025-Q2 finalized; coal quarterly (+1 month),
    # subsidy annual (+3 months)
    acc = [
        Accrual("v1", "dongpi", "coal_benchmark", "grid", "2025Q1", "2025-03", 1_200_000),
        Accrual("v1", "dongpi", "coal_benchmark", "grid", "2025Q2", "2025-06", 1_500_000),
        Accrual(
            "v1",
            "dongpi",
            "national_subsidy",
            "renewable_fund",
            "2025Q1",
            "2025-03",
            1_260_000,
            "in",
        ),
    ]
    rec = [
        Received("grid_company", "G1", D(2025, 4, 20), "v1", "coal_benchmark", "2025Q1", 1_200_000),
        Received("grid_company", "G2", D(2025, 8, 15), "v1", "coal_benchmark", "2025Q2", 1_000_000),
        Received("grid_company", "G3", D(2026, 9, 1), "v1", "coal_benchmark", "2025Q2", 500_000),
    ]
    lines = receivables(acc, rec, D(2026, 6, 30), CYCLES)
    by = {(ln.component, ln.period): ln for ln in lines}
    # Q1 coal: 12,000.00 accrued, 12,000.00 received 2025-04-20: settled
    q1 = by[("coal_benchmark", "2025Q1")]
    assert (q1.outstanding_fen, q1.bucket, q1.days_past_due) == (0, SETTLED, 0)
    # Q2 coal: 15,000.00 - 10,000.00 = 5,000.00 left; due 2025-07-31; 2026-06-30 is
    # 334 days later (Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 = 153, + 181 days of 2026);
    # G3 is dated after the as-of date and does not count yet
    q2 = by[("coal_benchmark", "2025Q2")]
    assert (q2.accrued_fen, q2.received_fen, q2.outstanding_fen) == (1_500_000, 1_000_000, 500_000)
    assert q2.due == D(2025, 7, 31)
    assert q2.days_past_due == (D(2026, 6, 30) - D(2025, 7, 31)).days == 334
    assert q2.bucket == "181-365"
    # Q1 subsidy: nothing received; due 2026-03-31 (before Q1 of the next year): 91 days
    s = by[("national_subsidy", "2025Q1")]
    assert (s.outstanding_fen, s.due, s.days_past_due, s.bucket) == (
        1_260_000, D(2026, 3, 31), 91, "91-180",
    )  # fmt: skip
    assert s.catalogue == "in" and s.payer == "renewable_fund"
    # a year later G3 has arrived: Q2 coal settled
    later = {(ln.component, ln.period): ln for ln in receivables(acc, rec, D(2026, 9, 1), CYCLES)}
    assert later[("coal_benchmark", "2025Q2")].bucket == SETTLED
    # totals per payer tie to the lines: grid 27,000.00 - 22,000.00 = 5,000.00
    t = {x.group: x for x in totals(lines, "payer")}
    assert (t["grid"].accrued_fen, t["grid"].received_fen, t["grid"].outstanding_fen) == (
        2_700_000, 2_200_000, 500_000,
    )  # fmt: skip
    assert dict(t["renewable_fund"].by_bucket_fen)["91-180"] == 1_260_000


def test_a_period_not_yet_ended_accrues_nothing_and_unaccrued_money_is_shown():
    acc = [Accrual("v1", "dongpi", "coal_benchmark", "grid", "2025-07", "2025-07", 100)]
    rec = [Received("grid_company", "X", D(2025, 7, 20), "v1", "coal_benchmark", "2025-06", 40)]
    lines = receivables(acc, rec, D(2025, 7, 30), CYCLES)
    assert [(ln.period, ln.accrued_fen, ln.outstanding_fen) for ln in lines] == [
        ("2025-06", 0, -40)
    ]
    lines = receivables(acc, rec, D(2025, 7, 31), CYCLES)
    assert [(ln.period, ln.outstanding_fen) for ln in lines] == [("2025-06", -40), ("2025-07", 100)]


accruals_st = st.lists(
    st.builds(
        Accrual,
        station=st.sampled_from(["s1", "s2", "s3"]),
        village=st.sampled_from(["va", "vb"]),
        component=st.sampled_from(sorted(CYCLES)),
        payer=st.sampled_from(["grid", "renewable_fund"]),
        period=st.sampled_from(["2024-03", "2024-12", "2025-06"]),
        last_month=st.sampled_from(["2024-03", "2024-12", "2025-06"]),
        accrued_fen=st.integers(min_value=0, max_value=10**11),
        catalogue=st.sampled_from(["", "in", "not in"]),
    ),
    max_size=30,
)
received_st = st.lists(
    st.builds(
        Received,
        payer=st.sampled_from(["grid_company", "transfer_agency"]),
        reference=st.text(min_size=1, max_size=3),
        received_on=st.dates(D(2024, 1, 1), D(2027, 12, 31)),
        station=st.sampled_from(["s1", "s2", "s4"]),
        component=st.sampled_from(sorted(CYCLES)),
        period=st.sampled_from(["2024-03", "2024-12", "2025-06", "2023-01"]),
        amount_fen=st.integers(min_value=0, max_value=10**11),
    ),
    max_size=30,
)


@given(accruals_st, received_st, st.dates(D(2024, 1, 1), D(2028, 12, 31)))
def test_outstanding_is_accrued_minus_received_and_totals_tie(accruals, receipts, as_of):
    # the key's period fixes its last month (as the ledger's runs do)
    accruals = [
        Accrual(a.station, a.village, a.component, a.payer, a.period, a.period, a.accrued_fen)
        for a in accruals
    ]
    lines = receivables(accruals, receipts, as_of, CYCLES)
    for ln in lines:
        assert ln.outstanding_fen == ln.accrued_fen - ln.received_fen
        assert ln.bucket in ALL_BUCKETS
        assert (ln.bucket == SETTLED) == (ln.outstanding_fen <= 0)
        assert ln.days_past_due >= 0
    keys = [(ln.station, ln.component, ln.period) for ln in lines]
    assert len(keys) == len(set(keys))
    # no money created or lost: every accrual ended by as_of, every receipt dated by it
    # (a month has ended by as_of when the day after as_of lies in a later month)
    ended = [a for a in accruals if (as_of + dt.timedelta(1)).strftime("%Y-%m") > a.last_month]
    assert sum(ln.accrued_fen for ln in lines) == sum(a.accrued_fen for a in ended)
    assert sum(ln.received_fen for ln in lines) == sum(
        r.amount_fen for r in receipts if r.received_on <= as_of
    )
    for by in GROUPS:
        ts = totals(lines, by)
        assert sum(t.lines for t in ts) == len(lines)
        for t in ts:
            mine = [ln for ln in lines if getattr(ln, by) == t.group]
            assert t.accrued_fen == sum(ln.accrued_fen for ln in mine)
            assert t.received_fen == sum(ln.received_fen for ln in mine)
            assert t.outstanding_fen == t.accrued_fen - t.received_fen
            assert sum(fen for _, fen in t.by_bucket_fen) == t.outstanding_fen


def _cli(cfg, *args: str) -> int:
    return main(["-c", str(cfg.path), *args])


def test_cli_lines_and_totals_on_a_real_ledger(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    assert _cli(cfg, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "o")) == 0
    f = tmp_path / "r.csv"
    f.write_text(
        "received_on,payer,station_id,component,period,amount_yuan,reference\n"
        "2026-10-20,grid_company,v-dongpi;s-hh-1,coal_benchmark,2026-07,5000.00,GD-001\n",
        encoding="utf-8",
    )
    assert _cli(cfg, "receipts", "import", str(f)) == 0
    capsys.readouterr()
    assert _cli(cfg, "receivables", "--as-of", "2027-06-01", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {(r["station"], r["component"]): r for r in doc["rows"]}
    # coal v-dongpi 5,133.18 - 4,854.25 received = 278.93 yuan; due 2026-10-31 (Q3 + 1 month)
    v = rows[("v-dongpi", "coal_benchmark")]
    assert (v["accrued_fen"], v["received_fen"], v["outstanding_fen"]) == (513318, 485425, 27893)
    assert (v["due"], v["days_past_due"], v["bucket"]) == ("2026-10-31", 213, "181-365")
    # subsidy nothing received, due 2027-03-31, 62 days late on 2027-06-01
    s = rows[("s-hh-1", "national_subsidy")]
    assert (s["outstanding_fen"], s["due"], s["bucket"], s["catalogue"]) == (
        16208, "2027-03-31", "0-90", "in",
    )  # fmt: skip
    assert doc["total"] == {
        "accrued_fen": 513318 + 539832 + 15412 + 16208,
        "received_fen": 500000,
        "outstanding_fen": 513318 + 539832 + 15412 + 16208 - 500000,
    }
    for by in ("station", "village", "payer", "component"):
        assert (
            _cli(cfg, "receivables", "--as-of", "2027-06-01", "--by", by, "--format", "json") == 0
        )
        groups = json.loads(capsys.readouterr().out)["rows"]
        for col in ("accrued_fen", "received_fen", "outstanding_fen"):
            assert sum(g[col] for g in groups) == sum(r[col] for r in doc["rows"])
    assert (
        _cli(cfg, "receivables", "--as-of", "2027-06-01", "--by", "payer", "--format", "csv") == 0
    )
    csv_out = capsys.readouterr().out.splitlines()
    assert csv_out[0].startswith("payer,lines,accrued_fen,received_fen,outstanding_fen")
    assert csv_out[1].startswith("grid,2,528730,500000,28730,")
    assert _cli(cfg, "receivables", "--as-of", "2027-06-01") == 0
    table = capsys.readouterr().out
    assert "278.93" in table and "total: accrued 10,847.70 received 5,000.00" in table


def test_cli_bad_as_of_exits_2(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    assert _cli(cfg, "receivables", "--as-of", "2027-02-30") == 2
    assert "--as-of" in capsys.readouterr().err


@pytest.mark.parametrize(
    "section, message",
    [
        ("receivables: {cycles: {coal: {cycle: quarterly, due_months: 1}}}", "no tariff has"),
        ("receivables: {cycles: {coal_benchmark: {cycle: weekly, due_months: 1}}}", "cycle"),
        ("receivables: {cycles: {coal_benchmark: {cycle: annual, due_months: -1}}}", "due_months"),
    ],
)
def test_bad_cycles_are_refused_at_load_with_the_key(tmp_path, capsys, section, message):
    cfg = setup_case("worked-july", tmp_path)
    with cfg.path.open("a", encoding="utf-8") as f:
        f.write(section + "\n")
    assert main(["-c", str(cfg.path), "check"]) == 2
    err = capsys.readouterr().err
    assert "receivables.cycles" in err and message in err, err


def test_configured_cycle_moves_the_due_date(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    with cfg.path.open("a", encoding="utf-8") as f:
        f.write("receivables: {cycles: {coal_benchmark: {cycle: monthly, due_months: 1}}}\n")
    assert _cli(cfg, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "o")) == 0
    capsys.readouterr()
    assert _cli(cfg, "receivables", "--as-of", "2026-09-01", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    coal = [r for r in rows if r["component"] == "coal_benchmark"]
    assert {r["due"] for r in coal} == {"2026-08-31"} and {r["days_past_due"] for r in coal} == {1}


def _with_catalogue_from(tmp_path, day: str | None, in_catalogue: bool = True):
    cfg = setup_case("worked-july", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    extra = f"    catalogue_from: {day}\n" if day else ""
    if not in_catalogue:
        extra += "    subsidy_catalogue: false\n"
    text = text.replace("    capacity_kw: 3\n", "    capacity_kw: 3\n" + extra, 1)
    cfg.path.write_text(text, encoding="utf-8")
    return cfg


def _subsidy_of_s_hh_1(cfg, tmp_path, capsys) -> dict:
    assert _cli(cfg, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "o")) == 0
    capsys.readouterr()
    assert _cli(cfg, "receivables", "--as-of", "2027-06-01", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    return {r["component"]: r for r in rows if r["station"] == "s-hh-1"}


def test_a_station_outside_the_catalogue_accrues_no_subsidy(tmp_path, capsys):
    got = _subsidy_of_s_hh_1(_with_catalogue_from(tmp_path, None, False), tmp_path, capsys)
    assert (got["national_subsidy"]["accrued_fen"], got["national_subsidy"]["catalogue"]) == (
        0, "not in",
    )  # fmt: skip
    assert got["national_subsidy"]["bucket"] == "settled"
    assert got["coal_benchmark"]["accrued_fen"] == 15412  # the coal part is earned all the same


def test_a_station_added_to_the_catalogue_accrues_subsidy_from_that_date(tmp_path, capsys):
    # from 2026-08-01: July is before it, no subsidy; the run's line says why
    got = _subsidy_of_s_hh_1(_with_catalogue_from(tmp_path / "a", "2026-08-01"), tmp_path, capsys)
    sub = got["national_subsidy"]
    assert (sub["accrued_fen"], sub["catalogue"]) == (0, "not yet (from 2026-08-01)")
    comps = (tmp_path / "o" / "components-2026-07.csv").read_text(encoding="utf-8-sig")
    assert "not in subsidy catalogue before 2026-08-01" in comps
    # from 2026-07-01: the whole of July earns it, 372 kWh x 0.4357 = 162.08
    got = _subsidy_of_s_hh_1(_with_catalogue_from(tmp_path / "b", "2026-07-01"), tmp_path / "b",
                             capsys)  # fmt: skip
    assert (got["national_subsidy"]["accrued_fen"], got["national_subsidy"]["catalogue"]) == (
        16208, "in",
    )  # fmt: skip


def test_a_station_entering_the_catalogue_mid_month_is_cut_there(tmp_path, capsys):
    cfg = _with_catalogue_from(tmp_path, "2026-07-16")
    # the counter at the cut (local midnight), as a tariff change needs one too
    row = {"station": "s-hh-1", "device": "s-hh-1-inv", "field": "energy_total_wh",
           "measurement": "pv", "local_time": "2026-07-16 00:00", "value": "1210000"}  # fmt: skip
    with open_store(cfg) as store:
        write_rows(store, [row])
    got = _subsidy_of_s_hh_1(cfg, tmp_path, capsys)
    sub, coal = got["national_subsidy"], got["coal_benchmark"]
    assert sub["catalogue"] == "from 2026-07-16"
    # 1-15 July: 1,210,000 - 1,000,000 = 210 kWh, no subsidy; coal 210 x 0.4143 = 87.003 -> 87.00
    # 16-31 July: 1,372,000 - 1,210,000 = 162 kWh: subsidy 162 x 0.4357 = 70.5834 -> 70.58,
    #   coal 162 x 0.4143 = 67.1166 -> 67.12; coal 87.00 + 67.12 = 154.12 as for the whole month
    assert sub["accrued_fen"] == 7058
    assert coal["accrued_fen"] == 8700 + 6712


def test_catalogue_from_outside_the_catalogue_is_refused_at_load(tmp_path, capsys):
    cfg = _with_catalogue_from(tmp_path, "2026-08-01", in_catalogue=False)
    assert main(["-c", str(cfg.path), "check"]) == 2
    assert "catalogue_from" in capsys.readouterr().err
