"""Time-series store boundary and backends; ``open_store(config)`` picks one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.store.base import DayBounds, Store, StoreError
from core.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from core.config import Config

__all__ = ["DayBounds", "SqliteStore", "Store", "StoreError", "open_store"]


def open_store(config: Config, *, readonly: bool = False) -> Store:
    """The store named by config.storage (the embedded SQLite file by default)."""
    st = config.storage
    if st.backend == "sqlite":
        return SqliteStore(
            config.resolve(st.path), timezone=config.site.timezone, readonly=readonly
        )
    from core.store.influx import InfluxStore, token_from_env  # remote backends only

    return InfluxStore(
        st.url or "",
        flavour="influxdb2" if st.backend == "influxdb" else "victoriametrics",
        org=st.org,
        bucket=st.bucket,
        token=token_from_env(st.token_env),
        timezone=config.site.timezone,
        batch_size=st.batch_size,
        read_url=st.reads_url,
        read_token=token_from_env(st.reads_token_env),
    )
