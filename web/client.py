"""The client's address as recorded in the audit trail and used by login throttling."""

from __future__ import annotations

from django.http import HttpRequest


def address(request: HttpRequest | None) -> str:
    """REMOTE_ADDR (waitress sets it from the TLS proxy's X-Forwarded-For when trusted)."""
    if request is None:
        return "local"
    return request.META.get("REMOTE_ADDR") or "unknown"
