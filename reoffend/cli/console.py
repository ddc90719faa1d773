"""Standard error: the console of messages and warnings, progress on a terminal (:class:`Stages`), the program's
prefix on every line, and the warnings several commands give (docs/cli.md, "Messages and warnings")."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import printable
from ..report.format import counted
from ..run_warnings import RunWarning
from . import run_log

if TYPE_CHECKING:  # rich is imported where something is printed: a run that only writes files starts without it
    from rich.console import Console

    from .output import Output


def stderr_console() -> Console:
    """The console for messages and warnings on standard error: wrapped to a terminal's width, but one line per
    message when standard error is a file or a pipe (a cron log), so that ``grep warning`` finds it whole."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


def progress_console(quiet: bool) -> Console | None:
    """The console that shows progress (:class:`Stages`), or None when nobody is watching: ``-q``, or standard
    error is not a terminal (then rich is not even imported)."""
    if quiet or not _stderr_may_be_terminal():
        return None
    console = stderr_console()
    return console if console.is_terminal else None


def warn_partial_periods(out: Output, metadata: Mapping[str, Any]) -> None:
    """A warning naming each cohort the data covers only in part (metadata ``partial_periods``)."""
    for warning in partial_period_warnings(metadata):
        out.warn(warning)


def partial_period_warnings(metadata: Mapping[str, Any]) -> list[RunWarning]:
    """The ``partial-period`` warnings of a run's metadata: one per cohort the data covers only in part."""
    return [
        RunWarning(
            "partial-period",
            f"cohort {entry['cohort']} is a partial period: the data covers only {entry['first_release_month']} "
            f"to {entry['last_release_month']} of it, so it is not comparable with a full one",
            subjects=[str(entry["cohort"])],
        )
        for entry in metadata.get("partial_periods", ())
    ]


def incomplete_excluded(excluded: int) -> RunWarning:
    """The warning of ``--incomplete exclude`` that dropped ``excluded`` releases."""
    return RunWarning(
        "incomplete-excluded",
        f"{counted(excluded, 'release')} with incomplete follow-up excluded (--incomplete exclude)",
        counts={"releases": excluded},
    )


def prefixed(text: str) -> str:
    """Every line of ``text`` with the program's prefix (``reoffend: ``): no line on standard error without it."""
    return "\n".join(run_log.PREFIX + line for line in text.split("\n"))


def _stderr_may_be_terminal() -> bool:
    """False when rich's console would not find standard error a terminal (``Console.is_terminal``: not a tty,
    and neither TTY_COMPATIBLE=1 nor FORCE_COLOR in the environment), decided without importing rich: a run
    whose output goes to files and pipes then never loads it (about 0.02 s of every start)."""
    if os.environ.get("TTY_COMPATIBLE") == "1" or "FORCE_COLOR" in os.environ:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no standard error, or a closed one
        return False


class Stages:
    """What a long run is doing, on a terminal: a spinner, the stage and the time elapsed (rich's Progress,
    transient: the line goes when the work ends). Without a console (not a terminal, ``-q``) it shows nothing and
    costs nothing. A context manager; ``stage(text)`` names the next stage."""

    def __init__(self, console: Console | None, text: str) -> None:
        self._console = console
        self._text = text
        self._progress: Any = None
        self._task: Any = None

    @classmethod
    def on(cls, console: Console | None, text: str) -> Stages:
        return cls(console, text)

    def __enter__(self) -> Stages:
        if self._console is not None:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(printable(self._text), total=None)
        return self

    def stage(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=printable(text))

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
