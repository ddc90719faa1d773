"""Float sums that are the same in every run and for any order of the input rows (the brief: identical output
for identical input; a shuffled file is the same input).

polars' group-by sum of a float column adds a group's rows in pieces on several threads and combines the pieces
in the order the threads finish, so the last bits of a sum can differ between two runs on the same rows (under
polars 2.1, 15 results over 20 runs of one group-by of 2,000,000 rows; 2 over 50 of 5,000 rows; bench/NOTES.md,
eighth round). Adding in the rows' order is the same in every run but not for every order of the rows (the
review of this session found a shuffled releases file moving the nowcast's last digits). Adding a group's values
one after another in ascending order is both: the sorted values are the same whatever order the rows came in.
Integer sums need none of this: they are exact in any order.
"""

from __future__ import annotations

import polars as pl


def ascending_sum(values: str | pl.Expr) -> pl.Expr:
    """The sum of each group's ``values`` added one by one from the smallest (nulls count as 0, as ``sum`` skips
    them): an aggregation for ``group_by(...).agg``, the same float in every run and for every order of the
    rows."""
    expr = pl.col(values) if isinstance(values, str) else values
    return expr.fill_null(0).sort().cum_sum().last()
