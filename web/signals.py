"""Logins, failed logins, lockouts and logouts go to the audit trail."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from web import audit


def _logged_in(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    audit.record(request, "login", {}, username=user.get_username())


def _logged_out(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    name = user.get_username() if user is not None else ""
    audit.record(request, "logout", {}, username=name)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # the password is never recorded: Django already masks it, we keep only the name
    audit.record(request, "login.failed", {}, username=str(credentials.get("username", ""))[:150])


def _locked_out(sender: Any, request: Any, username: str | None = None, **kw: Any) -> None:
    audit.record(request, "login.locked", {}, username=str(username or "")[:150])


def connect() -> None:
    """Connect the handlers (AppConfig.ready)."""
    user_logged_in.connect(_logged_in, dispatch_uid="pvledger-audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="pvledger-audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="pvledger-audit-login-failed")
    user_locked_out.connect(_locked_out, dispatch_uid="pvledger-audit-locked")
