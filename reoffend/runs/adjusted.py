"""``compare adjusted``: one run, for the command line and the Python API (docs/comparisons-adjusted.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..compare.adjusted import AdjustedParams, AdjustedResult, run_adjusted, shift_is_warned
from ..compare.design import parse_forms
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from ..run_warnings import RunWarning
from .common import Caller, Filters, Naming, columns, filters, items, keyword, load_and_warn


def adjusted_params(
    measurement: MeasureParams,
    *,
    covariates: str | Sequence[str],
    baseline: str | Sequence[str],
    covariate_form: Mapping[str, str] | Sequence[str] | None = None,
    baseline_filter: Filters | None = None,
    current: str | Sequence[str] | None = None,
    current_filter: Filters | None = None,
    by: str | Sequence[str] = "establishment",
    count_model: str = "negbin",
    unseen: str = "error",
    parameter_uncertainty: bool = False,
    relative_to: str = "baseline",
    alpha: float = 0.05,
    sided: str = "one",
    multiple_testing: str = "holm",
    flag: Naming = keyword,
) -> AdjustedParams:
    """The risk-adjusted comparison's parameters: the baseline cohorts the models are fitted on, the covariates,
    the current cohorts compared (named, or ``measurement.latest_cohort``: the last) and per what (``by``)."""
    current_cohorts = columns(current) if current else None
    if current_cohorts and measurement.latest_cohort:  # the named cohorts would win, latest_cohort do nothing
        raise UsageError(f"give {flag('current')} COHORT or {flag('latest_cohort')}, not both")
    covariate_names = columns(covariates, flag("covariates"))
    forms = covariate_form if isinstance(covariate_form, Mapping) else items(covariate_form)
    return AdjustedParams(
        covariates=covariate_names,
        covariate_forms=parse_forms(forms, covariate_names, flag("covariate_form")),
        baseline=columns(baseline),
        measure=replace(measurement, by=(), latest_cohort=False),
        baseline_filter=filters(baseline_filter, flag("baseline_filter")),
        current=current_cohorts,
        latest_current=measurement.latest_cohort,
        by=columns(by, flag("by")),
        count_model=count_model,  # type: ignore[arg-type]  # checked by AdjustedParams
        alpha=alpha,
        sided=sided,  # type: ignore[arg-type]
        current_filter=filters(current_filter, flag("current_filter")),
        unseen=unseen,  # type: ignore[arg-type]
        parameter_uncertainty=parameter_uncertainty,
        multiple_testing=multiple_testing,  # type: ignore[arg-type]
        relative_to=relative_to,  # type: ignore[arg-type]
    )


@dataclass
class AdjustedRun:
    """One run of ``compare adjusted``: the core's result (rows, models), the parameters of the JSON and the
    warnings said after the run (the inputs' were said as they were read)."""

    result: AdjustedResult
    parameters: dict[str, Any]
    warnings: list[RunWarning]
    # the result's warnings and the national shift's: the JSON document's ``warnings`` (the inputs' are not in it)
    result_warnings: list[RunWarning]


def adjusted_run(spec: InputSpec, params: AdjustedParams, caller: Caller) -> AdjustedRun:
    """Read the inputs, fit the baseline models and compare (docs/comparisons-adjusted.md)."""
    from .warnings import incomplete_excluded

    inputs = load_and_warn(spec, caller, params.measure.excluded_offences)
    caller.stage("fitting the baseline models and comparing")
    result = run_adjusted(inputs, params)
    found: list[RunWarning] = []
    excluded = result.metadata.get("incomplete_releases_excluded")
    if isinstance(excluded, int) and excluded:
        found.append(incomplete_excluded(excluded))
    result_warnings = [*result.all_warnings(), *national_shift_warnings(result)]
    found.extend(result_warnings)
    return AdjustedRun(result, {"inputs": spec.as_dict(), **params.as_dict()}, found, result_warnings)


def national_shift_warnings(result: AdjustedResult) -> list[RunWarning]:
    """The national shift's warning when the core finds it one (:func:`reoffend.compare.adjusted.shift_is_warned`),
    in the words of :func:`reoffend.report.views.shift_sentence` (docs/cli.md, ``national-shift``)."""
    from ..report.views import shift_sentence

    shift = result.metadata.get("national_shift", {})
    if not shift_is_warned(shift, result.params.relative_to):
        return []
    return [
        RunWarning(
            "national-shift",
            shift_sentence(shift)
            + " Every unit shares this shift: a unit that beat the baseline may only have moved with the rest; "
            # the words of the default run, kept byte for byte; --relative-to others is how to do what they ask
            "compare units with each other (the rest's actual against expected), not only with the baseline",
        )
    ]
