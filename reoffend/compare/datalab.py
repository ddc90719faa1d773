"""Justice Data Lab style programme evaluation (``compare matched --style data-lab``; docs/comparisons-matched.md,
"Data-lab style").

The Justice Data Lab convention for a programme's participants against a matched comparison group:

* the **headline** is the one-year proven reoffending rate (the binary measure), with the frequency
  (proven reoffences per person) and the time to first proven reoffence (days, among those who reoffended)
  beside it;
* at least :data:`MIN_MATCHED` (60) matched participants are needed for any test; with fewer there is no
  result (a data error, exit 65, naming the count);
* the difference is the participants' rate minus the comparison group's, in percentage points, with a
  normal (Wald) interval for a difference of two proportions, ``sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2)``,
  ``n1`` the matched participants and ``n2`` the comparison group's effective size (Kish, from the matching
  weights); significance is two-sided at ``alpha``, which the interval matches;
* a plain-language summary in the order a programme manager reads it: how many were evaluated and matched,
  the two rates, the difference with its interval, and what can and cannot be concluded.

Published example (a Justice Data Lab report, reproduced from its counts in the tests): 805 participants,
18% against 23%: a reduction of 2 to 8 percentage points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ..report.verdict import verdict_of

MIN_MATCHED = 60
STYLE = "data-lab"


def wald_difference(
    n1: int, p1: float, p2: float, n2: float | None, confidence: float
) -> tuple[float, float, float, float]:
    """``p1 - p2`` with its Wald interval and two-sided p; ``n2 = None``: the comparison rate taken as known."""
    variance = p1 * (1 - p1) / n1 + (p2 * (1 - p2) / n2 if n2 else 0.0)
    se = math.sqrt(variance)
    z = stats.norm.ppf(0.5 + confidence / 2)
    difference = p1 - p2
    p = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else (1.0 if difference == 0 else 0.0)
    return difference, difference - z * se, difference + z * se, p


@dataclass(frozen=True)
class DataLabSummary:
    """Every number of the data-lab summary (the JSON ``data_lab`` object); the text is built from these only
    (:mod:`reoffend.report.datalab` words them)."""

    listed: int | None  # ids listed (None: the treated group came from --treated)
    participants: int  # treated index releases evaluated
    matched: int
    comparators: int
    effective_comparison_size: float
    rate_participants_pct: float
    rate_comparison_pct: float
    difference_pp: float
    difference_low_pp: float
    difference_high_pp: float
    p_two_sided: float
    significant: bool
    confidence: float
    alpha: float
    frequency_participants: float | None = None
    frequency_comparison: float | None = None
    days_to_first_participants: float | None = None
    days_to_first_comparison: float | None = None

    @classmethod
    def from_counts(
        cls,
        *,
        participants: int,
        matched: int,
        rate_participants: float,
        rate_comparison: float,
        effective_comparison_size: float | None,
        confidence: float = 0.95,
        alpha: float = 0.05,
        comparators: int = 0,
        listed: int | None = None,
        frequency: tuple[float | None, float | None] = (None, None),
        days_to_first: tuple[float | None, float | None] = (None, None),
    ) -> DataLabSummary:
        difference, low, high, p = wald_difference(
            matched, rate_participants, rate_comparison, effective_comparison_size, confidence
        )
        return cls(
            listed=listed,
            participants=participants,
            matched=matched,
            comparators=comparators,
            effective_comparison_size=float(effective_comparison_size or math.inf),
            rate_participants_pct=100 * rate_participants,
            rate_comparison_pct=100 * rate_comparison,
            difference_pp=100 * difference,
            difference_low_pp=100 * low,
            difference_high_pp=100 * high,
            p_two_sided=p,
            significant=p < alpha,
            confidence=confidence,
            alpha=alpha,
            frequency_participants=frequency[0],
            frequency_comparison=frequency[1],
            days_to_first_participants=days_to_first[0],
            days_to_first_comparison=days_to_first[1],
        )

    @property
    def verdict(self) -> str:
        """The one verdict wording of every comparison (reoffend.report.verdict), two-sided at alpha."""
        return verdict_of(self.p_two_sided, self.difference_pp, self.alpha).value

    def as_dict(self) -> dict[str, object]:
        values: dict[str, object] = asdict(self)
        values["verdict"] = self.verdict
        if not math.isfinite(self.effective_comparison_size):
            values["effective_comparison_size"] = None
        return values


METHOD = (
    "Justice Data Lab convention: one-year proven reoffending (12-month follow-up, 6-month waiting period) of the "
    "matched participants against their propensity-score-matched comparison group; the binary rate is the "
    "headline, with a Wald interval for the difference of two proportions using the comparison group's effective "
    f"size (Kish); two-sided test; at least {MIN_MATCHED} matched participants."
)


def matched_days_to_first(
    days: np.ndarray, reoffended: np.ndarray, matched_treated: np.ndarray, pair_treated, pair_comparator, pair_weight
) -> tuple[float | None, float | None]:
    """Mean days to first proven reoffence among those who reoffended: matched participants, and comparators
    weighted by their matching weights (each pair's weight 1 / the participant's comparators)."""
    treated_days = days[matched_treated][reoffended[matched_treated]]
    weight = pair_weight * reoffended[pair_comparator]
    comparison = (
        float(np.sum(weight * np.nan_to_num(days[pair_comparator])) / weight.sum()) if weight.sum() > 0 else None
    )
    return (float(treated_days.mean()) if treated_days.size else None), comparison
