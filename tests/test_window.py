"""The follow-up window's edges (reoffend/window.py), worked by hand and against a brute-force scan."""

from __future__ import annotations

import calendar
import datetime as dt

import polars as pl
import pytest

from reoffend.errors import UsageError
from reoffend.window import (
    LATEST_EXTRACT_DATE,
    MAX_WINDOW_MONTHS,
    FollowUpWindow,
    add_months,
    add_months_to_date,
    check_extract_date,
    recorded_by,
)

D = dt.date.fromisoformat
DAY = dt.timedelta(days=1)


def months_later(date: dt.date, months: int) -> dt.date:
    """Calendar months written out: a day missing from the target month becomes its last day."""
    year, month = divmod(date.month - 1 + months, 12)
    year, month = date.year + year, month + 1
    return dt.date(year, month, min(date.day, calendar.monthrange(year, month)[1]))


def deadline(release: dt.date, window: FollowUpWindow) -> dt.date:
    """release + follow-up months (clamped), then + waiting months (clamped again): the rule, by hand."""
    return months_later(months_later(release, window.follow_up_months), window.waiting_period_months)


def test_month_ends_by_hand():
    window = FollowUpWindow(12, 6)
    # 2024-02-29 + 12 months: 2025 has no 29 February, so 2025-02-28; + 6 months: 2025-08-28 (not 08-29)
    assert add_months_to_date(D("2024-02-29"), 12) == D("2025-02-28")
    assert deadline(D("2024-02-29"), window) == D("2025-08-28")
    # 2023-08-31 + 12 = 2024-08-31; + 6 = 2025-02-31, which clamps to 2025-02-28
    assert deadline(D("2023-08-31"), window) == D("2025-02-28")
    # so at extract 2025-02-27 (the day after: 2025-02-28) 2023-08-31 is complete and 2023-09-01 (deadline
    # 2025-03-01) is not: the latest complete release is 2023-08-31, at the end of a month
    assert window.latest_complete_release(D("2025-02-27")) == D("2023-08-31")
    # one day earlier the deadline 2025-02-28 is too late (the day after 2025-02-26 is 02-27): 2023-08-27 has
    # deadline 2025-02-27 and is the latest
    assert window.latest_complete_release(D("2025-02-26")) == D("2023-08-27")
    # in a leap year: 2024-02-29's deadline 2025-08-28 needs extract 2025-08-27
    assert window.latest_complete_release(D("2025-08-27")) == D("2024-02-29")


@pytest.mark.parametrize(("follow_up", "waiting"), [(12, 6), (1, 0), (6, 3)])
def test_latest_complete_release_agrees_with_a_day_by_day_scan(follow_up, waiting):
    """Every extract date from 2023 to 2028 (two leap years, every month end) against a brute-force scan."""
    window = FollowUpWindow(follow_up, waiting)
    first, last = D("2023-01-01"), D("2028-12-31")
    releases = [first - dt.timedelta(days=800) + dt.timedelta(days=i) for i in range((last - first).days + 801)]
    deadlines = [deadline(r, window) for r in releases]  # never decreasing as the release moves on
    assert deadlines == sorted(deadlines)
    index = 0
    extract = first
    while extract <= last:
        # the latest release whose deadline is on or before the day after the extract
        while index + 1 < len(releases) and deadlines[index + 1] <= extract + DAY:
            index += 1
        assert deadlines[index] <= extract + DAY
        assert window.latest_complete_release(extract) == releases[index], extract
        extract += DAY


def test_is_complete_at_the_deadline():
    window = FollowUpWindow(12, 6)
    frame = pl.DataFrame({"release_date": [D("2024-02-29")]})
    complete = window.with_window_columns(frame.lazy()).select(
        window.is_complete(D("2025-08-27")).alias("on_time"), window.is_complete(D("2025-08-26")).alias("early")
    )
    # deadline 2025-08-28: the last conviction that counts is dated 2025-08-27, so extract 2025-08-27 is enough
    assert complete.collect().row(0) == (True, False)


@pytest.mark.parametrize(
    ("follow_up", "waiting", "ok"),
    [
        (1, 0, True),
        (MAX_WINDOW_MONTHS, MAX_WINDOW_MONTHS, True),
        (0, 6, False),
        (MAX_WINDOW_MONTHS + 1, 6, False),
        (12, -1, False),
        (12, MAX_WINDOW_MONTHS + 1, False),
    ],
)
def test_each_period_is_bounded(follow_up, waiting, ok):
    assert MAX_WINDOW_MONTHS == 1200
    if ok:
        FollowUpWindow(follow_up, waiting)
    else:
        with pytest.raises(ValueError, match="must be"):
            FollowUpWindow(follow_up, waiting)


def test_the_longest_window_from_a_late_release_does_not_overflow():
    # 1,200 + 1,200 months = 200 years: 7999-12-31 gives 8099-12-31 and 8199-12-31, still dates
    window = FollowUpWindow(MAX_WINDOW_MONTHS, MAX_WINDOW_MONTHS)
    frame = window.with_window_columns(pl.DataFrame({"release_date": [D("7999-12-31")]}).lazy()).collect()
    assert frame.row(0) == (D("7999-12-31"), D("8099-12-31"), D("8199-12-31"))


