"""File paths written in the config: relative ones stay inside the config's folder.

A relative path is read against the folder of config.yaml and must stay in it
(``households: ../../../../../etc/passwd`` is refused); an absolute path is the
operator's explicit choice and is taken as written. The check is on the words
of the path (``..`` segments), not on symlinks: a link placed in the config
folder was placed there by whoever owns that folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.config.yamlsrc import KeyPath


class PathOutside(ValueError):
    """A relative config path that leads out of the config's folder."""


def confine(base: Path, value: str) -> Path:
    """value made absolute against base; PathOutside if a relative value leaves base."""
    if "\0" in value:
        raise PathOutside(f"path {_shown(value)} contains a NUL character")
    p = Path(value)
    if p.is_absolute():
        return p
    root = Path(os.path.abspath(base))  # abspath: normalised, symlinks left alone
    joined = Path(os.path.normpath(root / p))
    if not joined.is_relative_to(root):
        raise PathOutside(f"relative path {_shown(value)} leads outside the config's folder {base}")
    return joined


def fix_for(key: str, base: Path) -> str:
    """What to write instead of an escaping path."""
    return f"write {key} as a path inside {base} (e.g. data/...) or as an absolute path"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 120 else f"{value[:120]}...")


#: (section, key) of every path a config section holds, and (list, key) inside lists
SECTION_PATHS: tuple[tuple[str, str], ...] = (
    ("storage", "path"),
    ("storage", "outbox_path"),
    ("alerts", "db_path"),
    ("web", "db_path"),
)


def path_values(
    storage: Any,
    mqtt: Any,
    alerts: Any,
    stations: list[tuple[int, Any]],
    web: Any = None,
) -> Iterator[tuple[KeyPath, str]]:
    """(key path, value) of every file path in the validated sections."""
    sections = {"storage": storage, "alerts": alerts, "web": web}
    for section, key in SECTION_PATHS:
        obj = sections[section]
        value = getattr(obj, key, None) if obj is not None else None
        if isinstance(value, str):
            yield (section, key), value
    tls = getattr(mqtt, "tls", None)
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(tls, key, None)
        if isinstance(value, str):
            yield ("mqtt", "tls", key), value
    for i, n in enumerate(getattr(alerts, "notify", None) or ()):
        value = getattr(n, "ca_file", None)
        if isinstance(value, str):
            yield ("alerts", "notify", i, "ca_file"), value
    for i, s in stations:
        for j, d in enumerate(s.devices):
            for key in d.path_keys:  # each protocol names its own (a serial port, ...)
                value = getattr(d, key, None)
                if isinstance(value, str):
                    yield ("stations", i, "devices", j, key), value
