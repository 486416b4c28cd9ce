"""A small HTTP client for the web tests: cookies, CSRF token, no automatic redirects."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message

CSRF_COOKIE = "pvledger_csrf"
SESSION_COOKIE = "pvledger_session"


@dataclass
class Response:
    """What the server answered: status, headers, body text, redirect target."""

    status: int
    headers: Message
    body: str
    url: str

    @property
    def location(self) -> str:
        """The Location header ("" without one)."""
        return self.headers.get("Location", "")

    def set_cookies(self) -> list[str]:
        """Every Set-Cookie header."""
        return self.headers.get_all("Set-Cookie") or []


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Client:
    """One browser-like session against base (http://127.0.0.1:PORT)."""

    base: str
    headers: dict[str, str] = field(default_factory=dict)
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def cookie(self, name: str) -> str | None:
        """A cookie's value, None when unset."""
        return next((c.value for c in self.jar if c.name == name), None)

    def request(
        self, method: str, path: str, data: dict[str, str | list[str]] | None = None
    ) -> Response:
        """Send one request; 3xx and 4xx/5xx are returned, not raised."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, body, method=method, headers=self.headers)
        try:
            with self._opener.open(req, timeout=60) as r:
                return Response(r.status, r.headers, r.read().decode(), r.url)
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, e.headers, e.read().decode(errors="replace"), e.url)

    def get(self, path: str) -> Response:
        """GET path."""
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str | list[str]], *, csrf: bool = True) -> Response:
        """POST a form; with csrf, the token from the cookie (fetched by a GET if missing)."""
        if csrf:
            if self.cookie(CSRF_COOKIE) is None:
                self.get("/login/")
            data = {"csrfmiddlewaretoken": self.cookie(CSRF_COOKIE) or "", **data}
        return self.request("POST", path, data)

    def follow(self, r: Response, limit: int = 5) -> Response:
        """Follow redirects from r with GETs."""
        while r.status in (301, 302, 303) and limit:
            r, limit = (
                self.get(urllib.parse.urljoin(r.url, r.location).removeprefix(self.base)),
                limit - 1,
            )
        return r


def text_of(html: str) -> str:
    """The page's visible text, tags dropped (for 'no data in the body' checks)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
