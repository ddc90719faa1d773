"""Sensitivity to unmeasured confounding: E-values and a Rosenbaum bound (docs/comparisons-matched.md,
docs/comparisons-adjusted.md, "Sensitivity to hidden bias").

Matching and risk adjustment remove differences in what was measured, nothing else. Two standard summaries
say how strong an unmeasured difference would have to be to overturn a result:

* **E-value** (VanderWeele & Ding 2017, Ann Intern Med 167:268): for a risk ratio ``RR`` (taken as
  ``1/RR`` when below 1), ``E = RR + sqrt(RR (RR - 1))``: the minimum strength of association, on the risk
  ratio scale, that an unmeasured confounder would need with both the treatment (programme, provider) and
  the outcome, beyond the measured covariates, to explain the estimate away. The E-value of the interval is
  that of its limit nearest 1, and 1 when the interval contains 1. Applied the same way to ratios of
  reoffences per offender and of events per 100 (rate ratios of counts), the convention for rate ratios.

* **Rosenbaum bound** for the matched binary outcome (Rosenbaum 2002, *Observational Studies*, 2nd ed.,
  chapter 4): within a matched set of one treated person and ``m`` comparators with ``c`` reoffenders in
  all, if a hidden factor can make the odds of being the treated one differ by at most ``Gamma`` between two
  members of the set, the probability that the treated person is one of the ``c`` reoffenders lies between
  ``c / (c + Gamma (n - c))`` and ``Gamma c / (Gamma c + n - c)`` (``n = m + 1``). The test of a
  reduction counts treated reoffenders ``T``; its one-sided p-value is largest when every set takes the
  lower probability, so the bound is the lower tail of a sum of independent Bernoulli variables
  (Poisson-binomial), computed exactly. For 1:1 pairs this is McNemar's test: only discordant pairs count
  and ``T ~ Binomial(D, 1 / (1 + Gamma))``. Reported: the largest ``Gamma`` at which the bound is still
  below alpha (found by bisection on ``log Gamma``), with the p-value at ``Gamma = 1`` (the randomisation
  test with no hidden bias). Matching with replacement reuses a comparator in several sets; each set is
  taken as its own stratum (an approximation, stated in the output).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

GAMMA_MAX = 100.0
E_VALUE_NOTE = (
    "*_e_value: VanderWeele & Ding's E-value of the ratio (RR + sqrt(RR (RR - 1)), RR or 1/RR whichever is at "
    "least 1): how strongly, on the risk ratio scale, an unmeasured factor would have to be associated with both "
    "the group compared and the outcome, beyond the covariates, to explain the estimate away; *_e_value_interval: "
    "the same for the interval's limit nearest 1 (1 when the interval includes 1): the interval beside the verdict, "
    "whose level is e_value_interval_confidence (90% for a one-sided test at 5%; the literature's convention is "
    "95%, which a two-sided test at 5% gives). Ratios of counts are treated as risk ratios."
)
EXACT_LIMIT = 20_000_000  # sets x tail length: above it the normal approximation (with continuity correction)


# ------------------------------------------------------------------------------------------------ E-values
def e_value(ratio: float | None) -> float | None:
    """The E-value of a risk (or rate) ratio: ``RR + sqrt(RR (RR - 1))`` with ``RR >= 1`` (``1/RR`` below 1)."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return None
    rr = ratio if ratio >= 1 else 1 / ratio
    return rr + math.sqrt(rr * (rr - 1))


def e_value_interval(ratio: float | None, low: float | None, high: float | None) -> float | None:
    """The E-value of the interval's limit nearest 1; 1 when the interval contains 1."""
    if ratio is None or low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    if low <= 1 <= high:
        return 1.0
    return e_value(low if ratio > 1 else high)


