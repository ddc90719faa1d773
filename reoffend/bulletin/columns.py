"""The title in words and the number format of every column the bulletin publishes (docs/output-dictionary.md).

``tables.ods`` heads its columns with these titles ("Number of people released", "Proven reoffending rate
(%)"), as the Analysis Function's "Releasing statistics in spreadsheets" asks (headers in words, units in the
header), and shows each number at the precision of its :class:`Format`; the CSVs under ``tables/`` keep the
machine names and the unrounded values. The meanings are the dictionary's; a title says the same in a few
words. ``tests/test_bulletin_spreadsheet.py`` fails on a published column without a title here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .labels import DEFAULT_TITLES, plain_words


@dataclass(frozen=True)
class Format:
    """How a kind of number is shown: ``decimals`` places, as a percentage (the value is a proportion, 0.543
    shown 54.3%) or a plain number with thousands separators; the value is rounded to what is shown."""

    name: str
    decimals: int
    percent: bool = False

    def round(self, value: float | int) -> float | int:
        """``value`` rounded to the places shown (a percentage's places count after the scaling by 100)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return value
        if isinstance(value, int) and self.decimals >= 0:
            return value
        return round(value, self.decimals + (2 if self.percent else 0))

    def text(self, value: float | int) -> str:
        """The value as a spreadsheet shows it with this format ("54.3%", "1,892", "0.125")."""
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)
        if self.percent:
            return f"{100 * value:,.{self.decimals}f}%"
        return f"{value:,.{self.decimals}f}"


@dataclass(frozen=True)
class PValue(Format):
    """A p-value: three decimal places, and below :attr:`floor` shown as "<0.001" (the text's ``p < 0.001``)
    with the value kept to two significant figures, never rounded to a misleading 0."""

    floor: float = 0.001

    def round(self, value: float | int) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return value
        return float(f"{value:.2g}") if abs(value) < self.floor else round(value, self.decimals)

    def text(self, value: float | int) -> str:
        if isinstance(value, int | float) and math.isfinite(value) and abs(value) < self.floor:
            return f"<{self.floor:g}"
        return super().text(value)


COUNT = Format("count", 0)
COUNT_FRACTION = Format("count-fraction", 1)  # a count that can be fractional: an effective sample size
PERCENT = Format("percent", 1, percent=True)  # a proportion 0-1, shown as a percentage
POINTS = Format("points", 1)  # percentage points, per cent, per 100: one decimal place
RATIO = Format("ratio", 2)  # reoffences per offender, ratios, z: two decimal places
FINE = Format("fine", 3)  # standardised differences, covariate means, model fit: three decimal places
P_VALUE = PValue("p-value", 3)
DAYS = Format("days", 0)
MONEY = Format("money", 2)
FORMATS = (COUNT, COUNT_FRACTION, PERCENT, POINTS, RATIO, FINE, P_VALUE, DAYS, MONEY)


@dataclass(frozen=True)
class Column:
    """A published column's title in words (with its unit) and its number format (None: text, a label, a
    yes/no)."""

    title: str
    format: Format | None = None


def _family(measure: str, words: str, unit: Format) -> dict[str, Column]:
    """The columns of one measure of a comparison (``binary_*``, ``reoffences_per_offender_*``, ``events_*``)."""
    return {
        f"{measure}_p_reduction": Column(f"{words}: p-value for a reduction (one-sided)", P_VALUE),
        f"{measure}_p_increase": Column(f"{words}: p-value for an increase (one-sided)", P_VALUE),
        f"{measure}_p_two_sided": Column(f"{words}: p-value (two-sided)", P_VALUE),
        f"{measure}_p_adjusted": Column(f"{words}: p-value adjusted for multiple testing", P_VALUE),
        f"{measure}_verdict": Column(f"{words}: verdict"),
        f"{measure}_verdict_adjusted": Column(f"{words}: verdict adjusted for multiple testing"),
        f"{measure}_significant": Column(f"{words}: significant reduction"),
        f"{measure}_significant_adjusted": Column(f"{words}: significant reduction after adjustment"),
        f"{measure}_e_value": Column(f"{words}: E-value (risk ratio)", RATIO),
        f"{measure}_e_value_interval": Column(f"{words}: E-value of the interval (risk ratio)", RATIO),
        f"{measure}_z": Column(f"{words}: z statistic", RATIO),
        f"{measure}_ratio": Column(f"{words}: actual over expected (ratio)", RATIO),
        f"{measure}_ratio_low": Column(f"{words}: actual over expected, lower bound (ratio)", RATIO),
        f"{measure}_ratio_high": Column(f"{words}: actual over expected, upper bound (ratio)", RATIO),
        f"{measure}_beat_baseline": Column(f"{words}: beat the baseline"),
        f"{measure}_expected_se_parameters": Column(
            f"{words}: standard error of the expected value" + (" (%)" if unit.percent else ""), unit
        ),
    }


