"""A small thread-safe metrics registry rendered in Prometheus text format.

Components register counters and gauges with labels; the health endpoint
renders them. Kept dependency-free (a gateway has 512 MB).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def _key(labels: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((labels or {}).items()))


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters, gauges and callback gauges, each with a help text and labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._meta: dict[str, tuple[str, str]] = {}
        self._callbacks: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}

    def describe(self, name: str, kind: str, help_text: str) -> None:
        """Declare a metric (kind: counter or gauge)."""
        with self._lock:
            self._meta[name] = (kind, help_text)
            self._values.setdefault(name, {})

    def inc(self, name: str, amount: float = 1, labels: dict[str, str] | None = None) -> None:
        """Add to a counter."""
        k = _key(labels)
        with self._lock:
            series = self._values.setdefault(name, {})
            series[k] = series.get(k, 0) + amount

    def set(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        """Set a gauge."""
        with self._lock:
            self._values.setdefault(name, {})[_key(labels)] = value

    def get(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """Current value of one series (None if never set)."""
        with self._lock:
            return self._values.get(name, {}).get(_key(labels))

    def gauge_callback(
        self, name: str, help_text: str, fn: Callable[[], dict[tuple[tuple[str, str], ...], float]]
    ) -> None:
        """A gauge computed at scrape time (e.g. outbox depth)."""
        with self._lock:
            self._meta[name] = ("gauge", help_text)
            self._callbacks[name] = fn

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        with self._lock:
            names = sorted(set(self._values) | set(self._callbacks))
            snapshot = {n: dict(self._values.get(n, {})) for n in names}
            callbacks = dict(self._callbacks)
            meta = dict(self._meta)
        out: list[str] = []
        for name in names:
            series = snapshot[name]
            if name in callbacks:
                try:
                    series = callbacks[name]()
                except Exception:  # a broken callback must not break the scrape
                    series = {}
            kind, help_text = meta.get(name, ("untyped", ""))
            if help_text:
                out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(series.items()):
                lab = ",".join(f'{k}="{_esc(v)}"' for k, v in labels)
                out.append(f"{name}{{{lab}}} {value:g}" if lab else f"{name} {value:g}")
        return "\n".join(out) + "\n"
