"""Scoring the current releases against the baseline models: per group, actual against expected.

Design §3 (docs/comparisons-adjusted.md): the variance of the sum of independent outcomes under the
baseline model (``sum p(1-p)`` for binary, ``sum mu + alpha mu^2`` for NB2), plus the delta-method
parameter variance when asked, gives a z test per provider and cohort. Split out of
:mod:`reoffend.compare.adjusted` along its seam.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import special, stats

from ..errors import UsageError
from ..intervals import normal_quantile
from ..report.multiple import adjust
from ..report.verdict import Verdict, interval_confidence, verdict_expr, verdict_p
from .adjusted_models import FittedModel

if TYPE_CHECKING:
    from .adjusted import AdjustedParams


def group_starts(frame: pl.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """First row of each run of equal keys in a frame sorted by them."""
    if frame.height == 0:
        return np.zeros(0, dtype=np.int64)
    run = frame.select(pl.struct(list(keys)).rle_id()).to_series().to_numpy()
    return np.flatnonzero(np.r_[True, run[1:] != run[:-1]])


def score_groups(
    current: pl.DataFrame,
    X: np.ndarray,
    keys: list[str],
    binary: FittedModel,
    count: FittedModel,
    params: AdjustedParams,
) -> pl.DataFrame:
    """Per group: actual and expected sums, the model variance of the sum, and the comparison columns."""
    starts = group_starts(current, keys)
    groups = current.select(keys)[starts.tolist()] if starts.size else current.select(keys).clear()
    n = np.diff(np.r_[starts, current.height]).astype(np.float64)

    def sums(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts, axis=0) if starts.size else np.zeros((0, *values.shape[1:]))

    measures = _measure_inputs(current, X, binary, count)
    others = params.relative_to == "others"
    rest = _rest_of_cohort(groups, n) if others else None
    # the interval beside the verdict agrees with the test: 1 - 2 alpha one-sided, 1 - alpha two-sided
    z_crit = normal_quantile(interval_confidence(params.alpha, params.sided))
    columns: dict[str, Any] = {"cohort_size": n.astype(np.int64)}
    rest_columns: dict[str, Any] = {}
    for name, (y, predicted, outcome_var, gradient_weights, cov) in measures.items():
        actual, expected, variance = sums(y), sums(predicted), sums(outcome_var)
        gradient = sums(X * gradient_weights[:, None])
        if rest is not None:
            expected, variance, gradient, column_rest, rest_shift = _moved_by_the_rest(
                name, n, rest, actual, expected, variance, gradient
            )
            rest_columns[column_rest] = rest_shift
        sums_of = _Sums(n, actual, expected, variance, gradient)
        columns.update(_measure_columns(name, sums_of, cov, z_crit, clipped=rest is None, params=params))
    frame = pl.concat([groups, pl.DataFrame(columns)], how="horizontal")
    if rest is not None:
        ratios = [f"{name}_{part}" for name in measures for part in ("ratio", "ratio_low", "ratio_high")]
        frame = frame.with_columns(
            pl.col(ratios).fill_nan(None),  # no ratio to an expectation of 0 or less
            pl.lit("others").alias("reference"),
            pl.Series("rest_size", rest.size.astype(np.int64)),
            *(pl.Series(column, values) for column, values in rest_columns.items()),
        )
    return frame.with_columns([expr for name in measures for expr in verdict_columns(frame, name, params)])


def _measure_inputs(
    current: pl.DataFrame, X: np.ndarray, binary: FittedModel, count: FittedModel
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per measure: outcomes, predictions, each outcome's model variance, the weights of the expected sum's
    gradient in the coefficients (the delta method), and the coefficients' covariance."""
    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    return {
        "binary": (
            current.get_column("reoffended").cast(pl.Float64).to_numpy(),
            p,
            p * (1 - p),
            p * (1 - p),
            binary.cov,
        ),
        "reoffences_per_offender": (
            current.get_column("reoffences").cast(pl.Float64).to_numpy(),
            mu,
            mu + count.alpha * mu * mu,
            mu,
            count.cov,
        ),
    }


