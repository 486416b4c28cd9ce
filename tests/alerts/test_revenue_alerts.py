"""Revenue alerts (issue 16 item 4): four kinds of their own, evaluated daily by the county
engine on a set clock, their findings from revenue/watch.py through the wired provider.

The late-money case (tests/revenue/cases/late-money) with July 2026 finalized, the village
array's inverter counting 6.5 % more than its meter, one grid statement (June, s-hh-1),
no receipt: each kind fires on the first day past its threshold and not the day before.
"""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.engine import Engine
from alerts.kinds import _revenue, kinds
from alerts.state import AlertDb
from core.config import load_config
from core.store import open_store
from pvledger.cli import main
from pvledger.commands.alerts import REVENUE_FINDINGS, wire_revenue
from revenue import watch
from revenue.period import parse_period
from revenue.receivables import Accrual, Cycle, Received, receivables
from tests.revenue.helpers import local_ms, setup_case, write_rows
from tests.revenue.test_late_money import import_receipts

RULES = """
alerts:
  db_path: data/alerts.db
  rules:
    - {kind: meter_mismatch, months: 6}
    - {kind: statement_missing}
    - {kind: receivable_overdue, coal_benchmark_days: 30}
    - {kind: idle_funds, above_yuan: "300.00", days: 30}
"""
INVERTER = "      - {id: v-dongpi-inv1, source: modbus-tcp, host: 127.0.0.1, port: 15020, unit: 1, map: sunspec}\n"  # noqa: E501
#: the inverter of v-dongpi: 13,200,000 Wh in July (night readings on both boundaries)
INV_ROWS = [
    ("2026-06-30 20:00", 1000),
    ("2026-07-01 06:00", 1000),
    ("2026-07-31 20:00", 13_201_000),
    ("2026-08-01 06:00", 13_201_000),
]
CALLS: list[dt.date] = []


def counting_findings(config, store, as_of, settings):
    """The real provider, counting its calls (the daily evaluation)."""
    CALLS.append(as_of)
    return watch.findings(config, store, as_of, settings)


@pytest.fixture
def county(tmp_path):
    """The case finalized for July, with the rules above, and a county engine over it."""
    cfg = setup_case("late-money", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace("map: dtsu666}\n", "map: dtsu666}\n" + INVERTER, 1) + RULES
    cfg.path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg.path)
    with open_store(cfg) as store:
        write_rows(
            store,
            [
                {
                    "station": "v-dongpi",
                    "device": "v-dongpi-inv1",
                    "field": "energy_total_wh",
                    "measurement": "pv",
                    "local_time": t,
                    "value": v,
                }
                for t, v in INV_ROWS
            ],
        )
    stmt = tmp_path / "stmt.csv"
    stmt.write_text("station_id,period,export_kwh\ns-hh-1,2026-06,350\n", encoding="utf-8")
    from revenue.ledger import Ledger
    from revenue.meter_import import import_file
    from revenue.payout import ledger_path

    with Ledger(ledger_path(cfg)) as led:  # as `pvledger import-meter`, at a set time
        import_file(cfg, led, stmt, "2026-08-05T01:00:00Z")
    out = str(tmp_path / "o")
    assert (
        main(["-c", str(cfg.path), "revenue", "--period", "2026-07", "--final", "--out", out]) == 0
    )
    store = open_store(cfg, readonly=True)
    eng = Engine(cfg, store, AlertDb(cfg.resolve(cfg.alerts.db_path)), county=True)
    CALLS.clear()
    _revenue.use("tests.alerts.test_revenue_alerts:counting_findings", store)
    yield eng
    _revenue.use(None)
    eng.db.close()
    store.close()


def _step(eng: Engine, day: str, hhmm: str = "09:00") -> list[tuple[str, str]]:
    events = eng.step(local_ms(f"{day} {hhmm}"))
    for e in events:  # told like every alert: the kind's name and what was seen
        assert kinds()[e.payload["kind"]].names["zh"] in e.payload["title"], e.payload
        assert e.payload["text"], e.payload
    return sorted((e.payload["kind"], e.payload["subject"]) for e in events if e.event == "firing")


