"""Choose where the collector's readings go, from config.storage.

sqlite: straight into the embedded store (one transaction per batch).
influxdb / victoriametrics: into the on-disk outbox first; the forwarder
component drains it to the database (store-and-forward, nothing lost).
"""

from __future__ import annotations

from core.config import Config
from core.store import SqliteStore
from core.store.base import Store


def open_sink(config: Config) -> Store:
    """The durable sink readings are written to by the collector's components."""
    st = config.storage
    if st.backend == "sqlite":
        return SqliteStore(config.resolve(st.path), timezone=config.site.timezone)
    # imported here: only remote backends need the outbox
    from collector.forward.outbox import Outbox

    return Outbox.for_config(config)
