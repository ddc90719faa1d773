"""``reoffend nowcast`` at a terminal: final and provisional figures in one column, provisional ones marked, and
the backtest (docs/nowcast.md); the command and the Python API draw the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from ..format import (
    dash_nulls,
    formatted,
    interval_column,
    level,
    marked_column,
    number,
    number_column,
    pct,
    pct_column,
)

NOWCAST_TITLE = "Proven reoffending: final and provisional"


def display_nowcast(rows: pl.DataFrame, by: tuple[str, ...], confidence: float) -> pl.DataFrame:
    """The terminal view: one rate column, provisional values marked with "≈" (the data formats keep final and
    provisional figures in separate columns); a figure that could not be computed is a dash (report.format)."""
    provisional = pl.col("status") == "provisional"
    interval_title = f"{level(confidence)} interval"

    def estimate(measure: str, formatter: Callable[[Any], str]) -> pl.Expr:
        """The provisional estimate marked "≈" in a provisional row, the final figure in a final one."""
        final = formatted(measure, formatter)
        return pl.when(provisional).then(marked_column(f"{measure}_provisional", formatter, "≈")).otherwise(final)

    def provisional_interval(measure: str, formatter: Callable[[Any], str]) -> pl.Expr:
        return interval_column(f"{measure}_provisional_low", f"{measure}_provisional_high", formatter)

    return rows.select(
        *by,
        "status",
        pl.col("months_observed").alias("months observed"),
        pl.col("cohort_size").alias("released"),
        pl.col("observed_reoffenders").alias("reoffenders seen"),
        estimate("binary_rate", pct).alias("rate"),
        pl.when(provisional)
        .then(provisional_interval("binary_rate", pct))
        .otherwise(interval_column("binary_rate_low", "binary_rate_high", pct))
        .alias(interval_title),
        estimate("events_per_100", number).alias("events/100"),
        # the final rows' events per 100 have no interval in the data
        pl.when(provisional).then(provisional_interval("events_per_100", number)).alias(f"events/100 {interval_title}"),
    ).with_columns(dash_nulls(*by, "status", "months observed", "released", "reoffenders seen"))


def display_backtest(rows: pl.DataFrame) -> pl.DataFrame:
    """The terminal view of the backtest: errors in percentage points to two places, coverage as a percentage."""

    def pp(column: str) -> pl.Expr:
        return number_column(column, 2)

    return rows.select(
        pl.col("months_observed_band").alias("months observed"),
        pl.col("cohort_origins").alias("cohort-origins"),
        "origins",
        pp("binary_rate_mean_error_pp").alias("rate mean error (pp)"),
        pp("binary_rate_mae_pp").alias("rate MAE (pp)"),
        pct_column("binary_rate_coverage").alias("rate coverage"),
        pp("events_per_100_mae").alias("events/100 MAE"),
        pct_column("events_per_100_coverage").alias("events/100 coverage"),
    ).with_columns(dash_nulls("months observed", "cohort-origins", "origins"))
