"""The systemd units pass `systemd-analyze verify` and keep their hardening;
the monthly timer and its wrapper scripts pick the right month."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.deploy.cli import cli_help
from tests.servers import require_binary

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
BIN = ROOT / "deploy" / "bin"
UNIT_FILES = sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNIT_FILES if p.suffix == ".service"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def unit_keys(path: Path) -> dict[str, list[str]]:
    """Key -> values of a unit file (all sections; repeated keys kept in order)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def installed_pvledger() -> str:
    """An executable standing in for /opt/pvledger/.venv/bin/pvledger."""
    return shutil.which("pvledger") or sys.executable


@pytest.mark.parametrize("unit", UNIT_FILES, ids=[p.name for p in UNIT_FILES])
def test_unit_passes_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    """No error and no warning, with the binaries at their paths on this machine."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    for src in UNIT_FILES:  # a timer is verified together with the service it starts
        text = src.read_text()
        text = text.replace("/opt/pvledger/.venv/bin/pvledger", installed_pvledger())
        text = text.replace("/opt/pvledger/bin/", f"{BIN}/")
        (tmp_path / src.name).write_text(text)
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / unit.name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    problems = [ln for ln in proc.stderr.splitlines() if unit.name in ln]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("unit", SERVICES, ids=[p.name for p in SERVICES])
def test_service_is_hardened(unit: Path) -> None:
    """Dedicated user, read-only system, private tmp, no privilege gain, one writable dir."""
    k = unit_keys(unit)
    assert k["User"] == ["pvledger"] and k["Group"] == ["pvledger"]
    assert k["ProtectSystem"] == ["strict"]
    assert k["ProtectHome"] == ["true"]
    assert k["PrivateTmp"] == ["true"]
    assert k["NoNewPrivileges"] == ["true"]
    assert k["ReadWritePaths"] == ["/var/lib/pvledger"]
    assert k["EnvironmentFile"] == ["/etc/pvledger/pvledger.env"]
    assert k["CapabilityBoundingSet"] == [""]
    if k.get("Type") != ["oneshot"]:
        assert k["Restart"] == ["on-failure"]
        assert int(k["RestartSec"][0]) > 0
        # bad input (exit 2) is not fixed by restarting
        assert k["RestartPreventExitStatus"] == ["2"]


def test_collector_has_time_to_flush_on_stop() -> None:
    """SIGTERM, then a minute or more before systemd escalates to SIGKILL."""
    k = unit_keys(UNITS / "pvledger-collect.service")
    assert k["KillSignal"] == ["SIGTERM"]
    assert int(k["TimeoutStopSec"][0]) >= 60
    assert k["ExecStart"][0].startswith("/opt/pvledger/.venv/bin/pvledger collect")


def test_timer_fires_on_the_3rd_at_06_beijing_time() -> None:
    """systemd's own calendar parser: the next elapses are 06:00 Asia/Shanghai on the 3rd."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    spec = unit_keys(UNITS / "pvledger-revenue-draft.timer")["OnCalendar"][0]
    proc = subprocess.run(
        [analyze, "calendar", "--iterations=3", spec],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
        timeout=30,
        check=True,
    )
    stamps = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", proc.stdout)
    assert len(stamps) == 3, proc.stdout
    for s in stamps:
        utc = dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)
        local = utc.astimezone(SHANGHAI)
        assert (local.day, local.hour, local.minute) == (3, 6, 0), local


