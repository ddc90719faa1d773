"""Exceptions of the core, each with the exit status the CLI gives it (docs/cli.md, "Exit status")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported where a problem frame is made: `reoffend --version` never loads it
    import polars as pl

EXIT_OK = 0
EXIT_NOT_SIGNIFICANT = 1
EXIT_USAGE = 2
EXIT_DATA = 65
EXIT_NO_INPUT = 66
EXIT_INTERNAL = 70
EXIT_CANT_CREATE = 73  # sysexits EX_CANTCREAT: an output cannot be created (missing or read-only folder)
EXIT_IO = 74  # sysexits EX_IOERR: writing an output failed (disk full, I/O error)
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: another run holds the output (a bulletin folder); try later
EXIT_BROKEN_PIPE = 141  # standard output closed early (`| head`), as if killed by SIGPIPE

# What each status means, in the words of every command's --help (docs/cli.md, "Exit status", says the same)
EXIT_STATUSES = {
    EXIT_OK: "success",
    EXIT_NOT_SIGNIFICANT: "a comparison asked to --fail-unless-significant was not significant",
    EXIT_USAGE: "usage error: a bad option, config key or combination of them",
    EXIT_DATA: "invalid data: the validation report names file, row and column",
    EXIT_NO_INPUT: "an input file is missing or unreadable",
    EXIT_INTERNAL: "internal error (a bug): run again with --debug for the traceback",
    EXIT_CANT_CREATE: "an output cannot be created (missing or read-only folder)",
    EXIT_IO: "writing an output failed (e.g. no space left on device)",
    EXIT_BUSY: "busy: another run is writing the same bulletin folder; try again later",
    EXIT_BROKEN_PIPE: "standard output was closed early (| head)",
}

# The columns of a problem frame. Python's types, which polars reads as String and Int64, so that this module (which
# every command imports first) does not load polars.
PROBLEM_SCHEMA: dict[str, type] = {
    "file": str,
    "row": int,
    "column": str,
    "rule": str,
    "value": str,
    "message": str,
}


class ReoffendError(Exception):
    """Base class: an error the user can act on. ``exit_status`` is the process exit status."""

    exit_status = EXIT_INTERNAL


class OutputClosed(ReoffendError):
    """Standard output was closed by its reader (``| head``). Not an OSError, so click does not turn it into
    exit 1 (which here means "not significant")."""

    exit_status = EXIT_BROKEN_PIPE


class OutputNotCreatable(ReoffendError):
    """An output cannot be created: its folder is missing or not writable (exit 73), found before any work."""

    exit_status = EXIT_CANT_CREATE


class OutputWriteError(ReoffendError):
    """Writing an output failed part-way (no space left, I/O error): exit 74; nothing is left half-written."""

    exit_status = EXIT_IO


class Busy(ReoffendError):
    """Another run is writing the same output (the bulletin folder's lock is held): exit 75, try later."""

    exit_status = EXIT_BUSY


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (a cron daemon or a closed terminal): unwinds like KeyboardInterrupt, so every
    ``finally`` removes its temporary files, then the process exits 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def os_reason(error: OSError) -> str:
    """``No space left on device`` -> ``no space left on device``: the plain reason of an OS error."""
    reason = error.strerror or str(error) or type(error).__name__
    # an OSError rebuilt from another's text (polars writing through a Python file) has no strerror, only
    # "[Errno 28] No space left on device" and perhaps "(os error 28)": the plain reason is what is left
    reason = re.sub(r"^\[Errno \d+\]\s*|\s*\(os error \d+\)", "", reason).strip() or type(error).__name__
    return reason[:1].lower() + reason[1:]


class UsageError(ReoffendError):
    """Options that do not fit together or do not fit the data (exit 2)."""

    exit_status = EXIT_USAGE


class DisclosureFailure(ReoffendError):
    """What would be published fails the disclosure audit and no further suppression can mend it (exit 65):
    nothing is written (docs/bulletin.md, "Disclosure control")."""

    exit_status = EXIT_DATA


class InputFileError(ReoffendError):
    """An input file is missing or unreadable (exit 66)."""

    exit_status = EXIT_NO_INPUT


@dataclass
class DataError(ReoffendError):
    """Invalid data: a frame of problems, one row each (file, row, column, rule, value, message).

    ``row`` is 1-based with the header excluded; null where a problem concerns a whole column or file.
    """

    problems: pl.DataFrame
    total_by_rule: dict[str, int] = field(default_factory=dict)
    exit_status = EXIT_DATA

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    @property
    def count(self) -> int:
        return sum(self.total_by_rule.values()) if self.total_by_rule else self.problems.height

    def summary(self, first: int = 20) -> str:
        """The report of data.md: the first ``first`` problems, then a count per rule."""
        lines = [f"invalid data: {self.count:,} {'problem' if self.count == 1 else 'problems'}"]
        shown = self.problems.head(first)
        for problem in shown.iter_rows(named=True):
            lines.append("  " + format_problem(problem))
        if self.count > shown.height:  # the lines shown and "... and N more" add up to the count
            lines.append(f"  ... and {self.count - shown.height} more (--errors FILE writes the full list)")
        counts = self.total_by_rule or dict(self.problems.group_by("rule").len().iter_rows())
        lines.append("problems per rule:")
        for rule, count in sorted(counts.items()):
            lines.append(f"  {rule}: {count}")
        return "\n".join(lines)


def format_problem(problem: dict) -> str:
    where = problem["file"]
    if problem["row"] is not None:
        where += f", row {problem['row']}"
    if problem["column"]:
        where += f", column {problem['column']}"
    value = f" (value {cut_value(problem['value'])!r})" if problem.get("value") is not None else ""
    return one_line(f"{where}: {problem['message']}{value}")  # a value in the message never starts a line


VALUE_LIMIT = 100  # characters of a bad value shown in a message (the --errors file keeps it whole)


def cut_value(value: str, limit: int = VALUE_LIMIT) -> str:
    """A bad value as shown in a message: cut to ``limit`` characters, the cut marked with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# characters a terminal acts on rather than shows: C0 controls but tab and line feed, DEL, C1 controls (ESC
# starts a colour or a window-title sequence), and the bidirectional overrides and isolates, which reorder text
# and the Unicode line and paragraph separators, which a log viewer or a browser breaks a line at
# and the noncharacters U+FFFE, U+FFFF and lone surrogates, which no XML (a chart's SVG) may hold
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
MESSAGE_LINE_LIMIT = 4000  # characters of one line of a message: a value from the data never floods the log


def one_line(text: str) -> str:
    """``text`` (a label, a sentence about one row, a problem) with its line breaks escaped (``\\n``): a value
    from the data can never start a line of its own, so never forge one (``reoffend: error: ...``). Messages of
    several lines join such pieces; :func:`printable` then escapes the other control characters."""
    return LINE_BREAK.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def escape_controls(text: str) -> str:
    """``text`` with every :data:`CONTROL` character shown as an escape (``\\x1b``), nothing cut: for a
    document (the bulletin's Markdown and HTML), where :func:`printable`'s line limit does not apply."""
    return CONTROL.sub(lambda found: found.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def printable(text: str) -> str:
    """``text`` as it may reach a terminal or a log: every control character shown as an escape (``\\x1b``),
    never acted on, and each line cut to :data:`MESSAGE_LINE_LIMIT` characters. Messages, warnings and the
    terminal table pass through it, since they carry values from the data (column names, labels)."""
    text = escape_controls(text)
    if len(text) <= MESSAGE_LINE_LIMIT:
        return text
    return "\n".join(
        line
        if len(line) <= MESSAGE_LINE_LIMIT
        else f"{line[:MESSAGE_LINE_LIMIT]}… ({len(line) - MESSAGE_LINE_LIMIT:,} characters more)"
        for line in text.split("\n")
    )


NAMES_SHOWN = 20  # names of a list in a message (the columns found, the columns there are)


def name_list(names: Iterable[str], shown: int = NAMES_SHOWN) -> str:
    """``a, b, c``: names from the data for a message, each cut (:func:`cut_value`) and at most ``shown`` of
    them, then how many more; ``none`` for no name."""
    names = list(names)
    text = ", ".join(cut_value(str(name), 60) for name in names[:shown]) or "none"
    return text + (f" and {len(names) - shown:,} more" if len(names) > shown else "")


def problem_row(
    file: str, column: str | None, rule: str, message: str, *, row: int | None = None, value: str | None = None
) -> dict:
    """One problem, as a row of :data:`PROBLEM_SCHEMA`."""
    return {"file": file, "row": row, "column": column, "rule": rule, "value": value, "message": message}


def single_problem(
    file: str,
    column: str | None,
    rule: str,
    message: str,
    row: int | None = None,
    value: str | None = None,
    count: int = 1,
) -> DataError:
    """A DataError reported as one problem (concerning a whole column or file) standing for ``count`` rows."""
    import polars as pl

    frame = pl.DataFrame([problem_row(file, column, rule, message, row=row, value=value)], schema=PROBLEM_SCHEMA)
    return DataError(frame, {rule: count})
