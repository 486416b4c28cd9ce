"""Helpers shared by subcommands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config


def config_from(args: argparse.Namespace) -> Config:
    """Load the config named by -c (or the default); raises BadInput on problems."""
    from core.config import load_config

    return load_config(args.config)
