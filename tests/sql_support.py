"""Helpers shared by the SQL tests: the measure in polars and in an engine, compared cell by cell."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from reoffend.measure import MeasureParams, measure
from reoffend.sql import SqlSource
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs

Frames = tuple[pl.DataFrame, pl.DataFrame]


def python_rows(releases: pl.DataFrame, convictions: pl.DataFrame, params: MeasureParams, extract_date=None):
    inputs = validate_inputs(
        Table("releases", RELEASES, releases.lazy()),
        Table("convictions", CONVICTIONS, convictions.lazy()),
        extract_date=extract_date,
    )
    return measure(inputs, params).rows


def assert_same_table(ours: pl.DataFrame, theirs: pl.DataFrame, label: str = "") -> None:
    """Same columns, rows and order; counts and text exactly, doubles to 1e-12 (relative, or absolute near 0)."""
    assert ours.columns == theirs.columns, f"{label}: columns {ours.columns} != {theirs.columns}"
    assert ours.height == theirs.height, f"{label}: {ours.height} rows != {theirs.height}\n{ours}\n{theirs}"
    for column in ours.columns:
        a, b = ours[column].to_list(), theirs[column].to_list()
        if ours.schema[column].is_float():
            for row, (x, y) in enumerate(zip(a, b, strict=True)):
                assert (x is None) == (y is None), f"{label}: {column} row {row}: {x} != {y}"
                if x is not None:
                    assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), f"{label}: {column}[{row}] {x} != {y}"
        else:
            assert [None if v is None else str(v) for v in a] == [None if v is None else str(v) for v in b], (
                f"{label}: {column} differs"
            )


def with_cohort_column(frames: Frames) -> Frames:
    """A cohort label of the file's own (not a period of release_date): measure must use it, and so must SQL."""
    releases, convictions = frames
    label = pl.when(pl.col("establishment").str.slice(-1).cast(pl.Int64) % 2 == 0).then(pl.lit("even"))
    return releases.with_columns(label.otherwise(pl.lit("odd")).alias("cohort")), convictions


def with_appearances(frames: Frames) -> Frames:
    """Appearance ids that join conviction dates of the same month (and none for some rows)."""
    releases, convictions = frames
    text = pl.col("conviction_date").cast(pl.String)  # dates typed or as text
    month = text.str.slice(0, 7)
    appearance = (
        pl.when(text.str.slice(8, 2).cast(pl.Int64) % 5 == 0)
        .then(None)
        .otherwise(pl.format("{}-{}", pl.col("offender_id"), month))
    )
    return releases, convictions.with_columns(appearance.alias("appearance_id"))


@dataclass(frozen=True)
class Case:
    """One combination of measure options, with what the tables need for it."""

    name: str
    params: MeasureParams
    source: SqlSource = field(default_factory=SqlSource)
    prepare: Callable[[Frames], Frames] | None = None
    extract_date: dt.date | None = None  # given to both paths


def cases(excluded: frozenset[str], establishments: tuple[str, ...], extract_date: dt.date | None) -> list[Case]:
    """Each option of docs/sql.md at least once; ``extract_date`` makes some follow-up incomplete."""
    from reoffend.window import FollowUpWindow

    three = ",".join(establishments[:3])
    return [
        Case("default", MeasureParams()),
        Case("by-establishment-excluded", MeasureParams(by=("establishment", "cohort"), excluded_offences=excluded)),
        Case("overall-index-all", MeasureParams(by=(), index="all")),
        Case("month-by-sex", MeasureParams(by=("cohort", "sex"), period="month")),
        Case("year-6-0", MeasureParams(period="year", window=FollowUpWindow(6, 0))),
        Case("financial-year-3-3", MeasureParams(period="financial-year", window=FollowUpWindow(3, 3))),
        Case(
            "where-latest-cohort",
            MeasureParams(by=("establishment",), where={"establishment": tuple(three.split(","))}, latest_cohort=True),
        ),
        Case("where-number", MeasureParams(by=("cohort",), where={"prior_convictions": ("0", "1", "2")})),
        Case("confidence-90-index-all", MeasureParams(by=("index_offence",), confidence=0.9, index="all")),
        Case(
            "incomplete-exclude",
            MeasureParams(by=("cohort",), incomplete="exclude"),
            source=SqlSource(extract_date=extract_date),
            extract_date=extract_date,
        ),
        Case(
            "incomplete-exclude-latest-conviction",
            MeasureParams(by=("establishment",), incomplete="exclude", excluded_offences=excluded),
        ),
        Case("cohort-column", MeasureParams(by=("cohort",)), SqlSource(cohort_column=True), with_cohort_column),
        Case(
            "appearance-ids",
            MeasureParams(by=("cohort",), excluded_offences=excluded),
            SqlSource(appearance_ids=True),
            with_appearances,
        ),
        Case(
            "mapped-columns-and-tables",
            MeasureParams(by=("establishment", "cohort"), index="all"),
            SqlSource(
                releases_table="lake.prison_releases",
                convictions_table="lake.court_convictions",
                column_map={"release_date": "date_out", "offender_id": "person", "establishment": "prison"},
            ),
        ),
    ]


def engine_tables(frames: Frames, source: SqlSource) -> Frames:
    """The tables as the warehouse holds them: columns under their mapped names."""
    renames = {canonical: column for canonical, column in source.column_map.items()}
    releases, convictions = frames
    return (
        releases.rename({k: v for k, v in renames.items() if k in releases.columns}),
        convictions.rename({k: v for k, v in renames.items() if k in convictions.columns}),
    )
