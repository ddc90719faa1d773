"""A click group that imports a subcommand's module only when that subcommand runs.

Importing every command (statsmodels, scipy, matplotlib) took about 1.7 s before any work, paid by every
``reoffend measure`` in a pipeline or cron job; ``measure`` itself needs only polars, click and rich.
The pattern is click's own "lazily loading subcommands" recipe. Each command gets the shared ``--help``
epilog (its examples and the exit statuses, :mod:`reoffend.cli.helptext`) as it is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import click

from . import helptext


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
            return helptext.attach(command, " ".join([*_path(ctx), cmd_name]))
        return super().get_command(ctx, cmd_name)


def _path(ctx: click.Context) -> list[str]:
    """The names of the groups under the root down to ``ctx`` (``["compare"]``)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return names[::-1]
