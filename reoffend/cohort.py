"""Cohorts and the index release (docs/measures.md, "Cohort and index release").

A cohort is the set of releases sharing a ``cohort`` value or, without that column, the same period of
``release_date``: ``month`` (``2024-01``), ``quarter`` (``2024Q1``), ``year`` (``2024``) or
``financial-year`` (April to March, ``2023-24``). Each person counts once per cohort: the index release
is their earliest release in it (ties, which validation makes impossible as (offender_id, release_date) is
unique, would go to the lowest establishment, then input order). ``index="all"`` keeps every release.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import polars as pl

from .errors import DataError, single_problem

Period = Literal["month", "quarter", "year", "financial-year"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year", "financial-year")
IndexRule = Literal["first", "all"]
ROW_ORDER = "_input_order"
FrameT = TypeVar("FrameT", pl.LazyFrame, pl.DataFrame)
SHARED = "_shares_key"
CHOSEN = "_index_row"
COHORT_KEY = "_cohort_key"


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


def period_key(date: pl.Expr, period: Period) -> pl.Expr:
    """A whole number per cohort of ``date`` under ``period``, ordered as the labels of :func:`period_label`
    sort (their years have four digits, as validated dates do), so grouping and sorting by it is grouping
    and sorting by the label, on a number instead of text made for every release."""
    year = date.dt.year().cast(pl.Int32)
    if period == "month":
        return year * 12 + date.dt.month().cast(pl.Int32)
    if period == "quarter":
        return year * 4 + date.dt.quarter().cast(pl.Int32)
    if period == "year":
        return year
    if period == "financial-year":
        return year - (date.dt.month() < 4).cast(pl.Int32)
    raise ValueError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")


def with_cohort(releases: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """Releases with a ``cohort`` column: the file's own, else the period of ``release_date``."""
    if "cohort" in releases.collect_schema().names():
        return releases.with_columns(pl.col("cohort").cast(pl.String))
    return releases.with_columns(period_label(pl.col("release_date"), period).alias("cohort"))


def index_releases(
    releases: pl.LazyFrame, rule: IndexRule, period: Period | None = None, shared_keys: pl.Series | None = None
) -> pl.LazyFrame:
    """Each person's earliest release per cohort (``first``), or every release (``all``); input order kept.

    Only releases that may share their (offender_id, cohort) with another are sorted: a release whose 64-bit
    hash of the pair is unique is alone in its group, so it is its group's index release. The others (the
    same person released twice in a cohort, plus rare hash collisions) go through the full rule: earliest
    ``release_date``, then lowest ``establishment``, then input order. At 5,000,000 releases this takes a
    third less CPU than sorting them all (bench/RESULTS.md).

    ``period`` says the cohort is the period of ``release_date`` (no ``cohort`` column in the file): the
    person's cohort is then told by :func:`period_key`, so the cohort label is made only if later steps
    ask for it. ``shared_keys``: the hashes that more than one of ``releases`` has (:func:`shared_index_keys`
    of the same releases), when known; a release is then looked up among them (a few hundred), where
    otherwise a hash table of every release's hash finds them (``is_duplicated``, on one core: 0.63 CPU s
    against 0.38 for the sort and the look-up at 5,000,000 releases).
    """
    if rule == "all":
        return releases
    if rule != "first":
        raise ValueError(f"unknown index rule {rule!r}")
    person_cohort = ["offender_id", COHORT_KEY]
    order = ["release_date"]
    if "establishment" in releases.collect_schema().names():
        order.append("establishment")
    cohort = _cohort_of(period)
    key = _index_key(period)
    shared = key.is_duplicated() if shared_keys is None else key.is_in(shared_keys.implode())
    numbered = releases.with_row_index(ROW_ORDER).with_columns(shared.alias(SHARED)).cache()  # read once
    chosen = (
        numbered.filter(SHARED)
        .with_columns(cohort.alias(COHORT_KEY))
        .sort([*person_cohort, *order, ROW_ORDER], nulls_last=True)
        .unique(subset=person_cohort, keep="first")
        .select(pl.col(ROW_ORDER).alias(CHOSEN))
    )
    return (
        pl.concat([numbered, chosen], how="horizontal_extend")
        .filter(~pl.col(SHARED) | pl.col(ROW_ORDER).is_in(pl.col(CHOSEN).implode()))
        .drop(ROW_ORDER, SHARED, CHOSEN)
    )


def _cohort_of(period: Period | None) -> pl.Expr:
    return period_key(pl.col("release_date"), period) if period is not None else pl.col("cohort")


