"""``reoffend compare baseline``: a site's cohort against its own baseline cohort (docs/comparisons-baseline.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import click
import polars as pl

from ..cohort import apply_filters, with_cohort
from ..compare.baseline import (
    BaselineParams,
    BaselineResult,
    compare_counts,
    measure_cohorts,
    parse_counts,
    read_schedule,
)
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from .common import (
    Output,
    alpha_option,
    cohort_options,
    errors_reported,
    fail_unless_significant_option,
    input_options,
    load_or_report,
    output_options,
    parse_columns,
    sided_option,
    window_options,
)


def optional_input_options(function):
    """:func:`input_options` with RELEASES and CONVICTIONS optional: published counts need no files."""
    function = input_options(function)
    for param in function.__click_params__:
        if isinstance(param, click.Argument) and param.name in ("releases", "convictions"):
            param.required = False
            param.metavar = f"[{param.metavar}]"
    return function


def comparison_options(function):
    """The verdict options shared with nothing else: test level and side, target, schedule, cron exit."""
    options = [
        alpha_option(),
        sided_option(),
        click.option("--target", type=float, metavar="PP", help="Contract target: a reduction of at least PP points."),
        click.option(
            "--schedule",
            type=click.Path(dir_okay=False),
            help="TOML payment schedule: [[step]] tables of reduction_pp and payment; the highest step reached.",
        ),
        fail_unless_significant_option(
            "Exit with status 1 (after writing the output) unless every reduction is significant."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command("baseline")
@optional_input_options
@window_options
@cohort_options
@click.option("--site", metavar="VALUE", help="The site whose cohorts are compared (a value of --site-column).")
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
    target,
    schedule,
    fail_unless_significant,
    out,
):
    """Doncaster style: a site's current cohort(s) against its own baseline cohort, binary measure.

    From records (RELEASES CONVICTIONS --site --current --baseline), or from published counts without files
    (--current-counts --baseline-counts).

    Reports both rates (Wilson intervals), the difference and the reduction in percentage points (Newcombe
    interval), the pooled two-proportion z test (two-sided p and one-sided p for a reduction), significance
    at --alpha, the --target verdict and the --schedule step reached (reoffend docs comparisons-baseline).
    """
    params = BaselineParams(
        confidence=measurement.confidence,
        alpha=alpha,
        sided=sided,
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
        items = [item for value in current_counts for item in value.split(",") if item.strip()]
        labels = ["current"] if len(items) == 1 else [f"current {i}" for i in range(1, len(items) + 1)]
        cohorts = [_counts("--current-counts", item, label) for item, label in zip(items, labels, strict=True)]
        base = _counts("--baseline-counts", baseline_counts, "baseline")
        result = compare_counts(cohorts, base, params, metadata={"source": "counts"})
        parameters = {"source": "counts", **params.as_dict()}
    else:
        result, parameters = _from_records(
            spec, errors_file, measurement, site, site_column, current, baseline_cohort, params, out
        )
    for warning in result.warnings:
        out.warn(warning)
    out.emit(
        result.rows,
        parameters=parameters,
        metadata=result.metadata,
        title="Against the baseline" + (f": {result.site}" if result.site else ""),
        display=display_rows(result),
        extra_json={"headline": result.headline().splitlines()},
        headline=result.headline(),
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
    where = dict(measurement.where)
    if site:
        where[site_column] = (site,)
    mparams = replace(measurement, by=("cohort",), where=where, latest_cohort=False)
    extra_required = {"convictions": ("offence_code",)} if mparams.excluded_offences else None
    with out.status("measuring"), errors_reported(errors_file):
        inputs = load_or_report(spec, errors_file, extra_required)
        if not current:
            current = [_latest_cohort(inputs, mparams)]
        frame, base, measured = measure_cohorts(inputs, mparams, current, baseline_cohort)
    result = compare_counts(frame, base, params, metadata={"source": "records", **measured.metadata}, site=site)
    parameters = {
        "source": "records",
        "inputs": spec.as_dict(),
        "site": site,
        "site_column": site_column if site else None,
        "current": current,
        "baseline": baseline_cohort,
        **mparams.as_dict(),
        **params.as_dict(),
    }
    parameters["confidence"] = params.confidence
    return result, parameters


def _latest_cohort(inputs, mparams) -> str:
    releases = apply_filters(with_cohort(inputs.releases, mparams.period), mparams.where)
    latest = releases.select(pl.col("cohort").max()).collect().item()
    if latest is None:
        raise UsageError("--latest-cohort: no releases match the site and filters")
    return latest


# ----------------------------------------------------------------------------------------------- display
def display_rows(result: BaselineResult) -> pl.DataFrame:
    """The terminal view: one column per comparison, one line per quantity, rounded for reading."""
    params = result.params
    level = f"{100 * params.confidence:g}% CI"

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f}%"

    def pp(v):
        return "–" if v is None else f"{v:.1f}"

    def p(v):
        return "–" if v is None else ("< 0.001" if v < 0.001 else f"{v:.3f}")

    def yes(v):
        return "–" if v is None else ("yes" if v else "no")

    items: list[tuple[str, Callable[[dict], str]]] = [
        ("current cohort", lambda r: str(r["current"])),
        ("  released / reoffended", lambda r: f"{r['current_size']:,} / {r['current_reoffenders']:,}"),
        ("  rate", lambda r: pct(r["current_rate"])),
        (f"  {level}", lambda r: f"{pct(r['current_rate_low'])} – {pct(r['current_rate_high'])}"),
        ("baseline cohort", lambda r: str(r["baseline"])),
        ("  released / reoffended", lambda r: f"{r['baseline_size']:,} / {r['baseline_reoffenders']:,}"),
        ("  rate", lambda r: pct(r["baseline_rate"])),
        (f"  {level}", lambda r: f"{pct(r['baseline_rate_low'])} – {pct(r['baseline_rate_high'])}"),
        ("difference (pp)", lambda r: pp(r["difference_pp"])),
        ("reduction (pp)", lambda r: pp(r["reduction_pp"])),
        (f"  {level} (Newcombe)", lambda r: f"{pp(r['reduction_pp_low'])} to {pp(r['reduction_pp_high'])}"),
        ("z (pooled)", lambda r: "–" if r["z"] is None else f"{r['z']:.3f}"),
        ("p two-sided", lambda r: p(r["p_two_sided"])),
        ("p one-sided (reduction)", lambda r: p(r["p_reduction"])),
        (f"significant ({params.sided}-sided p < {params.alpha:g})", lambda r: yes(r["significant"])),
    ]
    if params.target_pp is not None:
        items.append((f"target {params.target_pp:g} pp met", lambda r: yes(r["target_met"])))
    if params.schedule:
        items.append(
            (
                "schedule step reached",
                lambda r: (
                    "none"
                    if r["schedule_step_pp"] is None
                    else f"{r['schedule_step_pp']:g} pp (payment {r['schedule_payment']:,.0f})"
                ),
            )
        )
    rows = result.rows.to_dicts()
    headers = [f"{r['current']}" for r in rows]
    headers = [h if headers.count(h) == 1 else f"{h} ({i + 1})" for i, h in enumerate(headers)]
    data = {"": [name for name, _ in items]}
    for header, row in zip(headers, rows, strict=True):
        data[header if header else " "] = [render(row) for _, render in items]
    return pl.DataFrame(data, schema={k: pl.String for k in data})
