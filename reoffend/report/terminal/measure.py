"""``reoffend measure`` at a terminal: the measures rounded for reading, from the measure table spec
(docs/measures.md); the command and the Python API's ``summary()`` draw the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..tables import Record, TableSpec, group_column, measure_table
from . import render_table

if TYPE_CHECKING:
    import polars as pl

    from ...measure import MeasureResult


class MeasuredRows(Protocol):
    """What the view draws of a run of ``measure`` (:class:`reoffend.runs.measure.MeasureRun`, a layer above):
    the rows as written, the core result and the table's caption."""

    @property
    def rows(self) -> pl.DataFrame: ...
    @property
    def result(self) -> MeasureResult: ...
    @property
    def caption(self) -> str: ...


MEASURE_VIEW = (
    "cohort_size",
    "reoffenders",
    "binary_rate",
    "binary_rate_interval",
    "reoffences_per_offender",
    "reoffences_per_reoffender",
    "events_per_100",
    "median_days_to_first",
)


def display_rows(rows: pl.DataFrame, by: tuple[str, ...], confidence: float) -> pl.DataFrame:
    """The terminal view of the measures, from the measure table spec (reoffend.report.tables: the bulletin's
    trend, breakdown and establishment tables use the same headers and cells): rounded for reading (the data
    formats keep exact ratios); a figure withheld by --suppress is [c]."""
    return measure_spec(by, confidence).frame(list(rows.iter_rows(named=True)))


def measure_spec(by: tuple[str, ...], confidence: float) -> TableSpec[Record]:
    spec = measure_table(confidence, [group_column(c, c) for c in by])
    return spec.pick([*spec.keys()[: len(by)], *MEASURE_VIEW])  # a group's key may be told apart (with_groups)


def render_measure(run: MeasuredRows, console: Any) -> None:
    """The terminal table of a run (``--format table``) on ``console``, as the Python API's ``summary()``."""
    params = run.result.params
    render_table(
        display_rows(run.rows, params.by, params.confidence),
        title="Proven reoffending",
        caption=run.caption,
        console=console,
        numeric=measure_spec(params.by, params.confidence).numeric(),
    )
