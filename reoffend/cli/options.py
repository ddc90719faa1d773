"""The option stacks a command is assembled from (docs/cli.md): the record files and how to read them, the
follow-up window, the cohorts, ``--by``, the output, the test's level and sides; the option types that refuse a
value before any work, and the checks of which options were typed.

A command is assembled from these parts, as csvkit's tools share its base class's arguments: it stacks the
decorators it needs, and each hands it one value made from its options (``spec``, ``window``, ``measurement``,
``out``), built by :mod:`reoffend.cli.inputs` and :mod:`reoffend.cli.output`::

    @click.command()
    @input_options  # spec: InputSpec, errors_file
    @window_options  # window: FollowUpWindow (under cohort_options)
    @cohort_options  # measurement: MeasureParams
    @output_options  # out: Output, every output option checked before any work
    def command(spec, errors_file, measurement, out):
        with errors_reported(errors_file):  # reoffend.cli.inputs: --errors for invalid data
            inputs = load_or_report(spec, errors_file, out=out)
            ...
        out.emit(rows, parameters=..., metadata=...)  # reoffend.cli.output: the chosen format, atomically

Messages and progress on standard error are :mod:`reoffend.cli.console`'s; the terminal table is
:func:`reoffend.cli.tables.render_table`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import click

from ..intervals import LARGEST_CONFIDENCE, SMALLEST_TAIL
from ..runs.common import refuse
from ..runs.parsing import parse_columns
from ..window import MAX_WINDOW_MONTHS, FollowUpWindow
from .config import config_option
from .inputs import input_spec, measure_params
from .output import OUTPUT_FORMATS, Output, check_output_options


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


# the runs name --index ``index`` (reoffend.runs.common.RECORD_ONLY); click's parameter is ``index_rule``
PARAMETER_NAMES = {"index": "index_rule"}
RUN_RECORD_ONLY = {("index" if name == "index_rule" else name): flag for name, flag in RECORD_ONLY.items()}


def typed(options: Mapping[str, str]) -> dict[str, str]:
    """The options of ``options`` (name as the runs name it -> flag) typed on the command line (or set in the
    environment), for a run to refuse where they would do nothing (:func:`reoffend.runs.common.refuse`): a shared
    config's keys are not refused (docs/cli.md)."""
    return {name: flag for name, flag in options.items() if given(PARAMETER_NAMES.get(name, name))}


def refuse_unused(options: Mapping[str, str], reason: str) -> None:
    """A usage error (exit 2) when any of ``options`` (parameter name -> flag) was typed although it would do
    nothing in this run: an option that silently does nothing hides a mistake ("nothing silent"); the runs'
    refusal (:func:`reoffend.runs.common.refuse`) with the options typed here."""
    refuse({name: flag for name, flag in options.items() if given(name)}, options, reason)
