"""What one run of the command line has done so far: who reads standard input, which outputs are complete.

Kept apart from :mod:`reoffend.io` (which imports polars) so that the command line can reset it at the start of
every run, `reoffend --version` included, without loading polars (issue 30: start-up under 0.15 s).
"""

from __future__ import annotations

import os

from .errors import UsageError

# Standard input can be read once per run: the first reader claims it (a table, a list, a config).
_stdin_claimed_by: list[str] = []


def claim_stdin(what: str) -> None:
    """Record that ``what`` reads standard input; a second reader is a usage error (exit 2) naming both."""
    if _stdin_claimed_by and _stdin_claimed_by[0] != what:
        raise UsageError(
            f"standard input ('-') can be read only once: it is already the {_stdin_claimed_by[0]}, "
            f"so the {what} cannot be '-' too"
        )
    _stdin_claimed_by[:] = [what]


def release_stdin() -> None:
    """Forget the claim (at the start of each run of the command line, and in tests)."""
    _stdin_claimed_by.clear()


_written: list[str] = []  # the outputs this run has completed, in order (for the message of a signal)


def record_written(path: str | os.PathLike) -> None:
    """Note that the output ``path`` is complete (renamed into place, or written through)."""
    _written.append(str(path))


def outputs_written() -> list[str]:
    """The outputs this run has completed so far (:func:`record_written`)."""
    return list(_written)


def forget_written() -> None:
    """Start a run with no output written (at the start of each run of the command line, and in tests)."""
    _written.clear()
