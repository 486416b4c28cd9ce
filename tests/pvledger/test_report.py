"""The HTML report shows what it was given, exactly, with no external resources."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from pvledger.report import ReportData, render_report, yuan


def _data() -> ReportData:
    return ReportData(
        site_name="吉州区",
        period="2026-10",
        generated_at="2026-11-29 08:00",
        summary=[("stations", "223")],
        village_monthly_kwh={"东陂村": [("2026-10", 9876.4)], "上溪村": [("2026-10", 10234.0)]},
        fleet_daily_kwh=[("2026-10-01", 812.5), ("2026-10-02", 0.0)],
        open_alerts=[("s-hh-0042", "东陂村", "no_output", "2026-11-29 10:05", "0 W for 65 min")],
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
