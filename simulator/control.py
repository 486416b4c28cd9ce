"""A client for the simulator's fault control interface (docs/simulator.md)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def control(port: int, method: str, path: str, body: dict | None = None) -> Any:
    """Call http://127.0.0.1:port/path (GET /clock, POST /faults, DELETE /faults/<id>, ...);
    returns the decoded JSON answer, or None for an empty one."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        text = r.read()
    return json.loads(text) if text else None
