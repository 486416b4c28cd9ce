"""Load and validate config.yaml: every problem in one run, nothing repaired.

``load_config(path)`` returns a frozen Config or raises BadInput listing each
problem with its key path (and file:line), what is wrong and how to fix it.
No network I/O happens here.

One job per module: yamlsrc (YAML with lines, bounded), model and devices/ (the
section shapes; one module per protocol, registered in devices.DEVICE_MODELS),
collect (gathering problems), load (the sections), references (ids across
sections), record (the Config and its indexes).
"""

from __future__ import annotations

from core.config.load import TOP_KEYS, load_config
from core.config.record import Config, default_config_path

__all__ = ["TOP_KEYS", "Config", "default_config_path", "load_config"]