# Releases' keys as 64-bit numbers: the hash of offender_id in the high 40 bits, and in the low 24 the cohort's
# number (the index key, :func:`_index_key`) or the day counted from 1900-01-01, the earliest valid date (the order
# key, :func:`release_order_key`: 24 bits hold 45,000 years). Equal pairs always give equal numbers; a number
# shared by different pairs (ids whose hashes share their prefix) only sends releases to the exact rule.
LOW_BITS = (1 << 24) - 1
ID_BITS = (1 << 64) - 1 - LOW_BITS
FIRST_DAY = (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days
ORDER_KEY = "_order"  # the column of release_order_key, sorted (validation's duplicate check)


def _id_prefix(keys: pl.Expr | None = None) -> pl.Expr:
    """The high 40 bits of ``keys``, by default of the 64-bit hash of ``offender_id``."""
    keys = pl.col("offender_id").hash(seed=0) if keys is None else keys
    return keys & pl.lit(ID_BITS, dtype=pl.UInt64)


def _low_bits(number: pl.Expr) -> pl.Expr:
    """The low 24 bits of a whole number (any sign) as UInt64: never a failed cast, whatever the data."""
    return (number & LOW_BITS).cast(pl.UInt64)


def _index_key(period: Period | None) -> pl.Expr:
    """The 64-bit key of (offender_id, cohort) that :func:`index_releases` tells shared pairs by.

    For a period of ``release_date``: the id's hash prefix with the cohort's number in the low bits, which
    validation's sort of :func:`release_order_key` also finds (:func:`shared_from_release_order`). For a file's
    own ``cohort`` column: the two hashes combined."""
    if period is None:
        return pl.col("offender_id").hash(seed=0) ^ pl.col("cohort").hash(seed=1)
    return _id_prefix() | _low_bits(period_key(pl.col("release_date"), period))


def release_order_key() -> pl.Expr:
    """(offender_id, release_date) as one UInt64: the id's hash prefix, then the day. Equal pairs give equal
    numbers, so when the numbers are all distinct so are the pairs (validation's ``duplicate-release`` check
    sorts them); sorted, the releases of one id prefix are neighbours in date order (for valid dates), which
    :func:`shared_from_release_order` reads the shared index keys from."""
    return _id_prefix() | _low_bits(pl.col("release_date").cast(pl.Int32) - FIRST_DAY)


def shared_from_release_order(ordered: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """The frame of :func:`shared_index_keys` (cohorts by ``period``; the same keys, in another order) from
    ``ordered``: :func:`release_order_key` of the releases, sorted, in its only column. For valid dates: only a
    release whose id prefix another release has can share its index key; among those (in the sorted order) a
    run of one prefix is in date order, and a period's number never falls as the date rises, so releases with
    one index key are neighbours: a key equal to the one before it is shared."""
    order = pl.col(ordered.collect_schema().names()[0])
    prefix, key = _id_prefix(order), pl.col("key")
    date = ((order & LOW_BITS).cast(pl.Int32) + FIRST_DAY).cast(pl.Date)
    return (
        ordered.filter((prefix == prefix.shift(1)) | (prefix == prefix.shift(-1)))
        .select((prefix | _low_bits(period_key(date, period))).alias("key"))
        .filter(key == key.shift(1))
        .unique()
    )


def shared_index_keys(releases: pl.LazyFrame, period: Period | None = None) -> pl.LazyFrame:
    """The keys of (offender_id, cohort) (:func:`index_releases`) that more than one release has, once each,
    in a column ``key``: equal neighbours of the sorted keys (a sort uses both cores). ``releases`` and
    ``period`` as for :func:`index_releases`."""
    key = pl.col("key")
    return releases.select(_index_key(period).alias("key")).sort("key").filter(key == key.shift(1)).unique()


@dataclass(frozen=True)
class SharedIndexKeys:
    """The query of :func:`shared_index_keys` with cohorts by ``period`` (or the file's ``cohort`` column, when it
    has one), as a command asks validation to collect it (``prefetch``, :data:`reoffend.validate.Query`).
    Validation answers it from the sort of its own duplicate check when the cohorts are periods
    (:func:`shared_from_release_order`), where otherwise it would be a second sort of every release."""

    period: Period

    def __call__(self, releases: pl.LazyFrame, _convictions: pl.LazyFrame) -> pl.LazyFrame:
        period = None if "cohort" in releases.collect_schema().names() else self.period
        return shared_index_keys(with_cohort(releases, self.period), period)


def matches(where: Mapping[str, Sequence[str]]) -> pl.Expr:
    """True where every named column equals one of its values (compared as text); a null never matches."""
    expr = pl.lit(True)
    for column, values in where.items():
        expr = expr & pl.col(column).cast(pl.String).is_in(list(values)).fill_null(False)
    return expr


PERIOD_MONTHS = {"quarter": 3, "year": 12, "financial-year": 12}
PERIOD_FIRST_MONTH = {"quarter": 1, "year": 1, "financial-year": 4}  # a period starts in a month ≡ this (mod length)


def partial_periods(releases: pl.LazyFrame | pl.DataFrame, period: Period) -> list[dict[str, str]]:
    """The cohorts (periods of ``release_date``) that the data covers only in part (issue 11).

    The data covers the calendar months from its first to its last release; a quarter, year or financial
    year that begins before the first month or ends after the last is partial, so it is not comparable with
    a full one. Each is returned as ``{"cohort", "first_release_month", "last_release_month"}`` (the months
    of it that the data covers). A file's own ``cohort`` column, and ``month`` periods, are never flagged.
    """
    frame = releases.lazy() if isinstance(releases, pl.DataFrame) else releases
    if period not in PERIOD_MONTHS or "cohort" in frame.collect_schema().names():
        return []
    first, last = (
        frame.select(pl.col("release_date").min().alias("first"), pl.col("release_date").max().alias("last"))
        .collect()
        .row(0)
    )
    if first is None or last is None:
        return []
    length, start = PERIOD_MONTHS[period], PERIOD_FIRST_MONTH[period]
    partial: dict[str, dict[str, str]] = {}

    def label(date) -> str:
        return pl.select(period_label(pl.lit(date), period)).item()

    if (first.month - start) % length != 0:  # the first month is not where its period begins
        partial[label(first)] = {"cohort": label(first), "first_release_month": f"{first:%Y-%m}"}
    if (last.month - start + 1) % length != 0:  # the last month is not where its period ends
        entry = partial.setdefault(label(last), {"cohort": label(last), "first_release_month": ""})
        entry["last_release_month"] = f"{last:%Y-%m}"
    for entry in partial.values():
        if not entry["first_release_month"]:  # begins on time, ends early: covered from the period's start
            entry["first_release_month"] = _period_start(period, last)
        entry.setdefault("last_release_month", _period_end(period, first))
    return [
        {k: partial[c][k] for k in ("cohort", "first_release_month", "last_release_month")} for c in sorted(partial)
    ]


def _period_start(period: str, inside) -> str:
    """The first month of the period holding the date ``inside``."""
    length, start = PERIOD_MONTHS[period], PERIOD_FIRST_MONTH[period]
    back = (inside.month - start) % length
    year, month = inside.year, inside.month - back
    if month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _period_end(period: str, inside) -> str:
    """The last month of the period holding the date ``inside``."""
    length, start = PERIOD_MONTHS[period], PERIOD_FIRST_MONTH[period]
    ahead = (start - 1 - inside.month) % length
    year, month = inside.year, inside.month + ahead
    if month > 12:
        year, month = year + 1, month - 12
    return f"{year:04d}-{month:02d}"


SUGGEST_LIMIT = 20_000  # distinct values searched for "did you mean"; more would be slow and unhelpful


def check_values_present(
    releases: pl.LazyFrame | pl.DataFrame, where: Mapping[str, Sequence[str]], file: str, option: str = "--where"
) -> None:
    """A filter value that no release has is invalid data (exit 65), never a silent empty answer.

    The problem names the option, the column and the value, the closest values present ("did you mean
    EST042?") and how many distinct values the column has. Values are compared as text, as :func:`matches`
    compares them.
    """
    frame = releases.lazy() if isinstance(releases, pl.DataFrame) else releases
    columns = [column for column in where if column in frame.collect_schema().names()]
    if not columns:
        return
    present = pl.collect_all([frame.select(pl.col(c).cast(pl.String).drop_nulls().unique()) for c in columns])
    for column, values in zip(columns, present, strict=True):
        known = set(values.to_series().to_list())
        for value in where[column]:
            if value not in known:
                raise value_not_found(file, column, f"{option} {column}={value}", value, known)


def check_cohorts_present(labels: Sequence[str], known: Sequence[str], file: str, option: str, period: str) -> None:
    """A cohort label (``--current``, ``--baseline``) that no release has is invalid data (exit 65), as any
    other value absent from the data (docs/data.md, ``value-not-found``): named with the closest labels, and
    the cohorts there are under ``--period`` (a cohort column's labels when the releases have one)."""
    for label in labels:
        if label not in known:
            shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
            raise value_not_found(
                file, "cohort", f"{option} {label}", label, set(known), f"under --period {period}: {shown or 'none'}"
            )


def value_not_found(
    file: str, column: str, request: str, value: str, known: set[str], listing: str | None = None
) -> DataError:
    """The ``value-not-found`` problem: ``request`` (the option as typed) matches no release; the closest values
    present ("did you mean EST042?", by difflib) and how many distinct values there are."""
    near = difflib.get_close_matches(value, sorted(known), n=3, cutoff=0.6) if len(known) <= SUGGEST_LIMIT else []
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    there = f"{len(known):,} distinct values" + (f" {listing}" if listing else "")
    return single_problem(
        file, column, "value-not-found", f"{request}: no release has this value ({there}){hint}", value=value
    )


def apply_filters(releases: FrameT, where: Mapping[str, Sequence[str]]) -> FrameT:
    """Keep releases matching ``where`` (:func:`matches`); a lazy or an eager frame."""
    return releases.filter(matches(where)) if where else releases
