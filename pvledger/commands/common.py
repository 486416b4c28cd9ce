"""Helpers shared by subcommands."""

from __future__ import annotations

import argparse

from core.config import Config, load_config


def config_from(args: argparse.Namespace) -> Config:
    """Load the config named by -c (or the default); raises BadInput on problems."""
    return load_config(args.config)
