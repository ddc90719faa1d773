"""The ``reoffend`` command line: parse, call the core, render. Exit statuses as in docs/cli.md."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
import traceback
from typing import Any

import click

from . import allocator  # noqa: F401 - before polars is first imported (see the module)

# isort: split
from .. import __version__
from ..errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_IO,
    OutputClosed,
    ReoffendError,
    Terminated,
    one_line,
    os_reason,
    printable,
)
from ..run_state import forget_written, outputs_written, release_stdin
from . import helptext, run_log
from .lazy import LazyGroup

COMMANDS = {
    "validate": "reoffend.cli.measure:validate",
    "measure": "reoffend.cli.measure:measure",
    "synth": "reoffend.cli.synth:synth",
    "sample": "reoffend.cli.sample:sample",
    "compare": "reoffend.cli.compare:compare",
    "power": "reoffend.cli.power:power",
    "bulletin": "reoffend.cli.bulletin:bulletin",
    "disclosure-check": "reoffend.cli.disclosure:disclosure_check",
    "nowcast": "reoffend.cli.nowcast:nowcast_command",
    "docs": "reoffend.cli.docs:docs",
    "sql": "reoffend.cli.sql:sql",
}


@click.group(
    cls=LazyGroup,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog=helptext.epilog(""),
)
@click.version_option(__version__, "-V", "--version", prog_name="reoffend")
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
def cli(debug):
    """Proven reoffending statistics from prison release and court conviction records."""


def _error(text: str) -> None:
    """An error on standard error, with the one prefix of every error (``reoffend: error: ...``)."""
    click.echo(f"{run_log.ERROR}{printable(text)}", err=True)


CLEAN_UP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


_finished: list[bool] = []  # set once the command has ended: a signal then comes too late to unwind anything


def _terminate(signum: int, _frame) -> None:
    if _finished:
        _stopped_late(signum, _frame)
    raise Terminated(signum)


def _closed_stdout() -> None:
    """The reader of our standard output went away: nothing more may be written to it, even at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def outputs_state() -> str:
    """What a signal leaves behind, for its one line on standard error: the outputs completed, else none."""
    written = outputs_written()
    if not written:
        return "no output was written (temporary files removed; earlier outputs unchanged)"
    return f"these outputs were written and are complete: {', '.join(written)}; temporary files removed"


