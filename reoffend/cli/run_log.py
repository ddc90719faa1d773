"""What a run says on standard error, and ``--log FILE`` (docs/cli.md, "Warnings" and "Logging").

Every line the program writes to standard error about a warning or an error has one prefix:
``reoffend: warning: ...`` or ``reoffend: error: ...``. A run's warnings are collected as it goes and said at
its end, one line per code (:func:`reoffend.run_warnings.merge_warnings`); an acknowledged code (``acknowledge``
in the config, ``--acknowledge``) is not said, and ``-q`` says none.

``--log FILE`` keeps everything, for a cron job that mails only failures: one JSON line per event (each
warning, whole, acknowledged or not; then the run's end: its exit status, and the error's message), appended
to FILE in one write when the run ends and synced to the disk (fsync), so concurrent runs never interleave
within a line and a log is never truncated or replaced.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from ..errors import EXIT_IO, OutputWriteError, UsageError, one_line, os_reason, printable
from ..run_warnings import RunWarning, acknowledged_codes, merge_warnings

PREFIX = "reoffend: "
ERROR = "reoffend: error: "
WARNING = "reoffend: warning: "

# the log's name of each exit status (its "code" in the end event)
STATUS_CODES = {
    0: "success",
    1: "not-significant",
    2: "usage",
    65: "invalid-data",
    66: "no-input",
    70: "internal",
    73: "cannot-create",
    74: "io",
    75: "busy",
    129: "hangup",
    130: "interrupted",
    141: "broken-pipe",
    143: "terminated",
}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class RunReport:
    """One run's warnings and its log: ``command`` (``reoffend bulletin``), ``log_path`` (``--log``),
    ``acknowledged`` codes, ``quiet`` (``-q``)."""

    command: str = "reoffend"
    log_path: str | None = None
    acknowledged: frozenset[str] = frozenset()
    quiet: bool = False
    warnings: list[tuple[str, RunWarning]] = field(default_factory=list)  # (time, warning)
    said: int = 0  # warnings already said on standard error

    def warn(self, warning: RunWarning) -> None:
        self.warnings.append((now(), warning))

    def warn_all(self, warnings: Iterable[RunWarning]) -> None:
        for warning in warnings:
            self.warn(warning)

    def acknowledge(self, codes: Iterable[str]) -> None:
        self.acknowledged = self.acknowledged | frozenset(codes)

    def say_warnings(self) -> None:
        """Say the warnings not said yet, one line per code, on standard error (unless ``-q``; never an
        acknowledged code)."""
        pending = [w for _, w in self.warnings[self.said :] if w.code not in self.acknowledged]
        self.said = len(self.warnings)
        if self.quiet or not pending:
            return
        lines = []
        for merged in merge_warnings(pending):
            text = merged.text
            if len(merged.warnings) > 1 and len(set(merged.warnings)) > 1:
                text += " (every one in the log)" if self.log_path else " (--log FILE keeps every one)"
            lines.append(WARNING + printable(one_line(text)))
        say("\n".join(lines), style="yellow")

    def events(self, status: int, error: str | None) -> list[dict[str, object]]:
        """The log's lines: each warning, then the end of the run."""
        lines: list[dict[str, object]] = []
        for time, warning in self.warnings:
            lines.append(
                {
                    "time": time,
                    "level": "warning",
                    "code": warning.code,
                    "message": warning.message,
                    "subjects": list(warning.subjects),
                    "counts": dict(warning.counts),
                    "acknowledged": warning.code in self.acknowledged,
                    "command": self.command,
                }
            )
        end: dict[str, object] = {
            "time": now(),
            "level": "error" if status not in (0, 1) else "info",
            "code": STATUS_CODES.get(status, f"exit-{status}"),
            "message": error if error is not None else ("finished" if status in (0, 1) else f"exit {status}"),
            "status": status,
            "warnings": len(self.warnings),
            "command": self.command,
        }
        lines.append(end)
        return lines

    def write_log(self, status: int, error: str | None) -> None:
        """Append the events to ``--log`` in one write and fsync; OutputWriteError (74) when that fails."""
        if not self.log_path:
            return
        text = "".join(
            json.dumps(event, ensure_ascii=False, default=str) + "\n" for event in self.events(status, error)
        )
        data = text.encode()
        try:
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
                try:
                    os.fsync(descriptor)
                except OSError as error:  # a pipe or a terminal cannot be synced: nothing is lost
                    if error.errno not in (22, 95):  # EINVAL, EOPNOTSUPP
                        raise
            finally:
                os.close(descriptor)
        except OSError as error:
            raise OutputWriteError(f"writing the log {self.log_path}: {os_reason(error)}") from None


