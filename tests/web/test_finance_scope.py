"""The pure functions behind the payout run pages (web/pages/runs_data.py): a village
user's rows and files hold only its villages; yuan and site times as people read them."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest

from core.config import load_config
from tests.revenue.helpers import CASES
from web.pages import runs_data as data

#: one served site per module, its tests in order on one xdist worker (they build on
#: each other's state: drafts, finals, users' changed passwords)
pytestmark = pytest.mark.xdist_group("test_finance_scope")


@pytest.fixture(scope="module")
def config():
    return load_config(CASES / "several-schemes" / "config.yaml")


FILES = {
    "households-2026-08.csv": "\ufeffhousehold_id,village_id,amount_fen\nhh-1,dongpi,100\n"
    "hh-3,shangxi,50\n".encode(),
    "household-lines-2026-08.csv": b"household_id,village_id,amount_fen\nhh-3,shangxi,50\n",
    "reconciliation-2026Q3.csv": b"station_id,cash_now_fen\nv-dongpi,7\ngone-station,9\n",
    "checks-2026-08.csv": b"check,ok\nno negative line,yes\n",
}


def test_file_of_tells_tables_apart_for_months_and_quarters():
    assert data.file_of(FILES, "households") == "households-2026-08.csv"
    assert data.file_of(FILES, "household-lines") == "household-lines-2026-08.csv"
    assert data.file_of(FILES, "reconciliation") == "reconciliation-2026Q3.csv"
    assert data.file_of(FILES, "villages") is None


def test_rows_of_other_villages_and_unknown_ids_are_left_out(config):
    dongpi = frozenset({"dongpi"})
    assert [r["household_id"] for r in data.table(FILES, "households", dongpi, config)] == ["hh-1"]
    # a station row names its village through the config; an unknown id is no one's
    rec = data.table(FILES, "reconciliation", dongpi, config)
    assert [r["station_id"] for r in rec] == ["v-dongpi"]
    assert data.table(FILES, "household-lines", dongpi, config) == []
    # a check names no one's money: everyone sees it
    assert len(data.table(FILES, "checks", dongpi, config)) == 1
    everyone = frozenset(config.village_by_id)
    assert len(data.table(FILES, "households", everyone, config)) == 2


def test_filtered_csv_keeps_header_and_bom_and_only_allowed_rows(config):
    out = data.filtered_csv(FILES["households-2026-08.csv"], frozenset({"shangxi"}), config)
    assert out.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))
    assert rows == [["household_id", "village_id", "amount_fen"], ["hh-3", "shangxi", "50"]]
    empty = data.filtered_csv(FILES["households-2026-08.csv"], frozenset(), config)
    assert empty.decode("utf-8-sig").splitlines() == ["household_id,village_id,amount_fen"]


def test_differences_are_scoped_and_in_yuan(config):
    diff = json.dumps(
        [
            {"table": "households", "key": "hh-1", "old_fen": 100, "new_fen": 150,
             "difference_fen": 50, "column": "amount_fen"},
            {"table": "households", "key": "hh-3", "old_fen": 70, "new_fen": 0,
             "difference_fen": -70, "column": "amount_fen"},
            {"table": "villages", "key": "dongpi/jobs", "old_fen": 1, "new_fen": 2,
             "difference_fen": 1, "column": "amount_fen"},
        ]
    )  # fmt: skip
    got = data.differences(config, diff, frozenset({"dongpi"}))
    assert [(d["key"], d["difference_yuan"]) for d in got] == [
        ("hh-1", "0.50"),
        ("dongpi/jobs", "0.01"),
    ]
    other = data.differences(config, diff, frozenset({"shangxi"}))
    assert [(d["key"], d["old_yuan"], d["difference_yuan"]) for d in other] == [
        ("hh-3", "0.70", "-0.70")
    ]


def test_sources_in_yuan_and_times_in_the_site_zone():
    assert data.sources_yuan("coop-a=13991;s-hh-1=10810") == "coop-a 139.91; s-hh-1 108.10"
    assert data.sources_yuan("") == ""
    tz = ZoneInfo("Asia/Shanghai")
    assert data.local_time("2026-12-01T23:59:30.123456Z", tz) == "2026-12-02 07:59:30"
    assert data.local_time("2026-08-31T16:00:00Z", tz) == "2026-09-01 00:00:00"


def test_a_correction_file_and_unknown_rows_are_scoped(config):
    correction = (
        b"table,key,column,old_fen,new_fen,difference_fen\n"
        b"households,hh-1,amount_fen,1,2,1\nhouseholds,hh-3,amount_fen,5,0,-5\n"
        b"villages,shangxi/jobs,amount_fen,3,4,1\n"
    )
    out = data.filtered_csv(correction, frozenset({"dongpi"}), config)
    assert out.decode().splitlines()[1:] == ["households,hh-1,amount_fen,1,2,1"]
    # a file of no known shape shows a village user nothing
    odd = data.filtered_csv(b"what,amount_fen\nx,5\n", frozenset({"dongpi"}), config)
    assert odd.decode().splitlines() == ["what,amount_fen"]
