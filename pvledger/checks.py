"""Protocol checks run by `pvledger check` after the config has loaded.

The config loader validates shapes and references; what only a protocol knows (its
register maps, its line settings, its addressing) is checked by the protocol's own
function, registered here as "module:function" (like collector/service.py COMPONENTS),
so a new protocol adds its check with one line. (The simulator's profiles are checked
by `pvledger simulate` itself: a gateway's check never loads the simulator.) Each
function takes the loaded Config and returns a list of core.problems.Problem (empty
when all is well); none may touch the network.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from core.config import Config
from core.problems import Problem, raise_if

#: protocol -> "module:function" returning the config's problems for that protocol
PROTOCOL_CHECKS: dict[str, str] = {
    "modbus": "collector.modbus.checks:modbus_problems",
}


def _resolve(spec: str) -> Callable[[Config], list[Problem]]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def protocol_problems(config: Config) -> list[Problem]:
    """Every registered protocol's problems with this config, in registry order."""
    out: list[Problem] = []
    for spec in PROTOCOL_CHECKS.values():
        out.extend(_resolve(spec)(config))
    return out


def check_protocols(config: Config) -> None:
    """Raise BadInput (exit 2) listing every protocol problem of the config."""
    raise_if(protocol_problems(config), str(config.path))
