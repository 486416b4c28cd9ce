"""WeCom (企业微信) group robot: one message per event, markdown or text.

The robot's address is base_url?key=KEY with KEY from the environment (key_env): the
key is the whole credential, so it is never in the config file or a log line.
Markdown content is at most 4096 bytes of UTF-8, text 2048 (the robot's limits).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from alerts.notify.robot import GroupRobot, clip_utf8, env_value, markdown_lines
from core.config.alerts import WeComNotifier

MARKDOWN_MAX_BYTES, TEXT_MAX_BYTES = 4096, 2048


def wecom_body(payload: dict[str, Any], cfg: WeComNotifier) -> dict[str, Any]:
    """The robot's JSON document for one event payload (or a digest)."""
    if cfg.msgtype == "markdown":
        # (a WeCom markdown message cannot @-mention by phone: mentions need msgtype text)
        _, lines = markdown_lines(payload, colour=True)
        content = clip_utf8("\n".join(lines), MARKDOWN_MAX_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text = clip_utf8(str(payload.get("text") or payload.get("title") or ""), TEXT_MAX_BYTES)
    body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
    if cfg.mention_mobiles:
        body["text"]["mentioned_mobile_list"] = list(cfg.mention_mobiles)
    return body


class WeComRobot(GroupRobot):
    """POSTs each event to one WeCom group robot."""

    def url(self) -> str:
        """The request address with the key."""
        key = env_value(self.cfg.key_env)
        return f"{self.cfg.base_url}?{urllib.parse.urlencode({'key': key})}"

    def shown_url(self) -> str:
        """The address without the key: its variable's name."""
        return f"{self.cfg.base_url}?key=${self.cfg.key_env}"

    def body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The WeCom document for one event."""
        return wecom_body(payload, self.cfg)
