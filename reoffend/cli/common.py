"""Options shared by the commands, parsing helpers, and output rendering (docs/cli.md)."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import io
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import (
    PROBLEM_SCHEMA,
    DataError,
    OutputClosed,
    OutputNotCreatable,
    OutputWriteError,
    UsageError,
    escape_controls,
    one_line,
    os_reason,
    printable,
)
from ..intervals import LARGEST_CONFIDENCE, SMALLEST_TAIL
from ..io import (
    STDOUT,
    atomic_write,
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
from ..report.format import count, counted, p_value, pct, yes_no
from ..run_warnings import RunWarning
from ..window import MAX_WINDOW_MONTHS, FollowUpWindow
from . import run_log
from .config import config_option
from .tables import check_names, fit_labels, hidden_note, plan_columns, select_columns

# the data layer (inputs, validation, the measure) is imported where it is used: an option or output of a
# command that reads no records (`reoffend power` from numbers) loads no polars (issue 30)
if TYPE_CHECKING:
    import polars as pl

    from ..cohort import IndexRule, Period
    from ..inputs import InputSpec
    from ..measure import IncompletePolicy, MeasureParams
    from ..validate import Query, ValidatedInputs
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


# ----------------------------------------------------------------------------------------------- options
def _stack(*decorators):
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


INPUT_PARAMS = (
    "releases",
    "convictions",
    "column_map",
    "input_format",
    "delimiter",
    "encoding",
    "date_format",
    "extract_date",
    "as_at",
    "dedupe",
    "streaming",
)


def input_options(function):
    """The two record files and how to read them; the command receives ``spec: InputSpec | None``.

    ``spec`` is None when neither file is given (possible only where a command makes them optional).
    ``errors_file`` is passed on as it is: it is written by :func:`load_or_report`.
    """

    @functools.wraps(function)
    def with_spec(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in INPUT_PARAMS}
        kwargs["spec"] = input_spec(**values) if values["releases"] or values["convictions"] else None
        return function(*args, **kwargs)

    return _stack(
        click.argument("releases", required=True, metavar="RELEASES"),
        click.argument("convictions", required=True, metavar="CONVICTIONS"),
        click.option(
            "--map",
            "column_map",
            multiple=True,
            metavar="NAME=COLUMN",
            help="Read COLUMN of the files as NAME (e.g. release_date=date_out). Repeatable.",
        ),
        click.option(
            "--input-format",
            type=click.Choice(["csv", "parquet", "ndjson"]),
            help="Format of an input whose name does not tell it ('-', a pipe, data.txt); a file named .csv, "
            ".tsv, .parquet, .ndjson or .jsonl (under any .gz/.zst) follows its extension (default: a pipe is "
            "sniffed).",
        ),
        click.option(
            "--delimiter",
            metavar="CHAR",
            help="Field delimiter of CSV inputs, e.g. ';' '|' or tab ('\\t') (default: tab for .tsv, else "
            "sniffed from each header line: , ; tab |).",
        ),
        click.option(
            "--encoding",
            metavar="NAME",
            help="Text encoding of the inputs, e.g. cp1252, latin-1, utf-16 (default: utf-8; a UTF-16 "
            "byte-order mark is read without it). Other than UTF-8, a file is transcoded in memory.",
        ),
        click.option(
            "--date-format",
            metavar="FMT",
            help="strftime form of every text date column, e.g. %d/%m/%Y (default: %Y-%m-%d).",
        ),
        click.option(
            "--extract-date",
            type=click.DateTime(["%Y-%m-%d"]),
            help="Date the data was extracted (default: the latest conviction_date).",
        ),
        click.option(
            "--as-at",
            type=click.DateTime(["%Y-%m-%d"]),
            help="Measure as an extract taken on this date would have: releases and convictions dated after it "
            "are dropped and follow-up is judged complete at it (reoffend docs measures).",
        ),
        click.option("--dedupe", is_flag=True, help="Drop exact duplicate release rows instead of failing."),
        click.option(
            "--errors",
            "errors_file",
            type=click.Path(dir_okay=False),
            help="On invalid data, write every problem to this CSV file.",
        ),
        click.option(
            "--streaming",
            is_flag=True,
            help="Use polars' streaming engine (inputs larger than memory; slower otherwise).",
        ),
    )(with_spec)


def window_options(function):
    """``--follow-up`` and ``--waiting-period``; the command receives ``window: FollowUpWindow``."""

    @functools.wraps(function)
    def with_window(*args, follow_up, waiting_period, **kwargs):
        return function(*args, window=FollowUpWindow(follow_up, waiting_period), **kwargs)

    return _stack(
        click.option(
            "--follow-up",
            type=click.IntRange(min=1, max=MAX_WINDOW_MONTHS),
            default=12,
            show_default=True,
            help="Follow-up period after release, in calendar months.",
        ),
        click.option(
            "--waiting-period",
            type=click.IntRange(min=0, max=MAX_WINDOW_MONTHS),
            default=6,
            show_default=True,
            help="Further months in which a conviction for an offence in the follow-up still counts.",
        ),
    )(with_window)


def optional_input_options(function):
    """:func:`input_options` with RELEASES and CONVICTIONS optional: published counts need no files."""
    function = input_options(function)
    for param in function.__click_params__:
        if isinstance(param, click.Argument) and param.name in ("releases", "convictions"):
            param.required = False
            param.metavar = f"[{param.metavar}]"
    return function


# options that only shape a measurement from records: with published counts they would do nothing
RECORD_ONLY = {
    "site_column": "--site-column",
    "column_map": "--map",
    "input_format": "--input-format",
    "delimiter": "--delimiter",
    "encoding": "--encoding",
    "date_format": "--date-format",
    "extract_date": "--extract-date",
    "dedupe": "--dedupe",
    "errors_file": "--errors",
    "streaming": "--streaming",
    "follow_up": "--follow-up",
    "waiting_period": "--waiting-period",
    "period": "--period",
    "index_rule": "--index",
    "incomplete": "--incomplete",
    "exclude_offences": "--exclude-offences",
    "where": "--where",
    "latest_cohort": "--latest-cohort",
}


def split_site(site_column: str, site: str | None) -> tuple[str, str | None]:
    """``--site EST042`` (in --site-column) or ``--site establishment=EST042``, the COLUMN=VALUE form of
    --treated and --where."""
    if site and "=" in site:
        column, _, value = site.partition("=")
        if not column.strip() or not value.strip():
            raise UsageError(f"--site takes VALUE or COLUMN=VALUE, not {site!r}")
        site_column, site = column.strip(), value.strip()
    if site and site_column == "cohort":  # the compared cohorts replace a cohort filter: it would do nothing
        raise UsageError("--site cannot be a cohort: the cohorts compared are --current and --baseline")
    return site_column, site


COHORT_DEFAULTS = {
    "period": "quarter",
    "index_rule": "first",
    "incomplete": "error",
    "exclude_offences": None,
    "where": (),
    "latest_cohort": False,
    "confidence": 0.95,
}


def cohort_options(function):
    """Cohorts, index release, completeness, exclusions, filters, confidence; under :func:`window_options`.

    The command receives ``measurement: MeasureParams`` (no grouping: set ``by`` with ``dataclasses.replace``).
    A command may drop some of these options (their defaults then apply).
    """
    return _cohort_options(function, deferred=False)


def deferred_cohort_options(function):
    """:func:`cohort_options` for a command whose records are optional (``power``): it receives
    ``measurement`` as a function that makes the ``MeasureParams`` (reading ``--exclude-offences``, parsing
    ``--where``), to call when it measures records, so that a run from numbers never loads the measure
    (nor polars; issue 30)."""
    return _cohort_options(function, deferred=True)


def _cohort_options(function, deferred: bool):
    @functools.wraps(function)
    def with_measurement(*args, window, **kwargs):
        values = {name: kwargs.pop(name, default) for name, default in COHORT_DEFAULTS.items()}
        made = functools.partial(measure_params, by=(), window=window, **values)
        kwargs["measurement"] = made if deferred else made()
        return function(*args, **kwargs)

    return _stack(
        click.option(
            "--period",
            type=click.Choice(["month", "quarter", "year", "financial-year"]),
            default="quarter",
            show_default=True,
            help="Cohort period of release_date, when the releases have no cohort column.",
        ),
        click.option(
            "--index",
            "index_rule",
            type=click.Choice(["first", "all"]),
            default="first",
            show_default=True,
            help="Count each person's first release per cohort, or every release.",
        ),
        click.option(
            "--incomplete",
            type=click.Choice(["error", "exclude"]),
            default="error",
            show_default=True,
            help="Releases whose follow-up is not complete at the extract date: fail, or drop them.",
        ),
        click.option(
            "--exclude-offences",
            type=click.Path(),
            help="File of offence codes (one per line; '-': stdin) that are not new offences, e.g. breach "
            "(default: exclude_offences in the config's [inputs]).",
        ),
        click.option(
            "--where",
            multiple=True,
            metavar="COLUMN=VALUE[,VALUE]",
            help="Keep index releases whose COLUMN is one of the values. Repeatable.",
        ),
        click.option("--latest-cohort", is_flag=True, help="Keep only the latest cohort."),
        click.option(
            "--confidence",
            type=CONFIDENCE,
            default=0.95,
            show_default=True,
            help="Confidence level of intervals.",
        ),
    )(with_measurement)


def by_option(function):
    """``--by``: the group columns of the measure (``measure``, ``sql``); the command receives ``by`` as text."""
    return click.option(
        "--by",
        default="cohort",
        show_default=True,
        metavar="COLS",
        help="Comma-separated release columns to group by ('' for one overall row).",
    )(function)


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


def output_options(function):
    """Format, ``-o``, ``--quiet`` and ``--config``; the command receives ``out: Output``.

    Every output option of the command is checked here, before the command runs (:func:`check_output_options`).
    """

    @functools.wraps(function)
    def with_output(*args, output_format, output, quiet, config, columns, **kwargs):
        check_output_options(click.get_current_context().params)
        return function(
            *args, out=Output(output_format, output, quiet, columns=parse_columns(columns, "--columns")), **kwargs
        )

    return _stack(
        click.option(
            "--format",
            "output_format",
            type=click.Choice(OUTPUT_FORMATS),
            help="Output format (default: table on a terminal, else csv; with -o, from its extension).",
        ),
        click.option("--csv", "output_format", flag_value="csv", help="Shorthand for --format csv."),
        click.option("--json", "output_format", flag_value="json", help="Shorthand for --format json."),
        click.option("--nl", "output_format", flag_value="ndjson", help="Shorthand for --format ndjson."),
        click.option(
            "-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically); - is stdout."
        ),
        click.option(
            "--columns",
            metavar="COLS",
            help="Only these output columns, in this order (comma-separated names as in --format csv).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors on standard error."),
        config_option,
    )(with_output)


class FiniteFloatRange(click.FloatRange):
    """A click ``FloatRange`` that also refuses ``nan`` and ``inf`` (a NaN compares false with either bound, so
    click's own range lets it through): a usage error naming the option and the range (issue 24)."""

    name = "float range"  # as click's own in --help: FLOAT RANGE

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give one in the range {self._describe_range()}.", param, ctx)
        return super().convert(number, param, ctx)


PROBABILITY = FiniteFloatRange(0, 1, min_open=True, max_open=True)


# A significance level of 0.5 or more is no test: one-sided it would make the agreeing interval's level
# 1 - 2 alpha zero or negative (report/verdict.py interval_confidence), so it is refused before any work.
# Below SMALLEST_TAIL (1e-12) the normal quantile overflows (reoffend/intervals.py): refused as well.
ALPHA = FiniteFloatRange(SMALLEST_TAIL, 0.5, max_open=True)
# 1 - confidence is the tail: at most 1 - 1e-12 (0.9999999999999999 once ended in a StatisticsError, exit 70)
CONFIDENCE = FiniteFloatRange(0, LARGEST_CONFIDENCE, min_open=True)


def alpha_option(help: str = "Significance level of the test."):
    return click.option("--alpha", type=ALPHA, default=0.05, show_default=True, help=help)


def sided_option(
    help: str = "Significance from the one-sided p for a reduction, or the two-sided p (both are reported).",
):
    return click.option("--sided", type=click.Choice(["one", "two"]), default="one", show_default=True, help=help)


def multiple_testing_option():
    """``--multiple-testing holm|bh|none``: several units tested at once (reoffend.report.multiple)."""
    return click.option(
        "--multiple-testing",
        type=click.Choice(["holm", "bh", "none"]),
        default="holm",
        show_default=True,
        help="Adjust the p-values of several units tested at once: Holm (family-wise), Benjamini-Hochberg "
        "(false discovery rate) or none. Headline counts and --fail-unless-significant use the adjusted verdict.",
    )


def fail_unless_significant_option(help: str):
    """``--fail-unless-significant``: exit 1 after writing the output (docs/cli.md), for cron checks."""
    return click.option("--fail-unless-significant", is_flag=True, help=help)


# ----------------------------------------------------------------------------------------------- parsing
def given(name: str) -> bool:
    """Whether the option ``name`` (click's parameter name) was typed on the command line (or set in the
    environment), not left at its default or taken from a config file that other runs share."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


def hide_options(*names: str):
    """Hide options of a shared decorator from this command's ``--help`` (they mean nothing here); the command
    refuses them when typed with :func:`refuse_unused`, saying what to use instead."""

    def apply(function):
        for parameter in function.__click_params__:
            if parameter.name in names:
                parameter.hidden = True
        return function

    return apply


def refuse_unused(options: Mapping[str, str], reason: str) -> None:
    """A usage error (exit 2) when any of ``options`` (parameter name -> flag) was typed although it would do
    nothing in this run: an option that silently does nothing hides a mistake ("nothing silent")."""
    typed = [flag for name, flag in options.items() if given(name)]
    if typed:
        raise UsageError(f"{'/'.join(typed)}: {reason}")


def parse_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, other = value.partition("=")
        if not sep or not name.strip() or not other.strip():
            raise UsageError(f"{what} takes NAME=VALUE, not {value!r}")
        pairs[name.strip()] = other.strip()
    return pairs


def parse_where(values: Sequence[str], option: str = "--where") -> dict[str, tuple[str, ...]]:
    """``COLUMN=VALUE[,VALUE]`` filters; a malformed one is a usage error naming ``option`` as typed."""
    return {column: tuple(v.strip() for v in value.split(",")) for column, value in parse_pairs(values, option).items()}


def parse_columns(value: str | Sequence[str] | None, what: str | None = None) -> tuple[str, ...]:
    """A comma-separated list of names; with ``what`` (the option), a name given twice is a usage error."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    names = tuple(item.strip() for item in items if item.strip())
    if what:
        twice = sorted(name for name, times in collections.Counter(names).items() if times > 1)  # linear: 2M names
        if twice:
            raise UsageError(f"{what} names {', '.join(twice)} more than once")
    return names


def input_spec(
    releases: str | None,
    convictions: str | None,
    column_map: Sequence[str],
    input_format: str | None,
    extract_date: dt.datetime | None,
    dedupe: bool,
    streaming: bool,
    as_at: dt.datetime | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
) -> InputSpec:
    from ..inputs import InputSpec

    if not releases or not convictions:
        raise UsageError("give both files: RELEASES and CONVICTIONS")
    return InputSpec(
        releases=releases,
        convictions=convictions,
        column_map=parse_pairs(column_map, "--map"),
        input_format=input_format,
        extract_date=extract_date.date() if extract_date else None,
        dedupe=dedupe,
        streaming=streaming,
        as_at=as_at.date() if as_at else None,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
    )


def measure_params(
    *,
    by: str | Sequence[str] | None,
    window: FollowUpWindow,
    period: Period,
    index_rule: IndexRule,
    incomplete: IncompletePolicy,
    exclude_offences: str | None,
    where: Sequence[str],
    latest_cohort: bool,
    confidence: float,
) -> MeasureParams:
    """The cohort options as :class:`MeasureParams`, built where the Python API builds them too
    (:func:`reoffend.runs.common.measure_params`), its messages naming the command line's options."""
    from ..runs.common import command_line_flag
    from ..runs.common import measure_params as build

    return build(
        by=by,
        window=window,
        period=period,
        index=index_rule,
        incomplete=incomplete,
        exclude_offences=exclude_offences,
        where=where,
        latest_cohort=latest_cohort,
        confidence=confidence,
        flag=command_line_flag,
    )


def writer_for_suffix(frame: pl.DataFrame, path: str, option: str = "-o"):
    """A writer for an extra table file: CSV, TSV, Parquet or NDJSON by its extension (CSV without one),
    gzip-compressed when it ends in ``.gz``."""
    return by_name(path, frame_writer(frame, table_format_for(path, option)), option)


def write_errors_file(error: DataError, path: str | None) -> None:
    """``--errors FILE``: the full problem list (CSV, or Parquet/NDJSON by the extension), written atomically.

    When the file cannot be written (a full disk, 74; a folder gone, 73) the validation report is not lost
    behind that failure: the error raised carries both, the report first (docs/cli.md, "Exit status": the
    status is the write's, as for every output that fails).
    """
    if not path:
        return
    try:
        atomic_write(path, writer_for_suffix(error.problems, path, "--errors"), private=True)  # rows' values
    except (OutputWriteError, OutputNotCreatable) as failure:
        raise type(failure)(
            f"{error.summary()}\nand the --errors file was not written: {failure} "
            "(the problems above are the validation report)"
        ) from None


def load_or_report(
    spec: InputSpec,
    errors_file: str | None,
    extra_required=None,
    *,
    out: Output | None = None,
    excluded_offences: frozenset[str] = frozenset(),
    release_columns: Collection[str] | None = None,
    prefetch: Mapping[str, Query] | None = None,
) -> ValidatedInputs:
    """Load and validate the inputs, inside :func:`errors_reported` (which writes ``--errors`` for invalid data,
    once: a second write would repeat the list on a device or a pipe). On valid data a regular ``--errors``
    file is written with no problem rows (docs/data.md), so that a file left by an earlier failed run is never
    read as this run's.

    With ``out``, valid inputs that are probably not what was meant are warned about
    (:func:`reoffend.validate.input_warnings`). The queries of those warnings and ``prefetch`` (queries the
    command will make) are collected with validation's own pass (:func:`reoffend.validate.validate_inputs`).
    """
    from ..inputs import load_inputs
    from ..validate import input_warnings, warning_queries

    queries = {**(warning_queries(excluded_offences) if out is not None else {}), **(prefetch or {})}
    inputs = load_inputs(spec, extra_required, release_columns, queries)
    if errors_file and not is_direct(errors_file):  # valid: a file says so (no problem rows), never yesterday's
        write_errors_file(DataError(pl.DataFrame(schema=PROBLEM_SCHEMA)), errors_file)
    if out is not None:
        for warning in input_warnings(inputs, excluded_offences):
            out.warn(warning)
    return inputs


@contextlib.contextmanager
def errors_reported(errors_file: str | None):
    """Write ``--errors`` for a DataError raised inside: invalid inputs (:func:`load_or_report`), or e.g.
    incomplete follow-up found while measuring. Every command loads its inputs inside this."""
    try:
        yield
    except DataError as error:
        write_errors_file(error, errors_file)
        raise


# ------------------------------------------------------------------------------------------------ output
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


# ------------------------------------------------------------------------------ a small result without polars
RECORD_FORMATS = {"csv": ",", "tsv": "\t", "json": ""}  # written from a Records (the separator of its cells)


@dataclass(frozen=True)
class Records:
    """A small result as plain dicts, one a row with its keys in column order, beside its column types (a typed
    row class's :meth:`reoffend.report.schema.Row.column_types`) and a function that makes its polars frame.

    CSV, TSV and JSON (:data:`RECORD_FORMATS`) are written from the dicts, byte for byte as from the frame, so
    that ``reoffend power`` from numbers loads no polars (issue 30); the table, the other formats and
    ``--columns`` take the frame.
    """

    rows: list[dict[str, Any]]
    kinds: Mapping[str, type]  # column -> str, int, float or bool
    frame: Callable[[], pl.DataFrame]

    @property
    def height(self) -> int:
        return len(self.rows)

    def typed_rows(self) -> list[dict[str, Any]]:
        """The rows with each value of a float column a float, as the frame holds it (``12`` is ``12.0``)."""
        floats = [name for name, kind in self.kinds.items() if kind is float]
        return [{**row, **{name: float(row[name]) for name in floats if row[name] is not None}} for row in self.rows]


def records_csv(records: Records, separator: str) -> bytes:
    """The rows as polars' ``write_csv`` writes their frame (:func:`csv_cell`): a header, one line a row."""
    columns = list(records.kinds)
    lines = [separator.join(csv_cell(name, separator) for name in columns)]
    lines += [separator.join(csv_cell(row[name], separator) for name in columns) for row in records.typed_rows()]
    return ("\n".join(lines) + "\n").encode()


def csv_cell(value: Any, separator: str) -> str:
    """One cell as polars' ``write_csv`` writes it: null empty, ``true``/``false``, a float by :func:`csv_float`,
    text in quotes (doubled inside) when it is empty or holds the separator, a quote or a line break."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return csv_float(value)
    text = str(value)
    if not text or separator in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_float(value: float) -> str:
    """A float as polars writes it: Python's shortest round-trip digits (``repr``), but in fixed point down to
    1e-5 where Python turns to an exponent below 1e-4 (``0.00005``, not ``5e-05``), an exponent below that
    unpadded (``1.5e-7``, not ``1.5e-07``), and NaN as ``NaN``."""
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    mantissa, exponent_mark, exponent = text.partition("e")
    if not exponent_mark or not exponent.startswith("-"):
        return text
    if int(exponent) == -5:
        sign = "-" if mantissa.startswith("-") else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    return f"{mantissa}e{int(exponent)}"


# ----------------------------------------------------------------------------------------------- tables
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


PERCENT_COLUMNS = {"binary_rate", "binary_rate_low", "binary_rate_high"}
# a verdict column (a view's "Significant (adjusted)", "Target", a balance table's "SMD after"; a result's
# events_verdict, target_met): kept
# on a narrow terminal before any detail (:func:`reoffend.cli.tables.plan_columns`)
VERDICT_COLUMN = re.compile(r"(^|[ _])(significant|verdict|target|smd)")
# a p-value column of any result (docs/output-dictionary.md): p_reduction, binary_p_adjusted, ...
P_COLUMN = re.compile(r"(^|_)p_(two_sided|reduction|increase|adjusted|value)$")


def default_format(column: str, value: Any) -> str:
    """A cell of a table without a view of its own (``--columns``): a p-value as every table and headline
    prints it (:func:`reoffend.report.format.p_value`: ``0.044``, ``< 0.001``), never rounded to two decimals
    (``0.05`` beside a significant verdict, ``0.00``)."""
    if value is None:
        return "–"
    if P_COLUMN.search(column) and isinstance(value, float):
        return p_value(value)
    if column in PERCENT_COLUMNS or column.endswith("_rate") or column.endswith("_share"):
        return pct(value)
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def render_table(
    rows: pl.DataFrame,
    *,
    title: str = "",
    formats: Mapping[str, Callable] | None = None,
    caption: str | None = None,
    console: Console | None = None,
    numeric: Sequence[bool] = (),
) -> None:
    """A human table on standard output: rates as percentages with one decimal (display only).

    Columns that do not fit the terminal's width whole are left out, from the right, and named under the table
    (:mod:`reoffend.cli.tables`); the first column is always shown, and no cell or header word is cut.
    """
    from rich.table import Table
    from rich.text import Text

    console = console or pipe_console()
    formats = formats or {}

    def as_label(text: str) -> str:
        # a value from the data: one line, every control character and tab escaped, never cut to 4,000
        # characters by printable (fit_labels cuts it to the table, and counts what it leaves out)
        return escape_controls(one_line(text)).replace("\t", "\\t")

    headers, cells, cut = fit_labels(
        [as_label(column.replace("_", " ")) for column in rows.columns],
        [
            [as_label(formats[c](v) if c in formats else default_format(c, v)) for c, v in row.items()]
            for row in rows.iter_rows(named=True)
        ],
        console.width,
    )
    verdicts = [index for index, column in enumerate(rows.columns) if VERDICT_COLUMN.search(column.lower())]
    plan = plan_columns(headers, cells, console.width, verdicts=verdicts)
    shown = [index for index, _ in plan]
    # a title carries labels (--site) and a caption names from the data (unseen values): one line of the title,
    # every control character escaped, and never rich markup ("[reverse]EST1[/reverse]" is shown as written)
    table = Table(
        title=Text(printable(one_line(title))) if title else None,
        caption=Text(printable(caption)) if caption else None,
        header_style="bold",
    )
    # right-aligned: numeric columns, or those a table spec (reoffend.report.tables) declares numeric
    right = list(numeric) or [dtype.is_numeric() for dtype in rows.dtypes]
    for index, width in plan:
        is_numeric = index < len(right) and right[index]
        table.add_column(Text(headers[index]), justify="right" if is_numeric else "left", width=width)
    for row in cells:
        # cells are data, never rich markup: "[c]" (a suppressed cell) or a value in brackets is shown as is
        table.add_row(*[Text(row[index]) for index in shown])
    try:
        console.print(table)
    except OSError as error:  # a closed pipe is handled by pipe_console(); this is a full disk or an I/O error
        raise OutputWriteError(f"writing standard output: {os_reason(error)}") from None
    if len(shown) < len(headers):
        hidden = [header for index, header in enumerate(headers) if index not in shown]
        console.print(hidden_note(hidden, console.width), highlight=False, markup=False)
    if cut:
        console.print(
            "Long labels are cut to fit the terminal: '… (N more)' counts the characters left out. See them whole "
            "with --format csv or --json.",
            highlight=False,
            markup=False,
        )
