"""``reoffend compare baseline``: a site's cohort against its own baseline cohort (docs/comparisons-baseline.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
import polars as pl

from ..cohort import check_values_present
from ..compare.baseline import (
    BaselineParams,
    BaselineResult,
    compare_counts,
    compare_records,
    parse_counts,
    read_schedule,
    rounding_check,
)
from ..compare.rows import BaselineRow
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from ..report.tables import baseline_keys, baseline_table
from ..report.views import baseline_headlines, rounding_sentence
from .inputs import errors_reported, load_or_report
from .options import (
    RECORD_ONLY,
    alpha_option,
    cohort_options,
    fail_unless_significant_option,
    multiple_testing_option,
    optional_input_options,
    output_options,
    refuse_unused,
    sided_option,
    window_options,
)
from .output import Output
from .parsing import parse_columns, split_site


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
    params = BaselineParams(
        confidence=measurement.confidence,
        alpha=alpha,
        sided=sided,
        multiple_testing=multiple_testing,
        target_pp=target,
        schedule=read_schedule(schedule) if schedule else (),
    )
    from_counts = bool(current_counts or baseline_counts)

    def given(name: str, value) -> bool:
        # record files named in a shared --config do not clash with counts given on the command line
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
    out.expect_columns(BaselineRow.columns())
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
        if not current_counts or not baseline_counts:
            raise UsageError("--current-counts and --baseline-counts go together")
        refuse_unused(RECORD_ONLY, "measures records; published counts are compared as they are, so leave it out")
        items = [item for value in current_counts for item in value.split(",") if item.strip()]
        labels = ["current"] if len(items) == 1 else [f"current {i}" for i in range(1, len(items) + 1)]
        cohorts = [_counts("--current-counts", item, label) for item, label in zip(items, labels, strict=True)]
        base = _counts("--baseline-counts", baseline_counts, "baseline")
        result = compare_counts(cohorts, base, params, metadata={"source": "counts"})
        # published rates (18%/805) stand for every count that rounds to them: does the verdict hold across them?
        rounding = rounding_check(cohorts, base, params)
        parameters = {"source": "counts", **params.as_dict()}
    else:
        rounding = []
        if not site:
            refuse_unused({"site_column": "--site-column"}, "goes with --site (it names the column of --site)")
        result, parameters = _from_records(
            spec, errors_file, measurement, site, site_column, current, baseline_cohort, params, out
        )
    for warning in result.warnings:
        out.warn(warning)
    view, numeric = display_rows(result)
    headline = "\n".join([baseline_headlines(result), *(rounding_sentence(check) for check in rounding)])
    out.emit(
        result.rows,
        parameters=parameters,
        metadata=result.metadata,
        title="Against the baseline" + (f": {result.site}" if result.site else ""),
        display=view,
        display_numeric=numeric,
        extra_json={"headline": headline.splitlines(), **({"rounding": rounding} if rounding else {})},
        headline=headline,
    )
    if fail_unless_significant and not result.all_significant():
        ctx.exit(1)


def _counts(option: str, text: str, label: str):
    try:
        return parse_counts(text, label)
    except UsageError as error:
        raise UsageError(f"{option} {text.strip()}: {error}") from None


def _from_records(
    spec: InputSpec | None,
    errors_file: str | None,
    measurement: MeasureParams,
    site: str | None,
    site_column: str,
    current_labels: Sequence[str],
    baseline_cohort: str | None,
    params: BaselineParams,
    out: Output,
) -> tuple[BaselineResult, dict]:
    if spec is None:
        raise UsageError("comparing records needs both files: RELEASES CONVICTIONS")
    if not baseline_cohort:
        raise UsageError("--baseline COHORT is required with record files")
    current = [label for value in current_labels for label in parse_columns(value)]
    if not current and not measurement.latest_cohort:
        raise UsageError("--current COHORT (or --latest-cohort) is required with record files")
    if current and measurement.latest_cohort:  # the named cohorts would win, and --latest-cohort do nothing
        raise UsageError("give --current COHORT or --latest-cohort, not both")
    if baseline_cohort in current:  # a cohort against itself: no change by construction, never a finding
        raise UsageError(f"--current {baseline_cohort} is also the --baseline: a cohort cannot be its own baseline")
    site_column, site = split_site(site_column, site)
    extra_required = {"convictions": ("offence_code",)} if measurement.excluded_offences else None
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        inputs = load_or_report(
            spec, errors_file, extra_required, out=out, excluded_offences=measurement.excluded_offences
        )
        progress.stage("measuring and comparing")
        if site:
            check_values_present(inputs.releases, {site_column: (site,)}, inputs.names["releases"], "--site")
        result = compare_records(
            inputs, measurement, params, current=current, baseline=baseline_cohort, site=site, site_column=site_column
        )
    compared: dict[str, Any] = result.metadata.pop("compared")  # type: ignore[assignment]
    parameters = {
        "source": "records",
        "inputs": spec.as_dict(),
        "site": site,
        "site_column": site_column if site else None,
        "current": compared["current"],
        "baseline": baseline_cohort,
        **compared["measure"],
        **params.as_dict(),
    }
    parameters["confidence"] = params.confidence
    return result, parameters


# ----------------------------------------------------------------------------------------------- display
def display_rows(result: BaselineResult) -> tuple[pl.DataFrame, list[bool]]:
    """The terminal view, with the comparison's table spec (reoffend.report.tables: the bulletin's table shows
    the same headers and cells). One comparison: one line per quantity (a tall table that fits any terminal).
    Several: one line per comparison, so a narrow terminal drops detail columns and keeps every comparison and
    its verdict (a column per comparison would drop whole comparisons); the second item says which columns are
    numbers (right-aligned)."""
    rows = result.typed_rows()
    spec = baseline_table(result.params).pick(baseline_keys(result.params, len(rows), bulletin=False))
    if len(rows) == 1:
        return spec.transposed(rows, [row.current for row in rows]), []
    headers = spec.headers()
    frame = pl.DataFrame(spec.cells(rows), schema=dict.fromkeys(headers, pl.String), orient="row")
    return frame, list(spec.numeric())