# ------------------------------------------------------------------------------------------ Rosenbaum
@dataclass(frozen=True)
class MatchedSets:
    """One row per matched treated person: did they reoffend, reoffenders in the set, set size (1 + m)."""

    treated_event: np.ndarray
    events: np.ndarray
    size: np.ndarray

    @classmethod
    def from_matches(cls, treated: np.ndarray, comparator: np.ndarray, outcome: np.ndarray) -> MatchedSets:
        """Sets from matched pairs (``treated[k]`` served by ``comparator[k]``) and a 0/1 outcome per unit."""
        units, inverse = np.unique(treated, return_inverse=True)
        m = np.bincount(inverse, minlength=units.size)
        comparator_events = np.bincount(inverse, weights=outcome[comparator], minlength=units.size)
        y = outcome[units].astype(np.float64)
        return cls(y, y + comparator_events, 1 + m)


def rosenbaum_p(sets: MatchedSets, gamma: float) -> float:
    """Upper bound on the one-sided p-value for a reduction (few treated reoffenders) at bias ``gamma``."""
    c, n = sets.events, sets.size
    informative = (c > 0) & (c < n)
    p = c[informative] / (c[informative] + gamma * (n[informative] - c[informative]))
    observed = round(float(sets.treated_event[informative].sum()))
    return poisson_binomial_cdf(observed, p)


def poisson_binomial_cdf(k: int, p: np.ndarray, exact: bool = True) -> float:
    """P(sum of independent Bernoulli(p_i) <= k): exact by recursion, or normal with continuity correction
    (Rosenbaum's large-sample approximation; used when ``exact`` is false or the recursion would be too long)."""
    if p.size == 0:
        return 1.0
    if not exact or p.size * (k + 1) > EXACT_LIMIT:
        mean, var = float(p.sum()), float((p * (1 - p)).sum())
        return float(stats.norm.cdf((k + 0.5 - mean) / math.sqrt(var))) if var > 0 else float(k >= mean)
    if np.allclose(p, p[0]):
        return float(stats.binom.cdf(k, p.size, p[0]))
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return float(min(1.0, dist.sum()))


@dataclass(frozen=True)
class RosenbaumBound:
    p_at_1: float
    gamma: float | None  # the largest Gamma at which the bound stays below alpha; None: not even at 1
    alpha: float
    sets: int
    informative_sets: int

    def as_dict(self) -> dict[str, object]:
        return {
            "p_no_hidden_bias": self.p_at_1,
            "gamma": self.gamma,
            "gamma_capped": self.gamma is not None and self.gamma >= GAMMA_MAX,
            "alpha": self.alpha,
            "matched_sets": self.sets,
            "informative_sets": self.informative_sets,
            "method": "Rosenbaum bound for a binary outcome in matched sets of one treated person and m comparators "
            "(exact Poisson-binomial tail; 1:1 pairs: McNemar's test); comparators reused across sets are counted "
            "in each set",
        }


def rosenbaum_gamma(sets: MatchedSets, alpha: float, tolerance: float = 1e-3) -> RosenbaumBound:
    """The Gamma at which the bound on the one-sided p for a reduction reaches ``alpha`` (bisection on log Gamma)."""
    informative = int(((sets.events > 0) & (sets.events < sets.size)).sum())
    p1 = rosenbaum_p(sets, 1.0)
    if not p1 < alpha:
        return RosenbaumBound(p1, None, alpha, int(sets.size.size), informative)
    if rosenbaum_p(sets, GAMMA_MAX) < alpha:
        return RosenbaumBound(p1, GAMMA_MAX, alpha, int(sets.size.size), informative)
    low, high = 0.0, math.log(GAMMA_MAX)
    while high - low > tolerance:
        middle = (low + high) / 2
        if rosenbaum_p(sets, math.exp(middle)) < alpha:
            low = middle
        else:
            high = middle
    return RosenbaumBound(p1, math.exp(low), alpha, int(sets.size.size), informative)


# ------------------------------------------------------------------------------------------ row columns
def e_value_columns(
    ratio: Iterable[float | None], low: Iterable[float | None], high: Iterable[float | None], prefix: str
) -> list[pl.Series]:
    """``{prefix}_e_value`` and ``{prefix}_e_value_interval`` for rows of ratios and their interval limits."""
    ratio, low, high = list(ratio), list(low), list(high)
    estimate = [e_value(r) for r in ratio]
    limit = [e_value_interval(r, lo, hi) for r, lo, hi in zip(ratio, low, high, strict=True)]
    return [
        pl.Series(f"{prefix}_e_value", estimate, dtype=pl.Float64),
        pl.Series(f"{prefix}_e_value_interval", limit, dtype=pl.Float64),
    ]


