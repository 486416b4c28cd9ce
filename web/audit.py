"""The audit trail: append an entry for every action that changes anything.

Pages call ``audit.record(request, "run.finalize", {"run": 7})``. Entries are chained
like the payout ledger (revenue/chain.py): each hash covers the action, user, time,
address, details and the previous hash; triggers refuse UPDATE and DELETE; the head
(length, last hash) is also kept in <db_path>.head, so a removed last entry is seen
(web/audit_check.py verifies).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from revenue.chain import GENESIS, Head, canonical, entry_hash, render_head, write_atomic
from web.client import address as client_address
from web.models import AuditEntry

#: how the audit page names an action; a page with its own actions adds them with
#: audit.label("run.finalize", _("finalize a run")); an unlisted one shows its code
ACTION_LABELS: dict[str, Any] = {
    "login": _("login"),
    "logout": _("logout"),
    "login.failed": _("failed login"),
    "login.locked": _("login locked"),
    "password.change": _("password change"),
    "user.add": _("user added"),
    "user.change": _("user changed"),
    "user.password_reset": _("password reset"),
}


#: how the audit page names a details key; pages add theirs with audit.label_detail
DETAIL_LABELS: dict[str, Any] = {
    "user": _("user"),
    "role": _("role"),
    "villages": _("villages"),
    "active": _("enabled"),
    "changed": _("changed"),
    "forced": _("first login"),
}


def label_detail(key: str, text: Any) -> None:
    """Name a details key on the audit page."""
    DETAIL_LABELS[key] = text


def label(action: str, text: Any) -> None:
    """Name an action on the audit page (call at import time of the page module)."""
    ACTION_LABELS[action] = text


def head_path() -> Path:
    """The head file beside the web database."""
    db = Path(connection.settings_dict["NAME"])
    return db.with_name(db.name + ".head")


def utc_now() -> str:
    """Now in UTC, ISO 8601 with microseconds (entries sort and compare as text)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def who(request: HttpRequest | None) -> str:
    """The logged-in user's name, or "" for an anonymous request or the command line."""
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else ""


def record(
    request: HttpRequest | None,
    action: str,
    details: dict[str, Any] | None = None,
    *,
    username: str | None = None,
) -> AuditEntry:
    """Append one entry: action (e.g. "run.finalize"), who, from where, what changed."""
    name = who(request) if username is None else username
    return append(action, name, client_address(request), details or {})


def append(action: str, username: str, address: str, details: dict[str, Any]) -> AuditEntry:
    """Append an entry to the chain; the head file follows when the transaction commits.

    Called inside the caller's transaction.atomic(), the entry commits (or rolls back)
    with the change it records. No lock of ours: every transaction here is IMMEDIATE
    (web/settings.py), so SQLite's write lock orders appenders of every thread and
    process, and each reads the last entry under it.
    """
    content = canonical({"address": address, "details": details}).decode()
    with transaction.atomic():
        last = AuditEntry.objects.order_by("-seq").first()
        seq = last.seq + 1 if last else 1
        prev = last.hash if last else GENESIS
        at = utc_now()
        h = entry_hash(seq, action, username, content.encode(), at, prev)
        entry = AuditEntry.objects.create(
            seq=seq,
            recorded_at=at,
            action=action,
            username=username,
            content=content,
            prev_hash=prev,
            hash=h,
        )
        transaction.on_commit(_write_head)
    return entry


def _write_head() -> None:
    """Write the chain's current tip to the head file, under a lock on that file.

    Read under the lock, the tip only moves forward: a process that committed earlier
    but writes later still writes the newest tip, never an older one.
    """
    path = head_path()
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        last = AuditEntry.objects.order_by("-seq").first()
        head = Head(last.seq, last.hash) if last else Head(0, GENESIS)
        write_atomic(path, render_head(head, table="audit_trail"))


def details_of(entry: AuditEntry) -> dict[str, Any]:
    """The details recorded with an entry."""
    return json.loads(entry.content).get("details", {})


def address_of(entry: AuditEntry) -> str:
    """The client address recorded with an entry."""
    return json.loads(entry.content).get("address", "")


def details_text(details: dict[str, Any]) -> str:
    """Details as one line of "key: value" (keys named by DETAIL_LABELS); a changes
    mapping {key: [before, after]} as "key: before → after"; lists joined."""

    def shown(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return ", ".join(v) or "—"
        if isinstance(v, dict) and all(isinstance(x, list) and len(x) == 2 for x in v.values()):
            return ", ".join(
                f"{DETAIL_LABELS.get(k, k)} {shown(a)} → {shown(b)}"
                for k, (a, b) in sorted(v.items())
            )
        return json.dumps(v, ensure_ascii=False)

    return "; ".join(f"{DETAIL_LABELS.get(k, k)}: {shown(v)}" for k, v in sorted(details.items()))
