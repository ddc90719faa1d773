"""The number formatters every table, headline and bulletin uses (one copy, not one per front end).

One rule for a value that could not be computed (``None``, or NaN): it is shown as an en dash (:data:`DASH`).
The scalar formatters print the dash. Their polars-expression forms (:func:`formatted` and the ``*_column``
formatters, for the terminal views built as expressions) keep such a value null, a composite of them (a
marked estimate, an interval) is null when any part is, and :func:`dash_nulls` shows every null of the view as
the same dash: never a half-formatted cell such as "≈–" or "45.0%––".

The words a message also uses (a count and its noun, a percentage, a p-value, a level) are
:mod:`reoffend.messages`'s, re-exported here, so a warning and a headline say a number the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..lazy_import import lazy_module
from ..messages import DASH, P_FLOOR, count, counted, is_nan, level, p_is, p_value, pct, plural

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")


__all__ = [
    "DASH",
    "P_FLOOR",
    "count",
    "counted",
    "dash_nulls",
    "formatted",
    "interval",
    "interval_column",
    "level",
    "marked_column",
    "number",
    "number_column",
    "p_is",
    "p_value",
    "pct",
    "pct_column",
    "per_cent",
    "plural",
    "signed_pct",
    "text",
    "yes_no",
]


def signed_pct(proportion: float | None, decimals: int = 1) -> str:
    """A proportion as a signed percentage: ``-0.245`` -> ``-24.5%``."""
    return DASH if proportion is None or is_nan(proportion) else f"{100 * proportion:+.{decimals}f}%"


def number(value: float | None, decimals: int = 1, *, signed: bool = False) -> str:
    """A number with thousands separators: ``1234.56`` -> ``1,234.6``; ``signed`` adds ``+``."""
    if value is None or is_nan(value):
        return DASH
    value = round(value, decimals) + 0.0  # a value that rounds to zero prints as 0.0, never -0.0
    return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"


def per_cent(value: float | None, decimals: int = 1, *, signed: bool = False) -> str:
    """A figure already in per cent: ``-24.5`` -> ``-24.5%`` (``signed`` adds ``+``)."""
    return DASH if value is None or is_nan(value) else number(value, decimals, signed=signed) + "%"


def yes_no(value: bool | None) -> str:
    return DASH if value is None else ("yes" if value else "no")


def text(value: object) -> str:
    return DASH if value is None else str(value)


def interval(low: float | None, high: float | None, formatter=number) -> str:
    """``low to high`` with one formatter for both ends; one dash when either end could not be computed (an
    interval with an end unknown is no interval, as :func:`interval_column` has it)."""
    low_text, high_text = formatter(low), formatter(high)
    return DASH if DASH in (low_text, high_text) else f"{low_text} to {high_text}"


def formatted(column: str | pl.Expr, formatter: Callable[[Any], str]) -> pl.Expr:
    """A polars column as text through one of the formatters above (for the terminal views built as polars
    expressions: ``formatted("binary_rate", pct)``); a null or NaN is null, for the view to fill
    (:func:`dash_nulls`)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.map_elements(
        lambda value: None if is_nan(value) else formatter(value), return_dtype=pl.String, skip_nulls=True
    )


def pct_column(column: str | pl.Expr, decimals: int = 1) -> pl.Expr:
    """:func:`pct` of a polars column (null stays null)."""
    return formatted(column, lambda value: pct(value, decimals))


def number_column(column: str | pl.Expr, decimals: int = 1) -> pl.Expr:
    """:func:`number` of a polars column (null stays null)."""
    return formatted(column, lambda value: number(value, decimals))


def marked_column(column: str | pl.Expr, formatter: Callable[[Any], str], mark: str) -> pl.Expr:
    """:func:`formatted` with ``mark`` before it: ``≈45.0%`` for an estimate; null when the value is."""
    return pl.format(f"{mark}{{}}", formatted(column, formatter))


def interval_column(
    low: str | pl.Expr, high: str | pl.Expr, formatter: Callable[[Any], str], separator: str = DASH
) -> pl.Expr:
    """An interval of two polars columns, each end through ``formatter``: ``45.0%–50.0%``; null when either end
    is (an interval with an end unknown is no interval)."""
    return pl.format(f"{{}}{separator}{{}}", formatted(low, formatter), formatted(high, formatter))


def dash_nulls(*keep: str) -> pl.Expr:
    """Every column of a view but ``keep`` (the columns shown as they are: labels, counts) with a null as
    :data:`DASH`, the scalar formatters' sign of a value that could not be computed."""
    return pl.exclude(*keep).fill_null(DASH)
