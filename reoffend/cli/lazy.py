"""A click group that imports a subcommand's module only when that subcommand runs.

Importing every command (statsmodels, scipy, matplotlib) took about 1.7 s before any work, paid by every
``reoffend measure`` in a pipeline or cron job; ``measure`` itself needs only polars, click and rich.
The pattern is click's own "lazily loading subcommands" recipe. Each command gets the shared ``--help``
epilog (its examples and the exit statuses, :mod:`reoffend.cli.helptext`) as it is loaded.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

import click
from click.core import ParameterSource

from ..errors import UsageError
from . import helptext, run_log

# options whose empty value is a documented choice: --by "" (one overall row), --site "" (every release),
# --exact "" (no exact matching)
EMPTY_ALLOWED = frozenset({"by", "site", "exact"})


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
            if not isinstance(command, click.Group):
                _refusing_empty_values(command)
                run_log.attach_options(command)  # --log and --acknowledge on every command
            return helptext.attach(command, " ".join([*_path(ctx), cmd_name]))
        return super().get_command(ctx, cmd_name)


def _path(ctx: click.Context) -> list[str]:
    """The names of the groups under the root down to ``ctx`` (``["compare"]``)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return names[::-1]


def _refusing_empty_values(command: click.Command) -> None:
    """Make ``command`` refuse an option given an empty value (``--exclude-offences ""``, ``-o ""``) before any
    work: a usage error (2), where the empty value read as "not given" and the run went on without it (BREACH
    counted, ``./bulletin`` written). Options in :data:`EMPTY_ALLOWED` keep their documented empty meaning."""
    callback = command.callback
    if callback is None or getattr(callback, "refuses_empty_values", False):
        return

    @functools.wraps(callback)
    def checked(*args, **kwargs):
        refuse_empty_values(click.get_current_context())
        return callback(*args, **kwargs)

    checked.refuses_empty_values = True  # type: ignore[attr-defined]
    command.callback = checked


def refuse_empty_values(ctx: click.Context) -> None:
    """A usage error naming the first option given an empty value on the command line or in the config."""
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None or param.name in EMPTY_ALLOWED:
            continue
        if ctx.get_parameter_source(param.name) not in (ParameterSource.COMMANDLINE, ParameterSource.DEFAULT_MAP):
            continue
        value = ctx.params.get(param.name)
        values = value if isinstance(value, tuple | list) else (value,)
        empty = next((v for v in values if isinstance(v, str) and not v.strip()), None)
        if empty is not None:
            flags = "/".join(param.opts)
            raise UsageError(f"{flags} {empty!r}: an empty value; give a value, or leave {param.opts[-1]} out")
