"""The audit trail refuses UPDATE and DELETE (append only), like the payout ledger."""

from __future__ import annotations

from django.db import migrations

GUARDS = [
    f"CREATE TRIGGER IF NOT EXISTS audit_trail_no_{op} BEFORE {op.upper()} ON audit_trail "
    f"BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only: {op} refused'); END;"
    for op in ("update", "delete")
]


class Migration(migrations.Migration):
    dependencies = (("web", "0001_initial"),)

    operations = tuple(migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop) for sql in GUARDS)
