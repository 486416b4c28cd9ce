"""A small simulated fleet on free ports: three villages (two neighbours in one town)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config, load_config
from tests.servers import free_port

#: config.yaml template (str.format with the ports)
CONFIG = (Path(__file__).parent / "small_fleet.yaml.tmpl").read_text()


def write_config(folder: Path, mqtt_port: int | None = None) -> tuple[Path, dict[str, int]]:
    """config.yaml for the small fleet in folder; returns its path and the ports used."""
    ports = {"p1": free_port(), "p2": free_port(), "mqtt_port": mqtt_port or free_port()}
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(**ports))
    return path, ports


@pytest.fixture
def small_config(tmp_path: Path) -> Config:
    """The small fleet's validated config (ports free, nothing running)."""
    path, _ = write_config(tmp_path)
    return load_config(path)
