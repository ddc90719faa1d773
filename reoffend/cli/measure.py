"""``reoffend measure`` and ``reoffend validate``: thin wrappers over the core."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import click
import polars as pl

from ..banding import band_inputs, parse_band
from ..cohort import Period
from ..disclosure import SUPPRESSED, DisclosureRule, suppress
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import (
    GROUP_MEASURES,
    Engine,
    IncompletePolicy,
    MeasureParams,
    MeasureResult,
    measured_releases,
    release_queries,
    run_metadata,
)
from ..measure import measure as run_measure
from ..offences import breach_like_codes, breach_warning
from ..report.tables import Record, TableSpec, group_column, measure_table
from ..run_warnings import RunWarning
from ..validate import input_warnings, no_reoffence_reason, summarise_inputs, warning_queries
from ..window import FollowUpWindow
from .console import incomplete_excluded, partial_period_warnings
from .inputs import errors_reported, load_or_report
from .options import by_option, cohort_options, input_options, output_options, window_options
from .output import writer_for_suffix
from .parsing import parse_columns
from .tables import render_table

MEASURE_VIEW = (
    "cohort_size",
    "reoffenders",
    "binary_rate",
    "binary_rate_interval",
    "reoffences_per_offender",
    "reoffences_per_reoffender",
    "events_per_100",
    "median_days_to_first",
)


def display_rows(rows: pl.DataFrame, by: tuple[str, ...], confidence: float) -> pl.DataFrame:
    """The terminal view of the measures, from the measure table spec (reoffend.report.tables: the bulletin's
    trend, breakdown and establishment tables use the same headers and cells): rounded for reading (the data
    formats keep exact ratios); a figure withheld by --suppress is [c]."""
    return measure_spec(by, confidence).frame(list(rows.iter_rows(named=True)))


def measure_spec(by: tuple[str, ...], confidence: float) -> TableSpec[Record]:
    spec = measure_table(confidence, [group_column(c, c) for c in by])
    return spec.pick([*spec.keys()[: len(by)], *MEASURE_VIEW])  # a group's key may be told apart (with_groups)


@click.command()
@input_options
@window_options
@cohort_options
@by_option
@click.option(
    "--per-release",
    type=click.Path(dir_okay=False),
    help="Also write the per-release audit table to this file (format from its extension). Record-level, so "
    "never disclosure-controlled: not with --suppress (a separate run).",
)
@click.option(
    "--band",
    "bands",
    multiple=True,
    metavar="COL=EDGES",
    help="Band a numeric release column before grouping, e.g. age=18,21,25 ('Under 18', '18 to 20', ..., "
    "'25 and over'). Repeatable.",
)
@click.option(
    "--suppress",
    "min_cohort",
    type=click.IntRange(min=0),
    metavar="N",
    help="Disclosure control: suppress the outcome figures of groups of fewer than N releases, of groups with "
    "fewer than --min-count reoffenders or non-reoffenders, and secondary cells (reoffend docs bulletin).",
)
@click.option(
    "--min-count",
    type=click.IntRange(min=0),
    metavar="M",
    help=f"With --suppress: the smallest count of reoffenders or non-reoffenders published [default: "
    f"{DisclosureRule().min_count}].",
)
@output_options
def measure(spec, errors_file, measurement, by, per_release, bands, min_cohort, min_count, out):
    """Proven reoffending measures per group of index releases.

    Follows each index release for --follow-up months and counts offences in that window proven by a
    conviction before the end of the further --waiting-period (reoffend docs measures). With --suppress, the
    figures of small groups are left empty and named in a 'suppressed' column (shown as [c]).
    """
    params = replace(measurement, by=parse_columns(by, "--by"))
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = measure_run(
            spec,
            params,
            bands=bands,
            min_cohort=min_cohort,
            min_count=min_count,
            per_release=bool(per_release),
            errors_file=errors_file,
            expect_columns=out.expect_columns,
            stage=progress.stage,
        )
    for warning in run.warnings:
        out.warn(warning)
    extra = []
    if per_release:
        extra.append((per_release, writer_for_suffix(run.result.per_release, per_release), True))  # record-level
    out.emit(
        run.rows,
        parameters=run.parameters,
        metadata=run.result.metadata,
        extra_outputs=extra,
        title="Proven reoffending",
        # the rounded terminal view is made only for the table format, the one that shows it
        display=display_rows(run.rows, params.by, params.confidence) if out.output_format == "table" else None,
        display_numeric=measure_spec(params.by, params.confidence).numeric(),
        caption=run.caption,
    )


@dataclass
class MeasureRun:
    """One run of ``measure`` as the command and the Python API (reoffend.api.measure) share it: the rows as
    written (suppressed with --suppress), the core result, the parameters of the JSON, and the warnings."""

    rows: pl.DataFrame
    result: MeasureResult
    parameters: dict[str, Any]
    warnings: list[RunWarning]
    caption: str

    def render(self, console: Any) -> None:
        """The terminal table (``--format table``) on ``console``."""
        params = self.result.params
        render_table(
            display_rows(self.rows, params.by, params.confidence),
            title="Proven reoffending",
            caption=self.caption,
            console=console,
            numeric=measure_spec(params.by, params.confidence).numeric(),
        )


def measure_run(
    spec: InputSpec,
    params: MeasureParams,
    *,
    bands: Sequence[str] = (),
    min_cohort: int | None = None,
    min_count: int | None = None,
    per_release: bool = False,
    errors_file: str | None = None,
    expect_columns: Callable[[Sequence[str]], None] | None = None,
    stage: Callable[[str], None] | None = None,
) -> MeasureRun:
    """Check the options, read and validate the inputs, measure, and suppress (docs/measures.md): everything of
    ``measure`` but the rendering. ``expect_columns`` checks --columns before any work; ``stage`` says progress."""
    parsed = [parse_band(text) for text in bands]
    twice = sorted(column for column, times in collections.Counter(c for c, _ in parsed).items() if times > 1)
    if twice:  # a dict would keep the last silently
        raise UsageError(f"--band names {', '.join(twice)} more than once; give each column's edges once")
    band_edges = dict(parsed)
    unused = [column for column in band_edges if column not in params.by and column not in params.where]
    if unused:  # banding a column nothing groups or filters by would change nothing, silently
        raise UsageError(
            f"--band {', '.join(unused)}: not in --by (or --where), so the bands would not be used; "
            f"group by it, e.g. --by {','.join(dict.fromkeys([*params.by, *unused]))}"
        )
    if min_count is not None and min_cohort is None:
        raise UsageError("--min-count sets a threshold of disclosure control: it needs --suppress N")
    if per_release and min_cohort is not None:
        raise UsageError(
            "--per-release writes every release's outcome, which cannot be disclosure-controlled, so it cannot be "
            "combined with --suppress; write the audit table in a separate run without --suppress"
        )
    rule = None
    if min_cohort is not None:
        rule = DisclosureRule(
            min_cohort=min_cohort, min_count=DisclosureRule().min_count if min_count is None else min_count
        )
    if expect_columns is not None:
        expect_columns([*params.by, *GROUP_MEASURES, *([SUPPRESSED] if rule is not None else [])])
    extra_required = {"convictions": ("offence_code",)} if params.excluded_offences else None
    used = [*params.by, *params.where, *band_edges]
    inputs = band_inputs(
        load_or_report(
            spec,
            errors_file,
            extra_required,
            release_columns=used,
            prefetch={**warning_queries(params.excluded_offences), **release_queries(params)},
        ),
        band_edges,
    )
    run_warnings = input_warnings(inputs, params.excluded_offences)
    engine: Engine = "streaming" if spec.streaming else "auto"
    if stage is not None:
        stage("measuring")
    result = run_measure(inputs, params, audit_table=per_release, engine=engine)
    run_warnings.extend(partial_period_warnings(result.metadata))
    if not params.excluded_offences and (warning := breach_warning(breach_like_codes(inputs.convictions))):
        run_warnings.append(warning)
    if inputs.row_counts["convictions"] and result.rows["cohort_size"].sum() and not result.rows["reoffenders"].sum():
        kind, reason = no_reoffence_reason(inputs, params.excluded_offences)
        if kind != "ids":  # unlinked ids are warned of with the inputs
            run_warnings.append(
                RunWarning(
                    "no-reoffences",
                    f"no conviction counts as a reoffence, because {reason}: every rate is 0%; check the extract",
                    subjects=[kind],
                )
            )
    excluded = result.metadata.get("incomplete_releases_excluded")
    if isinstance(excluded, int) and excluded:
        run_warnings.append(incomplete_excluded(excluded))
    parameters = {"inputs": spec.as_dict(), **params.as_dict(), "bands": {k: list(v) for k, v in band_edges.items()}}
    rows = result.rows
    if rule is not None:
        # every grouping column's total is assumed published (e.g. by `measure --by ''`): secondary suppression
        # protects each suppressed cell against all of them
        rows = suppress(rows, rule, by=params.by, margins=params.by)
        parameters["disclosure"] = {**rule.as_dict(), "margins": list(params.by)}
    caption = f"{params.window.describe()}; extract date {result.metadata['extract_date']}"
    return MeasureRun(rows, result, parameters, run_warnings, caption)


@click.command()
@input_options
@window_options
@click.option(
    "--incomplete",
    type=click.Choice(["error", "exclude"]),
    default="error",
    show_default=True,
    help="Whether releases with incomplete follow-up are an error, or only reported.",
)
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year", "financial-year"]),
    default="quarter",
    show_default=True,
    help="Cohort period of the per-cohort counts of releases (rows 'releases by quarter', '... by month', ...).",
)
@output_options
def validate(spec, errors_file, window, incomplete, period, out):
    """Check the inputs against every rule of the data documentation and summarise them.

    Exit 0 when the data is valid, 65 with a report naming file, row and column when not (reoffend docs data).
    """
    with errors_reported(errors_file):
        run = validate_run(spec, window, incomplete, period, errors_file)
    out.message(run.message)
    out.emit(run.rows, parameters=run.parameters, metadata=run.metadata, title="Input summary")


@dataclass
class ValidateRun:
    """What ``validate`` reports of valid inputs (the command and reoffend.api.validate share it): the summary
    rows, the parameters and metadata of the JSON, and the one-line verdict."""

    rows: pl.DataFrame
    parameters: dict[str, Any]
    metadata: dict[str, Any]
    message: str


def validate_run(
    spec: InputSpec,
    window: FollowUpWindow,
    incomplete: IncompletePolicy,
    period: Period,
    errors_file: str | None = None,
) -> ValidateRun:
    """Validate the inputs (docs/data.md: a DataError when a rule fails) and summarise them per ``period``."""
    params = MeasureParams(window=window, by=("cohort",), period=period, index="all", incomplete=incomplete)
    inputs = load_or_report(spec, errors_file)
    releases, facts = measured_releases(inputs, params)
    by_cohort = releases.group_by("cohort").agg(pl.len().alias("releases")).sort("cohort").collect()
    summary = summarise_inputs(inputs)
    metadata = run_metadata(inputs, params.window, facts)
    rows = pl.concat([_summary_rows(summary, inputs, facts), _cohort_rows(by_cohort, period)])
    message = (
        f"valid: {inputs.names['releases']} ({inputs.row_counts['releases']:,} rows) and "
        f"{inputs.names['convictions']} ({inputs.row_counts['convictions']:,} rows)"
    )
    parameters = {"inputs": spec.as_dict(), "window": params.window.as_dict()}
    return ValidateRun(rows, parameters, metadata, message)


def _cohort_rows(by_cohort: pl.DataFrame, period: str) -> pl.DataFrame:
    """One row per cohort of ``--period`` (table ``releases by cohort``): its releases with complete follow-up
    (with ``--incomplete exclude``, those excluded are counted in the run row, not here)."""
    return pl.DataFrame(
        {
            "table": [f"releases by {period}"] * by_cohort.height,
            "item": [str(cohort) for cohort in by_cohort.get_column("cohort")],
            "value": [str(count) for count in by_cohort.get_column("releases")],
        },
        schema={"table": pl.String, "item": pl.String, "value": pl.String},
    )


def _summary_rows(summary, inputs, facts):
    items = [
        ("releases", "rows", summary["releases"]["rows"]),
        ("releases", "people", summary["releases"]["people"]),
        ("releases", "first release_date", summary["releases"]["first_release_date"]),
        ("releases", "last release_date", summary["releases"]["last_release_date"]),
        ("convictions", "rows", summary["convictions"]["rows"]),
        ("convictions", "people", summary["convictions"]["people"]),
        ("convictions", "first offence_date", summary["convictions"]["first_offence_date"]),
        ("convictions", "last offence_date", summary["convictions"]["last_offence_date"]),
        ("convictions", "first conviction_date", summary["convictions"]["first_conviction_date"]),
        ("convictions", "last conviction_date", summary["convictions"]["last_conviction_date"]),
        ("run", "extract date", inputs.extract_date),
        ("run", "extract date source", inputs.extract_date_source),
        ("run", "releases with incomplete follow-up", facts.get("incomplete_releases_excluded", 0)),
        ("run", "duplicate rows dropped", inputs.deduplicated_rows),
    ]
    return pl.DataFrame(
        {
            "table": [t for t, _, _ in items],
            "item": [i for _, i, _ in items],
            "value": ["" if v is None else str(v) for _, _, v in items],
        },
    )
