"""The command line as the caller of a run (reoffend.runs): progress on the status line, warnings on standard
error as they are found, ``--errors`` emptied once the inputs are valid, ``--columns`` checked first."""

from __future__ import annotations

from dataclasses import replace

from ..errors import PROBLEM_SCHEMA, DataError
from ..io import is_direct
from ..runs.common import Caller, command_line_flag
from .console import Stages
from .inputs import write_errors_file
from .output import Output


def command_caller(out: Output, errors_file: str | None = None, progress: Stages | None = None) -> Caller:
    """The :class:`Caller` of a command: ``out`` says warnings and checks ``--columns``; ``progress`` shows the
    stages; a regular ``--errors`` file is written with no problem rows once the inputs are valid (docs/data.md),
    so that a file left by an earlier failed run is never read as this run's."""

    def loaded() -> None:
        if errors_file and not is_direct(errors_file):
            import polars as pl

            write_errors_file(DataError(pl.DataFrame(schema=PROBLEM_SCHEMA)), errors_file)

    caller = Caller(warn=out.warn, loaded=loaded, expect_columns=out.expect_columns, flag=command_line_flag)
    return caller if progress is None else replace(caller, stage=progress.stage)
