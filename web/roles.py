"""The roles a user can have, as data (web/policy.py says what each may do)."""

from __future__ import annotations

ROLES: tuple[str, ...] = ("admin", "finance", "om", "village", "auditor")
