"""Start Django in this process from a Config, and bring the database up to date."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config

_lock = threading.Lock()


def configure(config: Config, *, migrate: bool = True) -> None:
    """Configure and set up Django for config (once per process); apply migrations."""
    import django
    from django.conf import settings

    from web import runtime
    from web import settings as web_settings

    with _lock:
        if not settings.configured:
            runtime.set_config(config)
            web_settings.db_path(config).parent.mkdir(parents=True, exist_ok=True)
            settings.configure(**web_settings.build(config))
            django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
