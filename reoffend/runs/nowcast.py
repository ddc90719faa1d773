"""``nowcast`` (and its ``--backtest``): one run each, for the command line and the Python API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import UsageError
from ..inputs import InputSpec
from ..measure import MeasureParams
from ..nowcast import BacktestParams, BacktestResult, CheckParams, NowcastParams, NowcastResult, backtest, nowcast
from .common import Caller, Naming, columns, keyword, load_and_warn, refuse

LearnFrom = Literal["all", "complete"]


def nowcast_params(
    measurement: MeasureParams,
    *,
    by: str | Sequence[str],
    final_cohorts: int,
    estimator: str,
    court_lag: str,
    learn_from: LearnFrom,
    flag: Naming = keyword,
) -> NowcastParams:
    """The nowcast's parameters (docs/nowcast.md): the measurement grouped ``by``, and how cohorts still in
    follow-up are completed (``learn_from="all"``: the censored releases are learned from too)."""
    if learn_from not in ("all", "complete"):
        raise UsageError(f"{flag('learn_from')} must be 'all' or 'complete', not {learn_from!r}")
    return NowcastParams(
        replace(measurement, by=columns(by, flag("by"))),
        final_cohorts=final_cohorts,
        estimator=estimator,
        court_lag=court_lag,
        censored_reference=learn_from == "all",
    )


@dataclass
class NowcastRun:
    """One run of ``nowcast``: the core's outcome (rows, metadata, warnings), the parameters of the JSON and the
    terminal table's caption."""

    outcome: NowcastResult
    parameters: dict[str, Any]
    caption: str


def nowcast_run(
    spec: InputSpec,
    params: NowcastParams,
    caller: Caller,
    *,
    check: bool = True,
    min_coverage: float = 0.85,
    given: Mapping[str, str] | None = None,
) -> NowcastRun:
    """Read the inputs and nowcast: final figures for complete cohorts, provisional ones for the rest, checked
    by a quick backtest unless ``check`` is off, flagged below ``min_coverage`` (docs/nowcast.md, "Honesty by
    default"). ``given``: the options the caller set (name -> as it names them): ``min_coverage`` without the
    check would do nothing, and is refused."""
    if not check:
        refuse(given or {}, ("min_coverage",), f"goes with {caller.flag('check')}")
    checked = CheckParams(enabled=check, min_coverage=min_coverage)
    inputs = load_and_warn(spec, caller, params.measurement.excluded_offences)
    caller.stage("nowcasting")
    outcome = nowcast(inputs, params, check=checked)
    parameters = {
        "inputs": spec.as_dict(),
        **params.as_dict(),
        "check": checked.enabled,
        "min_coverage": checked.min_coverage,
    }
    caption = (
        f"{params.window.describe()}; extract date {outcome.metadata['extract_date']}; "
        "≈ provisional (reoffend docs nowcast)"
    )
    return NowcastRun(outcome, parameters, caption)


@dataclass
class BacktestRun:
    """One run of ``nowcast --backtest``: the core's result, the parameters of the JSON and the caption."""

    result: BacktestResult
    parameters: dict[str, Any]
    caption: str


def backtest_run(
    spec: InputSpec, params: NowcastParams, caller: Caller, *, origins: int = 12, origin_step: int = 1
) -> BacktestRun:
    """Read the inputs and nowcast at ``origins`` earlier month ends, ``origin_step`` months apart, with the
    convictions known then, against the final figures (docs/nowcast.md, "Backtest")."""
    options = BacktestParams(origins=origins, step_months=origin_step)
    inputs = load_and_warn(spec, caller, params.measurement.excluded_offences)
    caller.stage("backtesting")
    result = backtest(inputs, params, options)
    parameters = {
        "inputs": spec.as_dict(),
        **params.as_dict(),
        "origins": options.origins,
        "origin_step_months": options.step_months,
    }
    caption = (
        f"{len(result.origins)} origins, {result.origins[-1]} to {result.origins[0]}; "
        f"{100 * params.measurement.confidence:g}% intervals; errors are provisional minus final"
    )
    return BacktestRun(result, parameters, caption)
