"""A click group that imports a subcommand's module only when that subcommand runs.

Importing every command (statsmodels, scipy, matplotlib) took about 1.7 s before any work, paid by every
``reoffend measure`` in a pipeline or cron job; ``measure`` itself needs only polars, click and rich.
The pattern is click's own "lazily loading subcommands" recipe.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click


class LazyGroup(click.Group):
    """``lazy_subcommands`` maps a command name to ``"module.path:attribute"``."""

    def __init__(self, *args, lazy_subcommands: Mapping[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_subcommands[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)
