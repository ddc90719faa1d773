"""The declared row schemas of the results (reoffend/report/schema.py, reoffend/compare/rows.py).

A result frame that does not match its row class is an internal error at construction, never rendered; every
declared column is documented in docs/output-dictionary.md; typed rows carry the frame's values.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest

from reoffend.compare.baseline import BaselineParams, BaselineResult, Counts, compare_counts
from reoffend.compare.power import Baseline, PowerParams, PowerResult, minimum_detectable
from reoffend.compare.rows import AdjustedRow, BaselineRow, MatchedRow, PowerRow
from reoffend.measure import MeasureParams, MeasureResult, MeasureRow
from reoffend.report.schema import ResultSchemaError, Row

DICTIONARY = Path(__file__).resolve().parent.parent / "docs" / "output-dictionary.md"
ROW_CLASSES = (BaselineRow, MatchedRow, AdjustedRow, PowerRow, MeasureRow)


def baseline_rows() -> pl.DataFrame:
    result = compare_counts([Counts("current", 45, 100)], Counts("baseline", 57, 100), BaselineParams())
    return result.rows


def test_a_result_checks_its_frame():
    rows = baseline_rows()
    assert rows.columns == list(BaselineRow.columns())
    BaselineResult(rows, BaselineParams())  # the real frame passes
    with pytest.raises(ResultSchemaError, match=r"missing \['verdict'\]"):
        BaselineResult(rows.drop("verdict"), BaselineParams())
    with pytest.raises(ResultSchemaError, match=r"unexpected \['extra'\]"):
        BaselineResult(rows.with_columns(extra=pl.lit(1)), BaselineParams())
    with pytest.raises(ResultSchemaError, match="current_size is Float64, declared Int64"):
        BaselineResult(rows.with_columns(pl.col("current_size").cast(pl.Float64)), BaselineParams())
    with pytest.raises(ResultSchemaError, match="verdict has 1 null"):
        BaselineResult(rows.with_columns(verdict=pl.lit(None, pl.String)), BaselineParams())
    with pytest.raises(ResultSchemaError, match="order"):
        BaselineResult(rows.select(["baseline", "current", *rows.columns[2:]]), BaselineParams())


def test_a_nullable_column_may_be_null_or_all_null():
    rows = baseline_rows()
    assert rows["schedule_step_pp"].to_list() == [None]  # no schedule: declared float | None
    BaselineResult(rows.with_columns(pl.lit(None).alias("schedule_payment")), BaselineParams())  # dtype Null


def adjusted_frame(groups: dict[str, str]) -> pl.DataFrame:
    """One adjusted row with the given group columns: counts and verdicts set, every float null."""
    values: dict[str, object] = dict.fromkeys(AdjustedRow.columns())
    values.update(cohort_size=10, reoffenders=4, reoffences=7)
    values.update({c: "no significant change" for c in AdjustedRow.columns() if "verdict" in c})
    return pl.DataFrame([{**groups, **values}], schema={**dict.fromkeys(groups, pl.String), **AdjustedRow.schema()})


def test_group_columns_come_first_and_only_where_declared():
    power = minimum_detectable(Baseline("binary", 0.46), [100], [100], PowerParams())
    with pytest.raises(ResultSchemaError, match="no group columns"):
        PowerRow.check(power.rows, "power", groups=("cohort",))
    with pytest.raises(ResultSchemaError, match=r"missing \['cohort'\]"):
        AdjustedRow.check(
            adjusted_frame({"establishment": "A"}), "compare adjusted", groups=("establishment", "cohort")
        )


def test_typed_rows_carry_the_frame_values():
    rows = baseline_rows()
    (row,) = BaselineRow.of(rows)
    assert dataclasses.asdict(row) == rows.row(0, named=True)
    assert (row.current_reoffenders, row.current_size, row.verdict) == (45, 100, "significant reduction")
    power = minimum_detectable(Baseline("binary", 0.46), [100, 400], [100], PowerParams())
    assert isinstance(power, PowerResult)
    assert [r.current_size for r in power.typed_rows()] == [100, 400]


def test_grouped_rows_keep_their_group_values():
    frame = adjusted_frame({"establishment": "EST001", "cohort": "2023Q4"})
    AdjustedRow.check(frame, "compare adjusted", groups=("establishment", "cohort"))
    (row,) = AdjustedRow.of(frame, groups=("establishment", "cohort"))
    assert row.groups == {"establishment": "EST001", "cohort": "2023Q4"} and row.cohort_size == 10


def test_a_row_class_declares_only_polars_types():
    @dataclasses.dataclass(frozen=True)
    class Bad(Row):
        when: list[int]

    with pytest.raises(TypeError, match=r"Bad\.when"):
        Bad.schema()


@pytest.mark.parametrize("row_class", ROW_CLASSES, ids=lambda c: c.__name__)
def test_every_declared_column_is_in_the_output_dictionary(row_class):
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DICTIONARY.read_text(encoding="utf-8"), re.M))
    assert sorted(set(row_class.columns()) - documented) == []


def test_the_measure_result_checks_its_group_rows():
    values = {"cohort_size": 4, "reoffenders": 1, "reoffences": 3, "reconviction_events": 2}
    frame = pl.DataFrame(
        [{"cohort": "2023Q4", **dict.fromkeys(MeasureRow.columns()), **values}],
        schema={"cohort": pl.String, **MeasureRow.schema()},
    )
    MeasureResult(frame, None, MeasureParams(), {})
    with pytest.raises(ResultSchemaError, match=r"missing \['cohort'\]"):
        MeasureResult(frame.drop("cohort"), None, MeasureParams(), {})
    with pytest.raises(ResultSchemaError, match="reoffenders is UInt32"):
        MeasureResult(frame.with_columns(pl.col("reoffenders").cast(pl.UInt32)), None, MeasureParams(), {})
    (row,) = MeasureRow.of(frame, groups=("cohort",))
    assert row.groups == {"cohort": "2023Q4"} and row.reoffences == 3
