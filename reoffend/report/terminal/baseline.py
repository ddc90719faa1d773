"""``compare baseline`` at a terminal: the comparison's table spec, tall for one comparison, wide for several
(docs/comparisons-baseline.md); the command and the Python API draw the same.
"""

from __future__ import annotations

import polars as pl

from ...compare.baseline import BaselineResult
from ..tables import baseline_keys, baseline_table


# ----------------------------------------------------------------------------------------------- display
def display_rows(result: BaselineResult) -> tuple[pl.DataFrame, list[bool]]:
    """The terminal view, with the comparison's table spec (reoffend.report.tables: the bulletin's table shows
    the same headers and cells). One comparison: one line per quantity (a tall table that fits any terminal).
    Several: one line per comparison, so a narrow terminal drops detail columns and keeps every comparison and
    its verdict (a column per comparison would drop whole comparisons); the second item says which columns are
    numbers (right-aligned)."""
    rows = result.typed_rows()
    spec = baseline_table(result.params).pick(baseline_keys(result.params, len(rows), bulletin=False))
    if len(rows) == 1:
        return spec.transposed(rows, [row.current for row in rows]), []
    headers = spec.headers()
    frame = pl.DataFrame(spec.cells(rows), schema=dict.fromkeys(headers, pl.String), orient="row")
    return frame, list(spec.numeric())
