"""``reoffend compare baseline``: a site's cohort against its own baseline cohort (docs/comparisons-baseline.md)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..compare.rows import BaselineRow
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from ..report.terminal.baseline import display_rows
from ..runs.baseline import BaselineRecords, PublishedCounts, baseline_params, baseline_run
from .caller import command_caller
from .inputs import errors_reported
from .options import (
    RUN_RECORD_ONLY,
    alpha_option,
    cohort_options,
    fail_unless_significant_option,
    multiple_testing_option,
    optional_input_options,
    output_options,
    sided_option,
    typed,
    window_options,
)


def comparison_options(function):
    """The verdict options shared with nothing else: test level and side, target, schedule, cron exit."""
    options = [
        alpha_option(),
        sided_option(),
        multiple_testing_option(),
        click.option("--target", type=float, metavar="PP", help="Contract target: a reduction of at least PP points."),
        click.option(
            "--schedule",
            type=click.Path(),
            help="TOML payment schedule: [[step]] tables of reduction_pp and payment; the highest step reached.",
        ),
        fail_unless_significant_option(
            "Exit with status 1 (after writing the output) unless every reduction is significant "
            "(after the --multiple-testing adjustment)."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command("baseline")
@optional_input_options
@window_options
@cohort_options
@click.option(
    "--site",
    metavar="VALUE",
    help="The site whose cohorts are compared: a value of --site-column, or COLUMN=VALUE.",
)
@click.option(
    "--site-column", default="establishment", show_default=True, metavar="COLUMN", help="Release column of --site."
)
@click.option(
    "--current",
    multiple=True,
    metavar="COHORT[,COHORT]",
    help="Current cohort label(s); several give one row each against the same baseline.",
)
@click.option("--baseline", "baseline_cohort", metavar="COHORT", help="Baseline cohort label.")
@click.option(
    "--current-counts",
    multiple=True,
    metavar="[LABEL=]X/N",
    help="Published counts instead of records: X reoffenders of N. Repeatable.",
)
@click.option("--baseline-counts", metavar="[LABEL=]X/N", help="Published baseline counts: X reoffenders of N.")
@comparison_options
@output_options
@click.pass_context
def compare_baseline(
    ctx,
    spec,
    errors_file,
    measurement,
    site,
    site_column,
    current,
    baseline_cohort,
    current_counts,
    baseline_counts,
    alpha,
    sided,
    multiple_testing,
    target,
    schedule,
    fail_unless_significant,
    out,
):
    """Doncaster style: a site's current cohort(s) against its own baseline cohort, binary measure.

    From records (RELEASES CONVICTIONS --site --current --baseline), or from published counts without files
    (--current-counts --baseline-counts).

    Reports both rates (Wilson intervals), the difference and the reduction in percentage points, the pooled
    two-proportion z test, the verdict with its direction beside the score interval that agrees with it
    (90% for a one-sided test at 5%; Newcombe's interval beside it), the --target verdict and the
    --schedule step reached (reoffend docs comparisons-baseline).
    """
    params = baseline_params(
        confidence=measurement.confidence,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
        target=target,
        schedule=schedule,
    )
    out.expect_columns(BaselineRow.columns())
    source = comparison_source(
        ctx, spec, measurement, site, site_column, current, baseline_cohort, current_counts, baseline_counts
    )
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = baseline_run(source, params, command_caller(out, errors_file, progress), typed(RUN_RECORD_ONLY))
    result = run.result
    for warning in result.warnings:
        out.warn(warning)
    view, numeric = display_rows(result)
    out.emit(
        result.rows,
        parameters=run.parameters,
        metadata=result.metadata,
        title="Against the baseline" + (f": {result.site}" if result.site else ""),
        display=view,
        display_numeric=numeric,
        extra_json={"headline": run.headline.splitlines(), **({"rounding": run.rounding} if run.rounding else {})},
        headline=run.headline,
    )
    if fail_unless_significant and not result.all_significant():
        ctx.exit(1)


def comparison_source(
    ctx: click.Context,
    spec: InputSpec | None,
    measurement: MeasureParams,
    site: str | None,
    site_column: str,
    current: Sequence[str],
    baseline_cohort: str | None,
    current_counts: Sequence[str],
    baseline_counts: str | None,
) -> PublishedCounts | BaselineRecords:
    """Published counts or records, as the options say (never both; record files named in a shared --config do
    not clash with counts given on the command line); options that would do nothing are refused by the run
    (:func:`reoffend.runs.baseline.baseline_run`)."""
    from_counts = bool(current_counts or baseline_counts)

    def given(name: str, value) -> bool:
        from_config = ctx.get_parameter_source(name) == click.core.ParameterSource.DEFAULT_MAP
        return bool(value) and not (from_counts and from_config)

    from_records = any(
        given(name, value)
        for name, value in (
            ("releases", spec and spec.releases),
            ("convictions", spec and spec.convictions),
            ("current", current),
            ("baseline_cohort", baseline_cohort),
            ("site", site),
        )
    )
    if from_counts and from_records:
        raise UsageError(
            "give either record files with --current/--baseline, or --current-counts/--baseline-counts, not both"
        )
    if not from_counts and not from_records:
        raise UsageError(
            "nothing to compare: give RELEASES CONVICTIONS --current COHORT --baseline COHORT, "
            "or --current-counts X/N --baseline-counts X/N"
        )
    if from_counts:
        return PublishedCounts(current_counts, baseline_counts or "")
    if spec is None:
        raise UsageError("comparing records needs both files: RELEASES CONVICTIONS")
    return BaselineRecords(spec, measurement, site, site_column, current, baseline_cohort)
