"""Where and how a command writes its result (docs/cli.md, "Output"): the formats, every output option checked
before any work, :class:`Output` (the result in the chosen format, written atomically with its extra files), the
JSON document, extra table files and figures."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, printable
from ..io import (
    STDOUT,
    atomic_write_many,
    by_name,
    check_outputs_distinct,
    check_writable,
    frame_writer,
    is_direct,
    output_suffix,
    table_format_for,
    write_stdout,
)
from ..lazy_import import lazy_module
from ..report.format import counted
from ..run_warnings import RunWarning
from . import run_log
from .console import Stages, prefixed, progress_console, stderr_console
from .records import RECORD_FORMATS, Records, records_csv
from .tables import check_names, pipe_console, render_table, select_columns

# a command that reads no records (`reoffend power` from numbers) writes CSV, TSV and JSON without polars
# (issue 30)
if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")

if TYPE_CHECKING:  # rich is imported where something is printed: a run that only writes files starts without it
    from rich.console import Console


OUTPUT_FORMATS = ("table", "csv", "tsv", "json", "ndjson", "parquet", "markdown")

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".md": "markdown",
}

INPUT_OPTIONS = {
    "releases": "RELEASES",
    "convictions": "CONVICTIONS",
    "exclude_offences": "--exclude-offences",
    "treated_ids": "--treated-ids",
    "schedule": "--schedule",
    "config": "--config",
    "batch": "--batch",  # compare published: the CSV of published results
}

OUTPUT_OPTIONS = {
    "output": "-o",
    "errors_file": "--errors",
    "per_release": "--per-release",
    "matches_file": "--matches",
    "balance_plot": "--balance-plot",
    "power_plot": "--plot",
    "model_summary": "--model-summary",
    "detail": "--detail",
    "log": "--log",  # every command's (reoffend.cli.run_log.check_log checks it for commands without -o)
}

TABLE_OUTPUTS = ("errors_file", "per_release", "matches_file", "detail")  # data tables: format from the extension

PLOT_OUTPUTS = ("balance_plot", "power_plot")  # figures: PNG or SVG by the extension

PLOT_FORMATS = {".png": "png", ".svg": "svg"}


def plot_format_for(path: str, option: str = "--balance-plot") -> str:
    """``png`` or ``svg`` from a figure output's extension; another is a usage error (2)."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise UsageError(f"{option} writes PNG or SVG: give a name ending .png or .svg, not {path!r}")
    return PLOT_FORMATS[suffix]


def figure_bytes(draw: Callable[[Any], Any], plot_format: str) -> bytes:
    """A matplotlib figure, made by ``draw(pyplot)``, as PNG or SVG bytes (the Agg backend: no display needed).

    The SVG keeps its text as text (``svg.fonttype = none``: searchable, read by a screen reader) and has no date
    and fixed element ids (``svg.hashsalt``); the PNG has no software stamp: identical input gives identical
    bytes. A label from the data is shown as written (``text.parse_math`` off, as in the bulletin's charts): a
    level ``$x$`` is not typeset as mathematics, and ``$\\frac$`` does not end the run with a mathtext error.
    ``draw`` escapes control characters in labels (:func:`reoffend.errors.escape_controls`): XML has no place
    for them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with (
        plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "reoffend", "text.parse_math": False}),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # matplotlib's glyph warnings are not ours to print (and -q means quiet)
        figure = draw(plt)
        buffer = io.BytesIO()
        metadata = {"Software": None} if plot_format == "png" else {"Date": None}
        figure.savefig(buffer, format=plot_format, metadata=metadata, bbox_inches="tight")
        plt.close(figure)
    return buffer.getvalue()


def check_output_options(params: Mapping[str, Any]) -> None:
    """Before any work: every output option can be created (else 73), names no input and no other output
    (else 2), and a table output has an extension the command writes (else 2). ``-`` is standard output for
    ``-o`` only: given to another output option it is a usage error (2), not a file named ``-``. ``params``
    are click's values."""
    outputs: dict[str, str] = {flag: params[name] for name, flag in OUTPUT_OPTIONS.items() if params.get(name)}
    dashed = [flag for flag, path in outputs.items() if path == STDOUT and flag != "-o"]
    if dashed:  # else a file named '-' appears in the current folder, where nobody looks for the problems
        raise UsageError(
            f"{dashed[0]} -: only -o writes to standard output ('-'); give {dashed[0]} a file name "
            "(or /dev/stdout, /dev/stderr to send it to a stream)"
        )
    for name in TABLE_OUTPUTS:
        if params.get(name):
            table_format_for(params[name], OUTPUT_OPTIONS[name])
    for name in PLOT_OUTPUTS:
        if params.get(name):
            plot_format_for(params[name], OUTPUT_OPTIONS[name])
    for path in outputs.values():
        if path != STDOUT:
            check_writable(path)
    check_outputs_distinct({flag: params.get(name) for name, flag in INPUT_OPTIONS.items()}, outputs)


