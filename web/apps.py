"""The Django app of pvledger's web application."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    """Models, templates, static files and locale of pvledger serve; wires audit signals."""

    name = "web"
    label = "web"
    verbose_name = "pvledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the login/logout signals to the audit trail."""
        from web import signals

        signals.connect()
