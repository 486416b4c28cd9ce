"""The collector's MQTT + forwarder components as a separate process, for fault tests.

    python -m tests.forward.collector_proc CONFIG [BACKOFF_MAX_S]

Runs until SIGTERM (graceful) or SIGKILL (the crash under test).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from collector.forward.forwarder import Forwarder
from collector.forward.forwarder import component as forwarder_component
from collector.mqtt.ingest import component as mqtt_component
from collector.service import Service
from collector.sinks import open_sink
from core.config import load_config


def main(argv: list[str]) -> int:
    """Start the service with the two components and run until signalled."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = load_config(argv[0])
    comps = [c for c in (mqtt_component(config), forwarder_component(config)) if c is not None]
    for c in comps:
        if isinstance(c, Forwarder) and len(argv) > 1:
            c.backoff_max_s = float(argv[1])
    sink = open_sink(config)
    try:
        asyncio.run(Service(config, sink, comps).run())  # type: ignore[arg-type]
    finally:
        sink.close()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