def _stopped_late(signum: int, _frame) -> None:
    """A signal after the command finished, while the interpreter exits: the outputs are complete, and it says
    so (one line), rather than the default action killing the process without a word."""
    written = outputs_written()
    done = f"its outputs are complete ({', '.join(written)})" if written else "it had finished"
    with contextlib.suppress(OSError):
        os.write(2, f"reoffend: error: stopped by {signal.Signals(signum).name} while exiting; {done}\n".encode())
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes a message and a stable exit status, never a bare traceback.

    SIGTERM and SIGHUP (what cron daemons and closing terminals send) unwind like Ctrl-C, so temporary files
    are removed, and the process ends with 128 + the signal number and one line saying which outputs were
    written. Run as the program (``argv`` None), the handlers stay to the end of the process: a signal while
    the interpreter exits says so too (:func:`_stopped_late`), where the default action would end it silently
    with 143. Called with ``argv`` (in-process, as the tests do) the earlier handlers are put back.
    """
    _finished.clear()
    previous = {number: signal.signal(number, _terminate) for number in CLEAN_UP_SIGNALS}
    stderr = sys.stderr
    if not isinstance(stderr, MessageStream):
        sys.stderr = MessageStream(stderr)
    try:
        _main(argv)
    except Terminated as stop:  # landed as _main was ending (its exit status decided, not yet returned)
        _finished.append(True)
        _error(f"stopped by {signal.Signals(stop.signum).name}; {outputs_state()}")
        sys.exit(128 + stop.signum)
    finally:
        _finished.append(True)
        if argv is not None:
            for number, handler in previous.items():
                signal.signal(number, handler)
            sys.stderr = stderr


class ClosedStdout(io.TextIOBase):
    """Standard output when the program was started without one (``>&-``: Python's ``sys.stdout`` is None).
    Writing to it is an output error (exit 74, one line), not an internal error; a run whose outputs go to
    files (``-o``) does not need it."""

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    @property
    def buffer(self) -> ClosedStdout:
        return self


class MessageStream(io.TextIOBase):
    """Standard error as the program writes its messages: a message that cannot be written (``2>/dev/full``, a
    closed or broken standard error) is dropped, never an error, so it cannot change the result or its exit
    status (docs/cli.md, "Exit status"). The process's own standard error is written unbuffered through its
    descriptor, so nothing undelivered is left in a buffer to fail again at exit; a replaced one (tests) is
    written through its object."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.descriptor: int | None = None
        if inner is not None and inner is sys.__stderr__:
            with contextlib.suppress(AttributeError, OSError, ValueError, io.UnsupportedOperation):
                self.descriptor = self.inner.fileno()
            with contextlib.suppress(AttributeError, OSError, ValueError):
                self.inner.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "backslashreplace"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        try:
            return bool(self.inner.isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.descriptor is not None:
            return self.descriptor
        if self.inner is None:
            raise io.UnsupportedOperation("standard error is closed")
        return self.inner.fileno()

    def write(self, text: str) -> int:
        try:
            if self.descriptor is not None:
                view = memoryview(text.encode(self.encoding, "backslashreplace"))
                while view:
                    view = view[os.write(self.descriptor, view) :]
            elif self.inner is not None:
                self.inner.write(text)
                self.inner.flush()
        except (OSError, ValueError):
            pass  # a message that cannot be delivered is lost, and only it
        return len(text)

    def flush(self) -> None:
        if self.descriptor is None and self.inner is not None:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                self.inner.flush()


def _main(argv: list[str] | None) -> None:
    if sys.stdout is None:  # started with standard output closed
        sys.stdout = ClosedStdout()
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    release_stdin()  # each run reads standard input at most once (reoffend.io.claim_stdin)
    forget_written()  # and has written nothing yet (reoffend.io.outputs_written, for a signal's message)
    run_log.start()  # and has no warning yet, nor a log (--log)
    try:
        # without standalone mode click returns the status of ctx.exit(n) (e.g. 1 from --fail-unless-significant)
        status = cli.main(args=args, prog_name="reoffend", standalone_mode=False)
        sys.stdout.flush()  # a write error must not wait for the interpreter's exit, which would hide it
    except click.exceptions.Exit as stop:
        _end(stop.exit_code)
    except click.ClickException as error:
        _fail(error.exit_code, _click_message(error))
    except click.exceptions.Abort as stop:
        # click turns Ctrl-C (KeyboardInterrupt) inside a command into Abort: the same line as an interrupt
        # anywhere else, saying which outputs were written (docs/cli.md, "Exit status")
        interrupted = isinstance(stop.__cause__ or stop.__context__, KeyboardInterrupt)
        _fail(130, f"interrupted; {outputs_state()}" if interrupted else "aborted")
    except (OutputClosed, BrokenPipeError):
        # the reader of our standard output went away (e.g. `| head`): stop quietly, with the status of a
        # program killed by SIGPIPE
        _closed_stdout()
        _end(EXIT_BROKEN_PIPE, "standard output was closed")
    except ReoffendError as error:
        if error.exit_status == EXIT_IO:
            with_stdout_discarded()
        _fail(error.exit_status, str(error))
    except KeyboardInterrupt:
        _fail(130, f"interrupted; {outputs_state()}")
    except Terminated as stop:
        _fail(128 + stop.signum, f"stopped by {signal.Signals(stop.signum).name}; {outputs_state()}")
    except OSError as error:
        # a write to standard output or standard error failed outside the checked writers (e.g. rich's
        # console on a full disk): the output is incomplete, so never a success
        with_stdout_discarded()
        _fail(EXIT_IO, f"writing the output: {os_reason(error)}")
    except BaseException as error:
        if isinstance(error, SystemExit):
            raise
        if debug:
            traceback.print_exc()
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        _fail(
            EXIT_INTERNAL,
            f"internal error: {type(error).__name__}: {message} -- please report this "
            "(run again with --debug for the traceback)",
        )
    _end(status if type(status) is int else 0)


def _end(status: int, logged: str | None = None) -> None:
    """Exit with ``status`` after the run's warnings are said and its log written (:mod:`.run_log`)."""
    sys.exit(run_log.finish(status, logged))


def _fail(status: int, text: str) -> None:
    """The run's warnings, then the error in one message (``reoffend: error: ...``), into the log too, and exit."""
    run_log.current().say_warnings()
    _error(text)
    _end(status, text)


def _click_message(error: click.ClickException) -> str:
    """A usage error of click's (an unknown option, a bad choice) in one line, with where to find help."""
    text = one_line(error.format_message())
    context = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and context is not None:
        text += f" (see {context.command_path} --help)"
    return text


def with_stdout_discarded() -> None:
    """After a failed write, nothing more may be tried on standard output at exit (it would fail again)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        _closed_stdout()
