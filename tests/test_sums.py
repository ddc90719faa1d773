"""reoffend.sums.ordered_sum: a group's float sum added in the rows' order, the same in every run."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.sums import ordered_sum


def test_the_sum_is_added_in_the_rows_order():
    # group a: 1e16 + 1 rounds to 1e16 (a double holds 16 digits), then - 1e16 leaves 0.0; added in another order
    # (1 + (1e16 - 1e16)) it would be 1.0. Group b: 0.1 + 0.2 = 0.30000000000000004, + None (as 0) the same
    frame = pl.DataFrame({"g": ["a", "b", "a", "b", "a", "b"], "x": [1e16, 0.1, 1.0, 0.2, -1e16, None]})
    sums = frame.group_by("g").agg(ordered_sum("x")).sort("g")
    assert sums["x"].to_list() == [0.0, 0.30000000000000004]
    assert math.fsum([1e16, 1.0, -1e16]) == 1.0  # the exact sum: what a sum in pieces could come back as


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
