"""Float sums that are the same in every run (the brief: identical output for identical input).

polars' group-by sum of a float column adds a group's rows in pieces on several threads and combines the pieces
in the order the threads finish, so the last bits of a sum can differ between two runs on the same rows (under
polars 2.1, 15 results over 20 runs of one group-by of 2,000,000 rows; 2 over 50 of 5,000 rows; bench/NOTES.md,
eighth round). A cumulative sum adds a group's values one after another in the rows' order, which a group-by
keeps within each group (polars' ``group_by``: "within each group, the order of rows is always preserved"), so
its last value is the same in every run when the rows come in the same order. Integer sums need none of this:
they are exact in any order.
"""

from __future__ import annotations

import polars as pl


def ordered_sum(values: str | pl.Expr) -> pl.Expr:
    """The sum of each group's ``values`` added in the rows' order (nulls count as 0, as ``sum`` skips them): an
    aggregation for ``group_by(...).agg``, the same float in every run. The rows' order must itself be the same
    in every run (a join that keeps it: ``maintain_order="left"``)."""
    expr = pl.col(values) if isinstance(values, str) else values
    return expr.fill_null(0).cum_sum().last()
