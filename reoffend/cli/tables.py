"""Tables at the command line: ``--columns`` for every tabular output, and the terminal tables of
:mod:`reoffend.report.terminal` drawn on standard output (:func:`render_table`, :func:`pipe_console`).
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import OutputClosed, UsageError
from ..lazy_import import lazy_module
from ..report import terminal

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console
else:
    pl = lazy_module("polars")


def select_columns(rows: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``rows`` with only ``columns``, in the order given; an unknown name is a usage error naming the nearest."""
    if not columns:
        return rows
    check_names(columns, rows.columns, "--columns")
    return rows.select(columns)


def check_names(names: Sequence[str], known: Sequence[str], option: str, after: str = "") -> None:
    """A usage error for the ``names`` not among ``known``, each with its nearest known names, then the list
    (``--columns``, ``sql --by``); ``after`` is added to the message (what to do instead)."""
    unknown = [name for name in names if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hints.append(f"{name!r}" + (f" (did you mean {' or '.join(near)}?)" if near else ""))
        raise UsageError(f"{option}: no column {', '.join(hints)}; the columns are: {', '.join(known)}{after}")


# ------------------------------------------------------------------------------------- on standard output
def pipe_console() -> Console:
    """A rich console for standard output that lets a closed pipe (``| head``) reach :func:`reoffend.cli.main`.

    rich's own handling exits with status 1, which here means "not significant"; main() exits 141, as a
    program killed by SIGPIPE does.
    """
    return _pipe_console_class()()


@functools.cache
def _pipe_console_class() -> type[Console]:
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe, even at exit
            raise OutputClosed("standard output was closed")

    return PipeConsole


def render_table(
    rows: pl.DataFrame,
    *,
    title: str = "",
    formats: Mapping[str, Callable] | None = None,
    caption: str | None = None,
    console: Console | None = None,
    numeric: Sequence[bool] = (),
) -> None:
    """:func:`reoffend.report.terminal.render_table` on ``console``, by default standard output
    (:func:`pipe_console`)."""
    terminal.render_table(
        rows, title=title, formats=formats, caption=caption, console=console or pipe_console(), numeric=numeric
    )
