"""`pvledger alerts` list / ack / watch, and alert config validation at load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.clock import ScaledClock
from core.problems import BadInput
from pvledger.cli import main
from tests.alerts.fleet import fill, local_ms, write_config

DAY = "2018-07-10"


def test_watch_list_ack(tmp_path: Path, capsys):
    cfg = write_config(tmp_path)
    stop_from = local_ms(DAY, "09:00")
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "11:00"),
        lambda sid, t: 0.0 if sid == "s-a2" and t >= stop_from else 0.8,
    )
    store.close()
    clock = tmp_path / "clock.json"
    ScaledClock.starting(local_ms(DAY, "10:01"), 1.0).save(clock)
    cfg_path = str(tmp_path / "config.yaml")
    assert main(["-c", cfg_path, "alerts", "watch", "--once", "--sim-clock", str(clock)]) == 0
    out = capsys.readouterr().out
    assert "no output" in out and "s-a2" in out

    assert main(["-c", cfg_path, "alerts", "--open", "--format", "json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert [(a["kind"], a["subject"], a["state"]) for a in alerts] == [
        ("no_output", "s-a2-log", "firing")
    ]
    aid = alerts[0]["id"]
    assert main(["-c", cfg_path, "alerts", "ack", str(aid), "--note", "crew sent"]) == 0
    assert "acknowledged" in capsys.readouterr().out
    assert main(["-c", cfg_path, "alerts", "--since", "2018-07-10"]) == 0
    table = capsys.readouterr().out
    assert "no_output" in table and "yes" in table
    assert "2018-07-10 09:00" in table  # since when, site-local
    # still open: listed for any --since
    assert main(["-c", cfg_path, "alerts", "--since", "2030-01-01T00:00"]) == 0
    assert "s-a2-log" in capsys.readouterr().out
    assert main(["-c", cfg_path, "alerts", "ack", "999"]) == 2
    assert main(["-c", cfg_path, "alerts", "--since", "last tuesday"]) == 2


@pytest.mark.parametrize(
    ("notify", "says"),
    [
        (
            "    - {type: email, host: h, starttls: false, username: u, password_env: P, "
            "sender: a@b, to: [c@d]}",
            "needs starttls",
        ),
        ("    - {type: email, host: h, username: u, sender: a@b, to: [c@d]}", "password_env"),
        ("    - {type: email, host: h, sender: a@b, to: [c@d], events: false}", "sends nothing"),
        ("    - {type: webhook, url: 'http://u:p@h/x'}", "credentials"),
        ("    - {type: webhook, url: 'ftp://h/x'}", "http://"),
        ("    - {type: mqtt, topic: 'a/#'}", "wildcards"),
        ("    - {type: email, host: h, password: x, sender: a@b, to: [c@d]}", "secrets"),
    ],
)
def test_bad_notifier_config_is_refused_at_load(tmp_path: Path, notify: str, says: str):
    with pytest.raises(BadInput) as exc:
        write_config(tmp_path, notify=notify)
    assert says in exc.value.render()


def test_bad_rule_values_are_refused(tmp_path: Path):
    with pytest.raises(BadInput) as exc:
        write_config(
            tmp_path,
            rules="    - {kind: no_output, peer_min_share: 0.2}\n"
            "    - {kind: comm_lost, for_s: -5}\n"
            "    - {kind: gateway_sleeps}",
        )
    text = exc.value.render()
    assert "quoted decimal" in text and "greater than or equal" in text
    assert "gateway_sleeps" in text
