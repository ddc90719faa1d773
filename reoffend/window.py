"""The follow-up window: the one definition every command uses.

Rule (docs/measures.md, "The follow-up window"; shared design measures.md):

* ``follow_up_start = release_date`` (inclusive);
* ``follow_up_end = release_date + follow_up`` months (exclusive);
* ``conviction_deadline = follow_up_end + waiting_period`` months (exclusive).

Months are calendar months; a day that does not exist in the target month clamps to that month's last
day (2024-02-29 + 12 months = 2025-02-28). A proven reoffence is an offence with
``follow_up_start <= offence_date < follow_up_end`` and ``conviction_date < conviction_deadline``.

This module is the only place in the package where release, offence and conviction dates are compared,
both as polars expressions and, for ``reoffend sql`` (reoffend/sql.py), as SQL expressions (sqlglot syntax
trees that the transpiler renders in each warehouse's dialect).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UsageError
from .lazy_import import lazy_module

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")

if TYPE_CHECKING:  # sqlglot is imported where SQL is built, so the other commands start without it
    from sqlglot import exp

FOLLOW_UP_END = "follow_up_end"
MAX_WINDOW_MONTHS = 1200  # a bound on each period, so that no date computed from a valid release overflows
CONVICTION_DEADLINE = "conviction_deadline"
# The latest extract date: a follow-up is complete when its deadline is no later than the day after the extract
# date (:meth:`FollowUpWindow.is_complete`), and that day must be a date. 9999-12-31 is usually a placeholder
# for an unknown date, not the day data were extracted.
LATEST_EXTRACT_DATE = dt.date(9999, 12, 30)


def check_extract_date(extract_date: dt.date | None, what: str = "the extract date") -> None:
    """Refuse (UsageError, exit 2) an extract date (or ``what``, e.g. ``--as-at``) after :data:`LATEST_EXTRACT_DATE`."""
    if extract_date is not None and extract_date > LATEST_EXTRACT_DATE:
        raise UsageError(
            f"{what} {extract_date} is too late: the latest is {LATEST_EXTRACT_DATE} "
            "(9999-12-31 is usually a placeholder for an unknown date)"
        )


def recorded_by(as_at: dt.date, *dates: str) -> pl.Expr:
    """True for a row an extract taken on ``as_at`` holds: each of ``dates`` on or before ``as_at`` (``--as-at``,
    docs/measures.md "Measuring as at a date"). A row dated after it had not happened, or not been recorded."""
    return pl.all_horizontal(pl.col(date) <= pl.lit(as_at) for date in dates)


def add_months(date: pl.Expr, months: int | pl.Expr) -> pl.Expr:
    """Calendar-month addition with month-end clamping (polars' ``offset_by`` clamps).

    ``months`` is a whole number, or an integer expression for a number that varies by row.
    """
    offset = pl.format("{}mo", months) if isinstance(months, pl.Expr) else f"{months}mo"
    return date.dt.offset_by(offset)


def add_months_to_date(date: dt.date, months: int) -> dt.date:
    """The scalar twin of :func:`add_months`, for parameters and messages."""
    frame = pl.DataFrame({"d": [date]}, schema={"d": pl.Date})
    return frame.select(add_months(pl.col("d"), months)).item()


def sql_add_months(date: exp.Expr, months: int) -> exp.Expr:
    """SQL twin of :func:`add_months`: ``date + months`` calendar months, as a DATE.

    Rendered per dialect by sqlglot: DuckDB ``date + INTERVAL n MONTH``, Spark ``ADD_MONTHS``, Trino
    ``DATE_ADD('MONTH', n, date)``, BigQuery ``DATE_ADD(date, INTERVAL n MONTH)``, Postgres
    ``date + INTERVAL 'n MONTH'``; every one clamps a missing day to the month's last day (docs/sql.md). The
    cast keeps the type a DATE where the engine's addition gives a timestamp (Postgres).
    """
    from sqlglot import exp

    if months == 0:
        return date.copy()
    added = exp.DateAdd(this=date, expression=exp.Literal.number(months), unit=exp.var("MONTH"))
    return exp.cast(added, exp.DataType.Type.DATE)


@dataclass(frozen=True)
class FollowUpWindow:
    """A follow-up period plus a waiting period for the court lag, both in calendar months."""

    follow_up_months: int = 12
    waiting_period_months: int = 6

    def __post_init__(self) -> None:
        if not 1 <= self.follow_up_months <= MAX_WINDOW_MONTHS:
            raise ValueError(f"follow_up_months must be 1 to {MAX_WINDOW_MONTHS}")
        if not 0 <= self.waiting_period_months <= MAX_WINDOW_MONTHS:
            raise ValueError(f"waiting_period_months must be 0 to {MAX_WINDOW_MONTHS}")

    def follow_up_end(self, release_date: pl.Expr) -> pl.Expr:
        """First day after the follow-up period (exclusive end)."""
        return add_months(release_date, self.follow_up_months)

    def conviction_deadline(self, follow_up_end: pl.Expr) -> pl.Expr:
        """First day on which a conviction no longer counts: follow_up_end + waiting period."""
        return add_months(follow_up_end, self.waiting_period_months)

    def with_window_columns(self, releases: pl.LazyFrame, release_date: str = "release_date") -> pl.LazyFrame:
        """Add ``follow_up_end`` and ``conviction_deadline`` columns computed from ``release_date``."""
        end = self.follow_up_end(pl.col(release_date))
        return releases.with_columns(
            end.alias(FOLLOW_UP_END),
            self.conviction_deadline(end).alias(CONVICTION_DEADLINE),
        )

    def with_window_columns_looked_up(
        self, releases: pl.LazyFrame, dates: pl.Series, release_date: str = "release_date"
    ) -> pl.LazyFrame:
        """The columns of :meth:`with_window_columns`, computed once per date of ``dates`` and looked up.

        ``dates`` holds every ``release_date`` of ``releases`` (a few thousand distinct days where there are
        millions of releases): the month arithmetic runs on those, and each release finds its dates in a
        table (at 5,000,000 releases 0.17 CPU s instead of 0.42, bench/NOTES.md). A date missing from
        ``dates`` is an error, never a wrong window.
        """
        table = self.with_window_columns(dates.unique().to_frame(release_date).lazy(), release_date).collect()
        day = pl.col(release_date)
        return releases.with_columns(
            day.replace_strict(table[release_date], table[FOLLOW_UP_END]).alias(FOLLOW_UP_END),
            day.replace_strict(table[release_date], table[CONVICTION_DEADLINE]).alias(CONVICTION_DEADLINE),
        )

    @staticmethod
    def is_proven_reoffence(
        release_date: str = "release_date",
        offence_date: str = "offence_date",
        conviction_date: str = "conviction_date",
    ) -> pl.Expr:
        """True for an offence committed in the window and convicted before the deadline.

        Expects the window columns added by :meth:`with_window_columns`.
        """
        return (
            (pl.col(offence_date) >= pl.col(release_date))
            & (pl.col(offence_date) < pl.col(FOLLOW_UP_END))
            & FollowUpWindow.is_convicted_in_time(conviction_date)
        )

    @staticmethod
    def is_convicted_in_time(conviction_date: str = "conviction_date") -> pl.Expr:
        """True for a conviction before the conviction deadline (the deadline itself is too late): the
        waiting period's half of :meth:`is_proven_reoffence`."""
        return pl.col(conviction_date) < pl.col(CONVICTION_DEADLINE)

    def with_waiting_months_needed(
        self, pairs: pl.LazyFrame, longest: int, name: str, conviction_date: str = "conviction_date"
    ) -> pl.LazyFrame:
        """Add ``name``: the shortest waiting period, in whole months ``0..longest``, that proves each conviction.

        That is the least ``m`` with ``conviction_date`` before the conviction deadline of a window with this
        follow-up and a waiting period of ``m`` months (:meth:`conviction_deadline`); ``longest + 1`` when no
        such ``m``. The deadline never decreases as ``m`` grows, so the least ``m`` is the number of deadlines
        on or before the conviction. ``pairs`` carries ``follow_up_end`` (:meth:`with_window_columns`); the
        deadlines are computed once per distinct ``follow_up_end`` (a few hundred days), not per row. One join
        then counts every waiting period in one pass (the bulletin's court-lag curve).
        """
        end = pl.col(FOLLOW_UP_END)
        deadlines = [f"_deadline_{m}" for m in range(longest + 1)]
        per_end = (
            pairs.select(end)
            .unique()
            .with_columns(
                FollowUpWindow(self.follow_up_months, m).conviction_deadline(end).alias(deadline)
                for m, deadline in enumerate(deadlines)
            )
        )
        needed = pl.sum_horizontal((pl.col(conviction_date) >= pl.col(d)).cast(pl.Int32) for d in deadlines)
        return (
            # the pairs in their own order: a left join keeps it only when asked (polars 2 may reorder)
            pairs.join(per_end, on=FOLLOW_UP_END, how="left", maintain_order="left")
            .with_columns(needed.cast(pl.Int64).alias(name))
            .drop(deadlines)
        )

    @staticmethod
    def is_complete(extract_date: dt.date) -> pl.Expr:
        """True when every day that can count (up to ``conviction_deadline - 1``) is on or before the extract.

        The follow-up of a release is complete when its conviction deadline is no later than the day after
        the extract date: the last conviction that could count is dated ``conviction_deadline - 1 day``.
        """
        return pl.col(CONVICTION_DEADLINE) <= pl.lit(extract_date + dt.timedelta(days=1))

    @staticmethod
    def days_from_release(date: str, release_date: str = "release_date") -> pl.Expr:
        """Whole days from the release to ``date``."""
        return (pl.col(date) - pl.col(release_date)).dt.total_days()

    def latest_complete_release(self, extract_date: dt.date) -> dt.date:
        """The latest release date whose follow-up is complete at ``extract_date``.

        Found by searching back from the extract date, because month-end clamping makes month addition
        non-invertible (2024-02-29 and 2024-02-28 both end on 2025-02-28).
        """
        months_back = self.follow_up_months + self.waiting_period_months
        candidate = add_months_to_date(extract_date + dt.timedelta(days=1), -months_back)
        probe = pl.DataFrame(
            {"release_date": [candidate + dt.timedelta(days=d) for d in range(-3, 4)]},
            schema={"release_date": pl.Date},
        )
        complete = (
            self.with_window_columns(probe.lazy())
            .filter(self.is_complete(extract_date))
            .select(pl.col("release_date").max())
            .collect()
            .item()
        )
        return complete

    # ------------------------------------------------------------------ the same rule as SQL expressions
    def sql_bounds(self, release_date: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        """``(follow_up_end, conviction_deadline)`` of ``release_date`` as SQL expressions.

        The deadline is the follow-up end plus the waiting period, as in :meth:`conviction_deadline`; it is
        not ``release_date + (follow_up + waiting)`` months, which differs after a clamp (2024-02-29: end
        2025-02-28, deadline 2025-08-28, not 2025-08-29).
        """
        end = sql_add_months(release_date, self.follow_up_months)
        return end, sql_add_months(end.copy(), self.waiting_period_months)

    @staticmethod
    def sql_is_proven_reoffence(
        release_date: exp.Expr,
        follow_up_end: exp.Expr,
        conviction_deadline: exp.Expr,
        offence_date: exp.Expr,
        conviction_date: exp.Expr,
    ) -> exp.Expr:
        """SQL twin of :meth:`is_proven_reoffence`."""
        from sqlglot import exp

        return exp.and_(
            exp.GTE(this=offence_date, expression=release_date),
            exp.LT(this=offence_date, expression=follow_up_end),
            exp.LT(this=conviction_date, expression=conviction_deadline),
        )

    @staticmethod
    def sql_is_complete(conviction_deadline: exp.Expr, extract_date: exp.Expr) -> exp.Expr:
        """SQL twin of :meth:`is_complete`: ``conviction_deadline <= extract_date + 1 day``."""
        from sqlglot import exp

        next_day = exp.DateAdd(this=extract_date, expression=exp.Literal.number(1), unit=exp.var("DAY"))
        return exp.LTE(this=conviction_deadline, expression=exp.cast(next_day, exp.DataType.Type.DATE))

    @staticmethod
    def sql_days_from_release(date: exp.Expr, release_date: exp.Expr) -> exp.Expr:
        """SQL twin of :meth:`days_from_release`: whole days from the release to ``date``."""
        from sqlglot import exp

        return exp.DateDiff(this=date, expression=release_date, unit=exp.var("DAY"))

    def describe(self) -> str:
        return (
            f"offences committed within {self.follow_up_months} months of release, proven by a conviction "
            f"within those months or a further {self.waiting_period_months}-month waiting period"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "follow_up_months": self.follow_up_months,
            "waiting_period_months": self.waiting_period_months,
            "follow_up_start": "release_date (inclusive)",
            "follow_up_end": f"release_date + {self.follow_up_months} calendar months (exclusive)",
            "conviction_deadline": f"follow_up_end + {self.waiting_period_months} calendar months (exclusive)",
            "month_end_rule": "a day missing from the target month clamps to its last day",
        }
