"""DingTalk (钉钉) custom robot: one message per event, markdown or text, signed.

Address: base_url?access_token=TOKEN, the token from the environment (token_env).
With the robot's 加签 security setting, every request also carries &timestamp=T&sign=S:
T is the sending time in ms and S = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{T}\\n{secret}"))), the secret (SEC...) from the environment (secret_env).
DingTalk refuses a timestamp more than an hour from its own clock, so T is wall time
even when alerts run on a simulated clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from alerts.notify.robot import GroupRobot, clip_utf8, env_value, markdown_lines
from core.config.alerts import DingTalkNotifier

#: DingTalk takes up to 20,000 bytes; a phone shows far less, so keep it readable
MAX_BYTES = 4096


def sign(timestamp_ms: int, secret: str) -> str:
    """The sign parameter for one request, already URL-encoded (DingTalk's algorithm)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_body(payload: dict[str, Any], cfg: DingTalkNotifier) -> dict[str, Any]:
    """The robot's JSON document for one event payload (or a digest)."""
    at = {"atMobiles": list(cfg.mention_mobiles), "isAtAll": False}
    mentions = " ".join(f"@{m}" for m in cfg.mention_mobiles)
    if cfg.msgtype == "markdown":
        title, lines = markdown_lines(payload, colour=False)
        if mentions:  # DingTalk @-mentions in markdown only when the text names them
            lines.append(mentions)
        # a markdown line break in DingTalk needs an empty line between paragraphs
        text = clip_utf8("\n\n".join(lines), MAX_BYTES)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}
    content = str(payload.get("text") or payload.get("title") or "")
    if mentions:
        content = f"{content}\n{mentions}"
    return {"msgtype": "text", "text": {"content": clip_utf8(content, MAX_BYTES)}, "at": at}


class DingTalkRobot(GroupRobot):
    """POSTs each event to one DingTalk custom robot, signed when a secret is set."""

    def __init__(
        self,
        name: str,
        cfg: DingTalkNotifier,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ):
        super().__init__(name, cfg)
        #: the signing time (wall time: DingTalk compares it with its own clock)
        self.wall_ms = wall_ms

    def url(self) -> str:
        """The request address with the token and, when signed, timestamp and sign."""
        c = self.cfg
        url = f"{c.base_url}?{urllib.parse.urlencode({'access_token': env_value(c.token_env)})}"
        if c.secret_env:
            ts = self.wall_ms()
            url += f"&timestamp={ts}&sign={sign(ts, env_value(c.secret_env))}"
        return url

    def shown_url(self) -> str:
        """The address without the token: its variable's name."""
        return f"{self.cfg.base_url}?access_token=${self.cfg.token_env}"

    def body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The DingTalk document for one event."""
        return dingtalk_body(payload, self.cfg)
