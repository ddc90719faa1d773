"""The bare plan: a lower bound for `measure` in polars (issue 30, bench/NOTES.md eighth and ninth rounds).

The least polars work found that gives measure's counts per establishment and cohort from the two files: read the
columns (releases once), exclude the offences, join on the person (the 8-byte ids read as one 64-bit integer, as
measure's person key does, when the first id is 8 bytes), apply the window test of docs/measures.md, one group-by
per release and one per group, the cohort an integer until the end. No validation, no index-release rule, no
median, no interval, no check of the dates' range: so it is not a correct measure (it counts every release, not
the index releases). With ``--join-only`` it stops after the window test and counts the proven pairs: the work any
answer needs (which conviction falls in which release's window). Both print a line of counts.

A review (ninth round) found the first version 20 to 25% dearer than this one (a text join, the releases read
twice, a date cohort key): a bound is only as good as the cheapest plan anyone has found.

Usage: python bench/bare.py RELEASES CONVICTIONS EXCLUDED_OFFENCES [--join-only]
"""

from __future__ import annotations

import sys

import polars as pl

from reoffend.window import FollowUpWindow

WINDOW = FollowUpWindow(12, 6)  # the measure's default: 12 months' follow-up, 6 months' waiting period
DATES = {"release_date": pl.Date, "offence_date": pl.Date, "conviction_date": pl.Date}


def scan(path: str, columns: list[str]) -> pl.LazyFrame:
    """The columns, dates typed by the CSV reader itself (cheaper than ``try_parse_dates``, which tries several
    forms, or a parse after reading; an ISO date that does not parse would stop the read, so no check)."""
    if path.endswith(".parquet"):
        return pl.scan_parquet(path).select(columns)
    return pl.scan_csv(path, schema_overrides={c: t for c, t in DATES.items() if c in columns}).select(columns)


def person_key(releases_path: str) -> pl.Expr:
    """The join key: 8-byte text ids as one UInt64 (a failed read if any id is not 8 bytes), else the text."""
    first = scan(releases_path, ["offender_id"]).head(1).collect()["offender_id"]
    if first.dtype == pl.String and first.len() and first.str.len_bytes().item() == 8:
        return pl.col("offender_id").cast(pl.Binary).bin.reinterpret(dtype=pl.UInt64).alias("offender_id")
    return pl.col("offender_id")


def excluded_codes(path: str) -> list[str]:
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def releases_of(releases_path: str, columns: list[str], key: pl.Expr) -> pl.LazyFrame:
    """The releases, numbered (``_release``: the row), with the person key."""
    return scan(releases_path, ["offender_id", *columns]).with_row_index("_release").with_columns(key)


def proven_pairs(releases: pl.LazyFrame, convictions_path: str, excluded: list[str], key: pl.Expr) -> pl.LazyFrame:
    """Each conviction joined to each release of its person, kept when proven in its window: the rule's one
    definition (reoffend/window.py, docs/measures.md), window columns and test alike."""
    windows = WINDOW.with_window_columns(releases.select("_release", "offender_id", "release_date"))
    convictions = (
        scan(convictions_path, ["offender_id", "offence_date", "conviction_date", "offence_code"])
        .filter(~pl.col("offence_code").is_in(excluded))
        .drop("offence_code")
        .with_columns(key)
    )
    return windows.join(convictions, on="offender_id").filter(FollowUpWindow.is_proven_reoffence())


def main(argv: list[str]) -> int:
    releases_path, convictions_path, excluded_path = argv[1:4]
    key = person_key(releases_path)
    releases = releases_of(releases_path, ["release_date", "establishment"], key)
    pairs = proven_pairs(releases, convictions_path, excluded_codes(excluded_path), key)
    if "--join-only" in argv[4:]:
        print(pairs.select(pl.len()).collect().item())
        return 0
    per_release = pairs.group_by("_release").agg(
        reoffences=pl.len(),
        reconviction_events=pl.col("conviction_date").n_unique(),
        first=pl.col("offence_date").min(),
    )
    quarter = pl.col("release_date").dt.year() * 4 + (pl.col("release_date").dt.month() - 1) // 3
    groups = (
        releases.select("_release", "release_date", "establishment")
        .with_columns(cohort=quarter)
        .join(per_release, on="_release", how="left")
        .group_by("establishment", "cohort")
        .agg(
            cohort_size=pl.len(),
            reoffenders=pl.col("reoffences").is_not_null().sum(),
            reoffences=pl.col("reoffences").sum(),
            reconviction_events=pl.col("reconviction_events").sum(),
            mean_days_to_first=(pl.col("first") - pl.col("release_date")).dt.total_days().mean(),
        )
        .with_columns(cohort=pl.date(pl.col("cohort") // 4, pl.col("cohort") % 4 * 3 + 1, 1))
        .collect()
    )
    print(groups.height, groups["cohort_size"].sum(), groups["reoffenders"].sum())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
