"""``power``: one run, for the command line and the Python API (docs/power.md); from numbers or from records
(a measured baseline cohort). Plain Python from numbers: polars is loaded only to measure records or make the
frame (issue 30)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..compare.power import (
    Baseline,
    PowerParams,
    PowerResult,
    achieved_power,
    check_measured_baseline,
    measure_baseline,
    minimum_detectable,
    needed_size,
)
from ..compare.rows import PowerRow
from ..errors import UsageError
from ..lazy_import import lazy_module
from .common import RECORD_ONLY, Caller, Naming, columns, load, refuse

if TYPE_CHECKING:
    import polars as pl

    from ..inputs import InputSpec
    from ..measure import MeasureParams
    from ..run_warnings import RunWarning
    from .records import Records
else:
    pl = lazy_module("polars")


def _rate(text: str | None, flag: Naming) -> float | None:
    """A rate as a proportion (0.53) or a percentage (53%)."""
    if text is None:
        return None
    value = text.strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(
            f"{flag('baseline_rate')} takes a proportion (0.53) or a percentage (53%), not {text!r}"
        ) from None


MIN_REDUCTION = 0.01  # points per 100: a smaller reduction needs cohorts beyond any population
# a baseline beyond these was accepted and printed as a number of 300 digits (issue 24, exit 70 class): 100 events
# an offender, and a variance from a hundredth to a thousand times the mean, are beyond any reoffending data
MAX_EVENTS_PER_100 = 10_000
MIN_DISPERSION, MAX_DISPERSION = 0.01, 1_000
MAX_COHORT = 1_000_000_000  # a cohort size beyond any population (and beyond exact integer arithmetic in floats)


def _numbers(values, what: str, kind=float, low: float | None = None, high: float | None = None) -> list:
    """Comma-separated numbers of ``what``; each must lie in [low, high] (a usage error otherwise, exit 2)."""
    items = [item for value in values for item in columns(value)]
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


def power_params(alpha: float, power: float | None, sided: str) -> PowerParams:
    """The test's level and side, and the power wanted (None: :class:`PowerParams`' default, 80%)."""
    if power is None:
        return PowerParams(alpha=alpha, sided=sided)  # type: ignore[arg-type]  # checked by PowerParams
    return PowerParams(alpha=alpha, power=power, sided=sided)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PowerQuestion:
    """What ``power`` is asked (docs/power.md): the measures ``wanted``, the baseline's figures (unless measured
    from records), the cohort sizes and reductions (``current_size`` and ``reduction`` as the command's texts,
    ``"500,800"``), and whether a power was asked for (``power_given``: then sizes and reductions together are an
    error, the power being what they compute)."""

    wanted: tuple[str, ...]
    baseline_rate: str | None = None
    baseline_events: float | None = None
    dispersion: float | None = None
    current_size: Sequence[str] = ()
    baseline_size: int | None = None
    reduction: Sequence[str] = ()
    ratio: float | None = None
    power_given: bool = False


@dataclass(frozen=True)
class PowerRecords:
    """Where the baseline is measured from records: the tables (``spec``, None from numbers), the measurement
    (made only when records are measured: it reads the exclusion list; issue 30), the site and its column,
    and the baseline cohort."""

    spec: InputSpec | None = None
    measurement: Callable[[], MeasureParams] | None = None
    site: str | None = None
    site_column: str = "establishment"
    baseline_cohort: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.spec or self.baseline_cohort or self.site)


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


def refuse_unused(question: PowerQuestion, records: PowerRecords, given: Mapping[str, str], flag: Naming) -> None:
    """A usage error for an option given that would do nothing in this run ("nothing silent"): the frequency
    measure's figures with the binary measure alone and the reverse, ``site_column`` without a site, an option of
    the measurement of records from numbers. ``given``: the options the caller set (name -> as it names them);
    the command line's and the Python API's alike."""

    measure = flag("measure")
    if "frequency" not in question.wanted:
        refuse(
            given,
            ("baseline_events", "dispersion"),
            f"applies only to the frequency measure; give {measure} frequency or both, or leave it out",
        )
    if "binary" not in question.wanted:
        refuse(given, ("baseline_rate",), f"applies only to the binary measure; give {measure} binary or both")
    if not records.site:
        refuse(given, ("site_column",), f"goes with {flag('site')} (it names the column of {flag('site')})")
    if not records.given:
        tables = f"{flag('releases')} {flag('convictions')} {flag('baseline')} COHORT"
        refuse(given, RECORD_ONLY, f"measures records; give {tables}, or leave it out")


@dataclass
class BaselineFigures:
    """The baseline the calculation starts from: given as numbers, or measured (with the size of its cohort,
    and the run's metadata and parameters of the measurement)."""

    rate: float | None
    events_per_100: float | None
    dispersion: float | None
    size: int | None
    metadata: dict[str, object]
    parameters: dict[str, object]


def power_run(
    question: PowerQuestion,
    records: PowerRecords,
    params: PowerParams,
    caller: Caller,
    given: Mapping[str, str] | None = None,
) -> PowerRun:
    """From numbers or from records (a measured baseline cohort): the detectable reduction, the cohort size
    needed, or the power (docs/power.md); everything of ``power`` but the output. ``given``: the options the
    caller set (name -> as it names them), refused where they would do nothing (:func:`refuse_unused`)."""
    flag = caller.flag
    refuse_unused(question, records, given or {}, flag)
    figures = measured_figures(question, records, caller) if records.given else given_figures(question, flag)
    baselines = baselines_of(question.wanted, figures, flag)
    reductions = _numbers(question.reduction, flag("reduction"), float, MIN_REDUCTION, 100)
    sizes = _numbers(question.current_size, flag("current_size"), _size, 1, MAX_COHORT)
    results = [
        solve(base, question, figures.size, reductions, sizes, params, records.given, flag) for base in baselines
    ]
    # plain rows, so that CSV, TSV and JSON are written without polars; the table and other formats take the frame
    frame = functools.cache(lambda: pl.concat([r.rows for r in results]))
    kinds = {name: column.kind for name, column in PowerRow.column_types().items()}
    from .records import Records

    rows = Records([row for result in results for row in result.records], kinds, frame)
    parameters = {
        **figures.parameters,
        **params.as_dict(),
        "measure": list(question.wanted),
        "dispersion": figures.dispersion if "frequency" in question.wanted else None,
        "baseline_size": figures.size,
        "current_size": sizes,
        "reduction": reductions,
        "ratio": question.ratio,
    }
    run_warnings = [warning for result in results for warning in result.warnings]
    from ..report.views import power_headlines

    headline = "\n".join(power_headlines(r) for r in results)
    return PowerRun(rows, results, baselines, parameters, figures.metadata, run_warnings, headline)


def given_figures(question: PowerQuestion, flag: Naming) -> BaselineFigures:
    """The baseline as given in numbers (the dispersion 1, Poisson, unless given)."""
    dispersion = 1.0 if question.dispersion is None else question.dispersion
    rate = _rate(question.baseline_rate, flag)
    return BaselineFigures(
        rate, question.baseline_events, dispersion, question.baseline_size, {}, {"source": "numbers"}
    )


def measured_figures(question: PowerQuestion, records: PowerRecords, caller: Caller) -> BaselineFigures:
    """The baseline cohort measured from records (docs/power.md, "From records"): its rate, events per 100,
    dispersion (unless given) and size (unless given)."""
    from ..cohort import check_values_present
    from .parsing import split_site

    flag = caller.flag
    if not (records.spec and records.baseline_cohort and records.measurement):
        raise UsageError(f"from records, give {flag('releases')} {flag('convictions')} and {flag('baseline')} COHORT")
    if question.baseline_rate is not None or question.baseline_events is not None:
        raise UsageError(
            f"{flag('baseline_rate')}/{flag('baseline_events')} are measured from the records; do not give them too"
        )
    site_column, site = split_site(records.site_column, records.site)
    measured_with = records.measurement()  # reads --exclude-offences, parses --where (deferred_cohort_options)
    inputs, _ = load(records.spec, caller, measured_with.excluded_offences, with_warnings=False)
    caller.stage("measuring the baseline")
    if site:
        check_values_present(inputs.releases, {site_column: (site,)}, inputs.names["releases"], flag("site"))
    measured = measure_baseline(inputs, measured_with, records.baseline_cohort, site=site, site_column=site_column)
    convictions_name, conviction_rows = inputs.names["convictions"], inputs.row_counts["convictions"]
    dispersion = question.dispersion
    check_measured_baseline(measured, question.wanted, convictions_name, conviction_rows, dispersion is not None)
    if dispersion is None and "frequency" in question.wanted:
        if measured.dispersion is None:
            raise UsageError(
                f"cannot estimate the dispersion from the baseline cohort (no events); give {flag('dispersion')}"
            )
        dispersion = measured.dispersion
    metadata = {k: v for k, v in measured.metadata.items() if k != "measure"}
    metadata["baseline_cohort"] = measured.as_dict()
    measure_options: Mapping[str, Any] = measured.metadata["measure"]
    parameters = {"source": "records", "inputs": records.spec.as_dict(), **measure_options, "site": site}
    size = question.baseline_size or measured.cohort_size
    return BaselineFigures(measured.binary_rate, measured.events_per_100, dispersion, size, metadata, parameters)


def baselines_of(wanted: Sequence[str], figures: BaselineFigures, flag: Naming) -> list[Baseline]:
    """One baseline per measure wanted; a figure missing is a usage error naming the option."""
    baselines = []
    for measure_name in wanted:
        if measure_name == "binary":
            if figures.rate is None:
                raise UsageError(f"{flag('baseline_rate')} is required for the binary measure (or give record files)")
            baselines.append(Baseline("binary", figures.rate))
        else:
            if figures.events_per_100 is None:
                raise UsageError(
                    f"{flag('baseline_events')} is required for {flag('measure')} frequency (or give record files)"
                )
            assert figures.dispersion is not None, "measured or 1 whenever the frequency measure is wanted"
            baselines.append(Baseline("frequency", figures.events_per_100, figures.dispersion))
    return baselines


def solve(
    base: Baseline,
    question: PowerQuestion,
    baseline_size: int | None,
    reductions: list[float],
    sizes: list[int],
    params: PowerParams,
    measured: bool,
    flag: Naming,
) -> PowerResult:
    """What the numbers given leave to solve: the power (sizes and reductions), the size needed (reductions), or
    the detectable reduction (sizes). A baseline size measured from records does not make it a power question."""
    solve_power = bool(reductions) and bool(sizes or (baseline_size and not measured))
    if solve_power and question.power_given:
        raise UsageError(
            f"{flag('power')} is what is computed when cohort sizes and {flag('reduction')} are both given; leave it "
            "out (or drop the sizes to find the size needed for that power)"
        )
    if question.ratio is not None and not (reductions and not solve_power and baseline_size is None):
        raise UsageError(
            f"{flag('ratio')} sets the current cohort's size relative to the baseline's when both are solved: it goes "
            f"with {flag('reduction')} and no cohort size"
        )
    if solve_power:
        assert sizes or baseline_size, "a power question has cohort sizes"
        current = sizes or [baseline_size or 0]
        return achieved_power(base, current, [baseline_size or n for n in current], reductions, params)
    if reductions:
        return needed_size(base, reductions, baseline_size, params, ratio=question.ratio or 1.0)
    current = sizes or ([baseline_size] if baseline_size else [])
    if not current:
        raise UsageError(f"give {flag('current_size')} and/or {flag('baseline_size')}, or {flag('reduction')}")
    return minimum_detectable(base, current, [baseline_size or n for n in current], params)