COLUMNS: dict[str, Column] = {
    # groups and labels
    "cohort": Column("Cohort"),
    "establishment": Column("Establishment"),
    "sex": Column("Sex"),
    "age": Column("Age (years)"),
    "prior_convictions": Column("Previous convictions"),
    "sentence_months": Column("Sentence length (months)"),
    "index_offence": Column(DEFAULT_TITLES["index_offence"]),  # the bulletin's own words for it
    "comparison": Column("Compared with"),
    "earlier_cohort": Column("Earlier cohort"),
    "current": Column("Current cohort"),
    "baseline": Column("Baseline cohort"),
    "scope": Column("Cohort or all cohorts"),
    "status": Column("Status (final or provisional)"),
    "suppressed": Column("Figures withheld"),
    "parameter": Column("Parameter"),
    "value": Column("Value"),
    "model": Column("Model"),
    "description": Column("Model family"),
    "outcome": Column("Outcome modelled"),
    "covariate": Column("Covariate"),
    "level": Column("Category of the covariate"),
    "months_observed_band": Column("Months observed (band)"),
    # the measure (reoffend measure's columns)
    "cohort_size": Column("Number of people released", COUNT),
    "reoffenders": Column("Number of reoffenders", COUNT),
    "binary_rate": Column("Proven reoffending rate (%)", PERCENT),
    "binary_rate_low": Column("Proven reoffending rate, lower bound of the confidence interval (%)", PERCENT),
    "binary_rate_high": Column("Proven reoffending rate, upper bound of the confidence interval (%)", PERCENT),
    "reoffences": Column("Number of proven reoffences", COUNT),
    "reoffences_per_offender": Column("Reoffences per offender", RATIO),
    "reoffences_per_reoffender": Column("Reoffences per reoffender", RATIO),
    "reconviction_events": Column("Number of reconviction events (court appearances)", COUNT),
    "events_per_100": Column("Reconviction events per 100 people released", POINTS),
    "events_per_reoffender": Column("Reconviction events per reoffender", RATIO),
    "mean_days_to_first": Column("Mean days to first proven reoffence", DAYS),
    "median_days_to_first": Column("Median days to first proven reoffence", DAYS),
    # changes.csv
    "earlier_cohort_size": Column("Earlier cohort: number of people released", COUNT),
    "earlier_reoffenders": Column("Earlier cohort: number of reoffenders", COUNT),
    "earlier_binary_rate": Column("Earlier cohort: proven reoffending rate (%)", PERCENT),
    "difference_pp": Column("Change in the proven reoffending rate (percentage points)", POINTS),
    # revisions.csv: the previous bulletin's figures, their values now and the change (bulletin/revisions.py)
    "table": Column("Table published in"),
    "previous_cohort_size": Column("Number released, previous bulletin", COUNT),
    "previous_reoffenders": Column("Reoffenders, previous bulletin", COUNT),
    "previous_binary_rate": Column("Proven reoffending rate, previous bulletin (%)", PERCENT),
    "change_pp": Column("Revision to the proven reoffending rate (percentage points)", POINTS),
    "previous_reconviction_events": Column("Reconviction events, previous bulletin", COUNT),
    "previous_reoffences": Column("Reoffences, previous bulletin", COUNT),
    "reason": Column("Reason for the revision"),
    "difference_pp_low": Column("Change, lower bound of the confidence interval (percentage points)", POINTS),
    "difference_pp_high": Column("Change, upper bound of the confidence interval (percentage points)", POINTS),
    "p_value": Column("p-value (two-sided)", P_VALUE),
    "significant": Column("Statistically significant"),
    "earlier_events_per_100": Column("Earlier cohort: reconviction events per 100 people released", POINTS),
    "events_per_100_change_pct": Column("Change in reconviction events per 100 (%)", POINTS),
    # cohorts.csv
    "releases": Column("Number of releases (all releases)", COUNT),
    "incomplete_releases": Column("Number of releases with incomplete follow-up", COUNT),
    "complete": Column("Follow-up complete"),
    "partial_period": Column("Data cover only part of the period"),
    # establishments
    "p_adjusted": Column("p-value adjusted for multiple testing (Holm)", P_VALUE),
    "compared_unadjusted": Column("Compared with all releases, before adjustment"),
    "compared_with_all": Column("Compared with all releases, after adjustment for multiple testing"),
    "establishments": Column("Number of establishments", COUNT),
    "higher": Column("Establishments significantly higher", COUNT),
    "lower": Column("Establishments significantly lower", COUNT),
    "similar": Column("Establishments not significantly different", COUNT),
    "suppressed_establishments": Column("Establishments with figures withheld", COUNT),
    "higher_unadjusted": Column("Establishments higher before adjustment", COUNT),
    "lower_unadjusted": Column("Establishments lower before adjustment", COUNT),
    "all_releases_binary_rate": Column("Proven reoffending rate of all releases (%)", PERCENT),
    # court_lag.csv
    "waiting_period_months": Column("Waiting period (months)", COUNT),
    "share_of_reoffences": Column("Share of eventual reoffences counted (%)", PERCENT),
    "share_of_reoffenders": Column("Share of eventual reoffenders counted (%)", PERCENT),
    # comparison_baseline.csv
    "current_size": Column("Current cohort: number of people released", COUNT),
    "current_reoffenders": Column("Current cohort: number of reoffenders", COUNT),
    "current_rate": Column("Current cohort: proven reoffending rate (%)", PERCENT),
    "current_rate_low": Column("Current cohort: rate, lower bound of the confidence interval (%)", PERCENT),
    "current_rate_high": Column("Current cohort: rate, upper bound of the confidence interval (%)", PERCENT),
    "baseline_size": Column("Baseline cohort: number of people released", COUNT),
    "baseline_reoffenders": Column("Baseline cohort: number of reoffenders", COUNT),
    "baseline_rate": Column("Baseline cohort: proven reoffending rate (%)", PERCENT),
    "baseline_rate_low": Column("Baseline cohort: rate, lower bound of the confidence interval (%)", PERCENT),
    "baseline_rate_high": Column("Baseline cohort: rate, upper bound of the confidence interval (%)", PERCENT),
    "reduction_pp": Column("Reduction in the rate (percentage points)", POINTS),
    "reduction_pp_low": Column("Reduction, lower bound of the interval (percentage points)", POINTS),
    "reduction_pp_high": Column("Reduction, upper bound of the interval (percentage points)", POINTS),
    "interval_confidence": Column("Confidence level of the interval (%)", PERCENT),
    "reduction_pp_newcombe_low": Column("Reduction, lower bound of Newcombe's interval (percentage points)", POINTS),
    "reduction_pp_newcombe_high": Column("Reduction, upper bound of Newcombe's interval (percentage points)", POINTS),
    "z": Column("z statistic", RATIO),
    "p_two_sided": Column("p-value (two-sided)", P_VALUE),
    "p_reduction": Column("p-value for a reduction (one-sided)", P_VALUE),
    "p_increase": Column("p-value for an increase (one-sided)", P_VALUE),
    "verdict": Column("Verdict"),
    "verdict_adjusted": Column("Verdict adjusted for multiple testing"),
    "significant_adjusted": Column("Significant reduction after adjustment for multiple testing"),
    "target_met": Column("Target met"),
    "schedule_step_pp": Column("Highest payment step reached (percentage points)", POINTS),
    "schedule_payment": Column("Payment of that step", MONEY),
    # comparison_matched.csv
    "treated": Column("Number of treated releases", COUNT),
    "matched": Column("Treated releases matched", COUNT),
    "unmatched": Column("Treated releases not matched", COUNT),
    "unmatched_share": Column("Share of treated releases not matched (%)", PERCENT),
    "comparators": Column("Number of comparison releases", COUNT),
    "effective_comparison_size": Column("Effective size of the comparison group", COUNT_FRACTION),
    "too_few_to_test": Column("Too few to test"),
    "target_pct": Column("Target reduction (%)", POINTS),
    "events_per_100_treated": Column("Treated: reconviction events per 100 people released", POINTS),
    "events_per_100_comparison": Column("Comparison group: reconviction events per 100 people released", POINTS),
    "events_change_pct": Column("Change in reconviction events per 100 (%)", POINTS),
    "events_change_low": Column("Change in events per 100, lower bound of the interval (%)", POINTS),
    "events_change_high": Column("Change in events per 100, upper bound of the interval (%)", POINTS),
    "events_reduction_pct": Column("Reduction in reconviction events per 100 (%)", POINTS),
    "reoffences_per_offender_treated": Column("Treated: reoffences per offender", RATIO),
    "reoffences_per_offender_comparison": Column("Comparison group: reoffences per offender", RATIO),
    "reoffences_per_offender_change_pct": Column("Change in reoffences per offender (%)", POINTS),
    "reoffences_per_offender_change_low": Column("Change in reoffences per offender, lower bound (%)", POINTS),
    "reoffences_per_offender_change_high": Column("Change in reoffences per offender, upper bound (%)", POINTS),
    "binary_rate_treated": Column("Treated: proven reoffending rate (%)", PERCENT),
    "binary_rate_comparison": Column("Comparison group: proven reoffending rate (%)", PERCENT),
    "binary_difference_pp": Column("Difference in the rate (percentage points)", POINTS),
    "binary_difference_pp_low": Column("Difference in the rate, lower bound (percentage points)", POINTS),
    "binary_difference_pp_high": Column("Difference in the rate, upper bound (percentage points)", POINTS),
    "binary_difference_pp_se": Column("Difference in the rate, standard error (percentage points)", POINTS),
    "binary_reduction_pp": Column("Reduction in the rate (percentage points)", POINTS),
    "binary_risk_ratio": Column("Risk ratio, treated over comparison", RATIO),
    "binary_risk_ratio_low": Column("Risk ratio, lower bound", RATIO),
    "binary_risk_ratio_high": Column("Risk ratio, upper bound", RATIO),
    "binary_rosenbaum_gamma": Column("Rosenbaum's bound on hidden bias (odds ratio)", RATIO),
    **_family("events", "Events per 100", POINTS),
    **_family("binary", "Rate", PERCENT),
    **_family("reoffences_per_offender", "Reoffences per offender", RATIO),
    "comparison_mean_after": Column("Comparison group: mean after matching", FINE),
    "treated_mean_before": Column("Treated: mean before matching", FINE),
    "treated_mean_after": Column("Treated: mean after matching", FINE),
    "pool_mean_before": Column("Pool: mean before matching", FINE),
    "smd_before": Column("Standardised mean difference before matching", FINE),
    "smd_after": Column("Standardised mean difference after matching", FINE),
    # comparison_adjusted.csv, its summary and models
    "binary_actual": Column("Actual proven reoffending rate (%)", PERCENT),
    "binary_expected": Column("Expected proven reoffending rate (%)", PERCENT),
    "reoffences_per_offender_actual": Column("Actual reoffences per offender", RATIO),
    "reoffences_per_offender_expected": Column("Expected reoffences per offender", RATIO),
    "reoffences_per_offender_difference": Column("Reoffences per offender, actual minus expected", RATIO),
    "reoffences_per_offender_difference_se": Column("Reoffences per offender, standard error of the difference", RATIO),
    "reoffences_per_offender_difference_low": Column("Reoffences per offender, difference: lower bound", RATIO),
    "reoffences_per_offender_difference_high": Column("Reoffences per offender, difference: upper bound", RATIO),
    "reoffences_per_offender_reduction_pct": Column("Reduction in reoffences per offender (%)", POINTS),
    "units": Column("Units compared", COUNT),
    # the shift the published units share (comparison_adjusted_summary.csv, docs/output-dictionary.md)
    "binary_shift_pp": Column("Rate: shift all published units share (percentage points)", POINTS),
    "binary_shift_pp_low": Column("Rate: shift, lower bound of the interval (percentage points)", POINTS),
    "binary_shift_pp_high": Column("Rate: shift, upper bound of the interval (percentage points)", POINTS),
    "binary_shift_pp_p": Column("Rate: shift, p-value", P_VALUE),
    "binary_shift_pp_significant": Column("Rate: shift significant"),
    "reoffences_per_offender_shift": Column("Reoffences per offender: shift all published units share", RATIO),
    "reoffences_per_offender_shift_low": Column("Reoffences per offender: shift, lower bound", RATIO),
    "reoffences_per_offender_shift_high": Column("Reoffences per offender: shift, upper bound", RATIO),
    "reoffences_per_offender_shift_p": Column("Reoffences per offender: shift, p-value", P_VALUE),
    "reoffences_per_offender_shift_significant": Column("Reoffences per offender: shift significant"),
    "units_withheld": Column("Units with figures withheld", COUNT),
    "binary_reduction": Column("Units with a significant reduction in the rate", COUNT),
    "binary_increase": Column("Units with a significant increase in the rate", COUNT),
    "binary_reduction_unadjusted": Column("Units with a reduction in the rate before adjustment", COUNT),
    "binary_increase_unadjusted": Column("Units with an increase in the rate before adjustment", COUNT),
    "reoffences_per_offender_reduction": Column("Units with a significant reduction in reoffences per offender", COUNT),
    "reoffences_per_offender_increase": Column("Units with a significant increase in reoffences per offender", COUNT),
    "reoffences_per_offender_reduction_unadjusted": Column(
        "Units with a reduction in reoffences per offender before adjustment", COUNT
    ),
    "reoffences_per_offender_increase_unadjusted": Column(
        "Units with an increase in reoffences per offender before adjustment", COUNT
    ),
    "n": Column("Number of baseline releases the model is fitted on", COUNT),
    "pseudo_r_squared": Column("McFadden's pseudo R-squared", FINE),
    "auc": Column("Area under the ROC curve", FINE),
    # provisional.csv and its backtest
    "months_observed": Column("Months of follow-up observed", COUNT),
    "observed_reoffenders": Column("Reoffenders seen so far", COUNT),
    "binary_rate_provisional": Column("Provisional proven reoffending rate, estimate (%)", PERCENT),
    "binary_rate_provisional_low": Column("Provisional rate, lower bound of the range (%)", PERCENT),
    "binary_rate_provisional_high": Column("Provisional rate, upper bound of the range (%)", PERCENT),
    "events_per_100_provisional": Column("Provisional reconviction events per 100 people released, estimate", POINTS),
    "events_per_100_provisional_low": Column("Provisional events per 100, lower bound of the range", POINTS),
    "events_per_100_provisional_high": Column("Provisional events per 100, upper bound of the range", POINTS),
    "reoffences_per_offender_provisional": Column("Provisional reoffences per offender, estimate", RATIO),
    "reoffences_per_offender_provisional_low": Column("Provisional reoffences per offender, lower bound", RATIO),
    "reoffences_per_offender_provisional_high": Column("Provisional reoffences per offender, upper bound", RATIO),
    "level_ratio": Column("Level of reoffending assumed, relative to complete releases (ratio)", RATIO),
    "court_lag_ratio": Column("Court lag relative to complete releases (ratio)", RATIO),
    "court_lag_z": Column("Court lag change, z statistic", RATIO),
    "court_lag_changed": Column("Court lag has changed"),
    "months_min": Column("Fewest months observed", COUNT),
    "months_max": Column("Most months observed", COUNT),
    "cohort_origins": Column("Number of estimates checked", COUNT),
    "origins": Column("Number of earlier extract dates", COUNT),
    "binary_rate_mean_error_pp": Column("Rate: mean error (percentage points)", POINTS),
    "binary_rate_mae_pp": Column("Rate: mean absolute error (percentage points)", POINTS),
    "binary_rate_coverage": Column("Rate: share of intervals holding the final rate (%)", PERCENT),
    "events_per_100_mean_error": Column("Events per 100: mean error", POINTS),
    "events_per_100_mae": Column("Events per 100: mean absolute error", POINTS),
    "events_per_100_coverage": Column("Events per 100: share of intervals holding the final value (%)", PERCENT),
    "reoffences_per_offender_mean_error": Column("Reoffences per offender: mean error", RATIO),
    "reoffences_per_offender_mae": Column("Reoffences per offender: mean absolute error", RATIO),
    "reoffences_per_offender_coverage": Column(
        "Reoffences per offender: share of intervals holding the final value (%)", PERCENT
    ),
}


def column(name: str) -> Column:
    """The title and format of a published column; a column the dictionary does not know (a breakdown by a
    release column of the site's own) is titled by its name in words, as text."""
    known = COLUMNS.get(name)
    if known is not None:
        return known
    return Column(plain_words(name) or name)
