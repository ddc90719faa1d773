"""The declared row schemas of the comparison results (:mod:`reoffend.report.schema`).

One frozen dataclass per comparison: each field is a column of the result's ``rows`` frame, in order, with its
dtype; every column's meaning and unit is in docs/output-dictionary.md under the same name. The results check
their frames against these when constructed, and the views (:mod:`reoffend.report.views`) and table specs
(:mod:`reoffend.report.tables`) read typed rows, so a misspelt column name is a mypy error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..report.schema import NOT_A_COLUMN, Row


@dataclass(frozen=True)
class BaselineRow(Row):
    """One current cohort against the baseline (:mod:`reoffend.compare.baseline`)."""

    current: str
    baseline: str
    current_size: int
    current_reoffenders: int
    current_rate: float | None
    current_rate_low: float | None
    current_rate_high: float | None
    baseline_size: int
    baseline_reoffenders: int
    baseline_rate: float | None
    baseline_rate_low: float | None
    baseline_rate_high: float | None
    difference_pp: float | None
    difference_pp_low: float | None
    difference_pp_high: float | None
    reduction_pp: float | None
    reduction_pp_low: float | None
    reduction_pp_high: float | None
    interval_confidence: float | None
    reduction_pp_newcombe_low: float | None
    reduction_pp_newcombe_high: float | None
    z: float | None
    p_two_sided: float | None
    p_reduction: float | None
    p_increase: float | None
    verdict: str
    significant: bool | None
    p_adjusted: float | None
    verdict_adjusted: str
    significant_adjusted: bool | None
    target_met: bool | None
    schedule_step_pp: float | None
    schedule_payment: float | None


@dataclass(frozen=True)
class MatchedRow(Row):
    """One cohort, or all cohorts together (``scope`` "pooled"), of a matched comparison
    (:mod:`reoffend.compare.matched`)."""

    scope: str
    cohort: str
    treated: int
    matched: int
    unmatched: int
    unmatched_share: float | None
    comparators: int
    effective_comparison_size: float | None
    events_per_100_treated: float | None
    events_per_100_comparison: float | None
    events_change_pct: float | None
    events_change_low: float | None
    events_change_high: float | None
    events_reduction_pct: float | None
    events_p_reduction: float | None
    events_p_increase: float | None
    events_verdict: str
    events_significant: bool | None
    target_pct: float | None
    target_met: bool | None
    binary_rate_treated: float | None
    binary_rate_comparison: float | None
    binary_difference_pp: float | None
    binary_difference_pp_low: float | None
    binary_difference_pp_high: float | None
    binary_reduction_pp: float | None
    binary_p_reduction: float | None
    binary_p_increase: float | None
    binary_verdict: str
    binary_significant: bool | None
    reoffences_per_offender_treated: float | None
    reoffences_per_offender_comparison: float | None
    reoffences_per_offender_change_pct: float | None
    reoffences_per_offender_change_low: float | None
    reoffences_per_offender_change_high: float | None
    reoffences_per_offender_p_reduction: float | None
    reoffences_per_offender_p_increase: float | None
    reoffences_per_offender_verdict: str
    reoffences_per_offender_significant: bool | None
    too_few_to_test: bool | None
    events_p_adjusted: float | None
    events_verdict_adjusted: str
    events_significant_adjusted: bool | None
    binary_p_adjusted: float | None
    binary_verdict_adjusted: str
    binary_significant_adjusted: bool | None
    reoffences_per_offender_p_adjusted: float | None
    reoffences_per_offender_verdict_adjusted: str
    reoffences_per_offender_significant_adjusted: bool | None
    events_e_value: float | None
    events_e_value_interval: float | None
    binary_risk_ratio: float | None
    binary_risk_ratio_low: float | None
    binary_risk_ratio_high: float | None
    binary_e_value: float | None
    binary_e_value_interval: float | None
    reoffences_per_offender_e_value: float | None
    reoffences_per_offender_e_value_interval: float | None
    binary_rosenbaum_gamma: float | None


@dataclass(frozen=True)
class AdjustedRow(Row):
    """One unit (the ``--by`` groups and cohort, in ``groups``) against its risk-adjusted expectation
    (:mod:`reoffend.compare.adjusted`)."""

    GROUPED: ClassVar[bool] = True

    cohort_size: int
    reoffenders: int
    binary_actual: float | None
    binary_expected: float | None
    binary_difference_pp: float | None
    binary_difference_pp_se: float | None
    binary_difference_pp_low: float | None
    binary_difference_pp_high: float | None
    binary_ratio: float | None
    binary_ratio_low: float | None
    binary_ratio_high: float | None
    binary_reduction_pp: float | None
    binary_z: float | None
    binary_p_two_sided: float | None
    binary_p_reduction: float | None
    binary_p_increase: float | None
    binary_expected_se_parameters: float | None
    reoffences: int
    reoffences_per_offender_actual: float | None
    reoffences_per_offender_expected: float | None
    reoffences_per_offender_difference: float | None
    reoffences_per_offender_difference_se: float | None
    reoffences_per_offender_difference_low: float | None
    reoffences_per_offender_difference_high: float | None
    reoffences_per_offender_ratio: float | None
    reoffences_per_offender_ratio_low: float | None
    reoffences_per_offender_ratio_high: float | None
    reoffences_per_offender_reduction_pct: float | None
    reoffences_per_offender_z: float | None
    reoffences_per_offender_p_two_sided: float | None
    reoffences_per_offender_p_reduction: float | None
    reoffences_per_offender_p_increase: float | None
    reoffences_per_offender_expected_se_parameters: float | None
    binary_verdict: str
    binary_significant: bool | None
    binary_beat_baseline: bool | None
    binary_p_adjusted: float | None
    binary_verdict_adjusted: str
    binary_significant_adjusted: bool | None
    reoffences_per_offender_verdict: str
    reoffences_per_offender_significant: bool | None
    reoffences_per_offender_beat_baseline: bool | None
    reoffences_per_offender_p_adjusted: float | None
    reoffences_per_offender_verdict_adjusted: str
    reoffences_per_offender_significant_adjusted: bool | None
    binary_e_value: float | None
    binary_e_value_interval: float | None
    reoffences_per_offender_e_value: float | None
    reoffences_per_offender_e_value_interval: float | None
    groups: dict[str, Any] = field(default_factory=dict, metadata=NOT_A_COLUMN)


@dataclass(frozen=True)
class AdjustedOthersRow(AdjustedRow):
    """A unit judged against the other units' shift (``--relative-to others``): the columns of
    :class:`AdjustedRow`, whose expected, difference, ratio, z, p and verdicts are then relative to the rest of the
    unit's cohort (docs/comparisons-adjusted.md, "Relative to the other units"), then who the rest were and how far
    they moved from the baseline model."""

    reference: str = "others"
    rest_size: int = 0
    binary_rest_difference_pp: float | None = None
    reoffences_per_offender_rest_difference: float | None = None


@dataclass(frozen=True)
class PowerRow(Row):
    """One power calculation (:mod:`reoffend.compare.power`)."""

    measure: str
    solved_for: str
    baseline_per_100: float
    dispersion: float | None
    alpha: float
    power: float
    sided: str
    current_size: int | None
    baseline_size: int | None
    reduction_per_100: float | None
    reduction_relative_pct: float | None
    current_per_100: float | None
    effect_size: float | None


@dataclass(frozen=True)
class PublishedRow(Row):
    """One published result checked from its published figures (:mod:`reoffend.compare.published`)."""

    row: int
    label: str
    kind: str
    current_published: str
    baseline_published: str
    current_size: int
    baseline_size: float
    current_per_100: float
    baseline_per_100: float
    dispersion: float | None
    difference_per_100: float
    difference_low: float | None
    difference_high: float | None
    change_pct: float | None
    change_low_pct: float | None
    change_high_pct: float | None
    reduction_pct: float | None
    interval_confidence: float
    sided: str
    z: float | None
    p_two_sided: float | None
    p_reduction: float | None
    p_increase: float | None
    verdict: str
    significant: bool | None
    target_reduction_pct: float | None
    target_met: bool | None
    verdict_at_largest_fall: str
    verdict_at_smallest_fall: str
    rounding_could_change: bool
    method: str
