"""The single verdict rule of every comparison (docs/comparisons.md, design "one verdict").

A comparison tests whether a signed change (current minus reference: a negative change is a reduction) is
zero. Its verdict names the direction: :attr:`Verdict.REDUCTION`, :attr:`Verdict.INCREASE`,
:attr:`Verdict.NO_CHANGE`, or :attr:`Verdict.TOO_FEW` when there is nothing to test.

The interval printed beside a verdict always agrees with it: significant <=> the interval excludes zero on
the verdict's side. A one-sided test at ``alpha`` is two one-sided tests at ``alpha`` (one for a reduction,
one for an increase), which is exactly what a ``1 - 2 alpha`` two-sided interval shows; a two-sided test at
``alpha`` goes with the ``1 - alpha`` interval. :func:`interval_confidence` gives that level and
:func:`interval_label` its words ("90% interval, one-sided test at 5%").

The p-value a verdict rests on (:func:`verdict_p`) is ``min(p_reduction, p_increase)`` for a one-sided
test and the two-sided p for a two-sided test; it is the p-value a multiple-testing adjustment adjusts
(:mod:`reoffend.report.multiple`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ..lazy_import import lazy_module
from ..messages import DASH, level, p_is

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")  # the power sentence (report.views) words a verdict without a data frame

Sided = Literal["one", "two"]


class Verdict(StrEnum):
    REDUCTION = "significant reduction"
    INCREASE = "significant increase"
    NO_CHANGE = "no significant change"
    TOO_FEW = "too few to test"


VERDICTS = tuple(v.value for v in Verdict)
SHORT = {
    Verdict.REDUCTION.value: "reduction",
    Verdict.INCREASE.value: "increase",
    Verdict.NO_CHANGE.value: "no significant change",  # never "no change": the test cannot show none
    Verdict.TOO_FEW.value: "too few",
}


def short(verdict: str | None) -> str:
    """A verdict in a table column headed "significant": ``reduction``, ``increase``, ``no significant change``."""
    return DASH if verdict is None else SHORT[verdict]


def interval_confidence(alpha: float, sided: Sided) -> float:
    """The two-sided interval level that agrees with the test: ``1 - 2 alpha`` one-sided, ``1 - alpha`` two."""
    return 1 - 2 * alpha if sided == "one" else 1 - alpha


def interval_label(alpha: float, sided: Sided) -> str:
    """``"90% interval, one-sided test at 5%"``: the interval's level and the test it agrees with."""
    return f"{level(interval_confidence(alpha, sided))} interval, {sided}-sided test at {level(alpha)}"


def verdict_p(p_reduction: pl.Expr, p_increase: pl.Expr, sided: Sided) -> pl.Expr:
    """The p-value the verdict compares with alpha: the smaller one-sided p, or the two-sided p."""
    smaller = pl.min_horizontal(p_reduction, p_increase)
    return smaller if sided == "one" else (2 * smaller).clip(upper_bound=1.0)


def side_p(p_reduction: float | None, p_increase: float | None) -> float | None:
    """:func:`verdict_p` of one row for a one-sided test: the smaller one-sided p, the p on the side of the change
    (what a table shows beside the verdict, and what a multiple-testing adjustment adjusts); None without both."""
    return None if p_reduction is None or p_increase is None else min(p_reduction, p_increase)


def verdict_expr(p: pl.Expr, change: pl.Expr, alpha: float) -> pl.Expr:
    """The verdict of each row from its verdict p-value and the sign of its signed change.

    Null p (no test possible) is "too few to test"; ``p < alpha`` with a negative change is a significant
    reduction, with a positive change a significant increase; anything else "no significant change".
    """
    return (
        pl.when(p.is_null() | p.is_nan() | change.is_null())
        .then(pl.lit(Verdict.TOO_FEW.value))
        .when((p < alpha) & (change < 0))
        .then(pl.lit(Verdict.REDUCTION.value))
        .when((p < alpha) & (change > 0))
        .then(pl.lit(Verdict.INCREASE.value))
        .otherwise(pl.lit(Verdict.NO_CHANGE.value))
    )


def interval_verdict_expr(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    """The verdict read off an interval of the signed change (used where the interval *is* the test:
    the bootstrap): wholly below zero a reduction, wholly above an increase."""
    return (
        pl.when(low.is_null() | high.is_null())
        .then(pl.lit(Verdict.TOO_FEW.value))
        .when(high < 0)
        .then(pl.lit(Verdict.REDUCTION.value))
        .when(low > 0)
        .then(pl.lit(Verdict.INCREASE.value))
        .otherwise(pl.lit(Verdict.NO_CHANGE.value))
    )


def verdict_of(p: float | None, change: float | None, alpha: float) -> Verdict:
    """:func:`verdict_expr` for one value."""
    if p is None or change is None or p != p:
        return Verdict.TOO_FEW
    if p < alpha and change < 0:
        return Verdict.REDUCTION
    if p < alpha and change > 0:
        return Verdict.INCREASE
    return Verdict.NO_CHANGE


def verdict_of_interval(low: float | None, high: float | None) -> Verdict:
    """:func:`interval_verdict_expr` for one interval of the signed change."""
    if low is None or high is None:
        return Verdict.TOO_FEW
    if high < 0:
        return Verdict.REDUCTION
    if low > 0:
        return Verdict.INCREASE
    return Verdict.NO_CHANGE


def p_phrase(sided: Sided, p_reduction: float | None, p_increase: float | None, p_two: float | None = None) -> str:
    """The p-value a verdict rests on, named: ``one-sided p for a fall = 0.045`` (the side the estimate is on),
    or ``two-sided p = 0.090``."""
    if sided == "two":
        if p_two is None and p_reduction is not None and p_increase is not None:
            p_two = min(1.0, 2 * min(p_reduction, p_increase))
        return f"two-sided p {p_is(p_two)}"
    if p_reduction is None or p_increase is None:
        return f"one-sided p {p_is(None)}"
    if p_reduction <= p_increase:
        return f"one-sided p for a fall {p_is(p_reduction)}"
    return f"one-sided p for a rise {p_is(p_increase)}"
