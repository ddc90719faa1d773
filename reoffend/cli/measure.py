"""``reoffend measure`` and ``reoffend validate``: thin wrappers over the core."""

from __future__ import annotations

from dataclasses import replace

import click

from ..disclosure import DisclosureRule
from ..report.terminal.measure import display_rows, measure_spec
from ..runs.measure import measure_run, validate_run
from ..runs.parsing import parse_columns
from .caller import command_caller
from .inputs import errors_reported
from .options import by_option, cohort_options, input_options, output_options, window_options
from .output import writer_for_suffix


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
        caller = command_caller(out, errors_file, progress)
        run = measure_run(
            spec, params, caller, bands=bands, min_cohort=min_cohort, min_count=min_count, per_release=bool(per_release)
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
        run = validate_run(spec, window, incomplete, period, command_caller(out, errors_file))
    out.message(run.message)
    out.emit(run.rows, parameters=run.parameters, metadata=run.metadata, title="Input summary")
