"""Float sums that are the same in every run and for any order of the input rows (the brief: identical output
for identical input; a shuffled file is the same input).

polars' group-by sum of a float column adds a group's rows in pieces on several threads and combines the pieces
in the order the threads finish, so the last bits of a sum can differ between two runs on the same rows (under
polars 2.1, 15 results over 20 runs of one group-by of 2,000,000 rows; 2 over 50 of 5,000 rows; bench/NOTES.md,
eighth round). A cumulative sum adds a group's values one after another in the rows' order, which a group-by
keeps within each group (polars' ``group_by``: "within each group, the order of rows is always preserved"), so
its last value is the same in every run. It is the same for every order of the input rows when the rows are put
in an order of their content first: the nowcast sorts its index releases before keying them
(reoffend.nowcast.development), and its frames keep that order. Sorting each group's values instead would not
need that, but cost the nowcast about 0.7 CPU s at 1,000,000 releases (bench/NOTES.md). Integer sums need none
of this: they are exact in any order.
"""

from __future__ import annotations

import polars as pl


def ordered_sum(values: str | pl.Expr) -> pl.Expr:
    """The sum of each group's ``values`` added one by one in the rows' order (nulls count as 0, as ``sum`` skips
    them): an aggregation for ``group_by(...).agg``, the same float in every run when the rows come in the same
    order."""
    expr = pl.col(values) if isinstance(values, str) else values
    return expr.fill_null(0).cum_sum().last()
