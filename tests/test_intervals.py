"""Confidence intervals at their edges (reoffend/intervals.py), worked by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest

from reoffend.intervals import (
    LARGEST_CONFIDENCE,
    SMALLEST_TAIL,
    normal_quantile,
    rank_auc,
    score_difference_interval,
    wilson_interval,
)

Z95 = 1.959963984540054  # the 97.5% standard normal quantile


def wilson(rows: list[tuple[int, int]], confidence: float = 0.95) -> list[tuple[float | None, float | None]]:
    frame = pl.DataFrame({"x": [x for x, _ in rows], "n": [n for _, n in rows]}, schema={"x": pl.Int64, "n": pl.Int64})
    low, high = wilson_interval(pl.col("x"), pl.col("n"), confidence)
    return frame.select(low.alias("low"), high.alias("high")).rows()


def test_normal_quantile():
    assert normal_quantile(0.95) == pytest.approx(Z95, rel=1e-12)
    assert normal_quantile(0.9) == pytest.approx(1.6448536269514722, rel=1e-12)
    # the largest confidence accepted, 1 - 1e-12, still has a quantile: Φ⁻¹(1 - 0.5e-12) = 7.1305
    assert LARGEST_CONFIDENCE == 1 - SMALLEST_TAIL == pytest.approx(1 - 1e-12, abs=1e-15)
    assert normal_quantile(LARGEST_CONFIDENCE) == pytest.approx(7.1305, abs=1e-4)


def test_wilson_bounds_are_exactly_0_and_1_at_the_edges_with_n_10():
    # 0/10: centre (0 + z²/2)/(10 + z²), half-width z/(10 + z²) * sqrt(0 + z²/4) = (z²/2)/(10 + z²): the lower
    # bound centre - half is 0 in exact arithmetic, 2.8e-17 in floating point; 10/10's upper bound likewise 1 but
    # 0.9999999999999999. The interval is exactly [0, z²/(10 + z²)] and [10/(10 + z²), 1]
    z2 = Z95**2
    (none_low, none_high), (all_low, all_high) = wilson([(0, 10), (10, 10)])
    assert none_low == 0.0 and all_high == 1.0
    assert none_high == pytest.approx(z2 / (10 + z2), rel=1e-12)  # 3.8415 / 13.8415 = 0.27753
    assert all_low == pytest.approx(10 / (10 + z2), rel=1e-12)  # 0.72247


def test_wilson_interval_of_3_of_10_by_hand():
    # centre (3 + 1.92073)/13.84146 = 0.35551; half 1.95996/13.84146 * sqrt(3 * 7 / 10 + 0.96036) = 0.24771
    z2 = Z95**2
    centre = (3 + z2 / 2) / (10 + z2)
    half = Z95 / (10 + z2) * math.sqrt(3 * 7 / 10 + z2 / 4)
    ((low, high),) = wilson([(3, 10)])
    assert (low, high) == (pytest.approx(centre - half, rel=1e-12), pytest.approx(centre + half, rel=1e-12))
    assert (low, high) == (pytest.approx(0.10779, abs=1e-5), pytest.approx(0.60322, abs=1e-5))


def test_one_success_has_a_lower_bound_above_0():
    # 1/10: centre (1 + 1.92073)/13.84146 = 0.21101, half 1.95996/13.84146 * sqrt(1 * 9 / 10 + 0.96036) =
    # 0.14160 * 1.36395 = 0.19314: the lower bound 0.01788 is the formula's (only 0 successes is set to exactly 0)
    z2 = Z95**2
    ((low, high),) = wilson([(1, 10)])
    assert low == pytest.approx((1 + z2 / 2) / (10 + z2) - Z95 / (10 + z2) * math.sqrt(0.9 + z2 / 4), rel=1e-12)
    assert (low, high) == (pytest.approx(0.01788, abs=1e-5), pytest.approx(0.40415, abs=1e-5))


def test_an_empty_cohort_has_null_wilson_bounds():
    assert wilson([(0, 0)]) == [(None, None)]


def test_the_score_interval_clips_the_arccos_argument_to_minus_1_and_1():
    # 4/4 against 0/2, 95%. The maximum-likelihood p0 under p1 - p0 = delta maximises 4 log(p0 + delta) +
    # 2 log(1 - p0): 4/(p0 + delta) = 2/(1 - p0), so p0 = (2 - delta)/3 and p1 = (2 + 2 delta)/3 (for delta <= 0.5).
    # Variance p1(1 - p1)/4 + p0(1 - p0)/2 = [(2 + 2d)(1 - 2d) + 2(2 - d)(1 + d)]/36 = (1 - d²)/6, so the lower
    # bound solves (1 - d)/sqrt((1 - d²)/6) = z: 6(1 - d) = z²(1 + d), d = (6 - z²)/(6 + z²) = 2.15853/9.84147 =
    # 0.21933. Its cubic's arccos argument leaves [-1, 1] by rounding on the way; unclipped it ends at 0.5.
    low, high = score_difference_interval(np.array([4]), np.array([4]), np.array([0]), np.array([2]), 0.95)
    z2 = Z95**2
    assert low[0] == pytest.approx((6 - z2) / (6 + z2), abs=1e-9)
    assert low[0] == pytest.approx(0.21933, abs=1e-5)
    assert high[0] == 1.0  # p1 - p0 = 1 is the largest difference there is
    # and the mirror image: 0/2 against 4/4 is [-1, -0.21933]
    low, high = score_difference_interval(np.array([0]), np.array([2]), np.array([4]), np.array([4]), 0.95)
    assert (low[0], high[0]) == (-1.0, pytest.approx(-(6 - z2) / (6 + z2), abs=1e-9))


def test_the_score_interval_of_half_against_half_by_hand():
    # n/2 of n against n/2 of n, 95%. By symmetry the maximum-likelihood rates under p1 - p0 = d are
    # p0 = (1 - d)/2 and p1 = (1 + d)/2 (the score equations 1/p1 - 1/(1 - p1) + 1/p0 - 1/(1 - p0) = 0 hold), so
    # the variance is 2 (1 - d²)/4 / n = (1 - d²)/(2n) and the bound solves d / sqrt((1 - d²)/(2n)) = z:
    # 2n d² = z² (1 - d²), d = z / sqrt(2n + z²). n = 2: 1.959964/sqrt(7.841459) = 0.69992; n = 10:
    # 1.959964/sqrt(23.841459) = 0.40140. The cubic is degenerate here: for n = 2, t3 = 4, t2 = 6d - 6,
    # t1 = 2d² - 6d + 2, t0 = d(1 - d), so q = [(d - 1)³ - (d² - 3d + 1)(d - 1) - d(d - 1)]/8 = 0 at every d (n = 10
    # scales each t by 5, the same q), and p, which carries q's sign, is 0 too: the ratio q/p³ is 0/0 and must be
    # taken as 0 (as a NaN it puts every d outside the interval, which then shrinks to the estimate).
    low, high = score_difference_interval(
        np.array([1, 5]), np.array([2, 10]), np.array([1, 5]), np.array([2, 10]), 0.95
    )
    z2 = Z95**2
    assert high[0] == pytest.approx(Z95 / math.sqrt(4 + z2), abs=1e-9) and high[0] == pytest.approx(0.69992, abs=1e-5)
    assert high[1] == pytest.approx(Z95 / math.sqrt(20 + z2), abs=1e-9) and high[1] == pytest.approx(0.40140, abs=1e-5)
    assert low[0] == pytest.approx(-high[0], abs=1e-9) and low[1] == pytest.approx(-high[1], abs=1e-9)


def test_the_score_interval_of_an_empty_cohort_is_nan():
    low, high = score_difference_interval(
        np.array([0, 3, 2]), np.array([0, 10, 5]), np.array([1, 0, 2]), np.array([2, 0, 5]), 0.95
    )
    assert math.isnan(low[0]) and math.isnan(high[0]) and math.isnan(low[1]) and math.isnan(high[1])
    # 2/5 against 2/5: the interval is symmetric about 0 (the corrected cubic, statsmodels#10269)
    assert low[2] == pytest.approx(-high[2], abs=1e-9) and 0 < high[2] < 1


def test_rank_auc_by_hand():
    # positives score 0.9 and 0.4, negatives 0.5 and 0.1: of the 4 pairs the positive wins 3 -> AUC 3/4.
    # Ranks 4, 2 (positives), 3, 1: R1 = 6, (6 - 2 * 3 / 2)/(2 * 2) = 3/4
    assert rank_auc(np.array([0.9, 0.5, 0.4, 0.1]), np.array([1, 0, 1, 0])) == 0.75
    # a tie counts one half: 0.5 and 0.5 -> 1/2
    assert rank_auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    # no positives (or no negatives): no pairs, NaN, returned before any 0/0 (which would warn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(rank_auc(np.array([0.5, 0.6]), np.array([1, 1])))
        assert math.isnan(rank_auc(np.array([0.5, 0.6]), np.array([0, 0])))
