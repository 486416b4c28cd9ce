"""The HTML report shows what it was given, exactly, with no external resources."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts.state import AlertDb, Finding
from pvledger.demo.report_data import alert_rows
from pvledger.report import AlertRow, ReportData, render_report, yuan
from tests.pvledger.html_tables import tables

NO_OUTPUT = AlertRow(
    "s-hh-0042", "东陂村", "no_output", ("s-hh-0042-log",), "2026-11-29 10:05", "0 W for 65 min"
)


def _data() -> ReportData:
    return ReportData(
        site_name="吉州区",
        period="2026-10",
        generated_at="2026-11-29 08:00",
        summary=[("stations", "223")],
        village_monthly_kwh={"东陂村": [("2026-10", 9876.4)], "上溪村": [("2026-10", 10234.0)]},
        fleet_daily_kwh=[("2026-10-01", 812.5), ("2026-10-02", 0.0)],
        firing_alerts=[NO_OUTPUT],
        village_pools=[
            ("东陂村", "jobs", 283900),
            ("东陂村", "projects", 118292),
            ("东陂村", "awards", 70974),
        ],
        cooperatives=[("coop-hexia", 1182867, 1182852, 15)],
        top_households=[("张*华", "东陂村", 15412)],
    )


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.srcs.append(v)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_yuan_formats_fen_exactly() -> None:
    assert yuan(473166) == "4,731.66"
    assert yuan(5) == "0.05"
    assert yuan(-120) == "-1.20"
    assert yuan(100_000_000_01) == "100,000,000.01"


def test_report_shows_generation_alerts_and_payouts_in_chinese() -> None:
    page = render_report(_data(), lang="zh")
    p = _Collect()
    p.feed(page)
    text = "".join(p.text)
    assert p.srcs == []  # self-contained: no scripts, images or style sheets fetched
    assert "各村逐月发电量" in text and "有未处理告警的电站" in text
    assert "s-hh-0042" in text and "no_output" in text
    assert "2,839.00" in text and "4,731.66" in text  # pools and the village total
    assert "11,828.67" in text and "0.15" in text  # cooperative and its residue
    assert "张*华" in text and "154.12" in text
    assert page.count("<svg") == 2
    # one bar per village in the village chart, titled with its total
    assert re.search(r"<title>东陂村 2026-10: 9,876.4</title>", page)


def test_report_in_english_says_when_nothing_is_open() -> None:
    data = ReportData(site_name="x", period="2026-10", generated_at="now")
    page = render_report(data, lang="en")
    assert "No open alerts." in page
    assert 'lang="en"' in page


def test_report_lists_firing_alerts_and_pending_ones_apart() -> None:
    pending = AlertRow(
        "v-dongpi",
        "东陂村",
        "comm_lost",
        ("v-dongpi-inv1", "v-dongpi-inv2"),
        "2026-11-29 10:58",
        "silent_s 130",
    )
    page = render_report(
        ReportData(
            site_name="x",
            period="2026-10",
            generated_at="now",
            firing_alerts=[NO_OUTPUT],
            pending_alerts=[pending],
        ),
        lang="en",
    )
    t = tables(page)
    assert t["firing-alerts"] == [
        ["s-hh-0042", "东陂村", "no_output", "s-hh-0042-log", "2026-11-29 10:05", "0 W for 65 min"]
    ]
    assert t["pending-alerts"] == [
        [
            "v-dongpi",
            "东陂村",
            "comm_lost",
            "v-dongpi-inv1, v-dongpi-inv2",
            "2026-11-29 10:58",
            "silent_s 130",
        ]
    ]
    # labelled, and after the firing ones
    label = "Pending: condition seen, not yet long enough to alert"
    assert page.index("firing-alerts") < page.index(label) < page.index("pending-alerts")
    # nothing pending: no pending section at all
    quiet = render_report(
        ReportData(site_name="x", period="2026-10", generated_at="now", firing_alerts=[NO_OUTPUT])
    )
    assert "pending-alerts" not in quiet and label not in quiet
    assert len(tables(quiet)["firing-alerts"]) == 1


CST = ZoneInfo("Asia/Shanghai")


def _ms(hhmm: str) -> int:
    return int(
        dt.datetime.fromisoformat(f"2026-11-26T{hhmm}").replace(tzinfo=CST).timestamp() * 1000
    )


def _finding(kind: str, device: str, station: str, since: str, for_s: float) -> Finding:
    return Finding(
        kind,
        device,
        _ms(since),
        for_s,
        {"silent_s": 130} if kind == "comm_lost" else {"power_w": 0},
        station=station,
        village="dongpi",
        device=device,
    )


def test_alert_rows_merge_a_stations_devices_and_keep_pending_apart(tmp_path: Path) -> None:
    db = AlertDb(tmp_path / "alerts.db")
    kinds = {"no_output", "comm_lost"}

    def step(now: str, findings: list[Finding]) -> None:
        db.apply(
            findings,
            now_ms=_ms(now),
            kinds=kinds,
            clear_s={"no_output": 0, "comm_lost": 0},
            renotify_s=86400,
            notifiers=[],
            describe=lambda a, e, n: {},
        )

    try:
        # a comm_lost that fired and then cleared: resolved, not in the report
        step("09:00", [_finding("comm_lost", "s-hh-0007-inv", "s-hh-0007", "08:00", 1800)])
        step("09:05", [])
        step(
            "10:30",
            [
                _finding("no_output", "s-hh-0042-log", "s-hh-0042", "09:40", 2700),
                # a village array's two inverters and its meter silent for two minutes:
                # pending (for_s not reached), one row for the station
                _finding("comm_lost", "v-dongpi-inv2", "v-dongpi", "10:28", 1800),
                _finding("comm_lost", "v-dongpi-inv1", "v-dongpi", "10:27", 1800),
                _finding("comm_lost", "v-dongpi-meter", "v-dongpi", "10:28", 1800),
            ],
        )
        states = sorted((a.state, a.subject) for a in db.alerts())
        # what the rows are built from: one resolved, one firing, three pending
        assert ("resolved", "s-hh-0007-inv") in states and ("firing", "s-hh-0042-log") in states
        assert [s for s, _ in states].count("pending") == 3
        firing, pending = alert_rows(db.open_alerts(), {"dongpi": "东陂村"}, CST)
    finally:
        db.close()
    assert firing == [
        AlertRow(
            "s-hh-0042", "东陂村", "no_output", ("s-hh-0042-log",), "2026-11-26 09:40", "power_w 0"
        )
    ]
    assert pending == [
        AlertRow(
            "v-dongpi",
            "东陂村",
            "comm_lost",
            ("v-dongpi-inv1", "v-dongpi-inv2", "v-dongpi-meter"),
            "2026-11-26 10:27",
            "silent_s 130",
        )
    ]
