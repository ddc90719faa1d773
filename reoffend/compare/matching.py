"""Nearest-neighbour matching, matching weights, balance and the matched-set bootstrap (numpy, vectorised).

No Python loop over people: the nearest neighbours of every treated unit are found by one sorted search of
the pool within exact strata (docs/comparisons-matched.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Matches:
    """The matched pairs: ``treated[k]`` is served by ``comparator[k]`` at ``distance[k]``.

    Pairs are ordered by treated unit, then by nearness (distance, then tie key). ``ratio`` holds, per unit,
    how many comparators a treated unit got (0 for pool units and unmatched treated units).
    """

    treated: np.ndarray
    comparator: np.ndarray
    distance: np.ndarray
    ratio: np.ndarray

    @property
    def pair_weight(self) -> np.ndarray:
        """Weight of each pair: 1 / the number of comparators of its treated unit."""
        return 1.0 / self.ratio[self.treated]


def nearest_neighbours(
    stratum: np.ndarray,
    score: np.ndarray,
    is_treated: np.ndarray,
    tie_key: np.ndarray,
    ratio: int,
    caliper: float,
) -> Matches:
    """Up to ``ratio`` nearest pool units on ``score`` in the same ``stratum``, with replacement, within ``caliper``.

    All arrays are per unit (treated and pool together). The ``ratio`` nearest pool units of a treated unit are
    taken first (nearness: absolute score difference, ties broken by the smaller ``tie_key``); those farther
    than ``caliper`` are then dropped. A pool unit may serve any number of treated units.

    Method: a treated unit's insertion point in the pool sorted by (stratum, score) is found by one joint sort.
    Its ``ratio`` nearest pool units lie within ``ratio`` places either side of that point (each side ordered
    by distance, then tie key), so a (treated x 2 ratio) candidate matrix holds them all; the nearest are
    picked from it by one row-wise sort on (distance, tie key). ``tie_key`` must be integers.
    """
    stratum = np.asarray(stratum, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    is_treated = np.asarray(is_treated, dtype=bool)
    tie_key = np.asarray(tie_key, dtype=np.int64)
    n = score.size
    empty = np.zeros(0, dtype=np.int64)
    ratio_out = np.zeros(n, dtype=np.int64)
    treated_units = np.flatnonzero(is_treated)
    pool_units = np.flatnonzero(~is_treated)
    if treated_units.size == 0 or pool_units.size == 0 or ratio < 1:
        return Matches(empty, empty, np.zeros(0), ratio_out)

    # a treated unit's insertion point among the pool sorted by (stratum, score): one joint sort, treated units
    # before pool units of equal score, then the count of pool units before each treated unit
    order = np.lexsort((~is_treated, score, stratum))
    in_pool = ~is_treated[order]
    pool_before = np.cumsum(in_pool) - in_pool
    treated_positions = np.flatnonzero(~in_pool)
    t_units = order[treated_positions]
    insertion = pool_before[treated_positions]

    # the pool in two orders that differ only among equal scores: walking right from the insertion point in
    # ``right`` (ties by ascending key) and left in ``left`` (ties by ascending key going left) visits each side
    # in order of (distance, tie key), so each side's first ``ratio`` units hold its nearest ``ratio``
    p_stratum, p_score, p_key = stratum[pool_units], score[pool_units], tie_key[pool_units]
    right = pool_units[np.lexsort((p_key, p_score, p_stratum))]
    left = pool_units[np.lexsort((-p_key, p_score, p_stratum))]
    n_strata = int(stratum.max()) + 1
    counts = np.bincount(p_stratum, minlength=n_strata)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    lo = first[stratum[t_units]]
    hi = lo + counts[stratum[t_units]]

    offsets = np.arange(-ratio, ratio)
    candidate = insertion[:, None] + offsets[None, :]
    valid = (candidate >= lo[:, None]) & (candidate < hi[:, None])
    candidate = np.where(valid, candidate, 0)
    units = np.where(offsets[None, :] < 0, left[candidate], right[candidate])
    distance = np.where(valid, np.abs(score[units] - score[t_units][:, None]), np.inf)
    keys = np.where(valid, tie_key[units], tie_key.max())
    nearest = np.lexsort((keys, distance), axis=-1)[:, :ratio]
    distance = np.take_along_axis(distance, nearest, axis=1)
    units = np.take_along_axis(units, nearest, axis=1)
    keep = np.isfinite(distance) & (distance <= caliper)

    # back to the order of the treated units (by unit index), pairs by nearness within each
    back = np.argsort(t_units, kind="stable")
    t_units, units, distance, keep = t_units[back], units[back], distance[back], keep[back]
    ratio_out[t_units] = keep.sum(axis=1)
    treated_pairs = np.repeat(t_units, ratio)[keep.ravel()]
    return Matches(treated_pairs, units[keep], distance[keep], ratio_out)


def comparator_weights(matches: Matches, n_units: int) -> np.ndarray:
    """Per unit, the sum over the treated units it serves of 1 / (that treated unit's number of comparators)."""
    return np.bincount(matches.comparator, weights=matches.pair_weight, minlength=n_units)


def matched_set_means(matches: Matches, values: np.ndarray, n_units: int) -> np.ndarray:
    """Per unit (meaningful for matched treated units), the mean of ``values`` over its comparators.

    ``values`` is (units,) or (units, k); the result has the same trailing shape. Unmatched: NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    two_d = values.ndim == 2
    values = values if two_d else values[:, None]
    sums = np.stack(
        [
            np.bincount(matches.treated, weights=values[matches.comparator, j], minlength=n_units)
            for j in range(values.shape[1])
        ],
        axis=1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / matches.ratio[:, None]
    means[matches.ratio == 0] = np.nan
    return means if two_d else means[:, 0]


def kish_effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of weights: (sum w)^2 / sum w^2 (0 when there are none)."""
    weights = np.asarray(weights, dtype=np.float64)
    square = float((weights**2).sum())
    return float(weights.sum()) ** 2 / square if square > 0 else 0.0


# ----------------------------------------------------------------------------------------------- balance
@dataclass
class Balance:
    """Means and standardised mean differences per balance column, before and after matching."""

    treated_before: np.ndarray
    pool_before: np.ndarray
    smd_before: np.ndarray
    treated_after: np.ndarray
    comparison_after: np.ndarray
    smd_after: np.ndarray
    sd_pooled: np.ndarray


CONSTANT_TOLERANCE = 1e-9  # a pooled SD this small against the column's scale is rounding, not variation


def standardised_differences(
    columns: np.ndarray,
    is_treated: np.ndarray,
    matched_treated: np.ndarray,
    comparator_weight: np.ndarray,
) -> Balance:
    """SMD = (treated mean - comparison mean) / sqrt((treated variance + pool variance) / 2).

    The denominator uses the variances *before* matching (n - 1 denominators) for both the before and the
    after SMD, so that the two differ only by the change in mean difference. Before: all treated units
    against the whole pool. After: the matched treated units against the comparators weighted by
    ``comparator_weight``. A column constant in both groups has SMD null (NaN), also when it is constant only up
    to rounding (a pooled SD below ``CONSTANT_TOLERANCE`` times its largest absolute value): a propensity score
    that the model could not move from the intercept differs from itself by 1e-16, and dividing that by an SD
    of 1e-16 gave an SMD of 8 and a spurious balance warning.
    """
    columns = np.asarray(columns, dtype=np.float64)
    treated_cols = columns[is_treated]
    pool_cols = columns[~is_treated]
    treated_before = treated_cols.mean(axis=0) if treated_cols.shape[0] else np.full(columns.shape[1], np.nan)
    pool_before = pool_cols.mean(axis=0) if pool_cols.shape[0] else np.full(columns.shape[1], np.nan)
    var_t = treated_cols.var(axis=0, ddof=1) if treated_cols.shape[0] > 1 else np.zeros(columns.shape[1])
    var_p = pool_cols.var(axis=0, ddof=1) if pool_cols.shape[0] > 1 else np.zeros(columns.shape[1])
    sd = np.sqrt((var_t + var_p) / 2)
    scale = np.abs(columns).max(axis=0, initial=0.0) if columns.shape[0] else np.zeros(columns.shape[1])
    varies = sd > CONSTANT_TOLERANCE * np.maximum(scale, 1.0)
    used = np.flatnonzero(comparator_weight > 0)
    if matched_treated.any() and used.size:
        treated_after = columns[matched_treated].mean(axis=0)
        w = comparator_weight[used]
        comparison_after = (w @ columns[used]) / w.sum()
    else:
        treated_after = comparison_after = np.full(columns.shape[1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        smd_before = np.where(varies, (treated_before - pool_before) / sd, np.nan)
        smd_after = np.where(varies, (treated_after - comparison_after) / sd, np.nan)
    return Balance(treated_before, pool_before, smd_before, treated_after, comparison_after, smd_after, sd)


# --------------------------------------------------------------------------------------------- bootstrap
def bootstrap_means(
    treated_values: np.ndarray,
    comparison_values: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    replicates: int,
    rng: np.random.Generator,
    chunk: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resample matched treated units (each with its matched-set mean) within groups; per-replicate means.

    ``treated_values`` and ``comparison_values`` are (n, k): per matched treated unit its outcomes and the mean
    outcomes of its comparators, so a resampled treated unit brings its comparators along. Units are drawn
    with replacement within each group (cohort), keeping group sizes. Returns per-group and pooled means,
    treated and comparison: ``(treated_group[B, G, k], comparison_group[B, G, k], treated_all[B, k],
    comparison_all[B, k])``. Vectorised over units; the loop runs over chunks of replicates and over groups.
    """
    group = np.asarray(group, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    t_values = np.asarray(treated_values, dtype=np.float64)[order]
    c_values = np.asarray(comparison_values, dtype=np.float64)[order]
    sizes = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    present = np.flatnonzero(sizes > 0)
    k = t_values.shape[1]
    t_group = np.full((replicates, n_groups, k), np.nan)
    c_group = np.full((replicates, n_groups, k), np.nan)
    t_all = np.full((replicates, k), np.nan)
    c_all = np.full((replicates, k), np.nan)
    n = int(sizes.sum())
    if n == 0:
        return t_group, c_group, t_all, c_all
    for begin in range(0, replicates, chunk):
        size = min(chunk, replicates - begin)
        index = np.empty((size, n), dtype=np.int64)
        for g in present:
            s, m = starts[g], sizes[g]
            index[:, s : s + m] = s + rng.integers(0, m, size=(size, m))
        t_sum = np.empty((size, len(present), k))
        c_sum = np.empty((size, len(present), k))
        for j in range(k):
            t_sum[:, :, j] = np.add.reduceat(t_values[index, j], starts[present], axis=1)
            c_sum[:, :, j] = np.add.reduceat(c_values[index, j], starts[present], axis=1)
        block = slice(begin, begin + size)
        t_group[block, present] = t_sum / sizes[present][None, :, None]
        c_group[block, present] = c_sum / sizes[present][None, :, None]
        t_all[block] = t_sum.sum(axis=1) / n
        c_all[block] = c_sum.sum(axis=1) / n
    return t_group, c_group, t_all, c_all
