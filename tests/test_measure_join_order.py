"""The measure's left joins and the order of their rows (issue 30): polars 2 keeps a left join's left order only
with ``maintain_order="left"``.

``audit_rows`` keeps the order of the index releases (the per-release table, and the units the matched
comparison draws from in order); the join in ``grouped_measures`` needs no order (one row per group, sorted by
the group columns after it), which the measure's own tests check through its sorted output.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.measure import RELEASE_KEY, audit_rows
from reoffend.window import CONVICTION_DEADLINE, FOLLOW_UP_END

START = dt.date(2020, 1, 1)


def keyed_releases(order: list[int]) -> pl.LazyFrame:
    """Releases keyed 0..n-1 in the given row order (as ``RELEASE_KEY`` is a row index of the index releases,
    any order of the keys stands for releases whose keys were assigned before a reordering)."""
    n = len(order)
    return pl.LazyFrame(
        {
            RELEASE_KEY: pl.Series(order, dtype=pl.UInt32),
            "offender_id": [f"P{k:06d}" for k in order],
            "release_date": [START + dt.timedelta(days=k % 400) for k in order],
            FOLLOW_UP_END: [START + dt.timedelta(days=k % 400 + 365) for k in order],
            CONVICTION_DEADLINE: [START + dt.timedelta(days=k % 400 + 545) for k in order],
        }
    ).head(n)


def counts_for(keys: list[int]) -> pl.LazyFrame:
    """Per-release counts of the releases ``keys`` (what ``per_release_counts`` gives): 2 reoffences, 1 event,
    a first offence 10 days after release."""
    return pl.LazyFrame(
        {
            RELEASE_KEY: pl.Series(keys, dtype=pl.UInt32),
            "reoffences": pl.Series([2] * len(keys), dtype=pl.Int64),
            "reconviction_events": pl.Series([1] * len(keys), dtype=pl.Int64),
            "_first_offence": pl.Series([START + dt.timedelta(days=k % 400 + 10) for k in keys], dtype=pl.Date),
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=30_000).flatmap(
        lambda n: st.tuples(st.permutations(range(n)), st.sets(st.integers(min_value=0, max_value=n - 1)))
    )
)
def test_audit_rows_keep_the_order_of_the_index_releases(case: tuple[list[int], set[int]]) -> None:
    order, reoffending = case
    # the counts come in another order than the releases (a group-by's output has none)
    table = audit_rows(keyed_releases(order), counts_for(sorted(reoffending, reverse=True)), []).collect()
    assert table.get_column("offender_id").to_list() == [f"P{k:06d}" for k in order]
    # each row has its own release's counts: 2 reoffences where the release reoffended, 0 elsewhere
    assert table.get_column("reoffences").to_list() == [2 if k in reoffending else 0 for k in order]
    assert table.get_column("reoffended").to_list() == [k in reoffending for k in order]


def test_audit_rows_of_a_hand_worked_case() -> None:
    # releases keyed 2, 0, 1 in this order; only key 0 reoffended (first offence 10 days after its release on
    # 2020-01-01 + 0 days): rows stay P000002, P000000, P000001 with 0, 2, 0 reoffences and days 10 for P000000
    table = audit_rows(keyed_releases([2, 0, 1]), counts_for([0]), []).collect()
    assert table.get_column("offender_id").to_list() == ["P000002", "P000000", "P000001"]
    assert table.get_column("reoffences").to_list() == [0, 2, 0]
    assert table.get_column("reconviction_events").to_list() == [0, 1, 0]
    assert table.get_column("days_to_first_reoffence").to_list() == [None, 10, None]
