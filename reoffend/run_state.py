"""What one run of the command line has done so far: who reads standard input, which outputs are complete.

Kept apart from :mod:`reoffend.io` (which imports polars) so that the command line can reset it at the start of
every run, `reoffend --version` included, without loading polars (issue 30: start-up under 0.15 s).
"""

from __future__ import annotations

import os
import threading

from .errors import UsageError

# Standard input can be read once per run: the first reader claims it (a table, a list, a config). The claim is
# each thread's own: a run of the command line is one thread, and a call of the Python API (reoffend.api), which
# starts unclaimed, claims for its own thread, never for another thread's call running at the same time.
_claims = threading.local()


def _claimed_by() -> list[str]:
    """What reads standard input in this thread's run (empty: nothing yet)."""
    if not hasattr(_claims, "by"):
        _claims.by = []
    claimed: list[str] = _claims.by
    return claimed


def claim_stdin(what: str) -> None:
    """Record that ``what`` reads standard input; a second reader is a usage error (exit 2) naming both."""
    claimed = _claimed_by()
    if claimed and claimed[0] != what:
        raise UsageError(
            f"standard input ('-') can be read only once: it is already the {claimed[0]}, "
            f"so the {what} cannot be '-' too"
        )
    claimed[:] = [what]


def release_stdin() -> None:
    """Forget this thread's claim (at the start of each run of the command line and each call of the Python
    API, and in tests)."""
    _claimed_by().clear()


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
