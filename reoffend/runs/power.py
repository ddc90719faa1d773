"""``power``: one run, for the command line and the Python API (docs/power.md); from numbers or from records
(a measured baseline cohort). Plain Python from numbers: polars is loaded only to measure records or make the
frame (issue 30)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from .common import Caller, columns, load

if TYPE_CHECKING:
    import polars as pl

    from ..cli.common import Records
    from ..inputs import InputSpec
    from ..measure import MeasureParams
    from ..run_warnings import RunWarning
else:
    pl = lazy_module("polars")


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
    caller: Caller,
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
        from ..cli.common import split_site
        from ..cohort import check_values_present

        site_column, site = split_site(site_column, site)
        measured_with = measurement()  # reads --exclude-offences, parses --where (deferred_cohort_options)
        inputs, _ = load(spec, caller, measured_with.excluded_offences, with_warnings=False)
        caller.stage("measuring the baseline")
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
    from ..cli.common import Records

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
    headline = "\n".join(r.headline() for r in results)
    return PowerRun(rows, results, baselines, parameters, metadata, run_warnings, headline)


def measured_size(parameters: dict) -> bool:
    """Whether the baseline size came from records (then a reduction alone still asks for the size needed)."""
    return parameters.get("source") == "records"
