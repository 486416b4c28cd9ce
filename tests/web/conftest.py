"""Fixtures of the web tests: a real `pvledger serve` (tests/web/server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.server import WebServer, start_server


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[WebServer]:
    """`pvledger serve` on a free port over a copy of the shipped config, with USERS."""
    with start_server(tmp_path) as server:
        yield server
