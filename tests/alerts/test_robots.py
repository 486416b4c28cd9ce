"""WeCom and DingTalk robots against a local receiver that answers as they do: the
exact JSON documents, DingTalk's signature verified by the receiver, a wrong secret
or a stale timestamp refused (HTTP 200, errcode 310000) and recorded by pvledger as a
failed delivery with the reason, retried at the next round and delivered once fixed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
import time
import urllib.parse
from pathlib import Path

import pytest

from alerts.delivery import deliver
from alerts.message import build_payload
from alerts.notify import build_notifiers
from alerts.notify.dingtalk import DingTalkRobot, dingtalk_body, sign
from alerts.notify.wecom import WeComRobot, wecom_body
from alerts.state import AlertDb, Finding
from core.config.alerts import DingTalkNotifier, WeComNotifier
from tests.alerts.fleet import local_ms, write_config
from tests.alerts.robots import (
    DINGTALK_PATH,
    INVALID_KEY,
    SIGN_NOT_MATCH,
    WECOM_PATH,
    RobotReceiver,
)

KEY, TOKEN, SECRET = "6b1c2f9e-key", "tok-abc123", "SECdeadbeef0123456789"
EVENT = {
    "event": "firing",
    "title": "[告警] 停止发电: s-a1",
    "text": "[告警] 停止发电: s-a1\n编号: #7\n电站: s-a1\n估计损失收入: 1.23 元 (1.4 kWh)",
}


@pytest.fixture
def receiver():
    r = RobotReceiver(wecom_key=KEY, ding_token=TOKEN, ding_secret=SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("T_WECOM_KEY", KEY)
    monkeypatch.setenv("T_DING_TOKEN", TOKEN)
    monkeypatch.setenv("T_DING_SECRET", SECRET)


def wecom_cfg(receiver: RobotReceiver, **kw) -> WeComNotifier:
    return WeComNotifier(
        type="wecom", key_env="T_WECOM_KEY", base_url=receiver.base(WECOM_PATH), **kw
    )


def ding_cfg(receiver: RobotReceiver, **kw) -> DingTalkNotifier:
    return DingTalkNotifier(
        type="dingtalk",
        token_env="T_DING_TOKEN",
        secret_env="T_DING_SECRET",
        base_url=receiver.base(DINGTALK_PATH),
        **kw,
    )


def test_sign_is_dingtalks_algorithm():
    # the documented computation, written out independently of alerts/notify/dingtalk.py
    ts = 1_700_000_000_123
    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert sign(ts, SECRET) == urllib.parse.quote_plus(base64.b64encode(mac).decode())
    assert sign(ts, SECRET) != sign(ts + 1, SECRET)
    assert sign(ts, SECRET) != sign(ts, SECRET + "x")


def test_wecom_markdown_and_text_documents(receiver, env):
    robot = WeComRobot("wecom-0", wecom_cfg(receiver))
    robot.send(EVENT)
    text_robot = WeComRobot(
        "wecom-1", wecom_cfg(receiver, msgtype="text", mention_mobiles=["13800001111"])
    )
    text_robot.send(EVENT)
    got = receiver.drain()
    assert got == [
        (
            WECOM_PATH,
            {
                "msgtype": "markdown",
                "markdown": {
                    "content": '### <font color="warning">[告警] 停止发电: s-a1</font>\n'
                    "> 编号: #7\n> 电站: s-a1\n> 估计损失收入: 1.23 元 (1.4 kWh)"
                },
            },
        ),
        (
            WECOM_PATH,
            {
                "msgtype": "text",
                "text": {"content": EVENT["text"], "mentioned_mobile_list": ["13800001111"]},
            },
        ),
    ]
    # the key travelled in the query, nowhere in the body
    assert all(q == {"key": [KEY]} and KEY not in str(b) for _, q, b, _ in receiver.requests)


def test_wecom_markdown_is_cut_at_4096_bytes_on_a_character():
    long = {"event": "firing", "title": "t", "text": "t\n" + "电" * 3000}
    body = wecom_body(long, WeComNotifier(type="wecom", key_env="K"))
    content = body["markdown"]["content"].encode("utf-8")
    assert len(content) <= 4096
    content.decode("utf-8")  # whole characters only


def test_dingtalk_signed_markdown_verified_by_the_receiver(receiver, env):
    robot = DingTalkRobot("dingtalk-0", ding_cfg(receiver, mention_mobiles=["13900002222"]))
    robot.send(EVENT)
    [(path, q, body, code)] = receiver.requests
    assert code == 0 and path == DINGTALK_PATH
    assert set(q) == {"access_token", "timestamp", "sign"}
    assert abs(int(q["timestamp"][0]) - time.time() * 1000) < 600_000
    assert body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[告警] 停止发电: s-a1",
            "text": "### [告警] 停止发电: s-a1\n\n> 编号: #7\n\n> 电站: s-a1\n\n"
            "> 估计损失收入: 1.23 元 (1.4 kWh)\n\n@13900002222",
        },
        "at": {"atMobiles": ["13900002222"], "isAtAll": False},
    }
    assert dingtalk_body(EVENT, ding_cfg(receiver, msgtype="text")) == {
        "msgtype": "text",
        "text": {"content": EVENT["text"]},
        "at": {"atMobiles": [], "isAtAll": False},
    }


def test_dingtalk_refuses_a_wrong_secret_and_a_stale_timestamp(receiver, env, monkeypatch):
    monkeypatch.setenv("T_DING_SECRET", "SECwrong")
    with pytest.raises(RuntimeError, match=f"errcode {SIGN_NOT_MATCH}: sign not match"):
        DingTalkRobot("d", ding_cfg(receiver)).send(EVENT)
    monkeypatch.setenv("T_DING_SECRET", SECRET)
    two_hours_ago = time.time_ns() // 1_000_000 - 2 * 3_600_000
    stale = DingTalkRobot("d", ding_cfg(receiver), wall_ms=lambda: two_hours_ago)
    with pytest.raises(RuntimeError, match="invalid timestamp"):
        stale.send(EVENT)
    assert receiver.drain() == []
    assert [r[3] for r in receiver.requests] == [SIGN_NOT_MATCH, SIGN_NOT_MATCH]


def test_a_server_error_is_retried_within_the_send(receiver, env):
    receiver.fail_next = 2
    DingTalkRobot("d", ding_cfg(receiver, retries=2, backoff_s=0.01)).send(EVENT)
    assert len(receiver.drain()) == 1


def notify_yaml(receiver: RobotReceiver) -> str:
    return (
        f"    - {{type: wecom, id: wecom-va, key_env: T_WECOM_KEY, "
        f'base_url: "{receiver.base(WECOM_PATH)}"}}\n'
        f"    - {{type: dingtalk, id: ding-county, token_env: T_DING_TOKEN, "
        f'secret_env: T_DING_SECRET, retries: 0, base_url: "{receiver.base(DINGTALK_PATH)}"}}\n'
    )


def fire(db: AlertDb, config, names: list[str], now: int) -> None:
    finding = Finding(
        kind="comm_lost",
        subject="s-a1-log",
        since_ms=now - 3_600_000,
        for_s=1800,
        station="s-a1",
        village="va",
        device="s-a1-log",
        seen={"last_reading_ms": now - 3_600_000},
    )

    def describe(alert, event, t):
        return build_payload(config, alert, event, t, expected_wh=None, lost_fen=None)

    db.apply(
        [finding],
        now_ms=now,
        kinds=["comm_lost"],
        clear_s={"comm_lost": 600},
        renotify_s=7200,
        notifiers=names,
        describe=describe,
    )


def delivery_rows(path: Path) -> dict[str, tuple[int, int | None, str | None]]:
    with sqlite3.connect(path) as c:
        rows = c.execute("SELECT notifier, attempts, sent_ms, error FROM deliveries").fetchall()
    return {n: (a, s, e) for n, a, s, e in rows}


def test_a_refused_signature_is_a_failed_delivery_retried_until_fixed(
    tmp_path: Path, receiver, env, monkeypatch
):
    """Through the delivery path: a wrong secret is refused by the receiver, pvledger
    records the failure with the reason and keeps the event owed; once the secret is
    right the next round delivers it, once; WeCom is unaffected."""
    config = write_config(tmp_path, notify=notify_yaml(receiver))
    notifiers = build_notifiers(config)
    assert [n.name for n in notifiers] == ["wecom-va", "ding-county"]
    db = AlertDb(tmp_path / "data" / "alerts.db")
    try:
        now = local_ms("2018-07-10", "11:00")
        fire(db, config, [n.name for n in notifiers], now)
        monkeypatch.setenv("T_DING_SECRET", "SECwrong")
        deliver(notifiers, db, config, now)
        rows = delivery_rows(db.path)
        assert rows["wecom-va"][:2] == (1, now)
        attempts, sent, error = rows["ding-county"]
        assert (attempts, sent) == (1, None)
        assert f"errcode {SIGN_NOT_MATCH}: sign not match" in (error or "")
        assert TOKEN not in (error or "") and "SECwrong" not in (error or "")
        deliver(notifiers, db, config, now + 300_000)  # still wrong: a second failure
        assert delivery_rows(db.path)["ding-county"][:2] == (2, None)
        monkeypatch.setenv("T_DING_SECRET", SECRET)
        deliver(notifiers, db, config, now + 600_000)
        assert delivery_rows(db.path)["ding-county"] == (3, now + 600_000, None)
        deliver(notifiers, db, config, now + 900_000)  # nothing owed: nothing re-sent
        paths = [p for p, _ in receiver.drain()]
        assert sorted(paths) == sorted([DINGTALK_PATH, WECOM_PATH])
        wecom = [b for p, _, b, c in receiver.requests if p == WECOM_PATH]
        assert "s-a1" in wecom[0]["markdown"]["content"]
        assert "Village VA (va)" in wecom[0]["markdown"]["content"]
    finally:
        db.close()


def test_a_missing_secret_is_recorded_as_the_reason(tmp_path: Path, receiver, env, monkeypatch):
    config = write_config(tmp_path, notify=notify_yaml(receiver))
    notifiers = build_notifiers(config)
    db = AlertDb(tmp_path / "data" / "alerts.db")
    try:
        now = local_ms("2018-07-10", "11:00")
        fire(db, config, [n.name for n in notifiers], now)
        monkeypatch.delenv("T_WECOM_KEY")
        deliver(notifiers, db, config, now)
        assert delivery_rows(db.path)["wecom-va"] == (
            1,
            None,
            "environment variable T_WECOM_KEY is not set",
        )
    finally:
        db.close()


def test_wecom_refuses_a_wrong_key(receiver, env, monkeypatch):
    monkeypatch.setenv("T_WECOM_KEY", "not-the-key")
    with pytest.raises(RuntimeError, match=f"errcode {INVALID_KEY}: invalid webhook url") as exc:
        WeComRobot("w", wecom_cfg(receiver)).send(EVENT)
    assert "not-the-key" not in str(exc.value)  # the secret is never in the reason
    assert receiver.drain() == []