def writer_for_suffix(frame: pl.DataFrame, path: str, option: str = "-o"):
    """A writer for an extra table file: CSV, TSV, Parquet or NDJSON by its extension (CSV without one),
    gzip-compressed when it ends in ``.gz``."""
    return by_name(path, frame_writer(frame, table_format_for(path, option)), option)


@dataclass
class Output:
    """Where and how a command writes its result."""

    output_format: str | None = None
    output: str | None = None
    quiet: bool = False
    columns: tuple[str, ...] = ()
    _console: Console | None = field(default=None, repr=False, compare=False)  # made when first used

    @property
    def console(self) -> Console:
        """The console of messages and warnings (:func:`stderr_console`)."""
        if self._console is None:
            self._console = stderr_console()
        return self._console

    def __post_init__(self) -> None:
        if self.quiet:
            run_log.current().quiet = True  # warnings are logged, not said
        if self.output == STDOUT:
            self.output = None  # `-o -`: standard output, as without -o
        if self.output:
            check_writable(self.output)
        if self.output_format is None:
            if self.output:
                self.output_format = self._format_from_name(self.output)
            else:
                self.output_format = "table" if sys.stdout.isatty() else "csv"
        if self.output_format == "table" and self.output:
            raise UsageError(
                "--format table is for the terminal; choose csv, tsv, json, ndjson, parquet or markdown with -o"
            )

    @staticmethod
    def _format_from_name(path: str) -> str:
        """The format of ``-o FILE`` from its extension, under any ``.gz`` (``m.csv.gz`` is gzip-compressed CSV):
        CSV without one, exit 2 for one no format writes."""
        if is_direct(path):
            return "csv"
        suffix = output_suffix(path)
        if not suffix:
            return "csv"
        if suffix not in SUFFIX_FORMATS:
            raise UsageError(
                f"-o {path}: cannot write {suffix!r} files; use .csv, .tsv, .json, .ndjson, .jsonl, .parquet or "
                ".md (optionally .gz), or --format"
            )
        return SUFFIX_FORMATS[suffix]

    def message(self, text: str) -> None:
        """A message on standard error (not ``-q``), each line with the program's prefix (``reoffend: ``)."""
        if not self.quiet:
            self.console.print(prefixed(printable(text)), highlight=False, markup=False)

    def warn(self, warning: RunWarning) -> None:
        """A warning of the run: said at its end, merged with the others of its code, unless acknowledged or
        ``-q``; always in ``--log`` (:mod:`reoffend.cli.run_log`)."""
        run_log.current().warn(warning)

    def status(self, text: str) -> Stages:
        """Progress of work that may take a while: on a terminal (stderr), a spinner, the stage and the time
        elapsed, updated by ``.stage("measuring")``; nothing otherwise (a pipe, a file, cron, ``-q``)."""
        return Stages.on(self.console if self._shows_progress() else None, text)

    def _shows_progress(self) -> bool:
        return progress_console(self.quiet) is not None

    def expect_columns(self, columns: Sequence[str]) -> None:
        """Check ``--columns`` against the columns this run will write, before any work: a typo is a usage
        error naming the nearest column, not a failure after reading millions of rows. ``columns`` must be the
        result's declared columns (the typed rows of reoffend/compare/rows.py, checked on every result)."""
        if self.columns:
            check_names(self.columns, list(columns), "--columns")

    def emit(
        self,
        rows: pl.DataFrame | Records,
        *,
        parameters: Mapping[str, Any],
        metadata: Mapping[str, Any],
        title: str = "",
        extra_outputs: Sequence[tuple[str, Callable]] = (),
        table_formats: Mapping[str, Callable[[Any], str]] | None = None,
        extra_json: Mapping[str, Any] | None = None,
        caption: str | None = None,
        display: pl.DataFrame | None = None,
        display_numeric: Sequence[bool] = (),
        headline: str | None = None,
    ) -> None:
        """Render ``rows`` in the chosen format; ``extra_outputs`` are written atomically alongside.

        ``display`` is an optional terminal view of the rows (rounded, relabelled) for ``table``; ``--columns``
        chooses columns of ``rows`` in every format (the table then shows those, not the view).

        ``rows`` may be a :class:`Records` (a small result as plain dicts): CSV, TSV and JSON are then written
        without polars, the other formats and ``--columns`` from its frame.

        ``headline`` is the result's verdict in words, as the result renders it: part of the answer, so in the
        table format it is printed under the table on standard output (even with ``-q``), in JSON it is the
        ``headline`` (a list of lines), and beside CSV, NDJSON and Parquet (rows only) it goes to standard error.
        """
        fmt = self.output_format
        assert fmt is not None, "set by __post_init__"
        if isinstance(rows, Records) and (fmt not in RECORD_FORMATS or self.columns):
            rows = rows.frame()
        if not isinstance(rows, Records):
            rows = select_columns(rows, self.columns)
        if fmt == "table":
            assert not isinstance(rows, Records), "a table is drawn from the frame"
            atomic_write_many(extra_outputs)
            if self._shows_progress():
                self._said_written(extra_outputs)
            view = rows if display is None or self.columns else display
            numeric = display_numeric if view is display else ()
            render_table(view, title=title, formats=table_formats, caption=caption, numeric=numeric)
            if headline:
                pipe_console().print(printable(headline), highlight=False, markup=False)
            return
        if headline and fmt == "json" and "headline" not in (extra_json or {}):
            extra_json = {**(extra_json or {}), "headline": headline.splitlines()}
        self._write_data(rows, fmt, parameters, metadata, extra_outputs, extra_json)
        if headline and fmt != "json":  # JSON carries it: never said twice (docs/cli.md, "The verdict")
            self.message(headline)

    def _said_written(self, extra_outputs: Sequence[tuple]) -> None:
        """At a terminal, each extra output written (--per-release, --matches, --balance-plot ...), by name."""
        for path, *_ in extra_outputs:
            if not is_direct(str(path)):
                self.message(f"wrote {path}")

    def _write_data(self, rows, fmt, parameters, metadata, extra_outputs, extra_json) -> None:
        writer = data_writer(rows, fmt, parameters, metadata, extra_json)
        if self.output:
            writer = by_name(self.output, writer)
        if self.output:
            atomic_write_many([*extra_outputs, (self.output, writer)])
            if self._shows_progress():  # at a terminal, say what -o did; a cron job's log stays quiet
                self.message(f"wrote {self.output} ({counted(rows.height, 'row')})")
                self._said_written(extra_outputs)
            return
        atomic_write_many(extra_outputs)
        if self._shows_progress():
            self._said_written(extra_outputs)
        buffer = io.BytesIO()
        writer(buffer)
        if fmt == "parquet" and sys.stdout.isatty():
            raise UsageError("parquet is binary: write it with -o FILE or redirect standard output")
        write_stdout(buffer.getvalue())


def json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return value


def json_document(
    rows: pl.DataFrame | Records,
    parameters: Mapping[str, Any],
    metadata: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> str:
    document = {"parameters": json_value(parameters), "metadata": json_value(metadata)}
    document.update(json_value(extra or {}))
    document["rows"] = json_value(rows.typed_rows() if isinstance(rows, Records) else rows.to_dicts())
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def data_writer(rows: pl.DataFrame | Records, fmt: str, parameters, metadata, extra_json=None) -> Callable:
    """A writer of the result in ``fmt``: JSON with its parameters and metadata, Markdown as a pipe table of the
    rows (:mod:`reoffend.report.markdown`), else the rows alone (:func:`reoffend.io.frame_writer`; a
    :class:`Records` as CSV or TSV by :func:`records_csv`)."""
    if fmt == "json":
        text = json_document(rows, parameters, metadata, extra_json)
        return lambda handle: handle.write(text.encode())
    if isinstance(rows, Records):
        data = records_csv(rows, RECORD_FORMATS[fmt])
        return lambda handle: handle.write(data)
    if fmt == "markdown":
        from ..report.markdown import markdown_table

        table = markdown_table(rows).encode()
        return lambda handle: handle.write(table)
    return frame_writer(rows, fmt)
