"""``reoffend power``: minimum detectable reduction, or the cohort size needed (docs/power.md)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from ..compare.power import (
    Baseline,
    PowerParams,
    PowerResult,
    achieved_power,
    check_measured_baseline,
    measure_baseline,
    minimum_detectable,
    needed_size,
    power_curve,
)
from ..compare.rows import PowerRow
from ..errors import UsageError
from ..lazy_import import lazy_module
from ..report.views import power_headlines
from .inputs import errors_reported, load_or_report
from .options import (
    RECORD_ONLY,
    FiniteFloatRange,
    alpha_option,
    deferred_cohort_options,
    given,
    optional_input_options,
    output_options,
    refuse_unused,
    sided_option,
    window_options,
)
from .output import figure_bytes, plot_format_for
from .parsing import parse_columns, split_site
from .records import Records

if TYPE_CHECKING:
    import polars as pl

    from ..inputs import InputSpec
    from ..measure import MeasureParams
    from ..run_warnings import RunWarning
else:
    pl = lazy_module("polars")


def _without(*names):
    """Drop options of a shared decorator that mean nothing here (e.g. --confidence for power)."""

    def apply(function):
        function.__click_params__ = [p for p in function.__click_params__ if p.name not in names]
        return function

    return apply


def _rate(text: str | None) -> float | None:
    """A rate as a proportion (0.53) or a percentage (53%)."""
    if text is None:
        return None
    value = text.strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(f"--baseline-rate takes a proportion (0.53) or a percentage (53%), not {text!r}") from None


MIN_REDUCTION = 0.01  # points per 100: a smaller reduction needs cohorts beyond any population
# a baseline beyond these was accepted and printed as a number of 300 digits (issue 24, exit 70 class): 100 events
# an offender, and a variance from a hundredth to a thousand times the mean, are beyond any reoffending data
MAX_EVENTS_PER_100 = 10_000
MIN_DISPERSION, MAX_DISPERSION = 0.01, 1_000
MAX_COHORT = 1_000_000_000  # a cohort size beyond any population (and beyond exact integer arithmetic in floats)


def _numbers(values, what: str, kind=float, low: float | None = None, high: float | None = None) -> list:
    """Comma-separated numbers of ``what``; each must lie in [low, high] (a usage error otherwise, exit 2)."""
    items = [item for value in values for item in parse_columns(value)]
    try:
        numbers = [kind(item) for item in items]
    except ValueError:
        raise UsageError(f"{what} takes numbers separated by commas, not {', '.join(items)!r}") from None
    for item, number in zip(items, numbers, strict=True):
        if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
            raise UsageError(f"{what} {item}: must be from {low:g} to {high:g}")
    return numbers


def _size(item: str) -> int:
    """A cohort size: a whole number, written plainly or as 1e6."""
    number = float(item)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(item)
    return int(number)


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
    params = PowerParams(alpha=alpha, power=power_level, sided=sided)
    out.expect_columns(PowerRow.columns())
    wanted = ("binary", "frequency") if measures == "both" else (measures,)
    if "frequency" not in wanted:
        refuse_unused(
            {"baseline_events": "--baseline-events", "dispersion": "--dispersion"},
            "applies only to the frequency measure; give --measure frequency or both, or leave it out",
        )
    if "binary" not in wanted:
        refuse_unused(
            {"baseline_rate": "--baseline-rate"}, "applies only to the binary measure; give --measure binary or both"
        )
    if not site:
        refuse_unused({"site_column": "--site-column"}, "goes with --site (it names the column of --site)")
    if not (spec or baseline_cohort or site):
        refuse_unused(RECORD_ONLY, "measures records; give RELEASES CONVICTIONS --baseline COHORT, or leave it out")
    with out.status("reading the inputs") as progress, errors_reported(errors_file):
        run = power_run(
            spec,
            measurement,
            params,
            wanted=wanted,
            site=site,
            site_column=site_column,
            baseline_cohort=baseline_cohort,
            baseline_rate=baseline_rate,
            baseline_events=baseline_events,
            dispersion=dispersion,
            current_size=current_size,
            baseline_size=baseline_size,
            reduction=reduction,
            ratio=ratio,
            power_given=given("power_level"),
            errors_file=errors_file,
            stage=progress.stage,
        )
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


@dataclass
class PowerRun:
    """One run of ``power`` as the command and the Python API (reoffend.api.power) share it."""

    rows: Records  # CSV, TSV and JSON written without polars; rows.frame() is the checked polars frame
    results: list[PowerResult]
    baselines: list[Baseline]
    parameters: dict[str, object]
    metadata: dict[str, object]
    warnings: list[RunWarning]
    headline: str


def power_run(
    spec: InputSpec | None,
    measurement: Callable[[], MeasureParams],
    params: PowerParams,
    *,
    wanted: tuple[str, ...],
    site: str | None,
    site_column: str,
    baseline_cohort: str | None,
    baseline_rate: str | None,
    baseline_events: float | None,
    dispersion: float | None,
    current_size: Sequence[str],
    baseline_size: int | None,
    reduction: Sequence[str],
    ratio: float | None,
    power_given: bool,
    errors_file: str | None = None,
    stage: Callable[[str], None] | None = None,
) -> PowerRun:
    """From numbers or from records (a measured baseline cohort): the detectable reduction, the cohort size
    needed, or the power (docs/power.md); everything of ``power`` but the option checks of click and the output.
    ``current_size`` and ``reduction`` are the command's texts (``"500,800"``); ``power_given``: ``--power`` was
    given (then sizes and reductions together are an error: the power is what they compute)."""
    metadata: dict[str, object] = {}
    parameters: dict[str, object] = {}
    baseline_rate_value: float | None
    baseline_events_value: float | None
    if spec or baseline_cohort or site:
        if not (spec and baseline_cohort):
            raise UsageError("from records, give RELEASES CONVICTIONS and --baseline COHORT")
        if baseline_rate is not None or baseline_events is not None:
            raise UsageError("--baseline-rate/--baseline-events are measured from the records; do not give them too")
        from ..cohort import check_values_present

        site_column, site = split_site(site_column, site)
        measured_with = measurement()  # reads --exclude-offences, parses --where (deferred_cohort_options)
        extra_required = {"convictions": ("offence_code",)} if measured_with.excluded_offences else None
        inputs = load_or_report(spec, errors_file, extra_required)
        if stage is not None:
            stage("measuring the baseline")
        if site:
            check_values_present(inputs.releases, {site_column: (site,)}, inputs.names["releases"], "--site")
        measured = measure_baseline(inputs, measured_with, baseline_cohort, site=site, site_column=site_column)
        convictions_name, conviction_rows = inputs.names["convictions"], inputs.row_counts["convictions"]
        check_measured_baseline(measured, wanted, convictions_name, conviction_rows, dispersion is not None)
        baseline_rate_value = measured.binary_rate
        baseline_events_value = measured.events_per_100
        baseline_size = baseline_size or measured.cohort_size
        if dispersion is None and "frequency" in wanted:
            if measured.dispersion is None:
                raise UsageError(
                    "cannot estimate the dispersion from the baseline cohort (no events); give --dispersion"
                )
            dispersion = measured.dispersion
        metadata = {k: v for k, v in measured.metadata.items() if k != "measure"}
        metadata["baseline_cohort"] = measured.as_dict()
        parameters = {"source": "records", "inputs": spec.as_dict(), **measured.metadata["measure"], "site": site}
    else:
        baseline_rate_value = _rate(baseline_rate)
        baseline_events_value = baseline_events
        dispersion = 1.0 if dispersion is None else dispersion
        parameters = {"source": "numbers"}
    baselines = []
    for measure_name in wanted:
        if measure_name == "binary":
            if baseline_rate_value is None:
                raise UsageError("--baseline-rate is required for the binary measure (or give record files)")
            baselines.append(Baseline("binary", baseline_rate_value))
        else:
            if baseline_events_value is None:
                raise UsageError("--baseline-events is required for --measure frequency (or give record files)")
            assert dispersion is not None, "measured or 1 above whenever the frequency measure is wanted"
            baselines.append(Baseline("frequency", baseline_events_value, dispersion))
    reductions = _numbers(reduction, "--reduction", float, MIN_REDUCTION, 100)
    sizes = _numbers(current_size, "--current-size", _size, 1, MAX_COHORT)
    solve_power = bool(reductions) and bool(sizes or (baseline_size and not measured_size(parameters)))
    if solve_power and power_given:
        raise UsageError(
            "--power is what is computed when cohort sizes and --reduction are both given; leave it out (or drop "
            "the sizes to find the size needed for that power)"
        )
    if ratio is not None and not (reductions and not solve_power and baseline_size is None):
        raise UsageError(
            "--ratio sets the current cohort's size relative to the baseline's when both are solved: it goes with "
            "--reduction and no cohort size"
        )
    results: list[PowerResult] = []
    for base_value in baselines:
        if solve_power:
            current = sizes or [baseline_size]
            results.append(
                achieved_power(base_value, current, [baseline_size or n for n in current], reductions, params)
            )
        elif reductions:
            results.append(needed_size(base_value, reductions, baseline_size, params, ratio=ratio or 1.0))
        else:
            current = sizes or ([baseline_size] if baseline_size else [])
            if not current:
                raise UsageError("give --current-size and/or --baseline-size, or --reduction")
            results.append(minimum_detectable(base_value, current, [baseline_size or n for n in current], params))
    # plain rows, so that CSV, TSV and JSON are written without polars; the table and other formats take the frame
    frame = functools.cache(lambda: pl.concat([r.rows for r in results]))
    kinds = {name: column.kind for name, column in PowerRow.column_types().items()}
    rows = Records([row for result in results for row in result.records], kinds, frame)
    parameters.update(
        {
            **params.as_dict(),
            "measure": list(wanted),
            "dispersion": dispersion if "frequency" in wanted else None,
            "baseline_size": baseline_size,
            "current_size": sizes,
            "reduction": reductions,
            "ratio": ratio,
        }
    )
    run_warnings = [warning for result in results for warning in result.warnings]
    headline = "\n".join(power_headlines(r) for r in results)
    return PowerRun(rows, results, baselines, parameters, metadata, run_warnings, headline)


def measured_size(parameters: dict) -> bool:
    """Whether the baseline size came from records (then a reduction alone still asks for the size needed)."""
    return parameters.get("source") == "records"


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


def display_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The terminal view: one column per calculation, one line per quantity, rounded for reading."""

    def num(value, decimals: int = 1) -> str:
        return "–" if value is None else f"{value:,.{decimals}f}"

    def size(value, solved: bool) -> str:
        if value is None:
            return "none large enough"
        return f"{value:,}" + (" (needed)" if solved else "")

    def unit(row) -> str:
        return "pp" if row["measure"] == "binary" else "events/100"

    items = [
        ("measure", lambda r: "binary rate" if r["measure"] == "binary" else "events per 100"),
        ("baseline", lambda r: f"{num(r['baseline_per_100'])}{'%' if r['measure'] == 'binary' else ''}"),
        ("dispersion (variance/mean)", lambda r: "" if r["dispersion"] is None else num(r["dispersion"], 2)),
        ("current cohort size", lambda r: size(r["current_size"], r["solved_for"] in ("cohort_size", "current_size"))),
        ("baseline cohort size", lambda r: size(r["baseline_size"], r["solved_for"] == "cohort_size")),
        (
            "reduction",
            lambda r: (
                f"{num(r['reduction_per_100'])} {unit(r)}" + (" (detectable)" if r["solved_for"] == "reduction" else "")
            ),
        ),
        ("  relative to baseline", lambda r: f"{num(r['reduction_relative_pct'])}%"),
        ("current value per 100", lambda r: num(r["current_per_100"])),
        ("power", lambda r: f"{num(100 * r['power'])}%" + (" (achieved)" if r["solved_for"] == "power" else "")),
    ]
    if rows["dispersion"].null_count() == rows.height:
        items = [item for item in items if not item[0].startswith("dispersion")]
    data = {"": [name for name, _ in items]}
    for number, row in enumerate(rows.iter_rows(named=True), start=1):
        data[f"#{number}"] = [render(row) for _, render in items]
    return pl.DataFrame(data, schema={k: pl.String for k in data})
