"""``compare baseline``: one run, for the command line and the Python API (docs/comparisons-baseline.md); from
published counts or from records."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cohort import check_values_present
from ..compare.baseline import (
    BaselineParams,
    BaselineResult,
    Counts,
    compare_counts,
    compare_records,
    parse_counts,
    read_schedule,
    rounding_check,
)
from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from ..report.views import baseline_headlines, rounding_sentence
from .common import RECORD_ONLY, Caller, columns, load_and_warn, refuse


def baseline_params(
    *,
    confidence: float = 0.95,
    alpha: float = 0.05,
    sided: str = "one",
    multiple_testing: str = "holm",
    target: float | None = None,
    schedule: str | os.PathLike[str] | None = None,
) -> BaselineParams:
    """How the comparison is judged: interval level, test level and side, the target, the payment schedule
    (a TOML file of steps)."""
    return BaselineParams(
        confidence=confidence,
        alpha=alpha,
        sided=sided,  # type: ignore[arg-type]  # checked by BaselineParams
        multiple_testing=multiple_testing,  # type: ignore[arg-type]
        target_pp=target,
        schedule=read_schedule(os.fspath(schedule)) if schedule else (),
    )


@dataclass(frozen=True)
class PublishedCounts:
    """A comparison of published counts (``X/N`` or a rate over N, ``[LABEL=]``), no records."""

    current: Sequence[str]
    baseline: str


@dataclass(frozen=True)
class BaselineRecords:
    """A comparison measured from records: the site (a value of ``site_column``, or ``COLUMN=VALUE``), the
    current cohort labels (``"2023Q1,2023Q2"`` items) and the baseline cohort."""

    spec: InputSpec
    measurement: MeasureParams
    site: str | None
    site_column: str
    current: Sequence[str]
    baseline: str | None


@dataclass
class BaselineRun:
    """One run of ``compare baseline``: the core's result, the parameters of the JSON, the rounding check of
    published rates, and the headline (the verdicts in words, then what rounding allows)."""

    result: BaselineResult
    parameters: dict[str, Any]
    rounding: list[dict[str, Any]]
    headline: str


def baseline_run(
    source: PublishedCounts | BaselineRecords,
    params: BaselineParams,
    caller: Caller,
    given: Mapping[str, str] | None = None,
) -> BaselineRun:
    """Compare the current cohort(s) with the baseline cohort, binary measure (docs/comparisons-baseline.md).
    ``given``: the options the caller set (name -> as it names them), refused where they would do nothing (a
    measurement option with published counts, ``site_column`` without ``site``)."""
    if isinstance(source, PublishedCounts):
        result, parameters, rounding = _from_counts(source, params, caller, given or {})
    else:
        result, parameters = _from_records(source, params, caller, given or {})
        rounding = []
    headline = "\n".join([baseline_headlines(result), *(rounding_sentence(check) for check in rounding)])
    return BaselineRun(result, parameters, rounding, headline)


def _from_counts(
    source: PublishedCounts, params: BaselineParams, caller: Caller, given: Mapping[str, str]
) -> tuple[BaselineResult, dict[str, Any], list[dict[str, Any]]]:
    flag = caller.flag
    if not source.current or not source.baseline:
        raise UsageError(f"{flag('current_counts')} and {flag('baseline_counts')} go together")
    refuse(given, RECORD_ONLY, "measures records; published counts are compared as they are, so leave it out")
    items = [item for value in source.current for item in value.split(",") if item.strip()]
    labels = ["current"] if len(items) == 1 else [f"current {i}" for i in range(1, len(items) + 1)]
    cohorts = [_counts(flag("current_counts"), item, label) for item, label in zip(items, labels, strict=True)]
    base = _counts(flag("baseline_counts"), source.baseline, "baseline")
    result = compare_counts(cohorts, base, params, metadata={"source": "counts"})
    # published rates (18%/805) stand for every count that rounds to them: does the verdict hold across them?
    rounding = rounding_check(cohorts, base, params)
    return result, {"source": "counts", **params.as_dict()}, rounding


def _counts(option: str, text: str, label: str) -> Counts:
    try:
        return parse_counts(text, label)
    except UsageError as error:
        raise UsageError(f"{option} {text.strip()}: {error}") from None


def _from_records(
    source: BaselineRecords, params: BaselineParams, caller: Caller, given: Mapping[str, str]
) -> tuple[BaselineResult, dict[str, Any]]:
    from .parsing import split_site

    flag, measurement = caller.flag, source.measurement
    if not source.site:
        refuse(given, ("site_column",), f"goes with {flag('site')} (it names the column of {flag('site')})")
    if not source.baseline:
        raise UsageError(f"{flag('baseline')} COHORT is required with record files")
    current = [label for value in source.current for label in columns(value)]
    if not current and not measurement.latest_cohort:
        raise UsageError(f"{flag('current')} COHORT (or {flag('latest_cohort')}) is required with record files")
    if current and measurement.latest_cohort:  # the named cohorts would win, and latest_cohort do nothing
        raise UsageError(f"give {flag('current')} COHORT or {flag('latest_cohort')}, not both")
    if source.baseline in current:  # a cohort against itself: no change by construction, never a finding
        raise UsageError(
            f"{flag('current')} {source.baseline} is also the {flag('baseline')}: a cohort cannot be its own baseline"
        )
    site_column, site = split_site(source.site_column, source.site)
    inputs = load_and_warn(source.spec, caller, measurement.excluded_offences)
    caller.stage("measuring and comparing")
    if site:
        check_values_present(inputs.releases, {site_column: (site,)}, inputs.names["releases"], flag("site"))
    result = compare_records(
        inputs, measurement, params, current=current, baseline=source.baseline, site=site, site_column=site_column
    )
    compared: dict[str, Any] = result.metadata.pop("compared")  # type: ignore[assignment]
    parameters = {
        "source": "records",
        "inputs": source.spec.as_dict(),
        "site": site,
        "site_column": site_column if site else None,
        "current": compared["current"],
        "baseline": source.baseline,
        **compared["measure"],
        **params.as_dict(),
    }
    parameters["confidence"] = params.confidence
    return result, parameters
