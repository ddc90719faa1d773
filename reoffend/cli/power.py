"""``reoffend power``: minimum detectable reduction, or the cohort size needed (docs/power.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..compare.power import (
    Baseline,
    PowerResult,
    power_curve,
)
from ..compare.rows import PowerRow
from ..lazy_import import lazy_module
from ..report.terminal.power import display_rows
from ..runs.power import (
    MAX_COHORT,
    MAX_DISPERSION,
    MAX_EVENTS_PER_100,
    MIN_DISPERSION,
    MIN_REDUCTION,
    PowerQuestion,
    PowerRecords,
    power_params,
    power_run,
)
from .caller import command_caller
from .inputs import errors_reported
from .options import (
    RUN_RECORD_ONLY,
    FiniteFloatRange,
    alpha_option,
    deferred_cohort_options,
    given,
    optional_input_options,
    output_options,
    sided_option,
    typed,
    window_options,
)
from .output import figure_bytes, plot_format_for

if TYPE_CHECKING:
    import polars as pl

else:
    pl = lazy_module("polars")


def _without(*names):
    """Drop options of a shared decorator that mean nothing here (e.g. --confidence for power)."""

    def apply(function):
        function.__click_params__ = [p for p in function.__click_params__ if p.name not in names]
        return function

    return apply


@click.command()
@optional_input_options
@window_options
@_without("confidence", "latest_cohort")
@deferred_cohort_options
@click.option(
    "--site", metavar="VALUE", help="From records: the site whose baseline cohort is measured (or COLUMN=VALUE)."
)
@click.option(
    "--site-column", default="establishment", show_default=True, metavar="COLUMN", help="Release column of --site."
)
@click.option("--baseline", "baseline_cohort", metavar="COHORT", help="From records: the baseline cohort label.")
@click.option(
    "--measure",
    "measures",
    type=click.Choice(["binary", "frequency", "both"]),
    default="binary",
    show_default=True,
    help="Binary rate, reconviction events per 100 (frequency), or both.",
)
@click.option("--baseline-rate", metavar="RATE", help="Baseline binary rate: 0.53 or 53%.")
@click.option(
    "--baseline-events",
    type=FiniteFloatRange(MIN_REDUCTION, MAX_EVENTS_PER_100),
    metavar="PER100",
    help=f"Baseline reconviction events per 100 ({MIN_REDUCTION:g} to {MAX_EVENTS_PER_100:,}).",
)
@click.option(
    "--dispersion",
    type=FiniteFloatRange(MIN_DISPERSION, MAX_DISPERSION),
    metavar="D",
    help=(
        f"Variance/mean of events per offender (1 = Poisson; {MIN_DISPERSION:g} to {MAX_DISPERSION:,}; default 1, "
        "or estimated from records)."
    ),
)
@click.option(
    "--current-size", multiple=True, metavar="N[,N]", help="Current cohort size(s) for the detectable reduction."
)
@click.option("--baseline-size", type=click.IntRange(min=1, max=MAX_COHORT), metavar="N", help="Baseline cohort size.")
@click.option(
    "--reduction",
    multiple=True,
    metavar="X[,X]",
    help="Solve for the cohort size needed to detect this reduction (points per 100: pp for the binary rate); "
    "with --current-size or --baseline-size too, the power to detect it.",
)
@click.option(
    "--ratio",
    type=FiniteFloatRange(min=0, min_open=True, max=1000),
    metavar="R",
    help="With --reduction and no baseline size: the current cohort R times the baseline one [default: 1].",
)
@click.option(
    "--plot",
    "power_plot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Draw power against the reduction for each pair of cohort sizes to FILE.png or FILE.svg.",
)
@alpha_option("Significance level.")
@click.option(
    "--power",
    "power_level",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    help="Chance of detecting the reduction.",
)
@sided_option("One- or two-sided test.")
@output_options
def power(
    spec,
    errors_file,
    measurement,
    site,
    site_column,
    baseline_cohort,
    measures,
    baseline_rate,
    baseline_events,
    dispersion,
    current_size,
    baseline_size,
    reduction,
    ratio,
    power_plot,
    alpha,
    power_level,
    sided,
    out,
):
    """Minimum detectable reduction for given cohort sizes, the cohort size needed for a reduction, or the power.

    From numbers (--baseline-rate, --current-size, --baseline-size): the detectable reduction; with
    --reduction: the cohort size needed; with sizes and --reduction: the power to detect it. From records
    (RELEASES CONVICTIONS --site --baseline): the baseline rate, events per 100, dispersion and baseline size are
    measured (reoffend docs power).
    """
    params = power_params(alpha, power_level, sided)
    out.expect_columns(PowerRow.columns())
    question = PowerQuestion(
        wanted=("binary", "frequency") if measures == "both" else (measures,),
        baseline_rate=baseline_rate,
        baseline_events=baseline_events,
        dispersion=dispersion,
        current_size=current_size,
        baseline_size=baseline_size,
        reduction=reduction,
        ratio=ratio,
        power_given=given("power_level"),
    )
    records = PowerRecords(spec, measurement, site, site_column, baseline_cohort)
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = power_run(question, records, params, command_caller(out, errors_file, progress), typed_options())
    for warning in run.warnings:
        out.warn(warning)
    rows, results, baselines, headline = run.rows, run.results, run.baselines, run.headline
    parameters, metadata = run.parameters, run.metadata
    extra = []
    if power_plot:
        plot = power_plot_bytes(results, baselines, plot_format_for(power_plot, "--plot"))
        extra.append((power_plot, lambda handle: handle.write(plot)))
    out.emit(
        rows,
        extra_outputs=extra,
        parameters=parameters,
        metadata=metadata,
        title="Power",
        display=display_rows(rows.frame()) if out.output_format == "table" else None,
        caption=f"{params.sided}-sided test at alpha {params.alpha:g}"
        + ("" if rows.rows[0]["solved_for"] == "power" else f", power {100 * params.power:g}%"),
        extra_json={"headline": headline.splitlines()},
        headline=headline,
    )


# the options refused where they would do nothing (reoffend.runs.power.refuse_unused), by their names there
TYPED = {
    "baseline_events": "--baseline-events",
    "dispersion": "--dispersion",
    "baseline_rate": "--baseline-rate",
    **RUN_RECORD_ONLY,
}


def typed_options() -> dict[str, str]:
    """The options of :data:`TYPED` typed on the command line (or set in the environment): a shared config's
    keys are not refused where they would do nothing here (docs/cli.md)."""
    return typed(TYPED)


PLOT_PAIRS = 8  # curves drawn at most: more would be unreadable


def power_plot_bytes(results: list[PowerResult], baselines: list[Baseline], plot_format: str) -> bytes:
    """Power against the reduction (:func:`reoffend.compare.power.power_curve`), one curve per pair of cohort
    sizes in the result (at most :data:`PLOT_PAIRS`), one panel per measure; the power asked for (or the
    reductions asked about) marked."""

    def draw(plt):
        figure, axes_list = plt.subplots(1, len(results), figsize=(6.4 * len(results), 4.2), squeeze=False)
        for axes, result, base in zip(axes_list[0], results, baselines, strict=True):
            rows = result.rows
            sizes = zip(rows["current_size"].to_list(), rows["baseline_size"].to_list(), strict=True)
            pairs = list(dict.fromkeys(sizes))
            for n1, n0 in [p for p in pairs if None not in p][:PLOT_PAIRS]:
                curve = power_curve(base, int(n1), int(n0), result.params)
                axes.plot(curve["reduction_per_100"], 100 * curve["power"], label=f"{n1:,} against {n0:,}")
            if rows["solved_for"][0] == "power":
                for value in rows["reduction_per_100"].unique().sort().to_list():
                    axes.axvline(value, color="0.5", lw=0.8, ls=":")
            else:
                axes.axhline(100 * result.params.power, color="0.5", lw=0.8, ls="--")
            unit = "percentage points" if base.measure == "binary" else "reconviction events per 100"
            axes.set_xlabel(f"reduction ({unit})")
            axes.set_ylabel("power (%)")
            axes.set_ylim(0, 100)
            axes.set_xlim(0, base.per_100)
            axes.set_title(
                f"Power, {'binary rate' if base.measure == 'binary' else 'events per 100'} from {base.per_100:.1f}"
                f" ({result.params.sided}-sided test at {result.params.alpha:g})",
                fontsize=10,
            )
            axes.legend(title="current against baseline releases", fontsize=8, title_fontsize=8)
            axes.grid(alpha=0.3)
        figure.tight_layout()
        return figure

    return figure_bytes(draw, plot_format)