def test_the_latest_extract_date():
    check_extract_date(None)
    check_extract_date(LATEST_EXTRACT_DATE)
    assert D("9999-12-30") == LATEST_EXTRACT_DATE
    with pytest.raises(UsageError, match="too late"):
        check_extract_date(D("9999-12-31"))


def test_an_extract_as_at_a_date_holds_the_rows_dated_on_or_before_it():
    # docs/measures.md "Measuring as at a date": a row is held when every one of its dates is on or before as_at
    as_at = D("2024-03-31")
    rows = pl.DataFrame(
        {
            "offence_date": [D("2024-03-01"), D("2024-03-31"), D("2024-03-01"), D("2024-04-01"), D("2024-03-31")],
            "conviction_date": [D("2024-03-30"), D("2024-03-31"), D("2024-04-01"), D("2024-04-02"), None],
        }
    )
    held = rows.select(recorded_by(as_at, "offence_date", "conviction_date").alias("held"))["held"].to_list()
    # both before; both on the day (held: on or before); convicted the day after; both after; a null date is
    # unknown (polars' all_horizontal of True and null is null, which a filter drops)
    assert held == [True, True, False, False, None]
    # one date: the day itself is held, the day after is not
    one = pl.DataFrame({"release_date": [as_at, as_at + DAY]}).select(recorded_by(as_at, "release_date"))
    assert one.to_series().to_list() == [True, False]


def test_the_looked_up_columns_equal_the_computed_ones_and_a_missing_date_is_an_error():
    window = FollowUpWindow(12, 6)
    releases = pl.DataFrame({"release_date": [D("2024-02-29"), D("2023-08-31"), D("2024-02-29")]}).lazy()
    dates = pl.Series("release_date", [D("2024-02-29"), D("2023-08-31")])
    looked_up = window.with_window_columns_looked_up(releases, dates).collect()
    assert looked_up.equals(window.with_window_columns(releases).collect())
    assert looked_up.row(1) == (D("2023-08-31"), D("2024-08-31"), D("2025-02-28"))
    with pytest.raises(pl.exceptions.InvalidOperationError):
        window.with_window_columns_looked_up(releases, dates.head(1)).collect()


def test_days_from_release():
    frame = pl.DataFrame({"release_date": [D("2024-02-28")], "offence_date": [D("2024-03-01")]})
    # 2024 is a leap year: 28 Feb -> 29 Feb -> 1 Mar is 2 days
    assert frame.select(FollowUpWindow.days_from_release("offence_date")).item() == 2


def test_waiting_months_needed_counts_the_deadlines_on_or_before_the_conviction():
    window = FollowUpWindow(12, 6)
    # follow-up end 2025-01-31; the deadline with m waiting months is 2025-01-31 + m months (clamped): m = 0:
    # 01-31, 1: 02-28, 2: 03-31. A conviction on 2025-01-30 needs 0 months, on 01-31 (the m = 0 deadline itself,
    # too late) 1, on 02-28 2, on 03-31 (past the longest, 2) longest + 1 = 3, and on 2025-06-30, months past the
    # longest, still 3 (no deadline beyond the longest is counted: a fourth, 3 months' 04-30, would make it 4)
    pairs = pl.DataFrame(
        {
            "follow_up_end": [D("2025-01-31")] * 5,
            "conviction_date": [D("2025-01-30"), D("2025-01-31"), D("2025-02-28"), D("2025-03-31"), D("2025-06-30")],
        }
    ).lazy()
    out = window.with_waiting_months_needed(pairs, 2, "needed").collect()
    assert out["needed"].to_list() == [0, 1, 2, 3, 3]
    assert out.columns == ["follow_up_end", "conviction_date", "needed"]


def test_the_window_in_words_and_as_a_record():
    window = FollowUpWindow(12, 6)
    assert window.describe() == (
        "offences committed within 12 months of release, proven by a conviction within those months or a further "
        "6-month waiting period"
    )
    assert window.as_dict()["follow_up_end"] == "release_date + 12 calendar months (exclusive)"
    assert window.as_dict()["conviction_deadline"] == "follow_up_end + 6 calendar months (exclusive)"
    assert (FollowUpWindow().follow_up_months, FollowUpWindow().waiting_period_months) == (12, 6)


def test_add_months_takes_a_number_of_months_per_row():
    # 2024-01-31 + 1 month clamps to 2024-02-29 (a leap year); + 13 months to 2025-02-28; 2024-03-15 + 0 is itself
    frame = pl.DataFrame({"d": [D("2024-01-31"), D("2024-01-31"), D("2024-03-15")], "m": [1, 13, 0]})
    out = frame.select(add_months(pl.col("d"), pl.col("m"))).to_series().to_list()
    assert out == [D("2024-02-29"), D("2025-02-28"), D("2024-03-15")]
    assert frame.select(add_months(pl.col("d"), 1)).to_series().to_list()[0] == D("2024-02-29")
