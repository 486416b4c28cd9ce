"""Users (with role and villages) and the append-only audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from web.roles import ROLES


class User(AbstractUser):
    """A member of staff: one role; a village user also names the villages it may see."""

    role = models.CharField(_("role"), max_length=16, choices=[(r, r) for r in ROLES])
    #: village ids (config villages[].id); only the village role uses them
    villages = models.JSONField(_("villages"), default=list, blank=True)
    #: set for a new user and after a reset: the next login goes to the password page
    must_change_password = models.BooleanField(_("must change password"), default=True)


class AuditEntry(models.Model):
    """One entry of the hash-chained audit trail (web/audit.py appends, never updates)."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    recorded_at = models.CharField(max_length=32)  # UTC, ISO 8601 with microseconds and Z
    action = models.CharField(max_length=64)
    username = models.CharField(max_length=150)
    #: canonical JSON of {"address": ..., "details": {...}}; covered by hash
    content = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_trail"
        ordering = ("seq",)
