"""Confidence intervals and small statistics shared by the measures and the comparisons."""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # numpy loads only when an AUC is computed: `reoffend measure` starts ~0.1 s sooner
    import numpy as np


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
