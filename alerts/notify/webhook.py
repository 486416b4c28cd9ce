"""Webhook notifier: one JSON POST per event, retried with exponential back-off."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

from core.config import Config
from core.config.alerts import WebhookNotifier

log = logging.getLogger("alerts.webhook")


class Webhook:
    """POST application/json to a URL; any 2xx is a delivery."""

    takes_events = True

    def __init__(self, name: str, cfg: WebhookNotifier):
        self.name = name
        self.cfg = cfg

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pvledger-alerts"}
        if self.cfg.token_env:
            token = os.environ.get(self.cfg.token_env)
            if not token:
                raise RuntimeError(f"environment variable {self.cfg.token_env} is not set")
            h["Authorization"] = f"Bearer {token}"
        return h

    def send(self, payload: dict[str, Any]) -> None:
        """POST the payload; retry (back-off doubling from backoff_s) then raise."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        delay = self.cfg.backoff_s
        last: Exception | None = None
        for attempt in range(self.cfg.retries + 1):
            req = urllib.request.Request(
                self.cfg.url, data=body, headers=self._headers(), method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                    if 200 <= resp.status < 300:
                        return
                    last = RuntimeError(f"HTTP {resp.status}")
            except urllib.error.HTTPError as exc:
                last = exc
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    break  # the receiver refuses this document: retrying will not help
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            if attempt < self.cfg.retries:
                log.debug(
                    "%s: attempt %d failed (%s), retrying in %.1f s",
                    self.name,
                    attempt + 1,
                    last,
                    delay,
                )
                time.sleep(delay)  # network back-off is wall time by nature
                delay = min(delay * 2, 60.0)
        raise RuntimeError(f"POST {self.cfg.url} failed: {last}")

    def maybe_digest(self, db: Any, now_ms: int, config: Config) -> None:
        """Webhooks get every event; no digest."""

    def close(self) -> None:
        """Nothing held open."""
