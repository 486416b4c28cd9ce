"""The Config the running web application serves (set once by web.setup.configure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config

_config: list[Config] = []


def set_config(config: Config) -> None:
    """Remember the loaded config (once per process)."""
    _config[:] = [config]


def config() -> Config:
    """The config pvledger serve was started with."""
    if not _config:
        raise RuntimeError("web.setup.configure(config) was not called")
    return _config[0]
