"""The bare nowcast: a lower bound for `reoffend nowcast` with its check, in polars (issue 30, bench/NOTES.md).

The least polars work that gives the nowcast's core figures at the extract and at the check's four origins: read
the columns, exclude the offences, join on the person with the window test (bench/bare.py's join), then at each origin
``o`` the releases dated by ``o`` with what had been seen of them by ``o`` (the pairs convicted by then), the
reference (the releases complete at ``o``) as a table by development day of the chain ladder's step (for a release
not seen to reoffend by day ``t``: the share that did, and their mean reoffences and events; for one seen: the mean
further reoffences and events), each release in follow-up given its day's row, and the expectations summed by
cohort; the check's origins then set beside the extract's figures. No validation, no index-release rule, no
court-lag monitor, no level credibility, no variance, no interval, no censoring correction: so not a correct
nowcast. It is the cheapest direct plan of that core found so far (a review found this one, with bench/bare.py's
integer key and the events sorted by release, about a fifth cheaper than the first): a figure of what the core
costs, not a proof that nothing cheaper exists.

Usage: python bench/bare_nowcast.py RELEASES CONVICTIONS EXCLUDED_OFFENCES [EXTRACT_DATE]
(EXTRACT_DATE: ISO, default the latest conviction date; the check's origins are 1, 3, 5 and 7 months before it.)
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/bare.py, also when loaded by path
from bare import WINDOW, excluded_codes, person_key, proven_pairs, releases_of

from reoffend.window import CONVICTION_DEADLINE

CHECK_MONTHS = (1, 3, 5, 7)  # the check's origins, months before the extract (as `nowcast`'s four)
MAX_DAY = 550  # days a release can be observed before its figures are final: 18 calendar months are at most 550


def month_end_before(extract: dt.date, months: int) -> dt.date:
    """The last day of the month ``months`` before the extract's month."""
    following = extract.year * 12 + extract.month - 1 - months + 1  # the month after it, counted from year 0
    return dt.date(following // 12, following % 12 + 1, 1) - dt.timedelta(days=1)


def at_origin(releases: pl.DataFrame, events: pl.DataFrame, origin: dt.date) -> pl.DataFrame:
    """Observed plus expected reoffenders, reoffences and events by cohort, as a nowcast at ``origin`` gives them.

    Each release's state at ``origin`` is put in place by position (its ``_release`` is its row number) and each
    release in follow-up reads its day's row of the table by position: gathers, not joins (0.35 to 0.43 CPU s an
    origin at 1,000,000 releases against 0.6 for the same plan with joins, the same figures)."""
    n = releases.height
    seen = events.filter(pl.col("conviction_date") <= origin)
    per_release = seen.group_by("_release").agg(
        first_day=pl.col("_day").min(), reoffences=pl.col("offences").sum(), events=pl.len()
    )
    at = per_release["_release"]
    known = (
        releases.with_columns(
            pl.Series("first_day", [], pl.Int64).extend_constant(None, n).scatter(at, per_release["first_day"]),
            pl.zeros(n, pl.UInt32, eager=True).scatter(at, per_release["reoffences"]).alias("reoffences"),
            pl.zeros(n, pl.UInt32, eager=True).scatter(at, per_release["events"]).alias("events"),
        )
        .filter(pl.col("release_date") <= origin)
        .with_columns(
            age=(pl.lit(origin) - pl.col("release_date")).dt.total_days() + 1, complete=pl.col("deadline") <= origin
        )
    )
    reference = known.filter("complete")
    by_first = reference.group_by("first_day").agg(
        releases=pl.len(), reoffences=pl.col("reoffences").sum(), events=pl.col("events").sum()
    )
    in_reference = pl.zeros(n, pl.Boolean, eager=True).scatter(reference["_release"], True)
    by_day = (
        seen.filter(in_reference.gather(seen["_release"]))
        .group_by("_day")
        .agg(seen_offences=pl.col("offences").sum(), seen_events=pl.len())
    )
    never = by_first.filter(pl.col("first_day").is_null())["releases"].sum()
    unseen_releases = pl.col("later") + never
    # per day t: the reference releases first seen on day t or later (not seen at t), and before t (seen), cumulated
    grid = (
        pl.DataFrame({"t": pl.int_range(1, MAX_DAY + 1, eager=True)})
        .join(by_first.filter(pl.col("first_day").is_not_null()), left_on="t", right_on="first_day", how="left")
        .join(by_day, left_on="t", right_on="_day", how="left")
        .fill_null(0)
        .sort("t")
        .with_columns(
            later=pl.col("releases").cum_sum(reverse=True),
            later_offences=pl.col("reoffences").cum_sum(reverse=True),
            later_events=pl.col("events").cum_sum(reverse=True),
            seen=pl.col("releases").cum_sum().shift(1, fill_value=0),
            seen_offences_total=pl.col("reoffences").cum_sum().shift(1, fill_value=0),
            seen_events_total=pl.col("events").cum_sum().shift(1, fill_value=0),
            seen_offences_by_t=pl.col("seen_offences").cum_sum().shift(1, fill_value=0),
            seen_events_by_t=pl.col("seen_events").cum_sum().shift(1, fill_value=0),
        )
        .select(
            q=pl.col("later") / unseen_releases,
            unseen_offences=pl.col("later_offences") / unseen_releases,
            unseen_events=pl.col("later_events") / unseen_releases,
            further_offences=(pl.col("seen_offences_total") - pl.col("seen_offences_by_t")) / pl.col("seen"),
            further_events=(pl.col("seen_events_total") - pl.col("seen_events_by_t")) / pl.col("seen"),
        )
    )
    follow_up = known.filter(~pl.col("complete"))
    row = {name: grid[name].gather(follow_up["age"] - 1) for name in grid.columns}
    unseen = follow_up["first_day"].is_null()
    return (
        follow_up.select("cohort")
        .with_columns(
            reoffender=pl.when(unseen).then(row["q"]).otherwise(1.0),
            offences=follow_up["reoffences"]
            + pl.when(unseen).then(row["unseen_offences"]).otherwise(row["further_offences"]),
            all_events=follow_up["events"]
            + pl.when(unseen).then(row["unseen_events"]).otherwise(row["further_events"]),
        )
        .group_by("cohort")
        .agg(
            releases=pl.len(),
            reoffenders=pl.col("reoffender").sum(),
            reoffences=pl.col("offences").sum(),
            events=pl.col("all_events").sum(),
        )
        .with_columns(origin=pl.lit(origin))
    )


def main(argv: list[str]) -> int:
    releases_path, convictions_path, excluded_path = argv[1:4]
    key = person_key(releases_path)
    releases = releases_of(releases_path, ["release_date"], key)
    pairs = proven_pairs(releases, convictions_path, excluded_codes(excluded_path), key)
    # a court appearance (reconviction event) is a release's conviction day, its offences counted with it; sorted by
    # release, so each origin's group-by per release takes polars' sorted path (the review's 1.9 against 2.4 x)
    events = (
        pairs.with_columns(_day=(pl.col("conviction_date") - pl.col("release_date")).dt.total_days())
        .group_by("_release", "_day")
        .agg(pl.col("conviction_date").first(), offences=pl.len())
        .sort("_release")
        .with_columns(pl.col("_release").set_sorted())
        .collect()
    )
    extract = dt.date.fromisoformat(argv[4]) if len(argv) > 4 else events.select(pl.col("conviction_date").max()).item()
    windows = (
        WINDOW.with_window_columns(releases.select("_release", "release_date"))
        .select("_release", "release_date", pl.col(CONVICTION_DEADLINE).alias("deadline"))
        .with_columns(cohort=pl.col("release_date").dt.truncate("3mo"))
        .collect()
    )
    origins = [extract, *(month_end_before(extract, months) for months in CHECK_MONTHS)]
    figures = [at_origin(windows, events, origin) for origin in origins]
    final = figures[0]
    # the check: each earlier origin's figures beside the extract's for the same cohorts
    checked = pl.concat(figures[1:]).join(final, on="cohort", suffix="_final")
    print(len(origins), final.height, checked.height, round(float(final["reoffenders"].sum())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
