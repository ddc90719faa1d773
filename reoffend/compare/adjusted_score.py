"""Scoring the current releases against the baseline models: per group, actual against expected.

Design §3 (docs/comparisons-adjusted.md): the variance of the sum of independent outcomes under the
baseline model (``sum p(1-p)`` for binary, ``sum mu + alpha mu^2`` for NB2), plus the delta-method
parameter variance when asked, gives a z test per provider and cohort. Split out of
:mod:`reoffend.compare.adjusted` along its seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import special, stats

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

    def parameter_variance(gradient_weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
        gradient = sums(X * gradient_weights[:, None])
        return np.einsum("gi,ij,gj->g", gradient, cov, gradient)

    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    measures = {
        "binary": (
            current.get_column("reoffended").cast(pl.Float64).to_numpy(),
            p,
            p * (1 - p),
            parameter_variance(p * (1 - p), binary.cov),
        ),
        "reoffences_per_offender": (
            current.get_column("reoffences").cast(pl.Float64).to_numpy(),
            mu,
            mu + count.alpha * mu * mu,
            parameter_variance(mu, count.cov),
        ),
    }
    # the interval beside the verdict agrees with the test: 1 - 2 alpha one-sided, 1 - alpha two-sided
    z_crit = normal_quantile(interval_confidence(params.alpha, params.sided))
    columns: dict[str, Any] = {"cohort_size": n.astype(np.int64)}
    for name, (y, predicted, outcome_var, param_var) in measures.items():
        actual, expected = sums(y), sums(predicted)
        variance = sums(outcome_var) + (param_var if params.parameter_uncertainty else 0.0)
        sd = np.sqrt(variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (actual - expected) / sd
        difference = (actual - expected) / n
        se = sd / n
        ratio = actual / expected
        p_two, p_reduction, p_increase = 2 * stats.norm.sf(np.abs(z)), stats.norm.cdf(z), stats.norm.sf(z)
        count_name = "reoffenders" if name == "binary" else "reoffences"
        columns[count_name] = actual.round().astype(np.int64)
        columns[f"{name}_actual"] = actual / n
        columns[f"{name}_expected"] = expected / n
        # the binary difference in percentage points (as every command reports it), the other per offender
        scale, column = (100.0, "binary_difference_pp") if name == "binary" else (1.0, f"{name}_difference")
        columns[column] = scale * difference
        columns[f"{column}_se"] = scale * se
        # the interval, clipped to what is possible: an actual rate of at least 0 (binary: at most 1)
        ceiling = (n - expected) / n if name == "binary" else np.inf
        columns[f"{column}_low"] = scale * np.maximum(difference - z_crit * se, -expected / n)
        columns[f"{column}_high"] = scale * np.minimum(difference + z_crit * se, ceiling)
        columns[f"{name}_ratio"] = ratio
        columns[f"{name}_ratio_low"] = np.maximum(ratio - z_crit * sd / expected, 0.0)
        columns[f"{name}_ratio_high"] = np.minimum(
            ratio + z_crit * sd / expected, n / expected if name == "binary" else np.inf
        )
        if name == "binary":
            columns["binary_reduction_pp"] = -100 * difference
        else:
            columns["reoffences_per_offender_reduction_pct"] = 100 * (1 - ratio)
        columns[f"{name}_z"] = z
        columns[f"{name}_p_two_sided"] = p_two
        columns[f"{name}_p_reduction"] = p_reduction
        columns[f"{name}_p_increase"] = p_increase
        columns[f"{name}_expected_se_parameters"] = np.sqrt(param_var) / n
    frame = pl.concat([groups, pl.DataFrame(columns)], how="horizontal")
    return frame.with_columns([expr for name in measures for expr in verdict_columns(frame, name, params)])


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
    ``significant`` at ``alpha``. Pooled over every current cohort.
    """
    n = float(current.height)
    confidence = interval_confidence(params.alpha, params.sided)
    found: dict[str, Any] = {"releases": current.height, "confidence": confidence, "sided": params.sided}
    if not current.height:
        return found
    p = special.expit(X @ binary.params)
    mu = np.exp(X @ count.params)
    z_crit = normal_quantile(confidence)
    measures = {
        "binary_difference_pp": (current.get_column("reoffended"), p, p * (1 - p), 100.0),
        "reoffences_per_offender_difference": (current.get_column("reoffences"), mu, mu + count.alpha * mu * mu, 1.0),
    }
    for column, (outcome, expected, outcome_var, scale) in measures.items():
        actual_sum = float(outcome.cast(pl.Float64).sum())
        expected_sum = float(expected.sum())
        sd = float(np.sqrt(outcome_var.sum()))
        difference = (actual_sum - expected_sum) / n
        se = sd / n
        z = (actual_sum - expected_sum) / sd if sd > 0 else float("nan")
        p_two = float(2 * stats.norm.sf(abs(z))) if sd > 0 else None
        p_verdict = None if p_two is None else (p_two / 2 if params.sided == "one" else p_two)
        found[column] = scale * difference
        found[f"{column}_low"] = scale * (difference - z_crit * se)
        found[f"{column}_high"] = scale * (difference + z_crit * se)
        found[f"{column}_p"] = p_verdict
        found[f"{column}_p_two_sided"] = p_two
        found[f"{column}_significant"] = p_verdict is not None and p_verdict < params.alpha
    return found
