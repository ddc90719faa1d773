"""The bare plan: a lower bound for `measure` in polars (issue 30, bench/NOTES.md eighth round).

The least polars work that gives measure's counts per establishment and cohort from the two files: read the
columns, exclude the offences, join on the id, apply the window test, one group-by per release and one per
group. No validation, no index-release rule, no median, no interval, no check of the dates' range. With
``--join-only`` it stops after the window test and counts the proven pairs: the work any answer needs (which
conviction falls in which release's window). Both print a line of counts; neither is a correct measure.

Usage: python bench/bare.py RELEASES CONVICTIONS EXCLUDED_OFFENCES [--join-only]
"""

from __future__ import annotations

import sys

import polars as pl

DATES = {"release_date": pl.Date, "offence_date": pl.Date, "conviction_date": pl.Date}


def scan(path: str, columns: list[str]) -> pl.LazyFrame:
    """The columns, dates typed by the CSV reader itself (cheaper than ``try_parse_dates``, which tries several
    forms, or a parse after reading; an ISO date that does not parse would stop the read, so no check)."""
    if path.endswith(".parquet"):
        return pl.scan_parquet(path).select(columns)
    return pl.scan_csv(path, schema_overrides={c: t for c, t in DATES.items() if c in columns}).select(columns)


def proven_pairs(releases_path: str, convictions_path: str, excluded: list[str]) -> pl.LazyFrame:
    """Each conviction joined to each release of its person, kept when in the window (docs/measures.md)."""
    releases = (
        scan(releases_path, ["offender_id", "release_date"])
        .with_row_index("_release")
        .with_columns(
            follow_up_end=pl.col("release_date").dt.offset_by("12mo"),
            deadline=pl.col("release_date").dt.offset_by("18mo"),
        )
    )
    convictions = scan(convictions_path, ["offender_id", "offence_date", "conviction_date", "offence_code"])
    return releases.join(convictions.filter(~pl.col("offence_code").is_in(excluded)), on="offender_id").filter(
        (pl.col("offence_date") > pl.col("release_date"))
        & (pl.col("offence_date") <= pl.col("follow_up_end"))
        & (pl.col("conviction_date") <= pl.col("deadline"))
    )


def main(argv: list[str]) -> int:
    releases_path, convictions_path, excluded_path = argv[1:4]
    with open(excluded_path, encoding="utf-8") as lines:
        excluded = [line.strip() for line in lines if line.strip()]
    pairs = proven_pairs(releases_path, convictions_path, excluded)
    if "--join-only" in argv[4:]:
        print(pairs.select(pl.len()).collect().item())
        return 0
    per_release = pairs.group_by("_release").agg(
        reoffences=pl.len(),
        reconviction_events=pl.col("conviction_date").n_unique(),
        first=pl.col("offence_date").min(),
    )
    groups = (
        scan(releases_path, ["release_date", "establishment"])
        .with_row_index("_release")
        .with_columns(cohort=pl.col("release_date").dt.truncate("3mo"))
        .join(per_release, on="_release", how="left")
        .group_by("establishment", "cohort")
        .agg(
            cohort_size=pl.len(),
            reoffenders=pl.col("reoffences").is_not_null().sum(),
            reoffences=pl.col("reoffences").sum(),
            reconviction_events=pl.col("reconviction_events").sum(),
            mean_days_to_first=(pl.col("first") - pl.col("release_date")).dt.total_days().mean(),
        )
        .collect()
    )
    print(groups.height, groups["cohort_size"].sum(), groups["reoffenders"].sum())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
