"""The one verdict rule of every comparison at its edges (reoffend/report/verdict.py)."""

from __future__ import annotations

import polars as pl
import pytest

from reoffend.report.verdict import (
    Verdict,
    interval_confidence,
    interval_label,
    interval_verdict_expr,
    p_phrase,
    short,
    side_p,
    verdict_expr,
    verdict_of,
    verdict_of_interval,
    verdict_p,
)

NAN = float("nan")
# (p, change) -> verdict at alpha 0.05: p < alpha is significant, p = alpha is not; a change of 0 never is
CASES = [
    (0.04, -1.0, Verdict.REDUCTION),
    (0.04, 1.0, Verdict.INCREASE),
    (0.05, -1.0, Verdict.NO_CHANGE),  # p = alpha exactly: not below it
    (0.05, 1.0, Verdict.NO_CHANGE),
    (0.04, 0.0, Verdict.NO_CHANGE),  # no change at all, however small p
    (0.5, -1.0, Verdict.NO_CHANGE),
    (None, -1.0, Verdict.TOO_FEW),
    (NAN, -1.0, Verdict.TOO_FEW),
    (0.04, None, Verdict.TOO_FEW),
]


@pytest.mark.parametrize(("p", "change", "expected"), CASES)
def test_verdict_of_one_value_and_the_expression_agree(p, change, expected):
    assert verdict_of(p, change, 0.05) is expected
    frame = pl.DataFrame({"p": [p], "change": [change]}, schema={"p": pl.Float64, "change": pl.Float64})
    assert frame.select(verdict_expr(pl.col("p"), pl.col("change"), 0.05)).item() == expected.value


# (low, high) -> verdict: an interval wholly below 0 is a reduction, wholly above an increase; touching 0 is neither
INTERVALS = [
    (-2.0, -0.5, Verdict.REDUCTION),
    (0.5, 2.0, Verdict.INCREASE),
    (-2.0, 0.0, Verdict.NO_CHANGE),
    (0.0, 2.0, Verdict.NO_CHANGE),
    (-1.0, 1.0, Verdict.NO_CHANGE),
    (None, 1.0, Verdict.TOO_FEW),
    (-1.0, None, Verdict.TOO_FEW),
]


@pytest.mark.parametrize(("low", "high", "expected"), INTERVALS)
def test_the_interval_verdict_and_its_expression_agree(low, high, expected):
    assert verdict_of_interval(low, high) is expected
    frame = pl.DataFrame({"low": [low], "high": [high]}, schema={"low": pl.Float64, "high": pl.Float64})
    assert frame.select(interval_verdict_expr(pl.col("low"), pl.col("high"))).item() == expected.value


def test_the_interval_level_agrees_with_the_test():
    # one-sided at 5%: two one-sided tests, a 1 - 2 * 0.05 = 90% interval; two-sided at 5%: 1 - 0.05 = 95%
    assert interval_confidence(0.05, "one") == pytest.approx(0.90)
    assert interval_confidence(0.05, "two") == pytest.approx(0.95)
    assert interval_label(0.05, "one") == "90% interval, one-sided test at 5%"
    assert interval_label(0.01, "two") == "99% interval, two-sided test at 1%"


def test_the_verdict_p_value():
    frame = pl.DataFrame({"down": [0.03, 0.7, 0.6, None], "up": [0.97, 0.3, 0.6, 0.5]})
    one = frame.select(verdict_p(pl.col("down"), pl.col("up"), "one")).to_series().to_list()
    two = frame.select(verdict_p(pl.col("down"), pl.col("up"), "two")).to_series().to_list()
    # one-sided: the smaller; two-sided: twice the smaller, at most 1 (2 * 0.6 = 1.2 -> 1); min ignores a null
    assert one == [0.03, 0.3, 0.6, 0.5]
    assert two == [pytest.approx(0.06), pytest.approx(0.6), 1.0, 1.0]


def test_the_p_on_the_side_of_the_change_needs_both_one_sided_ps():
    # the smaller one-sided p: min(0.02, 0.98) = 0.02, whichever side it is on
    assert side_p(0.02, 0.98) == 0.02 and side_p(0.98, 0.02) == 0.02
    # without either one-sided p there is no side to speak of: None (not a comparison with None)
    assert side_p(None, 0.3) is None and side_p(0.3, None) is None and side_p(None, None) is None


def test_p_phrase_names_the_side_the_estimate_is_on():
    assert p_phrase("one", 0.045, 0.955) == "one-sided p for a fall = 0.045"
    assert p_phrase("one", 0.955, 0.045) == "one-sided p for a rise = 0.045"
    assert p_phrase("one", 0.5, 0.5) == "one-sided p for a fall = 0.500"  # a tie reads as a fall
    assert p_phrase("one", None, 0.5) == "one-sided p –"
    assert p_phrase("one", 0.5, None) == "one-sided p –"
    assert p_phrase("two", 0.045, 0.955, 0.09) == "two-sided p = 0.090"
    # no two-sided p given: twice the smaller one-sided p, at most 1
    assert p_phrase("two", 0.045, 0.955) == "two-sided p = 0.090"
    assert p_phrase("two", 0.6, 0.6) == "two-sided p = 1.000"
    assert p_phrase("two", None, 0.6) == "two-sided p –"


def test_short_names():
    assert [short(v.value) for v in Verdict] == ["reduction", "increase", "no significant change", "too few"]
    assert short(None) == "–"
