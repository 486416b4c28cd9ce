"""WeCom (企业微信) group robot: one message per event, markdown or text.

The robot's address is base_url?key=KEY with KEY from the environment (key_env): the
key is the whole credential, so it is never in the config file or a log line.
Markdown content is at most 4096 bytes of UTF-8, text 2048 (the robot's limits).
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from alerts.notify.robot import clip_utf8, markdown_lines, post_json
from core.config import Config
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


class WeComRobot:
    """POSTs each event to one WeCom group robot."""

    takes_events = True

    def __init__(self, name: str, cfg: WeComNotifier):
        self.name = name
        self.cfg = cfg

    def _url(self) -> str:
        key = os.environ.get(self.cfg.key_env)
        if not key:
            raise RuntimeError(f"environment variable {self.cfg.key_env} is not set")
        return f"{self.cfg.base_url}?{urllib.parse.urlencode({'key': key})}"

    def send(self, payload: dict[str, Any]) -> None:
        """Post one event; raise unless the robot answers errcode 0."""
        c = self.cfg
        post_json(
            self._url(),
            wecom_body(payload, c),
            timeout_s=c.timeout_s,
            retries=c.retries,
            backoff_s=c.backoff_s,
            shown_url=f"{c.base_url}?key=${c.key_env}",
        )

    def maybe_digest(self, db: Any, now_ms: int, config: Config) -> None:
        """Digests go per contact (alerts/digest.py), not per notifier."""

    def close(self) -> None:
        """Nothing held open."""
