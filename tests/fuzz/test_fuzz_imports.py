"""Fuzz the CSV importer (issue 12 Deliver 6, the importer part), bounded to about 20 s.

Properties, on real revenue.db files:
- no exception other than BadInput escapes, whatever the bytes;
- a file with one bad row (huge or special number, wrong column count, long or random
  text, unknown station, bad time) imports nothing, and the problem names that line;
- a valid file (UTF-8, UTF-8 with BOM or GBK; English or Chinese headers in any order;
  repeats) imports every distinct row exactly, and the ledger still verifies.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.problems import BadInput
from revenue.import_values import INT64_MAX
from revenue.ledger import Ledger
from revenue.meter_import import import_file
from tests.revenue.helpers import setup_case

NOW = "2026-12-01T00:00:00Z"
TZ = ZoneInfo("Asia/Shanghai")  # the case's site.timezone
FUZZ = settings(
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HEADERS = {
    "station_id": ("station_id", "电站编号"),
    "timestamp": ("timestamp", "抄表时间"),
    "period": ("period", "结算期"),
    "export_kwh": ("export_kwh", "上网电量"),
}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    return setup_case("worked-july", tmp_path_factory.mktemp("fuzz"))


def _tables(led: Ledger) -> dict[str, int]:
    return {
        t: led.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("meter_imports", "meter_statements", "meter_readings", "grid_accounts")
    }


# fsync dominates a fresh ledger per example; on tmpfs it costs nothing, and the
# properties are about parsing, not the disk
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _import(cfg, data: bytes):
    """Import bytes into a fresh ledger: (summary or the BadInput, table counts, ledger rows)."""
    with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="pvledger-fuzz-") as tmp:
        f = Path(tmp) / "fuzz.csv"
        f.write_bytes(data)
        with Ledger(Path(tmp) / "revenue.db") as led:
            try:
                result = import_file(cfg, led, f, NOW)
            except BadInput as exc:
                result = exc
            counts = _tables(led)
            readings = set(led.db.execute("SELECT station, ts_ms, export_wh FROM meter_readings"))
            stmts = set(led.db.execute("SELECT station, month, export_wh FROM meter_statements"))
            problems = led.verify()
    return result, counts, readings | stmts, problems


@settings(FUZZ, max_examples=200)
@given(data=st.binary(max_size=3000))
def test_random_bytes_never_raise_anything_but_bad_input(cfg, data):
    result, counts, _rows, problems = _import(cfg, data)
    if isinstance(result, BadInput):
        assert counts == dict.fromkeys(counts, 0)
        assert all(p.file == "fuzz.csv" for p in result.problems), result.render()
    assert problems == []


# -- structured files -------------------------------------------------------------------

wh_values = st.integers(0, INT64_MAX) | st.sampled_from([0, 1, 999, 1000, 12_390_500, INT64_MAX])


def kwh_text(wh: int, style: int) -> str:
    """Wh written as kWh the ways a spreadsheet does: 12390.5, 12,390.5, 1.23905E+4."""
    kwh = Decimal(wh).scaleb(-3).normalize()
    if style == 1:
        return f"{kwh:,f}"
    if style == 2:
        return f"{kwh:E}"
    return f"{kwh:f}"


instants = st.datetimes(min_value=dt.datetime(2018, 1, 1), max_value=dt.datetime(2026, 11, 30)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


def ts_text(d: dt.datetime, style: int) -> str:
    """A site-local time written as naive local, with +08:00, or in UTC."""
    if style == 0:
        return d.strftime("%Y-%m-%d %H:%M")
    aware = d.replace(tzinfo=TZ)
    if style == 1:
        return aware.isoformat()
    return aware.astimezone(dt.UTC).isoformat()


@st.composite
def valid_files(draw, cfg):
    """Rows with distinct keys (plus exact repeats), and what must be imported."""
    stations = sorted(s.id for s in cfg.stations)
    expect: dict[tuple, int] = {}
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        station = draw(st.sampled_from(stations))
        wh = draw(wh_values)
        text = kwh_text(wh, draw(st.integers(0, 2)))
        if draw(st.booleans()):
            d = draw(instants)
            key = (station, int(d.replace(tzinfo=TZ).timestamp() * 1000))
            row = {"station_id": station, "timestamp": ts_text(d, draw(st.integers(0, 2)))}
        else:
            month = f"{draw(st.integers(2018, 2025))}-{draw(st.integers(1, 12)):02d}"
            key = (station, month)
            row = {"station_id": station, "period": month}
        if key in expect:
            continue  # one value per key: contradictions are the bad-row test's business
        expect[key] = wh
        rows.append({**row, "export_kwh": text})
    rows += draw(st.lists(st.sampled_from(rows), max_size=5))  # identical repeats
    rows = draw(st.permutations(rows))
    return rows, expect


def render(draw, rows: list[dict], bad_row: list[str] | None = None, at: int = 0) -> bytes:
    """A CSV file: headers in a drawn order and language, a drawn encoding."""
    cols = draw(st.permutations(list(HEADERS)))
    zh = draw(st.booleans())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    w.writerow([HEADERS[c][zh] for c in cols])
    lines = [[r.get(c, "") for c in cols] for r in rows]
    if bad_row is not None:
        lines.insert(
            at,
            [dict(zip(list(HEADERS), bad_row, strict=False)).get(c, "") for c in cols]
            if len(bad_row) == len(HEADERS)
            else bad_row,
        )
    w.writerows(lines)
    text = buf.getvalue()
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    try:
        return text.encode(enc)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_a_valid_file_imports_every_distinct_row(cfg, data):
    rows, expect = data.draw(valid_files(cfg))
    result, counts, got, problems = _import(cfg, render(data.draw, rows))
    assert not isinstance(result, BadInput), result.render()
    assert {(k[0], k[1], wh) for k, wh in expect.items()} == got
    assert counts["meter_readings"] + counts["meter_statements"] == len(expect)
    assert result.duplicates == len(rows) - len(expect)
    assert problems == []


junk = st.text(max_size=60).map(lambda s: s + "x")  # "x" never belongs to a number or time
BAD_NUMBERS = (
    st.sampled_from(
        [
            "1e20",
            str(2**64),
            str(INT64_MAX),
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "-1",
            "1e-9",
            "0x10",
            "１２",
            "1.0001",
            "1,2,3",
            "1e9999",
            "--1",
            "1..2",
            "",
            " ",
        ]
    )
    | junk
    | st.text("0123456789", min_size=41, max_size=300)
)


@st.composite
def bad_rows(draw, cfg):
    """(cells in HEADERS order, or a row of the wrong length)."""
    station = draw(st.sampled_from(sorted(s.id for s in cfg.stations)))
    good_time = "2026-07-01 00:00"
    kind = draw(st.sampled_from(["number", "station", "time", "period", "width", "both", "future"]))
    if kind == "future":  # after NOW: no reading or statement can be of the future
        return [station, "2027-01-01 00:00", "", "1"]
    if kind == "number":
        return [station, good_time, "", draw(BAD_NUMBERS)]
    if kind == "station":
        return ["zz-" + draw(st.text(max_size=50)), good_time, "", "1"]
    if kind == "time":
        return [station, draw(junk), "", "1"]
    if kind == "period":
        return [station, "", draw(junk | st.sampled_from(["2026-13", "2026-1", "26-07"])), "1"]
    if kind == "both":
        return [station, good_time, "2026-07", "1"]
    n = draw(st.integers(1, 12).filter(lambda n: n != len(HEADERS)))
    return ["x", *(draw(st.text(max_size=20)) for _ in range(n - 1))]


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_a_file_with_one_bad_row_imports_nothing(cfg, data):
    rows, _expect = data.draw(valid_files(cfg))
    bad = data.draw(bad_rows(cfg))
    at = data.draw(st.integers(0, len(rows)))
    result, counts, _got, problems = _import(cfg, render(data.draw, rows, bad, at))
    assert isinstance(result, BadInput), f"accepted a bad row {bad!r}"
    assert counts == dict.fromkeys(counts, 0)
    assert at + 2 in {p.line for p in result.problems}, result.render()  # header is line 1
    assert problems == []