def matched_sensitivity(
    rows: pl.DataFrame,
    replicates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
    confidence: float,
    treated: np.ndarray,
    comparator: np.ndarray,
    reoffended: np.ndarray,
    treated_cohort: np.ndarray,
    alpha: float,
    binary_column: int = 1,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """E-values of the three measures and the Rosenbaum bound of the binary rate, per cohort row and pooled.

    ``rows`` are the matched comparison's rows (cohorts in order, then the pooled row); ``replicates`` the
    bootstrap means (per cohort and pooled, treated and comparison) giving the binary risk ratio's percentile
    interval; ``treated``/``comparator`` the matched pairs (unit indices), ``reoffended`` 0/1 per unit and
    ``treated_cohort`` the cohort index of each pair's treated unit. The bounds' meaning and the summary in
    words are the rendering layer's (:mod:`reoffend.report.sensitivity`).
    """
    tail = (1 - confidence) / 2
    binary_ratio = [
        t / c if t is not None and c is not None and c > 0 else None
        for t, c in zip(rows["binary_rate_treated"], rows["binary_rate_comparison"], strict=True)
    ]
    tested = [v is not None for v in rows["binary_difference_pp_low"]]  # rows with an interval (not too few)
    low: list[float | None] = [None] * rows.height
    high: list[float | None] = [None] * rows.height
    if replicates is not None:
        t_group, c_group, t_all, c_all = replicates
        draws_by_row = [(t_group[:, g, binary_column], c_group[:, g, binary_column]) for g in range(rows.height - 1)]
        draws_by_row.append((t_all[:, binary_column], c_all[:, binary_column]))
        for i, (t, c) in enumerate(draws_by_row):
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = t / c
            ratio = ratio[np.isfinite(ratio)]
            if ratio.size and binary_ratio[i] is not None and tested[i]:
                low[i], high[i] = (float(v) for v in np.quantile(ratio, [tail, 1 - tail]))

    def from_change(column: str) -> list[float | None]:
        return [None if v is None else 1 + v / 100 for v in rows[column]]

    columns = [
        *e_value_columns(
            from_change("events_change_pct"),
            from_change("events_change_low"),
            from_change("events_change_high"),
            "events",
        ),
        pl.Series("binary_risk_ratio", binary_ratio, dtype=pl.Float64),
        pl.Series("binary_risk_ratio_low", low, dtype=pl.Float64),
        pl.Series("binary_risk_ratio_high", high, dtype=pl.Float64),
        *e_value_columns(binary_ratio, low, high, "binary"),
        *e_value_columns(
            from_change("reoffences_per_offender_change_pct"),
            from_change("reoffences_per_offender_change_low"),
            from_change("reoffences_per_offender_change_high"),
            "reoffences_per_offender",
        ),
    ]
    bounds = []
    gammas: list[float | None] = []
    method = ""
    cohorts = rows["cohort"].to_list()
    for i, cohort in enumerate(cohorts):
        keep = np.ones(treated.size, dtype=bool) if i == rows.height - 1 else treated_cohort == i
        if not keep.any() or not tested[i]:
            bounds.append({"cohort": cohort, "gamma": None, "matched_sets": 0})
            gammas.append(None)
            continue
        described = rosenbaum_gamma(MatchedSets.from_matches(treated[keep], comparator[keep], reoffended), alpha)
        bound = described.as_dict()
        method = str(bound.pop("method"))
        bounds.append({"cohort": cohort, **bound})
        gammas.append(described.gamma)
    columns.append(pl.Series("binary_rosenbaum_gamma", gammas, dtype=pl.Float64))
    return rows.with_columns(columns), {
        "e_value": E_VALUE_NOTE,
        "e_value_interval_confidence": confidence,
        "binary_risk_ratio_interval": "bootstrap percentile interval of the ratio of the binary rates",
        "rosenbaum": bounds,
        "rosenbaum_method": method,
    }
