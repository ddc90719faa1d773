"""The bulletin's adjusted section says the shift its published units share (issue 29): from the published rows
alone, so a withheld unit's figures never enter it, and every number of its sentence is a cell of
comparison_adjusted_summary.csv."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin.build import compute_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.document import to_markdown
from reoffend.compare.adjusted import AdjustedParams, shift_of_rows

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample_bulletin():
    return compute_bulletin(parse_config(str(SAMPLE / "job.toml")))


def test_the_shift_is_that_of_the_published_rows_only(sample_bulletin):
    rows = sample_bulletin.tables["comparison_adjusted.csv"]
    published = rows.filter(pl.col("suppressed").is_null())
    assert published.height < rows.height  # the sample withholds units: the check has something to check
    summary = sample_bulletin.tables["comparison_adjusted_summary.csv"].row(0, named=True)
    # the shift recomputed from the published table's rows alone (sizes, differences, standard errors)
    params = AdjustedParams(covariates=("age",), baseline=("2022Q1",))  # one-sided at 5%, as the sample's job
    (expected,) = shift_of_rows(published.drop("suppressed"), params).iter_rows(named=True)
    assert summary["units"] == published.height and summary["cohort_size"] == published["cohort_size"].sum()
    for column in ("binary_shift_pp", "binary_shift_pp_low", "reoffences_per_offender_shift_high"):
        assert summary[column] == pytest.approx(expected[column], rel=1e-12)


def test_the_sentence_quotes_the_summary_cells(sample_bulletin):
    summary = sample_bulletin.tables["comparison_adjusted_summary.csv"].row(0, named=True)
    section = to_markdown(sample_bulletin.document).split("## Against the risk-adjusted baseline", 1)[1]
    (sentence,) = [line for line in section.splitlines() if "the shift they share" in line]
    low = f"{summary['binary_shift_pp_low']:+.1f}".replace("-", "\u2212")
    high = f"{summary['binary_shift_pp_high']:+.1f}".replace("-", "\u2212")
    assert f"{abs(summary['binary_shift_pp']):.1f} percentage points below" in sentence
    assert f"(interval {low} to {high}: a significant fall)" in sentence and summary["binary_shift_pp_significant"]
    assert f"all {summary['cohort_size']:,} releases of the published establishments together" in sentence


def test_the_shift_of_rows_is_against_the_baseline_only():
    """Judged against the other units, each row's se and expectation already hold the rest's shift: summing them
    as a shift would be wrong, so it is refused, not computed (the bulletin judges against the baseline)."""
    from reoffend.errors import UsageError

    params = AdjustedParams(covariates=("age",), baseline=("2022Q1",), relative_to="others")
    with pytest.raises(UsageError, match="against the baseline only"):
        shift_of_rows(pl.DataFrame({"cohort": ["2023Q1"], "cohort_size": [10]}), params)
