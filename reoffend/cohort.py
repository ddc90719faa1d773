"""Cohorts and the index release (docs/measures.md, "Cohort and index release").

A cohort is the set of releases sharing a ``cohort`` value or, without that column, the same period of
``release_date``: ``month`` (``2024-01``), ``quarter`` (``2024Q1``), ``year`` (``2024``) or
``financial-year`` (April to March, ``2023-24``). Each person counts once per cohort: the index release
is their earliest release in it (ties, which validation makes impossible as (offender_id, release_date) is
unique, would go to the lowest establishment, then input order). ``index="all"`` keeps every release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

Period = Literal["month", "quarter", "year", "financial-year"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year", "financial-year")
IndexRule = Literal["first", "all"]
ROW_ORDER = "_input_order"


def period_label(date: pl.Expr, period: Period) -> pl.Expr:
    """The cohort label of a date under ``period``."""
    year = date.dt.year()
    if period == "month":
        return date.dt.strftime("%Y-%m")
    if period == "quarter":
        return pl.format("{}Q{}", year, date.dt.quarter())
    if period == "year":
        return year.cast(pl.String)
    if period == "financial-year":
        start = pl.when(date.dt.month() >= 4).then(year).otherwise(year - 1)
        return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))
    raise ValueError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")


def with_cohort(releases: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """Releases with a ``cohort`` column: the file's own, else the period of ``release_date``."""
    if "cohort" in releases.collect_schema().names():
        return releases.with_columns(pl.col("cohort").cast(pl.String))
    return releases.with_columns(period_label(pl.col("release_date"), period).alias("cohort"))


def index_releases(releases: pl.LazyFrame, rule: IndexRule) -> pl.LazyFrame:
    """Each person's earliest release per cohort (``first``), or every release (``all``)."""
    if rule == "all":
        return releases
    if rule != "first":
        raise ValueError(f"unknown index rule {rule!r}")
    person_cohort = ["offender_id", "cohort"]
    order = ["release_date"]
    if "establishment" in releases.collect_schema().names():
        order.append("establishment")
    numbered = releases.with_row_index(ROW_ORDER)
    return (
        numbered.sort([*person_cohort, *order, ROW_ORDER], nulls_last=True)
        .unique(subset=person_cohort, keep="first", maintain_order=True)
        .sort(ROW_ORDER)
        .drop(ROW_ORDER)
    )


def apply_filters(releases: pl.LazyFrame, where: Mapping[str, Sequence[str]]) -> pl.LazyFrame:
    """Keep releases whose column equals one of the given values (compared as text)."""
    for column, values in where.items():
        releases = releases.filter(pl.col(column).cast(pl.String).is_in(list(values)))
    return releases