def test_each_revenue_kind_fires_the_first_day_past_its_threshold(county):
    # meter vs inverter: (13,200,000 - 12,390,000) / 12,390,000 = 6.54 % > 5 %: from the
    # first evaluation after July; idle funds: jobs balance 339.00 > 300.00 since 08-01,
    # fires once more than 30 days have passed (09-01 is day 31)
    assert _step(county, "2026-08-31") == [("meter_mismatch", "v-dongpi/2026-07")]
    (alert,) = county.db.open_alerts()
    assert alert.seen["percent"] == "6.5" and alert.seen["inverter_wh"] == 13_200_000
    assert _step(county, "2026-09-01") == [("idle_funds", "dongpi")]
    # no statement for July (s-hh-1 has June's): 2026-08-01 + 45 days = 09-15
    assert _step(county, "2026-09-14") == []
    assert _step(county, "2026-09-15") == [("statement_missing", "s-hh-1")]
    # July's coal (quarterly, due one month after Q3: 2026-10-31), nothing received:
    # 30 days past due on 11-30 is not more than 30; 31 on 12-01 is
    assert _step(county, "2026-11-30") == []
    fired = _step(county, "2026-12-01")
    assert fired == [
        ("receivable_overdue", "c-a/coal_benchmark"),
        ("receivable_overdue", "s-hh-1/coal_benchmark"),
        ("receivable_overdue", "v-dongpi/coal_benchmark"),
    ]
    overdue = {a.subject: a for a in county.db.open_alerts() if a.kind == "receivable_overdue"}
    assert overdue["v-dongpi/coal_benchmark"].seen["outstanding_fen"] == 513_318
    assert overdue["v-dongpi/coal_benchmark"].seen["days_past_due"] == 31
    # the subsidy (annual, due 2027-03-31) is not overdue yet: no subsidy alert
    assert not any("national_subsidy" in s for s in overdue)
    text = {a.kind: kinds()[a.kind].observed(a, "en", a.last_seen_ms, county.config)
            for a in county.db.open_alerts()}  # fmt: skip
    assert text["idle_funds"] == "balance 339.00 yuan, above 300.00 since 2026-08-01 (122 days)"
    assert "513,318" not in text["receivable_overdue"]  # yuan for people, not fen


def test_the_revenue_side_is_read_once_a_day(county):
    for hhmm in ("08:00", "08:05", "12:00", "23:55"):
        _step(county, "2026-09-01", hhmm)
    _step(county, "2026-09-02", "00:05")
    assert [dt.date(2026, 9, 1), dt.date(2026, 9, 2)] == CALLS


def test_a_receipt_resolves_the_overdue_alert(county, tmp_path):
    assert ("receivable_overdue", "s-hh-1/coal_benchmark") in _step(county, "2026-12-01")
    f = tmp_path / "coal.csv"
    f.write_text(
        "received_on,payer,station_id,component,period,amount_fen,reference\n"
        "2026-11-20,grid_company,s-hh-1,coal_benchmark,2026-07,15412,GD-9\n",
        encoding="utf-8",
    )
    import_receipts(county.config, f, "2026-12-01T01:00:00Z")
    _revenue.use("tests.alerts.test_revenue_alerts:counting_findings", county.store)  # new day
    county.step(local_ms("2026-12-02 09:00"))
    events = county.step(local_ms("2026-12-02 09:15"))  # after clear_s (600 s)
    assert [(e.event, e.payload["subject"]) for e in events if e.event == "resolved"] == [
        ("resolved", "s-hh-1/coal_benchmark")
    ]


def test_the_watch_command_wires_the_revenue_provider_and_unwires_it():
    wire_revenue(object())  # any store object will do
    assert _revenue._provider["name"] == REVENUE_FINDINGS
    assert _revenue._provider["fn"] is watch.findings
    wire_revenue(None)
    assert _revenue._provider["fn"] is None


def test_without_a_provider_a_gateway_finds_nothing(county):
    _revenue.use(None)
    assert _step(county, "2026-12-01") == []


# -- the pure checks, with hand arithmetic ------------------------------------------------
JULY = parse_period("2026-07")


def test_meter_mismatch_is_outside_the_tolerance_either_way():
    pairs = [
        ("a", "v", JULY, 1_000_000, 1_050_000),  # +5.0 %: at the limit, not outside
        ("b", "v", JULY, 1_000_000, 1_050_001),  # +5.0000...1 %: outside
        ("c", "v", JULY, 1_000_000, 940_000),  # -6.0 %
        ("d", "v", JULY, None, 940_000),  # no meter: nothing to compare
        ("e", "v", JULY, 0, 10),  # meter at zero: no ratio
    ]
    got = watch.meter_mismatch(pairs, watch.Decimal("5"))
    assert [(f.subject, f.seen["percent"]) for f in got] == [
        ("b/2026-07", "5.0"),
        ("c/2026-07", "-6.0"),
    ]
    assert got[0].since == dt.date(2026, 8, 1)