@pytest.mark.parametrize(
    ("timer", "hour", "minute"),
    [("pvledger-backup.timer", 2, 30), ("pvledger-vmbackup.timer", 2, 0)],
)
def test_backup_timers_fire_nightly_beijing_time(timer: str, hour: int, minute: int) -> None:
    """Every night at the stated Asia/Shanghai time; VictoriaMetrics before pvledger."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    spec = unit_keys(UNITS / timer)["OnCalendar"][0]
    proc = subprocess.run(
        [analyze, "calendar", "--iterations=3", spec],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
        timeout=30,
        check=True,
    )
    stamps = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", proc.stdout)
    assert len(stamps) == 3, proc.stdout
    local = [
        dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC).astimezone(SHANGHAI) for s in stamps
    ]
    assert all((t.hour, t.minute) == (hour, minute) for t in local), local
    assert [(b - a).days for a, b in itertools.pairwise(local)] == [1, 1]


def previous_month(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run deploy/bin/pvledger-previous-month."""
    return subprocess.run(
        [str(BIN / "pvledger-previous-month"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=10,
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("2026-03-31", "2026-02"),  # `date -d 'last month'` would say 2026-03
        ("2026-01-03", "2025-12"),
        ("2024-03-01", "2024-02"),
        ("2026-12-31", "2026-11"),
    ],
)
def test_previous_month_of_a_reference_date(reference: str, expected: str) -> None:
    """Month arithmetic across year ends and short months."""
    proc = previous_month(reference)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


@pytest.mark.parametrize(
    ("utc_now", "tz", "expected"),
    [
        # 06:00 on the 1st in Beijing is still the last day of the month before in UTC
        ("2026-02-28 22:00:00", "Asia/Shanghai", "2026-02"),
        ("2026-02-28 22:00:00", "America/Los_Angeles", "2026-01"),
        ("2027-01-01 03:00:00", "Asia/Shanghai", "2026-12"),
    ],
)
def test_previous_month_defaults_to_today_in_the_site_zone(
    utc_now: str, tz: str, expected: str
) -> None:
    """Without a reference: the month before today's month in the site zone (not UTC),
    with "today" set by faketime, never the wall clock's date."""
    faketime = require_binary("faketime")
    proc = subprocess.run(
        [faketime, utc_now, str(BIN / "pvledger-previous-month")],
        capture_output=True,
        text=True,
        env={**os.environ, "PVLEDGER_TZ": tz, "TZ": "UTC"},
        timeout=10,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


@pytest.mark.parametrize("bad", ["2026-02-30", "march", "2026-3-1"])
def test_previous_month_refuses_bad_input(bad: str) -> None:
    """Bad input is exit 2 with a message, never a guess."""
    proc = previous_month(bad)
    assert proc.returncode == 2
    assert bad in proc.stderr


def test_revenue_draft_runs_the_previous_month(tmp_path: Path) -> None:
    """The unit's wrapper calls `pvledger revenue --period <previous month> --out DIR`."""
    recorder = tmp_path / "pvledger"
    record = tmp_path / "argv"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    recorder.chmod(0o755)
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(BIN / "pvledger-revenue-draft"), "--lang", "zh"],
        capture_output=True,
        text=True,
        env={**os.environ, "PVLEDGER_BIN": str(recorder), "PVLEDGER_OUT": str(out)},
        timeout=10,
    )
    assert proc.returncode == 0, proc.stderr
    month = previous_month().stdout.strip()
    argv = record.read_text().splitlines()
    assert argv == ["revenue", "--period", month, "--out", str(out), "--lang", "zh"]
    assert out.is_dir()


def test_unit_commands_exist_in_the_cli() -> None:
    """Every pvledger subcommand a unit or wrapper starts is a real command."""
    used = set()
    for unit in SERVICES:
        for cmd in unit_keys(unit).get("ExecStart", []) + unit_keys(unit).get("ExecStartPre", []):
            if cmd.startswith("/opt/pvledger/.venv/bin/pvledger"):
                args = cmd.split()[1:]
                while args and args[0].startswith("-"):  # global options (-q, -c FILE)
                    args = args[2:] if args[0] in ("-c", "--config") else args[1:]
                used.add(tuple(args))  # with its options: a bad option value fails too
    used.add(("revenue",))  # deploy/bin/pvledger-revenue-draft
    for words in sorted(used):
        code, text = cli_help(*words)
        assert code == 0, f"pvledger {' '.join(words)}: {text}"
        assert "usage: pvledger" in text
