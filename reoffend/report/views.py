"""One view per comparison: a result in plain-English sentences (design: comparisons.md, "one verdict").

The comparisons (:mod:`reoffend.compare`) compute and decide; this module words what they decided, as
statsmodels' results compute and their ``summary()`` renders. Every sentence names the verdict with its
direction beside the interval that agrees with it, in the words of :mod:`reoffend.report.verdict` and the
numbers of :mod:`reoffend.report.format`. The terminal summaries, the JSON ``headline``, the data-lab summary
and the bulletin's text all come from here: a caller passes the result to :func:`baseline_headlines`,
:func:`adjusted_headlines`, :func:`matched_headlines` or :func:`power_headlines`.

Nothing here loads polars at import (``reoffend power`` words its rows without a data frame, issue 30).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import one_line
from .format import count, counted, level, number, p_is, pct, per_cent
from .verdict import Sided, Verdict, interval_label, p_phrase

if TYPE_CHECKING:
    from ..compare.adjusted import AdjustedParams, AdjustedResult
    from ..compare.baseline import BaselineParams, BaselineResult
    from ..compare.matched import MatchedParams, MatchedResult
    from ..compare.power import PowerResult
    from ..compare.rows import AdjustedRow, BaselineRow, MatchedRow, PowerRow
    from ..run_warnings import RunWarning


# ------------------------------------------------------------------------------------- whole results
def baseline_headlines(result: BaselineResult) -> str:
    """One plain-English sentence per comparison, joined by newlines; the adjusted verdict is named when more
    than one cohort was tested."""
    tests = int(result.rows["p_adjusted"].is_not_null().sum())
    return "\n".join(one_line(baseline_headline(row, result.params, result.site, tests)) for row in result.typed_rows())


def adjusted_headlines(result: AdjustedResult) -> str:
    """One plain-English sentence per comparison row, both measures reported separately."""
    return "\n".join(one_line(adjusted_headline(row, result.params)) for row in result.typed_rows())


def matched_headlines(result: MatchedResult) -> str:
    """One plain-English sentence per cohort and for all cohorts together."""
    return "\n".join(one_line(matched_headline(row, result.params)) for row in result.typed_rows())


def power_headlines(result: PowerResult) -> str:
    """One plain-English sentence per power row."""
    return "\n".join(one_line(power_sentence(row)) for row in result.typed_rows())


def shift_summary(result: AdjustedResult) -> str:
    """The national shift in a sentence under the results, unless its warning already says it (it is said
    once: the warning when it is significant, this sentence otherwise; the warning is worded by the run,
    :func:`reoffend.runs.adjusted.national_shift_warnings`, from :func:`shift_sentence`)."""
    from ..compare.adjusted import shift_is_warned

    shift = result.metadata.get("national_shift", {})
    return "" if shift_is_warned(shift, result.params.relative_to) else shift_sentence(shift)


def shift_sentence(shift: Mapping[str, Any]) -> str:
    """The national shift (``metadata.national_shift``) in words: every current release together against the
    baseline model, both measures (docs/comparisons-adjusted.md, "The national shift"); nothing when one unit is
    compared (the shift is then that unit's own figure)."""
    if "binary_difference_pp" not in shift or shift.get("units", 0) < 2:
        return ""
    parts = []
    for column, what, unit, decimals in SHIFT_MEASURES:
        value = shift[column]
        low = number(shift[f"{column}_low"], decimals, signed=True)
        high = number(shift[f"{column}_high"], decimals, signed=True)
        p = shift.get(f"{column}_p", shift[f"{column}_p_two_sided"])
        parts.append(
            f"{shift_change(what, value, unit, decimals)} the baseline model's expectation "
            f"({level(shift['confidence'])} interval {low} to {high}; {shift.get('sided', 'two')}-sided p "
            f"{p_is(p)}: {shift_verdict(value, shift[f'{column}_significant'])})"
        )
    return (
        f"All {count(shift['releases'])} current releases of the {count(shift['units'])} units together (the shift "
        "they share): " + "; ".join(parts) + "."
    )


# the national shift's measures: (its column in metadata.national_shift, its words, its unit, its decimals)
SHIFT_MEASURES = (
    ("binary_difference_pp", "the binary rate", " percentage points", 1),
    ("reoffences_per_offender_difference", "reoffences per offender", "", 2),
)


def shift_change(what: str, value: float, unit: str, decimals: int) -> str:
    """One measure's shift, its size and direction: ``the binary rate 1.5 percentage points below`` (the command's
    sentence and the bulletin's say it alike)."""
    return f"{what} {number(abs(value), decimals)}{unit} {'below' if value < 0 else 'above'}"


def shift_verdict(value: float, significant: bool | None) -> str:
    """The shift's verdict: ``a significant fall`` (or rise), or ``no significant change``."""
    return f"a significant {'fall' if value < 0 else 'rise'}" if significant else "no significant change"


def adjusted_extra_json(result: AdjustedResult, warnings: Sequence[RunWarning]) -> dict[str, Any]:
    """The JSON document's sections beyond the rows: the result's own, its ``warnings`` those of the run (the
    result's and the national shift's, :attr:`reoffend.runs.adjusted.AdjustedRun.result_warnings`), then its
    headline in words."""
    sections = result.json_sections()
    sections["warnings"] = list(warnings)  # replaced under the same key, so in the same place
    return {**sections, "headline": adjusted_headlines(result).splitlines()}


def matched_extra_json(result: MatchedResult) -> dict[str, Any]:
    """The JSON document's sections beyond the rows: the result's own, the sensitivity and the data-lab object
    (where there is one) with their words, then its headline in words."""
    from .datalab import data_lab_json  # here: they load the matching's numerics, which power never needs
    from .sensitivity import sensitivity_json

    sections = result.json_sections()  # each section replaced under the same key, so in the same place
    sections["sensitivity"] = sensitivity_json(result)
    if result.data_lab is not None:
        sections["data_lab"] = data_lab_json(result.data_lab)
    return {**sections, "headline": matched_headlines(result).splitlines()}


# ------------------------------------------------------------------------------------------- baseline
def baseline_headline(row: BaselineRow, params: BaselineParams, site: str | None = None, tests: int = 1) -> str:
    """The result in one sentence a non-statistician can read: the verdict, with its direction, beside the
    interval that agrees with it (design: comparisons.md, "one verdict")."""
    label = "the current cohort" if row.current == "current" else str(row.current)
    who = f"{site} {label}" if site else label[0].upper() + label[1:]
    base = "the baseline" if row.baseline == "baseline" else f"the baseline {row.baseline}"
    if row.reduction_pp is None:
        return (
            f"{who}: {Verdict.TOO_FEW.value}, because a cohort is empty "
            f"({row.current_size} current, {row.baseline_size} baseline releases)."
        )
    reduction = row.reduction_pp
    change = (
        f"a fall of {number(reduction)} percentage points"
        if reduction > 0
        else f"a rise of {number(-reduction)} percentage points"
        if reduction < 0
        else "no change"
    )
    text = (
        f"{who}: {pct(row.current_rate)} reoffended ({row.current_reoffenders} of "
        f"{row.current_size}) against {pct(row.baseline_rate)} ({row.baseline_reoffenders} of "
        f"{row.baseline_size}) in {base}, {change} (change {number(row.difference_pp, signed=True)} points, "
        f"{interval_label(params.alpha, params.sided)}: {number(row.difference_pp_low, signed=True)} to "
        f"{number(row.difference_pp_high, signed=True)}): {row.verdict} "
        f"({p_phrase(params.sided, row.p_reduction, row.p_increase, row.p_two_sided)})"
    )
    if tests > 1 and params.multiple_testing != "none":
        text += (
            f"; adjusted for {tests} cohorts tested ({params.multiple_testing}), {row.verdict_adjusted} "
            f"(adjusted p {p_is(row.p_adjusted)})"
        )
    if params.target_pp is not None:
        text += f"; the target of {params.target_pp:g} points is {'met' if row.target_met else 'not met'}"
    if params.schedule:
        if row.schedule_step_pp is None:
            text += "; no payment step is reached"
        else:
            text += f"; the {row.schedule_step_pp:g}-point step (payment {row.schedule_payment:,.0f}) is reached"
    return text + "."


# ------------------------------------------------------------------------------------------- adjusted
@dataclass(frozen=True)
class _Test:
    """One measure's test in a row: the p-values its verdict rests on, and the verdicts before and after the
    multiple-testing adjustment."""

    p_reduction: float | None
    p_increase: float | None
    p_two_sided: float | None
    verdict: str
    verdict_adjusted: str
    p_adjusted: float | None


def _verdict_words(test: _Test, sided: Sided, multiple_testing: str, adjusted_over: str = "") -> str:
    """``significant reduction (one-sided p for a fall = 0.012)``, and the adjusted verdict when it differs."""
    text = f"{test.verdict} ({p_phrase(sided, test.p_reduction, test.p_increase, test.p_two_sided)})"
    return text + _adjusted_words(test, multiple_testing, adjusted_over)


def _adjusted_words(test: _Test, multiple_testing: str, adjusted_over: str = "") -> str:
    if multiple_testing == "none" or test.verdict_adjusted == test.verdict:
        return ""
    return (
        f", {test.verdict_adjusted} after the {multiple_testing} adjustment{adjusted_over} "
        f"(adjusted p {p_is(test.p_adjusted)})"
    )


def adjusted_headline(row: AdjustedRow, params: AdjustedParams) -> str:
    """One sentence: who, then the binary and the frequency verdicts side by side (never merged), each with
    the interval that agrees with it and, when several units are compared, the adjusted verdict."""
    who = ", ".join(f"{row.groups[c]}" for c in params.group_columns)
    label = interval_label(params.alpha, params.sided)
    binary_test = _Test(
        row.binary_p_reduction,
        row.binary_p_increase,
        row.binary_p_two_sided,
        row.binary_verdict,
        row.binary_verdict_adjusted,
        row.binary_p_adjusted,
    )
    frequency_test = _Test(
        row.reoffences_per_offender_p_reduction,
        row.reoffences_per_offender_p_increase,
        row.reoffences_per_offender_p_two_sided,
        row.reoffences_per_offender_verdict,
        row.reoffences_per_offender_verdict_adjusted,
        row.reoffences_per_offender_p_adjusted,
    )
    # against the other units the expectation is the baseline model's moved by the rest's shift
    expected = " expected given the other units' shift" if params.relative_to == "others" else " expected"
    binary = (
        f"binary rate {pct(row.binary_actual)} against {pct(row.binary_expected)}{expected} "
        f"(difference {number(row.binary_difference_pp, signed=True)} points, {label}: "
        f"{number(row.binary_difference_pp_low, signed=True)} to "
        f"{number(row.binary_difference_pp_high, signed=True)}): "
        f"{_verdict_words(binary_test, params.sided, params.multiple_testing)}"
    )
    frequency = (
        f"reoffences per offender {number(row.reoffences_per_offender_actual, 2)} against "
        f"{number(row.reoffences_per_offender_expected, 2)}{expected} "
        f"(ratio {number(row.reoffences_per_offender_ratio, 2)}, {label}: "
        f"{number(row.reoffences_per_offender_ratio_low, 2)} to {number(row.reoffences_per_offender_ratio_high, 2)}): "
        f"{_verdict_words(frequency_test, params.sided, params.multiple_testing)}"
    )
    return f"{who} ({count(row.cohort_size)} released): {binary}; {frequency}."


# -------------------------------------------------------------------------------------------- matched
def _adjusted_clause(row: MatchedRow, test: _Test, params: MatchedParams) -> str:
    """The adjusted verdict of a per-cohort row, when the adjustment changes it."""
    if row.scope != "cohort":
        return ""
    return _adjusted_words(test, params.multiple_testing, " over the cohorts")


def matched_headline(row: MatchedRow, params: MatchedParams) -> str:
    """One sentence per row: each verdict, with its direction, beside the interval that agrees with it."""
    where = "All cohorts together" if row.scope == "pooled" else f"Cohort {row.cohort}"
    if not row.matched:
        return f"{where}: no treated release could be matched, so there is no estimate ({Verdict.TOO_FEW.value})."
    if row.too_few_to_test:
        return (
            f"{where}: only {counted(row.matched, 'matched treated release')}, fewer than the {params.min_treated} "
            f"needed for a test (--min-treated): {Verdict.TOO_FEW.value}."
        )
    change = row.events_change_pct
    if change is None:  # no events in the weighted comparison group: a ratio to zero is undefined
        return (
            f"{where}: {count(row.matched)} matched treated releases had {number(row.events_per_100_treated)} "
            "reconviction events per 100 against none in the weighted comparison group, so no reduction can be "
            "estimated or tested."
        )
    label = interval_label(params.alpha, "one")
    events_test = _Test(
        row.events_p_reduction,
        row.events_p_increase,
        None,
        row.events_verdict,
        row.events_verdict_adjusted,
        row.events_p_adjusted,
    )
    binary_test = _Test(
        row.binary_p_reduction,
        row.binary_p_increase,
        None,
        row.binary_verdict,
        row.binary_verdict_adjusted,
        row.binary_p_adjusted,
    )
    text = (
        f"{where}: {count(row.matched)} matched treated releases had {number(row.events_per_100_treated)} "
        f"reconviction events per 100 against {number(row.events_per_100_comparison)} in the weighted comparison "
        "group: " + (f"a fall of {number(-change)}%" if change <= 0 else f"a rise of {number(change)}%")
    )
    if row.events_change_low is not None:
        p = p_phrase("one", row.events_p_reduction, row.events_p_increase)
        text += (
            f" (change {number(change, signed=True)}%, {label}: {number(row.events_change_low, signed=True)}% to "
            f"{number(row.events_change_high, signed=True)}%): {row.events_verdict} ({p})"
            f"{_adjusted_clause(row, events_test, params)}"
        )
    if row.target_pct is not None:
        text += f"; the {row.target_pct:g}% target is {'met' if row.target_met else 'not met'}"
    text += (
        f". Binary rate {pct(row.binary_rate_treated)} against {pct(row.binary_rate_comparison)} "
        f"({number(row.binary_difference_pp, signed=True)} points"
    )
    if row.binary_difference_pp_low is not None:
        text += (
            f", {label}: {number(row.binary_difference_pp_low, signed=True)} to "
            f"{number(row.binary_difference_pp_high, signed=True)}): {row.binary_verdict}"
            f"{_adjusted_clause(row, binary_test, params)}."
        )
        return text
    return text + ")."


# ---------------------------------------------------------------------------------------------- power
def power_sentence(row: PowerRow) -> str:
    """A power row in words: what can be detected, or what it takes to detect the reduction asked about
    (docs/power.md)."""
    unit = "percentage points" if row.measure == "binary" else "reconviction events per 100 offenders"
    level = f"{row.sided}-sided test at {row.alpha:g}, power {100 * row.power:g}%"
    base = (
        f"a baseline rate of {per_cent(row.baseline_per_100)}"
        if row.measure == "binary"
        else f"a baseline of {row.baseline_per_100:.1f} events per 100 (dispersion {row.dispersion:.2f})"
    )
    if row.solved_for == "power":
        return (
            f"With {row.current_size:,} current and {row.baseline_size:,} baseline releases and {base}, a reduction "
            f"of {row.reduction_per_100:g} {unit} would be detected with probability {per_cent(100 * row.power)} "
            f"(the power of a {row.sided}-sided test at {row.alpha:g})."
        )
    if row.solved_for == "reduction":
        if row.reduction_per_100 is None:
            return (
                f"With {row.current_size:,} current and {row.baseline_size:,} baseline releases and {base}, "
                f"no reduction can be detected ({level})."
            )
        return (
            f"With {row.current_size:,} current and {row.baseline_size:,} baseline releases and {base}, "
            f"the smallest reduction that can be detected is {row.reduction_per_100:.1f} {unit} "
            f"({per_cent(row.reduction_relative_pct)} of the baseline; {level})."
        )
    what = f"a reduction of {row.reduction_per_100:g} {unit} from {base}"
    if row.current_size is None:
        return (
            f"To detect {what}, no current cohort is large enough against a baseline of "
            f"{row.baseline_size:,} ({level})."
        )
    if row.solved_for == "cohort_size":
        return f"To detect {what}, each cohort needs at least {row.current_size:,} releases ({level})."
    return (
        f"To detect {what}, the current cohort needs at least {row.current_size:,} releases against a "
        f"baseline of {row.baseline_size:,} ({level})."
    )


# ------------------------------------------------------------------------------------ baseline rounding
def rounding_sentence(check: Mapping[str, Any]) -> str:
    """One rounding check (:func:`reoffend.compare.baseline.rounding_check`) in words."""
    parts = []
    if check["current_published"]:
        low, high = check["current_reoffenders_possible"]
        parts.append(f"{check['current']} at {check['current_published']} is {low:,} to {high:,} reoffenders")
    if check["baseline_published"]:
        low, high = check["baseline_reoffenders_possible"]
        parts.append(f"the baseline at {check['baseline_published']} is {low:,} to {high:,}")
    said = "; ".join(parts)
    if check["verdict_holds"]:
        return f"Rounding: {said}; across that range the verdict is the same ({check['verdict']})."
    return (
        f"Rounding: {said}; across that range the verdict changes ({check['verdict_at_largest_fall']} at the "
        f"largest fall, {check['verdict_at_smallest_fall']} at the smallest), so the published rates cannot "
        "settle it: ask for the counts."
    )