def test_statement_missing_counts_from_the_first_statement_and_after_days():
    months = watch.months_before(dt.date(2026, 9, 15), 4)  # May .. August
    assert [m.id for m in months] == ["2026-05", "2026-06", "2026-07", "2026-08"]
    have = {("s", "2026-06")}
    got = watch.statement_missing([("s", "v"), ("t", "v")], have, months, dt.date(2026, 9, 15), 45)
    # s: May is before its first statement; July ended 08-01, + 45 days = 09-15: due;
    # August not yet (10-16); t has no statement at all (the caller filters those)
    assert [(f.subject, f.seen["months"], f.since) for f in got] == [
        ("s", ["2026-07"], dt.date(2026, 9, 15)),
        ("t", ["2026-05", "2026-06", "2026-07"], dt.date(2026, 7, 16)),
    ]


def test_receivable_overdue_per_component_and_the_rest():
    cycles = {"coal_benchmark": Cycle("quarterly", 1), "national_subsidy": Cycle("annual", 3)}
    acc = [
        Accrual("s", "v", "coal_benchmark", "grid", "2025-07", "2025-07", 10_000),
        Accrual("s", "v", "national_subsidy", "renewable_fund", "2025-07", "2025-07", 20_000),
        Accrual("s", "v", "other", "county", "2025-07", "2025-07", 500),
    ]
    got = [Received("finance_bureau", "R", dt.date(2026, 1, 5), "s", "coal_benchmark", "2025-07", 4_000)]  # fmt: skip # noqa: E501
    as_of = dt.date(2026, 4, 1)
    lines = receivables(acc, got, as_of, {**cycles, "other": Cycle("monthly", 1)})
    # coal due 2025-10-31 (Q3 + 1 month): 152 days past due on 2026-04-01, 6,000 left;
    # subsidy due 2026-03-31: 1 day; other due 2025-08-31: 213 days
    found = watch.receivable_overdue(lines, {"coal_benchmark": 30, "national_subsidy": 0}, None)
    assert [(f.subject, f.seen["outstanding_fen"], f.seen["days_past_due"]) for f in found] == [
        ("s/coal_benchmark", 6_000, 152),
        ("s/national_subsidy", 20_000, 1),
    ]
    assert found[0].since == dt.date(2025, 12, 1)  # 10-31 + 31 days
    rest = watch.receivable_overdue(lines, {}, 200)
    assert [f.subject for f in rest] == ["s/other"]  # 213 > 200; coal 152 and subsidy 1 not


def test_idle_funds_needs_the_balance_above_the_whole_time():
    d = dt.date
    balances = [
        (d(2026, 2, 1), {"v": 50_000, "w": 50_000}),
        (d(2026, 3, 1), {"v": 20_000, "w": 60_000}),  # v dips to the limit: starts again
        (d(2026, 4, 1), {"v": 40_000, "w": 70_000}),
    ]
    got = watch.idle_funds(balances, d(2026, 5, 1), 20_000, 60)
    # w above since 02-01: 89 days > 60 -> since 02-01 + 61 days = 04-03; v since 04-01: 30
    assert [(f.subject, f.since, f.seen["balance_fen"]) for f in got] == [
        ("w", d(2026, 4, 3), 70_000)
    ]


def test_alerts_watch_once_evaluates_the_revenue_kinds(county, capsys):
    """The command itself: `alerts watch --once` on a simulated clock at 2026-09-01 09:00."""
    from core.clock import ScaledClock

    _revenue.use(None)  # the command wires its own provider
    clock = county.config.path.parent / "clock.json"
    ScaledClock.starting(local_ms("2026-09-01 09:00"), 1.0).save(clock)  # that day, at 1x
    capsys.readouterr()
    argv = ["-c", str(county.config.path), "alerts", "watch", "--once", "--sim-clock"]
    assert main([*argv, str(clock), "--no-gateway-events"]) == 0
    said = capsys.readouterr().out
    assert "村集体资金闲置" in said and "电表与逆变器电量不符" in said  # idle_funds, meter_mismatch
    assert _revenue._provider["fn"] is None  # unwired on the way out
