"""What the WeCom and DingTalk group robots share: the message text from an event
payload (markdown or plain), UTF-8 length limits, and one JSON POST whose answer is
judged the way both robots answer (HTTP 200 with errcode 0 is a delivery)."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger("alerts.robot")

#: event -> markdown colour word (WeCom's three built-in colours)
EVENT_COLOUR = {"firing": "warning", "reminder": "warning", "resolved": "info"}


def clip_utf8(text: str, limit_bytes: int) -> str:
    """text cut to at most limit_bytes of UTF-8, never inside a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit_bytes:
        return text
    cut = raw[: max(0, limit_bytes - 3)].decode("utf-8", errors="ignore")
    return cut + "…"


def headline_and_facts(payload: dict[str, Any]) -> tuple[str, list[str]]:
    """(title, the other lines of the text): an event's text starts with its title."""
    title = str(payload.get("title") or payload.get("event") or "pvledger")
    lines = str(payload.get("text") or title).split("\n")
    if lines and lines[0] == title:
        lines = lines[1:]
    return title, [ln for ln in lines if ln.strip()]


def markdown_lines(payload: dict[str, Any], *, colour: bool) -> tuple[str, list[str]]:
    """(title, markdown lines): a level-3 heading, then one quoted line per fact."""
    title, facts = headline_and_facts(payload)
    shown = title
    c = EVENT_COLOUR.get(str(payload.get("event")))
    if colour and c:
        shown = f'<font color="{c}">{title}</font>'
    return title, [f"### {shown}", *(f"> {ln}" for ln in facts)]


class RobotRefused(RuntimeError):
    """The robot answered but did not take the message (errcode != 0, or HTTP 4xx)."""


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    timeout_s: float,
    retries: int,
    backoff_s: float,
    shown_url: str,
) -> dict[str, Any]:
    """POST body as JSON; returns the robot's JSON answer when errcode is 0.

    Network errors and 5xx are retried (back-off doubling from backoff_s), then
    raised; an errcode != 0 or a 4xx is raised at once as RobotRefused (the robot
    read the request and said no). shown_url is the address without its secret, for
    messages and logs.
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pvledger-alerts"}
    delay = backoff_s
    last: Exception | None = None
    for attempt in range(retries + 1):
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                text = resp.read().decode("utf-8", errors="replace")
            try:
                answer = json.loads(text)
            except ValueError:
                raise RobotRefused(f"{shown_url}: answer is not JSON: {text[:200]!r}") from None
            code = answer.get("errcode") if isinstance(answer, dict) else None
            if code != 0:
                msg = answer.get("errmsg") if isinstance(answer, dict) else answer
                raise RobotRefused(f"{shown_url}: errcode {code}: {msg}")
            return answer
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise RobotRefused(f"{shown_url}: HTTP {exc.code} {exc.reason}") from None
            last = RuntimeError(f"HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        if attempt < retries:
            log.debug("%s: attempt %d failed (%s), retrying", shown_url, attempt + 1, last)
            time.sleep(delay)  # network back-off is wall time by nature
            delay = min(delay * 2, 60.0)
    raise RuntimeError(f"POST {shown_url} failed: {last}")


def env_value(name: str) -> str:
    """The robot credential in environment variable name; RuntimeError if unset or empty."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


class GroupRobot:
    """One group robot notifier: each event POSTed as the robot's JSON document.

    A robot gives url() (with its credential), shown_url() (without it, for messages)
    and body(payload); cfg carries timeout_s, retries and backoff_s.
    """

    takes_events = True

    def __init__(self, name: str, cfg: Any):
        self.name = name
        self.cfg = cfg

    def url(self) -> str:
        """The request address, credential included."""
        raise NotImplementedError

    def shown_url(self) -> str:
        """The request address as messages and logs show it: the credential's variable."""
        raise NotImplementedError

    def body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The robot's JSON document for one event payload."""
        raise NotImplementedError

    def send(self, payload: dict[str, Any]) -> None:
        """Post one event; raise unless the robot answers errcode 0."""
        c = self.cfg
        post_json(
            self.url(),
            self.body(payload),
            timeout_s=c.timeout_s,
            retries=c.retries,
            backoff_s=c.backoff_s,
            shown_url=self.shown_url(),
        )

    def maybe_digest(self, db: Any, now_ms: int, config: Any) -> None:
        """Digests go per contact (alerts/digest.py), not per notifier."""

    def close(self) -> None:
        """Nothing held open."""