def _moved_by_the_rest(
    name: str,
    n: np.ndarray,
    rest: RestOfCohort,
    actual: np.ndarray,
    expected: np.ndarray,
    variance: np.ndarray,
    gradient: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
    """Against the rest of the cohort: the expectation, its variance and gradient moved by the rest's shift,
    and the rest's shift as its column (name and values).

    difference = (O - E)/n - (O_r - E_r)/n_r, i.e. the unit's actual against its expectation moved by the
    rest's shift, E* = E + n (O_r - E_r)/n_r; the unit and the rest are different releases, so on the unit's
    sum scale Var = V + (n/n_r)^2 V_r, and E* depends on the coefficients through E - (n/n_r) E_r (the delta
    method's gradient)."""
    share = n / rest.size
    rest_shift = (rest.of(actual) - rest.of(expected)) / rest.size
    expected = expected + n * rest_shift
    variance = variance + share**2 * rest.of(variance)
    gradient = gradient - share[:, None] * rest.of(gradient)
    scale_rest, column_rest = (
        (100.0, "binary_rest_difference_pp") if name == "binary" else (1.0, f"{name}_rest_difference")
    )
    return expected, variance, gradient, column_rest, scale_rest * rest_shift


@dataclass(frozen=True)
class _Sums:
    """One measure's sums per group: releases ``n``, actual and expected sums, the outcome variance of the sum
    and the expected sum's gradient in the coefficients."""

    n: np.ndarray
    actual: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    gradient: np.ndarray


def _measure_columns(
    name: str, sums: _Sums, cov: np.ndarray, z_crit: float, *, clipped: bool, params: AdjustedParams
) -> dict[str, Any]:
    """One measure's comparison columns, in the declared order: the count, actual and expected, the difference
    with its standard error and interval (``clipped`` to what is possible against the baseline), the ratio with
    its interval, the reduction, z and the p-values, and the expectation's parameter standard error."""
    n, actual, expected = sums.n, sums.actual, sums.expected
    param_var = np.einsum("gi,ij,gj->g", sums.gradient, cov, sums.gradient)
    variance = sums.variance + (param_var if params.parameter_uncertainty else 0.0)
    sd = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (actual - expected) / sd
        ratio = np.where(expected > 0, actual / expected, np.nan)
        ratio_sd = np.where(expected > 0, sd / expected, np.nan)
    difference = (actual - expected) / n
    se = sd / n
    p_two, p_reduction, p_increase = 2 * stats.norm.sf(np.abs(z)), stats.norm.cdf(z), stats.norm.sf(z)
    columns: dict[str, Any] = {}
    count_name = "reoffenders" if name == "binary" else "reoffences"
    columns[count_name] = actual.round().astype(np.int64)
    columns[f"{name}_actual"] = actual / n
    columns[f"{name}_expected"] = expected / n
    # the binary difference in percentage points (as every command reports it), the other per offender
    scale, column = (100.0, "binary_difference_pp") if name == "binary" else (1.0, f"{name}_difference")
    columns[column] = scale * difference
    columns[f"{column}_se"] = scale * se
    if clipped:
        # the interval, clipped to what is possible: an actual rate of at least 0 (binary: at most 1)
        ceiling = (n - expected) / n if name == "binary" else np.inf
        low = np.maximum(difference - z_crit * se, -expected / n)
        high = np.minimum(difference + z_crit * se, ceiling)
        ratio_low = np.maximum(ratio - z_crit * sd / expected, 0.0)  # as written before --relative-to: same bits
        ratio_high = np.minimum(ratio + z_crit * sd / expected, n / expected if name == "binary" else np.inf)
    else:
        # not clipped: the rest's shift is itself an estimate, so no bound on the unit's own rate bounds the
        # difference of the two
        low, high = difference - z_crit * se, difference + z_crit * se
        ratio_low, ratio_high = ratio - z_crit * ratio_sd, ratio + z_crit * ratio_sd
    columns[f"{column}_low"] = scale * low
    columns[f"{column}_high"] = scale * high
    columns[f"{name}_ratio"] = ratio
    columns[f"{name}_ratio_low"] = ratio_low
    columns[f"{name}_ratio_high"] = ratio_high
    if name == "binary":
        columns["binary_reduction_pp"] = -100 * difference
    else:
        columns["reoffences_per_offender_reduction_pct"] = 100 * (1 - ratio)
    columns[f"{name}_z"] = z
    columns[f"{name}_p_two_sided"] = p_two
    columns[f"{name}_p_reduction"] = p_reduction
    columns[f"{name}_p_increase"] = p_increase
    columns[f"{name}_expected_se_parameters"] = np.sqrt(param_var) / n
    return columns


@dataclass(frozen=True)
class RestOfCohort:
    """For each unit, the other units of its current cohort together (``--relative-to others``)."""

    cohort_index: np.ndarray  # each unit's cohort, as an index into the cohorts
    size: np.ndarray  # index releases of the rest, per unit (float)

    def of(self, values: np.ndarray) -> np.ndarray:
        """Per unit, the sum of ``values`` (one per unit, or one row per unit) over the rest of its cohort."""
        totals = np.zeros((int(self.cohort_index.max(initial=-1)) + 1, *values.shape[1:]))
        np.add.at(totals, self.cohort_index, values)
        return totals[self.cohort_index] - values


def _rest_of_cohort(groups: pl.DataFrame, n: np.ndarray) -> RestOfCohort:
    """The rest of each unit's cohort; a cohort with one unit has no rest to compare with: a usage error."""
    cohorts = groups.get_column("cohort").cast(pl.String).to_numpy()
    labels, index = np.unique(cohorts, return_inverse=True)
    rest = RestOfCohort(index, np.zeros(0))
    rest = RestOfCohort(index, rest.of(n))
    alone = sorted({str(labels[i]) for i in index[rest.size == 0]})
    if alone:
        raise UsageError(
            f"--relative-to others: current cohort {', '.join(alone)} has releases of one unit only, so there are no "
            "other units to compare it with (a --current-filter keeps one unit?); use --relative-to baseline"
        )
    return rest


def difference_column(name: str) -> str:
    """``binary_difference_pp`` (percentage points) or ``reoffences_per_offender_difference``."""
    return "binary_difference_pp" if name == "binary" else f"{name}_difference"


def verdict_columns(frame: pl.DataFrame, name: str, params: AdjustedParams) -> list[pl.Expr]:
    """The verdict of each unit on one measure (reoffend.report.verdict), raw and after the multiple-testing
    adjustment over every unit compared (``params.multiple_testing``, Holm by default).

    ``{name}_significant`` and ``{name}_beat_baseline`` are both "a significant reduction" (actual
    significantly below expected); ``{name}_significant_adjusted`` the same after the adjustment.
    """
    p = frame.select(verdict_p(pl.col(f"{name}_p_reduction"), pl.col(f"{name}_p_increase"), params.sided)).to_series()
    adjusted = adjust(p, params.multiple_testing)
    change = pl.col(difference_column(name))
    raw = verdict_expr(pl.lit(p), change, params.alpha)
    after = verdict_expr(pl.lit(adjusted), change, params.alpha)
    reduction = Verdict.REDUCTION.value
    return [
        raw.alias(f"{name}_verdict"),
        (raw == reduction).alias(f"{name}_significant"),
        (raw == reduction).alias(f"{name}_beat_baseline"),
        pl.lit(adjusted).alias(f"{name}_p_adjusted"),
        after.alias(f"{name}_verdict_adjusted"),
        (after == reduction).alias(f"{name}_significant_adjusted"),
    ]


def national_shift(
    current: pl.DataFrame, X: np.ndarray, binary: FittedModel, count: FittedModel, params: AdjustedParams
) -> dict[str, Any]:
    """Every current release together, actual against the baseline model's expectation: the shift all units
    share (docs/comparisons-adjusted.md, "The national shift"). When the whole country's reoffending moved
    since the baseline, every unit moves with it, and "beating the baseline" says as much about the country as
    about the unit.

    The same test as each unit's (:func:`score_groups`) applied to the sum over all current releases, at the
    same sidedness: the difference (binary in percentage points, reoffences per offender), its interval at the
    verdict's level (``interval_confidence``: 90% one-sided at 5%, as the units' beside it), the p the verdict
    rests on (``_p``: one-sided on the side of the change, or two-sided) with the two-sided p too, and
    ``significant`` at ``alpha``. Pooled over every current cohort. With ``--parameter-uncertainty`` the variance
    adds the delta-method variance of the pooled expected sum (the gradient summed over every current release,
    as :func:`score_groups` does for one group), so the shift is the one-unit (``--by ""``) row's test exactly;
    without it, like the units, the shift leaves the baseline model's uncertainty out.
    """
    n = float(current.height)
    confidence = interval_confidence(params.alpha, params.sided)
    found: dict[str, Any] = {"releases": current.height, "confidence": confidence, "sided": params.sided}
    if not current.height:
        return found
    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    z_crit = normal_quantile(confidence)
    # per measure as in score_groups: outcomes, predictions, each outcome's model variance, the weights of the
    # expected sum's gradient in the coefficients and their covariance (the delta method), the scale
    measures = {
        "binary_difference_pp": (current.get_column("reoffended"), p, p * (1 - p), p * (1 - p), binary.cov, 100.0),
        "reoffences_per_offender_difference": (
            current.get_column("reoffences"),
            mu,
            mu + count.alpha * mu * mu,
            mu,
            count.cov,
            1.0,
        ),
    }
    for column, (outcome, expected, outcome_var, gradient_weights, cov, scale) in measures.items():
        actual_sum = float(outcome.cast(pl.Float64).sum())
        expected_sum = float(expected.sum())
        variance = float(outcome_var.sum())
        if params.parameter_uncertainty:  # the pooled expectation's own: g' cov g, g its gradient over every release
            gradient = (X * gradient_weights[:, None]).sum(axis=0)
            variance += float(gradient @ cov @ gradient)
        sd = float(np.sqrt(variance))
        difference = (actual_sum - expected_sum) / n
        se = sd / n
        z = (actual_sum - expected_sum) / sd if sd > 0 else float("nan")
        p_two = float(2 * stats.norm.sf(abs(z))) if sd > 0 else None
        p_verdict = None if p_two is None else (p_two / 2 if params.sided == "one" else p_two)
        found[column] = scale * difference
        # clipped to what is possible, as each unit's is (score_groups): an actual rate of at least 0, at most 1
        ceiling = (n - expected_sum) / n if column == "binary_difference_pp" else math.inf
        found[f"{column}_low"] = scale * max(difference - z_crit * se, -expected_sum / n)
        found[f"{column}_high"] = scale * min(difference + z_crit * se, ceiling)
        found[f"{column}_p"] = p_verdict
        found[f"{column}_p_two_sided"] = p_two
        found[f"{column}_significant"] = p_verdict is not None and p_verdict < params.alpha
    return found
