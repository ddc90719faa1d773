"""reoffend.sums.ordered_sum: a group's float sum added in the rows' order, the same in every run; and the nowcast,
which puts its releases in an order of their content first, the same for every order of the input rows."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.sums import ordered_sum


def test_the_sum_is_added_in_the_rows_order():
    # group a: 1e16 + 1 rounds to 1e16 (a double holds 16 digits), then - 1e16 leaves 0.0; exactly (math.fsum)
    # it is 1.0, which a sum in pieces could give. Group b: 0.2 + 0.1 = 0.30000000000000004, + None (as 0) the
    # same; group c: 0.3 + 0.2 + 0.1 in the rows' order is 0.6, where 0.1 + 0.2 + 0.3 would be 0.6000000000000001
    frame = pl.DataFrame(
        {
            "g": ["a", "b", "a", "b", "a", "b", "c", "c", "c"],
            "x": [1e16, 0.2, 1.0, 0.1, -1e16, None, 0.3, 0.2, 0.1],
        }
    )
    sums = frame.group_by("g").agg(ordered_sum("x")).sort("g")
    assert sums["x"].to_list() == [0.0, 0.30000000000000004, 0.6]
    assert math.fsum([1e16, 1.0, -1e16]) == 1.0 and (0.1 + 0.2) + 0.3 == 0.6000000000000001


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))),
        min_size=1,
        max_size=60,
    )
)
def test_each_group_is_its_values_summed_left_to_right(rows):
    frame = pl.DataFrame(rows, schema={"g": pl.Int64, "x": pl.Float64}, orient="row")
    got = dict(frame.group_by("g").agg(ordered_sum(pl.col("x"))).iter_rows())
    expected: dict[int, float] = {}
    for group, value in rows:
        expected[group] = expected.get(group, 0.0) + (0.0 if value is None else value)
    assert got == expected


def test_a_large_group_by_gives_one_result_in_every_run():
    # under polars 2.1 the plain sum of this group-by came back as 15 different results in 20 runs
    rng = np.random.default_rng(1)
    frame = pl.DataFrame({"g": rng.integers(0, 20, 1_000_000), "x": rng.random(1_000_000) * 1e3})
    results = {tuple(frame.group_by("g").agg(ordered_sum("x")).sort("g")["x"].to_list()) for _ in range(8)}
    assert len(results) == 1


def test_the_nowcast_of_shuffled_files_is_the_nowcast_of_the_files(sample_dir):
    # the review of 18877ab: a shuffled releases file moved the provisional figures' last digits (the float sums
    # and the court-lag monitor's events followed the rows' order); the same rows in any order are the same input
    import warnings

    import reoffend

    releases = pl.read_csv(sample_dir / "releases.csv", infer_schema_length=0)
    convictions = pl.read_csv(sample_dir / "convictions.csv", infer_schema_length=0)
    codes = str(sample_dir / "excluded_offences.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reoffend.ReoffendWarning)
        tables = [
            reoffend.nowcast(
                releases.sample(fraction=1.0, shuffle=True, seed=seed) if seed else releases,
                convictions.sample(fraction=1.0, shuffle=True, seed=seed) if seed else convictions,
                exclude_offences=codes,
                as_at="2024-06-30",
            ).table
            for seed in (0, 1, 2)
        ]
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])
