"""The header's navigation: each area's module may declare ``nav = NavItem(...)``.

web/urls.py collects them from the areas it lists; the context processor shows a user
only the items whose action the role allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from web import policy


@dataclass(frozen=True)
class NavItem:
    """A link in the header: label (lazy-translated), url name, action needed, order."""

    label: Any
    url_name: str
    action: str | None = None
    order: int = 50


ITEMS: list[NavItem] = []

ROLE_LABELS = {
    "admin": _("admin"),
    "finance": _("finance"),
    "om": _("O&M"),
    "village": _("village"),
    "auditor": _("auditor"),
}


def register(item: NavItem) -> None:
    """Add an area's link (web/urls.py does this for every area with ``nav``)."""
    ITEMS.append(item)
    ITEMS.sort(key=lambda i: (i.order, i.url_name))


def context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the nav links this user may follow, the current one marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    role = {"user_role_label": ROLE_LABELS.get(user.role, user.role)}
    if user.must_change_password:
        return {"nav_items": [], **role}
    links = []
    for item in ITEMS:
        if item.action is None or policy.can(user, item.action):
            url = reverse(item.url_name)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            links.append({"label": item.label, "url": url, "current": current})
    return {"nav_items": links, **role}
