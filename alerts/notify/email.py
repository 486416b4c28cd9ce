"""Email notifier: SMTP with STARTTLS and AUTH; one mail per event and/or a daily digest."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from core.config import Config
from core.config.alerts import EmailNotifier


class EmailSender:
    """Sends through one SMTP server; a new session per batch (mail is rare)."""

    def __init__(self, name: str, cfg: EmailNotifier, config: Config):
        self.name = name
        self.cfg = cfg
        self.takes_events = cfg.events
        self.ca_file = str(config.resolve(cfg.ca_file)) if cfg.ca_file else None

    def _message(self, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.cfg.sender
        msg["To"] = ", ".join(self.cfg.to)
        msg["Subject"] = subject
        msg.set_content(body)
        return msg

    def _send(self, msg: EmailMessage) -> None:
        c = self.cfg
        with smtplib.SMTP(c.host, c.port, timeout=c.timeout_s) as smtp:
            smtp.ehlo()
            if c.starttls:
                ctx = ssl.create_default_context(cafile=self.ca_file)
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if c.username:
                password = os.environ.get(c.password_env or "")
                if password is None:
                    raise RuntimeError(f"environment variable {c.password_env} is not set")
                smtp.login(c.username, password)
            smtp.send_message(msg)

    def send(self, payload: dict[str, Any]) -> None:
        """Mail one event (subject = its title, body = its text)."""
        self._send(self._message(payload["title"], payload["text"]))

    def maybe_digest(self, db: Any, now_ms: int, config: Config) -> None:
        """At digest_hour (site-local) once a day: open alerts and the last day's events."""
        if self.cfg.digest_hour is None:
            return
        local = dt.datetime.fromtimestamp(now_ms / 1000, config.site.tz)
        key = f"digest:{self.name}"
        today = local.date().isoformat()
        if local.hour < self.cfg.digest_hour or db.meta(key) == today:
            return
        subject, body = digest_text(db, now_ms, config)
        self._send(self._message(subject, body))
        db.set_meta(key, today)

    def close(self) -> None:
        """Nothing held open."""


def digest_text(db: Any, now_ms: int, config: Config) -> tuple[str, str]:
    """(subject, body) of the daily digest: open alerts, then the last 24 h of events."""
    from alerts.message import kind_name, local_time

    zh = config.alerts.language == "zh"
    lang = config.alerts.language
    open_alerts = [a for a in db.open_alerts() if a.state == "firing"]
    events = [e for e in db.events(since_ms=now_ms - 86_400_000) if e.event != "ack"]
    day = local_time(now_ms, config)[:10]
    subject = (
        f"[光伏告警日报] {day}: {len(open_alerts)} 条未恢复"
        if zh
        else f"[PV alerts digest] {day}: {len(open_alerts)} open"
    )
    lines = [("未恢复的告警:" if zh else "Open alerts:")]
    for a in open_alerts:
        ack = ("已确认" if zh else "acked") if a.acked_ms else ("未确认" if zh else "not acked")
        lines.append(
            f"  #{a.id} {kind_name(a.kind, lang)} {a.station or a.village or a.subject}"
            f" {'自' if zh else 'since'} {local_time(a.since_ms, config)} ({ack})"
        )
    if not open_alerts:
        lines.append("  无" if zh else "  none")
    lines.append("过去 24 小时:" if zh else "Last 24 hours:")
    for e in events:
        lines.append(f"  {local_time(e.ts_ms, config)} {e.payload.get('title', e.event)}")
    if not events:
        lines.append("  无" if zh else "  none")
    return subject, "\n".join(lines)
