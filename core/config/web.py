"""The `web:` section: where `pvledger serve` keeps users, sessions and its audit trail."""

from __future__ import annotations

from pydantic import Field

from core.config.types import EnvName, Section


class Web(Section):
    """Settings of the web application (web/settings.py builds Django's from these)."""

    #: users, sessions and the audit trail (embedded SQLite), beside the other data
    db_path: str = "data/web.db"
    #: the session signing key from this variable; without it one is generated once and
    #: kept (mode 0600) beside db_path as <db_path>.secret
    secret_key_env: EnvName | None = None
    #: a session ends after this many hours, and when the browser closes [h]
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    #: behind the TLS proxy (deploy/nginx): Secure cookies, X-Forwarded-Proto/-For trusted
    behind_tls: bool = False
    #: failed logins (per user name and address) before the login is locked
    lockout_failures: int = Field(default=5, ge=1, le=100)
    #: how long a locked login stays locked [min]
    lockout_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    #: Host header values accepted; "*" takes any (set the server's name in production)
    allowed_hosts: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