_report = RunReport()


def current() -> RunReport:
    """This run's report (set up by :func:`start` at each run of :func:`reoffend.cli.main`)."""
    return _report


def start(command: str = "reoffend") -> RunReport:
    global _report
    _report = RunReport(command=command)
    return _report


def finish(status: int, error: str | None = None) -> int:
    """End the run: say the pending warnings, then write the log. Returns the exit status, which is 74 when
    the log cannot be written (said in one line) and the run had succeeded."""
    report = current()
    report.say_warnings()
    try:
        report.write_log(status, error)
    except OutputWriteError as failure:
        say(ERROR + printable(str(failure)))
        return EXIT_IO if status in (0, 1) else status
    return status


def say(text: str, style: str | None = None) -> None:
    """Lines on standard error: through rich (coloured) on a terminal, else written plainly (rich not even
    imported), each line whole."""
    from .console import _stderr_may_be_terminal, stderr_console

    if style and _stderr_may_be_terminal():
        console = stderr_console()
        if console.is_terminal:
            console.print(text, style=style, highlight=False, markup=False)
            return
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ------------------------------------------------------------------------------- --log and --acknowledge
def attach_options(command: click.Command) -> click.Command:
    """Give ``command`` the options every command has: ``--log FILE`` and ``--acknowledge CODES`` (also
    ``log`` and ``acknowledge`` in a config). Both are taken by a wrapper of the callback, which checks them
    before any work (:func:`check_log`, :func:`reoffend.run_warnings.check_acknowledged`)."""
    if any(param.name == "log" for param in command.params) or command.callback is None:
        return command
    command.params.append(
        click.Option(
            ["--log"],
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Append every warning and the run's end (exit status, error) to FILE as JSON lines.",
        )
    )
    command.params.append(
        click.Option(
            ["--acknowledge"],
            multiple=True,
            metavar="CODES",
            help="Warning codes not to print (still logged): expected conditions (docs: reoffend docs cli).",
        )
    )
    callback = command.callback

    @functools.wraps(callback)
    def with_run_options(*args, log: str | None, acknowledge: Sequence[str], **kwargs):
        context = click.get_current_context()
        report = current()
        report.command = context.command_path
        report.acknowledge(acknowledged_codes(acknowledge, "--acknowledge"))
        if log:
            check_log(log, context)
            report.log_path = log
        return callback(*args, **kwargs)

    command.callback = with_run_options
    return command


def check_log(path: str, context: click.Context) -> None:
    """Before any work: the log can be created (else 73), and is no input nor another output of the command,
    nor inside an output folder (a usage error, 2)."""
    from ..io import STDIN, check_outputs_distinct, check_writable
    from .output import INPUT_OPTIONS, OUTPUT_OPTIONS

    if path == "-":  # else a file named '-' appears in the current folder
        raise UsageError("--log -: give the log a file name (or /dev/stderr to send it to standard error)")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISFIFO(mode):  # appended at the end: a pipe with no reader would hang the run
        raise UsageError(f"--log {path}: a pipe; give the log a file (a job keeps it, and mails only failures)")
    if os.path.realpath(path) in {os.path.realpath(p) for p in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")}:
        raise UsageError(f"--log {path}: standard output carries the result; give the log a file or /dev/stderr")
    params = context.params
    inputs = {flag: params.get(name) for name, flag in INPUT_OPTIONS.items()}
    inputs["--config"] = params.get("config") or params.get("config_path")
    outputs: dict[str, str | None] = {}
    for param in context.command.params:
        value = params.get(param.name or "")
        if not isinstance(value, str) or not value or value == STDIN or param.name == "log":
            continue
        flag = param.opts[0] if param.opts else (param.name or "")
        if isinstance(param.type, click.Path) and not param.type.file_okay:  # an output folder
            check_log_outside(path, value, flag)
        elif param.name in OUTPUT_OPTIONS:
            outputs[OUTPUT_OPTIONS[param.name]] = value
    check_writable(path)  # after the folder check: a log inside a folder not made yet is that mistake, not 73
    check_outputs_distinct(inputs, {**outputs, "--log": path})


def check_log_outside(path: str, folder: str, flag: str = "the output") -> None:
    """A usage error when the log is inside ``folder``, an output folder a run replaces as a whole."""
    from ..io import is_direct

    if not is_direct(path) and Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder)):
        raise UsageError(f"--log {path} is inside the folder {flag} {folder}; give the log a place of its own")
