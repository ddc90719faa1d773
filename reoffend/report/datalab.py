"""The data-lab summary in words (``compare matched --style data-lab``; docs/comparisons-matched.md, "Data-lab
style"): the paragraphs a programme manager reads, and the JSON ``data_lab`` object with them.

The numbers are :class:`reoffend.compare.datalab.DataLabSummary`'s, computed there; this module only words them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..compare.datalab import METHOD
from .format import p_is, per_cent

if TYPE_CHECKING:
    from ..compare.datalab import DataLabSummary


def data_lab_json(summary: DataLabSummary) -> dict[str, object]:
    """The JSON ``data_lab`` object: the summary's numbers and verdict, its paragraphs, and the method."""
    return {**summary.as_dict(), "summary": data_lab_paragraphs(summary), "method": METHOD}


def data_lab_paragraphs(summary: DataLabSummary) -> list[str]:
    """The plain-language summary, in the order a programme manager reads it (design: the data-lab style,
    docs/comparisons-matched.md); every number is one of ``summary``'s."""
    level = f"{100 * summary.confidence:g}%"
    who = (
        f"This evaluation looked at {summary.participants:,} people who took part"
        + (
            f" (of {summary.listed:,} listed)"
            if summary.listed is not None and summary.listed != summary.participants
            else ""
        )
        + f". {summary.matched:,} of them were matched to similar people who did not take part"
        + (
            f" ({summary.comparators:,} people, an effective comparison group of "
            f"{summary.effective_comparison_size:,.0f})"
            if summary.comparators
            else ""
        )
        + "."
    )
    rates = (
        f"Within one year of release, {per_cent(summary.rate_participants_pct, 0)} of the participants committed "
        f"a proven reoffence, against {per_cent(summary.rate_comparison_pct, 0)} of the comparison group."
    )
    low, high = summary.difference_low_pp, summary.difference_high_pp
    if summary.significant and summary.difference_pp < 0:
        difference = (
            f"The best estimate is that taking part reduced the one-year proven reoffending rate by between "
            f"{-high:.0f} and {-low:.0f} percentage points ({level} confidence interval; two-sided p "
            f"{p_is(summary.p_two_sided)})."
        )
        conclusion = (
            "This is a statistically significant result: the difference is unlikely to be down to chance alone. "
            "It is an estimate for people like those matched; it cannot rule out differences that the records "
            "do not show, such as motivation or support (see the sensitivity analysis)."
        )
    elif summary.significant:
        difference = (
            f"The best estimate is that taking part increased the one-year proven reoffending rate by between "
            f"{low:.0f} and {high:.0f} percentage points ({level} confidence interval; two-sided p "
            f"{p_is(summary.p_two_sided)})."
        )
        conclusion = (
            "This is a statistically significant result: the difference is unlikely to be down to chance alone. "
            "It cannot rule out differences that the records do not show."
        )
    else:
        difference = (
            f"The difference of {summary.difference_pp:+.0f} percentage points is not statistically significant "
            f"({level} confidence interval {low:+.0f} to {high:+.0f} points; "
            f"two-sided p {p_is(summary.p_two_sided)})."
        )
        conclusion = (
            "The difference may be down to chance. This does not show that the programme has no effect: a larger "
            "number of participants may be needed to detect one."
        )
    beside = []
    if summary.frequency_participants is not None and summary.frequency_comparison is not None:
        beside.append(
            f"Proven reoffences per person: {summary.frequency_participants:.2f} for participants against "
            f"{summary.frequency_comparison:.2f} for the comparison group."
        )
    if summary.days_to_first_participants is not None and summary.days_to_first_comparison is not None:
        beside.append(
            "Among those who reoffended, the first proven reoffence came after "
            f"{summary.days_to_first_participants:.0f} days on average for participants and "
            f"{summary.days_to_first_comparison:.0f} days for the comparison group."
        )
    return [who, rates, difference, conclusion, *beside]
