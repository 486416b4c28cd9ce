"""The public notice check page, over HTTP against the real `pvledger serve`
(tests/web/server.py): no login, the same totals as the sheet, nothing the sheet does not
show; a superseded run says so; a wrong code matches nothing."""

from __future__ import annotations

import csv
import shutil
import subprocess
import urllib.request
from pathlib import Path

from core.config import load_config
from core.store import open_store
from revenue.capital_numerals import capital_yuan
from revenue.ledger import Ledger
from revenue.money import fen_to_yuan_str
from revenue.notice import check_code
from revenue.payout import ledger_path, payout
from revenue.period import parse_period
from tests.revenue.helpers import CASES, read_csv, write_rows
from tests.web.client import text_of
from tests.web.server import start_server

AUGUST = parse_period("2026-08")


def _prepare(site: Path) -> None:
    """The several-schemes case as the served site, its August run final."""
    shutil.copytree(CASES / "several-schemes", site, dirs_exist_ok=True)
    cfg = load_config(site / "config.yaml")
    rows = list(csv.DictReader((site / "readings.csv").open(encoding="utf-8")))
    with open_store(cfg) as store:
        write_rows(store, rows)
        payout(cfg, store, AUGUST, out_dir=site / "out", final=True)


def test_public_check_page(tmp_path):
    with start_server(tmp_path, prepare=_prepare) as server:
        cfg = load_config(server.config)
        with Ledger(ledger_path(cfg)) as led:
            run = led.effective_final("2026-08")
            files = led.files(run.seq)
        households = [
            r for r in read_csv(files["households-2026-08.csv"]) if r["village_id"] == "dongpi"
        ]
        pools = [r for r in read_csv(files["villages-2026-08.csv"]) if r["village_id"] == "dongpi"]
        hh_fen = sum(int(r["amount_fen"]) for r in households)
        pools_fen = sum(int(r["amount_fen"]) for r in pools)
        code = check_code(run.hash, "dongpi")

        anon = server.client()  # nobody logged in
        form = anon.get("/notice/check")
        assert form.status == 200, form.body[:500]
        assert 'name="code"' in form.body and "/login/" not in form.location

        r = anon.get(f"/notice/check?code={code[:5].upper()}-{code[5:]}")
        assert r.status == 200, r.body[:500]
        page = text_of(r.body)
        assert 'data-result="match"' in r.body
        assert "东陂村" in page and "2026年8月" in page and f"第 {run.seq} 次结算" in page
        assert (
            f"{len(households)} 户，合计 {fen_to_yuan_str(hh_fen)} 元（{capital_yuan(hh_fen)}）"
            in page
        )
        assert f"{fen_to_yuan_str(pools_fen)} 元（{capital_yuan(pools_fen)}）" in page
        assert "有效（定稿）" in page
        # nothing the sheet does not show, and not even its lines: no names, no ids
        for h in cfg.households:
            assert h.name not in page and h.id not in page
        assert "张*华" not in page and "s-hh-1" not in page

        bad = anon.get("/notice/check?code=not-a-code")
        assert bad.status == 400 and 'data-result="malformed"' in bad.body
        none = anon.get("/notice/check?code=0000000000")
        assert none.status == 404 and 'data-result="nomatch"' in none.body

        # logged in: the notices of the user's villages, each sheet as a PDF
        vil = server.login("vil1")  # village user of dongpi only
        listing = vil.get("/notices/")
        assert listing.status == 200, listing.body[:500]
        assert code in listing.body and "东陂村" in listing.body and "上溪村" not in listing.body
        # bytes, not text: the session's cookies with a plain opener
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(vil.jar))
        with opener.open(f"{server.url}/notices/{run.seq}/dongpi.pdf?date=2026-09-05") as got:
            assert got.headers["Content-Type"] == "application/pdf"
            assert "notice-2026-08-dongpi.pdf" in got.headers["Content-Disposition"]
            sheet = tmp_path / "sheet.pdf"
            sheet.write_bytes(got.read())
        text = subprocess.run(
            ["pdftotext", str(sheet), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert code in text and "2026年9月5日" in text and "张*华" in text
        assert vil.get(f"/notices/{run.seq}/shangxi.pdf").status == 404  # not its village
        assert vil.get("/notices/99/dongpi.pdf").status == 404
        fin = server.login("fin1")
        assert "上溪村" in fin.get("/notices/").body
        assert anon.get("/notices/").status == 302  # the list needs a login
        assert server.login("om1").get("/notices/").status == 403

        # a correction supersedes the run: the old sheet's code says so
        fix = server.cli(
            "revenue", "--period", "2026-08", "--supersede", "--reason", "re-checked",
            "--out", str(tmp_path / "fix"),
        )  # fmt: skip
        assert fix.returncode == 0, fix.stderr
        again = anon.get(f"/notice/check?code={code}")
        assert again.status == 200
        with Ledger(ledger_path(cfg)) as led:
            later = led.effective_final("2026-08").seq
        assert later != run.seq
        assert f"已被第 {later} 次结算更正" in text_of(again.body)
