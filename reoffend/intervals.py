"""Confidence intervals and small statistics shared by the measures and the comparisons."""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

from .lazy_import import lazy_module

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")


if TYPE_CHECKING:  # numpy loads only when an AUC is computed: `reoffend measure` starts ~0.1 s sooner
    import numpy as np


# The smallest tail an interval or a test may leave: an --alpha or a 1 - --confidence below it is refused (exit 2,
# cli/options.py ALPHA, CONFIDENCE; the bulletin's config likewise). Below ~1.1e-16, 0.5 + confidence / 2 rounds
# to 1 and the normal quantile does not exist; 1e-12 leaves room for the halving and the one-sided 1 - 2 alpha.
SMALLEST_TAIL = 1e-12
LARGEST_CONFIDENCE = 1 - SMALLEST_TAIL


def normal_quantile(confidence: float) -> float:
    """The two-sided standard normal critical value for ``confidence`` (1.959964 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: pl.Expr, trials: pl.Expr, confidence: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval for a binomial proportion, as polars expressions; null when ``trials`` is 0.

    Wilson (1927): centre ``(x + z²/2) / (n + z²)``, half-width ``z / (n + z²) * sqrt(x(n - x)/n + z²/4)``.
    Agrees with ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
    """
    z = normal_quantile(confidence)
    x = successes.cast(pl.Float64)
    n = trials.cast(pl.Float64)
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * (x * (n - x) / n + z * z / 4).sqrt()
    # at x = 0 (x = n) the lower (upper) bound is exactly 0 (1); the formula leaves rounding dust there
    low = pl.when(trials <= 0).then(None).when(successes <= 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(trials <= 0).then(None).when(successes >= trials).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return low, high


def rank_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by the Mann-Whitney rank formula, ties given average ranks.

    ``AUC = (R1 - n1 (n1 + 1) / 2) / (n1 n0)`` where ``R1`` is the sum of the ranks of the positives.
    It is the probability that a random positive scores above a random negative (ties count one half).
    """
    import numpy as np

    labels = np.asarray(labels).astype(bool)
    n1 = int(labels.sum())
    n0 = labels.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pl.Series(np.asarray(scores, dtype=np.float64)).rank("average").to_numpy()
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def score_difference_interval(
    x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray, confidence: float, iterations: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """The score interval for ``p1 - p0`` that inverts the pooled two-proportion z test (vectorised).

    Miettinen and Nurminen's (1985) interval without their ``n/(n-1)`` factor: the set of ``delta`` with
    ``|p̂1 - p̂0 - delta| / sqrt(p̃1(1-p̃1)/n1 + p̃0(1-p̃0)/n0) <= z``, where ``p̃1 = p̃0 + delta`` are the
    maximum-likelihood proportions under ``p1 - p0 = delta`` (the root of their cubic). At ``delta = 0``
    both are the pooled rate, so the statistic *is* the pooled z: the interval excludes 0 exactly when the
    pooled z test at the same level rejects (design: comparisons.md §1, "one verdict").

    This is statsmodels' ``confint_proportions_2indep(method="score", correction=False)`` with the cubic's
    linear coefficient corrected (statsmodels issue #10269: ``count0`` where ``nobs0`` belongs, which moves
    the bounds by up to a few hundredths and makes the interval for equal cohorts asymmetric); unlike
    statsmodels it also gives an interval when a count is 0 or n. Solved by bisection on each side; NaN where
    a cohort is empty.
    """
    import numpy as np  # loaded here, as in rank_auc: `reoffend measure` never needs it

    x1, n1, x0, n0 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x0, n0))
    crit = normal_quantile(confidence)
    valid = (n1 > 0) & (n0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p0 = np.where(valid, x1 / n1, 0.0), np.where(valid, x0 / n0, 0.0)
        d = p1 - p0

        def statistic(delta: np.ndarray) -> np.ndarray:
            # Miettinen and Nurminen's (1985) cubic for the restricted p0 (index 0: the reference cohort)
            total, events = n1 + n0, x1 + x0
            t3 = total
            t2 = (n1 + 2 * n0) * delta - total - events
            t1 = (n0 * delta - total - 2 * x0) * delta + events  # n0, not x0: statsmodels#10269
            t0 = x0 * delta * (1 - delta)
            q = (t2 / (3 * t3)) ** 3 - t1 * t2 / (6 * t3**2) + t0 / (2 * t3)
            p = np.sign(q) * np.sqrt(np.maximum((t2 / (3 * t3)) ** 2 - t1 / (3 * t3), 0.0))
            ratio = np.where(p == 0, 0.0, q / p**3)
            angle = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3
            r0 = np.clip(2 * p * np.cos(angle) - t2 / (3 * t3), 0.0, 1.0)
            r1 = np.clip(r0 + delta, 0.0, 1.0)
            variance = r1 * (1 - r1) / n1 + r0 * (1 - r0) / n0
            return (d - delta) / np.sqrt(variance)

        low_a, low_b = np.full_like(d, -1.0), d.copy()  # statistic(low_a) > crit >= statistic(low)
        high_a, high_b = d.copy(), np.full_like(d, 1.0)  # statistic(high) >= -crit > statistic(high_b)
        for _ in range(iterations):
            mid = (low_a + low_b) / 2
            value = statistic(mid)
            above = (value > crit) | np.isnan(value)  # NaN only far from the estimate: outside the interval
            low_a, low_b = np.where(above, mid, low_a), np.where(above, low_b, mid)
            mid = (high_a + high_b) / 2
            value = statistic(mid)
            below = (value < -crit) | np.isnan(value)
            high_a, high_b = np.where(below, high_a, mid), np.where(below, mid, high_b)
    low = np.where(valid, low_b, np.nan)
    high = np.where(valid, high_a, np.nan)
    return low, high
