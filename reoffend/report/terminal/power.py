"""``reoffend power`` at a terminal: one column per calculation, one line per quantity (docs/power.md).

Nothing here loads polars at import (``reoffend power`` starts without it, issue 30).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy_import import lazy_module
from ..format import count, number, pct, per_cent

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")


def display_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The terminal view: one column per calculation, one line per quantity, rounded for reading."""

    def size(value, solved: bool) -> str:
        if value is None:
            return "none large enough"
        return count(value) + (" (needed)" if solved else "")

    def unit(row) -> str:
        return "pp" if row["measure"] == "binary" else "events/100"

    items = [
        ("measure", lambda r: "binary rate" if r["measure"] == "binary" else "events per 100"),
        ("baseline", lambda r: f"{number(r['baseline_per_100'])}{'%' if r['measure'] == 'binary' else ''}"),
        ("dispersion (variance/mean)", lambda r: "" if r["dispersion"] is None else number(r["dispersion"], 2)),
        ("current cohort size", lambda r: size(r["current_size"], r["solved_for"] in ("cohort_size", "current_size"))),
        ("baseline cohort size", lambda r: size(r["baseline_size"], r["solved_for"] == "cohort_size")),
        (
            "reduction",
            lambda r: (
                f"{number(r['reduction_per_100'])} {unit(r)}"
                + (" (detectable)" if r["solved_for"] == "reduction" else "")
            ),
        ),
        ("  relative to baseline", lambda r: per_cent(r["reduction_relative_pct"])),
        ("current value per 100", lambda r: number(r["current_per_100"])),
        ("power", lambda r: pct(r["power"]) + (" (achieved)" if r["solved_for"] == "power" else "")),
    ]
    if rows["dispersion"].null_count() == rows.height:
        items = [item for item in items if not item[0].startswith("dispersion")]
    data = {"": [name for name, _ in items]}
    for position, row in enumerate(rows.iter_rows(named=True), start=1):
        data[f"#{position}"] = [render(row) for _, render in items]
    return pl.DataFrame(data, schema={k: pl.String for k in data})
