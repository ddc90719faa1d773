"""Watching the court lag for the nowcast (docs/nowcast.md, "Court lag"; issue 25).

A proven reoffence counts when it is convicted before the conviction deadline (docs/measures.md, "The
follow-up window"), so how soon convictions arrive shapes how much of a cohort is seen by any age: the
development the nowcast learns from complete releases. When the courts slow down, fewer reoffences are seen by
each age than the reference says and a nowcast that does not know it runs low.

**The monitor.** The lag of a reconviction event is its conviction date minus the earliest offence date among
its proven reoffences. An event of a release still in follow-up, seen at extract date ``E``, had at most
``room = min(E, deadline - 1) - offence`` days to be convicted: its lag is known only because it was at most
``room`` (right truncation). Against the reference's distribution ``G`` of lags (events of complete releases
with at least ``LAG_CAP_DAYS`` of room, so that ``G`` is not itself truncated below that), the truncated
probability integral transform ``u = G_mid(lag) / G(room)`` (``G_mid`` the mid-distribution, the mean of
``G`` just below and at the lag) has mean exactly 1/2 when the lags of the new events follow ``G``, also for
whole days with ties (the sum telescopes to ``G(room)**2 / 2``). Rooms are capped at ``LAG_CAP_DAYS``
(conditioning on a lag of at most that), events with under ``MIN_ROOM_DAYS`` of room are left out. With ``n``
events against ``N`` reference events the mean has standard error ``sqrt((1/n + 1/N) / 12)`` (the reference's
``G`` is a sample too, as in Mann and Whitney's two-sample test); ``z`` is the mean's distance from 1/2 in
those units.

**The ratio.** If every lag is stretched by a factor ``m`` (``G_m(x) = G(x / m)``), the same mean is 1/2 at the
true ``m``: the estimate is the ``m`` (between ``1/RATIO_BOUND`` and ``RATIO_BOUND``) where it crosses 1/2,
found by bisection on ``log m``, with a standard error from the slope of the mean there.

**The stretched reference.** :func:`stretched_reference` gives the complete releases as they would have
developed with every event's lag multiplied by ``m``: conviction day ``offence day + round(m * lag)``, and an
event pushed to or past the deadline no longer proven. Learning the development from it is what the nowcast
does for a cohort whose lag has changed (``court_lag = "adjust"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

from .measure import EVENT_KEY
from .window import CONVICTION_DEADLINE, FollowUpWindow

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
LAG_CAP_DAYS = 365  # rooms are capped here: the reference's lags are complete up to this many days
MIN_ROOM_DAYS = 30  # events with less room than this say little and are left out of the monitor
LAG_Z = 3.0  # |z| of the monitor at or above which a cohort's court lag has changed
MIN_LAG_EVENTS = 30  # fewer events than this in a cohort: no verdict (the ratio is not estimated)
RATIO_BOUND = 4.0  # the ratio is searched between 1/4 and 4
MAX_LAG_EVENTS = 100_000  # more events than this in a cohort: every k-th is used (the mean's error is 0.001)


@dataclass(frozen=True)
class LagFit:
    """The monitor for one set of events: the ratio ``m`` (None: too few events), its standard error on the
    log scale, ``z`` of the test of no change, and the number of events used."""

    ratio: float | None
    log_se: float | None
    z: float | None
    events: int


def event_table(
    rows: pl.DataFrame, releases: pl.DataFrame, key: str, carry: tuple[str, ...] = (), by_position: bool = False
) -> pl.DataFrame:
    """One row per reconviction event (release ``key``, ``EVENT_KEY``) among proven reoffence ``rows``, in days
    since 1970: ``_offence`` (the event's earliest offence), ``_conviction`` (its earliest conviction),
    ``_last`` (the day before the release's conviction deadline, from ``releases``) and ``_lag`` (conviction
    minus offence), then the ``carry`` columns of ``releases``. Independent of any extract date, so built once
    for a nowcast and its backtest; the room of an event seen at extract day ``E`` is ``min(E, _last) -
    _offence`` (:func:`with_room`). One query (group-by and join in one plan, bench/NOTES.md). ``by_position``:
    ``key`` is the row index of ``releases`` (the nowcast's), so the release columns are gathered by it instead
    of joined (0.29 -> 0.21 CPU s at 1,000,000 releases, bench/NOTES.md, eighth round); the same rows. The rows
    are in no particular order (neither the group-by nor the join keeps one): the monitor's caller sorts them
    (reoffend.nowcast.lag_events), and its histograms do not depend on the order."""
    day = pl.Int32
    events = (
        rows.lazy()
        .group_by(key, EVENT_KEY)
        .agg(pl.col("offence_date").min().alias("_offence"), pl.col("conviction_date").min().alias("_conviction"))
    )
    if by_position:
        grouped = events.collect()
        keys = grouped.get_column(key)
        events = grouped.lazy().with_columns(
            releases.select(CONVICTION_DEADLINE, *carry).to_series(i).gather(keys) for i in range(1 + len(carry))
        )
    else:
        events = events.join(releases.lazy().select(key, CONVICTION_DEADLINE, *carry), on=key, how="left")
    return events.select(
        key,
        pl.col("_offence").cast(day),
        pl.col("_conviction").cast(day),
        (pl.col(CONVICTION_DEADLINE).cast(day) - 1).alias("_last"),
        (pl.col("_conviction") - pl.col("_offence")).dt.total_days().cast(pl.Int64).alias("_lag"),
        *carry,
    ).collect()


def with_room(events: Frame, extract_day: int) -> Frame:
    """The events of :func:`event_table` convicted by ``extract_day``, with ``_room``: the days each had to be
    convicted (up to the day before its deadline, and up to the extract); eager or lazy, as given."""
    last = pl.min_horizontal(pl.col("_last"), pl.lit(extract_day, pl.Int32))
    return events.filter(pl.col("_conviction") <= extract_day).with_columns(
        (last - pl.col("_offence")).cast(pl.Int64).alias("_room")
    )


def reference_lags(events: pl.DataFrame) -> np.ndarray:
    """The reference's lag distribution as cumulative counts: element ``k`` is how many reference events (those
    with at least ``LAG_CAP_DAYS`` of room, so that ``G`` up to that is not truncated) had a lag of at most ``k``
    days, for ``k`` up to the cap; the last element, at ``LAG_CAP_DAYS + 1``, is their number (lags beyond the
    cap are the part of ``G`` above it)."""
    lags = events.filter(pl.col("_room") >= LAG_CAP_DAYS).get_column("_lag").to_numpy()
    counts = np.bincount(np.clip(lags, 0, LAG_CAP_DAYS + 1), minlength=LAG_CAP_DAYS + 2)
    return np.cumsum(counts)


def _mean_pit(
    cumulative: np.ndarray, lags: np.ndarray, rooms: np.ndarray, ratio: float, events: np.ndarray | None = None
) -> float:
    """Mean of ``u = G_mid(lag / ratio) / G(room / ratio)`` (``G`` from the cumulative counts of whole days).

    ``events``: ``lags`` and ``rooms`` are the distinct (lag, room) pairs and ``events`` gives each event's pair
    (:func:`_distinct_pairs`): ``u`` is worked out once per pair and taken to every event, so the mean is of the
    same values in the same order, the same float, for a fraction of the work (bench/NOTES.md, ninth round)."""
    ok, values = _pit_terms(cumulative, lags, rooms, ratio)
    if events is not None and ok.all():  # each event's pair, in the events' order: every pair has a value
        values = values[events]  # the same array as below, without the mask (bench/NOTES.md, tenth round)
    elif events is not None:
        per_pair = np.zeros(lags.size)
        per_pair[ok] = values
        ok = ok[events]
        values = per_pair[events][ok]
    return float(values.mean()) if ok.any() else math.nan


def _pit_terms(
    cumulative: np.ndarray, lags: np.ndarray, rooms: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which events have some reference mass below their room, and ``u`` of :func:`_mean_pit` of those."""
    scaled_lag, scaled_room = lags / ratio, rooms / ratio
    top = cumulative.size - 1

    def at_most(x: np.ndarray) -> np.ndarray:  # events with lag <= x
        return cumulative[np.clip(np.floor(x).astype(np.int64), 0, top)] * (x >= 0)

    def below(x: np.ndarray) -> np.ndarray:  # events with lag < x
        index = np.ceil(x).astype(np.int64) - 1
        return np.where(index >= 0, cumulative[np.clip(index, 0, top)], 0)

    room = at_most(scaled_room)
    ok = room > 0
    if not ok.any():
        return ok, np.zeros(0)
    mid = (below(scaled_lag[ok]) + at_most(scaled_lag[ok])) / 2
    return ok, mid / room[ok]


def _distinct_pairs(lags: np.ndarray, rooms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The distinct (lag, room) pairs of whole-day events and where each event's pair is (``np.unique``'s
    inverse), for :func:`_mean_pit`; events in other units are kept as they are (None)."""
    whole = np.issubdtype(lags.dtype, np.integer) and np.issubdtype(rooms.dtype, np.integer)
    if not whole or not lags.size:
        return lags.astype(np.float64), rooms.astype(np.float64), None
    # rooms are 0 .. LAG_CAP_DAYS here (fit_lag), so this number is one to one with the pair
    width = LAG_CAP_DAYS + 1
    codes = lags.astype(np.int64) * width + rooms
    if lags.min() >= 0:  # then every code is below width**2: the distinct ones marked, without a sort
        marked = np.zeros(width * width, dtype=bool)
        marked[codes] = True
        codes, events = np.flatnonzero(marked), (np.cumsum(marked) - 1)[codes]
    else:
        codes, events = np.unique(codes, return_inverse=True)
    pair_rooms = codes % width
    return ((codes - pair_rooms) // width).astype(np.float64), pair_rooms.astype(np.float64), events.reshape(-1)


def fit_lag(reference: np.ndarray, lags: np.ndarray, rooms: np.ndarray, ratio: bool = True) -> LagFit:
    """The monitor and the ratio for events with these ``lags`` and ``rooms`` against the ``reference``'s
    cumulative counts (:func:`reference_lags`). ``ratio=False``: the monitor's ``z`` alone (no search)."""
    rooms = np.minimum(rooms, LAG_CAP_DAYS)
    keep = (rooms >= MIN_ROOM_DAYS) & (lags <= rooms)
    lags, rooms = lags[keep], rooms[keep]
    if lags.size > MAX_LAG_EVENTS:  # a systematic sample (every k-th, in the caller's fixed order) is plenty
        stride = math.ceil(lags.size / MAX_LAG_EVENTS)
        lags, rooms = lags[::stride], rooms[::stride]
    n = int(lags.size)
    if n < MIN_LAG_EVENTS or reference[-1] < MIN_LAG_EVENTS:
        return LagFit(None, None, None, n)
    # the reference is a sample too: as in Mann and Whitney's two-sample test, var(mean u) = (1/n + 1/N) / 12
    scale = 1 / math.sqrt((1 / n + 1 / float(reference[-1])) / 12)
    z = (_mean_pit(reference, lags.astype(np.float64), rooms.astype(np.float64), 1.0) - 0.5) * scale
    if not ratio:
        return LagFit(None, None, z, n)
    low, high = -math.log(RATIO_BOUND), math.log(RATIO_BOUND)
    pair_lags, pair_rooms, events = _distinct_pairs(lags, rooms)  # the search's 24 means, each over the pairs

    def excess(log_ratio: float) -> float:  # decreasing in the ratio
        return _mean_pit(reference, pair_lags, pair_rooms, math.exp(log_ratio), events) - 0.5

    if excess(high) > 0:
        log_ratio = high
    elif excess(low) < 0:
        log_ratio = low
    else:
        for _ in range(20):  # to within 2.8 / 2**20 on the log scale
            middle = (low + high) / 2
            low, high = (middle, high) if excess(middle) > 0 else (low, middle)
        log_ratio = (low + high) / 2
    step = 0.05
    slope = (excess(log_ratio + step) - excess(log_ratio - step)) / (2 * step)
    log_se = (1 / scale) / abs(slope) if slope else math.inf
    return LagFit(math.exp(log_ratio), log_se, z, n)


def stretched_reference(
    reference: pl.DataFrame,
    rows: pl.DataFrame,
    releases: pl.DataFrame,
    key: str,
    day: str,
    first_day: str,
    ratio: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The complete releases (``reference``: key, ``first_day``, ``reoffended``, ``reoffences``,
    ``reconviction_events`` and the rest) and their proven reoffence ``rows`` as if every event's court lag had
    been ``ratio`` times as long: an event's conviction day becomes its earliest offence day plus
    ``round(ratio * lag)``, the same for each of its rows, and an event then on or after the deadline is not
    proven. The per-release counts are recomputed from what is left. Both frames are in no particular row order
    (the joins keep none): the development table sums them (reoffend.nowcast.development_sums, integer sums)."""
    window = releases.select(key, pl.col("release_date").alias("_released_on"), CONVICTION_DEADLINE)
    moved = rows.join(window, on=key, how="left").with_columns(  # per-event minima over the key: order-free
        pl.col("offence_date").min().over(key, EVENT_KEY).alias("_event_offence"),
        pl.col("conviction_date").min().over(key, EVENT_KEY).alias("_event_conviction"),
    )
    lag = (pl.col("_event_conviction") - pl.col("_event_offence")).dt.total_days()
    stretched = pl.col("_event_offence") + pl.duration(days=(ratio * lag).round().cast(pl.Int64))
    # still proven only if convicted in time, by the measure's one rule (reoffend.window); the offences stay in
    # the follow-up, where they were
    moved = (
        moved.with_columns(stretched.alias("_stretched"))
        .filter(FollowUpWindow.is_convicted_in_time("_stretched"))
        .with_columns((pl.col("_stretched") - pl.col("_released_on")).dt.total_days().cast(pl.Int32).alias(day))
    )
    kept = moved.select(rows.columns)
    counts = kept.group_by(key).agg(
        pl.len().cast(pl.Int64).alias("_reoffences"),
        pl.col(EVENT_KEY).n_unique().cast(pl.Int64).alias("_events"),
        pl.col(day).min().alias("_first"),
    )
    again = (
        reference.join(counts, on=key, how="left")
        .with_columns(
            pl.col("_first").alias(first_day),
            pl.col("_reoffences").is_not_null().alias("reoffended"),
            pl.col("_reoffences").fill_null(0).alias("reoffences"),
            pl.col("_events").fill_null(0).alias("reconviction_events"),
        )
        .select(reference.columns)
    )
    return again, kept
