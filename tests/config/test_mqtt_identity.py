"""One station, one identity: an MQTT device's topic must be pv/<village>/<its account>.

The broker lets an account write only ``pv/+/<account>`` (deploy/mosquitto/village.acl);
`pvledger check` refuses a config in which that would not protect the station.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.config.mqtt_identity import logger_accounts
from pvledger.cli import main
from tests.conftest import ROOT

HEAD = """site: {name: t, latitude: 27.1, longitude: 114.9}
villages: [{id: dongpi, name: 东陂村}, {id: shangxi, name: 上溪村}]
tariffs:
  - {id: t-v, applies_to: {kind: village}, shape: fixed-subsidy, from: 2018-01-01,
     components: [{name: coal, yuan_per_kwh: "0.4143", payer: grid}]}
stations:
"""


def _station(sid: str, village: str, *devices: str) -> str:
    return (
        f"  - {{id: {sid}, kind: village, capacity_kw: 100, owner: {village}, "
        f"village: {village}, devices: [{', '.join(devices)}]}}\n"
    )


def _check(tmp_path: Path, stations: str, capsys, mqtt: str = "") -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(HEAD.replace("stations:\n", mqtt + "stations:\n") + stations, "utf-8")
    code = main(["-c", str(path), "check"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_topic_must_end_in_the_station_id(tmp_path: Path, capsys) -> None:
    code, out = _check(
        tmp_path,
        _station("v-a", "dongpi", "{id: a-log, source: mqtt, topic: pv/dongpi/v-b}"),
        capsys,
    )
    assert code == 2
    assert "config.yaml:7: stations[0].devices[0].topic: topic 'pv/dongpi/v-b'" in out
    assert "is not 'pv/dongpi/v-a'" in out
    assert "fix: write topic: pv/dongpi/v-a" in out


def test_topic_must_name_the_station_village(tmp_path: Path, capsys) -> None:
    code, out = _check(
        tmp_path,
        _station("v-a", "dongpi", "{id: a-log, source: mqtt, topic: pv/shangxi/v-a}"),
        capsys,
    )
    assert code == 2 and "is not 'pv/dongpi/v-a'" in out


def test_explicit_account_gives_a_station_two_loggers(tmp_path: Path, capsys) -> None:
    ok = _station(
        "v-a",
        "dongpi",
        "{id: a-log, source: mqtt, topic: pv/dongpi/v-a}",
        "{id: a-meter, source: mqtt, role: meter, account: v-a-meter, topic: pv/dongpi/v-a-meter}",
    )
    code, out = _check(tmp_path, ok, capsys)
    assert code == 0, out
    accounts = logger_accounts(load_config(tmp_path / "config.yaml").stations)
    assert [(a.account, a.topic, a.device) for a in accounts] == [
        ("v-a", "pv/dongpi/v-a", "a-log"),
        ("v-a-meter", "pv/dongpi/v-a-meter", "a-meter"),
    ]


def test_two_loggers_on_one_account_are_refused(tmp_path: Path, capsys) -> None:
    """Same account in two villages: pv/+/%u would let one password write both topics."""
    stations = _station(
        "v-a", "dongpi", "{id: a-log, source: mqtt, topic: pv/dongpi/v-a}"
    ) + _station("v-b", "shangxi", "{id: b-log, source: mqtt, account: v-a, topic: pv/shangxi/v-a}")
    code, out = _check(tmp_path, stations, capsys)
    assert code == 2
    assert "stations[1].devices[0].account: account 'v-a' of device 'b-log' is already" in out
    assert "one logger's password would speak for both" in out


def test_the_collectors_account_is_not_a_loggers(tmp_path: Path, capsys) -> None:
    stations = _station(
        "v-a",
        "dongpi",
        "{id: a-log, source: mqtt, account: pvledger-gw, topic: pv/dongpi/pvledger-gw}",
    )
    code, out = _check(
        tmp_path,
        stations,
        capsys,
        mqtt="mqtt: {username: pvledger-gw, password_env: PVLEDGER_MQTT_PASSWORD}\n",
    )
    assert code == 2
    assert "account 'pvledger-gw' of device 'a-log' is the collector's own" in out


@pytest.mark.parametrize(
    "config",
    [
        "config.yaml",
        "deploy/examples/gateway-village.yaml",
        "deploy/examples/county-server.yaml",
    ],
)
def test_shipped_configs_give_every_logger_its_own_account(config: str) -> None:
    accounts = logger_accounts(load_config(ROOT / config).stations)
    assert accounts, "no MQTT loggers in the shipped config"
    assert len({a.account for a in accounts}) == len(accounts)
    assert all(a.topic.endswith("/" + a.account) for a in accounts)
