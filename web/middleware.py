"""Small middlewares: the site's default language, and the forced password change."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

Handler = Callable[[HttpRequest], HttpResponse]

#: paths a user who must change the password may still reach
_OPEN_PREFIXES = ("/static/", "/i18n/")


def site_language(get_response: Handler) -> Handler:
    """Without a language cookie, pages use site.language, not the browser's wish.

    A county office PC's browser often says English; the staff read Chinese. The
    switch in the header sets the cookie, which LocaleMiddleware then honours.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return get_response(request)

    return middleware


def force_password_change(get_response: Handler) -> Handler:
    """A user flagged must_change_password reaches only the password page and logout."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            allowed = (reverse("password_change"), reverse("logout"))
            if request.path not in allowed and not request.path.startswith(_OPEN_PREFIXES):
                return redirect("password_change")
        return get_response(request)

    return middleware
