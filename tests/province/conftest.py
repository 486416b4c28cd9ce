"""The province fixture: two nodes, vmagent and vmauth from the shipped files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.province.topology import Province, province


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Province]:
    """A running province on free ports (stopped after the test)."""
    with province(tmp_path / "province") as p:
        yield p
